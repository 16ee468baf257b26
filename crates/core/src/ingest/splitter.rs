//! Framing a byte stream into records. The input may be a JSON array of records, NDJSON (one
//! record a line), or concatenated JSON objects (a single pretty-printed record, say).
//! [`RecordSplitter`] is fed chunks of any size and yields one record's text at a time, so memory
//! stays bounded by the largest record, whatever the size of the stream.

use crate::model::record::RecordError;

/// Largest single record accepted by default (photos travel inside records as base64).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// One record's text, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 0-based position of the record in the stream.
    pub index: usize,
    /// 1-based line the record starts on.
    pub line: usize,
    /// 1-based column (in bytes) the record starts at on that line.
    pub column: usize,
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
    /// 1-based column of the next byte, and the one the current record started at.
    column: usize,
    start_column: usize,
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
            column: 1,
            start_column: 1,
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
                    self.column += run;
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
        out.push(Frame { index: self.index, line: self.start_line, column: self.start_column, text });
        self.index += 1;
    }

    fn emit_error(&mut self, out: &mut Vec<Frame>, reason: &str) {
        self.current.clear();
        let text = Err(RecordError::new("$", reason));
        out.push(Frame { index: self.index, line: self.start_line, column: self.start_column, text });
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
        let column = self.column;
        self.column = if newline { 1 } else { column + 1 };
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
                    self.start_column = column;
                    self.emit_error(out, "expected a JSON object on this line");
                    self.skipping_line = true;
                    return;
                }
                _ => {
                    self.start_line = self.line;
                    self.start_column = column;
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
            self.start_column = column;
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
