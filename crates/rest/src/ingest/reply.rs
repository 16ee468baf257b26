//! Every failure of the ingest API, mapped to a status and `{"error", "reason", "path"?}` in one
//! place ([`respond`]).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ixgw_core::model::record::RecordError;
use ixgw_core::service::writes::WriteError;
use ixgw_core::{AuthFailure, HistoryError};
use ixgw_web::RequestLabel;
use serde::Serialize;

/// Why a request was not done.
#[derive(Debug)]
pub(super) enum Failure {
    History(HistoryError),
    Write(WriteError),
    /// The body is not of a type the route reads.
    MediaType(&'static str),
    /// The body could not be read (too large, broken off).
    Body(StatusCode, String),
}

impl From<HistoryError> for Failure {
    fn from(e: HistoryError) -> Self {
        Self::History(e)
    }
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Self {
        Self::Write(e)
    }
}

#[derive(Serialize)]
pub(super) struct ErrorBody<'a> {
    pub error: &'a str,
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
}

/// The status, the body's `error` and `reason`, and the member path if the failure has one.
fn classify(req: &HttpRequest, failure: &Failure) -> (StatusCode, &'static str, String, Option<String>) {
    match failure {
        Failure::History(e) => history(req, e),
        Failure::Write(WriteError::Invalid(e)) => invalid(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e),
        Failure::Write(WriteError::Conflict(e)) => invalid(StatusCode::CONFLICT, "conflict", e),
        Failure::Write(WriteError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "not_found", "no interaction with this id".into(), None)
        }
        Failure::Write(WriteError::Failed(e)) => history(req, e),
        Failure::MediaType(expected) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as {expected}, uncompressed"),
            None,
        ),
        Failure::Body(status, reason) => (*status, "bad_body", reason.clone(), None),
    }
}

fn invalid(
    status: StatusCode,
    error: &'static str,
    e: &RecordError,
) -> (StatusCode, &'static str, String, Option<String>) {
    (status, error, e.placed_reason(), Some(e.path.clone()))
}

fn history(req: &HttpRequest, e: &HistoryError) -> (StatusCode, &'static str, String, Option<String>) {
    ixgw_web::log_failure(req, e);
    match e {
        HistoryError::Unauthenticated(AuthFailure::ScopeNotAllowed) => (
            StatusCode::FORBIDDEN,
            "forbidden",
            "this application key cannot write: it needs the ingest or admin scope".into(),
            None,
        ),
        HistoryError::Unauthenticated(AuthFailure::MissingKey) => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing application key: send Authorization: Bearer <key>".into(),
            None,
        ),
        HistoryError::Unauthenticated(why) => (StatusCode::UNAUTHORIZED, "unauthorized", why.reason().into(), None),
        HistoryError::StoreUnavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable: try again".into(), None)
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal failure".into(), None),
    }
}

/// The ingest API's name in request logs and metrics.
pub const SURFACE: &str = "ingest";

impl Failure {
    /// The reason of a refusal of credentials, for the request log.
    pub(super) fn refusal(&self) -> Option<&'static str> {
        match self {
            Failure::History(e) | Failure::Write(WriteError::Failed(e)) => e.refusal().map(AuthFailure::reason),
            _ => None,
        }
    }

    /// A short name of the failure for logs and metrics.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Failure::History(e) | Failure::Write(WriteError::Failed(e)) => e.kind(),
            Failure::Write(WriteError::Invalid(_)) => "invalid",
            Failure::Write(WriteError::Conflict(_)) => "conflict",
            Failure::Write(WriteError::NotFound(_)) => "not_found",
            Failure::MediaType(_) => "unsupported_media_type",
            Failure::Body(..) => "bad_body",
        }
    }
}

/// A handler's result as the client sees it, labelled with its `operation` for the request log and
/// metrics.
pub(super) fn answer(req: &HttpRequest, operation: &str, result: Result<HttpResponse, Failure>) -> HttpResponse {
    let fault = result.as_ref().err().map(|f| f.kind().to_string());
    let reason = result.as_ref().err().and_then(Failure::refusal);
    let response = result.unwrap_or_else(|failure| respond(req, failure));
    labelled(req, operation, fault, reason, response)
}

/// `response`, labelled with `operation`, `fault` and the `reason` of a refusal for the request log
/// and metrics.
pub(super) fn labelled(
    req: &HttpRequest,
    operation: &str,
    fault: Option<String>,
    reason: Option<&'static str>,
    mut response: HttpResponse,
) -> HttpResponse {
    let label = RequestLabel { surface: SURFACE, operation: operation.into(), fault, reason, ..Default::default() };
    ixgw_web::label(req, &mut response, label);
    response
}

/// The answer for a failure.
pub(super) fn respond(req: &HttpRequest, failure: Failure) -> HttpResponse {
    let (status, error, reason, path) = classify(req, &failure);
    let mut response = HttpResponse::build(status);
    decorate(&mut response, status);
    response.json(ErrorBody { error, reason: &reason, path: path.as_deref() })
}

/// The headers a status needs whatever the body: a challenge with 401, a retry hint with 503.
pub(super) fn decorate(response: &mut actix_web::HttpResponseBuilder, status: StatusCode) {
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ixgw\"")));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        ixgw_web::vendor::retry_later(response);
    }
}

pub(super) async fn method_not_allowed(allowed: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, allowed)).json(ErrorBody {
        error: "method_not_allowed",
        reason: &format!("this resource answers {allowed} only"),
        path: None,
    })
}

/// Whether the request's body is of one of the `accepted` media types, uncompressed.
pub(super) fn check_media_type(req: &HttpRequest, accepted: &[&str], describe: &'static str) -> Result<(), Failure> {
    let encoded = ixgw_web::header(req.headers(), actix_web::http::header::CONTENT_ENCODING)
        .is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
    match media_type(req) {
        Some(t) if !encoded && accepted.contains(&t.as_str()) => Ok(()),
        _ => Err(Failure::MediaType(describe)),
    }
}

/// The request's media type without parameters, lower-cased (`application/json`).
pub(super) fn media_type(req: &HttpRequest) -> Option<String> {
    ixgw_web::header(req.headers(), actix_web::http::header::CONTENT_TYPE)
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}
