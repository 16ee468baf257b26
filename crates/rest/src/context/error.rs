//! Every failure of the Context Services face, mapped to the vendor's status and `{message,
//! exception}` body in one place ([`respond`]).
//!
//! The two tenant messages and their exception class are the vendor's, word for word (spec
//! `context-services.md`; CS 8.5 API Welcome page). The other exception classes are the gateway's
//! choice in the same package, listed in `docs/CONTEXT-SERVICES.md`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use ixgw_core::HistoryError;
use serde::Serialize;

pub(super) const JSON: &str = "application/json;charset=UTF-8";

const PACKAGE: &str = "com.genesyslab.gsg.services.contextservices.exceptions.";
/// The vendor's class for tenant errors.
const TENANT_EXCEPTION: &str = "ContextServicesExceptionResource";
const PARAMETER_EXCEPTION: &str = "ContextServicesInvalidParameterException";
const UNAUTHORIZED_EXCEPTION: &str = "ContextServicesUnauthorizedException";
const NOT_FOUND_EXCEPTION: &str = "ContextServicesNotFoundException";
const METHOD_EXCEPTION: &str = "ContextServicesMethodNotAllowedException";
const UNAVAILABLE_EXCEPTION: &str = "ContextServicesUnavailableException";
const INTERNAL_EXCEPTION: &str = "ContextServicesInternalException";

/// Longest part of a rejected parameter value echoed back in a message.
const ECHO_LIMIT: usize = 100;

/// Why a Context Services request is not answered with its resource.
#[derive(Debug)]
pub(super) enum Failure {
    History(HistoryError),
    /// A path or query parameter that does not parse: `'name'='value' expected`.
    BadParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    MethodNotAllowed(Method),
}

impl From<HistoryError> for Failure {
    fn from(e: HistoryError) -> Self {
        Self::History(e)
    }
}

impl Failure {
    /// The reason of a refusal of credentials, for the request log.
    pub(super) fn refusal(&self) -> Option<&'static str> {
        match self {
            Self::History(e) => e.refusal().map(ixgw_core::AuthFailure::reason),
            _ => None,
        }
    }

    /// A short name of the failure for logs and metrics.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::History(e) => e.kind(),
            Self::BadParameter { .. } => "invalid_parameter",
            Self::MethodNotAllowed(_) => "method_not_allowed",
        }
    }

    pub(super) fn bad(name: &'static str, value: &str, expected: &'static str) -> Self {
        Self::BadParameter { name, value: value.to_string(), expected }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    exception: &'a str,
}

/// The vendor answer for a failure: status, `{message, exception}` and the headers that go with it.
pub(super) fn respond(req: &HttpRequest, failure: Failure) -> HttpResponse {
    let (status, message, exception) = match &failure {
        Failure::History(error) => {
            ixgw_web::log_failure(req, error);
            ixgw_web::note_miss(req, error);
            history(error)
        }
        Failure::BadParameter { name, value, expected } => (
            StatusCode::BAD_REQUEST,
            format!("Invalid parameter specified : '{name}'='{}' {expected}.", echo(value)),
            PARAMETER_EXCEPTION,
        ),
        Failure::MethodNotAllowed(method) => (
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method not allowed : {} is not supported by this resource; use GET.", echo(method.as_str())),
            METHOD_EXCEPTION,
        ),
    };
    let exception = format!("{PACKAGE}{exception}");
    let body = serde_json::to_vec(&Body { message: &message, exception: &exception }).unwrap_or_default();
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, JSON));
    match failure {
        Failure::MethodNotAllowed(_) => {
            response.insert_header((header::ALLOW, "GET"));
        }
        Failure::History(HistoryError::Unauthenticated(_)) => {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ixgw\"")));
        }
        Failure::History(HistoryError::StoreUnavailable(_)) => ixgw_web::vendor::retry_later(&mut response),
        _ => {}
    }
    response.body(body)
}

/// Status, message and exception class of a core error.
fn history(error: &HistoryError) -> (StatusCode, String, &'static str) {
    use HistoryError as E;
    match error {
        E::UnknownTenant(value) => (
            StatusCode::BAD_REQUEST,
            format!(
                "Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='{value}' not configured. \
                 Verify configuration."
            ),
            TENANT_EXCEPTION,
        ),
        E::NoTenant => (
            StatusCode::BAD_REQUEST,
            "Invalid tenant specified : no tenant specified in multi-tenant environment. \
             Verify configuration and 'ContactCenterId' HTTP header."
                .to_string(),
            TENANT_EXCEPTION,
        ),
        E::Unauthenticated(reason) => (
            StatusCode::UNAUTHORIZED,
            format!("Unauthorized : {reason}. Verify the 'Application-Key' HTTP header."),
            UNAUTHORIZED_EXCEPTION,
        ),
        E::InvalidParameter(name) => (
            StatusCode::BAD_REQUEST,
            format!("Invalid parameter specified : '{}'.", echo(name)),
            PARAMETER_EXCEPTION,
        ),
        E::InteractionNotFound(id) => (
            StatusCode::NOT_FOUND,
            format!("Resource not found : interaction '{}' does not exist.", echo(id)),
            NOT_FOUND_EXCEPTION,
        ),
        E::ContentNotFound { id, part } => (
            StatusCode::NOT_FOUND,
            format!("Resource not found : interaction '{}' has no {part}.", echo(id)),
            NOT_FOUND_EXCEPTION,
        ),
        // Interact's lookups: never asked by this face, answered as what they are.
        E::UniqueIdNotFound(_) | E::AttributeNotFound(_) | E::VariableSetNotFound(_) | E::PhotoNotFound => {
            (StatusCode::NOT_FOUND, "Resource not found.".to_string(), NOT_FOUND_EXCEPTION)
        }
        E::StoreUnavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable : the interaction store cannot be reached. Retry later.".to_string(),
            UNAVAILABLE_EXCEPTION,
        ),
        E::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.".to_string(), INTERNAL_EXCEPTION)
        }
    }
}

/// At most [`ECHO_LIMIT`] characters of a client's value, for a message.
fn echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// 405 for any method but GET on a Context Services resource.
pub(super) async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let failure = Failure::MethodNotAllowed(req.method().clone());
    let label = ixgw_web::RequestLabel {
        surface: super::handlers::SURFACE,
        // The route's pattern: bounded, unlike the path.
        operation: req.match_pattern().unwrap_or_default(),
        fault: Some(failure.kind().to_string()),
        ..Default::default()
    };
    let mut response = respond(&req, failure);
    ixgw_web::label(&req, &mut response, label);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::http::header::HeaderMap;
    use actix_web::test::TestRequest;
    use ixgw_core::{AuthFailure, StoreError};

    fn answer(failure: Failure) -> (StatusCode, serde_json::Value, HeaderMap) {
        let response = respond(&TestRequest::default().to_http_request(), failure);
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), headers)
    }

    #[test]
    fn tenant_errors_are_the_vendors_word_for_word() {
        let (status, body, headers) = answer(HistoryError::UnknownTenant("nope".into()).into());
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({
                "message": "Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='nope' not configured. Verify configuration.",
                "exception": "com.genesyslab.gsg.services.contextservices.exceptions.ContextServicesExceptionResource"
            })
        );
        assert_eq!(headers.get("content-type").unwrap(), JSON);
        let (status, body, _) = answer(HistoryError::NoTenant.into());
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["message"],
            "Invalid tenant specified : no tenant specified in multi-tenant environment. Verify configuration and 'ContactCenterId' HTTP header."
        );
    }

    #[test]
    fn statuses_and_opaque_failures() {
        let (status, body, headers) = answer(HistoryError::Unauthenticated(AuthFailure::UnknownKey).into());
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["message"],
            "Unauthorized : unknown application key. Verify the 'Application-Key' HTTP header."
        );
        assert!(headers.contains_key("www-authenticate"));
        let (status, body, _) = answer(HistoryError::Internal(StoreError::Failed("secret table name".into())).into());
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret"));
        let (status, _, headers) =
            answer(HistoryError::StoreUnavailable(StoreError::Unavailable("down".into())).into());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        let (status, body, headers) = answer(Failure::MethodNotAllowed(Method::DELETE));
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers.get("allow").unwrap(), "GET");
        assert!(body["exception"].as_str().unwrap().starts_with(PACKAGE));
    }

    #[test]
    fn echoed_values_are_bounded_and_escaped() {
        let long = "\"".repeat(5000);
        let (status, body, _) = answer(Failure::bad("status", &long, "is not 0, 1, 2 or 3"));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let message = body["message"].as_str().unwrap();
        assert!(message.chars().count() < 200, "{message}");
        assert!(message.starts_with("Invalid parameter specified : 'status'='\"\"\""));
    }
}
