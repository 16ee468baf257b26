//! The request's log line, written directly: the same line `tracing`'s formatter wrote (text or
//! JSON, the same fields in the same order), without its per-event machinery — no field visitor,
//! no `fmt::Arguments` per field, no per-event allocation. It cost ≈ 15 000 instructions a request
//! through the formatter, more than a tenth of a full flow's.
//!
//! The line goes to the log's destination in one write, unless the log's filter leaves `info`
//! of the request log out (`[log] level`).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The fields of one request's line.
pub struct Fields<'a> {
    pub request_id: &'a str,
    /// Empty unless traces are exported (and then written empty).
    pub trace_id: &'a str,
    pub method: &'a str,
    pub surface: &'a str,
    pub operation: &'a str,
    pub soap_version: &'a str,
    pub tenant: &'a str,
    pub status: u16,
    pub reason: Option<&'a str>,
    pub latency_micros: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text { ansi: bool },
    Json,
}

/// Writes one whole line where the log goes.
pub(super) type WriteLine = Box<dyn Fn(&[u8]) + Send + Sync>;

struct Destination {
    format: Format,
    write: WriteLine,
}

static DESTINATION: OnceLock<Destination> = OnceLock::new();

/// Where request lines go from now on (once per process, like the subscriber: later calls are
/// ignored). `write` gets whole lines.
pub(super) fn install(json: bool, ansi: bool, write: WriteLine) {
    let format = if json { Format::Json } else { Format::Text { ansi } };
    let _ = DESTINATION.set(Destination { format, write });
}

/// Writes the line of `fields`, if a log is installed and its filter lets the request log's
/// `info` through.
pub fn write(fields: &Fields<'_>) {
    let Some(destination) = DESTINATION.get() else { return };
    if !tracing::enabled!(target: super::REQUEST_LOG, tracing::Level::INFO) {
        return;
    }
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(512));
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        render(line, destination.format, SystemTime::now(), fields);
        (destination.write)(line);
    });
}

/// A field's value and how each format writes it.
enum Value<'a> {
    /// Text written bare in the text format (a `%` field of the formatter), quoted in JSON.
    Bare(&'a str),
    /// Text quoted in both formats.
    Quoted(&'a str),
    Number(u64),
    /// Microseconds, written as milliseconds with three decimals.
    Millis(u64),
}

fn render(out: &mut Vec<u8>, format: Format, now: SystemTime, f: &Fields<'_>) {
    let fields = [
        ("request_id", Some(Value::Bare(f.request_id))),
        ("trace_id", Some(Value::Quoted(f.trace_id))),
        ("method", Some(Value::Bare(f.method))),
        ("surface", Some(Value::Quoted(f.surface))),
        ("operation", Some(Value::Bare(f.operation))),
        ("soap_version", Some(Value::Quoted(f.soap_version))),
        ("tenant", Some(Value::Quoted(f.tenant))),
        ("status", Some(Value::Number(u64::from(f.status)))),
        ("reason", f.reason.map(Value::Quoted)),
        ("latency_ms", Some(Value::Millis(f.latency_micros))),
    ];
    let fields = fields.iter().filter_map(|(name, value)| Some((*name, value.as_ref()?)));
    match format {
        Format::Json => {
            out.extend_from_slice(b"{\"timestamp\":\"");
            timestamp(out, now);
            out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\"");
            for (name, value) in fields {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                match value {
                    Value::Bare(text) | Value::Quoted(text) => quoted(out, text),
                    Value::Number(n) => decimal(out, *n),
                    Value::Millis(micros) => millis(out, *micros),
                }
            }
            out.extend_from_slice(b"}\n");
        }
        Format::Text { ansi } => {
            if ansi {
                out.extend_from_slice(b"\x1b[2m");
            }
            timestamp(out, now);
            out.extend_from_slice(if ansi { b"\x1b[0m \x1b[32m INFO\x1b[0m request" } else { b"  INFO request" });
            for (name, value) in fields {
                out.push(b' ');
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                match value {
                    Value::Bare(text) => bare(out, text),
                    Value::Quoted(text) => quoted(out, text),
                    Value::Number(n) => decimal(out, *n),
                    Value::Millis(micros) => millis(out, *micros),
                }
            }
            out.push(b'\n');
        }
    }
}

/// `µs` as milliseconds with three decimals (`0.381`, `12.000`).
fn millis(out: &mut Vec<u8>, micros: u64) {
    decimal(out, micros / 1000);
    let fraction = micros % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ]);
}

fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A value written bare, as the formatter wrote `%` fields in the text format; one that could be
/// misread (empty, a space, a quote, a control character) is quoted instead.
fn bare(out: &mut Vec<u8>, value: &str) {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'=') {
        out.extend_from_slice(value.as_bytes());
    } else {
        quoted(out, value);
    }
}

fn quoted(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    escaped(out, value);
    out.push(b'"');
}

/// `value` inside double quotes, the same in JSON and in the text format: `"` and `\` escaped,
/// control characters as `\n`, `\r`, `\t` or `\u00XX`.
fn escaped(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = value.as_bytes();
    // Most values need nothing escaped; a fold over every byte (no early exit) is vectorised.
    if !bytes.iter().fold(false, |any, &b| any | (b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => &[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// RFC 3339 in UTC with microseconds, as the formatter wrote it: `2026-12-07T07:42:20.510712Z`.
/// The date and time of day are worked out once per second per thread.
fn timestamp(out: &mut Vec<u8>, now: SystemTime) {
    thread_local! {
        static SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
    }
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (cached, mut text) = SECOND.get();
    if cached != seconds {
        text = date_time(seconds);
        SECOND.set((seconds, text));
    }
    out.extend_from_slice(&text);
    let micros = since.subsec_micros();
    let mut digits = [b'.', b'0', b'0', b'0', b'0', b'0', b'0', b'Z'];
    let mut n = micros;
    for digit in digits[1..7].iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time: the start of the core's ISO form of the instant.
fn date_time(unix_seconds: u64) -> [u8; 19] {
    let mut iso = String::with_capacity(24);
    ixgw_core::Millis(i64::try_from(unix_seconds).unwrap_or(i64::MAX / 1000) * 1000).write_iso_millis(&mut iso);
    let mut text = [0u8; 19];
    text.copy_from_slice(&iso.as_bytes()[..19]);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fields(reason: Option<&'static str>, tenant: &'static str) -> Fields<'static> {
        Fields {
            request_id: "32ec43d68e504aed8e6fc68a064f39ed",
            trace_id: "",
            method: "GET",
            surface: "interact-rest",
            operation: "fullFlow",
            soap_version: "",
            tenant,
            status: if reason.is_some() { 401 } else { 200 },
            reason,
            latency_micros: 381,
        }
    }

    fn line(format: Format, seconds: u64, micros: u32, f: &Fields<'_>) -> String {
        let mut out = Vec::new();
        render(&mut out, format, UNIX_EPOCH + Duration::new(seconds, micros * 1000), f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_lines_read_as_the_formatter_wrote_them() {
        let text = line(Format::Text { ansi: false }, 1_796_629_340, 510_712, &fields(Some("unknown environment"), ""));
        assert_eq!(
            text,
            "2026-12-07T07:42:20.510712Z  INFO request request_id=32ec43d68e504aed8e6fc68a064f39ed trace_id=\"\" method=GET \
             surface=\"interact-rest\" operation=fullFlow soap_version=\"\" tenant=\"\" status=401 \
             reason=\"unknown environment\" latency_ms=0.381\n"
        );
    }

    #[test]
    fn json_lines_are_json_with_the_same_fields() {
        let mut f = fields(None, "12345678");
        f.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        f.operation = "a \"quoted\"\nname\u{1}";
        f.latency_micros = 12_000_345;
        let text = line(Format::Json, 951_782_400, 7, &f);
        assert!(text.ends_with('\n'), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["timestamp"], "2000-02-29T00:00:00.000007Z");
        assert_eq!((&v["level"], &v["message"]), (&"INFO".into(), &"request".into()));
        assert_eq!(v["operation"], "a \"quoted\"\nname\u{1}");
        assert_eq!(
            (&v["tenant"], &v["status"], &v["latency_ms"]),
            (&"12345678".into(), &200.into(), &12000.345.into())
        );
        assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(v.get("reason").is_none(), "{text}");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 12, "{keys:?}");
    }

    #[test]
    fn quoted_values_escape_exactly_what_json_needs() {
        for (value, written) in [
            ("plain value 4bf92f", "\"plain value 4bf92f\""),
            ("a\"b\\c", "\"a\\\"b\\\\c\""),
            ("tab\there\nnew\r\u{1}\u{7f}", "\"tab\\there\\nnew\\r\\u0001\\u007f\""),
            ("é ü 中", "\"é ü 中\""),
        ] {
            let mut out = Vec::new();
            quoted(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), written);
            let json: String = serde_json::from_str(written).unwrap();
            assert_eq!(json, value, "JSON reads it back");
        }
    }

    #[test]
    fn a_bare_value_that_could_be_misread_is_quoted() {
        let mut f = fields(None, "1");
        f.operation = "two words";
        let text = line(Format::Text { ansi: false }, 0, 0, &f);
        assert!(text.starts_with("1970-01-01T00:00:00.000000Z  INFO"), "{text}");
        assert!(text.contains(" operation=\"two words\" "), "{text}");
    }

    #[test]
    fn dates_match_the_calendar() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00"),
            (951_868_799, "2000-02-29T23:59:59"),
            (1_796_629_340, "2026-12-07T07:42:20"),
            (4_107_542_400, "2100-03-01T00:00:00"),
        ] {
            assert_eq!(std::str::from_utf8(&date_time(seconds)).unwrap(), text);
        }
    }
}
