//! `docs/RECORDS.md` documents the record format: every example it marks as a record (a fenced
//! block opened with "```json record") imports without error through the path of `ixgw import`, and
//! is served back, so that the document cannot drift from the code. Syntax errors of a stream are
//! placed by line and column.

use crate::helpers::*;
use ixgw_core::model::record::InteractionRecord;
use std::collections::BTreeSet;

const TENANT: &str = "12345678";
const DEMO_KEY: &str = "demo-application-key";

/// The record examples of `docs/RECORDS.md`: the line each starts on, and its text.
fn documented_records() -> Vec<(usize, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/RECORDS.md");
    let doc = std::fs::read_to_string(path).expect("docs/RECORDS.md");
    let mut examples = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, line) in doc.lines().enumerate() {
        match open.as_mut() {
            None if line.trim_end() == "```json record" => open = Some((n + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => examples.extend(open.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(open.is_none(), "docs/RECORDS.md: a record block is not closed");
    examples
}

store_tests!(every_record_example_of_the_documentation_imports, syntax_errors_are_placed_by_line_and_column);

async fn every_record_example_of_the_documentation_imports(backend: Backend) {
    let app = TestApp::spawn_full(backend, SpawnOptions { demo: false, now: Some(demo_now()) }, |_| {}).await;
    let examples = documented_records();
    let mut kinds = BTreeSet::new();
    for (line, text) in &examples {
        let report = app.import_ndjson(text).await;
        assert_eq!((report.accepted, report.rejected), (1, 0), "docs/RECORDS.md:{line}: {:?}", report.first_rejections);
        let record = InteractionRecord::from_json(text).expect("an imported record parses");
        let choices =
            record.pages.iter().flat_map(|p| &p.page_content.content_sections).flat_map(|s| &s.section_choices);
        kinds.extend(choices.map(|c| c.kind.member_name()));

        // Served back: the full flow has the record's pages.
        let path = format!("/interact/agent/version/2/account/{TENANT}/interactiondata/{}/fullFlow", record.id);
        let reply = app.get(&path, &[("Tenant-Id", TENANT), ("Application-Key", DEMO_KEY)]).await;
        assert_eq!(reply.status, 200, "docs/RECORDS.md:{line}: {}", reply.text());
        if !record.pages.is_empty() {
            assert_eq!(reply.json().as_array().map(Vec::len), Some(record.pages.len()), "docs/RECORDS.md:{line}");
        }
    }
    let every_kind =
        ["clickToContinue", "choiceOption", "choiceSwitch", "selectFromList", "textInput", "uploadImageList"];
    for kind in every_kind {
        assert!(kinds.contains(kind), "docs/RECORDS.md has no record with a {kind} choice");
    }
}

async fn syntax_errors_are_placed_by_line_and_column(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let good = r#"{"tenant":"12345678","id":"s1","started_at":"2026-10-01T09:33:10Z"}"#;
    let comma = r#"{"tenant":"12345678","id":"s2","started_at":"2026-10-01T09:33:10Z",}"#;
    // NDJSON: the third line, the column of the `}` after the comma.
    let report = app.import_ndjson(&format!("{good}\n\n{comma}\n")).await;
    let messages: Vec<String> = report.first_rejections.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["test:3: rejected: line 3, column 68: trailing comma"]);
    // An array on one line: the column counts from the start of the line, not of the record.
    let report = app.import_ndjson(&format!("[{good}, {comma}]")).await;
    let messages: Vec<String> = report.first_rejections.iter().map(ToString::to_string).collect();
    assert_eq!(messages, [format!("test:1: rejected: line 1, column {}: trailing comma", good.len() + 3 + 68)]);
    // A pretty-printed record: the line inside it.
    let report = app.import_ndjson("{\n  \"tenant\": \"12345678\",\n  \"id\": \"s3\",\n}\n").await;
    let messages: Vec<String> = report.first_rejections.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["test:1: rejected: line 4, column 1: trailing comma"]);
    // The ingest API: path `$`, the position at the end of the reason.
    let key = app.add_key(TENANT, "production", "ingest").await;
    let auth = format!("Bearer {key}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/x-ndjson")];
    let reply = app.post("/v1/interactions", &headers, format!("{good}\n{comma}\n")).await;
    assert_eq!(reply.status, 422, "{}", reply.text());
    let result = &reply.json()["results"][0];
    assert_eq!((&result["line"], &result["path"]), (&2.into(), &"$".into()), "{result}");
    assert_eq!(result["reason"], "trailing comma at line 2, column 68", "{result}");
}
