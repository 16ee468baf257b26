//! `ixgw shadow report`: what shadow mode compared, for people — per operation the counts of each
//! outcome, then each differing sample kept: when, the tenant, the request (no key), both
//! statuses and a unified diff of the two bodies (vendor first).

use ixgw_store::{ShadowCount, ShadowSample};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The outcomes, in the order the report lists them.
pub const OUTCOMES: [&str; 4] = ["same", "differ", "missing", "upstream_failed"];

/// The report of `counts` and `samples` (as `ixgw_store::Database::shadow_report` gives them).
pub fn render(counts: &[ShadowCount], samples: &[ShadowSample]) -> String {
    let mut by_operation: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for c in counts {
        *by_operation.entry(&c.operation).or_default().entry(&c.outcome).or_default() += c.count;
    }
    let mut out = String::new();
    if by_operation.is_empty() {
        out.push_str("nothing compared yet (is upstream.mode = \"shadow\", and do clients call the gateway?)\n");
        return out;
    }
    let width = by_operation.keys().map(|o| o.len()).max().unwrap_or(9).max("operation".len());
    let _ = write!(out, "{:<width$}", "operation");
    for outcome in OUTCOMES {
        let _ = write!(out, " {outcome:>15}");
    }
    out.push('\n');
    for (operation, outcomes) in &by_operation {
        let _ = write!(out, "{operation:<width$}");
        for outcome in OUTCOMES {
            let _ = write!(out, " {:>15}", outcomes.get(outcome).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    if samples.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n{} differing samples kept:", samples.len());
    for sample in samples {
        let at = chrono::DateTime::from_timestamp_millis(sample.at).map(|t| t.to_rfc3339()).unwrap_or_default();
        let _ = writeln!(
            out,
            "\n=== {} {} at {at}, tenant {}\n{}",
            sample.operation,
            sample.outcome,
            if sample.tenant.is_empty() { "(none)" } else { &sample.tenant },
            sample.request.trim_end()
        );
        let _ = writeln!(out, "--- vendor {}\n+++ gateway {}", sample.vendor_status, sample.local_status);
        out.push_str(&diff(&sample.vendor_body, &sample.local_body));
    }
    out
}

/// A unified diff of two bodies; JSON bodies are compared pretty-printed, other text line by
/// line, and bytes that are not text by size.
fn diff(vendor: &[u8], local: &[u8]) -> String {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(vendor), std::str::from_utf8(local)) else {
        return format!("@@ binary: {} bytes / {} bytes\n", vendor.len(), local.len());
    };
    let (a, b) = (readable(a), readable(b));
    let diff = similar::TextDiff::from_lines(&a, &b);
    let text = diff.unified_diff().context_radius(3).to_string();
    if text.is_empty() {
        "@@ the bodies are the same (the statuses or content types differ)\n".to_string()
    } else {
        text
    }
}

/// JSON pretty-printed (members sorted, so that order alone shows no change), XML with a line per
/// element; else as it is.
fn readable(text: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        return serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_string()) + "\n";
    }
    if text.trim_start().starts_with('<') {
        return text.replace("><", ">\n<") + "\n";
    }
    format!("{text}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_operation_and_a_diff_per_sample() {
        let count = |operation: &str, outcome: &str, count| ShadowCount {
            minute: 1,
            operation: operation.into(),
            outcome: outcome.into(),
            count,
        };
        let counts = [
            count("fullFlow", "same", 5),
            count("fullFlow", "same", 2),
            count("fullFlow", "missing", 1),
            count("interaction", "differ", 1),
        ];
        let samples = [ShadowSample {
            at: 1_795_255_205_000,
            operation: "interaction".into(),
            outcome: "differ".into(),
            tenant: "12345678".into(),
            request: "GET /interactions/a\ncontactcenterid: 12345678\n".into(),
            vendor_status: 200,
            vendor_body: br#"{"interaction_id":"a","end_date":"2026-01-01T00:00:00.000Z"}"#.to_vec(),
            local_status: 200,
            local_body: br#"{"interaction_id":"a"}"#.to_vec(),
        }];
        let text = render(&counts, &samples);
        let table: Vec<&str> = text.lines().take(3).collect();
        assert!(table[0].starts_with("operation") && table[0].contains("upstream_failed"), "{text}");
        let numbers = |line: &str| line.split_whitespace().skip(1).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(numbers(table[1]), ["7", "0", "1", "0"], "{text}");
        assert_eq!(numbers(table[2]), ["0", "1", "0", "0"], "{text}");
        assert!(text.contains("=== interaction differ at 2026-11-21T") && text.contains("tenant 12345678"), "{text}");
        assert!(text.contains("GET /interactions/a"), "{text}");
        assert!(text.contains("-  \"end_date\": \"2026-01-01T00:00:00.000Z\","), "{text}");
        assert!(text.contains("--- vendor 200\n+++ gateway 200"), "{text}");
        assert_eq!(render(&[], &[]).lines().count(), 1);
    }
}
