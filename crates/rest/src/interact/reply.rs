//! The vendor's answers: content types, the full-flow body, and the one mapping from a core
//! [`HistoryError`] to status, headers and body.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use ixgw_core::store::StoredFlow;
use ixgw_core::{AuthFailure, HistoryError, StoreError};
use ixgw_web::vendor::{UNAUTHENTICATED_REASON, UNAUTHORIZED_CODE, UNAUTHORIZED_MESSAGE};
use ixgw_web::RequestLabel;
use serde::Serialize;
use std::sync::LazyLock;

pub const JSON: &str = "application/json;charset=UTF-8";
pub const TEXT: &str = "text/plain;charset=UTF-8";

/// The 401 body of the vendor family (the seed's, without its trailing comma), of the shared
/// vendor code and sentence.
static UNAUTHORIZED_BODY: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"{{"code":"{UNAUTHORIZED_CODE}","message":"{UNAUTHORIZED_MESSAGE}","moreInfoUrl":"http://support.uniphore.com"}}"#
    )
});

/// The Interact REST surface's name in request logs and metrics.
pub const SURFACE: &str = "interact-rest";

/// A handler's outcome as the client sees it, labelled with the vendor `operation` it answered
/// (`fullFlow`, `fullFlow/byCallerAttribute`, …) for the request log and metrics.
pub fn answer(req: &HttpRequest, operation: &str, outcome: Result<HttpResponse, HistoryError>) -> HttpResponse {
    let fault = outcome.as_ref().err().map(|e| e.kind().to_string());
    let reason = outcome.as_ref().err().and_then(HistoryError::refusal).map(AuthFailure::reason);
    let mut response = outcome.unwrap_or_else(|e| error(req, &e));
    ixgw_web::label(
        req,
        &mut response,
        RequestLabel { surface: SURFACE, operation: operation.into(), fault, reason, ..Default::default() },
    );
    response
}

/// The one place where a core error becomes the vendor's response.
pub fn error(req: &HttpRequest, e: &HistoryError) -> HttpResponse {
    ixgw_web::note_miss(req, e);
    match e {
        HistoryError::Unauthenticated(why) => HttpResponse::Unauthorized()
            .insert_header((UNAUTHENTICATED_REASON, why.reason()))
            .content_type(JSON)
            .body(UNAUTHORIZED_BODY.as_str()),
        HistoryError::InvalidParameter(_) => text(StatusCode::BAD_REQUEST, e.to_string()),
        HistoryError::UniqueIdNotFound(_)
        | HistoryError::AttributeNotFound(_)
        | HistoryError::VariableSetNotFound(_)
        | HistoryError::PhotoNotFound => text(StatusCode::NOT_FOUND, e.to_string()),
        HistoryError::StoreUnavailable(_) => {
            ixgw_web::log_failure(req, e);
            let mut res = text_response(StatusCode::SERVICE_UNAVAILABLE);
            ixgw_web::vendor::retry_later(&mut res);
            res.body("exception")
        }
        HistoryError::Internal(_) => {
            ixgw_web::log_failure(req, e);
            text(StatusCode::INTERNAL_SERVER_ERROR, "exception")
        }
        // Context Services answers: no Interact query produces them.
        HistoryError::InteractionNotFound(_)
        | HistoryError::ContentNotFound { .. }
        | HistoryError::UnknownTenant(_)
        | HistoryError::NoTenant => {
            tracing::error!(path = %req.path(), error = ?e, request_id = %ixgw_web::request_id(req), "unexpected answer to an Interact query");
            text(StatusCode::INTERNAL_SERVER_ERROR, "exception")
        }
    }
}

/// A text body. Values echoed in it (ids, attribute values) are text: `nosniff` keeps a browser
/// from reading them as HTML.
fn text(status: StatusCode, body: impl Into<String>) -> HttpResponse {
    text_response(status).body(body.into())
}

fn text_response(status: StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponseBuilder::new(status);
    response.content_type(TEXT).insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    response
}

/// A JSON body rendered from a typed value.
pub fn json<T: Serialize>(value: &T) -> Result<HttpResponse, HistoryError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| HistoryError::Internal(StoreError::Failed(format!("answer does not serialize: {e}"))))?;
    Ok(HttpResponse::Ok().content_type(JSON).body(body))
}

/// The full flow: the stored pages' canonical JSON as the one array the store built, in navigation
/// order. No pages is the vendor's "EMPTY" (an empty body), or `[]` when so configured.
pub fn full_flow(flow: StoredFlow, empty_as_array: bool) -> HttpResponse {
    if flow.is_empty() && !empty_as_array {
        return HttpResponse::Ok().content_type(JSON).finish();
    }
    HttpResponse::Ok().content_type(JSON).body(flow.into_json_array())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    fn flow(pages: &[&str]) -> StoredFlow {
        let mut flow = StoredFlow::new("i".into(), 0);
        pages.iter().for_each(|p| flow.push_page(p));
        flow
    }

    #[actix_web::test]
    async fn arrays_join_the_stored_texts_unchanged() {
        let body = |pages: &[&str]| {
            let response = full_flow(flow(pages), true);
            async move { to_bytes(response.into_body()).await.unwrap() }
        };
        assert_eq!(body(&[]).await, "[]");
        assert_eq!(body(&[r#"{"a":1}"#]).await, r#"[{"a":1}]"#);
        assert_eq!(body(&[r#"{"a":1}"#, r#"{"b":"x,y"}"#]).await, r#"[{"a":1},{"b":"x,y"}]"#);
        let parsed: serde_json::Value = serde_json::from_slice(&body(&["{}", "{}"]).await).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
        assert_eq!(flow(&["{}", "[1]"]).pages().collect::<Vec<_>>(), ["{}", "[1]"]);
    }

    #[test]
    fn the_401_body_is_valid_json_with_the_vendors_members() {
        let v: serde_json::Value = serde_json::from_str(&UNAUTHORIZED_BODY).unwrap();
        assert_eq!(v["code"], "0x7000000");
        assert_eq!(v["message"], "Request is unauthorized, missing or wrong credentials");
        assert_eq!(v["moreInfoUrl"], "http://support.uniphore.com");
    }

    async fn parts(e: HistoryError) -> (u16, Option<String>, String, Option<String>) {
        let req = TestRequest::default().to_http_request();
        let res = error(&req, &e);
        let status = res.status().as_u16();
        let content_type = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
        let extra = res
            .headers()
            .get(UNAUTHENTICATED_REASON)
            .or(res.headers().get(header::RETRY_AFTER))
            .map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8(to_bytes(res.into_body()).await.unwrap().to_vec()).unwrap();
        (status, content_type, body, extra)
    }

    #[actix_web::test]
    async fn every_error_has_the_vendors_status_and_body() {
        let text = Some(TEXT.to_string());
        assert_eq!(
            parts(HistoryError::Unauthenticated(AuthFailure::UnknownKey)).await,
            (401, Some(JSON.into()), UNAUTHORIZED_BODY.clone(), Some("unknown application key".into()))
        );
        assert_eq!(
            parts(HistoryError::invalid("widerSearch")).await,
            (400, text.clone(), "missing or invalid parameter widerSearch".into(), None)
        );
        assert_eq!(
            parts(HistoryError::UniqueIdNotFound("<b>&x".into())).await,
            (404, text.clone(), "history for UUID <b>&x was not found".into(), None)
        );
        assert_eq!(
            parts(HistoryError::AttributeNotFound("4567".into())).await,
            (404, text.clone(), "history for attribute 4567 was not found".into(), None)
        );
        assert_eq!(
            parts(HistoryError::VariableSetNotFound("noSuchSet".into())).await,
            (404, text.clone(), "variable set noSuchSet was not found".into(), None)
        );
        assert_eq!(parts(HistoryError::PhotoNotFound).await, (404, text.clone(), "photo was not found".into(), None));
        let down = HistoryError::from(StoreError::Unavailable("connection refused to 10.0.0.5".into()));
        assert_eq!(parts(down).await, (503, text.clone(), "exception".into(), Some("1".into())));
        let broken = HistoryError::from(StoreError::Failed("syntax error at SELECT".into()));
        assert_eq!(parts(broken).await, (500, text.clone(), "exception".into(), None));
        assert_eq!(parts(HistoryError::NoTenant).await, (500, text, "exception".into(), None));
    }

    #[actix_web::test]
    async fn empty_flows() {
        let res = full_flow(flow(&[]), false);
        assert_eq!(res.headers().get(header::CONTENT_TYPE).unwrap(), JSON);
        assert!(to_bytes(res.into_body()).await.unwrap().is_empty());
        let res = full_flow(flow(&[]), true);
        assert_eq!(to_bytes(res.into_body()).await.unwrap(), "[]");
    }
}
