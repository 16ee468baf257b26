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
//!
//! Each request to the vendor is a client span (when traces are exported) whose trace context
//! goes on in a `traceparent` header ([`client_span`], [`trace_context`]); its attributes are the
//! method, the vendor's host and port and the status, never the path, the query or a header.

mod forward;
mod source;

pub use forward::{timeout, Forwarded, Forwarder, Outgoing};
pub use source::{Answer, ClientSettings, Counters, Failure, RetryPolicy, SourceClient};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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

/// The client span of one request to `url` (disabled, and free, unless traces are exported).
pub(crate) fn client_span(method: &str, url: &str) -> tracing::Span {
    let span = tracing::debug_span!(
        "upstream",
        otel.name = method,
        otel.kind = "client",
        http.request.method = method,
        server.address = tracing::field::Empty,
        server.port = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        if let Ok(url) = reqwest::Url::parse(url) {
            span.record("server.address", url.host_str().unwrap_or_default());
            if let Some(port) = url.port_or_known_default() {
                span.record("server.port", i64::from(port));
            }
        }
    }
    span
}

/// Records the vendor's status on the client span `span` (a 5xx is an error).
pub(crate) fn record_status(span: &tracing::Span, status: u16) {
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("error.type", status.to_string().as_str());
        span.record("otel.status_code", "error");
    }
}

/// Records on the client span `span` that the request got no (whole) answer.
pub(crate) fn record_failure(span: &tracing::Span) {
    span.record("error.type", "request_failed");
    span.record("otel.status_code", "error");
}

/// The trace context of `span` as headers (`traceparent`, `tracestate`) for the next hop; none
/// unless traces are exported.
pub fn trace_context(span: &tracing::Span) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if span.is_disabled() {
        return headers;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Injected(&mut headers))
    });
    headers
}

struct Injected<'a>(&'a mut HeaderMap);

impl opentelemetry::propagation::Injector for Injected<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}
