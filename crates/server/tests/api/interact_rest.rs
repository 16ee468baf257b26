//! Interact REST over HTTP against the running server, on SQLite and PostgreSQL
//! (spec `interact-rest.md`, conventions in `docs/INTERACT-REST.md`).
//!
//! Golden files (`fixtures/golden/interact/`) pin the demo answers byte for byte. They are written
//! pretty-printed for reviewers and compared with the compact wire form. After a deliberate change,
//! regenerate them with `UPDATE_GOLDEN=1 cargo test -p ixgw --test interact_rest` and review the diff.

use crate::helpers::*;
use ixgw_core::model::record::InteractionRecord;
use ixgw_core::Millis;
use serde_json::json;
use std::path::PathBuf;

const BASE: &str = "/interact/agent/version/2/account/12345678";
const TENANT: &str = "12345678";
const KEY: &str = "demo-application-key";
const JSON: &str = "application/json;charset=UTF-8";
const TEXT: &str = "text/plain;charset=UTF-8";
const UNAUTHORIZED: &str = concat!(
    r#"{"code":"0x7000000","message":"Request is unauthorized, missing or wrong credentials","#,
    r#""moreInfoUrl":"http://support.uniphore.com"}"#
);

// --- requests ------------------------------------------------------------------------------------

type Headers<'a> = Vec<(&'a str, &'a str)>;

impl Reply {
    /// The full flow's page titles, in order.
    fn titles(&self) -> Vec<String> {
        let pages = self.json();
        pages
            .as_array()
            .expect("an array")
            .iter()
            .map(|p| p["pageNavigation"]["navigationTitle"].as_str().unwrap().to_string())
            .collect()
    }
    #[track_caller]
    fn assert_unauthorized(&self, reason: &str) {
        self.assert(401, JSON, UNAUTHORIZED);
        assert_eq!(self.header("unauthenticated-reason"), Some(reason));
    }
}

/// GET with exactly these headers.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    app.get(path, headers).await
}

/// GET as the demo's production client.
async fn get(app: &TestApp, path: &str) -> Reply {
    get_with(app, path, &[("Tenant-Id", TENANT), ("Application-Key", KEY)]).await
}

/// GET in the demo tenant's staging environment, with a staging key.
async fn get_staging(app: &TestApp, key: &str, path: &str) -> Reply {
    get_with(app, path, &[("Tenant-Id", TENANT), ("Application-Key", key), ("Environment-Name", "staging")]).await
}

fn p(path: &str) -> String {
    format!("{BASE}{path}")
}

/// Percent-encodes everything but unreserved characters (what a careful client sends).
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The demo's fixed clock as an ISO date, moved by `days` (negative: the past).
fn days_from_now(days: f64) -> String {
    demo_now().shifted((days * 86_400_000.0) as i64).to_iso_millis()
}

fn day_ms(days: f64) -> i64 {
    demo_now().shifted((days * 86_400_000.0) as i64).0
}

/// A store with the demo tenant and key but no records, its clock fixed at [`demo_now`].
async fn spawn_fixed(backend: Backend) -> TestApp {
    TestApp::spawn_full(backend, SpawnOptions { demo: false, now: Some(demo_now()) }, |_| {}).await
}

/// A small record of the demo tenant: pages titled `<id> page <n>`.
fn record(id: &str, age_days: f64, pages: usize, attributes: &[(&str, &str, f64)]) -> serde_json::Value {
    let pages: Vec<_> = (1..=pages)
        .map(|n| {
            json!({"pageNavigation": {"navigationTitle": format!("{id} page {n}")},
                   "pageContent": {"contentSections": []},
                   "timestamp": day_ms(-age_days) - 60_000 + n as i64 * 1000})
        })
        .collect();
    let attributes: Vec<_> = attributes
        .iter()
        .map(|(kind, value, age)| json!({"kind": kind, "value": value, "allocated_at": days_from_now(-age)}))
        .collect();
    json!({"tenant": TENANT, "id": id, "started_at": days_from_now(-age_days - 0.01),
           "ended_at": days_from_now(-age_days), "caller_attributes": attributes, "pages": pages})
}

async fn import(app: &TestApp, records: &[serde_json::Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let report = app.import_ndjson(&text).await;
    assert_eq!((report.accepted, report.rejected), (records.len(), 0), "{:?}", report.first_rejections);
}

// --- golden files --------------------------------------------------------------------------------

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/interact").join(name)
}

/// Compact JSON made readable: a line per member or element, 2-space indent. Only whitespace
/// outside strings is added, so [`minify`] gives the exact compact text back.
fn pretty(compact: &str) -> String {
    fn newline(out: &mut String, depth: usize) {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    let (mut out, mut depth, mut in_string, mut escaped) = (String::new(), 0usize, false, false);
    let mut chars = compact.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' if matches!(chars.peek(), Some('}' | ']')) => {
                out.push(c);
                out.push(chars.next().unwrap());
            }
            '{' | '[' => {
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// Removes the whitespace outside strings.
fn minify(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::with_capacity(text.len()), false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

/// Compares a compact JSON answer with its golden file; `UPDATE_GOLDEN=1` rewrites the file instead.
#[track_caller]
fn check_golden(name: &str, body: &str) {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pretty(body)).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): generate it with UPDATE_GOLDEN=1 and review it", path.display()));
    if minify(&golden) != body {
        assert_eq!(golden, pretty(body), "{} differs from the answer", path.display());
        panic!("{} differs from the answer in whitespace inside the compact text", path.display());
    }
}

/// The demo fixture record with this id, its dates moved as the fixed-clock demo moves them.
fn demo_record(id: &str) -> InteractionRecord {
    let line = ixgw::demo::INTERACTIONS
        .lines()
        .find(|l| l.contains(&format!(r#""id":"{id}""#)))
        .unwrap_or_else(|| panic!("demo record {id}"));
    let mut record = InteractionRecord::from_json(line).unwrap();
    record.shift_dates(demo_now().0 - ixgw::demo::anchor().0);
    record
}

/// The demo interactions that have pages and are found in some window: (id, environment, query).
const DEMO_FLOWS: [(&str, &str, &str); 7] = [
    ("040100713", "production", ""),
    ("040100709", "production", ""),
    ("040100730", "production", ""),
    ("040100650", "production", "?widerSearch=true"),
    ("040100740", "staging", ""),
    ("00001a57JGQ00C10", "production", ""),
    // The hostile record: script, event handlers and javascript: URLs, served as text.
    ("040100766", "production", ""),
];

/// Every variable set of the demo: (id, environment, query, set).
const DEMO_VARIABLE_SETS: [(&str, &str, &str, &str); 7] = [
    ("040100713", "production", "", "customerInfoSet"),
    ("040100713", "production", "", "repairInfoSet"),
    ("040100709", "production", "", "customerInfoSet"),
    ("040100730", "production", "", "customerInfoSet"),
    ("040100650", "production", "?widerSearch=true", "billingSet"),
    ("040100740", "staging", "", "customerInfoSet"),
    ("040100766", "production", "", "hostileSet"),
];

async fn get_in(app: &TestApp, staging_key: &str, environment: &str, path: &str) -> Reply {
    match environment {
        "staging" => get_staging(app, staging_key, path).await,
        _ => get(app, path).await,
    }
}

// --- the tests -----------------------------------------------------------------------------------

#[test]
fn pretty_and_minify_round_trip() {
    let compact = r#"{"a":[1,{"b":"x, y: {z}","c":[]}],"d":"q\"{,}\\","e":{}}"#;
    assert_eq!(minify(&pretty(compact)), compact);
    assert!(pretty(compact).contains("\n    {\n      \"b\": \"x, y: {z}\",\n"));
}

store_tests!(
    demo_answers_match_the_golden_files,
    the_full_flow_is_the_stored_pages_rendered_from_the_typed_model,
    version_forms,
    credentials,
    every_route_authenticates_and_refuses_other_methods,
    the_search_window,
    the_window_edges_with_a_fixed_clock,
    caller_attributes_resolve_to_the_newest_allocation,
    a_shared_dtmf_value_goes_to_the_newest_allocation,
    a_reallocated_history_search_id_no_longer_matches,
    environment_name_selects_the_data,
    tenants_see_only_their_own_history,
    an_empty_history_is_an_empty_body,
    the_empty_history_as_an_array_when_configured,
    ids_that_need_percent_encoding,
    variable_sets,
    unique_ids,
    photos,
    a_photo_that_cannot_be_scaled_is_an_opaque_500,
    an_unreachable_store_is_a_503_with_retry_after
);

async fn demo_answers_match_the_golden_files(backend: Backend) {
    cases::demo_answers_match_the_golden_files(backend).await
}
async fn the_full_flow_is_the_stored_pages_rendered_from_the_typed_model(backend: Backend) {
    cases::the_full_flow_is_the_stored_pages_rendered_from_the_typed_model(backend).await
}
async fn version_forms(backend: Backend) {
    cases::version_forms(backend).await
}
async fn credentials(backend: Backend) {
    cases::credentials(backend).await
}
async fn every_route_authenticates_and_refuses_other_methods(backend: Backend) {
    cases::every_route_authenticates_and_refuses_other_methods(backend).await
}
async fn the_search_window(backend: Backend) {
    cases::the_search_window(backend).await
}
async fn the_window_edges_with_a_fixed_clock(backend: Backend) {
    cases::the_window_edges_with_a_fixed_clock(backend).await
}
async fn caller_attributes_resolve_to_the_newest_allocation(backend: Backend) {
    cases::caller_attributes_resolve_to_the_newest_allocation(backend).await
}
async fn a_shared_dtmf_value_goes_to_the_newest_allocation(backend: Backend) {
    cases::a_shared_dtmf_value_goes_to_the_newest_allocation(backend).await
}
async fn a_reallocated_history_search_id_no_longer_matches(backend: Backend) {
    cases::a_reallocated_history_search_id_no_longer_matches(backend).await
}
async fn environment_name_selects_the_data(backend: Backend) {
    cases::environment_name_selects_the_data(backend).await
}
async fn tenants_see_only_their_own_history(backend: Backend) {
    cases::tenants_see_only_their_own_history(backend).await
}
async fn an_empty_history_is_an_empty_body(backend: Backend) {
    cases::an_empty_history_is_an_empty_body(backend).await
}
async fn the_empty_history_as_an_array_when_configured(backend: Backend) {
    cases::the_empty_history_as_an_array_when_configured(backend).await
}
async fn ids_that_need_percent_encoding(backend: Backend) {
    cases::ids_that_need_percent_encoding(backend).await
}
async fn variable_sets(backend: Backend) {
    cases::variable_sets(backend).await
}
async fn unique_ids(backend: Backend) {
    cases::unique_ids(backend).await
}
async fn photos(backend: Backend) {
    cases::photos(backend).await
}
async fn a_photo_that_cannot_be_scaled_is_an_opaque_500(backend: Backend) {
    cases::a_photo_that_cannot_be_scaled_is_an_opaque_500(backend).await
}
async fn an_unreachable_store_is_a_503_with_retry_after(backend: Backend) {
    cases::an_unreachable_store_is_a_503_with_retry_after(backend).await
}

/// The test bodies, outside the macro so that rustfmt formats them.
mod cases {
    use super::*;

    pub async fn demo_answers_match_the_golden_files(backend: Backend) {
        let app = TestApp::spawn_demo_fixed(backend).await;
        let staging = app.add_key(TENANT, "staging", "read").await;
        // Every demo record with pages is either pinned here or never found at all.
        for line in ixgw::demo::INTERACTIONS.lines() {
            let record = InteractionRecord::from_json(line).unwrap();
            let pinned = DEMO_FLOWS.iter().any(|(id, ..)| *id == record.id);
            assert!(pinned || record.pages.is_empty() || record.id == "039900100", "{} has no golden file", record.id);
        }
        for (id, env, query) in DEMO_FLOWS {
            let flow = get_in(&app, &staging, env, &p(&format!("/interactiondata/{id}/fullFlow{query}"))).await;
            assert_eq!((flow.status, flow.header("content-type")), (200, Some(JSON)), "{id}: {}", flow.text());
            check_golden(&format!("{id}.fullFlow.json"), flow.text());
            let summary = get_in(&app, &staging, env, &p(&format!("/interactiondata/{id}/summary{query}"))).await;
            assert_eq!((summary.status, summary.header("content-type")), (200, Some(JSON)), "{id}");
            check_golden(&format!("{id}.summary.json"), summary.text());
        }
        for (id, env, query, set) in DEMO_VARIABLE_SETS {
            let reply =
                get_in(&app, &staging, env, &p(&format!("/interactiondata/{id}/variableSet/{set}{query}"))).await;
            assert_eq!((reply.status, reply.header("content-type")), (200, Some(JSON)), "{id} {set}");
            check_golden(&format!("{id}.variableSet.{set}.json"), reply.text());
        }
    }

    pub async fn the_full_flow_is_the_stored_pages_rendered_from_the_typed_model(backend: Backend) {
        let app = TestApp::spawn_demo_fixed(backend).await;
        let staging = app.add_key(TENANT, "staging", "read").await;
        for (id, env, query) in DEMO_FLOWS {
            let expected: Vec<String> = demo_record(id).pages.iter().map(|page| page.to_json()).collect();
            let flow = get_in(&app, &staging, env, &p(&format!("/interactiondata/{id}/fullFlow{query}"))).await;
            assert_eq!(flow.text(), format!("[{}]", expected.join(",")), "{id}");
        }
        // The main flow: 6 pages in navigation order, absent members left out.
        let flow = get(&app, &p("/interactiondata/040100713/fullFlow")).await;
        let pages = flow.json();
        assert_eq!(pages.as_array().unwrap().len(), 6);
        let stamps: Vec<i64> = pages.as_array().unwrap().iter().map(|p| p["timestamp"].as_i64().unwrap()).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
        assert!(!flow.text().contains("null"));
        let keys: Vec<&String> = pages[0].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);
        assert!(flow.text().starts_with(r#"[{"pageNavigation":{"navigationTitle":"Repairs & Returns""#));
    }

    pub async fn version_forms(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        for version in ["1", "2", "3", "v1", "v2", "v10"] {
            let reply = get(
                &app,
                &format!("/interact/agent/version/{version}/account/12345678/interactiondata/040100713/fullFlow"),
            )
            .await;
            assert_eq!(reply.status, 200, "{version}");
        }
        for version in ["x", "0", "v", "v0", "V2", "2.0", "two", "%20"] {
            let path = format!("/interact/agent/version/{version}/account/12345678/interactiondata/040100713/fullFlow");
            get(&app, &path).await.assert(400, TEXT, "missing or invalid parameter version");
            let path = format!("/interact/agent/version/{version}/account/12345678/uniqueId/dtmf/4567");
            get(&app, &path).await.assert(400, TEXT, "missing or invalid parameter version");
        }
        // Credentials are checked first: a stranger learns nothing about valid requests.
        let reply =
            get_with(&app, "/interact/agent/version/x/account/12345678/interactiondata/040100713/fullFlow", &[]).await;
        reply.assert_unauthorized("missing Tenant-Id header");
    }

    pub async fn credentials(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        app.add_tenant("99999999", &["production"]).await;
        let other_tenant = app.add_key("99999999", "production", "read").await;
        let staging = app.add_key(TENANT, "staging", "read").await;
        let revoked = app.add_key(TENANT, "production", "read").await;
        app.revoke_key(&revoked).await;
        let ingest = app.add_key(TENANT, "production", "ingest").await;
        let admin = app.add_key(TENANT, "production", "admin").await;
        let flow = p("/interactiondata/040100713/fullFlow");
        let cases: Vec<(&str, Headers, &str)> = vec![
            ("no headers", vec![], "missing Tenant-Id header"),
            ("no Tenant-Id", vec![("Application-Key", KEY)], "missing Tenant-Id header"),
            ("empty Tenant-Id", vec![("Tenant-Id", ""), ("Application-Key", KEY)], "missing Tenant-Id header"),
            ("no key", vec![("Tenant-Id", TENANT)], "missing Application-Key header"),
            ("empty key", vec![("Tenant-Id", TENANT), ("Application-Key", "")], "missing Application-Key header"),
            (
                "tenant/account mismatch",
                vec![("Tenant-Id", "99999999"), ("Application-Key", KEY)],
                "Tenant-Id does not match account",
            ),
            ("unknown key", vec![("Tenant-Id", TENANT), ("Application-Key", "guess")], "unknown application key"),
            (
                "key of another tenant",
                vec![("Tenant-Id", TENANT), ("Application-Key", other_tenant.as_str())],
                "unknown application key",
            ),
            (
                "revoked key",
                vec![("Tenant-Id", TENANT), ("Application-Key", revoked.as_str())],
                "application key revoked",
            ),
            (
                "staging key, default environment",
                vec![("Tenant-Id", TENANT), ("Application-Key", staging.as_str())],
                "unknown environment",
            ),
            (
                "production key, staging",
                vec![("Tenant-Id", TENANT), ("Application-Key", KEY), ("Environment-Name", "staging")],
                "unknown environment",
            ),
            (
                "unknown environment",
                vec![("Tenant-Id", TENANT), ("Application-Key", KEY), ("Environment-Name", "nowhere")],
                "unknown environment",
            ),
            (
                "ingest key",
                vec![("Tenant-Id", TENANT), ("Application-Key", ingest.as_str())],
                "application key scope does not allow this operation",
            ),
        ];
        for (what, headers, reason) in &cases {
            let reply = get_with(&app, &flow, headers).await;
            assert_eq!(reply.status, 401, "{what}");
            reply.assert_unauthorized(reason);
        }
        // A key of another tenant on that tenant's own account works there and only there.
        let reply = get_with(
            &app,
            "/interact/agent/version/2/account/99999999/interactiondata/040100713/fullFlow",
            &[("Tenant-Id", "99999999"), ("Application-Key", other_tenant.as_str())],
        )
        .await;
        reply.assert(404, TEXT, "history for UUID 040100713 was not found");
        // Whether an account exists is not told: an existing and a made-up one answer alike.
        for account in ["99999999", "55555555"] {
            let path = format!("/interact/agent/version/2/account/{account}/interactiondata/040100713/fullFlow");
            get_with(&app, &path, &[("Tenant-Id", account), ("Application-Key", KEY)])
                .await
                .assert_unauthorized("unknown application key");
        }
        // The right credentials: the default environment explicitly, an admin key, the staging key in staging.
        let ok = get_with(
            &app,
            &flow,
            &[("Tenant-Id", TENANT), ("Application-Key", KEY), ("Environment-Name", "production")],
        )
        .await;
        assert_eq!(ok.status, 200);
        assert_eq!(get_with(&app, &flow, &[("Tenant-Id", TENANT), ("Application-Key", &admin)]).await.status, 200);
        let history1 = p("/interactiondata/history1/fullFlow/byCallerAttribute");
        assert_eq!(get_staging(&app, &staging, &history1).await.status, 200);
    }

    pub async fn every_route_authenticates_and_refuses_other_methods(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let routes = [
            "/interactiondata/040100713/fullFlow",
            "/interactiondata/4567/fullFlow/byCallerAttribute",
            "/interactiondata/040100713/summary",
            "/interactiondata/4567/summary/byCallerAttribute",
            "/interactiondata/040100713/variableSet/customerInfoSet",
            "/interactiondata/4567/variableSet/customerInfoSet/byCallerAttribute",
            "/uniqueId/dtmf/4567",
            "/photo/040100713/%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579",
            "/photo/040100713",
        ];
        for route in routes {
            get_with(&app, &p(route), &[("Tenant-Id", TENANT)])
                .await
                .assert_unauthorized("missing Application-Key header");
            let mismatch = get_with(&app, &p(route), &[("Tenant-Id", "1234567"), ("Application-Key", KEY)]).await;
            mismatch.assert_unauthorized("Tenant-Id does not match account");
            for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH]
            {
                let reply =
                    app.send(method.clone(), &p(route), &[("Tenant-Id", TENANT), ("Application-Key", KEY)], None).await;
                assert_eq!((reply.status, reply.header("allow")), (405, Some("GET")), "{method} {route}");
            }
        }
    }

    pub async fn the_search_window(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        // About 4 months old: only with widerSearch=true, by unique id and by attribute alike.
        for (path, not_found) in [
            ("/interactiondata/040100650/fullFlow", "history for UUID 040100650 was not found"),
            (
                "/interactiondata/history-old/fullFlow/byCallerAttribute",
                "history for attribute history-old was not found",
            ),
            ("/interactiondata/040100650/summary", "history for UUID 040100650 was not found"),
            ("/interactiondata/040100650/variableSet/billingSet", "history for UUID 040100650 was not found"),
        ] {
            get(&app, &p(path)).await.assert(404, TEXT, not_found);
            get(&app, &p(&format!("{path}?widerSearch=false"))).await.assert(404, TEXT, not_found);
            assert_eq!(get(&app, &p(&format!("{path}?widerSearch=true"))).await.status, 200, "{path}");
            assert_eq!(get(&app, &p(&format!("{path}?widerSearch=TRUE"))).await.status, 200, "{path}");
        }
        let wider = get(&app, &p("/interactiondata/history-old/fullFlow/byCallerAttribute?widerSearch=true")).await;
        assert_eq!(wider.titles().len(), 2);
        // About 13 months old: never.
        for query in ["", "?widerSearch=true"] {
            get(&app, &p(&format!("/interactiondata/039900100/fullFlow{query}"))).await.assert(
                404,
                TEXT,
                "history for UUID 039900100 was not found",
            );
            get(&app, &p(&format!("/interactiondata/history-ancient/fullFlow/byCallerAttribute{query}"))).await.assert(
                404,
                TEXT,
                "history for attribute history-ancient was not found",
            );
        }
        // Values other than true/false, or two values, are refused.
        for query in ["yes", "1", "", "true&widerSearch=false", "true&widerSearch=true"] {
            for route in [
                "/interactiondata/040100713/fullFlow",
                "/interactiondata/4567/summary/byCallerAttribute",
                "/interactiondata/4567/variableSet/customerInfoSet/byCallerAttribute",
                "/uniqueId/dtmf/4567",
            ] {
                get(&app, &p(&format!("{route}?widerSearch={query}"))).await.assert(
                    400,
                    TEXT,
                    "missing or invalid parameter widerSearch",
                );
            }
        }
        // Other parameters are ignored.
        assert_eq!(get(&app, &p("/interactiondata/040100713/fullFlow?foo=bar&widerSearch=false")).await.status, 200);
    }

    pub async fn the_window_edges_with_a_fixed_clock(backend: Backend) {
        let app = spawn_fixed(backend).await;
        import(
            &app,
            &[
                record("four-months", 122.0, 1, &[("dtmf", "4444", 122.0)]),
                record("thirteen-months", 396.0, 1, &[("dtmf", "1313", 396.0)]),
                record("on-the-edge", 92.0, 1, &[]),
                record("past-the-edge", 92.001, 1, &[]),
            ],
        )
        .await;
        get(&app, &p("/interactiondata/four-months/fullFlow")).await.assert(
            404,
            TEXT,
            "history for UUID four-months was not found",
        );
        assert_eq!(get(&app, &p("/interactiondata/four-months/fullFlow?widerSearch=true")).await.status, 200);
        assert_eq!(get(&app, &p("/uniqueId/dtmf/4444")).await.status, 404);
        get(&app, &p("/uniqueId/dtmf/4444?widerSearch=true")).await.assert(200, JSON, r#"{"uniqueId":"four-months"}"#);
        for query in ["", "?widerSearch=true"] {
            assert_eq!(get(&app, &p(&format!("/interactiondata/thirteen-months/fullFlow{query}"))).await.status, 404);
            assert_eq!(
                get(&app, &p(&format!("/interactiondata/1313/fullFlow/byCallerAttribute{query}"))).await.status,
                404
            );
            assert_eq!(get(&app, &p(&format!("/uniqueId/dtmf/1313{query}"))).await.status, 404);
        }
        // The window starts 3 calendar months before 21 November 12:00, on 21 August 12:00 (92 days):
        // that instant is inside, 86 seconds earlier is not.
        assert_eq!(get(&app, &p("/interactiondata/on-the-edge/fullFlow")).await.status, 200);
        assert_eq!(get(&app, &p("/interactiondata/past-the-edge/fullFlow")).await.status, 404);
    }

    pub async fn caller_attributes_resolve_to_the_newest_allocation(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let main = get(&app, &p("/interactiondata/040100713/fullFlow")).await;
        for value in ["4567", "4321", "2121234567", "%2B15551234567", "+15551234567", "history1"] {
            let reply = get(&app, &p(&format!("/interactiondata/{value}/fullFlow/byCallerAttribute"))).await;
            assert_eq!((reply.status, &reply.body), (200, &main.body), "{value}");
        }
        // history0 was allocated first, then replaced by history1: it finds nothing now.
        for path in [
            "/interactiondata/history0/fullFlow/byCallerAttribute",
            "/interactiondata/history0/summary/byCallerAttribute",
            "/interactiondata/history0/variableSet/customerInfoSet/byCallerAttribute",
        ] {
            get(&app, &p(path)).await.assert(404, TEXT, "history for attribute history0 was not found");
        }
        get(&app, &p("/uniqueId/historySearchId/history0")).await.assert(
            404,
            TEXT,
            "history for attribute history0 was not found",
        );
        for value in ["history2", "7001"] {
            let reply = get(&app, &p(&format!("/interactiondata/{value}/fullFlow/byCallerAttribute"))).await;
            assert_eq!(reply.titles().len(), 3, "{value}");
        }
        // A value that is the unique id of an interaction is not a caller attribute.
        get(&app, &p("/interactiondata/040100713/fullFlow/byCallerAttribute")).await.assert(
            404,
            TEXT,
            "history for attribute 040100713 was not found",
        );
        get(&app, &p("/interactiondata/4567/fullFlow")).await.assert(404, TEXT, "history for UUID 4567 was not found");
    }

    pub async fn a_shared_dtmf_value_goes_to_the_newest_allocation(backend: Backend) {
        let app = spawn_fixed(backend).await;
        // "older" started later but was allocated 5555 earlier: the allocation decides.
        import(
            &app,
            &[record("older", 2.0, 1, &[("dtmf", "5555", 9.0)]), record("newer", 5.0, 2, &[("dtmf", "5555", 6.0)])],
        )
        .await;
        get(&app, &p("/uniqueId/dtmf/5555")).await.assert(200, JSON, r#"{"uniqueId":"newer"}"#);
        let flow = get(&app, &p("/interactiondata/5555/fullFlow/byCallerAttribute")).await;
        assert_eq!(flow.titles(), ["newer page 1", "newer page 2"]);
        // "older" is allocated 5555 again, later: now it wins.
        import(&app, &[record("older", 2.0, 1, &[("dtmf", "5555", 9.0), ("dtmf", "5555", 3.0)])]).await;
        get(&app, &p("/uniqueId/dtmf/5555")).await.assert(200, JSON, r#"{"uniqueId":"older"}"#);
        assert_eq!(get(&app, &p("/interactiondata/5555/fullFlow/byCallerAttribute")).await.titles(), ["older page 1"]);
    }

    pub async fn a_reallocated_history_search_id_no_longer_matches(backend: Backend) {
        let app = spawn_fixed(backend).await;
        import(&app, &[record("case-1", 1.0, 1, &[("historySearchId", "first", 1.5)])]).await;
        assert_eq!(
            get(&app, &p("/interactiondata/first/fullFlow/byCallerAttribute")).await.titles(),
            ["case-1 page 1"]
        );
        // The same interaction, re-imported with the variable allocated again.
        import(
            &app,
            &[record("case-1", 1.0, 1, &[("historySearchId", "first", 1.5), ("historySearchId", "second", 1.2)])],
        )
        .await;
        get(&app, &p("/interactiondata/first/fullFlow/byCallerAttribute")).await.assert(
            404,
            TEXT,
            "history for attribute first was not found",
        );
        get(&app, &p("/uniqueId/historySearchId/first")).await.assert(
            404,
            TEXT,
            "history for attribute first was not found",
        );
        assert_eq!(
            get(&app, &p("/interactiondata/second/fullFlow/byCallerAttribute")).await.titles(),
            ["case-1 page 1"]
        );
        get(&app, &p("/uniqueId/historySearchId/second")).await.assert(200, JSON, r#"{"uniqueId":"case-1"}"#);
    }

    pub async fn environment_name_selects_the_data(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let staging = app.add_key(TENANT, "staging", "read").await;
        let path = p("/interactiondata/history1/fullFlow/byCallerAttribute");
        assert_eq!(
            get_staging(&app, &staging, &path).await.text(),
            get_staging(&app, &staging, &p("/interactiondata/040100740/fullFlow")).await.text()
        );
        assert_eq!(get_staging(&app, &staging, &path).await.titles().len(), 2);
        assert_eq!(get(&app, &path).await.titles().len(), 6);
        get_staging(&app, &staging, &p("/uniqueId/historySearchId/history1")).await.assert(
            200,
            JSON,
            r#"{"uniqueId":"040100740"}"#,
        );
        get(&app, &p("/uniqueId/historySearchId/history1")).await.assert(200, JSON, r#"{"uniqueId":"040100713"}"#);
        // Each environment sees only its own interactions.
        get_staging(&app, &staging, &p("/interactiondata/040100713/fullFlow")).await.assert(
            404,
            TEXT,
            "history for UUID 040100713 was not found",
        );
        get(&app, &p("/interactiondata/040100740/fullFlow")).await.assert(
            404,
            TEXT,
            "history for UUID 040100740 was not found",
        );
        let test_staging = concat!(
            r#"{"voice":{"data":{"firstName":"Test","lastName":"Staging","#,
            r#""customerProfile":"postpaid","customerId":"99999","middleName":""}}}"#
        );
        let set = get_staging(&app, &staging, &p("/interactiondata/040100740/variableSet/customerInfoSet")).await;
        set.assert(200, JSON, test_staging);
    }

    pub async fn tenants_see_only_their_own_history(backend: Backend) {
        let app = spawn_fixed(backend).await;
        app.add_tenant("99999999", &["production"]).await;
        let theirs = app.add_key("99999999", "production", "read").await;
        let mut other = record("040100713", 1.0, 1, &[("dtmf", "4567", 1.0)]);
        other["tenant"] = "99999999".into();
        import(&app, &[record("040100713", 2.0, 2, &[("dtmf", "4567", 2.0)]), other]).await;
        assert_eq!(get(&app, &p("/interactiondata/4567/fullFlow/byCallerAttribute")).await.titles().len(), 2);
        let their_headers = [("Tenant-Id", "99999999"), ("Application-Key", theirs.as_str())];
        let reply = get_with(
            &app,
            "/interact/agent/version/2/account/99999999/interactiondata/4567/fullFlow/byCallerAttribute",
            &their_headers,
        )
        .await;
        assert_eq!(reply.titles().len(), 1);
        // Their key on our account, with either Tenant-Id: refused.
        get_with(
            &app,
            &p("/interactiondata/040100713/fullFlow"),
            &[("Tenant-Id", TENANT), ("Application-Key", &theirs)],
        )
        .await
        .assert_unauthorized("unknown application key");
        get_with(&app, &p("/interactiondata/040100713/fullFlow"), &their_headers)
            .await
            .assert_unauthorized("Tenant-Id does not match account");
    }

    pub async fn an_empty_history_is_an_empty_body(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        for path in ["/interactiondata/040100720/fullFlow", "/interactiondata/history-empty/fullFlow/byCallerAttribute"]
        {
            let reply = get(&app, &p(path)).await;
            reply.assert(200, JSON, "");
            assert_eq!(reply.header("content-length"), Some("0"));
        }
        // The summary of an interaction without input is an empty list.
        get(&app, &p("/interactiondata/040100720/summary")).await.assert(200, JSON, "[]");
    }

    pub async fn the_empty_history_as_an_array_when_configured(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.interact.empty_flow_as_array = true).await;
        let now = Millis::now().to_iso_millis();
        let attributes = json!([{"kind": "dtmf", "value": "0000", "allocated_at": now}]);
        import(
            &app,
            &[json!({"tenant": TENANT, "id": "nothing-yet", "started_at": now, "caller_attributes": attributes})],
        )
        .await;
        get(&app, &p("/interactiondata/nothing-yet/fullFlow")).await.assert(200, JSON, "[]");
        get(&app, &p("/interactiondata/0000/fullFlow/byCallerAttribute")).await.assert(200, JSON, "[]");
    }

    pub async fn ids_that_need_percent_encoding(backend: Backend) {
        let app = spawn_fixed(backend).await;
        let ids = ["a/b", "with space", "100%", "plus+sign", "ünïcødé ✓", "q?x#y;z", "%2F", "<b>&amp;'\""];
        let records: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                record(
                    id,
                    1.0,
                    1,
                    &[("historySearchId", &format!("h {id}"), 1.0), ("callerId", &format!("+{i}/{id}"), 1.0)],
                )
            })
            .collect();
        import(&app, &records).await;
        for (i, id) in ids.iter().enumerate() {
            let title = [format!("{id} page 1")];
            assert_eq!(get(&app, &p(&format!("/interactiondata/{}/fullFlow", enc(id)))).await.titles(), title, "{id}");
            let by_attribute = format!("/interactiondata/{}/fullFlow/byCallerAttribute", enc(&format!("h {id}")));
            assert_eq!(get(&app, &p(&by_attribute)).await.titles(), title, "{id}");
            let expected = json!({"uniqueId": id}).to_string();
            get(&app, &p(&format!("/uniqueId/clickToCall/{}", enc(&format!("+{i}/{id}")))))
                .await
                .assert(200, JSON, &expected);
            get(&app, &p(&format!("/uniqueId/historySearchId/{}", enc(&format!("h {id}")))))
                .await
                .assert(200, JSON, &expected);
        }
        // Not found: the value is echoed as given (decoded once), as text.
        for id in ["<script>alert(1)</script>", "a/b/c", "50%off", "' OR '1'='1", "x\u{0}y", "é"] {
            let reply = get(&app, &p(&format!("/interactiondata/{}/fullFlow", enc(id)))).await;
            reply.assert(404, TEXT, &format!("history for UUID {id} was not found"));
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            get(&app, &p(&format!("/interactiondata/{}/summary/byCallerAttribute", enc(id)))).await.assert(
                404,
                TEXT,
                &format!("history for attribute {id} was not found"),
            );
            get(&app, &p(&format!("/uniqueId/dtmf/{}", enc(id)))).await.assert(
                404,
                TEXT,
                &format!("history for attribute {id} was not found"),
            );
        }
        // NUL (which PostgreSQL text cannot hold) is just as unknown on every route.
        get(&app, &p("/interactiondata/x%00y/variableSet/s/byCallerAttribute")).await.assert(
            404,
            TEXT,
            "history for attribute x\0y was not found",
        );
        get(&app, &p("/photo/x%00y/%252Fa")).await.assert(404, TEXT, "photo was not found");
        get(&app, &p("/photo/a%2Fb/%252Fa%2500")).await.assert(404, TEXT, "photo was not found");
        // Hostile forms: a malformed escape is taken literally, a huge id is just unknown.
        get(&app, &p("/interactiondata/%zz/fullFlow")).await.assert(404, TEXT, "history for UUID %zz was not found");
        let huge = "9".repeat(4000);
        get(&app, &p(&format!("/interactiondata/{huge}/fullFlow"))).await.assert(
            404,
            TEXT,
            &format!("history for UUID {huge} was not found"),
        );
    }

    pub async fn variable_sets(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let jane = concat!(
            r#"{"voice":{"data":{"firstName":"Jane","lastName":"Smith","#,
            r#""customerProfile":"postpaid","customerId":"12345","middleName":""}}}"#
        );
        get(&app, &p("/interactiondata/040100713/variableSet/customerInfoSet")).await.assert(200, JSON, jane);
        for value in ["4567", "history1", "%2B15551234567"] {
            get(
                &app,
                &p(&format!(
                    "/interactiondata/{value}/variableSet/customerInfoSet/byCallerAttribute?widerSearch=false"
                )),
            )
            .await
            .assert(200, JSON, jane);
        }
        get(&app, &p("/interactiondata/040100713/variableSet/noSuchSet")).await.assert(
            404,
            TEXT,
            "variable set noSuchSet was not found",
        );
        get(&app, &p("/interactiondata/4567/variableSet/no%20such%2Fset/byCallerAttribute")).await.assert(
            404,
            TEXT,
            "variable set no such/set was not found",
        );
        get(&app, &p("/interactiondata/040100720/variableSet/customerInfoSet")).await.assert(
            404,
            TEXT,
            "variable set customerInfoSet was not found",
        );
        get(&app, &p("/interactiondata/nobody/variableSet/customerInfoSet")).await.assert(
            404,
            TEXT,
            "history for UUID nobody was not found",
        );
        get(&app, &p("/interactiondata/040100650/variableSet/billingSet?widerSearch=true")).await.assert(
            200,
            JSON,
            r#"{"voice":{"data":{"invoiceNumber":"INV-2026-06-88121","disputedAmount":"9.99"}}}"#,
        );
    }

    pub async fn unique_ids(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        for route in ["dtmf/4567", "callReturn/2121234567", "clickToCall/%2B15551234567", "historySearchId/history1"] {
            get(&app, &p(&format!("/uniqueId/{route}"))).await.assert(200, JSON, r#"{"uniqueId":"040100713"}"#);
        }
        get(&app, &p("/uniqueId/dtmf/7001")).await.assert(200, JSON, r#"{"uniqueId":"040100709"}"#);
        get(&app, &p("/uniqueId/dtmf/7002")).await.assert(200, JSON, r#"{"uniqueId":"040100730"}"#);
        // Each route looks at its own kind only: 4567 is a DTMF value, 4321 a DNID.
        get(&app, &p("/uniqueId/callReturn/4567")).await.assert(404, TEXT, "history for attribute 4567 was not found");
        // DNID is not offered by this method; nor is any other name.
        for kind in ["dnid", "DTMF", "callerId", "callReturnNumber", "x"] {
            get(&app, &p(&format!("/uniqueId/{kind}/4321"))).await.assert(
                400,
                TEXT,
                "missing or invalid parameter attributeType",
            );
        }
    }

    pub async fn photos(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let record = demo_record("040100713");
        let stored = |suffix: &str| record.photos.iter().find(|ph| ph.path.ends_with(suffix)).unwrap().clone();
        let (png, jpeg) = (stored("i1152998579"), stored("i1152998580.jpg"));
        let base = p("/photo/040100713/");
        let png_url = format!("{base}%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579");
        let reply = get(&app, &png_url).await;
        assert_eq!((reply.status, reply.header("content-type"), &reply.body), (200, Some("image/png"), &png.data.0));
        for jpeg_url in [
            format!("{base}%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998580.jpg"),
            format!("{base}%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998580@@@@@jpg"),
            format!("{base}{}", enc(&enc(&jpeg.path))),
        ] {
            let reply = get(&app, &jpeg_url).await;
            assert_eq!(
                (reply.status, reply.header("content-type"), &reply.body),
                (200, Some("image/jpeg"), &jpeg.data.0),
                "{jpeg_url}"
            );
        }
        // maxSize scales to the longer side, keeps the aspect and the format, never upscales.
        for (url, format, mime) in [
            (png_url.clone(), image::ImageFormat::Png, "image/png"),
            (
                format!("{base}%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998580@@@@@jpg"),
                image::ImageFormat::Jpeg,
                "image/jpeg",
            ),
        ] {
            let original = image::load_from_memory(&get(&app, &url).await.body).unwrap();
            assert_eq!((original.width(), original.height()), (160, 100));
            let reply = get(&app, &format!("{url}?maxSize=80")).await;
            assert_eq!((reply.status, reply.header("content-type")), (200, Some(mime)));
            assert_eq!(image::guess_format(&reply.body).unwrap(), format);
            let scaled = image::load_from_memory(&reply.body).unwrap();
            assert_eq!((scaled.width(), scaled.height()), (80, 50));
            let unchanged = get(&app, &format!("{url}?maxSize=1000")).await;
            assert_eq!(unchanged.body, get(&app, &url).await.body);
            for bad in ["0", "-1", "abc", "", "1.5", "99999999999", "80&maxSize=40"] {
                get(&app, &format!("{url}?maxSize={bad}")).await.assert(
                    400,
                    TEXT,
                    "missing or invalid parameter maxSize",
                );
            }
        }
        // Not found: another path, another interaction's uid, traversal, another environment.
        for path in ["%252Fmnt%252Fnothing", "..%252F..%252Fetc%252Fpasswd", "%252E%252E", "i1152998579"] {
            get(&app, &format!("{base}{path}")).await.assert(404, TEXT, "photo was not found");
        }
        get(&app, &p("/photo/040100709/%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579")).await.assert(
            404,
            TEXT,
            "photo was not found",
        );
        let staging = app.add_key(TENANT, "staging", "read").await;
        get_staging(&app, &staging, &png_url).await.assert(404, TEXT, "photo was not found");
        // Missing or malformed parameters.
        get(&app, &p("/photo/040100713")).await.assert(400, TEXT, "missing or invalid parameter path");
        get(&app, &p("/photo/040100713/")).await.assert(400, TEXT, "missing or invalid parameter path");
        get(&app, &p("/photo/040100713/mnt/sdcard/i1")).await.assert(400, TEXT, "missing or invalid parameter path");
        get(&app, &p("/photo/")).await.assert(400, TEXT, "missing or invalid parameter uid");
        get(&app, &p("/photo")).await.assert(400, TEXT, "missing or invalid parameter uid");
        get(&app, &format!("{base}%252Fmnt%25FF")).await.assert(400, TEXT, "missing or invalid parameter path");
    }

    pub async fn a_photo_that_cannot_be_scaled_is_an_opaque_500(backend: Backend) {
        let app = spawn_fixed(backend).await;
        let mut r = record("broken-photo", 1.0, 1, &[]);
        r["photos"] = json!([{"path": "/p/x.png", "mime": "image/png", "data_base64": "bm90IGFuIGltYWdl"}]);
        import(&app, &[r]).await;
        let url = p("/photo/broken-photo/%252Fp%252Fx.png");
        let reply = get(&app, &url).await;
        assert_eq!((reply.status, reply.body.as_slice()), (200, b"not an image".as_slice()));
        get(&app, &format!("{url}?maxSize=10")).await.assert(500, TEXT, "exception");
    }

    pub async fn an_unreachable_store_is_a_503_with_retry_after(backend: Backend) {
        // Closing the pool cuts what goes through it: the key lookups, if not remembered (SQLite's
        // reads have connections of their own).
        let options = SpawnOptions { demo: true, now: None };
        let app = TestApp::spawn_full(backend, options, |s| s.server.key_cache_ms = 0).await;
        assert_eq!(get(&app, &p("/interactiondata/040100713/fullFlow")).await.status, 200);
        app.database.close().await;
        for route in [
            "/interactiondata/040100713/fullFlow",
            "/uniqueId/dtmf/4567",
            "/interactiondata/4567/summary/byCallerAttribute",
        ] {
            let reply = get(&app, &p(route)).await;
            reply.assert(503, TEXT, "exception");
            assert_eq!(reply.header("retry-after"), Some("1"));
        }
    }
}
