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
        let mut out = String::with_capacity(24);
        self.write_iso_millis(&mut out);
        out
    }
    /// Appends [`Self::to_iso_millis`]'s text to `out`. Replies print one per page, so the years
    /// 0000–9999 are written by arithmetic on the day count (Hinnant's `civil_from_days`); other
    /// instants by chrono, which gives them a sign and more digits.
    pub fn write_iso_millis(self, out: &mut String) {
        const DAY_MS: i64 = 86_400_000;
        // 0000-01-01T00:00:00.000Z and 10000-01-01T00:00:00.000Z.
        const FIRST: i64 = -62_167_219_200_000;
        const END: i64 = 253_402_300_800_000;
        if !(FIRST..END).contains(&self.0) {
            out.push_str(&self.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true));
            return;
        }
        let (days, in_day) = (self.0.div_euclid(DAY_MS), self.0.rem_euclid(DAY_MS));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let digits = |out: &mut [u8], value: i64| {
            let mut value = value;
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        let mut text = *b"0000-00-00T00:00:00.000Z";
        digits(&mut text[0..4], year);
        digits(&mut text[5..7], month);
        digits(&mut text[8..10], day);
        digits(&mut text[11..13], in_day / 3_600_000);
        digits(&mut text[14..16], in_day / 60_000 % 60);
        digits(&mut text[17..19], in_day / 1000 % 60);
        digits(&mut text[20..23], in_day % 1000);
        out.push_str(std::str::from_utf8(&text).expect("ASCII digits"));
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
    fn the_arithmetic_form_agrees_with_chrono() {
        let chrono = |m: Millis| m.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true);
        let edges = [
            0,
            -1,
            1,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001,
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000,
            i64::MIN,
            i64::MAX,
        ];
        let mut step = 0x9E37_79B9_7F4A_7C15u64;
        let spread = (0..100_000).map(|_| {
            step ^= step << 13;
            step ^= step >> 7;
            step ^= step << 17;
            (step % 320_000_000_000_000) as i64 - 64_000_000_000_000
        });
        for millis in edges.into_iter().chain(spread) {
            assert_eq!(Millis(millis).to_iso_millis(), chrono(Millis(millis)), "{millis}");
        }
    }

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
