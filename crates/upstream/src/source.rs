//! Reads of one source server: its credentials on every request (never in a message), a rate
//! limit shared by every request, a timeout, and retries with backoff for what is worth another
//! try — a 5xx, a 429 (after its `Retry-After`), a network failure or timeout, an answer cut short.

use crate::describe;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LINK, RETRY_AFTER};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument;

/// Why an item could not be fetched (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try: a 5xx, a 429, a network failure or timeout, an answer cut short.
    Transient { reason: String, retry_after: Option<Duration> },
    /// This item cannot be pulled as it is (not found, an answer the gateway cannot store).
    Permanent(String),
    /// Transient failures until the retries ran out: the last one's reason.
    GaveUp(String),
    /// Nothing can be pulled (the source refuses the credentials): the pull stops.
    Fatal(String),
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient { reason: reason.into(), retry_after: None }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent(reason.into())
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Transient { reason, .. } | Self::Permanent(reason) | Self::GaveUp(reason) | Self::Fatal(reason) => {
                reason
            }
        }
    }
}

/// One answer of the source, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Link` header (a paged list's next page).
    pub link: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text for a message: its start, on one line.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line: String = text.chars().take(160).map(|c| if c.is_control() { ' ' } else { c }).collect();
        if line.trim().is_empty() {
            "no body".to_string()
        } else {
            format!("`{}`", line.trim())
        }
    }

    /// A failure for an answer the caller did not expect.
    pub fn unexpected(&self) -> Failure {
        Failure::permanent(format!("the source answered {} ({})", self.status, self.excerpt()))
    }
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each further one.
    pub first_backoff: Duration,
    /// No wait is longer than this, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { retries: 5, first_backoff: Duration::from_millis(250), max_backoff: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (0-based): `Retry-After` if the source said, else exponential
    /// backoff with ±25 % jitter so that concurrent workers do not retry in step.
    fn wait(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let wait = retry_after.unwrap_or_else(|| {
            let base = self.first_backoff.saturating_mul(1u32 << n.min(16));
            base.mul_f64(0.75 + rand::random::<f64>() * 0.5)
        });
        wait.min(self.max_backoff)
    }
}

/// Requests per second across every worker.
struct RateLimit {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimit {
    async fn wait_turn(&self) {
        let turn = {
            let mut next = self.next.lock().await;
            let turn = (*next).max(Instant::now());
            *next = turn + self.interval;
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

/// Counts for the summary.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

pub struct SourceClient {
    http: reqwest::Client,
    /// `scheme://host[:port][/path]`, no trailing slash.
    base: String,
    /// Sent with every request; values marked sensitive (never printed by the HTTP stack).
    headers: HeaderMap,
    policy: RetryPolicy,
    limit: Option<RateLimit>,
    pub counters: Counters,
}

/// What the client is built from.
pub struct ClientSettings {
    pub base_url: String,
    /// Sent with every request; values are marked sensitive (never printed by the HTTP stack).
    pub headers: Vec<(&'static str, String)>,
    pub timeout: Duration,
    pub policy: RetryPolicy,
    pub requests_per_second: Option<f64>,
}

impl SourceClient {
    /// A client with an HTTP client of its own (`ixgw pull`).
    pub fn new(settings: ClientSettings) -> Result<Self, String> {
        let http = crate::http_client(settings.timeout, concat!("ixgw-pull/", env!("CARGO_PKG_VERSION")))?;
        Self::with_http(http, settings)
    }

    /// A client over a shared HTTP client (its timeout is the shared one's).
    pub fn with_http(http: reqwest::Client, settings: ClientSettings) -> Result<Self, String> {
        let base = settings.base_url.trim_end_matches('/').to_string();
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        if !scheme_ok {
            return Err("the source must be an http:// or https:// URL".into());
        }
        let mut headers = HeaderMap::new();
        for (name, value) in settings.headers {
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| format!("the value for the {name} header is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static(name), value);
        }
        let limit = match settings.requests_per_second {
            Some(rps) if rps > 0.0 && rps.is_finite() => {
                Some(RateLimit { interval: Duration::from_secs_f64(1.0 / rps), next: Mutex::new(Instant::now()) })
            }
            Some(rps) => return Err(format!("--rps must be a positive number, not {rps}")),
            None => None,
        };
        Ok(Self { http, base, headers, policy: settings.policy, limit, counters: Counters::default() })
    }

    /// GETs `path_and_query` (already encoded, starting with `/`) and hands the answer to `read`,
    /// which says what it means; transient failures (of the request, or as `read` judges the
    /// answer) are tried again per the policy, and the last one is reported once tries run out.
    pub async fn fetch<T>(
        &self,
        path_and_query: &str,
        read: impl Fn(Answer) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let url = format!("{}{}", self.base, path_and_query);
        let mut retry = 0;
        loop {
            let failure = match self.get(&url).await.and_then(&read) {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            match failure {
                Failure::Transient { retry_after, .. } if retry < self.policy.retries => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.policy.wait(retry, retry_after)).await;
                    retry += 1;
                }
                Failure::Transient { reason, .. } => {
                    return Err(Failure::GaveUp(format!("{reason} (gave up after {} tries)", retry + 1)))
                }
                other => return Err(other),
            }
        }
    }

    /// [`fetch`](Self::fetch) of something that may be absent: a 200 goes to `read`, a 404 is
    /// `None`, any other status a failure.
    pub async fn fetch_found<T>(
        &self,
        path_and_query: &str,
        read: impl Fn(Answer) -> Result<T, Failure>,
    ) -> Result<Option<T>, Failure> {
        self.fetch(path_and_query, |answer| match answer.status {
            200 => read(answer).map(Some),
            404 => Ok(None),
            _ => Err(answer.unexpected()),
        })
        .await
    }

    /// One request, read whole, in a client span of its own (after the rate limit's wait).
    /// Credentials refused → `Fatal`; 429 and 5xx → `Transient`.
    async fn get(&self, url: &str) -> Result<Answer, Failure> {
        if let Some(limit) = &self.limit {
            limit.wait_turn().await;
        }
        let span = crate::client_span("GET", url);
        self.exchange(url, crate::trace_context(&span)).instrument(span).await
    }

    async fn exchange(&self, url: &str, trace_context: HeaderMap) -> Result<Answer, Failure> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        // Messages name no URL: the path is the item's, and a URL may carry user info.
        let response =
            self.http.get(url).headers(self.headers.clone()).headers(trace_context).send().await.map_err(|e| {
                crate::record_failure(&tracing::Span::current());
                Failure::transient(describe(&e))
            })?;
        let status = response.status().as_u16();
        crate::record_status(&tracing::Span::current(), status);
        let header = |name| response.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        let content_type = header(CONTENT_TYPE).map(str::to_string);
        let link = header(LINK).map(str::to_string);
        let retry_after = header(RETRY_AFTER).and_then(parse_retry_after);
        let reason = response
            .headers()
            .get(ixgw_web::vendor::UNAUTHENTICATED_REASON)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await.map_err(|e| {
            crate::record_failure(&tracing::Span::current());
            Failure::transient(format!("the answer broke off: {}", describe(&e)))
        })?;
        let answer = Answer { status, content_type, link, body: body.to_vec() };
        match status {
            401 | 403 => Err(Failure::Fatal(format!(
                "the source refused the credentials ({status}{}): check --key, the tenant and --environment",
                reason.map(|r| format!(", {r}")).unwrap_or_default()
            ))),
            429 => Err(Failure::Transient { reason: "the source asked to slow down (429)".into(), retry_after }),
            500..=599 => Err(Failure::Transient {
                reason: format!("the source failed ({status}, {})", answer.excerpt()),
                retry_after,
            }),
            _ => Ok(answer),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO), "in the past");
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = parse_retry_after(&soon).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy =
            RetryPolicy { retries: 5, first_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1) };
        for _ in 0..50 {
            let first = policy.wait(0, None);
            assert!(first >= Duration::from_millis(75) && first <= Duration::from_millis(125), "{first:?}");
            let third = policy.wait(2, None);
            assert!(third >= Duration::from_millis(300) && third <= Duration::from_millis(500), "{third:?}");
            assert_eq!(policy.wait(10, None), Duration::from_secs(1));
        }
        assert_eq!(policy.wait(0, Some(Duration::from_secs(2))), Duration::from_secs(1), "Retry-After is capped too");
        assert_eq!(policy.wait(3, Some(Duration::from_millis(10))), Duration::from_millis(10));
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        let answer =
            Answer { status: 404, content_type: None, link: None, body: b"history for UUID x\nwas not found".to_vec() };
        assert_eq!(answer.excerpt(), "`history for UUID x was not found`");
        let long = Answer { status: 500, content_type: None, link: None, body: vec![b'a'; 1000] };
        assert_eq!(long.excerpt().len(), 162);
        assert_eq!(Answer { status: 200, content_type: None, link: None, body: Vec::new() }.excerpt(), "no body");
    }
}
