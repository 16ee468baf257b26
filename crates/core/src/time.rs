//! Instants as the gateway stores and prints them.
//!
//! Every instant is kept as UTC epoch milliseconds (`i64`): the same in SQLite and PostgreSQL, cheap
//! to index and compare. The vendors print them in two textual forms, both produced here.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A UTC instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_millis())
    }
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
    /// `2009-08-05T09:33:15.000Z`: the Context Services form, and `xs:dateTime` in SOAP replies.
    pub fn to_iso_millis(self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
    /// Parses RFC 3339 with any offset; the instant is kept in UTC, sub-millisecond digits dropped.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|dt| Self(dt.timestamp_millis()))
            .map_err(|e| format!("`{text}` is not an RFC 3339 date-time ({e})"))
    }
    pub fn shifted(self, delta_ms: i64) -> Self {
        Self(self.0.saturating_add(delta_ms))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso_millis())
    }
}

/// RFC 3339 text on the wire, [`Millis`] inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDate(pub Millis);

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_iso_millis())
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Millis::parse_rfc3339(&text).map(IsoDate).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_vendor_form_with_milliseconds() {
        let m = Millis::parse_rfc3339("2009-08-05T09:34:04.14Z").unwrap();
        assert_eq!(m.to_iso_millis(), "2009-08-05T09:34:04.140Z");
        let offset = Millis::parse_rfc3339("2009-08-05T11:33:10+02:00").unwrap();
        assert_eq!(offset.to_iso_millis(), "2009-08-05T09:33:10.000Z");
    }

    #[test]
    fn refuses_non_rfc3339() {
        assert!(Millis::parse_rfc3339("2009-08-05 09:33").is_err());
        assert!(Millis::parse_rfc3339("yesterday").is_err());
    }
}
