//! Logs, metrics and traces: one log line per request (request id, surface, operation, tenant,
//! status, the reason of a refusal of credentials, latency, and the trace id when traces are
//! exported), Prometheus counters and histograms by surface, operation, status and SOAP version, and
//! a server span per request ([`trace`]). Keys, key hashes and bodies never reach any of them.

mod line;
mod otlp;
pub mod trace;

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpMessage;
use ixgw_web::RequestLabel;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::future::{ready, Future, Ready};
use std::io::IsTerminal;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, writing to stderr, and starts exporting spans if `telemetry`
/// names a collector (the returned [`trace::Export`] sends the last ones at shutdown). Once: later
/// calls install nothing, which tests rely on.
pub fn init(
    format: &str,
    level: &str,
    telemetry: &crate::settings::TelemetrySettings,
) -> Result<Option<trace::Export>, String> {
    let started = trace::start(telemetry)?;
    let (export, tracer) = started.map_or((None, None), |(export, tracer)| (Some(export), Some(tracer)));
    // Colours only for a person at a terminal: a log file or collector gets plain text.
    subscriber(format, level, std::io::stderr, std::io::stderr().is_terminal(), tracer);
    Ok(export)
}

/// Traces only, no log (`ixgw pull`, which reports on stdout and stderr itself): the global
/// subscriber gets the OpenTelemetry layer if `telemetry` names a collector, else nothing is
/// installed.
pub fn init_traces(telemetry: &crate::settings::TelemetrySettings) -> Result<Option<trace::Export>, String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let Some((export, tracer)) = trace::start(telemetry)? else { return Ok(None) };
    let _ = tracing_subscriber::registry().with(span_layer(tracer)).try_init();
    Ok(Some(export))
}

/// The OpenTelemetry layer: it sees the spans of the gateway's own crates (`ixgw*` targets) at
/// every level, and no events (a log message may quote what a span must not carry).
fn span_layer<S>(tracer: opentelemetry_sdk::trace::Tracer) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use tracing_subscriber::Layer;
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| meta.is_span() && meta.target().starts_with("ixgw")))
}

/// [`init`] with another destination, without colours and without traces (tests capture the log
/// with it).
pub fn init_with_writer<W>(format: &str, level: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    subscriber(format, level, writer, false, None);
}

/// The log (filtered by `level`) and, with a tracer, the OpenTelemetry layer ([`span_layer`]).
/// The request lines ([`line`]) go to the same writer, each in one write.
fn subscriber<W>(format: &str, level: &str, writer: W, ansi: bool, tracer: Option<opentelemetry_sdk::trace::Tracer>)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    use std::io::Write;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let lines = writer.clone();
    line::install(
        format == "json",
        ansi,
        Box::new(move |bytes| {
            let _ = lines.make_writer().write_all(bytes);
        }),
    );
    let registry = tracing_subscriber::registry().with(tracer.map(span_layer));
    let log = tracing_subscriber::fmt::layer().with_writer(writer).with_target(false).with_ansi(ansi);
    let _ = if format == "json" {
        registry.with(log.json().flatten_event(true).with_filter(filter(level))).try_init()
    } else {
        registry.with(log.with_filter(filter(level))).try_init()
    };
}

/// `level`, without sqlx's echoes of a database going away unless it names sqlx: PostgreSQL's
/// warning to the client (`sqlx::postgres::notice`: "terminating connection due to immediate
/// shutdown command", sent on every open connection as the server stops) and the pool's "error
/// occurred while testing the connection on-release" (`sqlx_core::pool::connection`, for a pooled
/// connection found broken as it is put back). Each repeats, once per connection, what the store's
/// gate says in one line (`ixgw_store::health`).
fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_new(quiet_sqlx_echoes(level)).unwrap_or_else(|_| EnvFilter::new(quiet_sqlx_echoes("info")))
}

fn quiet_sqlx_echoes(level: &str) -> String {
    if level.contains("sqlx") {
        level.to_string()
    } else {
        format!("{level},sqlx::postgres::notice=error,sqlx_core::pool::connection=error")
    }
}

/// The gateway's metrics, registered once per process (or per test app).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    faults: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("ixgw_requests_total", "Requests answered, by surface, operation, status and SOAP version"),
            &["surface", "operation", "status", "soap_version"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("ixgw_request_duration_seconds", "Time to answer a request, by surface and operation")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["surface", "operation"],
        )
        .expect("valid metric");
        let faults = IntCounterVec::new(
            Opts::new("ixgw_faults_total", "SOAP faults and error answers, by surface and code"),
            &["surface", "code"],
        )
        .expect("valid metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(faults.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Arc::new(Self { registry, requests, latency, faults })
    }

    /// Adds a collector of another module (the cutover's counters) to `/metrics`.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        self.registry.register(collector).expect("metric registered once");
    }

    fn observe(&self, label: &RequestLabel, status: actix_web::http::StatusCode, seconds: f64) {
        self.requests
            .with_label_values(&[label.surface, &label.operation, status.as_str(), label.soap_version.unwrap_or("")])
            .inc();
        self.latency.with_label_values(&[label.surface, &label.operation]).observe(seconds);
        if let Some(code) = &label.fault {
            self.faults.with_label_values(&[label.surface, code]).inc();
        }
    }

    /// The Prometheus text exposition, with `extra` lines (gauges read at scrape time) appended.
    pub fn render(&self, extra: &str) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding");
        let mut text = String::from_utf8(out).expect("prometheus text is UTF-8");
        text.push_str(extra);
        text
    }
}

/// The label of a request no face labelled: its route pattern (never the raw path, so ids do not
/// explode the metric's cardinality).
fn fallback_label(req: &actix_web::HttpRequest) -> RequestLabel {
    let path = req.path();
    let surface = if crate::app::OPS_ROUTES.iter().any(|route| route.path == path) { "ops" } else { "other" };
    let operation =
        req.match_pattern()
            .unwrap_or_else(|| if surface == "ops" { path.to_string() } else { "unmatched".to_string() });
    RequestLabel { surface, operation, ..Default::default() }
}

/// Logs and measures every request, gives it an `X-Request-Id` (the client's if it sent a sane
/// one), and keeps its connection owed an answer until it has it (`shutdown::Owed`).
pub struct RequestLog {
    pub metrics: Arc<Metrics>,
}

impl<S, B> Transform<S, ServiceRequest> for RequestLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLogService { service: Rc::new(service), metrics: self.metrics.clone() }))
    }
}

pub struct RequestLogService<S> {
    service: Rc<S>,
    metrics: Arc<Metrics>,
}

/// The target of the request log's line: `[log] level` filters it as they did when it was a
/// `tracing` event of this module.
pub(crate) const REQUEST_LOG: &str = "ixgw::telemetry";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's `X-Request-Id` if it is a sane one (shared, not copied), else a new one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    let sane = |v: &&HeaderValue| {
        let v = v.as_bytes();
        !v.is_empty() && v.len() <= 64 && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    req.headers().get(&REQUEST_ID).filter(sane).cloned().unwrap_or_else(|| {
        let mut text = [0u8; uuid::fmt::Simple::LENGTH];
        let text = uuid::Uuid::new_v4().simple().encode_lower(&mut text);
        HeaderValue::from_str(text).expect("a UUID's hex is a header value")
    })
}

impl<S, B> Service<ServiceRequest> for RequestLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let owed = crate::shutdown::Owed::begin(&req);
        let id_value = request_id(&req);
        let service = self.service.clone();
        let metrics = self.metrics.clone();
        // What the handlers log about a failure names the request (`ixgw_web::log_failure`).
        req.extensions_mut().insert(ixgw_web::RequestId(id_value.clone()));
        // With traces exported, the server span is the parent of every span of the request: its
        // context is attached while the request runs.
        let traced = if trace::exporting() {
            trace::ServerSpan::start(&req, id_value.to_str().unwrap_or_default())
        } else {
            None
        };
        Box::pin(async move {
            // Visible ASCII by construction (`request_id`).
            let id = id_value.to_str().unwrap_or_default();
            let answer = match &traced {
                Some(traced) => {
                    use opentelemetry::trace::FutureExt;
                    let answering = {
                        let _attached = traced.context.clone().attach();
                        service.call(req)
                    };
                    answering.with_context(traced.context.clone()).await
                }
                None => service.call(req).await,
            };
            let mut res = match answer {
                Ok(res) => res,
                Err(e) => {
                    traced.iter().for_each(trace::ServerSpan::failed);
                    return Err(e);
                }
            };
            let status = res.status();
            let label = res.response_mut().extensions_mut().remove::<RequestLabel>();
            let label = label.unwrap_or_else(|| fallback_label(res.request()));
            let elapsed = started.elapsed();
            metrics.observe(&label, status, elapsed.as_secs_f64());
            res.headers_mut().insert(REQUEST_ID, id_value.clone());
            line::write(&line::Fields {
                request_id: id,
                trace_id: traced.as_ref().map_or("", trace::ServerSpan::trace_id),
                method: res.request().method().as_str(),
                surface: label.surface,
                operation: &label.operation,
                soap_version: label.soap_version.unwrap_or(""),
                tenant: label.tenant.as_deref().unwrap_or(""),
                status: status.as_u16(),
                reason: label.reason,
                latency_micros: elapsed.as_micros().try_into().unwrap_or(u64::MAX),
            });
            if let Some(traced) = &traced {
                traced.finish(&mut res, label);
            }
            owed.answered(&mut res);
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    /// The lines `level` lets through of a warning from each of `targets`.
    fn logged(level: &str, targets: impl FnOnce()) -> String {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let lines = lines.clone();
            move || Sink(lines.clone())
        };
        let subscriber = tracing_subscriber::fmt().with_env_filter(super::filter(level)).with_writer(writer).finish();
        tracing::subscriber::with_default(subscriber, targets);
        let bytes = lines.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn warnings() {
        tracing::warn!(target: "sqlx::postgres::notice", "terminating connection due to immediate shutdown command");
        tracing::warn!(target: "sqlx_core::pool::connection", "error occurred while testing the connection on-release");
        tracing::warn!(target: "sqlx_core::pool::inner", "slow acquire");
        tracing::warn!(target: "ixgw_store::health", "the read replica is unavailable");
    }

    #[test]
    fn sqlx_echoes_of_a_database_going_away_are_left_out_unless_the_filter_names_sqlx() {
        let quiet = logged("info", warnings);
        assert!(quiet.contains("the read replica is unavailable") && quiet.contains("slow acquire"), "{quiet}");
        assert!(!quiet.contains("terminating connection") && !quiet.contains("on-release"), "{quiet}");
        let named = logged("info,sqlx_core::pool::connection=warn", warnings);
        assert!(named.contains("on-release"), "{named}");
    }
}
