//! The write side over HTTP and the CLI, on SQLite and PostgreSQL (spec `records.md`,
//! `operations.md`; conventions in `docs/INGEST.md`): batches and streams, the live feed, erasure,
//! retention, and the key scopes that bound all of it.

use crate::helpers::*;
use ixgw_core::model::record::InteractionRecord;
use ixgw_core::Millis;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const TENANT: &str = "12345678";
const READ_KEY: &str = "demo-application-key";
const INTERACT: &str = "/interact/agent/version/2/account/12345678";
const NDJSON: &str = "application/x-ndjson";
const JSON: &str = "application/json";
const DAY: i64 = 24 * 60 * 60 * 1000;

// --- requests ------------------------------------------------------------------------------------

impl Reply {
    /// A failure of the ingest API: its status, `error` and `reason`.
    #[track_caller]
    fn assert_error(&self, status: u16, error: &str, reason_part: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"), "{}", self.text());
        let v = self.json();
        assert_eq!(v["error"], error, "{}", self.text());
        assert!(v["reason"].as_str().unwrap().contains(reason_part), "{}", self.text());
    }
}

/// A request with a body (empty for reads and deletes).
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Reply {
    app.send(method, path, headers, Some(body.into())).await
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn post(app: &TestApp, path: &str, key: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
    send(app, reqwest::Method::POST, path, &[("Authorization", &bearer(key)), ("Content-Type", content_type)], body)
        .await
}

async fn delete(app: &TestApp, path: &str, key: &str) -> Reply {
    send(app, reqwest::Method::DELETE, path, &[("Authorization", &bearer(key))], "").await
}

/// An Interact REST read with the demo read key (production unless `environment`).
async fn interact(app: &TestApp, path: &str) -> Reply {
    interact_as(app, path, READ_KEY, None).await
}

async fn interact_as(app: &TestApp, path: &str, key: &str, environment: Option<&str>) -> Reply {
    let mut headers = vec![("Tenant-Id", TENANT), ("Application-Key", key)];
    headers.extend(environment.map(|e| ("Environment-Name", e)));
    send(app, reqwest::Method::GET, &format!("{INTERACT}{path}"), &headers, "").await
}

/// A Context Services read with the demo read key.
async fn context(app: &TestApp, path: &str) -> Reply {
    let headers = [("ContactCenterId", TENANT), ("Application-Key", READ_KEY)];
    send(app, reqwest::Method::GET, path, &headers, "").await
}

/// A SOAP 1.1 full flow by unique id with the demo read key.
async fn soap_full_flow(app: &TestApp, id: &str) -> Reply {
    let envelope = format!(
        "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:s=\"http://com/jacada/interact/interactiondata/soap\">\
         <e:Body><s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>{id}</s:uniqueId>\
         </s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"
    );
    let headers = [
        ("Content-Type", "text/xml; charset=utf-8"),
        ("SOAPAction", "\"\""),
        ("Tenant-Id", TENANT),
        ("Application-Key", READ_KEY),
    ];
    send(app, reqwest::Method::POST, "/interact/version/2/interactiondata/soap", &headers, envelope).await
}

// --- records -------------------------------------------------------------------------------------

fn iso(ms: i64) -> String {
    Millis(ms).to_iso_millis()
}

fn page(title: &str, timestamp: i64) -> Value {
    json!({
        "pageNavigation": {"navigationTitle": title},
        "pageContent": {"contentSections": []},
        "timestamp": timestamp
    })
}

/// A completed interaction of `pages` pages that started at `start` and ended a minute later.
fn record(id: &str, start: i64, pages: usize) -> Value {
    let pages: Vec<Value> = (0..pages).map(|i| page(&format!("{id} page {i}"), start + 1000 * i as i64)).collect();
    json!({"id": id, "started_at": iso(start), "ended_at": iso(start + 60_000), "pages": pages})
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// The page titles of an Interact full flow.
fn titles(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let pages: Vec<Value> = serde_json::from_str(reply.text()).unwrap_or_default();
    pages.iter().map(|p| p["pageNavigation"]["navigationTitle"].as_str().unwrap().to_string()).collect()
}

/// Every row of every table: what "the store is identical" means.
async fn dump(db: &ixgw_store::Database) -> Vec<String> {
    use sqlx::Row;
    let mut out = Vec::new();
    for (table, order) in ixgw_testkit::HISTORY_TABLES {
        let sql = sqlx::AssertSqlSafe(format!("SELECT * FROM {table} ORDER BY {order}"));
        macro_rules! render {
            ($rows:expr) => {
                $rows.iter().map(|row| {
                    let cells: Vec<String> = (0..row.len())
                        .map(|i| {
                            row.try_get::<Option<i64>, _>(i)
                                .map(|v| format!("{v:?}"))
                                .or_else(|_| row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                                .or_else(|_| row.try_get::<Option<Vec<u8>>, _>(i).map(|v| format!("{v:?}")))
                                .unwrap()
                        })
                        .collect();
                    format!("{table}: {}", cells.join("|"))
                })
            };
        }
        match db {
            ixgw_store::Database::Sqlite(s) => out.extend(render!(sqlx::query(sql).fetch_all(s.pool()).await.unwrap())),
            ixgw_store::Database::Postgres(p) => {
                out.extend(render!(sqlx::query(sql).fetch_all(p.pool()).await.unwrap()))
            }
        }
    }
    out
}

// --- batches -------------------------------------------------------------------------------------

mod batches {
    use super::*;

    store_tests!(
        a_batch_stores_the_good_lines_reports_the_bad_ones_and_is_idempotent,
        a_stream_larger_than_the_json_body_limit_is_read_record_by_record
    );

    async fn a_batch_stores_the_good_lines_reports_the_bad_ones_and_is_idempotent(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let key = app.add_key(TENANT, "production", "ingest").await;
        let now = Millis::now().0;
        let mut misspelt = record("b1", now - 3_600_000, 1);
        misspelt["pages"][0]["pageNavigation"]["navigationTitel"] = json!("typo");
        let mut elsewhere = record("b2", now - 3_600_000, 1);
        elsewhere["tenant"] = json!("99999999");
        let mut staging = record("b3", now - 3_600_000, 1);
        staging["environment"] = json!("staging");
        let mut explicit = record("g2", now - 7_200_000, 3);
        explicit["tenant"] = json!(TENANT);
        explicit["environment"] = json!("production");
        let body = format!(
            "{}{}{{\"id\": \"b4\", \"started_at\":\n{}{}{}",
            ndjson(&[record("g1", now - 3_600_000, 2), misspelt]),
            "\n",
            ndjson(&[elsewhere, staging]),
            ndjson(&[explicit]),
            "\n"
        );
        let reply = post(&app, "/v1/interactions", &key, NDJSON, body.clone()).await;
        assert_eq!(reply.status, 422, "a rejected line makes the answer 422: {}", reply.text());
        let report = reply.json();
        assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(4)), "{report}");
        let results: Vec<(u64, &str, &str)> = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["line"].as_u64().unwrap(), r["status"].as_str().unwrap(), r["path"].as_str().unwrap()))
            .collect();
        assert_eq!(
            results,
            [
                (2, "rejected", "pages[0].pageNavigation.navigationTitel"),
                (4, "rejected", "$"),
                (5, "rejected", "tenant"),
                (6, "rejected", "environment")
            ]
        );
        assert!(report["results"][0]["reason"].as_str().unwrap().contains("unknown field"), "{report}");
        assert!(report["results"][2]["reason"].as_str().unwrap().contains(&format!("`{TENANT}` only")), "{report}");
        assert_eq!(report["results_truncated"], false);

        assert_eq!(titles(&interact(&app, "/interactiondata/g1/fullFlow").await), ["g1 page 0", "g1 page 1"]);
        assert_eq!(titles(&interact(&app, "/interactiondata/g2/fullFlow").await).len(), 3);
        for rejected in ["b1", "b2", "b3"] {
            assert_eq!(
                interact(&app, &format!("/interactiondata/{rejected}/fullFlow")).await.status,
                404,
                "{rejected}"
            );
        }

        // The same batch again leaves every table exactly as it was.
        let before = dump(&app.database).await;
        assert!(before.iter().filter(|r| r.starts_with("pages: ")).count() == 5, "{before:#?}");
        let again = post(&app, "/v1/interactions", &key, NDJSON, body).await;
        assert_eq!((again.status, again.json()["accepted"].as_u64()), (422, Some(2)));
        assert_eq!(dump(&app.database).await, before, "a second identical batch changed the store");

        // One record as application/json (pretty-printed), and a JSON array.
        let one = serde_json::to_string_pretty(&record("j1", now - 60_000, 1)).unwrap();
        let reply = post(&app, "/v1/interactions", &key, "application/json; charset=utf-8", one).await;
        assert_eq!(
            (reply.status, reply.json()),
            (200, json!({"accepted": 1, "rejected": 0, "results": [], "results_truncated": false}))
        );
        let array = Value::Array(vec![record("j2", now - 60_000, 1), record("j3", now - 60_000, 1)]).to_string();
        assert_eq!(post(&app, "/v1/interactions", &key, JSON, array).await.json()["accepted"], 2);
        assert_eq!(titles(&interact(&app, "/interactiondata/j3/fullFlow").await), ["j3 page 0"]);
        let empty = post(&app, "/v1/interactions", &key, NDJSON, "").await;
        assert_eq!((empty.status, empty.json()["accepted"].as_u64()), (200, Some(0)));
        // application/json must hold a document: whitespace is none (found by schemathesis).
        let blank = post(&app, "/v1/interactions", &key, JSON, " \n").await;
        assert_eq!((blank.status, blank.json()["error"].as_str()), (400, Some("bad_body")), "{}", blank.text());

        // What the route does not read.
        post(&app, "/v1/interactions", &key, "text/plain", "{}").await.assert_error(
            415,
            "unsupported_media_type",
            "application/x-ndjson",
        );
        let gzip =
            [("Authorization", bearer(&key)), ("Content-Type", NDJSON.into()), ("Content-Encoding", "gzip".into())];
        let gzip: Vec<(&str, &str)> = gzip.iter().map(|(n, v)| (*n, v.as_str())).collect();
        send(&app, reqwest::Method::POST, "/v1/interactions", &gzip, "x").await.assert_error(
            415,
            "unsupported_media_type",
            "uncompressed",
        );
        let get = send(&app, reqwest::Method::GET, "/v1/interactions", &[], "").await;
        get.assert_error(405, "method_not_allowed", "POST");
        assert_eq!(get.header("allow"), Some("POST"));
    }

    async fn a_stream_larger_than_the_json_body_limit_is_read_record_by_record(backend: Backend) {
        // The JSON body limit (server.max_body_bytes) is for single documents; a stream has none,
        // and a record may be up to 16 MiB (photos travel inside).
        let app = TestApp::spawn_with(backend, |s| s.server.max_body_bytes = 4096).await;
        let key = app.add_key(TENANT, "production", "ingest").await;
        let now = Millis::now().0;
        let records: Vec<Value> = (0..200).map(|i| record(&format!("s{i:03}"), now - 60_000, 2)).collect();
        let mut body = ndjson(&records);
        let mut big = record("big", now - 60_000, 1);
        big["content"] = json!({"plain_text": "x".repeat(100_000)});
        body.push_str(&format!("{big}\n"));
        assert!(body.len() > 40 * 4096);
        let reply = post(&app, "/v1/interactions", &key, NDJSON, body).await;
        assert_eq!((reply.status, reply.json()["accepted"].as_u64()), (200, Some(201)), "{}", reply.text());
        let text = context(&app, "/interactions/big/plain_text").await;
        assert_eq!((text.status, text.text().len()), (200, 100_000));
        // A line over the record bound is rejected alone, even the first; the lines after it are read.
        let huge =
            json!({"id": "huge", "started_at": iso(now), "content": {"plain_text": "y".repeat(17 * 1024 * 1024)}});
        let oversized =
            format!("{huge}\n{}\n{huge}\n{}\n", record("after1", now - 60_000, 1), record("after2", now - 60_000, 1));
        let reply = post(&app, "/v1/interactions", &key, NDJSON, oversized).await;
        let report = reply.json();
        assert_eq!(
            (reply.status, report["accepted"].as_u64(), report["rejected"].as_u64()),
            (422, Some(2), Some(2)),
            "{report}"
        );
        assert_eq!((report["results"][0]["line"].as_u64(), report["results"][1]["line"].as_u64()), (Some(1), Some(3)));
        assert!(report["results"][0]["reason"].as_str().unwrap().contains("larger than"), "{report}");
    }
}

// --- the live feed -------------------------------------------------------------------------------

/// A page whose HTML is large enough that a torn write would show.
fn big_page(i: usize, timestamp: i64) -> Value {
    json!({
        "pageNavigation": {"navigationTitle": format!("live page {i}")},
        "pageContent": {
            "contentHeader": {
                "id": format!("h{i}"),
                "innerHtml": format!("<p>{}</p>", format!("{i:04} ").repeat(8_000))
            },
            "contentSections": []
        },
        "timestamp": timestamp
    })
}

mod live_feed {
    use super::*;

    store_tests!(
        readers_polling_a_live_interaction_never_see_a_torn_page,
        the_live_feed_refuses_what_would_break_a_flow
    );

    async fn readers_polling_a_live_interaction_never_see_a_torn_page(backend: Backend) {
        let app = Arc::new(TestApp::spawn(backend).await);
        let key = app.add_key(TENANT, "production", "ingest").await;
        let now = Millis::now().0;
        let start = json!({"id": "live1", "customer_id": "cust-live", "started_at": iso(now - 120_000)});
        assert_eq!(post(&app, "/v1/interactions", &key, JSON, start.to_string()).await.status, 200);
        let pages: Arc<Vec<Value>> = Arc::new((0..24).map(|i| big_page(i, now - 100_000 + 1_000 * i as i64)).collect());

        let writing = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (app, pages, writing) = (app.clone(), pages.clone(), writing.clone());
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while writing.load(Ordering::SeqCst) {
                        let reply = interact(&app, "/interactiondata/live1/fullFlow").await;
                        assert_eq!(reply.status, 200, "{}", reply.text());
                        // No page yet: the vendor's EMPTY history (an empty body).
                        let got: Vec<Value> =
                            if reply.text().is_empty() { Vec::new() } else { reply.json().as_array().unwrap().clone() };
                        assert!(got.len() <= pages.len());
                        assert_eq!(
                            got[..],
                            pages[..got.len()],
                            "a reader saw a page that is not one of those written, whole and in order"
                        );
                        assert!(
                            seen.last().is_none_or(|n| *n <= got.len()),
                            "pages went missing: {seen:?} then {}",
                            got.len()
                        );
                        seen.push(got.len());
                    }
                    seen
                })
            })
            .collect();

        for (i, p) in pages.iter().enumerate() {
            let reply = post(&app, "/v1/interactions/live1/pages", &key, JSON, p.to_string()).await;
            assert_eq!(reply.status, 201, "{}", reply.text());
            assert_eq!(reply.json(), json!({"interaction_id": "live1", "index": i, "added": true}));
        }
        let attribute = json!({"kind": "dtmf", "value": "live-4567", "allocated_at": iso(now - 90_000)});
        let reply = post(&app, "/v1/interactions/live1/caller-attributes", &key, JSON, attribute.to_string()).await;
        assert_eq!((reply.status, reply.json()["current"].as_bool()), (201, Some(true)), "{}", reply.text());
        let end = json!({"ended_at": iso(now - 1_000)}).to_string();
        let headers = [("Authorization", bearer(&key)), ("Content-Type", JSON.to_string())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = send(&app, reqwest::Method::PUT, "/v1/interactions/live1/end", &headers, end).await;
        assert_eq!(
            (reply.status, reply.json()),
            (200, json!({"interaction_id": "live1", "ended_at": iso(now - 1_000)}))
        );
        writing.store(false, Ordering::SeqCst);
        for reader in readers {
            let seen = reader.await.expect("a reader found a torn or missing page");
            assert!(!seen.is_empty());
            eprintln!(
                "{backend:?}: a reader polled {} times, seeing {:?} pages",
                seen.len(),
                seen.iter().collect::<std::collections::BTreeSet<_>>()
            );
        }

        // Every read surface sees the finished interaction.
        let flow = interact(&app, "/interactiondata/live1/fullFlow").await;
        assert_eq!(flow.json(), Value::Array(pages.to_vec()));
        assert_eq!(titles(&interact(&app, "/interactiondata/live-4567/fullFlow/byCallerAttribute").await).len(), 24);
        let resource = context(&app, "/interactions/live1").await.json();
        assert_eq!(resource["end_date"], iso(now - 1_000), "{resource}");
    }

    async fn the_live_feed_refuses_what_would_break_a_flow(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let key = app.add_key(TENANT, "production", "ingest").await;
        let now = Millis::now().0;
        let running = json!({"id": "run1", "started_at": iso(now - 60_000), "pages": [page("first", now - 50_000)]});
        assert_eq!(post(&app, "/v1/interactions", &key, JSON, running.to_string()).await.status, 200);
        let pages = "/v1/interactions/run1/pages";

        post(&app, pages, &key, JSON, page("late", now - 55_000).to_string()).await.assert_error(
            409,
            "conflict",
            "older than",
        );
        let same = post(&app, pages, &key, JSON, page("first", now - 50_000).to_string()).await;
        assert_eq!(
            (same.status, same.json()["added"].as_bool(), same.json()["index"].as_i64()),
            (200, Some(false), Some(0)),
            "a retry stores nothing"
        );
        let mut typo = page("second", now - 40_000);
        typo["pageContent"]["contentSectionz"] = json!([]);
        let reply = post(&app, pages, &key, JSON, typo.to_string()).await;
        reply.assert_error(422, "invalid", "unknown field");
        assert_eq!(reply.json()["path"], "pageContent.contentSectionz");
        post(&app, pages, &key, JSON, "{\"pageNavigation\": ").await.assert_error(422, "invalid", "EOF");
        post(&app, pages, &key, "text/plain", page("x", now).to_string()).await.assert_error(
            415,
            "unsupported_media_type",
            "application/json",
        );
        post(&app, "/v1/interactions/nope/pages", &key, JSON, page("x", now).to_string()).await.assert_error(
            404,
            "not_found",
            "no interaction",
        );
        post(&app, "/v1/interactions/%FF/pages", &key, JSON, page("x", now).to_string()).await.assert_error(
            404,
            "not_found",
            "no interaction",
        );
        assert_eq!(titles(&interact(&app, "/interactiondata/run1/fullFlow").await), ["first"]);

        let attributes = "/v1/interactions/run1/caller-attributes";
        let bad_kind = json!({"kind": "shoeSize", "value": "42", "allocated_at": iso(now)});
        let reply = post(&app, attributes, &key, JSON, bad_kind.to_string()).await;
        reply.assert_error(422, "invalid", "unknown variant");
        assert_eq!(reply.json()["path"], "kind");
        let empty_value = json!({"kind": "dtmf", "value": "", "allocated_at": iso(now)});
        assert_eq!(post(&app, attributes, &key, JSON, empty_value.to_string()).await.json()["path"], "value");
        let newer = json!({"kind": "callerId", "value": "+15550001", "allocated_at": iso(now - 10_000)});
        let older = json!({"kind": "callerId", "value": "+15550002", "allocated_at": iso(now - 20_000)});
        assert_eq!(post(&app, attributes, &key, JSON, newer.to_string()).await.status, 201);
        let reply = post(&app, attributes, &key, JSON, older.to_string()).await;
        assert_eq!(
            (reply.status, reply.json()["current"].as_bool()),
            (201, Some(false)),
            "an older allocation is kept but does not count"
        );
        assert_eq!(post(&app, attributes, &key, JSON, newer.to_string()).await.status, 200, "a retry stores nothing");
        assert_eq!(interact(&app, "/interactiondata/%2B15550002/fullFlow/byCallerAttribute").await.status, 404);
        assert_eq!(titles(&interact(&app, "/interactiondata/%2B15550001/fullFlow/byCallerAttribute").await), ["first"]);

        let put_end = |body: String| {
            let app = &app;
            let key = key.clone();
            async move {
                let headers = [("Authorization", bearer(&key)), ("Content-Type", JSON.to_string())];
                let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                send(app, reqwest::Method::PUT, "/v1/interactions/run1/end", &headers, body).await
            }
        };
        put_end(json!({"ended_at": iso(now - 70_000)}).to_string()).await.assert_error(
            409,
            "conflict",
            "before the interaction's start",
        );
        put_end(json!({"ended_at": "soon"}).to_string()).await.assert_error(422, "invalid", "RFC 3339");
        put_end(json!({"ended_at": iso(now), "why": 1}).to_string()).await.assert_error(
            422,
            "invalid",
            "unknown field",
        );
        // Whitespace is not a JSON document (found by schemathesis); an empty body ends it now.
        put_end("\n".to_string()).await.assert_error(422, "invalid", "EOF");
        put_end(json!({"ended_at": null}).to_string()).await.assert_error(422, "invalid", "null");
        // No end given, as no body or as an object without one: now.
        for body in [String::new(), "{}".to_string(), " { } ".to_string()] {
            let before = Millis::now().0;
            let reply = put_end(body.clone()).await;
            assert_eq!(reply.status, 200, "{body:?}: {}", reply.text());
            let ended = Millis::parse_rfc3339(reply.json()["ended_at"].as_str().unwrap()).unwrap();
            assert!(ended.0 >= before && ended.0 <= Millis::now().0, "{body:?} ends it now");
            assert_eq!(context(&app, "/interactions/run1").await.json()["end_date"], ended.to_iso_millis());
        }
    }
}

// --- erasure -------------------------------------------------------------------------------------

/// What erasing a demo record must report, from the record itself.
fn expected_removal(id: &str) -> Value {
    let text = ixgw::demo::INTERACTIONS
        .lines()
        .chain(ixgw::demo::CONTEXT_SERVICES.lines())
        .find(|l| l.contains(&format!("\"id\":\"{id}\"")))
        .unwrap();
    let r = InteractionRecord::from_json(text).unwrap();
    let content = r.content.as_ref().map_or(0, |c| {
        [c.plain_text.is_some(), c.structured_text.is_some(), c.binary_content.is_some()].iter().filter(|p| **p).count()
    });
    json!({
        "interactions": 1,
        "pages": r.pages.len(),
        "caller_attributes": r.caller_attributes.len(),
        "photos": r.photos.len(),
        "variable_sets": r.variable_sets.len(),
        "content_parts": content,
        "service_links": r.service_ids.len()
    })
}

mod erasure {
    use super::*;

    store_tests!(
        after_erasure_every_read_surface_answers_not_found,
        keys_bound_every_write_to_their_scope_tenant_and_environment
    );

    async fn after_erasure_every_read_surface_answers_not_found(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let key = app.add_key(TENANT, "production", "ingest").await;
        let id = "040100713";
        let photo = "/photo/040100713/%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579";
        let interact_reads = [
            format!("/interactiondata/{id}/fullFlow"),
            format!("/interactiondata/{id}/summary"),
            format!("/interactiondata/{id}/variableSet/customerInfoSet"),
            "/interactiondata/4567/fullFlow/byCallerAttribute".to_string(),
            "/interactiondata/history1/summary/byCallerAttribute".to_string(),
            "/interactiondata/history1/variableSet/repairInfoSet/byCallerAttribute".to_string(),
            "/uniqueId/dtmf/4567".to_string(),
            "/uniqueId/historySearchId/history1".to_string(),
            photo.to_string(),
        ];
        let context_reads = [format!("/interactions/{id}"), format!("/interactions/{id}/plain_text")];
        for path in &interact_reads {
            assert_eq!(interact(&app, path).await.status, 200, "before: {path}");
        }
        for path in &context_reads {
            assert_eq!(context(&app, path).await.status, 200, "before: {path}");
        }
        assert!(soap_full_flow(&app, id).await.text().contains("navigationTitle"));

        let reply = delete(&app, &format!("/v1/interactions/{id}"), &key).await;
        assert_eq!((reply.status, reply.json()), (200, json!({"interaction_id": id, "removed": expected_removal(id)})));
        for path in &interact_reads {
            assert_eq!(interact(&app, path).await.status, 404, "after: {path}");
        }
        for path in &context_reads {
            assert_eq!(context(&app, path).await.status, 404, "after: {path}");
        }
        let soap = soap_full_flow(&app, id).await;
        assert!(soap.text().contains(&format!("history for UUID {id} was not found")), "{}", soap.text());
        delete(&app, &format!("/v1/interactions/{id}"), &key).await.assert_error(404, "not_found", "no interaction");
        // The staging record that shares `history1` is another partition's: untouched.
        let staging = app.add_key(TENANT, "staging", "read").await;
        let found =
            interact_as(&app, "/interactiondata/history1/fullFlow/byCallerAttribute", &staging, Some("staging")).await;
        assert_eq!(titles(&found).len(), 2);

        // Everything about a customer: the seed's chat and the rest of 00001a57JGQ00BVU in production.
        let customer = "00001a57JGQ00BVU";
        let listed = context(&app, &format!("/customers/{customer}/interactions")).await.json();
        let ids: Vec<String> =
            listed.as_array().unwrap().iter().map(|r| r["interaction_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 5, "{listed}");
        let mut expected = json!({
            "interactions": 0, "pages": 0, "caller_attributes": 0, "photos": 0,
            "variable_sets": 0, "content_parts": 0, "service_links": 0
        });
        for id in &ids {
            for (k, v) in expected_removal(id).as_object().unwrap() {
                expected[k] = json!(expected[k].as_u64().unwrap() + v.as_u64().unwrap());
            }
        }
        let reply = delete(&app, &format!("/v1/customers/{customer}"), &key).await;
        assert_eq!((reply.status, reply.json()), (200, json!({"customer_id": customer, "removed": expected})));
        assert_eq!(context(&app, &format!("/customers/{customer}/interactions")).await.json(), json!([]));
        for id in &ids {
            assert_eq!(context(&app, &format!("/interactions/{id}")).await.status, 404, "{id}");
        }
        assert_eq!(context(&app, "/interactions/00001a57JGQ00BW8/binary_content").await.status, 404);
        assert_eq!(
            titles(&interact_as(&app, "/interactiondata/040100740/fullFlow", &staging, Some("staging")).await).len(),
            2
        );
        let again = delete(&app, &format!("/v1/customers/{customer}"), &key).await;
        assert_eq!((again.status, again.json()["removed"]["interactions"].as_u64()), (200, Some(0)));
        // Another customer's history is all still there.
        assert_eq!(titles(&interact(&app, "/interactiondata/040100709/fullFlow").await).len(), 3);
    }

    async fn keys_bound_every_write_to_their_scope_tenant_and_environment(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let ingest = app.add_key(TENANT, "production", "ingest").await;
        let admin = app.add_key(TENANT, "production", "admin").await;
        let now = Millis::now().0;
        let one = |id: &str| record(id, now - 60_000, 1).to_string();

        // No key, an unknown key, a revoked key: 401 with a challenge.
        let reply = send(&app, reqwest::Method::POST, "/v1/interactions", &[("Content-Type", JSON)], one("x")).await;
        reply.assert_error(401, "unauthorized", "Authorization: Bearer");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"ixgw\""));
        post(&app, "/v1/interactions", "ixgw_nonsense", JSON, one("x")).await.assert_error(
            401,
            "unauthorized",
            "unknown application key",
        );
        let revoked = app.add_key(TENANT, "production", "ingest").await;
        app.revoke_key(&revoked).await;
        delete(&app, "/v1/interactions/040100709", &revoked).await.assert_error(401, "unauthorized", "revoked");

        // A read key cannot write anything: 403.
        let read_writes = [
            post(&app, "/v1/interactions", READ_KEY, JSON, one("x")).await,
            post(&app, "/v1/interactions/040100730/pages", READ_KEY, JSON, page("x", now).to_string()).await,
            post(&app, "/v1/interactions/040100730/caller-attributes", READ_KEY, JSON, "{}").await,
            delete(&app, "/v1/interactions/040100709", READ_KEY).await,
            delete(&app, "/v1/customers/00001a57JGQ00C01", READ_KEY).await,
        ];
        for reply in read_writes {
            reply.assert_error(403, "forbidden", "ingest or admin scope");
        }
        assert_eq!(titles(&interact(&app, "/interactiondata/040100709/fullFlow").await).len(), 3);

        // An ingest key writes but cannot read history, on any surface.
        assert_eq!(post(&app, "/v1/interactions", &ingest, JSON, one("w1")).await.status, 200);
        assert_eq!(interact_as(&app, "/interactiondata/w1/fullFlow", &ingest, None).await.status, 401);
        let cs = send(
            &app,
            reqwest::Method::GET,
            "/interactions/w1",
            &[("ContactCenterId", TENANT), ("Application-Key", ingest.as_str())],
            "",
        )
        .await;
        assert_eq!(cs.status, 401, "{}", cs.text());
        // An admin key does both.
        assert_eq!(post(&app, "/v1/interactions", &admin, JSON, one("w2")).await.status, 200);
        assert_eq!(titles(&interact_as(&app, "/interactiondata/w2/fullFlow", &admin, None).await), ["w2 page 0"]);

        // The key fixes the environment: naming another is refused; a staging key writes to staging.
        let wrong_env =
            [("Authorization", bearer(&ingest)), ("Content-Type", JSON.into()), ("Environment-Name", "staging".into())];
        let wrong_env: Vec<(&str, &str)> = wrong_env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        send(&app, reqwest::Method::POST, "/v1/interactions", &wrong_env, one("x")).await.assert_error(
            401,
            "unauthorized",
            "unknown environment",
        );
        let staging_ingest = app.add_key(TENANT, "staging", "ingest").await;
        assert_eq!(post(&app, "/v1/interactions", &staging_ingest, JSON, one("st1")).await.status, 200);
        assert_eq!(interact(&app, "/interactiondata/st1/fullFlow").await.status, 404, "not in production");
        let staging_read = app.add_key(TENANT, "staging", "read").await;
        assert_eq!(
            titles(&interact_as(&app, "/interactiondata/st1/fullFlow", &staging_read, Some("staging")).await),
            ["st1 page 0"]
        );
        delete(&app, "/v1/interactions/040100709", &staging_ingest).await.assert_error(
            404,
            "not_found",
            "no interaction",
        );

        // Another tenant's key can neither write into this tenant nor erase from it.
        app.add_tenant("99999999", &["production"]).await;
        let other = app.add_key("99999999", "production", "ingest").await;
        let mut aimed = record("o1", now - 60_000, 1);
        aimed["tenant"] = json!(TENANT);
        let reply = post(&app, "/v1/interactions", &other, JSON, aimed.to_string()).await;
        assert_eq!(
            (reply.status, reply.json()["results"][0]["path"].as_str()),
            (422, Some("tenant")),
            "{}",
            reply.text()
        );
        assert!(!reply.text().contains(TENANT), "the answer names only the key's own tenant: {}", reply.text());
        delete(&app, "/v1/interactions/040100709", &other).await.assert_error(404, "not_found", "no interaction");
        let customer = delete(&app, "/v1/customers/00001a57JGQ00C01", &other).await;
        assert_eq!(customer.json()["removed"]["interactions"], 0);
        post(&app, "/v1/interactions/040100730/pages", &other, JSON, page("x", now).to_string()).await.assert_error(
            404,
            "not_found",
            "no interaction",
        );
        assert_eq!(post(&app, "/v1/interactions", &other, JSON, one("o2")).await.status, 200);
        assert_eq!(interact(&app, "/interactiondata/o2/fullFlow").await.status, 404, "stored under the other tenant");
        assert_eq!(titles(&interact(&app, "/interactiondata/040100709/fullFlow").await).len(), 3);
        assert_eq!(titles(&interact(&app, "/interactiondata/040100730/fullFlow").await).len(), 2);
    }
}

// --- the binary: purge, the daily purge, a 200 MB stream ----------------------------------------

fn ixgw(database: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ixgw"));
    command.args(["--database", database]).args(args).env_remove("IXGW_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("ixgw runs")
}

#[track_caller]
fn stdout_of(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ixgw serve` on a loopback port of its choosing, with JSON logs read as they come.
struct Server {
    child: Child,
    base_url: String,
    log: mpsc::Receiver<Value>,
    /// Every log line read so far.
    seen: Vec<Value>,
}

impl Server {
    fn start(database: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ixgw"));
        command
            .args(["--database", database, "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("IXGW_LOG_FORMAT", "json")
            .env("IXGW_LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("ixgw serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str(&line).unwrap_or_else(|_| json!({"message": line})));
            }
        });
        let mut server = Server { child, base_url: String::new(), log, seen: Vec::new() };
        let listening = server.wait_for("listening");
        server.base_url = format!("http://{}", listening["address"].as_str().expect("the address is logged"));
        server
    }

    /// The first log line whose message is `message`, waiting for it if it has not come yet.
    fn wait_for(&mut self, message: &str) -> Value {
        if let Some(line) = self.seen.iter().find(|l| l["message"] == message) {
            return line.clone();
        }
        loop {
            // Generous: a debug build on a busy 2-core machine can be slow, and a hang still ends.
            match self.log.recv_timeout(Duration::from_secs(180)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line["message"] == message {
                        return line;
                    }
                }
                Err(_) => panic!("the server did not log `{message}`: {:#?}", self.seen),
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, in bytes (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kb.unwrap_or(0) * 1024
}

/// Records last active at known ages, in two tenants: what a 12-month and a 90-day purge remove.
fn aged_records(now: i64) -> (String, [(&'static str, &'static str); 7]) {
    let at = |id: &str, tenant: &str, started_days: i64, ended_days: Option<i64>, page_days: &[i64]| {
        let pages: Vec<Value> =
            page_days.iter().enumerate().map(|(i, d)| page(&format!("{id} {i}"), now - d * DAY)).collect();
        let mut r = json!({"tenant": tenant, "id": id, "started_at": iso(now - started_days * DAY), "pages": pages});
        if let Some(d) = ended_days {
            r["ended_at"] = json!(iso(now - d * DAY));
        }
        r
    };
    let records = [
        at("old-ended", TENANT, 400, Some(399), &[400, 399]),
        at("old-running", TENANT, 400, None, &[395, 390]),
        at("old-other-tenant", "99999999", 380, Some(379), &[380]),
        at("just-past-12-months", TENANT, 370, Some(367), &[]),
        at("within-12-months", TENANT, 370, Some(360), &[361]),
        at("revived", TENANT, 400, None, &[400, 10]),
        at("fresh", TENANT, 1, Some(1), &[1]),
    ];
    let ids = [
        ("old-ended", TENANT),
        ("old-running", TENANT),
        ("old-other-tenant", "99999999"),
        ("just-past-12-months", TENANT),
        ("within-12-months", TENANT),
        ("revived", TENANT),
        ("fresh", TENANT),
    ];
    (ndjson(&records), ids)
}

async fn stored_ids(url: &str, ids: &[(&str, &str)]) -> Vec<String> {
    let database = ixgw_store::Database::connect(url, &Default::default()).await.unwrap();
    let store = database.store();
    let mut out = Vec::new();
    for (id, tenant) in ids {
        let at = ixgw_core::Partition { tenant, environment: "production" };
        if store.context_interaction(at, id).await.unwrap().is_some() {
            out.push(id.to_string());
        }
    }
    database.close().await;
    out
}

mod retention {
    use super::*;

    store_tests!(
        a_purge_removes_exactly_what_was_last_active_before_the_cutoff,
        serve_purges_daily_when_configured_and_never_in_the_demo
    );

    async fn a_purge_removes_exactly_what_was_last_active_before_the_cutoff(backend: Backend) {
        let db = backend.fresh_database().await;
        let dir = tempfile::tempdir().unwrap();
        stdout_of(&ixgw(&db.url, &["tenant", "add", TENANT], &[]));
        stdout_of(&ixgw(&db.url, &["tenant", "add", "99999999"], &[]));
        let (records, ids) = aged_records(Millis::now().0);
        let file = dir.path().join("aged.ndjson");
        std::fs::write(&file, records).unwrap();
        stdout_of(&ixgw(&db.url, &["import", file.to_str().unwrap()], &[]));
        assert_eq!(stored_ids(&db.url, &ids).await.len(), 7);

        let out = stdout_of(&ixgw(&db.url, &["purge"], &[]));
        assert!(
            out.starts_with(
                "purged 4 interactions, 5 pages, 0 caller attributes, 0 photos, 0 variable sets, 0 \
             content parts, 0 service links (last active before "
            ),
            "{out}"
        );
        assert_eq!(stored_ids(&db.url, &ids).await, ["within-12-months", "revived", "fresh"]);
        let again = stdout_of(&ixgw(&db.url, &["purge", "--older-than", "12months"], &[]));
        assert!(again.starts_with("purged 0 interactions,"), "{again}");
        // The configured period is the default; the flag wins over it.
        let out = stdout_of(&ixgw(&db.url, &["purge"], &[("IXGW_RETENTION_PURGE_OLDER_THAN", "90days")]));
        assert!(out.starts_with("purged 1 interactions, 1 pages,"), "{out}");
        assert_eq!(stored_ids(&db.url, &ids).await, ["revived", "fresh"]);
        let bad = ixgw(&db.url, &["purge", "--older-than", "12weeks"], &[]);
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("12months or 90days"),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
    }

    async fn serve_purges_daily_when_configured_and_never_in_the_demo(backend: Backend) {
        let db = backend.fresh_database().await;
        let dir = tempfile::tempdir().unwrap();
        stdout_of(&ixgw(&db.url, &["tenant", "add", TENANT], &[]));
        stdout_of(&ixgw(&db.url, &["tenant", "add", "99999999"], &[]));
        let (records, ids) = aged_records(Millis::now().0);
        let file = dir.path().join("aged.ndjson");
        std::fs::write(&file, records).unwrap();
        stdout_of(&ixgw(&db.url, &["import", file.to_str().unwrap()], &[]));

        // The demo keeps its 2009 seed whatever the settings say.
        let demo = Server::start(&db.url, &["--demo"], &[("IXGW_RETENTION_DAILY_PURGE", "true")]);
        let warned = demo.seen.iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("ignored with --demo")));
        assert!(warned, "{:#?}", demo.seen);
        drop(demo);
        assert_eq!(stored_ids(&db.url, &ids).await.len(), 7, "no purge with --demo");
        let seed = ixgw_core::Partition { tenant: TENANT, environment: "production" };
        let database = ixgw_store::Database::connect(&db.url, &Default::default()).await.unwrap();
        assert!(database.store().context_interaction(seed, "00001a57JGQ00BW8").await.unwrap().is_some());
        database.close().await;

        let mut server = Server::start(&db.url, &[], &[("IXGW_RETENTION_DAILY_PURGE", "true")]);
        let purge = server.wait_for("retention purge");
        // Four of the aged records, and two of the demo's: its 395-day-old record and its 2009 seed.
        assert_eq!(
            (purge["interactions"].as_u64(), purge["retention"].as_str()),
            (Some(6), Some("12months")),
            "{purge}"
        );
        assert_eq!(stored_ids(&db.url, &ids).await, ["within-12-months", "revived", "fresh"]);
        let database = ixgw_store::Database::connect(&db.url, &Default::default()).await.unwrap();
        assert!(database.store().context_interaction(seed, "00001a57JGQ00BW8").await.unwrap().is_none());
        database.close().await;
        drop(server);
    }
}

// --- a 200 MB stream with bounded server memory ----------------------------------------------------

/// Size of the streamed body.
const STREAM_BYTES: usize = 200 * 1024 * 1024;
/// Every this many lines, one is broken on purpose.
const BAD_EVERY: usize = 10_000;
/// Most the server's resident memory may grow over its idle size while it ingests the stream.
const RSS_GROWTH_LIMIT: u64 = 100 * 1024 * 1024;

/// Line `n` of the stream: a small record (about 2 KB), or a broken line every [`BAD_EVERY`].
fn stream_line(n: usize, now: i64) -> String {
    if n % BAD_EVERY == BAD_EVERY - 1 {
        return format!("{{\"id\": \"bad{n}\", \"started_at\": \"not a date\"}}\n");
    }
    let start = now - 3_600_000 + (n % 1000) as i64;
    let r = json!({
        "id": format!("m{n:08}"),
        "customer_id": format!("c{}", n % 5000),
        "started_at": iso(start),
        "ended_at": iso(start + 60_000),
        "caller_attributes": [{"kind": "dtmf", "value": format!("{n}"), "allocated_at": iso(start + 1)}],
        "content": {"plain_text": format!("{n:08} ").repeat(190)},
        "pages": [page(&format!("m{n} 0"), start + 10), page(&format!("m{n} 1"), start + 20)]
    });
    format!("{r}\n")
}

mod large_stream {
    use super::*;

    /// On SQLite only: the HTTP face and its memory bound are the same for both stores, and
    /// PostgreSQL takes this stream in at 600–850 records/s in a debug build (two to three minutes).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_200_mb_stream_is_ingested_with_bounded_server_memory() {
        let backend = Backend::Sqlite;
        let db = backend.fresh_database().await;
        stdout_of(&ixgw(&db.url, &["tenant", "add", TENANT], &[]));
        let key =
            stdout_of(&ixgw(&db.url, &["key", "add", "--tenant", TENANT, "--scope", "ingest"], &[])).trim().to_string();
        let server = Server::start(&db.url, &[], &[]);
        let client = reqwest::Client::new();
        let url = format!("{}/v1/interactions", server.base_url);
        let now = Millis::now().0;

        // Warm up (first connections, first statements), then take the idle size.
        let warm: String = (0..200).map(|n| stream_line(BAD_EVERY * 1000 + n, now)).collect();
        let reply = client.post(&url).bearer_auth(&key).header("Content-Type", NDJSON).body(warm).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        let baseline = rss_bytes(server.pid());
        assert!(baseline > 0, "VmRSS is readable");

        let line_bytes = stream_line(0, now).len();
        let lines = STREAM_BYTES / line_bytes + 1;
        let bad = (0..lines).filter(|n| n % BAD_EVERY == BAD_EVERY - 1).count();
        let chunks = futures_util::stream::iter((0..lines).step_by(32).map(move |first| {
            let chunk: String = (first..(first + 32).min(lines)).map(|n| stream_line(n, now)).collect();
            Ok::<_, std::io::Error>(chunk)
        }));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (sampling, pid) = (sampling.clone(), server.pid());
            std::thread::spawn(move || {
                let mut samples = Vec::new();
                while sampling.load(Ordering::SeqCst) {
                    samples.push(rss_bytes(pid));
                    std::thread::sleep(Duration::from_millis(50));
                }
                samples
            })
        };
        let started = std::time::Instant::now();
        let reply = client
            .post(&url)
            .bearer_auth(&key)
            .header("Content-Type", NDJSON)
            .body(reqwest::Body::wrap_stream(chunks))
            .timeout(Duration::from_secs(1800))
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let report: Value = reply.json().await.unwrap();
        let elapsed = started.elapsed();
        sampling.store(false, Ordering::SeqCst);
        let samples = sampler.join().unwrap();
        let peak = samples.iter().copied().max().unwrap_or(0);

        assert_eq!(status, 422, "{report}");
        assert_eq!(
            (report["accepted"].as_u64(), report["rejected"].as_u64()),
            (Some((lines - bad) as u64), Some(bad as u64))
        );
        assert_eq!(report["results"].as_array().unwrap().len(), bad);
        assert_eq!(report["results"][0]["line"].as_u64(), Some(BAD_EVERY as u64));
        eprintln!(
            "{backend:?}: {} MB, {lines} lines in {:.1} s ({:.0} records/s); server RSS idle {} MB, peak {} MB ({} \
             samples)",
            STREAM_BYTES / (1024 * 1024),
            elapsed.as_secs_f64(),
            lines as f64 / elapsed.as_secs_f64(),
            baseline / (1024 * 1024),
            peak / (1024 * 1024),
            samples.len()
        );
        assert!(samples.len() >= 10, "RSS was sampled during the upload");
        assert!(
            peak < baseline + RSS_GROWTH_LIMIT,
            "server memory grew with the stream: idle {baseline} B, peak {peak} B"
        );
        // The records are really there.
        let last_good = (0..lines).rev().find(|n| n % BAD_EVERY != BAD_EVERY - 1).unwrap();
        let read_key = stdout_of(&ixgw(&db.url, &["key", "add", "--tenant", TENANT], &[])).trim().to_string();
        let reply = client
            .get(format!(
                "{}/interact/agent/version/2/account/{TENANT}/interactiondata/m{last_good:08}/fullFlow",
                server.base_url
            ))
            .header("Tenant-Id", TENANT)
            .header("Application-Key", read_key)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
}
