//! The caller-attribute rule of the Interact API, as pure functions.
//!
//! - Per interaction and kind only the **latest allocation** counts ("if the variable is allocated
//!   more than once, the latest value is used"); equal allocation times: the one recorded last.
//! - A lookup matches a value against the current allocations (of every kind, or of one kind).
//! - Among matching interactions in the window, the newest matching allocation wins; ties go to the
//!   newest start, then the greatest id.
//!
//! The stores implement the same rule in SQL over indexes; the contract tests hold them to it.

use crate::model::record::{CallerAttribute, CallerAttributeKind};
use crate::model::time::Millis;
use std::cmp::Ordering;

/// The allocations that count: one per kind, the latest.
pub fn current_allocations(allocations: &[CallerAttribute]) -> Vec<&CallerAttribute> {
    let mut latest: Vec<&CallerAttribute> = Vec::new();
    for a in allocations {
        match latest.iter_mut().find(|l| l.kind == a.kind) {
            Some(slot) if a.allocated_at >= slot.allocated_at => *slot = a,
            Some(_) => {}
            None => latest.push(a),
        }
    }
    latest.sort_by_key(|a| a.kind);
    latest
}

/// An interaction that matched a lookup, with what the tie rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub interaction_id: &'a str,
    pub started_at: Millis,
    pub last_activity: Millis,
    /// The matching current allocation's time.
    pub allocated_at: Millis,
}

/// Orders candidates best first: newest allocation, then newest start, then greatest id.
pub fn precedence(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    b.allocated_at
        .cmp(&a.allocated_at)
        .then(b.started_at.cmp(&a.started_at))
        .then(b.interaction_id.cmp(a.interaction_id))
}

/// The interaction a value resolves to among `candidates` whose last activity is at or after
/// `cutoff`; `None` when nothing matches.
pub fn resolve<'a>(candidates: &[Candidate<'a>], cutoff: Millis) -> Option<&'a str> {
    candidates.iter().filter(|c| c.last_activity >= cutoff).min_by(|a, b| precedence(a, b)).map(|c| c.interaction_id)
}

/// Whether an interaction's allocations currently match `value` (for `kind`, or for any kind), and
/// when that matching allocation was made.
pub fn matching_allocation(
    allocations: &[CallerAttribute],
    value: &str,
    kind: Option<CallerAttributeKind>,
) -> Option<Millis> {
    current_allocations(allocations)
        .into_iter()
        .filter(|a| a.value == value && kind.is_none_or(|k| k == a.kind))
        .map(|a| a.allocated_at.0)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::IsoDate;

    fn alloc(kind: CallerAttributeKind, value: &str, at: i64) -> CallerAttribute {
        CallerAttribute { kind, value: value.into(), allocated_at: IsoDate(Millis(at)) }
    }

    #[test]
    fn only_the_latest_allocation_per_kind_counts() {
        use CallerAttributeKind::*;
        let a =
            [alloc(HistorySearchId, "history0", 10), alloc(Dtmf, "4567", 11), alloc(HistorySearchId, "history1", 20)];
        assert_eq!(matching_allocation(&a, "history0", None), None);
        assert_eq!(matching_allocation(&a, "history1", None), Some(Millis(20)));
        assert_eq!(matching_allocation(&a, "4567", Some(Dtmf)), Some(Millis(11)));
        assert_eq!(matching_allocation(&a, "4567", Some(CallerId)), None);
        // Written out of order: time decides, not position.
        let b = [alloc(HistorySearchId, "late", 30), alloc(HistorySearchId, "early", 5)];
        assert_eq!(matching_allocation(&b, "late", None), Some(Millis(30)));
        assert_eq!(matching_allocation(&b, "early", None), None);
        // Same instant: the one recorded last.
        let c = [alloc(Dnid, "first", 7), alloc(Dnid, "second", 7)];
        assert_eq!(matching_allocation(&c, "second", None), Some(Millis(7)));
    }

    #[test]
    fn newest_allocation_wins_then_start_then_id() {
        let cand = |id, started, alloc| Candidate {
            interaction_id: id,
            started_at: Millis(started),
            last_activity: Millis(started + 100),
            allocated_at: Millis(alloc),
        };
        let cs = [cand("a", 10, 50), cand("b", 20, 40)];
        assert_eq!(resolve(&cs, Millis(0)), Some("a"));
        let cs = [cand("a", 10, 50), cand("b", 20, 50)];
        assert_eq!(resolve(&cs, Millis(0)), Some("b"));
        let cs = [cand("a", 20, 50), cand("b", 20, 50)];
        assert_eq!(resolve(&cs, Millis(0)), Some("b"));
        // Outside the window nothing matches, even the best.
        assert_eq!(resolve(&cs, Millis(1_000)), None);
        // The window filters first: the older-but-inside one wins.
        let cs = [cand("old", 10, 90), cand("new", 900, 10)];
        assert_eq!(resolve(&cs, Millis(500)), Some("new"));
    }
}
