//! Retention: how long history is kept. The store never needs to hold more than the vendor API can
//! return (12 calendar months, `widerSearch=true`), so that is the default.

use crate::model::time::Millis;
use chrono::{DateTime, Days, Months, Utc};
use std::fmt;
use std::str::FromStr;

/// A retention period: `12months`, `90days` (also `1month`, `1day`, with or without a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Months(u32),
    Days(u32),
}

impl Default for Retention {
    fn default() -> Self {
        Self::Months(12)
    }
}

impl Retention {
    /// The oldest last activity kept at `now`: interactions last active before it are purged. Calendar
    /// months, like the search windows (so `12months` purges exactly what `widerSearch` no longer finds).
    pub fn cutoff(self, now: DateTime<Utc>) -> Millis {
        let start = match self {
            Self::Months(n) => now.checked_sub_months(Months::new(n)),
            Self::Days(n) => now.checked_sub_days(Days::new(u64::from(n))),
        };
        Millis::from_datetime(start.unwrap_or(DateTime::<Utc>::MIN_UTC))
    }
}

impl FromStr for Retention {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a retention period (write it like 12months or 90days)");
        let trimmed = text.trim();
        let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(digits);
        let n: u32 = number.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(format!("`{text}`: a retention period must be at least 1 day"));
        }
        match unit.trim_start() {
            "months" | "month" => Ok(Self::Months(n)),
            "days" | "day" => Ok(Self::Days(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Months(n) => write!(f, "{n}months"),
            Self::Days(n) => write!(f, "{n}days"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::window::SearchWindow;
    use chrono::TimeZone;

    #[test]
    fn parses_months_and_days() {
        assert_eq!("12months".parse(), Ok(Retention::Months(12)));
        assert_eq!("1 month".parse(), Ok(Retention::Months(1)));
        assert_eq!("90days".parse(), Ok(Retention::Days(90)));
        assert_eq!("1day".parse(), Ok(Retention::Days(1)));
        for bad in ["", "months", "12", "12weeks", "-3days", "0days", "12 months ago", "1.5months"] {
            assert!(bad.parse::<Retention>().is_err(), "{bad}");
        }
        assert_eq!(Retention::default().to_string(), "12months");
        assert_eq!(Retention::Days(90).to_string().parse(), Ok(Retention::Days(90)));
    }

    #[test]
    fn twelve_months_is_the_wider_window() {
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 8, 0, 0).unwrap();
        assert_eq!(Retention::Months(12).cutoff(now), SearchWindow::Wider.cutoff(now));
        assert_eq!(
            Retention::Months(1).cutoff(now),
            Millis::from_datetime(Utc.with_ymd_and_hms(2026, 2, 28, 8, 0, 0).unwrap())
        );
        assert_eq!(
            Retention::Days(31).cutoff(now),
            Millis::from_datetime(Utc.with_ymd_and_hms(2026, 2, 28, 8, 0, 0).unwrap())
        );
        assert_eq!(Retention::Months(u32::MAX).cutoff(now), Millis::from_datetime(DateTime::<Utc>::MIN_UTC));
    }
}
