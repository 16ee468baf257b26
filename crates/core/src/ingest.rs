//! Reading records from a byte stream, and storing them in batches (each record whole or absent):
//! the single path that `ixgw import`, the demo loader and the ingest API all use.
//!
//! The input may be a JSON array of records, NDJSON (one record a line), or concatenated JSON
//! objects (a single pretty-printed record, say). [`RecordSplitter`] is fed chunks of any size and
//! yields one record's text at a time, so memory stays bounded by the largest record, whatever the
//! size of the stream.

use crate::error::StoreError;
use crate::record::{InteractionRecord, RecordError};
use crate::service::{placement, HistoryService};
use crate::store::Partition;
use crate::tenancy::Tenant;
use std::collections::HashMap;

/// Largest single record accepted by default (photos travel inside records as base64).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// One record's text, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 0-based position of the record in the stream.
    pub index: usize,
    /// 1-based line the record starts on.
    pub line: usize,
    pub text: Result<String, RecordError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing but white space seen yet.
    Start,
    /// Inside a top-level `[...]`.
    Array,
    /// Top-level objects; `one_per_line` once the first object ended on its own line (NDJSON), so
    /// that a malformed line costs only that line.
    Objects { one_per_line: bool },
    /// The array was closed, or framing broke: nothing more is read.
    Done,
}

/// Splits a byte stream into records (see the module docs).
pub struct RecordSplitter {
    mode: Mode,
    max_record_bytes: usize,
    current: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    line: usize,
    start_line: usize,
    index: usize,
    /// Skipping the rest of an oversized NDJSON line.
    skipping_line: bool,
    first_object_done: bool,
    expect_separator: bool,
}

impl RecordSplitter {
    pub fn new(max_record_bytes: usize) -> Self {
        Self {
            mode: Mode::Start,
            max_record_bytes,
            current: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            line: 1,
            start_line: 1,
            index: 0,
            skipping_line: false,
            first_object_done: false,
            expect_separator: false,
        }
    }

    /// A splitter for a stream declared NDJSON (`application/x-ndjson`): every line is one record
    /// from the first on, so that even a broken first line costs only that line.
    pub fn ndjson(max_record_bytes: usize) -> Self {
        Self { mode: Mode::Objects { one_per_line: true }, first_object_done: true, ..Self::new(max_record_bytes) }
    }

    /// Feeds a chunk; complete records are appended to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Frame>) {
        while let Some((&b, rest)) = chunk.split_first() {
            // Inside a string only `"`, `\` and a line break matter: copy the run up to one at once
            // (most of a record is string content), never past the record size bound.
            if self.in_string && !self.escaped && !self.skipping_line && self.mode != Mode::Done {
                let room = self.max_record_bytes.saturating_sub(self.current.len());
                let run = memchr::memchr3(b'"', b'\\', b'\n', chunk).unwrap_or(chunk.len()).min(room);
                if run > 0 {
                    self.current.extend_from_slice(&chunk[..run]);
                    chunk = &chunk[run..];
                    continue;
                }
            }
            self.step(b, out);
            chunk = rest;
        }
    }

    /// Ends the stream: an unfinished record is reported as such.
    pub fn finish(&mut self, out: &mut Vec<Frame>) {
        match self.mode {
            Mode::Array => self.emit_error(out, "the JSON array is not closed"),
            Mode::Objects { .. } if self.depth > 0 || self.in_string => {
                self.emit_error(out, "the record is not complete")
            }
            // The last NDJSON line may lack its newline.
            Mode::Objects { .. } if !self.current.is_empty() => self.emit(out),
            _ => {}
        }
        self.mode = Mode::Done;
    }

    fn emit(&mut self, out: &mut Vec<Frame>) {
        let bytes = std::mem::take(&mut self.current);
        let text = String::from_utf8(bytes).map_err(|_| RecordError::new("$", "the record is not valid UTF-8"));
        out.push(Frame { index: self.index, line: self.start_line, text });
        self.index += 1;
    }

    fn emit_error(&mut self, out: &mut Vec<Frame>, reason: &str) {
        self.current.clear();
        out.push(Frame { index: self.index, line: self.start_line, text: Err(RecordError::new("$", reason)) });
        self.index += 1;
    }

    fn reset_scan(&mut self) {
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }

    fn step(&mut self, b: u8, out: &mut Vec<Frame>) {
        if self.mode == Mode::Done {
            return;
        }
        let newline = b == b'\n';
        if self.skipping_line {
            if newline {
                self.skipping_line = false;
                self.line += 1;
            }
            return;
        }
        // Between records: white space, array punctuation, the start of the next record.
        if self.depth == 0 && !self.in_string && self.current.is_empty() {
            match (self.mode, b) {
                (_, b' ' | b'\t' | b'\r') => return,
                (_, b'\n') => {
                    self.line += 1;
                    return;
                }
                (Mode::Start, b'[') => {
                    self.mode = Mode::Array;
                    return;
                }
                (Mode::Array, b',') if self.expect_separator => {
                    self.expect_separator = false;
                    return;
                }
                (Mode::Array, b']') => {
                    self.mode = Mode::Done;
                    return;
                }
                (Mode::Start, b'{') => self.mode = Mode::Objects { one_per_line: false },
                (Mode::Array, b'{') if !self.expect_separator => {}
                (Mode::Objects { .. }, b'{') => {}
                (Mode::Objects { one_per_line: true }, _) => {
                    // A line that is not an object: report it, go on with the next line.
                    self.start_line = self.line;
                    self.emit_error(out, "expected a JSON object on this line");
                    self.skipping_line = true;
                    return;
                }
                _ => {
                    self.start_line = self.line;
                    let what = if self.mode == Mode::Array {
                        "expected a record (`{`), `,` or `]`"
                    } else {
                        "expected a JSON array or object"
                    };
                    self.emit_error(out, what);
                    self.mode = Mode::Done;
                    return;
                }
            }
            self.start_line = self.line;
        }
        if let Mode::Objects { one_per_line: true } = self.mode {
            if newline {
                // NDJSON: the line ends the record, complete or not.
                if self.depth > 0 || self.in_string {
                    self.reset_scan();
                    self.emit_error(out, "the record on this line is not complete");
                } else if !self.current.is_empty() {
                    self.emit(out);
                }
                self.line += 1;
                return;
            }
        } else if newline {
            self.line += 1;
        }
        if self.current.len() >= self.max_record_bytes {
            let reason = format!("the record is larger than {} bytes", self.max_record_bytes);
            self.reset_scan();
            self.emit_error(out, &reason);
            match self.mode {
                Mode::Objects { one_per_line: true } => self.skipping_line = !newline,
                _ => self.mode = Mode::Done,
            }
            return;
        }
        self.current.push(b);
        if self.in_string {
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                _ => {}
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    if let Mode::Objects { one_per_line: false } = self.mode {
                        if !self.first_object_done {
                            // The first record ended on the line it began: treat the stream as NDJSON.
                            self.first_object_done = true;
                            if self.line == self.start_line {
                                self.mode = Mode::Objects { one_per_line: true };
                                return;
                            }
                        }
                    }
                    if self.mode == Mode::Array {
                        self.expect_separator = true;
                    }
                    self.emit(out);
                }
            }
            _ => {}
        }
    }
}

/// Why a record was not stored.
#[derive(Debug)]
pub enum Rejection {
    Invalid(RecordError),
    /// The store refused it (a conflict, a constraint); the import goes on.
    Store(StoreError),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "$: {e}"),
        }
    }
}

impl Rejection {
    /// The member path and reason to show a remote client. Invalid records say exactly what is
    /// wrong; a store refusal says only what the client can act on (the detail is for the log).
    pub fn public(&self) -> (String, String) {
        match self {
            Self::Invalid(e) => (e.path.clone(), e.reason.clone()),
            Self::Store(e @ StoreError::Missing(_)) => ("$".into(), e.to_string()),
            Self::Store(_) => ("$".into(), "the store refused the record".into()),
        }
    }
}

/// What became of one record of a stream.
#[derive(Debug)]
pub struct Outcome {
    /// 1-based line the record starts on.
    pub line: usize,
    /// The stored interaction's id, or why the record was not stored.
    pub result: Result<String, Rejection>,
}

/// Records stored per transaction by default: one commit and one multi-row INSERT per table for
/// many records is what makes a bulk import fast. A batch that fails is stored again record by
/// record, so a refused record costs only itself.
pub const BATCH_RECORDS: usize = 128;
/// A batch is also flushed at this much record text, so memory stays bounded with large records.
pub const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Stores records in batches, remembering the tenants it has looked up. Feed it frames with
/// [`add`](Self::add) and end with [`flush`](Self::flush); each returns the outcomes of the
/// records it stored, in stream order. While one batch is being stored, the next is parsed: the
/// store's round trips and the parsing overlap.
pub struct ImportSession<'a> {
    service: &'a HistoryService,
    placer: Placer,
    batch_records: usize,
    batch_bytes: usize,
    pending: Vec<Frame>,
    pending_bytes: usize,
    /// Parsed, not yet stored.
    parsed: Parsed,
}

/// Where records go: the session's rules, and the tenants looked up so far.
struct Placer {
    tenants: HashMap<String, Option<Tenant>>,
    /// Every record goes to this tenant (`ixgw import --tenant`), whatever it says.
    tenant_override: Option<String>,
    /// Every record goes to this partition (an ingest key's); a record naming another tenant or
    /// environment is rejected, not moved.
    bound: Option<(String, String)>,
    /// Moves every date by this much before storing (the demo's "keep it recent").
    shift_ms: i64,
}

/// A parsed batch: an outcome per frame (rejected, or the id it will be stored under), and the
/// records to store with the outcome each one settles.
#[derive(Default)]
struct Parsed {
    outcomes: Vec<Outcome>,
    placed: Vec<(usize, Placed)>,
}

/// A record ready to store, with the partition it goes to.
struct Placed {
    tenant: String,
    environment: String,
    record: InteractionRecord,
}

impl<'a> ImportSession<'a> {
    pub fn new(service: &'a HistoryService) -> Self {
        Self {
            service,
            placer: Placer { tenants: HashMap::new(), tenant_override: None, bound: None, shift_ms: 0 },
            batch_records: BATCH_RECORDS,
            batch_bytes: BATCH_BYTES,
            pending: Vec::new(),
            pending_bytes: 0,
            parsed: Parsed::default(),
        }
    }

    pub fn for_tenant(mut self, tenant: Option<String>) -> Self {
        self.placer.tenant_override = tenant;
        self
    }

    /// Binds every record to a key's tenant and environment (the ingest API). A record may repeat
    /// them; naming others rejects it (`tenant` / `environment`).
    pub fn bound_to(mut self, tenant: &str, environment: &str) -> Self {
        self.placer.bound = Some((tenant.to_string(), environment.to_string()));
        self
    }

    pub fn shifted_by(mut self, shift_ms: i64) -> Self {
        self.placer.shift_ms = shift_ms;
        self
    }

    /// Batches of at most `records` records and `bytes` of record text (at least one record).
    pub fn in_batches_of(mut self, records: usize, bytes: usize) -> Self {
        (self.batch_records, self.batch_bytes) = (records.max(1), bytes);
        self
    }

    /// Queues one record as the splitter framed it; once a batch is full, stores the batch parsed
    /// before it while parsing this one. `Err` only when the store is unavailable: the stream
    /// should stop there.
    pub async fn add(&mut self, frame: Frame) -> Result<Vec<Outcome>, StoreError> {
        self.pending_bytes += frame.text.as_ref().map_or(0, String::len);
        self.pending.push(frame);
        if self.pending.len() >= self.batch_records || self.pending_bytes >= self.batch_bytes {
            self.cycle().await
        } else {
            Ok(Vec::new())
        }
    }

    /// Stores every record queued so far. `Err` only when the store is unavailable.
    pub async fn flush(&mut self) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = self.cycle().await?;
        outcomes.extend(store(self.service, std::mem::take(&mut self.parsed)).await?);
        Ok(outcomes)
    }

    /// Stores the parsed batch and parses the queued one, at the same time.
    async fn cycle(&mut self) -> Result<Vec<Outcome>, StoreError> {
        let frames = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let parsed = std::mem::take(&mut self.parsed);
        let (stored, next) =
            futures_util::future::join(store(self.service, parsed), self.placer.parse(self.service, frames)).await;
        self.parsed = next?;
        stored
    }
}

/// Stores a parsed batch: its outcomes, with the records the store refused marked so.
async fn store(service: &HistoryService, parsed: Parsed) -> Result<Vec<Outcome>, StoreError> {
    let Parsed { mut outcomes, placed } = parsed;
    if placed.is_empty() {
        return Ok(outcomes);
    }
    let batch: Vec<(Partition<'_>, &InteractionRecord)> =
        placed.iter().map(|(_, p)| (Partition { tenant: &p.tenant, environment: &p.environment }, &p.record)).collect();
    let stored = service.store_records(&batch).await?;
    for ((slot, _), result) in placed.iter().zip(stored) {
        if let Err(refused) = result {
            outcomes[*slot].result = Err(Rejection::Store(refused));
        }
    }
    Ok(outcomes)
}

impl Placer {
    /// Parses and places a batch, yielding after each record so that a store joined with it
    /// (the previous batch's) goes on with its round trips meanwhile.
    async fn parse(&mut self, service: &HistoryService, frames: Vec<Frame>) -> Result<Parsed, StoreError> {
        let mut parsed = Parsed { outcomes: Vec::with_capacity(frames.len()), placed: Vec::new() };
        for frame in frames {
            let result = match frame.text {
                Ok(text) => self.place(service, &text).await,
                Err(invalid) => Err(Ok(Rejection::Invalid(invalid))),
            };
            match result {
                Ok(placed) => {
                    parsed.outcomes.push(Outcome { line: frame.line, result: Ok(placed.record.id.clone()) });
                    parsed.placed.push((parsed.outcomes.len() - 1, placed));
                }
                Err(Ok(rejection)) => parsed.outcomes.push(Outcome { line: frame.line, result: Err(rejection) }),
                Err(Err(unavailable)) => return Err(unavailable),
            }
            YieldNow(false).await;
        }
        Ok(parsed)
    }

    /// Parses and validates one record's text and chooses its partition. `Err(Ok(rejection))`
    /// rejects this record; `Err(Err(store))` means the store is unavailable.
    async fn place(&mut self, service: &HistoryService, text: &str) -> Result<Placed, Result<Rejection, StoreError>> {
        let mut record = InteractionRecord::from_json(text).map_err(|e| Ok(Rejection::Invalid(e)))?;
        if self.shift_ms != 0 {
            record.shift_dates(self.shift_ms);
        }
        let at = if let Some((tenant, environment)) = &self.bound {
            bound_placement(&record, tenant, environment).map_err(|e| Ok(Rejection::Invalid(e)))?
        } else {
            let wanted = self.tenant_override.clone().or_else(|| record.tenant.clone()).unwrap_or_default();
            if !self.tenants.contains_key(&wanted) {
                let tenant = if wanted.is_empty() {
                    None
                } else {
                    service.store().tenant(&wanted).await.map_err(Err)?.filter(|t| t.account_id == wanted)
                };
                self.tenants.insert(wanted.clone(), tenant);
            }
            let tenant = self.tenants.get(&wanted).and_then(Option::as_ref);
            placement(&record, tenant, self.tenant_override.as_deref()).map_err(|e| Ok(Rejection::Invalid(e)))?
        };
        let (tenant, environment) = (at.tenant.to_string(), at.environment.to_string());
        Ok(Placed { tenant, environment, record })
    }
}

/// Returns `Pending` once (waking itself at once): a joined future gets polled in between.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The partition of a record under a key bound to `tenant` and `environment`.
fn bound_placement<'a>(
    record: &InteractionRecord,
    tenant: &'a str,
    environment: &'a str,
) -> Result<Partition<'a>, RecordError> {
    if record.tenant.as_deref().is_some_and(|t| t != tenant) {
        return Err(RecordError::new("tenant", format!("this key writes to tenant `{tenant}` only")));
    }
    if record.environment.as_deref().is_some_and(|e| e != environment) {
        return Err(RecordError::new("environment", format!("this key writes to environment `{environment}` only")));
    }
    Ok(Partition { tenant, environment })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str, chunk: usize) -> Vec<(usize, Result<String, String>)> {
        let mut s = RecordSplitter::new(1024);
        let mut out = Vec::new();
        for c in input.as_bytes().chunks(chunk.max(1)) {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out.into_iter().map(|f| (f.line, f.text.map_err(|e| e.reason))).collect()
    }

    #[test]
    fn ndjson_array_and_pretty_objects_whatever_the_chunking() {
        for chunk in [1, 3, 7, 4096] {
            assert_eq!(
                split("{\"a\":1}\n{\"b\":\"}{\"}\n\n{\"c\":[1,{\"d\":2}]}\n", chunk),
                [
                    (1, Ok("{\"a\":1}".into())),
                    (2, Ok("{\"b\":\"}{\"}".into())),
                    (4, Ok("{\"c\":[1,{\"d\":2}]}".into()))
                ]
            );
            assert_eq!(
                split("[\n {\"a\":1},\n {\"b\":2}\n]\n", chunk),
                [(2, Ok("{\"a\":1}".into())), (3, Ok("{\"b\":2}".into()))]
            );
            assert_eq!(split("{\n  \"a\": \"x\\\"}\"\n}\n", chunk), [(1, Ok("{\n  \"a\": \"x\\\"}\"\n}".into()))]);
        }
    }

    #[test]
    fn a_broken_ndjson_line_costs_only_that_line() {
        let got = split("{\"a\":1}\n{\"b\":\n{\"c\":3}\nnot json\n{\"d\":4}", 5);
        assert_eq!(got[0], (1, Ok("{\"a\":1}".into())));
        assert_eq!(got[1].0, 2);
        assert!(got[1].1.is_err());
        assert_eq!(got[2], (3, Ok("{\"c\":3}".into())));
        assert_eq!(got[3].0, 4);
        assert!(got[3].1.is_err());
        assert_eq!(got[4], (5, Ok("{\"d\":4}".into())));
    }

    #[test]
    fn a_declared_ndjson_stream_loses_only_its_bad_lines_from_the_first() {
        let mut s = RecordSplitter::ndjson(16);
        let mut out = Vec::new();
        s.push(b"{\"x\":\"far too long for the bound\"}\n[1]\n{\"a\":1}\n{\"b\":\n{\"c\":2}", &mut out);
        s.finish(&mut out);
        let got: Vec<(usize, Result<String, String>)> =
            out.into_iter().map(|f| (f.line, f.text.map_err(|e| e.reason))).collect();
        assert!(got[0].1.as_ref().unwrap_err().contains("larger than"), "{got:?}");
        assert_eq!(got[1].0, 2);
        assert!(got[1].1.is_err());
        assert_eq!(got[2], (3, Ok("{\"a\":1}".to_string())));
        assert_eq!(got[3].0, 4);
        assert!(got[3].1.is_err());
        assert_eq!(got[4], (5, Ok("{\"c\":2}".to_string())));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn a_bound_key_keeps_records_in_its_partition() {
        let record = |json: &str| InteractionRecord::from_json(json).unwrap();
        let bare = record(r#"{"id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&bare, "t1", "prod"), Ok(Partition { tenant: "t1", environment: "prod" }));
        let same =
            record(r#"{"tenant": "t1", "environment": "prod", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&same, "t1", "prod"), Ok(Partition { tenant: "t1", environment: "prod" }));
        let other_tenant = record(r#"{"tenant": "t2", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        let e = bound_placement(&other_tenant, "t1", "prod").unwrap_err();
        assert_eq!((e.path.as_str(), e.reason.contains("`t1` only")), ("tenant", true), "{e}");
        assert!(!e.reason.contains("t2"), "the answer says nothing about the other tenant: {e}");
        let other_env = record(r#"{"environment": "staging", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&other_env, "t1", "prod").unwrap_err().path, "environment");
    }

    #[test]
    fn store_failures_are_not_shown_to_clients() {
        let invalid = Rejection::Invalid(RecordError::new("pages[0].timestamp", "out of order"));
        assert_eq!(invalid.public(), ("pages[0].timestamp".to_string(), "out of order".to_string()));
        let failed = Rejection::Store(StoreError::Failed("relation \"pages\" violates constraint xyz".into()));
        assert_eq!(failed.public(), ("$".to_string(), "the store refused the record".to_string()));
        assert!(failed.to_string().contains("xyz"), "the operator's CLI sees the detail");
    }

    #[test]
    fn oversized_and_unfinished_records_are_reported() {
        let big = format!("{{\"a\":1}}\n{{\"x\":\"{}\"}}\n{{\"b\":2}}\n", "y".repeat(2000));
        let got = split(&big, 64);
        assert_eq!(got.len(), 3);
        assert!(got[1].1.as_ref().unwrap_err().contains("larger than"));
        assert_eq!(got[2], (3, Ok("{\"b\":2}".into())));
        assert!(split("[{\"a\":1}", 4).last().unwrap().1.as_ref().unwrap_err().contains("not closed"));
        assert!(split("hello", 4)[0].1.is_err());
        assert!(split("", 4).is_empty());
        assert_eq!(split("{\"a\":1}", 3), [(1, Ok("{\"a\":1}".into()))], "no newline at the end");
        assert!(split("{\"a\":\"x", 3)[0].1.is_err());
        assert!(split(" \n ", 4).is_empty());
    }
}
