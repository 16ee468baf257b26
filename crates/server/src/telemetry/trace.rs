//! Traces: `tracing` spans made into OpenTelemetry spans and exported over OTLP/HTTP (protobuf)
//! when `[telemetry] otlp_endpoint` is set (`docs/OBSERVABILITY.md`).
//!
//! Finished spans go into a bounded queue and a thread of their own sends them in batches, so
//! no request ever waits for the collector: when it is down or slow, spans that find the queue full
//! are dropped, and the batches it refuses are dropped too, each counted
//! (`ixgw_trace_spans_total{outcome}` in `/metrics`). Memory stays within the queue and one batch.
//!
//! Without an endpoint nothing of this is installed: no OpenTelemetry layer, no spans beyond
//! the request log's, and [`exporting`] is false (the request log's one check).

use crate::settings::TelemetrySettings;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use ixgw_web::RequestLabel;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor, Tracer};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans sent in one request to the collector at most.
const BATCH: usize = 512;
/// How long a finished span waits at most before its batch is sent.
const EVERY: Duration = Duration::from_secs(1);

static EXPORTING: AtomicBool = AtomicBool::new(false);
static COUNTERS: OnceLock<Arc<Counters>> = OnceLock::new();

/// Whether spans are exported (an endpoint is set and the exporter started).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// What became of the finished spans.
#[derive(Debug, Default)]
pub struct Counters {
    /// Accepted by the collector.
    pub exported: AtomicU64,
    /// Found the queue full (the collector slower than the spans come, or down a while).
    pub dropped_queue_full: AtomicU64,
    /// In a batch the collector refused or never answered.
    pub dropped_export_failed: AtomicU64,
}

/// The counters as Prometheus text for `/metrics`, when spans are exported.
pub fn metrics_text() -> String {
    let Some(counters) = COUNTERS.get() else { return String::new() };
    let mut text = String::from(
        "# HELP ixgw_trace_spans_total Finished spans, by what became of them: exported, \
         dropped_queue_full, dropped_export_failed.\n# TYPE ixgw_trace_spans_total counter\n",
    );
    for (outcome, value) in [
        ("exported", &counters.exported),
        ("dropped_queue_full", &counters.dropped_queue_full),
        ("dropped_export_failed", &counters.dropped_export_failed),
    ] {
        text.push_str(&format!("ixgw_trace_spans_total{{outcome=\"{outcome}\"}} {}\n", value.load(Ordering::Relaxed)));
    }
    text
}

/// The started exporter; [`Export::shutdown`] sends what is queued before the process ends.
pub struct Export {
    provider: SdkTracerProvider,
}

impl Export {
    /// Sends the queued spans (waiting up to `timeout`) and stops the export thread.
    pub fn shutdown(&self, timeout: Duration) {
        EXPORTING.store(false, Ordering::Relaxed);
        if let Err(e) = self.provider.shutdown_with_timeout(timeout) {
            tracing::warn!(error = %e, "traces: the last spans could not be sent");
        }
    }
}

/// The collector's URL for traces: `endpoint` with `/v1/traces` (unless it already ends so).
fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

/// Starts the exporter of `settings` and returns the tracer the `tracing` layer makes spans with;
/// `Ok(None)` without an endpoint.
pub fn start(settings: &TelemetrySettings) -> Result<Option<(Export, Tracer)>, String> {
    let Some(endpoint) = settings.endpoint() else { return Ok(None) };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(format!("telemetry.otlp_endpoint must be an http:// or https:// URL, not `{endpoint}`"));
    }
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint))
        .build()
        .map_err(|e| format!("telemetry.otlp_endpoint: cannot prepare the exporter: {e}"))?;
    let service_name =
        std::env::var("OTEL_SERVICE_NAME").ok().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "ixgw".into());
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    exporter.set_resource(&resource);
    let counters = COUNTERS.get_or_init(Arc::default).clone();
    let processor = QueueProcessor::start(exporter, settings.queue, counters)?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio))))
        .with_resource(resource)
        .build();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let tracer = provider.tracer("ixgw");
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(Some((Export { provider }, tracer)))
}

enum Message {
    Span(Box<SpanData>),
    /// Send what is queued, then answer.
    Flush(SyncSender<()>),
    /// Send what is queued, answer and stop.
    Stop(SyncSender<()>),
}

/// The SDK's batch processor with a bounded queue whose drops are counted (the SDK's own counts
/// them only into a log line at shutdown).
#[derive(Debug)]
struct QueueProcessor {
    queue: SyncSender<Message>,
    counters: Arc<Counters>,
    stopped: AtomicBool,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl QueueProcessor {
    fn start<E: SpanExporter + 'static>(exporter: E, capacity: usize, counters: Arc<Counters>) -> Result<Self, String> {
        let (queue, receiver) = mpsc::sync_channel(capacity.max(1));
        let worker_counters = counters.clone();
        let worker = std::thread::Builder::new()
            .name("ixgw-trace-export".into())
            .spawn(move || send_batches(exporter, receiver, worker_counters))
            .map_err(|e| format!("cannot start the trace exporter's thread: {e}"))?;
        Ok(Self { queue, counters, stopped: AtomicBool::new(false), worker: Mutex::new(Some(worker)) })
    }

    /// Sends a control message (waiting for room in the queue) and waits for its answer.
    fn ask(&self, message: impl FnOnce(SyncSender<()>) -> Message, timeout: Duration) -> OTelSdkResult {
        let (done, answered) = mpsc::sync_channel(1);
        self.queue.send(message(done)).map_err(|_| OTelSdkError::AlreadyShutdown)?;
        answered.recv_timeout(timeout).map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.queue.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.ask(Message::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let answered = self.ask(Message::Stop, timeout);
        if answered.is_ok() {
            if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = worker.join();
            }
        }
        answered
    }
}

/// The export thread: batches of up to [`BATCH`] spans, sent when full or [`EVERY`] after the
/// first span waiting, one at a time, on a runtime of its own (the exporter's HTTP client is
/// asynchronous).
fn send_batches<E: SpanExporter>(exporter: E, queue: mpsc::Receiver<Message>, counters: Arc<Counters>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "traces: the export thread cannot start; spans are dropped");
            return;
        }
    };
    let mut batch: Vec<SpanData> = Vec::with_capacity(BATCH);
    let mut failures = Failures::default();
    let mut send = |batch: &mut Vec<SpanData>| {
        if batch.is_empty() {
            return;
        }
        let spans = batch.len() as u64;
        match runtime.block_on(exporter.export(std::mem::take(batch))) {
            Ok(()) => {
                counters.exported.fetch_add(spans, Ordering::Relaxed);
                failures.ended();
            }
            Err(e) => {
                counters.dropped_export_failed.fetch_add(spans, Ordering::Relaxed);
                failures.failed(&e);
            }
        }
    };
    let mut due: Option<Instant> = None;
    loop {
        let message = match due {
            Some(at) => queue.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match message {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                due.get_or_insert_with(|| Instant::now() + EVERY);
                if batch.len() >= BATCH {
                    send(&mut batch);
                    due = None;
                }
            }
            Ok(Message::Flush(done)) => {
                send(&mut batch);
                due = None;
                let _ = done.send(());
            }
            Ok(Message::Stop(done)) => {
                send(&mut batch);
                let _ = exporter.shutdown();
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                send(&mut batch);
                due = None;
            }
            Err(RecvTimeoutError::Disconnected) => {
                send(&mut batch);
                return;
            }
        }
    }
}

/// One log line when the collector starts failing and one when it takes spans again.
#[derive(Default)]
struct Failures {
    failing: bool,
}

impl Failures {
    fn failed(&mut self, error: &OTelSdkError) {
        if !self.failing {
            self.failing = true;
            tracing::warn!(error = %error, "traces: the collector refused a batch; spans are dropped until it takes them (ixgw_trace_spans_total)");
        }
    }

    fn ended(&mut self) {
        if std::mem::take(&mut self.failing) {
            tracing::info!("traces: the collector takes spans again");
        }
    }
}

/// A request's server span, when spans are exported: it joins the client's trace (`traceparent`,
/// `tracestate`) or starts one, and its own `traceparent` goes back in the answer.
pub struct ServerSpan {
    pub span: tracing::Span,
    /// 32 hex digits, for the request's log line.
    pub trace_id: String,
    traceparent: Option<HeaderValue>,
}

/// `traceparent`, the W3C header of the trace context.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

impl ServerSpan {
    pub fn start(req: &ServiceRequest, request_id: &str) -> Self {
        // The route's template (`/interact/{version}/...`), never the path with its ids.
        let route = req.match_pattern();
        let method = req.method().as_str();
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_string(),
        };
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            otel.name = %name,
            otel.kind = "server",
            http.request.method = %method,
            http.route = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            ixgw.surface = tracing::field::Empty,
            ixgw.operation = tracing::field::Empty,
            ixgw.soap_version = tracing::field::Empty,
            ixgw.tenant = tracing::field::Empty,
            ixgw.fault = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        if let Some(route) = &route {
            span.record("http.route", route.as_str());
        }
        let parent = TraceContextPropagator::new().extract(&Incoming(req.headers()));
        let _ = span.set_parent(parent);
        let context = span.context();
        let mut answer = Outgoing::default();
        TraceContextPropagator::new().inject_context(&context, &mut answer);
        let trace_id = context.span().span_context().trace_id().to_string();
        let traceparent = answer.traceparent.and_then(|v| HeaderValue::from_str(&v).ok());
        Self { span, trace_id, traceparent }
    }

    /// Records what the answer was (status, the face's label; a 5xx is an error) and puts the
    /// span's `traceparent` on it.
    pub fn finish<B>(&self, res: &mut ServiceResponse<B>, label: &RequestLabel) {
        let status = res.status().as_u16();
        let span = &self.span;
        span.record("http.response.status_code", i64::from(status));
        span.record("ixgw.surface", label.surface);
        span.record("ixgw.operation", label.operation.as_str());
        if let Some(version) = label.soap_version {
            span.record("ixgw.soap_version", version);
        }
        if let Some(tenant) = &label.tenant {
            span.record("ixgw.tenant", tenant.as_str());
        }
        if let Some(fault) = &label.fault {
            span.record("ixgw.fault", fault.as_str());
        }
        if status >= 500 {
            span.record("error.type", status.to_string().as_str());
            span.record("otel.status_code", "error");
        }
        if let Some(traceparent) = &self.traceparent {
            res.headers_mut().insert(TRACEPARENT, traceparent.clone());
        }
    }

    /// Marks the span failed: the request ended in an error instead of an answer.
    pub fn failed(&self) {
        self.span.record("error.type", "internal");
        self.span.record("otel.status_code", "error");
    }
}

/// The current span's place in its trace, to continue it from a task that outlives the span (a
/// fallback's copy): `None` unless traces are exported.
pub fn current_span_context() -> Option<opentelemetry::trace::SpanContext> {
    if !exporting() {
        return None;
    }
    let context = tracing::Span::current().context();
    Some(context.span().span_context().clone()).filter(|c| c.is_valid())
}

/// A span of a background task, continuing the trace of `from` (see [`current_span_context`]).
pub fn continue_trace(span: &tracing::Span, from: Option<opentelemetry::trace::SpanContext>) {
    if let Some(from) = from {
        let _ = span.set_parent(Context::new().with_remote_span_context(from));
    }
}

/// A request's headers, for the propagator to read.
struct Incoming<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Incoming<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The trace context headers the propagator writes.
#[derive(Default)]
struct Outgoing {
    traceparent: Option<String>,
}

impl Injector for Outgoing {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.traceparent = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    use std::sync::atomic::AtomicUsize;

    /// An exporter that takes `wait` per batch and refuses batches while `refuse` is set.
    #[derive(Debug, Clone, Default)]
    struct Collector {
        taken: Arc<AtomicUsize>,
        refuse: Arc<AtomicBool>,
        wait: Duration,
    }

    impl SpanExporter for Collector {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            std::thread::sleep(self.wait);
            if self.refuse.load(Ordering::Relaxed) {
                return Err(OTelSdkError::InternalFailure("connection refused".into()));
            }
            self.taken.fetch_add(batch.len(), Ordering::Relaxed);
            Ok(())
        }
    }

    fn span(sampled: bool) -> SpanData {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(7u128),
                SpanId::from(9u64),
                flags,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /x".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn spans_are_sent_in_batches_and_flushed_on_shutdown() {
        let collector = Collector::default();
        let counters = Arc::new(Counters::default());
        let processor = QueueProcessor::start(collector.clone(), 2000, counters.clone()).unwrap();
        for _ in 0..1200 {
            processor.on_end(span(true));
        }
        processor.on_end(span(false));
        processor.force_flush().unwrap();
        assert_eq!(collector.taken.load(Ordering::Relaxed), 1200, "sampled spans only");
        processor.on_end(span(true));
        processor.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(counters.exported.load(Ordering::Relaxed), 1201);
        assert_eq!(counters.dropped_queue_full.load(Ordering::Relaxed), 0);
        assert!(processor.force_flush().is_err(), "stopped");
    }

    #[test]
    fn a_slow_or_refusing_collector_costs_spans_never_waits() {
        let collector = Collector { wait: Duration::from_millis(300), ..Default::default() };
        collector.refuse.store(true, Ordering::Relaxed);
        let counters = Arc::new(Counters::default());
        let processor = QueueProcessor::start(collector.clone(), 10, counters.clone()).unwrap();
        let started = Instant::now();
        for _ in 0..1000 {
            processor.on_end(span(true));
        }
        // 1000 spans into a queue of 10 while the collector takes 300 ms a batch: no waiting.
        assert!(started.elapsed() < Duration::from_millis(250), "{:?}", started.elapsed());
        let dropped = counters.dropped_queue_full.load(Ordering::Relaxed);
        assert!(dropped >= 1000 - 10 - BATCH as u64, "{dropped}");
        processor.force_flush().unwrap();
        let failed = counters.dropped_export_failed.load(Ordering::Relaxed);
        assert_eq!(dropped + failed, 1000, "every span is counted once");
        assert_eq!(collector.taken.load(Ordering::Relaxed), 0);
        processor.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
    }
}
