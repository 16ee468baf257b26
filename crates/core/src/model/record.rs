//! The interaction record: the import format, the ingest body and the demo fixtures' shape
//! (spec `records.md`). Parsing is strict: unknown members, bad dates, bad base64, unknown attribute
//! kinds and pages out of order are refused with the JSON path of the offending member.

use crate::model::ordered::OrderedStrings;
use crate::model::page::Page;
use crate::model::time::{IsoDate, Millis};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The five caller-attribute kinds of the Interact API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CallerAttributeKind {
    #[serde(rename = "dtmf")]
    Dtmf,
    #[serde(rename = "dnid")]
    Dnid,
    #[serde(rename = "callReturnNumber")]
    CallReturnNumber,
    #[serde(rename = "callerId")]
    CallerId,
    #[serde(rename = "historySearchId")]
    HistorySearchId,
}

impl CallerAttributeKind {
    pub const ALL: [Self; 5] = [Self::Dtmf, Self::Dnid, Self::CallReturnNumber, Self::CallerId, Self::HistorySearchId];

    /// The name stored and shown: the record format's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dtmf => "dtmf",
            Self::Dnid => "dnid",
            Self::CallReturnNumber => "callReturnNumber",
            Self::CallerId => "callerId",
            Self::HistorySearchId => "historySearchId",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind named by a Get Interaction Unique ID path segment (`uniqueId/{segment}/{value}`).
    /// DNID is not offered by that method.
    pub fn from_unique_id_segment(segment: &str) -> Option<Self> {
        match segment {
            "dtmf" => Some(Self::Dtmf),
            "callReturn" => Some(Self::CallReturnNumber),
            "clickToCall" => Some(Self::CallerId),
            "historySearchId" => Some(Self::HistorySearchId),
            _ => None,
        }
    }
}

impl fmt::Display for CallerAttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One allocation of a caller attribute to an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerAttribute {
    pub kind: CallerAttributeKind,
    pub value: String,
    pub allocated_at: IsoDate,
}

impl CallerAttribute {
    /// Rules that the types alone cannot say; `prefix` is the member path up to this object
    /// (`caller_attributes[2].` in a record, empty for a live-feed allocation).
    pub fn validate(&self, prefix: &str) -> Result<(), RecordError> {
        if self.value.is_empty() || self.value.len() > MAX_ID_LEN {
            return Err(RecordError::new(format!("{prefix}value"), format!("must be 1 to {MAX_ID_LEN} bytes")));
        }
        if self.value.chars().any(char::is_control) {
            return Err(RecordError::new(format!("{prefix}value"), "must not contain control characters"));
        }
        Ok(())
    }
}

/// An e-mail address as Context Services shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAddress {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<String>,
}

/// The Context Services resource fields other than ids, dates of the record and content URLs.
/// Declaration order is irrelevant here: the resource's wire order lives in `context_services`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_app_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeshift: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_children: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established_date: Option<IsoDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_date: Option<IsoDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udata: Option<OrderedStrings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tconnection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<EmailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<EmailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<EmailAddress>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Vec<EmailAddress>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_date: Option<IsoDate>,
}

impl Context {
    fn shift_dates(&mut self, delta_ms: i64) {
        for d in [&mut self.established_date, &mut self.released_date, &mut self.sent_date].into_iter().flatten() {
            d.0 = d.0.shifted(delta_ms);
        }
    }
}

/// Bytes that travel as base64 text in records.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Base64Bytes(pub Vec<u8>);

impl fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Base64Bytes)
            .map_err(|e| serde::de::Error::custom(format!("not valid base64 ({e})")))
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

/// The three content parts behind Context Services' `plain_text`, `structured_text`, `binary_content`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_text_mime: Option<String>,
    #[serde(default, rename = "binary_content_base64", skip_serializing_if = "Option::is_none")]
    pub binary_content: Option<Base64Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_content_mime: Option<String>,
}

/// An uploaded image that pages refer to by path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    pub path: String,
    pub mime: String,
    #[serde(rename = "data_base64")]
    pub data: Base64Bytes,
}

/// Variable set name → variable name → value, in the order written.
pub type VariableSets = BTreeMap<String, OrderedStrings>;

/// One interaction, whole: what is imported, stored and rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_ids: Vec<i64>,
    pub started_at: IsoDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<IsoDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caller_attributes: Vec<CallerAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "VariableSets::is_empty")]
    pub variable_sets: VariableSets,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<Page>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<Photo>,
}

/// Why a record was refused: where (a JSON path such as `pages[2].timestamp`) and what. Text that
/// is not JSON is placed by line and column instead (`line 3, column 17: trailing comma`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub path: String,
    pub reason: String,
    /// The 1-based line and column of a JSON syntax error: in the record's text as parsed, in the
    /// stream once [`RecordError::in_stream`] has placed it.
    pub at: Option<(usize, usize)>,
}

impl RecordError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { path: path.into(), reason: reason.into(), at: None }
    }

    /// The error of a record whose text starts at `line`, `column` of a stream: a syntax error's
    /// position becomes the stream's.
    pub fn in_stream(mut self, line: usize, column: usize) -> Self {
        if let Some((l, c)) = self.at {
            self.at = Some((line + l - 1, if l == 1 { column + c - 1 } else { c }));
        }
        self
    }

    /// The reason with the position of a syntax error, for a client that gets path and reason apart.
    pub fn placed_reason(&self) -> String {
        match self.at {
            Some((line, column)) => format!("{} at line {line}, column {column}", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) if self.path == "$" => write!(f, "line {line}, column {column}: {}", self.reason),
            Some((line, column)) => write!(f, "line {line}, column {column}, {}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl std::error::Error for RecordError {}

/// The longest id, customer id or attribute value accepted: far above any vendor's, small enough
/// that a hostile record cannot bloat the indexes.
pub const MAX_ID_LEN: usize = 256;

impl InteractionRecord {
    /// Parses and validates one record from JSON text.
    pub fn from_json(text: &str) -> Result<Self, RecordError> {
        let record: Self = parse_strict(text)?;
        record.validate()?;
        Ok(record)
    }

    /// Rules that the types alone cannot say.
    pub fn validate(&self) -> Result<(), RecordError> {
        check_id("id", &self.id)?;
        // Text stored in columns of its own: PostgreSQL refuses NUL in text, so both stores refuse it
        // here (page and context text travels as JSON, where NUL is escaped).
        if let Some(c) = &self.content {
            let texts = [
                ("content.plain_text", &c.plain_text),
                ("content.structured_text", &c.structured_text),
                ("content.structured_text_mime", &c.structured_text_mime),
                ("content.binary_content_mime", &c.binary_content_mime),
            ];
            for (path, text) in texts {
                if text.as_deref().is_some_and(|t| t.contains('\0')) {
                    return Err(RecordError::new(path, "must not contain NUL characters"));
                }
            }
        }
        for (i, photo) in self.photos.iter().enumerate() {
            if photo.mime.contains('\0') {
                return Err(RecordError::new(format!("photos[{i}].mime"), "must not contain NUL characters"));
            }
        }
        if let Some(t) = &self.tenant {
            check_id("tenant", t)?;
        }
        if let Some(e) = &self.environment {
            check_id("environment", e)?;
        }
        if let Some(c) = &self.customer_id {
            check_id("customer_id", c)?;
        }
        if let Some(end) = self.ended_at {
            if end < self.started_at {
                return Err(RecordError::new("ended_at", "is before started_at"));
            }
        }
        for (i, a) in self.caller_attributes.iter().enumerate() {
            a.validate(&format!("caller_attributes[{i}]."))?;
        }
        let mut previous = i64::MIN;
        for (i, page) in self.pages.iter().enumerate() {
            if page.timestamp < previous {
                return Err(RecordError::new(
                    format!("pages[{i}].timestamp"),
                    "pages out of order: timestamp is older than the previous page's",
                ));
            }
            previous = page.timestamp;
        }
        for (i, photo) in self.photos.iter().enumerate() {
            if photo.path.is_empty() {
                return Err(RecordError::new(format!("photos[{i}].path"), "must not be empty"));
            }
            if photo.path.chars().any(char::is_control) {
                return Err(RecordError::new(format!("photos[{i}].path"), "must not contain control characters"));
            }
            if self.photos[..i].iter().any(|p| p.path == photo.path) {
                return Err(RecordError::new(format!("photos[{i}].path"), "duplicate photo path"));
            }
        }
        Ok(())
    }

    /// Time of the last activity: completion, else the newest page, else the start.
    /// The search windows of the Interact API are measured on it.
    pub fn last_activity(&self) -> Millis {
        last_activity(self.started_at.0, self.ended_at.map(|d| d.0), self.pages.last().map(|p| Millis(p.timestamp)))
    }

    /// Moves every instant of the record by `delta_ms` (demo data is kept recent this way).
    pub fn shift_dates(&mut self, delta_ms: i64) {
        self.started_at.0 = self.started_at.0.shifted(delta_ms);
        if let Some(e) = &mut self.ended_at {
            e.0 = e.0.shifted(delta_ms);
        }
        for a in &mut self.caller_attributes {
            a.allocated_at.0 = a.allocated_at.0.shifted(delta_ms);
        }
        for p in &mut self.pages {
            p.timestamp = p.timestamp.saturating_add(delta_ms);
        }
        if let Some(c) = &mut self.context {
            c.shift_dates(delta_ms);
        }
    }
}

/// Parses one JSON document into a record-format type (a record, a page, a caller attribute):
/// unknown members, wrong types and bad values are refused with the JSON path of the offender
/// (`$` for the document itself).
pub fn parse_strict<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RecordError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let reason = inner.to_string();
        // serde_json appends " at line L column C": kept apart, as the position of a syntax error
        // (whose path says nothing, `?`); the caller reports the record's line already.
        let reason = match reason.rfind(" at line ") {
            Some(i) if inner.line() > 0 => reason[..i].to_string(),
            _ => reason,
        };
        let syntax = matches!(inner.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof);
        let path = match path.as_str() {
            "." | "?" => "$".to_string(),
            // Where a syntax error stopped the parser inside a member not yet named (`pages[0].?`).
            p if syntax => p.strip_suffix(".?").unwrap_or(p).to_string(),
            _ => path,
        };
        let at = (syntax && inner.line() > 0).then(|| (inner.line(), inner.column()));
        RecordError { at, ..RecordError::new(path, reason) }
    })?;
    de.end().map_err(|_| RecordError::new("$", "trailing characters after the document"))?;
    Ok(value)
}

/// Last activity from its parts (see [`InteractionRecord::last_activity`]).
pub fn last_activity(started: Millis, ended: Option<Millis>, newest_page: Option<Millis>) -> Millis {
    ended.or(newest_page).unwrap_or(started)
}

fn check_id(path: &str, value: &str) -> Result<(), RecordError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(RecordError::new(path, format!("must be 1 to {MAX_ID_LEN} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(RecordError::new(path, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "tenant": "12345678", "id": "040100713", "started_at": "2026-10-01T09:33:10.000Z",
            "ended_at": "2026-10-01T09:34:04.140Z",
            "caller_attributes": [{"kind": "dtmf", "value": "4567", "allocated_at": "2026-10-01T09:33:12Z"}],
            "pages": [
              {"pageNavigation": {"navigationTitle": "One"}, "pageContent": {"contentSections": []}, "timestamp": 1790847190000i64},
              {"pageNavigation": {"navigationTitle": "Two"}, "pageContent": {"contentSections": []}, "timestamp": 1790847191000i64}
            ],
            "photos": [{"path": "/p", "mime": "image/png", "data_base64": "aGVsbG8="}]
        })
    }

    fn parse(v: &serde_json::Value) -> Result<InteractionRecord, RecordError> {
        InteractionRecord::from_json(&v.to_string())
    }

    #[test]
    fn a_good_record_parses() {
        let r = parse(&minimal()).unwrap();
        assert_eq!(r.pages.len(), 2);
        assert_eq!(r.photos[0].data.0, b"hello");
        assert_eq!(r.last_activity().to_iso_millis(), "2026-10-01T09:34:04.140Z");
    }

    #[test]
    fn errors_name_the_member_path() {
        let mut v = minimal();
        v["pages"][1]["pageNavigation"]["navigationTitel"] = "x".into();
        let e = parse(&v).unwrap_err();
        assert_eq!(e.path, "pages[1].pageNavigation.navigationTitel");
        assert!(e.reason.contains("unknown field"), "{e}");

        let mut v = minimal();
        v["caller_attributes"][0]["kind"] = "shoeSize".into();
        assert_eq!(parse(&v).unwrap_err().path, "caller_attributes[0].kind");

        let mut v = minimal();
        v["started_at"] = "tuesday".into();
        assert_eq!(parse(&v).unwrap_err().path, "started_at");

        let mut v = minimal();
        v["photos"][0]["data_base64"] = "***".into();
        let e = parse(&v).unwrap_err();
        assert_eq!(e.path, "photos[0].data_base64");
        assert!(e.reason.contains("base64"));

        let mut v = minimal();
        v["pages"][1]["timestamp"] = 1.into();
        let e = parse(&v).unwrap_err();
        assert_eq!(e.path, "pages[1].timestamp");
        assert!(e.reason.contains("out of order"));

        let mut v = minimal();
        v["caller_attributes"][0]["value"] = "45\u{0}67".into();
        let e = parse(&v).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.reason.as_str()),
            ("caller_attributes[0].value", "must not contain control characters")
        );

        let mut v = minimal();
        v["content"] = serde_json::json!({"plain_text": "a\u{0}b"});
        assert_eq!(parse(&v).unwrap_err().path, "content.plain_text");

        let mut v = minimal();
        v["photos"][0]["path"] = "/p\u{0}x".into();
        assert_eq!(parse(&v).unwrap_err().path, "photos[0].path");

        let mut v = minimal();
        v["colour"] = "blue".into();
        assert!(parse(&v).unwrap_err().reason.contains("colour"));

        let e = InteractionRecord::from_json("{\"id\": ").unwrap_err();
        assert_eq!(e.path, "id");
        assert_eq!(e.to_string(), "line 1, column 7, id: EOF while parsing a value");
    }

    #[test]
    fn syntax_errors_are_placed_by_line_and_column_of_the_stream() {
        let e = InteractionRecord::from_json("{\"id\": \"x\",\n}").unwrap_err();
        assert_eq!((e.path.as_str(), e.reason.as_str(), e.at), ("$", "trailing comma", Some((2, 1))));
        assert_eq!(e.to_string(), "line 2, column 1: trailing comma");
        assert_eq!(e.placed_reason(), "trailing comma at line 2, column 1");
        // A record starting at line 10, column 5 of a stream: its first line is shifted by the column.
        let e = InteractionRecord::from_json(r#"{"id": "x",}"#).unwrap_err();
        assert_eq!(e.at, Some((1, 12)));
        assert_eq!(e.in_stream(10, 5).to_string(), "line 10, column 16: trailing comma");
        let e = InteractionRecord::from_json("{\"id\": \"x\",\n}").unwrap_err();
        assert_eq!(e.in_stream(10, 5).to_string(), "line 11, column 1: trailing comma");
        // Errors of the record's members are not syntax errors: no position, the path says where.
        let e = InteractionRecord::from_json(r#"{"id": 1, "started_at": "2026-10-01T09:33:10Z"}"#).unwrap_err();
        assert_eq!((e.path.as_str(), e.at), ("id", None));
        assert_eq!(RecordError::new("id", "x").in_stream(3, 3), RecordError::new("id", "x"));
    }

    #[test]
    fn pages_and_attributes_parse_alone_as_strictly() {
        let a: CallerAttribute =
            parse_strict(r#"{"kind": "dtmf", "value": "4567", "allocated_at": "2026-10-01T09:33:12Z"}"#).unwrap();
        assert_eq!(a.validate(""), Ok(()));
        let e = parse_strict::<CallerAttribute>(r#"{"kind": "dtmf", "value": "1", "allocated_at": "x"}"#).unwrap_err();
        assert_eq!(e.path, "allocated_at");
        let e = parse_strict::<Page>(
            r#"{"pageNavigation": {"navigationTitle": "t", "colour": 1}, "pageContent": {}, "timestamp": 1}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "pageNavigation.colour");
        assert_eq!(parse_strict::<Page>("{} {}").unwrap_err().path, "$");
        let long = CallerAttribute { value: "9".repeat(MAX_ID_LEN + 1), ..a };
        assert_eq!(long.validate("").unwrap_err().path, "value");
    }

    #[test]
    fn last_activity_prefers_end_then_newest_page_then_start() {
        let s = Millis(1_000);
        assert_eq!(last_activity(s, Some(Millis(5_000)), Some(Millis(4_000))), Millis(5_000));
        assert_eq!(last_activity(s, None, Some(Millis(4_000))), Millis(4_000));
        assert_eq!(last_activity(s, None, None), s);
    }

    #[test]
    fn shifting_moves_every_instant() {
        let mut r = parse(&minimal()).unwrap();
        let before = r.clone();
        r.shift_dates(1_000);
        assert_eq!(r.started_at.0 .0, before.started_at.0 .0 + 1_000);
        assert_eq!(r.pages[1].timestamp, before.pages[1].timestamp + 1_000);
        assert_eq!(r.caller_attributes[0].allocated_at.0 .0, before.caller_attributes[0].allocated_at.0 .0 + 1_000);
    }
}
