//! `ixgw pull`: gateway A holds the history (the demo records and generated ones) and stands in for
//! the vendor; gateway B starts empty and pulls from A. Then every Interact REST and SOAP operation
//! and every Context Services route must answer on B byte for byte as on A, for every pulled id and
//! every caller attribute (SQLite and PostgreSQL targets). Faults of the source (500s, 429s, slow
//! answers, bodies cut short, a source that stops) must end in a resumable state and, rerun, in a
//! complete copy; the binary is killed mid-pull and resumes too.

use crate::helpers::*;
use ixgw::pull::{
    pull_context_services, pull_interact, ContextServicesPull, InteractPull, PullOptions, PullReport, RetryPolicy,
    Source, Target,
};
use ixgw_core::model::record::InteractionRecord;
use ixgw_core::{Millis, Partition};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TENANT: &str = "12345678";
const PUBLIC_URL: &str = "http://gateway.test";
const REST: &str = "/interact/agent/version/2/account/12345678";
const SOAP: &str = "/interact/version/2/interactiondata/soap";

/// An environment of the demo tenant and its read key.
#[derive(Clone, Copy)]
struct Env {
    name: &'static str,
    key: &'static str,
}

const PRODUCTION: Env = Env { name: "production", key: "demo-application-key" };
const STAGING: Env = Env { name: "staging", key: "demo-staging-key" };

// --- the two gateways --------------------------------------------------------------------------------

/// Both gateways print the same public URL (Context Services links) and share the demo's clock.
async fn gateway(backend: Backend, demo: bool) -> TestApp {
    let options = SpawnOptions { demo, now: Some(demo_now()) };
    TestApp::spawn_full(backend, options, |s| s.server.public_url = Some(PUBLIC_URL.into())).await
}

/// Gateway A: the demo and `n` generated interactions.
async fn source(n: usize) -> TestApp {
    let a = gateway(Backend::Sqlite, true).await;
    let report = a.import_ndjson(&generated(n)).await;
    assert_eq!(report.rejected, 0, "{:?}", report.first_rejections);
    a
}

/// A small real PNG (photos are scaled with `maxSize`).
fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(6, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 60, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// `n` interactions of the demo tenant's production environment, spread over 14 months before the
/// demo's now, with every part a record can have: pages of each input kind, photos (one a page
/// names that does not exist), caller attributes shared between interactions and re-allocated,
/// variable sets, Context Services fields, content parts with and without MIME types, service links.
fn generated(n: usize) -> String {
    let b64 = |b: &[u8]| serde_json::to_value(ixgw_core::model::record::Base64Bytes(b.to_vec())).unwrap();
    let now = demo_now().0;
    let iso = |ms: i64| Millis(ms).to_iso_millis();
    let png = b64(&png());
    let mut lines = Vec::new();
    for i in 0..n {
        let start = now - (i as i64 * 11 % 420) * 86_400_000 - (i as i64 % 24) * 3_600_000;
        let running = i % 6 == 5;
        let mut pages = Vec::new();
        let mut photos = Vec::new();
        for k in 0..(i % 5) {
            let mut choices = vec![json!({"id": format!("c{k}"), "choiceValue": format!("answer {i}-{k} \"q\" & <b>"),
                "textInput": {"isMandatory": true, "maxCharacters": 80, "placeHolderText": "Type – here"}})];
            if k == 1 {
                let option = |id: &str, label: &str| {
                    json!({"id": id, "buttonState": "NORMAL",
                           "buttonVisible": true, "buttonLabel": label})
                };
                let options = [option("o1", "One"), option("o2", "Two")];
                choices.push(json!({"id": "pick", "choiceValue": "o2",
                    "selectFromList": {"isMandatory": true, "selectFromListOptions": options}}));
            }
            if k == 0 && i % 3 == 0 {
                let mut images = vec![json!({"imagePath": format!("/data/gen/{i}/photo one.png")})];
                photos.push(
                    json!({"path": format!("/data/gen/{i}/photo one.png"), "mime": "image/png", "data_base64": png}),
                );
                if i % 9 == 0 {
                    images.push(json!({"imagePath": format!("/data/gen/{i}/missing.jpg")}));
                }
                let upload = json!({"isMandatory": false, "images": images});
                choices.push(json!({"id": "upload", "choiceValue": "", "uploadImageList": upload}));
            }
            pages.push(json!({
                "pageNavigation": {
                    "navigationTitle": format!("Step {k} of gen-{i}"),
                    "pageReferenceName": format!("step{k}"),
                    "navigationRight": {"buttonState": "NORMAL", "buttonVisible": true, "buttonLabel": "Next",
                                        "buttonAction": "server://navigationType?type=NEXT&shouldSendFormData=true"}},
                "pageContent": {
                    "contentHeader": {"id": format!("h{k}"), "innerHtml": "<span>Tell us &amp; more</span>"},
                    "contentSections": [{"id": format!("s{k}"), "sectionLabel": "Label", "sectionChoices": choices}]},
                "timestamp": start + 10_000 * (k as i64 + 1)
            }));
        }
        let mut attributes = vec![
            json!({"kind": "dtmf", "value": format!("{}", 7000 + i % 20), "allocated_at": iso(start + 1_000)}),
            json!({"kind": "callerId", "value": format!("+1555000{}", i % 10), "allocated_at": iso(start + 2_000)}),
        ];
        if i % 4 == 0 {
            attributes.push(
                json!({"kind": "historySearchId", "value": format!("gen-old-{i}"), "allocated_at": iso(start + 500)}),
            );
        }
        attributes.push(
            json!({"kind": "historySearchId", "value": format!("gen-history-{i}"), "allocated_at": iso(start + 3_000)}),
        );
        if i % 10 == 1 {
            // The same allocation instant for several interactions: ties go to the newest start, then the greatest id.
            attributes.push(json!({"kind": "dnid", "value": "dnid-shared", "allocated_at": iso(now - 86_400_000)}));
        }
        let media = ["chat", "voice", "email"][i % 3];
        let entity_type = [2, 3, 0][i % 3];
        let mut context = json!({"media_type": media, "type": "Inbound", "status": if running { 2 } else { 3 },
            "entity_type": entity_type, "subject": format!("Sujet nº{i} \"quoted\""),
            "external_id": format!("EXT{i:05}"), "thread_id": format!("T{}", i % 4), "owner_id": 100 + i,
            "creator_app_id": 175, "timeshift": 1, "allow_children": i % 2 == 0,
            "udata": {"zeta": format!("{i}"), "alpha": "", "ChatServerPort": "23874"}});
        if media == "email" {
            context["from"] = json!({"address": "jane@example.com", "personal": "Jane"});
            context["to"] = json!([{"address": "support@example.com"}]);
            context["sent_date"] = json!(iso(start + 1_000));
        }
        let mut content = serde_json::Map::new();
        if i % 2 == 0 {
            content.insert("plain_text".into(), json!(format!("Hello {i}, ça va?\nLine two")));
        }
        if i % 3 == 0 {
            content.insert("structured_text".into(), json!(format!("<p>Hi {i}</p>")));
            content.insert("structured_text_mime".into(), json!("text/html"));
        }
        if i % 5 == 0 {
            content.insert("binary_content_base64".into(), json!(b64(&[0, 1, 2, 255, i as u8])));
            if i % 10 != 0 {
                content.insert("binary_content_mime".into(), json!("application/pdf"));
            }
        }
        let mut record = json!({
            "tenant": TENANT, "environment": "production", "id": format!("gen-{i:03}"),
            "started_at": iso(start), "caller_attributes": attributes, "context": context,
            "pages": pages, "photos": photos,
        });
        if !running {
            record["ended_at"] = json!(iso(start + 300_000));
        }
        if i % 7 != 0 {
            record["customer_id"] = json!(format!("cust-{}", i % 5));
        }
        if i % 4 != 0 {
            record["service_ids"] = if i % 8 == 1 { json!([5001, 5002]) } else { json!([5001 + (i % 3) as i64]) };
        }
        if !content.is_empty() {
            record["content"] = serde_json::Value::Object(content);
        }
        let mut sets = serde_json::Map::new();
        if i % 2 == 0 {
            sets.insert("orderSet".into(), json!({"orderId": format!("O-{i}"), "note": ""}));
        }
        if i % 3 == 0 {
            sets.insert("customerInfoSet".into(), json!({"firstName": "Zoë", "lastName": format!("N{i}")}));
        }
        if !sets.is_empty() {
            record["variable_sets"] = serde_json::Value::Object(sets);
        }
        lines.push(record.to_string());
    }
    lines.join("\n")
}

// --- what the platform exports -----------------------------------------------------------------------

/// Every interaction of one environment of A, read back whole.
async fn records_of(app: &TestApp, env: Env) -> Vec<InteractionRecord> {
    let pool = match &app.database {
        ixgw_store::Database::Sqlite(s) => s.pool().clone(),
        _ => panic!("the source is SQLite"),
    };
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM interactions WHERE tenant = ?1 AND environment = ?2 ORDER BY id")
            .bind(TENANT)
            .bind(env.name)
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut records = Vec::new();
    for id in ids {
        records.push(app.database.record(partition(env), &id).await.unwrap().unwrap());
    }
    records
}

fn partition(env: Env) -> Partition<'static> {
    Partition { tenant: TENANT, environment: env.name }
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The files a contact-centre platform would export for the records.
struct Exports {
    dir: tempfile::TempDir,
    set_names: Vec<String>,
}

impl Exports {
    fn write(records: &[InteractionRecord], tag: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut ids = String::from("uniqueId,started_at,ended_at\n");
        // Context Services reaches an interaction without a customer only by its id.
        let mut unlisted = String::from("interaction_id\n");
        let mut attributes = String::from("uniqueId,kind,value,allocated_at\n");
        let (mut customers, mut services, mut sets) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for r in records {
            let end = r.ended_at.map(|e| e.0.to_iso_millis()).unwrap_or_default();
            ids.push_str(&format!("{},{},{end}\n", csv(&r.id), r.started_at.0.to_iso_millis()));
            for a in &r.caller_attributes {
                let at = a.allocated_at.0.to_iso_millis();
                attributes.push_str(&format!("{},{},{},{at}\n", csv(&r.id), a.kind, csv(&a.value)));
            }
            if r.customer_id.is_none() {
                unlisted.push_str(&format!("{}\n", csv(&r.id)));
            }
            customers.extend(r.customer_id.clone());
            services.extend(r.service_ids.iter().copied());
            sets.extend(r.variable_sets.keys().cloned());
        }
        let customers: Vec<String> = customers.into_iter().collect();
        let services: Vec<String> = services.into_iter().map(|s: i64| s.to_string()).collect();
        std::fs::write(dir.path().join(format!("{tag}-ids.csv")), ids).unwrap();
        std::fs::write(dir.path().join(format!("{tag}-attributes.csv")), attributes).unwrap();
        std::fs::write(dir.path().join(format!("{tag}-customers.txt")), customers.join("\n")).unwrap();
        std::fs::write(dir.path().join(format!("{tag}-unlisted.csv")), unlisted).unwrap();
        std::fs::write(
            dir.path().join(format!("{tag}-services.csv")),
            format!("service_id\n{}\n", services.join("\n")),
        )
        .unwrap();
        Exports { dir, set_names: sets.into_iter().collect() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

// --- pulling in process --------------------------------------------------------------------------------

fn options(concurrency: usize) -> PullOptions {
    PullOptions {
        concurrency,
        progress: false,
        retry: RetryPolicy {
            retries: 5,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(2),
        },
        ..PullOptions::default()
    }
}

fn target<'a>(b: &'a TestApp, env: Env) -> Target<'a> {
    Target {
        service: &b.service,
        database: &b.database,
        tenant: TENANT.into(),
        environment: env.name.into(),
        label: "the test's gateway B".into(),
    }
}

async fn pull_flows(
    from: &str,
    b: &TestApp,
    env: Env,
    exports: &Exports,
    tag: &str,
    options: &PullOptions,
) -> PullReport {
    let pull = InteractPull {
        source: Source {
            from: from.to_string(),
            key: Some(env.key.into()),
            environment: (env.name != "production").then(|| env.name.to_string()),
        },
        tenant: TENANT.into(),
        api_version: "2".into(),
        ids: exports.path(&format!("{tag}-ids.csv")),
        attributes: Some(exports.path(&format!("{tag}-attributes.csv"))),
        variable_sets: exports.set_names.clone(),
    };
    pull_interact(&pull, options, &target(b, env)).await.expect("the pull runs")
}

async fn pull_context(from: &str, b: &TestApp, env: Env, exports: &Exports, tag: &str, page_size: u32) -> PullReport {
    let pull = ContextServicesPull {
        source: Source {
            from: format!("{from}/genesys/1/cs"),
            key: Some(env.key.into()),
            environment: Some(env.name.into()),
        },
        contact_center: TENANT.into(),
        customers: Some(exports.path(&format!("{tag}-customers.txt"))),
        services: Some(exports.path(&format!("{tag}-services.csv"))),
        interactions: Some(exports.path(&format!("{tag}-unlisted.csv"))),
        page_size,
    };
    pull_context_services(&pull, &options(4), &target(b, env)).await.expect("the pull runs")
}

// --- the wire, compared ----------------------------------------------------------------------------------

/// Sends the same requests to A and B and keeps what differs.
struct Wire<'a> {
    a: &'a TestApp,
    b: &'a TestApp,
    compared: usize,
    found: usize,
    mismatches: Vec<String>,
}

type Answer = (u16, String, Vec<u8>);

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, content_type, response.bytes().await.expect("a whole body").to_vec())
}

impl<'a> Wire<'a> {
    fn new(a: &'a TestApp, b: &'a TestApp) -> Self {
        Wire { a, b, compared: 0, found: 0, mismatches: Vec::new() }
    }

    async fn same(&mut self, what: &str, request: impl Fn(&TestApp) -> reqwest::RequestBuilder) {
        let (from_a, from_b) = (send(request(self.a)).await, send(request(self.b)).await);
        self.compared += 1;
        if from_a.0 == 200 {
            self.found += 1;
        }
        if from_a != from_b {
            let show = |(status, ct, body): &Answer| {
                format!("{status} {ct} {}", String::from_utf8_lossy(&body[..body.len().min(300)]))
            };
            self.mismatches.push(format!("{what}\n  A: {}\n  B: {}", show(&from_a), show(&from_b)));
        }
    }

    async fn rest(&mut self, env: Env, path: &str) {
        self.same(path, |app| {
            app.client
                .get(app.url(&format!("{REST}{path}")))
                .header("Tenant-Id", TENANT)
                .header("Application-Key", env.key)
                .header("Environment-Name", env.name)
        })
        .await;
    }

    async fn context(&mut self, env: Env, path: &str) {
        for mount in ["", "/genesys/1/cs"] {
            self.same(&format!("{mount}{path}"), |app| {
                app.client
                    .get(app.url(&format!("{mount}{path}")))
                    .header("ContactCenterId", TENANT)
                    .header("Application-Key", env.key)
                    .header("Environment-Name", env.name)
            })
            .await;
        }
    }

    /// One operation in SOAP 1.1 and 1.2; `members` are the request's children, in order.
    async fn soap(&mut self, env: Env, operation: &str, members: &[(&str, &str)]) {
        let children: String =
            members.iter().map(|(name, value)| format!("<s:{name}>{}</s:{name}>", xml(value))).collect();
        for (envelope, content_type) in [
            ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8"),
            ("http://www.w3.org/2003/05/soap-envelope", "application/soap+xml; charset=utf-8"),
        ] {
            let body = format!(
                "<e:Envelope xmlns:e=\"{envelope}\" \
                 xmlns:s=\"http://com/jacada/interact/interactiondata/soap\"><e:Body>\
                 <s:{operation}Request>{children}</s:{operation}Request></e:Body></e:Envelope>"
            );
            self.same(&format!("SOAP {content_type} {operation} {members:?}"), |app| {
                app.client
                    .post(app.url(SOAP))
                    .header("Content-Type", content_type)
                    .header("SOAPAction", "\"\"")
                    .header("Tenant-Id", TENANT)
                    .header("Application-Key", env.key)
                    .header("Environment-Name", env.name)
                    .body(body.clone())
            })
            .await;
        }
    }

    /// Every route for every record of `records` (ids, their photos and variable sets, every
    /// caller attribute), and the Context Services lists they are in.
    async fn everything(&mut self, env: Env, records: &[InteractionRecord], set_names: &[String]) {
        let (mut customers, mut services, mut values) = (BTreeSet::new(), BTreeSet::new(), BTreeMap::new());
        let sets: Vec<&str> = set_names.iter().map(String::as_str).chain(["noSuchSet"]).collect();
        for r in records {
            let id = enc(&r.id);
            for wider in ["", "?widerSearch=true"] {
                self.rest(env, &format!("/interactiondata/{id}/fullFlow{wider}")).await;
                self.rest(env, &format!("/interactiondata/{id}/summary{wider}")).await;
            }
            for set in &sets {
                self.rest(env, &format!("/interactiondata/{id}/variableSet/{set}?widerSearch=true")).await;
                self.soap(
                    env,
                    "GetVariableSetByUUID",
                    &[("uniqueId", &r.id), ("variableSetId", set), ("widerSearch", "true")],
                )
                .await;
            }
            for path in r.pages.iter().flat_map(|p| p.image_paths()) {
                self.rest(env, &format!("/photo/{id}/{}", enc(&enc(path)))).await;
                self.rest(env, &format!("/photo/{id}/{}?maxSize=3", enc(&enc(path)))).await;
            }
            for wider in ["false", "true"] {
                self.soap(env, "GetInteractionFullFlowByUUID", &[("uniqueId", &r.id), ("widerSearch", wider)]).await;
                self.soap(env, "GetInteractionSummaryByUUID", &[("uniqueId", &r.id), ("widerSearch", wider)]).await;
            }
            self.context(env, &format!("/interactions/{id}")).await;
            for part in ["plain_text", "structured_text", "binary_content"] {
                self.context(env, &format!("/interactions/{id}/{part}")).await;
            }
            customers.extend(r.customer_id.clone());
            services.extend(r.service_ids.iter().copied());
            for a in &r.caller_attributes {
                values.insert(a.value.clone(), a.kind);
            }
        }
        for customer in customers {
            self.context(env, &format!("/customers/{}/interactions", enc(&customer))).await;
            self.context(env, &format!("/customers/{}/interactions?limit=2", enc(&customer))).await;
        }
        for service in services {
            self.context(env, &format!("/services/{service}/interactions")).await;
        }
        for (value, kind) in values {
            let v = enc(&value);
            for wider in ["", "?widerSearch=true"] {
                self.rest(env, &format!("/interactiondata/{v}/fullFlow/byCallerAttribute{wider}")).await;
                for segment in ["dtmf", "callReturn", "clickToCall", "historySearchId"] {
                    self.rest(env, &format!("/uniqueId/{segment}/{v}{wider}")).await;
                }
            }
            self.rest(env, &format!("/interactiondata/{v}/summary/byCallerAttribute?widerSearch=true")).await;
            self.rest(env, &format!("/interactiondata/{v}/variableSet/{}/byCallerAttribute?widerSearch=true", sets[0]))
                .await;
            for wider in ["false", "true"] {
                self.soap(
                    env,
                    "GetInteractionFullFlowByCallerAttribute",
                    &[("callerAttribute", &value), ("widerSearch", wider)],
                )
                .await;
            }
            self.soap(
                env,
                "GetInteractionSummaryByCallerAttribute",
                &[("callerAttribute", &value), ("widerSearch", "true")],
            )
            .await;
            self.soap(
                env,
                "GetVariableSetByCallerAttribute",
                &[("callerAttribute", &value), ("variableSetId", sets[0]), ("widerSearch", "true")],
            )
            .await;
            let segment = match kind.as_str() {
                "callReturnNumber" => "callReturn",
                "callerId" => "clickToCall",
                "dnid" => "dtmf",
                other => other,
            };
            self.soap(
                env,
                "GetInteractionUniqueId",
                &[("attributeType", segment), ("attributeValue", &value), ("widerSearch", "true")],
            )
            .await;
        }
    }

    fn assert_same(&self, at_least_found: usize) {
        assert!(
            self.mismatches.is_empty(),
            "{} of {} answers differ between A and B; the first:\n{}",
            self.mismatches.len(),
            self.compared,
            self.mismatches.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
        );
        assert!(self.found >= at_least_found, "only {} of {} answers were found (200)", self.found, self.compared);
        eprintln!("{} answers compared, {} of them found (200), all the same on A and B", self.compared, self.found);
    }
}

fn enc(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The parts of a record that the Interact pull brings (and the dates the ids file gives).
fn interact_view(r: &InteractionRecord) -> impl PartialEq + std::fmt::Debug {
    let named: BTreeSet<&str> = r.pages.iter().flat_map(|p| p.image_paths()).collect();
    let photos: Vec<_> = r.photos.iter().filter(|p| named.contains(p.path.as_str())).cloned().collect();
    (
        r.id.clone(),
        r.started_at,
        r.ended_at,
        r.pages.clone(),
        photos,
        r.caller_attributes.clone(),
        r.variable_sets.clone(),
    )
}

// --- the proof: every answer the same on B as on A ---------------------------------------------------

store_tests!(a_pulled_copy_answers_byte_for_byte_as_its_source);

async fn a_pulled_copy_answers_byte_for_byte_as_its_source(backend: Backend) {
    let a = source(36).await;
    let b = gateway(backend, false).await;
    let mut wire = Wire::new(&a, &b);
    for (env, tag) in [(PRODUCTION, "production"), (STAGING, "staging")] {
        let records = records_of(&a, env).await;
        let exports = Exports::write(&records, tag);
        let flows = pull_flows(&a.base_url, &b, env, &exports, tag, &options(4)).await;
        // The Interact API finds nothing older than 12 months: those come with Context Services only.
        let ancient: BTreeSet<String> = flows.failures.rows.iter().map(|(_, id, _)| id.clone()).collect();
        for (_, id, reason) in &flows.failures.rows {
            assert!(reason.contains("12-month window") && reason.contains("404"), "{id}: {reason}");
        }
        assert_eq!(flows.stored + ancient.len(), records.len(), "{}", flows.summary());
        assert!(!flows.notes.iter().any(|n| n.contains("summaries")), "A's summaries are B's: {:?}", flows.notes);
        if env.name == "production" {
            assert!(ancient.contains("039900100") && ancient.len() >= 2, "{ancient:?}");
        }
        let context = pull_context(&a.base_url, &b, env, &exports, tag, 3).await;
        assert!(context.complete(), "{}\n{:?}", context.summary(), context.failures.rows);
        // Whole records, equal to the source's (the ones the Interact API could not see lack their flow).
        for r in &records {
            let copy = b.database.record(partition(env), &r.id).await.unwrap().expect("pulled");
            if ancient.contains(&r.id) {
                assert!(copy.pages.is_empty() && copy.caller_attributes.is_empty(), "{}", r.id);
                assert_eq!((copy.context.as_ref(), copy.content.as_ref()), (r.context.as_ref(), r.content.as_ref()));
            } else {
                assert_eq!(&copy, r, "{} differs", r.id);
            }
        }
        wire.everything(env, &records, &exports.set_names).await;
        // A rerun finds everything in its checkpoints: nothing is fetched again.
        let again = pull_flows(&a.base_url, &b, env, &exports, tag, &options(4)).await;
        let again_context = pull_context(&a.base_url, &b, env, &exports, tag, 3).await;
        assert!(again_context.complete(), "{}", again_context.summary());
        assert_eq!((again_context.stored, again_context.requests), (0, 0), "{}", again_context.summary());
        assert!(again_context.skipped > 0);
        let expected = (0, records.len() - ancient.len(), ancient.len() as u64);
        assert_eq!(
            (again.stored, again.skipped, again.requests),
            expected,
            "only the ancient ones are asked again: {}",
            again.summary()
        );
    }
    wire.assert_same(1500);
}

/// An ids file with no dates (the platform exported ids only), and interactions no customer lists:
/// the Interact pull takes their start from the first page and names them as having no end; the
/// Context Services pull by id then brings their true dates, and every answer is the source's.
#[tokio::test]
async fn interactions_no_customer_lists_get_their_dates_from_a_pull_by_id() {
    let a = source(24).await;
    let b = gateway(Backend::Sqlite, false).await;
    let records = records_of(&a, PRODUCTION).await;
    let unlisted: Vec<&InteractionRecord> =
        records.iter().filter(|r| r.customer_id.is_none() && !r.pages.is_empty() && r.ended_at.is_some()).collect();
    assert!(unlisted.len() >= 2, "the generated set has interactions without a customer");
    let exports = Exports::write(&records, "production");
    let ids: String = unlisted.iter().map(|r| format!("{}\n", csv(&r.id))).collect();
    std::fs::write(exports.path("production-ids.csv"), format!("uniqueId\n{ids}")).unwrap();
    let flows = pull_flows(&a.base_url, &b, PRODUCTION, &exports, "production", &options(2)).await;
    assert_eq!(flows.stored, unlisted.len(), "{}", flows.summary());
    let summary = flows.summary();
    assert!(summary.contains(&format!("{} interactions have no end", unlisted.len())), "{summary}");
    assert!(unlisted.iter().take(10).all(|r| summary.contains(&r.id)), "the summary names them: {summary}");
    std::fs::write(exports.path("production-customers.txt"), "").unwrap();
    std::fs::write(exports.path("production-services.csv"), "service_id\n").unwrap();
    let context = pull_context(&a.base_url, &b, PRODUCTION, &exports, "production", 0).await;
    assert!(context.complete(), "{}", context.summary());
    let mut wire = Wire::new(&a, &b);
    for r in &unlisted {
        let copy = b.database.record(partition(PRODUCTION), &r.id).await.unwrap().expect("pulled");
        assert_eq!((copy.started_at, copy.ended_at), (r.started_at, r.ended_at), "{}: the source's dates", r.id);
        wire.context(PRODUCTION, &format!("/interactions/{}", enc(&r.id))).await;
        wire.rest(PRODUCTION, &format!("/interactiondata/{}/fullFlow?widerSearch=true", enc(&r.id))).await;
    }
    wire.assert_same(2 * unlisted.len());
}

// --- faults of the source ----------------------------------------------------------------------------

/// What the fault-injecting proxy does with the `n`th request (0-based) for `path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Pass,
    /// 500 `exception`.
    Fail,
    /// 429 with `Retry-After: 1`.
    SlowDown,
    /// The answer only after this long.
    Late(Duration),
    /// The headers with the full `Content-Length`, half the body, then the connection closes.
    CutShort,
    /// Half the body, with a `Content-Length` that says so.
    ShortBody,
    /// The proxy stops: this and every later connection is refused or dropped.
    Stop,
}

type Plan = Arc<dyn Fn(usize, &str) -> Fault + Send + Sync>;

/// A loopback HTTP/1.1 proxy in front of a gateway that injects faults per a plan.
struct FaultProxy {
    url: String,
    requests: Arc<AtomicUsize>,
    stopped: Arc<AtomicBool>,
}

impl FaultProxy {
    async fn start(upstream: &str, plan: Plan) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (requests, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (count, stop) = (requests.clone(), stopped.clone());
        let upstream = upstream.to_string();
        let client = reqwest::Client::new();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (plan, count, stop, upstream, client) =
                    (plan.clone(), count.clone(), stop.clone(), upstream.clone(), client.clone());
                tokio::spawn(async move { serve(conn, &upstream, &client, plan, &count, &stop).await });
            }
        });
        FaultProxy { url, requests, stopped }
    }
}

async fn serve(
    mut conn: tokio::net::TcpStream,
    upstream: &str,
    client: &reqwest::Client,
    plan: Plan,
    count: &AtomicUsize,
    stop: &AtomicBool,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next().unwrap_or_default().split(' ').nth(1).unwrap_or("/").to_string();
    let fault =
        if stop.load(Ordering::SeqCst) { Fault::Stop } else { plan(count.fetch_add(1, Ordering::SeqCst), &path) };
    if fault == Fault::Stop {
        stop.store(true, Ordering::SeqCst);
        return;
    }
    let mut request = client.get(format!("{upstream}{path}"));
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            if ["tenant-id", "application-key", "environment-name", "contactcenterid"]
                .contains(&name.trim().to_ascii_lowercase().as_str())
            {
                request = request.header(name.trim(), value.trim());
            }
        }
    }
    let (mut status, mut content_type, mut body) = send(request).await;
    let mut extra = String::new();
    match fault {
        Fault::Fail => (status, content_type, body) = (500, "text/plain;charset=UTF-8".into(), b"exception".to_vec()),
        Fault::SlowDown => {
            (status, body) = (429, Vec::new());
            extra = "Retry-After: 1\r\n".into();
        }
        Fault::Late(wait) => tokio::time::sleep(wait).await,
        _ => {}
    }
    let declared = if fault == Fault::ShortBody { body.len() / 2 } else { body.len() };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: \
     {declared}\r\n{extra}Connection: close\r\n\r\n"
    );
    let sent = if matches!(fault, Fault::CutShort | Fault::ShortBody) { body.len() / 2 } else { body.len() };
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(&body[..sent]).await;
    let _ = conn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_of_the_source_end_resumable_and_a_rerun_completes_the_copy() {
    let a = source(30).await;
    let b = gateway(Backend::Sqlite, false).await;
    let records = records_of(&a, PRODUCTION).await;
    let exports = Exports::write(&records, "production");
    let window = ixgw_core::SearchWindow::Wider;
    let visible: Vec<&InteractionRecord> =
        records.iter().filter(|r| window.contains(demo_now().to_datetime(), r.last_activity())).collect();
    assert!(visible.len() < records.len(), "some are older than the wider window");

    // A source that fails now and then: every fault is retried and the copy is whole.
    let flaky: Plan = Arc::new(|n, path| match n % 23 {
        3 => Fault::Fail,
        7 if n < 100 => Fault::SlowDown,
        11 => Fault::CutShort,
        13 if path.contains("fullFlow") => Fault::ShortBody,
        17 if n < 200 => Fault::Late(Duration::from_millis(1500)),
        _ => Fault::Pass,
    });
    let proxy = FaultProxy::start(&a.base_url, flaky).await;
    let mut opts = options(4);
    opts.timeout = Duration::from_millis(700);
    let report = pull_flows(&proxy.url, &b, PRODUCTION, &exports, "production", &opts).await;
    let not_found: Vec<&str> =
        report.failures.rows.iter().filter(|(_, _, r)| r.contains("12-month")).map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(not_found.len(), report.failures.rows.len(), "only the ancient ones fail: {:?}", report.failures.rows);
    assert_eq!(report.stored, visible.len(), "{}", report.summary());
    assert!(report.retries >= 10, "the faults were met and retried: {}", report.summary());
    for r in &visible {
        let copy = b.database.record(partition(PRODUCTION), &r.id).await.unwrap().expect("stored");
        assert_eq!(interact_view(&copy), interact_view(r), "{}", r.id);
    }

    // A source that stops mid-pull: what is stored is whole, the rest is listed, a rerun completes.
    let c = gateway(Backend::Sqlite, false).await;
    let exports = Exports::write(&records, "stop");
    let stopping: Plan = Arc::new(|n, _| if n >= 25 { Fault::Stop } else { Fault::Pass });
    let proxy = FaultProxy::start(&a.base_url, stopping).await;
    let mut opts = options(3);
    opts.retry.retries = 1;
    let first = pull_flows(&proxy.url, &c, PRODUCTION, &exports, "stop", &opts).await;
    assert!(proxy.stopped.load(Ordering::SeqCst));
    assert!(first.stopped.as_deref().is_some_and(|s| s.contains("seems to be down")), "{}", first.summary());
    assert!(first.stored > 0 && first.stored < visible.len(), "{}", first.summary());
    let failed: BTreeSet<&str> = first.failures.rows.iter().map(|(_, id, _)| id.as_str()).collect();
    let mut stored = 0;
    for r in &records {
        match c.database.record(partition(PRODUCTION), &r.id).await.unwrap() {
            Some(copy) => {
                assert_eq!(interact_view(&copy), interact_view(r), "{} is stored whole", r.id);
                assert!(!failed.contains(r.id.as_str()), "{} is stored and listed as failed", r.id);
                stored += 1;
            }
            None => assert!(failed.contains(r.id.as_str()), "{} is neither stored nor listed", r.id),
        }
    }
    assert_eq!(stored, first.stored);
    let failures_file = std::fs::read_to_string(&first.failures_file).unwrap();
    assert!(failures_file.starts_with("kind,id,reason\n") && failures_file.contains("not tried"), "{failures_file}");
    assert!(proxy.requests.load(Ordering::SeqCst) >= 25);

    let second = pull_flows(&a.base_url, &c, PRODUCTION, &exports, "stop", &options(4)).await;
    assert_eq!(second.skipped, first.stored, "{}", second.summary());
    assert_eq!(first.stored + second.stored, visible.len(), "{}", second.summary());
    for r in &visible {
        let copy = c.database.record(partition(PRODUCTION), &r.id).await.unwrap().expect("stored after the rerun");
        assert_eq!(interact_view(&copy), interact_view(r), "{}", r.id);
    }
    assert!(!second.failures_file.exists() || second.failures.rows.iter().all(|(_, _, r)| r.contains("12-month")));
}

// --- the binary --------------------------------------------------------------------------------------

fn ixgw(args: &[&str], dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ixgw"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("IXGW_DATABASE_URL")
        .env_remove("IXGW_PULL_KEY");
    command
}

fn run(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = ixgw(args, dir).output().expect("ixgw runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_killed_mid_pull_resumes_and_keeps_its_key_to_itself() {
    let a = source(24).await;
    let records = records_of(&a, PRODUCTION).await;
    let exports = Exports::write(&records, "production");
    let dir = exports.dir.path();
    let database = format!("sqlite://{}", dir.join("b.db").display());
    let db = database.as_str();
    let (code, _, err) = run(&["--database", db, "tenant", "add", TENANT, "--environment", "production"], dir);
    assert_eq!(code, 0, "{err}");
    // The key the clients already send is kept (from stdin), so that they work unchanged after the move.
    let existing = |key: &str| {
        let mut child = ixgw(&["--database", db, "key", "add", "--tenant", TENANT, "--existing"], dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{key}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let key_id = ixgw_core::model::tenancy::NewKey::from_text(PRODUCTION.key.into()).key_id;
    assert_eq!(existing(PRODUCTION.key), (Some(0), format!("{key_id}\n")), "the id is printed, not the key");
    let (code, again) = existing(PRODUCTION.key);
    assert!(code == Some(1) && again.contains("stored already") && !again.contains(PRODUCTION.key), "{again}");
    // Slow answers, so that the pull is still going when it is killed.
    let slow: Plan = Arc::new(|_, _| Fault::Late(Duration::from_millis(60)));
    let proxy = FaultProxy::start(&a.base_url, slow).await;
    let sets = exports.set_names.join(",");
    let pull = |from: &str, extra: &[&str]| {
        let mut args = vec![
            "--database",
            db,
            "pull",
            "interact",
            "--from",
            from,
            "--tenant",
            TENANT,
            "--ids",
            "production-ids.csv",
            "--attributes",
            "production-attributes.csv",
            "--variable-sets",
            &sets,
            "--concurrency",
            "2",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<String>>()
    };
    let args = pull(&proxy.url, &[]);
    let mut child = ixgw(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir)
        .env("IXGW_PULL_KEY", PRODUCTION.key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoint = dir.join("production-ids.csv.checkpoint");
    let lines = || std::fs::read_to_string(&checkpoint).map(|t| t.lines().count()).unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while lines() < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    let killed = child.wait_with_output().unwrap();
    let stored_before = lines() - 1;
    assert!(stored_before >= 3 && stored_before < records.len(), "killed after {stored_before} interactions");

    // The rerun (straight to A) skips what the killed run stored and completes the copy.
    let mut args = pull(&a.base_url, &[]);
    args.extend(["--key".to_string(), PRODUCTION.key.to_string()]);
    let (code, out, err) = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir);
    assert_eq!(code, 1, "the ancient ones are not found by the Interact API:\n{out}\n{err}");
    assert!(out.contains(&format!("skipped {stored_before} stored by an earlier run")), "{out}");
    let failures = std::fs::read_to_string(dir.join("production-ids.csv.failed.csv")).unwrap();
    assert!(failures.contains("039900100") && failures.contains("12-month window"), "{failures}");
    let b = ixgw_store::Database::connect(db, &Default::default()).await.unwrap();
    let mut pulled = 0;
    for r in &records {
        if let Some(copy) = b.record(partition(PRODUCTION), &r.id).await.unwrap() {
            assert_eq!(interact_view(&copy), interact_view(r), "{}", r.id);
            pulled += 1;
        }
    }
    assert_eq!(pulled + failures.lines().count() - 1, records.len(), "{failures}");

    // --force pulls everything again; a bad key stops at once with a clear reason.
    let (code, out, _) = run(
        &pull(&a.base_url, &["--force", "--key", PRODUCTION.key]).iter().map(String::as_str).collect::<Vec<_>>(),
        dir,
    );
    assert_eq!(code, 1);
    assert!(out.contains(&format!("stored {pulled} interactions")), "{out}");
    let (code, out, err) = run(
        &pull(&a.base_url, &["--force", "--key", "not-the-key"]).iter().map(String::as_str).collect::<Vec<_>>(),
        dir,
    );
    assert_eq!(code, 1);
    assert!(out.contains("refused the credentials") && out.contains("unknown application key"), "{out}\n{err}");

    // The key never reaches an output or a file.
    let texts = [
        String::from_utf8_lossy(&killed.stdout).into_owned(),
        String::from_utf8_lossy(&killed.stderr).into_owned(),
        out,
        err,
        std::fs::read_to_string(&checkpoint).unwrap(),
        std::fs::read_to_string(dir.join("production-ids.csv.failed.csv")).unwrap(),
    ];
    for text in texts {
        assert!(!text.contains(PRODUCTION.key), "the key leaked: {text}");
    }
    b.close().await;
}

#[tokio::test]
async fn an_https_source_is_spoken_to_in_tls() {
    // A listener that answers in plain HTTP: the client must try a TLS handshake, fail it, and say so.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let b = gateway(Backend::Sqlite, false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.txt"), "040100713\n").unwrap();
    let pull = InteractPull {
        source: Source { from: format!("https://127.0.0.1:{port}"), key: Some("secret-key".into()), environment: None },
        tenant: TENANT.into(),
        api_version: "2".into(),
        ids: dir.path().join("ids.txt"),
        attributes: None,
        variable_sets: Vec::new(),
    };
    let mut opts = options(1);
    opts.retry.retries = 0;
    let report = pull_interact(&pull, &opts, &target(&b, PRODUCTION)).await.unwrap();
    let (_, id, reason) = &report.failures.rows[0];
    assert_eq!(id, "040100713");
    assert!(reason.contains("could not connect") && !reason.contains("secret-key"), "{reason}");
    assert!(reason.to_ascii_lowercase().contains("tls") || reason.contains("InvalidContentType"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_is_paced_by_rps_and_by_retry_after() {
    let a = gateway(Backend::Sqlite, true).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.txt"), "040100713\n040100709\n040100720\n").unwrap();
    let pull = |from: &str, name: &str| InteractPull {
        source: Source { from: from.to_string(), key: Some(PRODUCTION.key.into()), environment: None },
        tenant: TENANT.into(),
        api_version: "2".into(),
        ids: dir.path().join("ids.txt"),
        attributes: None,
        variable_sets: vec![name.to_string()],
    };
    // 10 requests a second: n requests take at least (n - 1) / 10 s, whatever the concurrency.
    let b = gateway(Backend::Sqlite, false).await;
    let mut opts = options(4);
    opts.requests_per_second = Some(10.0);
    let report = pull_interact(&pull(&a.base_url, "customerInfoSet"), &opts, &target(&b, PRODUCTION)).await.unwrap();
    assert!(report.complete() && report.stored == 3, "{}", report.summary());
    let floor = Duration::from_millis((report.requests - 1) * 100);
    assert!(report.elapsed >= floor, "{} requests in {:?}", report.requests, report.elapsed);

    // A 429 asks for a second: the retry waits for it, not for the 20 ms backoff.
    let once: Plan = Arc::new(|n, _| if n == 0 { Fault::SlowDown } else { Fault::Pass });
    let proxy = FaultProxy::start(&a.base_url, once).await;
    let c = gateway(Backend::Sqlite, false).await;
    let opts = PullOptions { force: true, ..options(1) };
    let report = pull_interact(&pull(&proxy.url, "repairInfoSet"), &opts, &target(&c, PRODUCTION)).await.unwrap();
    assert!(report.complete() && report.retries == 1, "{}", report.summary());
    assert!(report.elapsed >= Duration::from_millis(950), "{:?}", report.elapsed);
}
