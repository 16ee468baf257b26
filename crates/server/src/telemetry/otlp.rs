//! OTLP/HTTP with protobuf bodies: finished spans written straight into an
//! `ExportTraceServiceRequest` and posted to the collector.
//!
//! The protobuf is written here, field by field from the SDK's `SpanData`, because the OTLP
//! crate's way — each span converted to generated message structs (every attribute's key and value
//! copied into new strings), grouped by resource and scope, then encoded — cost ≈ 10 000
//! instructions a span on the export thread, which shares the cores with the requests: half of
//! what tracing cost a full flow. The messages and field numbers are those of
//! `opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto`; a test decodes what
//! this writes with the generated messages and compares it with the OTLP crate's own conversion.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Posts batches of spans to one collector URL.
#[derive(Debug)]
pub struct HttpExporter {
    client: reqwest::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    /// The `Resource` message (service name and version), written once.
    resource: Vec<u8>,
}

impl HttpExporter {
    /// An exporter to `url` (the `/v1/traces` URL), each export bounded by `timeout`, with
    /// `headers` on every export (`OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn new(
        url: String,
        timeout: Duration,
        headers: reqwest::header::HeaderMap,
        resource: &Resource,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("telemetry.otlp_endpoint: cannot prepare the exporter: {e}"))?;
        Ok(Self { client, url, headers, resource: resource_message(resource) })
    }
}

impl SpanExporter for HttpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let body = export_request(&self.resource, &batch);
        let answer = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(|e| OTelSdkError::InternalFailure(format!("the collector could not be reached: {e}")))?;
        let status = answer.status();
        // The collector's answer (a partial success, if any) is read and dropped.
        let _ = answer.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!("the collector answered {status}")))
        }
    }
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `name=value` pairs separated by commas, values percent-encoded.
pub fn parse_headers(text: &str) -> Result<reqwest::header::HeaderMap, String> {
    let mut headers = reqwest::header::HeaderMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) =
            pair.split_once('=').ok_or_else(|| format!("OTEL_EXPORTER_OTLP_HEADERS: `{pair}` is not name=value"))?;
        let value = percent_encoding::percent_decode_str(value.trim()).decode_utf8_lossy();
        let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("OTEL_EXPORTER_OTLP_HEADERS: `{}` is not a header name", name.trim()))?;
        let value = reqwest::header::HeaderValue::from_str(&value)
            .map_err(|_| format!("OTEL_EXPORTER_OTLP_HEADERS: the value of `{name}` is not a header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

// --- protobuf -------------------------------------------------------------------------------------

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A string field, left out when empty (proto3's default).
fn string_field(out: &mut Vec<u8>, field: u32, text: &str) {
    if !text.is_empty() {
        bytes_field(out, field, text.as_bytes());
    }
}

/// A varint field, left out when zero.
fn varint_field(out: &mut Vec<u8>, field: u32, n: u64) {
    if n != 0 {
        key(out, field, VARINT);
        varint(out, n);
    }
}

fn fixed64_field(out: &mut Vec<u8>, field: u32, n: u64) {
    if n != 0 {
        key(out, field, FIXED64);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

fn fixed32_field(out: &mut Vec<u8>, field: u32, n: u32) {
    if n != 0 {
        key(out, field, FIXED32);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// A message field written in place: `write` appends the message, then its length goes in front
/// of it. One byte is set aside for the length, which most messages (attributes) need; a longer
/// message moves over by the bytes its length takes more. No buffer of its own per message.
fn message_field(out: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    key(out, field, LEN);
    let at = out.len();
    out.push(0);
    write(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut length = Vec::with_capacity(3);
        varint(&mut length, len as u64);
        out.splice(at..at + 1, length);
    }
}

/// `ExportTraceServiceRequest` of `spans`: one `ResourceSpans` (`resource`), a `ScopeSpans` for each
/// run of spans of the same instrumentation scope.
pub fn export_request(resource: &[u8], spans: &[SpanData]) -> Vec<u8> {
    let mut request = Vec::with_capacity(400 * spans.len() + 64);
    message_field(&mut request, 1, |resource_spans| {
        bytes_field(resource_spans, 1, resource);
        let mut rest = spans;
        while let Some(first) = rest.first() {
            let scope = &first.instrumentation_scope;
            let run = rest.iter().take_while(|s| &s.instrumentation_scope == scope).count();
            message_field(resource_spans, 2, |scope_spans| {
                message_field(scope_spans, 1, |out| {
                    string_field(out, 1, scope.name());
                    string_field(out, 2, scope.version().unwrap_or(""));
                    for attribute in scope.attributes() {
                        message_field(out, 3, |out| key_value(out, attribute));
                    }
                });
                for span in &rest[..run] {
                    message_field(scope_spans, 2, |out| write_span(out, span));
                }
                string_field(scope_spans, 3, scope.schema_url().unwrap_or(""));
            });
            rest = &rest[run..];
        }
    });
    request
}

/// The `Resource` message of `resource`.
pub fn resource_message(resource: &Resource) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in resource.iter() {
        let attribute = KeyValue::new(k.clone(), v.clone());
        message_field(&mut out, 1, |out| key_value(out, &attribute));
    }
    out
}

fn write_span(out: &mut Vec<u8>, span: &SpanData) {
    let context = &span.span_context;
    bytes_field(out, 1, &context.trace_id().to_bytes());
    bytes_field(out, 2, &context.span_id().to_bytes());
    if context.trace_state() != &opentelemetry::trace::TraceState::NONE {
        string_field(out, 3, &context.trace_state().header());
    }
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        bytes_field(out, 4, &span.parent_span_id.to_bytes());
    }
    string_field(out, 5, &span.name);
    varint_field(out, 6, kind(&span.span_kind));
    fixed64_field(out, 7, nanos(span.start_time));
    fixed64_field(out, 8, nanos(span.end_time));
    for attribute in &span.attributes {
        message_field(out, 9, |out| key_value(out, attribute));
    }
    varint_field(out, 10, u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        message_field(out, 11, |out| {
            fixed64_field(out, 1, nanos(event.timestamp));
            string_field(out, 2, &event.name);
            for attribute in &event.attributes {
                message_field(out, 3, |out| key_value(out, attribute));
            }
            varint_field(out, 4, u64::from(event.dropped_attributes_count));
        });
    }
    varint_field(out, 12, u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        message_field(out, 13, |out| {
            let linked = &link.span_context;
            bytes_field(out, 1, &linked.trace_id().to_bytes());
            bytes_field(out, 2, &linked.span_id().to_bytes());
            string_field(out, 3, &linked.trace_state().header());
            for attribute in &link.attributes {
                message_field(out, 4, |out| key_value(out, attribute));
            }
            varint_field(out, 5, u64::from(link.dropped_attributes_count));
            fixed32_field(out, 6, flags(linked.is_remote(), linked.trace_flags().to_u8()));
        });
    }
    varint_field(out, 14, u64::from(span.links.dropped_count));
    message_field(out, 15, |out| {
        let (code, message) = match &span.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, description.as_ref()),
        };
        string_field(out, 2, message);
        varint_field(out, 3, code);
    });
    fixed32_field(out, 16, flags(span.parent_span_is_remote, context.trace_flags().to_u8()));
}

/// `SpanFlags`: the W3C trace flags, and whether the parent is remote (with the bit saying that
/// this is known).
fn flags(remote: bool, trace_flags: u8) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(trace_flags) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A `KeyValue` message.
fn key_value(out: &mut Vec<u8>, attribute: &KeyValue) {
    string_field(out, 1, attribute.key.as_str());
    message_field(out, 2, |out| any_value(out, &attribute.value));
}

/// An `AnyValue` message.
fn any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(text) => bytes_field(out, 1, text.as_str().as_bytes()),
        Value::Bool(b) => {
            key(out, 2, VARINT);
            varint(out, u64::from(*b));
        }
        Value::I64(n) => {
            key(out, 3, VARINT);
            varint(out, *n as u64);
        }
        Value::F64(x) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&x.to_le_bytes());
        }
        Value::Array(array) => {
            let values: Vec<Value> = match array {
                Array::Bool(v) => v.iter().map(|&b| Value::Bool(b)).collect(),
                Array::I64(v) => v.iter().map(|&n| Value::I64(n)).collect(),
                Array::F64(v) => v.iter().map(|&x| Value::F64(x)).collect(),
                Array::String(v) => v.iter().map(|s| Value::String(s.clone())).collect(),
                _ => Vec::new(),
            };
            message_field(out, 5, |out| {
                for value in &values {
                    message_field(out, 1, |out| any_value(out, value));
                }
            });
        }
        _ => bytes_field(out, 1, value.as_str().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message;

    fn span(n: u64, scope: &InstrumentationScope, status: Status, remote: bool) -> SpanData {
        let state = TraceState::from_key_value([("vendor", "x1")]).unwrap();
        let mut events = SpanEvents::default();
        events.events.push(opentelemetry::trace::Event::new(
            "retry",
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_123),
            vec![KeyValue::new("attempt", 2)],
            1,
        ));
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736u128 + u128::from(n)),
                SpanId::from(0x00f067aa0ba902b7u64 + n),
                TraceFlags::SAMPLED,
                false,
                state,
            ),
            parent_span_id: if n == 0 { SpanId::INVALID } else { SpanId::from(n) },
            parent_span_is_remote: remote,
            span_kind: [SpanKind::Server, SpanKind::Internal, SpanKind::Client][n as usize % 3].clone(),
            name: format!("GET /interact/{{version}}/{n}").into(),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000 + n),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_500_000 + n),
            attributes: vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 200 + n as i64),
                KeyValue::new("ixgw.ratio", 0.5),
                KeyValue::new("ixgw.cached", true),
                KeyValue::new("ixgw.empty", ""),
                KeyValue::new("ixgw.list", Value::Array(Array::I64(vec![1, -2]))),
                KeyValue::new("ixgw.names", Value::Array(Array::String(vec!["a".into(), "é".into()]))),
            ],
            dropped_attributes_count: n as u32,
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: scope.clone(),
        }
    }

    #[test]
    fn what_is_written_decodes_as_the_otlp_crates_own_conversion() {
        let resource = Resource::builder()
            .with_service_name("ixgw")
            .with_attribute(KeyValue::new("service.version", "0.1.0"))
            .build();
        let ixgw = InstrumentationScope::builder("ixgw").with_version("0.1").build();
        let other = InstrumentationScope::builder("other").build();
        let spans = vec![
            span(0, &ixgw, Status::Unset, true),
            span(1, &ixgw, Status::error("upstream 503"), false),
            span(2, &ixgw, Status::Ok, false),
            span(3, &other, Status::Unset, false),
        ];
        let ours =
            ExportTraceServiceRequest::decode(&export_request(&resource_message(&resource), &spans)[..]).unwrap();
        let theirs = group_spans_by_resource_and_scope(spans, &ResourceAttributesWithSchema::from(&resource));
        assert_eq!(ours.resource_spans.len(), 1);
        let (ours, theirs): (&ResourceSpans, &ResourceSpans) = (&ours.resource_spans[0], &theirs[0]);
        let sorted = |r: &ResourceSpans| {
            let mut attributes = r.resource.clone().unwrap().attributes;
            attributes.sort_by(|a, b| a.key.cmp(&b.key));
            attributes
        };
        assert_eq!(sorted(ours), sorted(theirs), "resource");
        let mut their_scopes = theirs.scope_spans.clone();
        their_scopes.sort_by(|a, b| a.scope.as_ref().unwrap().name.cmp(&b.scope.as_ref().unwrap().name));
        assert_eq!(ours.scope_spans, their_scopes);
        assert_eq!(ours.scope_spans[0].spans.len(), 3);
    }

    #[test]
    fn exporter_headers_are_read_as_the_specification_writes_them() {
        let headers = parse_headers("api-key=secret%20one, x-team = gateway ,").unwrap();
        assert_eq!(headers["api-key"], "secret one");
        assert_eq!(headers["x-team"], "gateway");
        assert!(parse_headers("no-equals-sign").is_err());
        assert!(parse_headers("bad name=x").is_err());
        let loose = parse_headers("a=100%,b=%4").unwrap();
        assert_eq!((loose["a"].to_str().unwrap(), loose["b"].to_str().unwrap()), ("100%", "%4"));
    }
}
