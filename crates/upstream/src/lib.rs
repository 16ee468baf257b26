//! The one client of the vendor's servers, shared by `ixgw pull` and the cutover (shadow and
//! fallback modes):
//!
//! - [`SourceClient`]: reads of one source with its own credentials, paced and retried with backoff
//!   (the pull, and the fallback's copies of what the store lacked);
//! - [`Forwarder`]: one client request passed on as it came — method, path, query, body and
//!   credential headers — and the vendor's answer read whole, within a timeout, never retried.
//!
//! Both speak HTTP through one `reqwest` client per process, so connections to the vendor are
//! pooled across every use. Messages never name a URL (it may carry user info) nor a key.

mod forward;
mod source;

pub use forward::{timeout, Forwarded, Forwarder, Outgoing};
pub use source::{Answer, ClientSettings, Counters, Failure, RetryPolicy, SourceClient};

use std::time::Duration;

/// The HTTP client every use shares: no redirects followed (a vendor's redirect is its answer),
/// `timeout` for a whole exchange.
pub fn http_client(timeout: Duration, user_agent: &str) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .map_err(|e| format!("cannot prepare the HTTP client: {}", e.without_url()))
}

/// A request failure in words, without its URL.
pub fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}
