//! HTTP plumbing that the REST and SOAP faces share, so that neither re-implements it: reading
//! credentials from headers, the public base URL, and logging failures without leaking them.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ixgw_core::urls::{public_base_url, RequestOrigin};
use ixgw_core::{Credentials, HistoryError};

pub const TENANT_ID: &str = "Tenant-Id";
pub const APPLICATION_KEY: &str = "Application-Key";
pub const ENVIRONMENT_NAME: &str = "Environment-Name";

/// A header as text; a header that is not visible ASCII counts as absent.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The Interact credentials: `Application-Key` (or `Authorization: Bearer`) and `Environment-Name`.
pub fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let bearer = header(headers, "Authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    Credentials { key: header(headers, APPLICATION_KEY).or(bearer), environment: header(headers, ENVIRONMENT_NAME) }
}

/// The base URL clients reach this gateway at (see `ixgw_core::urls`).
pub fn base_url(req: &HttpRequest, configured: Option<&str>) -> String {
    let headers = req.headers();
    let scheme = req.connection_info().scheme().to_string();
    public_base_url(
        configured,
        RequestOrigin {
            forwarded_proto: header(headers, "X-Forwarded-Proto"),
            forwarded_host: header(headers, "X-Forwarded-Host"),
            host: header(headers, "Host"),
            scheme: &scheme,
        },
    )
}

/// Logs a failure the client only sees as an opaque `exception` / Server fault: the cause chain goes
/// to the log, with the request's path for correlation.
pub fn log_failure(req: &HttpRequest, error: &HistoryError) {
    match error {
        HistoryError::StoreUnavailable(_) => tracing::warn!(path = %req.path(), error = ?error, "store unavailable"),
        HistoryError::Internal(_) => tracing::error!(path = %req.path(), error = ?error, "request failed"),
        _ => {}
    }
}
