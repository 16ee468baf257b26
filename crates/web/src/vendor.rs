//! The vendor's wire words that more than one face writes, defined once.
//!
//! They live here, in the HTTP plumbing both faces share, and not in the core: they are header
//! names, header values and response text of the wire, not domain. `ixgw_core` keeps only the
//! reasons (`AuthFailure`) that these headers and texts carry.

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpResponseBuilder;

/// The header that says why credentials were refused (Interact REST and SOAP).
pub const UNAUTHENTICATED_REASON: &str = "Unauthenticated-Reason";

/// Interact's code for refused credentials: the REST 401 body's `code`, SOAP's credentials
/// faultcode (or detail entry).
pub const UNAUTHORIZED_CODE: &str = "0x7000000";

/// Interact's sentence for refused credentials: the REST 401 body's `message`, SOAP's faultstring.
pub const UNAUTHORIZED_MESSAGE: &str = "Request is unauthorized, missing or wrong credentials";

/// Seconds every face asks a client to wait (`Retry-After`) when the store cannot be reached.
pub const RETRY_AFTER_SECS: &str = "1";

/// Asks the client to retry after [`RETRY_AFTER_SECS`]: every 503 of the gateway carries it.
pub fn retry_later(response: &mut HttpResponseBuilder) {
    response.insert_header((header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS)));
}
