//! Shadow mode's comparisons: the store's answer beside the vendor's, off the response path. A
//! bounded queue feeds one worker; what does not fit is dropped and counted. Outcomes go to
//! `ixgw_shadow_total`, and (counts per minute, differing samples) to the store for
//! `ixgw shadow report`, in batches.

use super::CutoverMetrics;
use actix_web::body::MessageBody;
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use ixgw_store::{Database, ShadowCount, ShadowSample};
use ixgw_upstream::Forwarded;
use ixgw_web::{Miss, RequestLabel};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The store's answer to a request, read whole.
#[derive(Debug)]
pub(super) struct LocalAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub label: Option<RequestLabel>,
    pub miss: Option<Miss>,
}

impl LocalAnswer {
    /// The face's answer, read whole (at most `cap` bytes); `miss` is what it noted on the request.
    pub async fn read<B: MessageBody>(
        response: HttpResponse<B>,
        miss: Option<Miss>,
        cap: usize,
    ) -> Result<Self, String> {
        let label = response.extensions().get::<RequestLabel>().cloned();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match actix_web::body::to_bytes_limited(response.into_body(), cap).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => return Err("the store's answer broke off".into()),
            Err(_) => return Err(format!("the store's answer is larger than {cap} bytes")),
        };
        Ok(Self { status, headers, body, label, miss })
    }

    /// The operation it answered (SOAP's is in the body), else the route's.
    pub fn operation<'a>(&'a self, route: &'a str) -> &'a str {
        self.label.as_ref().map_or(route, |l| l.operation.as_str())
    }

    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK));
        for (name, value) in self.headers.iter() {
            response.append_header((name.clone(), value.clone()));
        }
        let mut response = response.body(self.body);
        if let Some(label) = self.label {
            response.extensions_mut().insert(label);
        }
        response
    }

    fn content_type(&self) -> Option<&[u8]> {
        self.headers.get(actix_web::http::header::CONTENT_TYPE).map(|v| v.as_bytes())
    }
}

/// One request to compare: the vendor's answer (links rewritten) and the store's, on its way.
pub(super) struct Comparison {
    /// The route's operation, for an answer the store did not label.
    pub operation: &'static str,
    /// The request in words, without credentials ([`without_passwords`] applied), for a sample:
    /// written only for the requests that differ.
    pub request: Box<dyn FnOnce() -> String + Send>,
    pub vendor: Forwarded,
    pub local: JoinHandle<Result<LocalAnswer, String>>,
}

enum Job {
    Compare(Comparison),
    Count { operation: String, outcome: &'static str },
}

/// What the store's answer is, beside the vendor's: `same` (status, content type and body, after
/// the vendor's base URL became the gateway's), `missing` (the store did not find the interaction
/// the vendor answered with), else `differ`.
pub(super) fn outcome(vendor: &Forwarded, local: &LocalAnswer) -> &'static str {
    let content_type = |t: Option<&[u8]>| {
        t.map(|t| String::from_utf8_lossy(t).to_ascii_lowercase().replace(' ', "")).unwrap_or_default()
    };
    let same = vendor.status == local.status
        && content_type(vendor.header("content-type")) == content_type(local.content_type())
        && vendor.body == local.body;
    if same {
        "same"
    } else if local.miss.is_some() && (200..300).contains(&vendor.status) {
        "missing"
    } else {
        "differ"
    }
}

/// `text` with the content of every `Password` element (WS-Security's UsernameToken) blanked.
pub(crate) fn without_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = find_password_tag(rest) {
        let Some(tag_end) = rest[open..].find('>').map(|i| open + i + 1) else { break };
        out.push_str(&rest[..tag_end]);
        rest = &rest[tag_end..];
        if out.ends_with("/>") {
            continue;
        }
        out.push_str("***");
        rest = rest.find("</").map_or("", |end| &rest[end..]);
    }
    out.push_str(rest);
    out
}

/// The start of the next `<Password` or `<prefix:Password` tag.
fn find_password_tag(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find("Password").map(|i| from + i) {
        let tag_start = text[..at].rfind('<');
        let is_tag = tag_start.is_some_and(|start| {
            let name = &text[start + 1..at];
            !name.starts_with('/') && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ':')
        });
        let ends_name = text[at + "Password".len()..].chars().next().is_some_and(|c| c == '>' || c.is_whitespace());
        if is_tag && ends_name {
            return tag_start;
        }
        from = at + 1;
    }
    None
}

/// The queue in front of the comparison worker.
pub(super) struct Queue {
    sender: mpsc::Sender<Job>,
    metrics: CutoverMetrics,
}

/// How often counts and samples are written to the store at the most.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long a comparison waits for the store's answer.
const LOCAL_WITHIN: Duration = Duration::from_secs(30);

impl Queue {
    pub fn start(database: Database, capacity: usize, keep: usize, metrics: CutoverMetrics) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        tokio::spawn(work(receiver, database, keep, metrics.clone()));
        Self { sender, metrics }
    }

    /// Queues a comparison; a full queue drops it (counted).
    pub fn offer(&self, comparison: Comparison) {
        self.send(Job::Compare(comparison));
    }

    /// Counts an outcome known on the response path (`upstream_failed`).
    pub fn count(&self, operation: &str, outcome: &'static str) {
        self.metrics.shadow.with_label_values(&[operation, outcome]).inc();
        self.send(Job::Count { operation: operation.to_string(), outcome });
    }

    fn send(&self, job: Job) {
        if self.sender.try_send(job).is_err() {
            self.metrics.dropped.with_label_values(&["shadow"]).inc();
        }
    }
}

async fn work(mut receiver: mpsc::Receiver<Job>, database: Database, keep: usize, metrics: CutoverMetrics) {
    let mut counts: HashMap<(i64, String, &'static str), i64> = HashMap::new();
    let mut samples: Vec<ShadowSample> = Vec::new();
    let mut last_flush = Instant::now();
    loop {
        let job = match tokio::time::timeout(FLUSH_EVERY, receiver.recv()).await {
            Ok(Some(job)) => Some(job),
            Ok(None) => break,
            Err(_idle) => None,
        };
        let now = chrono::Utc::now().timestamp_millis();
        match job {
            Some(Job::Count { operation, outcome }) => {
                *counts.entry((now.div_euclid(60_000), operation, outcome)).or_default() += 1;
            }
            Some(Job::Compare(comparison)) => {
                let local = match tokio::time::timeout(LOCAL_WITHIN, comparison.local).await {
                    Ok(Ok(Ok(local))) => local,
                    failed => {
                        tracing::warn!(
                            operation = comparison.operation,
                            ?failed,
                            "shadow: the store gave no answer to compare"
                        );
                        continue;
                    }
                };
                let operation = local.operation(comparison.operation).to_string();
                let outcome = outcome(&comparison.vendor, &local);
                metrics.shadow.with_label_values(&[&operation, outcome]).inc();
                *counts.entry((now.div_euclid(60_000), operation.clone(), outcome)).or_default() += 1;
                if outcome != "same" {
                    let tenant = local.miss.as_ref().map(|m| m.tenant.clone());
                    let tenant =
                        tenant.or_else(|| local.label.as_ref().and_then(|l| l.tenant.as_deref().map(str::to_string)));
                    samples.push(ShadowSample {
                        at: now,
                        operation,
                        outcome: outcome.to_string(),
                        tenant: tenant.unwrap_or_default(),
                        request: (comparison.request)(),
                        vendor_status: comparison.vendor.status,
                        vendor_body: comparison.vendor.body.to_vec(),
                        local_status: local.status,
                        local_body: local.body.to_vec(),
                    });
                }
            }
            None => {}
        }
        if (last_flush.elapsed() >= FLUSH_EVERY || samples.len() >= 64) && !(counts.is_empty() && samples.is_empty()) {
            flush(&database, &mut counts, &mut samples, keep).await;
            last_flush = Instant::now();
        }
    }
    flush(&database, &mut counts, &mut samples, keep).await;
}

async fn flush(
    database: &Database,
    counts: &mut HashMap<(i64, String, &'static str), i64>,
    samples: &mut Vec<ShadowSample>,
    keep: usize,
) {
    let rows: Vec<ShadowCount> = counts
        .drain()
        .map(|((minute, operation, outcome), count)| ShadowCount { minute, operation, outcome: outcome.into(), count })
        .collect();
    let batch = std::mem::take(samples);
    if let Err(e) = database.record_shadow(&rows, &batch, keep).await {
        tracing::warn!(error = %e, counts = rows.len(), samples = batch.len(), "shadow: cannot keep what was compared");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(status: u16, body: &'static str, miss: bool) -> LocalAnswer {
        let mut headers = HeaderMap::new();
        headers.insert(
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        let miss = miss.then(|| Miss {
            tenant: "t".into(),
            environment: "production".into(),
            lookup: ixgw_web::Lookup::UniqueId("x".into()),
        });
        LocalAnswer { status, headers, body: Bytes::from_static(body.as_bytes()), label: None, miss }
    }

    fn vendor(status: u16, body: &'static str) -> Forwarded {
        Forwarded {
            status,
            headers: vec![("content-type".into(), b"application/json; charset=UTF-8".to_vec())],
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(&vendor(200, "[1]"), &local(200, "[1]", false)), "same");
        assert_eq!(outcome(&vendor(404, "no"), &local(404, "no", true)), "same", "both not found");
        assert_eq!(outcome(&vendor(200, "[1]"), &local(404, "no", true)), "missing");
        assert_eq!(outcome(&vendor(200, "[1]"), &local(200, "[2]", false)), "differ");
        assert_eq!(outcome(&vendor(401, "{}"), &local(404, "no", true)), "differ", "the vendor refused");
    }

    #[test]
    fn passwords_are_blanked_in_samples() {
        let envelope = "<s:Header><wsse:UsernameToken><wsse:Username>12345678</wsse:Username>\
                        <wsse:Password Type=\"x#PasswordText\">secret-key</wsse:Password></wsse:UsernameToken>";
        let out = without_passwords(envelope);
        assert!(!out.contains("secret-key"), "{out}");
        assert!(out.contains("<wsse:Password Type=\"x#PasswordText\">***</wsse:Password>"), "{out}");
        assert!(out.contains("<wsse:Username>12345678</wsse:Username>"), "{out}");
        assert_eq!(
            without_passwords("<Password>k</Password><a>PasswordText</a>"),
            "<Password>***</Password><a>PasswordText</a>"
        );
        assert_eq!(without_passwords("no tags"), "no tags");
    }
}
