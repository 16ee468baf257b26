//! The Interact search window: the past 3 calendar months, or 12 with `widerSearch=true`,
//! measured on an interaction's last activity.

use crate::model::time::Millis;
use chrono::{DateTime, Months, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchWindow {
    /// The past 3 calendar months (the vendor's default).
    #[default]
    Recent,
    /// The past 12 calendar months (`widerSearch=true`).
    Wider,
}

impl SearchWindow {
    /// Parses the `widerSearch` parameter: absent, `true` or `false` (any case); anything else is
    /// refused so that a typo never silently narrows a search.
    pub fn from_param(value: Option<&str>) -> Option<Self> {
        match value {
            None => Some(Self::Recent),
            Some(v) if v.eq_ignore_ascii_case("true") => Some(Self::Wider),
            Some(v) if v.eq_ignore_ascii_case("false") => Some(Self::Recent),
            Some(_) => None,
        }
    }

    pub fn months(self) -> u32 {
        match self {
            Self::Recent => 3,
            Self::Wider => 12,
        }
    }

    /// The oldest last-activity instant still inside the window at `now`. Calendar months: from
    /// 31 May the 3-month window starts on 28 or 29 February (chrono clamps to the month's end).
    pub fn cutoff(self, now: DateTime<Utc>) -> Millis {
        let start = now.checked_sub_months(Months::new(self.months())).unwrap_or(DateTime::<Utc>::MIN_UTC);
        Millis::from_datetime(start)
    }

    pub fn contains(self, now: DateTime<Utc>, last_activity: Millis) -> bool {
        last_activity >= self.cutoff(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn windows_are_calendar_months() {
        let now = at(2026, 11, 21);
        assert_eq!(SearchWindow::Recent.cutoff(now), Millis::from_datetime(at(2026, 8, 21)));
        assert_eq!(SearchWindow::Wider.cutoff(now), Millis::from_datetime(at(2025, 11, 21)));
        // Month ends clamp instead of overflowing into the next month.
        assert_eq!(SearchWindow::Recent.cutoff(at(2026, 5, 31)), Millis::from_datetime(at(2026, 2, 28)));
    }

    #[test]
    fn four_months_needs_the_wider_window_and_thirteen_is_never_found() {
        let now = at(2026, 11, 21);
        let four = Millis::from_datetime(at(2026, 7, 21));
        let thirteen = Millis::from_datetime(at(2025, 10, 21));
        assert!(!SearchWindow::Recent.contains(now, four));
        assert!(SearchWindow::Wider.contains(now, four));
        assert!(!SearchWindow::Wider.contains(now, thirteen));
        // The edge itself is inside.
        assert!(SearchWindow::Recent.contains(now, SearchWindow::Recent.cutoff(now)));
    }

    #[test]
    fn wider_search_parameter() {
        assert_eq!(SearchWindow::from_param(None), Some(SearchWindow::Recent));
        assert_eq!(SearchWindow::from_param(Some("true")), Some(SearchWindow::Wider));
        assert_eq!(SearchWindow::from_param(Some("FALSE")), Some(SearchWindow::Recent));
        assert_eq!(SearchWindow::from_param(Some("yes")), None);
        assert_eq!(SearchWindow::from_param(Some("")), None);
    }
}
