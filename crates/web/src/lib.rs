//! HTTP plumbing that the REST and SOAP faces share, so that neither re-implements it: reading
//! credentials from headers, the public base URL, logging failures without leaking them, request
//! labels, route tables ([`routes`]) and the vendor's wire words ([`vendor`]).

use actix_web::http::header::{AsHeaderName, HeaderMap, HeaderName, AUTHORIZATION, HOST};
use actix_web::{HttpMessage, HttpRequest};
use ixgw_core::rules::urls::{public_base_url, RequestOrigin};
use ixgw_core::{Credentials, HistoryError};
use std::sync::Arc;

pub mod routes;
pub mod vendor;

pub use routes::{Route, Verb};

// Header names made once, not parsed from text at every lookup.
pub const TENANT_ID: HeaderName = HeaderName::from_static("tenant-id");
pub const APPLICATION_KEY: HeaderName = HeaderName::from_static("application-key");
pub const ENVIRONMENT_NAME: HeaderName = HeaderName::from_static("environment-name");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// A header as text; a header that is not visible ASCII counts as absent.
pub fn header(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The Interact credentials: `Application-Key` (or `Authorization: Bearer`) and `Environment-Name`.
pub fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    // `Authorization` is looked up only when `Application-Key` is absent (a lookup per request).
    let bearer = || {
        header(headers, AUTHORIZATION)
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
    };
    Credentials {
        key: header(headers, APPLICATION_KEY).or_else(bearer),
        environment: header(headers, ENVIRONMENT_NAME),
    }
}

/// The base URL clients reach this gateway at (see `ixgw_core::rules::urls`).
pub fn base_url(req: &HttpRequest, configured: Option<&str>) -> String {
    let headers = req.headers();
    let scheme = req.connection_info().scheme().to_string();
    public_base_url(
        configured,
        RequestOrigin {
            forwarded_proto: header(headers, X_FORWARDED_PROTO),
            forwarded_host: header(headers, X_FORWARDED_HOST),
            host: header(headers, HOST),
            scheme: &scheme,
        },
    )
}

/// The id of a request (`X-Request-Id`), which the server's request log gives every request, for
/// what the faces log about it: the header's value itself (made once, shared with the answer's
/// header; visible ASCII by construction).
#[derive(Debug, Clone)]
pub struct RequestId(pub actix_web::http::header::HeaderValue);

/// The id the request log gave `req` (empty outside the server, in unit tests).
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().and_then(|id| id.0.to_str().ok().map(str::to_string)).unwrap_or_default()
}

/// Logs a failure the client only sees as an opaque `exception` / Server fault: the cause chain goes
/// to the log, with the request's id and path for correlation.
pub fn log_failure(req: &HttpRequest, error: &HistoryError) {
    match error {
        HistoryError::StoreUnavailable(_) => {
            tracing::warn!(path = %req.path(), error = ?error, request_id = %request_id(req), "store unavailable")
        }
        HistoryError::Internal(_) => {
            tracing::error!(path = %req.path(), error = ?error, request_id = %request_id(req), "request failed")
        }
        _ => {}
    }
}

/// What a face says about a request it answered, for the request log and the metrics: which
/// surface, which operation (for SOAP the operation in the body, not the URL), the SOAP version, the
/// tenant, the fault or error code if any, and for a refusal of credentials its reason (the short
/// text of `Unauthenticated-Reason`, never the key). Faces attach it with [`label`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLabel {
    pub surface: &'static str,
    pub operation: String,
    pub soap_version: Option<&'static str>,
    pub tenant: Option<Arc<str>>,
    pub fault: Option<String>,
    pub reason: Option<&'static str>,
}

/// The tenant and environment a request was authenticated for (see [`authenticated`]).
#[derive(Debug, Clone)]
struct AuthenticatedTenant {
    tenant: Arc<str>,
    environment: Arc<str>,
}

/// Remembers the tenant `who` belongs to, for the request's label. Faces call it where they
/// authenticate; a request that never authenticated is logged without a tenant.
pub fn authenticated(req: &HttpRequest, who: &ixgw_core::Principal) {
    req.extensions_mut()
        .insert(AuthenticatedTenant { tenant: who.tenant.clone(), environment: who.environment.clone() });
}

/// What an authenticated request looked for and the store does not hold: the cutover's fallback
/// asks the vendor for it and copies it (`ixgw::cutover`). Faces note it with [`note_miss`] where
/// they turn a core error into their answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Miss {
    pub tenant: String,
    pub environment: String,
    pub lookup: Lookup,
}

/// The interaction a missed request named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// An Interact unique id (REST or SOAP).
    UniqueId(String),
    /// An Interact caller-attribute value (REST or SOAP, `byCallerAttribute` and `uniqueId`).
    CallerAttribute(String),
    /// A Context Services interaction id.
    ContextInteraction(String),
}

/// Notes on the request that `error` is a miss of an interaction (see [`Miss`]); other errors,
/// and requests that never authenticated, note nothing.
pub fn note_miss(req: &HttpRequest, error: &HistoryError) {
    let lookup = match error {
        HistoryError::UniqueIdNotFound(id) => Lookup::UniqueId(id.clone()),
        HistoryError::AttributeNotFound(value) => Lookup::CallerAttribute(value.clone()),
        HistoryError::InteractionNotFound(id) => Lookup::ContextInteraction(id.clone()),
        _ => return,
    };
    let Some(who) = req.extensions().get::<AuthenticatedTenant>().cloned() else { return };
    req.extensions_mut().insert(Miss {
        tenant: who.tenant.to_string(),
        environment: who.environment.to_string(),
        lookup,
    });
}

/// Attaches `label` to a response (read by the server's request log and metrics). A label without
/// a tenant gets the one the request was [`authenticated`] for, if any.
pub fn label(req: &HttpRequest, response: &mut actix_web::HttpResponse, mut label: RequestLabel) {
    if label.tenant.is_none() {
        label.tenant = req.extensions().get::<AuthenticatedTenant>().map(|t| t.tenant.clone());
    }
    response.extensions_mut().insert(label);
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn labels_take_the_authenticated_tenant() {
        let req = TestRequest::default().to_http_request();
        let mut res = actix_web::HttpResponse::Ok().finish();
        label(&req, &mut res, RequestLabel { surface: "s", operation: "op".into(), ..Default::default() });
        assert_eq!(res.extensions().get::<RequestLabel>().unwrap().tenant, None);
        let who = ixgw_core::Principal {
            tenant: "12345678".into(),
            environment: "production".into(),
            scope: ixgw_core::Scope::Read,
            key_id: "k_1".into(),
        };
        authenticated(&req, &who);
        label(&req, &mut res, RequestLabel { surface: "s", operation: "op".into(), ..Default::default() });
        assert_eq!(res.extensions().get::<RequestLabel>().unwrap().tenant.as_deref(), Some("12345678"));
    }

    #[test]
    fn misses_are_noted_for_authenticated_lookups_of_an_interaction_only() {
        let req = TestRequest::default().to_http_request();
        note_miss(&req, &HistoryError::UniqueIdNotFound("x".into()));
        assert_eq!(req.extensions().get::<Miss>(), None, "not authenticated");
        let who = ixgw_core::Principal {
            tenant: "12345678".into(),
            environment: "staging".into(),
            scope: ixgw_core::Scope::Read,
            key_id: "k_1".into(),
        };
        authenticated(&req, &who);
        note_miss(&req, &HistoryError::VariableSetNotFound("s".into()));
        assert_eq!(req.extensions().get::<Miss>(), None, "the interaction was found");
        for (error, lookup) in [
            (HistoryError::UniqueIdNotFound("a".into()), Lookup::UniqueId("a".into())),
            (HistoryError::AttributeNotFound("4567".into()), Lookup::CallerAttribute("4567".into())),
            (HistoryError::InteractionNotFound("c".into()), Lookup::ContextInteraction("c".into())),
        ] {
            note_miss(&req, &error);
            let miss = req.extensions().get::<Miss>().cloned().unwrap();
            assert_eq!(miss, Miss { tenant: "12345678".into(), environment: "staging".into(), lookup });
        }
    }
}
