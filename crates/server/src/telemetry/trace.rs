//! Traces: OpenTelemetry spans exported over OTLP/HTTP (protobuf) when `[telemetry]
//! otlp_endpoint` is set (`docs/OBSERVABILITY.md`). The spans of every request, the server's and
//! its store calls', are made with the SDK directly ([`ServerSpan`], [`StoreCalls`]); the rarer
//! ones (the key check, SOAP's reader and writer, the vendor's client, `ixgw pull`) are `tracing`
//! spans that the OpenTelemetry layer makes into SDK spans.
//!
//! Finished spans go into a bounded queue and a thread of their own sends them in batches, so
//! no request ever waits for the collector: when it is down or slow, spans that find the queue full
//! are dropped, and the batches it refuses are dropped too, each counted
//! (`ixgw_trace_spans_total{outcome}` in `/metrics`). Memory stays within the queue and one batch.
//!
//! Without an endpoint nothing of this is installed: no OpenTelemetry layer, no span per request,
//! and [`exporting`] is false (the request log's one check).

use crate::settings::TelemetrySettings;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use ixgw_web::{RequestLabel, Route, Verb};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor, Tracer};
use opentelemetry_sdk::Resource;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans sent in one request to the collector at most.
const BATCH: usize = 512;
/// How long a finished span waits at most before its batch is sent.
const EVERY: Duration = Duration::from_secs(1);

static EXPORTING: AtomicBool = AtomicBool::new(false);
/// The tracer of the server spans, which are made with the SDK directly (see [`ServerSpan`]).
static TRACER: OnceLock<Tracer> = OnceLock::new();
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

/// The spans of store calls (`ixgw_store::spans`), made with the SDK directly: a child of the
/// current `tracing` span of the gateway's (the key check; `ixgw pull`, the cutover's background
/// copies), else of the request's server span (the context attached to the request's future);
/// none outside both.
struct StoreCalls(Tracer);

/// A store call's SDK span.
struct StoreCall(Span);

impl ixgw_store::spans::CallTracer for StoreCalls {
    fn start(&self, operation: &'static str, system: &'static str) -> Option<Box<dyn ixgw_store::spans::CallSpan>> {
        use opentelemetry::trace::{SpanKind, Tracer as _};
        // A `tracing` span of the gateway's inside the request (the key check) is the nearer
        // parent; a request's store calls mostly have none, and that costs a look at the
        // subscriber's stack.
        let in_tracing = tracing::Span::current();
        let from_tracing = (!in_tracing.is_none())
            .then(|| in_tracing.context())
            .filter(|context| context.span().span_context().is_valid());
        let parent = match from_tracing {
            Some(context) => context,
            None => {
                let current = Context::current();
                if !current.has_active_span() {
                    return None;
                }
                current
            }
        };
        let builder = self
            .0
            .span_builder(Cow::Borrowed(operation))
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("db.system.name", system), KeyValue::new("db.operation.name", operation)]);
        Some(Box::new(StoreCall(self.0.build_with_context(builder, &parent))))
    }
}

impl ixgw_store::spans::CallSpan for StoreCall {
    fn end(self: Box<Self>, error: Option<&'static str>) {
        use opentelemetry::trace::Span as _;
        let mut span = self.0;
        if let Some(error) = error {
            span.set_attribute(KeyValue::new("error.type", error));
            span.set_status(opentelemetry::trace::Status::error(""));
        }
        span.end();
    }
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
    let service_name =
        std::env::var("OTEL_SERVICE_NAME").ok().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "ixgw".into());
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    // As the OTLP exporters read them: an export's bound in ms, and headers to send with each.
    let timeout =
        std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT").ok().and_then(|ms| ms.trim().parse().ok()).unwrap_or(10_000);
    let headers = super::otlp::parse_headers(&std::env::var("OTEL_EXPORTER_OTLP_HEADERS").unwrap_or_default())?;
    let exporter =
        super::otlp::HttpExporter::new(traces_url(endpoint), Duration::from_millis(timeout), headers, &resource)?;
    let counters = COUNTERS.get_or_init(Arc::default).clone();
    let processor = QueueProcessor::start(exporter, settings.queue, counters)?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio))))
        .with_resource(resource)
        .build();
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let tracer = provider.tracer("ixgw");
    let _ = TRACER.set(tracer.clone());
    ixgw_store::spans::install(Box::new(StoreCalls(tracer.clone())));
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(Some((Export { provider }, tracer)))
}

/// The SDK's batch processor with a bounded queue whose drops are counted (the SDK's own counts
/// them only into a log line at shutdown). A span's end takes a lock and pushes; the export thread
/// is woken only when a batch is full (or a flush or the stop asks): it is not woken per span,
/// which cost a futex wake and two context switches per span.
#[derive(Debug)]
struct QueueProcessor {
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The export thread waits on it.
    wake: Condvar,
    /// Flushes and the stop wait on it.
    done: Condvar,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<SpanData>,
    capacity: usize,
    /// Flushes asked for and done, in order.
    flushes_asked: u64,
    flushes_done: u64,
    stop: bool,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl QueueProcessor {
    fn start<E: SpanExporter + 'static>(exporter: E, capacity: usize, counters: Arc<Counters>) -> Result<Self, String> {
        let state = State { capacity: capacity.max(1), ..State::default() };
        let shared = Arc::new(Shared { state: Mutex::new(state), wake: Condvar::new(), done: Condvar::new() });
        let (worker_shared, worker_counters) = (shared.clone(), counters.clone());
        let worker = std::thread::Builder::new()
            .name("ixgw-trace-export".into())
            .spawn(move || send_batches(exporter, &worker_shared, &worker_counters))
            .map_err(|e| format!("cannot start the trace exporter's thread: {e}"))?;
        Ok(Self { shared, counters, worker: Mutex::new(Some(worker)) })
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let mut state = self.shared.lock();
        if state.stop || state.queue.len() >= state.capacity {
            drop(state);
            self.counters.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.queue.push_back(span);
        let full = state.queue.len() == BATCH.min(state.capacity);
        drop(state);
        if full {
            self.shared.wake.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let timeout = Duration::from_secs(30);
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        if state.stop {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.flushes_asked += 1;
        let ticket = state.flushes_asked;
        self.shared.wake.notify_one();
        while state.flushes_done < ticket && !state.stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(timeout));
            }
            state = self.shared.done.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        if state.stop {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        state.stop = true;
        self.shared.wake.notify_one();
        while !state.stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(timeout));
            }
            state = self.shared.done.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        drop(state);
        if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = worker.join();
        }
        Ok(())
    }
}

/// The export thread: batches of up to [`BATCH`] spans, sent when full or [`EVERY`] after it last
/// looked, one at a time, on a runtime of its own (the exporter's HTTP client is asynchronous).
/// A flush or the stop sends everything queued first.
fn send_batches<E: SpanExporter>(exporter: E, shared: &Shared, counters: &Counters) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let mut failures = Failures::default();
    loop {
        let (batch, flushing, stopping) = {
            let deadline = Instant::now() + EVERY;
            let mut state = shared.lock();
            while state.queue.len() < BATCH.min(state.capacity)
                && state.flushes_asked == state.flushes_done
                && !state.stop
            {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = shared.wake.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
            }
            let n = state.queue.len().min(BATCH);
            let batch: Vec<SpanData> = state.queue.drain(..n).collect();
            (batch, state.flushes_asked, state.stop)
        };
        if !batch.is_empty() {
            let spans = batch.len() as u64;
            let sent = match &runtime {
                Ok(runtime) => runtime.block_on(exporter.export(batch)),
                Err(e) => Err(OTelSdkError::InternalFailure(format!("the export thread has no runtime: {e}"))),
            };
            match sent {
                Ok(()) => {
                    counters.exported.fetch_add(spans, Ordering::Relaxed);
                    failures.ended();
                }
                Err(e) => {
                    counters.dropped_export_failed.fetch_add(spans, Ordering::Relaxed);
                    failures.failed(&e);
                }
            }
        }
        let mut state = shared.lock();
        if state.queue.is_empty() {
            if state.flushes_done < flushing {
                state.flushes_done = flushing;
                shared.done.notify_all();
            }
            if stopping {
                drop(state);
                let _ = exporter.shutdown();
                let mut state = shared.lock();
                state.stopped = true;
                shared.done.notify_all();
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
///
/// It is an SDK span, not a `tracing` one: the request log runs the request with its context
/// attached (`opentelemetry::Context::attach`), so that the store's calls ([`StoreCalls`]) and the
/// `tracing` spans of the faces and the core (the key check, the SOAP reader and writer, the
/// vendor) find it as their parent. A `tracing` span in its place went through every layer of the
/// subscriber at its start, at each poll of the request and at its end: a third of what tracing
/// cost a request.
pub struct ServerSpan {
    /// The client's context with this span in it: the parent of the request's spans.
    pub context: Context,
    /// This span's `traceparent` (`00-{trace id}-{span id}-{flags}`), all zeros if it is invalid.
    traceparent: [u8; TRACEPARENT_LEN],
}

/// `traceparent`, the W3C header of the trace context.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACEPARENT_LEN: usize = 55;

/// The attributes a server span may have: its vector is made this long at the start, so that
/// those of the answer never make it grow.
const SERVER_ATTRIBUTES: usize = 10;

impl ServerSpan {
    /// The server span of `req`, named when it finishes (by its method and route).
    /// `None` before the exporter started.
    pub fn start(req: &ServiceRequest, request_id: &str) -> Option<Self> {
        use opentelemetry::trace::{SpanKind, Tracer as _};
        let tracer = TRACER.get()?;
        // Without a `traceparent` there is nothing to extract (the propagator would parse the
        // names of the headers it looks for on every request).
        let parent = if req.headers().contains_key(TRACEPARENT) {
            TraceContextPropagator::new().extract(&Incoming(req.headers()))
        } else {
            Context::new()
        };
        let method: opentelemetry::StringValue = match *req.method() {
            Method::GET => "GET".into(),
            Method::POST => "POST".into(),
            Method::PUT => "PUT".into(),
            Method::DELETE => "DELETE".into(),
            Method::HEAD => "HEAD".into(),
            ref other => other.as_str().to_string().into(),
        };
        let mut attributes = Vec::with_capacity(SERVER_ATTRIBUTES);
        attributes.push(KeyValue::new("http.request.method", method));
        attributes.push(KeyValue::new("request_id", request_id.to_string()));
        // A vector's own iterator collects back into it: the capacity stays.
        let builder =
            tracer.span_builder(Cow::Borrowed("request")).with_kind(SpanKind::Server).with_attributes(attributes);
        let span = tracer.build_with_context(builder, &parent);
        let context = parent.with_span(span);
        let traceparent = traceparent(context.span().span_context());
        Some(Self { context, traceparent })
    }

    /// 32 hex digits, for the request's log line; empty if the span is invalid.
    pub fn trace_id(&self) -> &str {
        if self.traceparent[0] == 0 {
            return "";
        }
        std::str::from_utf8(&self.traceparent[3..35]).unwrap_or("")
    }

    /// Records what the answer was (the route, status, the face's label; a 5xx is an error) and
    /// puts the span's `traceparent` on it.
    pub fn finish<B>(&self, res: &mut ServiceResponse<B>, label: RequestLabel) {
        let status = res.status().as_u16();
        let span = self.context.span();
        // The route's template (`/interact/{version}/...`), never the path with its ids.
        let method = res.request().method().as_str();
        let mut attributes = Vec::with_capacity(SERVER_ATTRIBUTES - 2);
        if let Some(route) = labelled_route(&label, method, res.request().path()) {
            span.update_name(Cow::Borrowed(route.name.as_str()));
            attributes.push(KeyValue::new("http.route", route.template.as_str()));
        } else if let Some(route) = res.request().match_pattern() {
            // Asking actix runs its routing again: only for what no face labels with a route.
            span.update_name(format!("{method} {route}"));
            attributes.push(KeyValue::new("http.route", route));
        } else {
            span.update_name(method.to_string());
        }
        attributes.push(KeyValue::new("http.response.status_code", i64::from(status)));
        attributes.push(KeyValue::new("ixgw.surface", label.surface));
        attributes.push(KeyValue::new("ixgw.operation", label.operation));
        if let Some(version) = label.soap_version {
            attributes.push(KeyValue::new("ixgw.soap_version", version));
        }
        if let Some(tenant) = label.tenant {
            attributes.push(KeyValue::new("ixgw.tenant", tenant));
        }
        if let Some(fault) = label.fault {
            attributes.push(KeyValue::new("ixgw.fault", fault));
        }
        if status >= 500 {
            attributes.push(KeyValue::new("error.type", status.to_string()));
            span.set_status(opentelemetry::trace::Status::error(""));
        }
        span.set_attributes(attributes);
        span.end();
        if self.traceparent[0] != 0 {
            if let Ok(value) = HeaderValue::from_bytes(&self.traceparent) {
                res.headers_mut().insert(TRACEPARENT, value);
            }
        }
    }

    /// Marks the span failed: the request ended in an error instead of an answer.
    pub fn failed(&self) {
        let span = self.context.span();
        span.set_attribute(KeyValue::new("error.type", "internal"));
        span.set_status(opentelemetry::trace::Status::error(""));
        span.end();
    }
}

/// `span_context` as a W3C `traceparent`, written without the formatting machinery (this is per
/// request); all zeros for an invalid context.
fn traceparent(span_context: &opentelemetry::trace::SpanContext) -> [u8; TRACEPARENT_LEN] {
    fn hex(out: &mut [u8], bytes: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 15)];
        }
    }
    let mut out = [0; TRACEPARENT_LEN];
    if span_context.is_valid() {
        out[..3].copy_from_slice(b"00-");
        hex(&mut out[3..35], &span_context.trace_id().to_bytes());
        out[35] = b'-';
        hex(&mut out[36..52], &span_context.span_id().to_bytes());
        out[52] = b'-';
        hex(&mut out[53..], &[span_context.trace_flags().to_u8()]);
    }
    out
}

/// The route template of an operation a face labelled, from the faces' route tables (made once):
/// telling a request's pattern from actix runs its routing again, regular expressions and all.
/// `None` for what the tables do not name, and for a path outside the template's literal start
/// (Context Services is also served under its base path).
fn labelled_route(label: &RequestLabel, method: &str, path: &str) -> Option<&'static LabelledRoute> {
    // A few surfaces of a dozen operations at most: a scan is quicker than hashing the names.
    static ROUTES: OnceLock<Vec<(&'static str, Vec<LabelledRoute>)>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let labelled = |route: &Route, template: String| LabelledRoute {
            operation: route.operation,
            name: format!("{} {template}", route.method.as_str()),
            literal: template.find('{').unwrap_or(template.len()),
            template,
        };
        let interact = ixgw_rest::interact::ROUTES
            .iter()
            .map(|route| labelled(route, format!("{}{}", ixgw_rest::interact::BASE, route.path)));
        let context = ixgw_rest::context::ROUTES.iter().map(|route| labelled(route, route.path.to_string()));
        let ingest = ixgw_rest::ingest::ROUTES.iter().map(|route| labelled(route, route.path.to_string()));
        let soap = ixgw_soap::request::Operation::ALL.iter().map(|operation| {
            let route = Route::new(Verb::Post, ixgw_soap::wsdl::ENDPOINT_PATH, operation.name());
            labelled(&route, route.path.to_string())
        });
        vec![
            (ixgw_rest::interact::SURFACE, interact.collect()),
            (ixgw_rest::context::SURFACE, context.collect()),
            (ixgw_rest::ingest::SURFACE, ingest.collect()),
            (ixgw_soap::SURFACE, soap.collect()),
        ]
    });
    let (_, surface) = routes.iter().find(|(surface, _)| *surface == label.surface)?;
    let route = surface.iter().find(|route| route.operation == label.operation)?;
    (path.starts_with(&route.template[..route.literal])
        && route.name.starts_with(method)
        && route.name.as_bytes().get(method.len()) == Some(&b' '))
    .then_some(route)
}

struct LabelledRoute {
    operation: &'static str,
    /// `http.route`'s value.
    template: String,
    /// The span's name: the method and the template.
    name: String,
    /// The length of the template's literal start (up to its first `{`).
    literal: usize,
}

/// The current span's place in its trace, to continue it from a task that outlives the span (a
/// fallback's copy): `None` unless traces are exported.
pub fn current_span_context() -> Option<opentelemetry::trace::SpanContext> {
    if !exporting() {
        return None;
    }
    // The current `tracing` span's, else the server span's (attached while the request runs).
    let span_context = tracing::Span::current().context().span().span_context().clone();
    let span_context =
        if span_context.is_valid() { span_context } else { Context::current().span().span_context().clone() };
    Some(span_context).filter(|c| c.is_valid())
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
    fn the_traceparent_is_the_w3c_header_of_the_span() {
        let context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let written = traceparent(&context);
        assert_eq!(&written, b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let unsampled =
            SpanContext::new(context.trace_id(), context.span_id(), TraceFlags::default(), false, TraceState::NONE);
        assert!(traceparent(&unsampled).ends_with(b"-00"));
        assert_eq!(traceparent(&SpanContext::empty_context()), [0; TRACEPARENT_LEN], "none for an invalid span");
    }

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
    }
}
