//! Genesys Context Services "Query Interactions" (CV.WS.IXN.2) over HTTP, on both stores (spec
//! `context-services.md`; `docs/CONTEXT-SERVICES.md`).

use crate::helpers::*;
use reqwest::Method;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;

const BASE: &str = "/genesys/1/cs";
const MOUNTS: [&str; 2] = ["", BASE];
const TENANT: &str = "12345678";
const KEY: &str = "demo-application-key";
const SEED_ID: &str = "00001a57JGQ00BW8";
const CUSTOMER: &str = "00001a57JGQ00BVU";
/// The seed's example, reconstructed as one JSON document (see fixtures/golden/context/README.md).
const GOLDEN: &str = include_str!("../../../../fixtures/golden/context/00001a57JGQ00BW8.json");
const JSON_UTF8: &str = "application/json;charset=UTF-8";
const EXCEPTIONS: &str = "com.genesyslab.gsg.services.contextservices.exceptions.";
const DEMO: [(&str, &str); 2] = [("ContactCenterId", TENANT), ("Application-Key", KEY)];

// --- helpers -------------------------------------------------------------------------------------

impl Reply {
    fn ordered(&self) -> Ordered {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The `interaction_id`s of a list, in order.
    fn ids(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "{}", self.text());
        assert_eq!(self.header("content-type"), Some(JSON_UTF8));
        let list = self.json();
        let list = list.as_array().unwrap_or_else(|| panic!("not an array: {}", self.text()));
        list.iter().map(|r| r["interaction_id"].as_str().expect("interaction_id").to_string()).collect()
    }
    /// The absolute URL of `Link: <…>; rel="next"`, if any.
    fn next(&self) -> Option<String> {
        let link = self.header("link")?;
        let url = link.strip_prefix('<')?.strip_suffix(">; rel=\"next\"");
        Some(url.unwrap_or_else(|| panic!("not a next link: {link}")).to_string())
    }
}

/// The path of `url`, an absolute URL on this server (as the gateway writes links).
fn path_of<'a>(app: &TestApp, url: &'a str) -> &'a str {
    url.strip_prefix(&app.base_url).unwrap_or_else(|| panic!("a URL on this server: {url}"))
}

/// Asserts a `{message, exception}` error of `status` (members in that order, nothing else) and
/// returns the message.
fn error(reply: &Reply, status: u16, exception: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some(JSON_UTF8));
    assert_eq!(reply.ordered().keys(), ["message", "exception"], "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["exception"], format!("{EXCEPTIONS}{exception}"));
    body["message"].as_str().unwrap().to_string()
}

fn unknown_tenant_body(value: &str) -> Value {
    json!({
        "message": format!("Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='{value}' \
         not configured. Verify configuration."),
        "exception": "com.genesyslab.gsg.services.contextservices.exceptions.ContextServicesExceptionResource"
    })
}

fn no_tenant_body() -> Value {
    json!({
        "message": "Invalid tenant specified : no tenant specified in multi-tenant environment. Verify configuration \
         and 'ContactCenterId' HTTP header.",
        "exception": "com.genesyslab.gsg.services.contextservices.exceptions.ContextServicesExceptionResource"
    })
}

/// One record per line, as `ixgw import` reads them.
async fn import(app: &TestApp, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let report = app.import_ndjson(&text).await;
    assert_eq!((report.accepted, report.rejected), (records.len(), 0), "{:?}", report.first_rejections);
}

/// JSON with its members in the order they were written (`serde_json::Value` does not keep it).
#[derive(Debug, Clone, PartialEq)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar(Value),
}

impl Ordered {
    fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(members) => members.iter().map(|(k, _)| k.as_str()).collect(),
            other => panic!("not an object: {other:?}"),
        }
    }
    fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(v.into()))
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Ordered>()? {
            members.push(member);
        }
        Ok(Ordered::Object(members))
    }
}

/// `n` interactions of one customer (and service 777): ids `{prefix}0000`…, three by three on the
/// same start (so the id breaks ties), alternating `chat` / `email`, every third one running.
fn many(prefix: &str, customer: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "tenant": TENANT,
                "id": format!("{prefix}{i:04}"),
                "customer_id": customer,
                "service_ids": [777],
                "started_at": format!("2026-01-01T{:02}:{:02}:00.000Z", i / 3 / 60, i / 3 % 60),
                "context": {
                    "media_type": if i % 2 == 0 { "chat" } else { "email" },
                    "status": if i % 3 == 0 { 2 } else { 3 }
                },
                "content": {"plain_text": format!("text {i}")}
            })
        })
        .collect()
}

/// The list order: newest start first, then greatest id.
fn newest_first(records: &[Value]) -> Vec<String> {
    let mut keyed: Vec<(String, String)> =
        records.iter().map(|r| (r["started_at"].as_str().unwrap().into(), r["id"].as_str().unwrap().into())).collect();
    keyed.sort_by(|a, b| b.cmp(a));
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Follows `Link: rel="next"` from `path` to the end; every page's ids, in order.
async fn walk(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut url = Some(app.url(path));
    while let Some(next) = url {
        assert!(pages.len() < 1000, "the walk does not end");
        let reply = app.get(path_of(app, &next), headers).await;
        pages.push(reply.ids());
        url = reply.next();
    }
    pages
}

// --- the tests -----------------------------------------------------------------------------------

store_tests!(
    the_seed_example_field_for_field,
    customer_lists_newest_first,
    service_lists,
    content_parts_with_their_mime_types,
    tenancy_and_credential_errors,
    the_default_tenant,
    tenants_and_environments_are_isolated,
    paging_visits_every_interaction_once,
    filters_and_their_errors,
    long_lists_stream,
    forwarded_headers_and_public_url_shape_the_urls,
    ids_are_percent_encoded_in_urls,
    other_methods_are_405,
    open_access_needs_no_key,
    hostile_ids_get_plain_answers,
    store_outage_is_503
);

async fn the_seed_example_field_for_field(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    let golden: Ordered = serde_json::from_str(GOLDEN).unwrap();
    for mount in MOUNTS {
        let reply = app.get(&format!("{mount}/interactions/{SEED_ID}"), &DEMO).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some(JSON_UTF8));
        let got = reply.ordered();
        assert_eq!(got.keys(), golden.keys(), "the seed's member order");
        let Ordered::Object(members) = &golden else { unreachable!() };
        for (name, want) in members {
            let have = got.get(name).unwrap();
            let part = match name.as_str() {
                "text" => "plain_text",
                "structured_text" | "binary_content" => name,
                // Every other member, `udata` with its member order included, is the seed's.
                _ => {
                    assert_eq!(have, want, "{name}");
                    continue;
                }
            };
            let url = |host: &str| Ordered::Scalar(json!(format!("{host}/interactions/{SEED_ID}/{part}")));
            assert_eq!(want, &url("http://ucshost:8080"), "the seed's own URL");
            assert_eq!(have, &url(&format!("{}{mount}", app.base_url)), "{name} points at the serving host");
        }
    }
}

async fn customer_lists_newest_first(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    let expected = ["00001a57JGQ00C11", "00001a57JGQ00C10", "040100713", "040100650", "039900100", SEED_ID];
    for mount in MOUNTS {
        let reply = app.get(&format!("{mount}/customers/{CUSTOMER}/interactions"), &DEMO).await;
        assert_eq!(reply.ids(), expected);
        // Each member is the interaction's resource, as by id.
        for (member, id) in reply.json().as_array().unwrap().iter().zip(expected) {
            let one = app.get(&format!("{mount}/interactions/{id}"), &DEMO).await;
            assert_eq!(member, &one.json(), "{id}");
        }
        let starts: Vec<String> =
            reply.json().as_array().unwrap().iter().map(|r| r["start_date"].as_str().unwrap().to_string()).collect();
        assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    }
    let other = app.get(&format!("{BASE}/customers/00001a57JGQ00C01/interactions"), &DEMO).await;
    assert_eq!(other.ids(), ["040100730", "040100720", "040100709"]);
    let nobody = app.get("/customers/nobody/interactions", &DEMO).await;
    assert_eq!((nobody.ids().len(), nobody.text()), (0, "[]"));
}

async fn service_lists(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    for mount in MOUNTS {
        let s4711 = app.get(&format!("{mount}/services/4711/interactions"), &DEMO).await;
        assert_eq!(s4711.ids(), ["040100720", "00001a57JGQ00C11", "040100713", "040100650", SEED_ID]);
        let s4712 = app.get(&format!("{mount}/services/4712/interactions"), &DEMO).await;
        assert_eq!(s4712.ids(), ["040100730", "00001a57JGQ00C10", "040100709", "039900100"]);
        assert_eq!(app.get(&format!("{mount}/services/-1/interactions"), &DEMO).await.ids(), Vec::<String>::new());
        for bad in ["abc", "4711.0", "9223372036854775808", "0x10", "%20"] {
            let reply = app.get(&format!("{mount}/services/{bad}/interactions"), &DEMO).await;
            let message = error(&reply, 400, "ContextServicesInvalidParameterException");
            assert!(message.starts_with("Invalid parameter specified : 'service_id'="), "{message}");
            assert!(message.ends_with("is not a 64-bit integer."), "{message}");
        }
    }
}

async fn content_parts_with_their_mime_types(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    for mount in MOUNTS {
        let plain = app.get(&format!("{mount}/interactions/{SEED_ID}/plain_text"), &DEMO).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-type"), Some("text/plain;charset=UTF-8"));
        assert_eq!(plain.text(), "Hello, I need help with my bill");
        let structured = app.get(&format!("{mount}/interactions/{SEED_ID}/structured_text"), &DEMO).await;
        assert_eq!(structured.header("content-type"), Some("text/xml"));
        assert!(structured.text().starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><chatTranscript"));
        let binary = app.get(&format!("{mount}/interactions/{SEED_ID}/binary_content"), &DEMO).await;
        assert_eq!(binary.header("content-type"), Some("image/png"));
        assert_eq!(&binary.body[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&binary.body[16..24], &[0, 0, 0, 8, 0, 0, 0, 8], "the 8x8 PNG of the fixture");
        for reply in [&plain, &structured, &binary] {
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            assert!(reply.header("content-security-policy").is_some_and(|p| p.contains("sandbox")));
        }
        let html = app.get(&format!("{mount}/interactions/00001a57JGQ00C11/structured_text"), &DEMO).await;
        assert_eq!(html.header("content-type"), Some("text/html"));
        // Parts that do not exist, and their absent URLs in the resource.
        let voice = app.get(&format!("{mount}/interactions/00001a57JGQ00C10"), &DEMO).await.json();
        assert!(
            voice["text"].is_string()
                && voice.get("structured_text").is_none()
                && voice.get("binary_content").is_none()
        );
        for (id, part) in [
            ("00001a57JGQ00C10", "structured_text"),
            ("00001a57JGQ00C10", "binary_content"),
            ("040100720", "plain_text"),
        ] {
            let missing = app.get(&format!("{mount}/interactions/{id}/{part}"), &DEMO).await;
            let message = error(&missing, 404, "ContextServicesNotFoundException");
            assert_eq!(message, format!("Resource not found : interaction '{id}' has no {part}."));
        }
        let empty = app.get(&format!("{mount}/interactions/040100720"), &DEMO).await.json();
        assert!(empty.get("text").is_none(), "{empty}");
        let unknown = app.get(&format!("{mount}/interactions/nope/plain_text"), &DEMO).await;
        error(&unknown, 404, "ContextServicesNotFoundException");
        let unknown = app.get(&format!("{mount}/interactions/nope"), &DEMO).await;
        let message = error(&unknown, 404, "ContextServicesNotFoundException");
        assert_eq!(message, "Resource not found : interaction 'nope' does not exist.");
    }
}

async fn tenancy_and_credential_errors(backend: Backend) {
    // Without the key cache: a key revoked below is refused at once (tests/api/key_cache.rs: with it).
    let app = TestApp::spawn_full(backend, SpawnOptions { demo: true, now: None }, |s| s.server.key_cache_ms = 0).await;
    let routes = [
        format!("/customers/{CUSTOMER}/interactions"),
        "/services/4711/interactions".to_string(),
        format!("/interactions/{SEED_ID}"),
        format!("/interactions/{SEED_ID}/plain_text"),
    ];
    let ingest = app.add_key(TENANT, "production", "ingest").await;
    let revoked = app.add_key(TENANT, "production", "read").await;
    assert_eq!(
        app.get(&routes[2], &[("ContactCenterId", TENANT), ("Application-Key", revoked.as_str())]).await.status,
        200
    );
    app.revoke_key(&revoked).await;
    for mount in MOUNTS {
        for route in &routes {
            let path = format!("{mount}{route}");
            let no_tenant = app.get(&path, &[("Application-Key", KEY)]).await;
            assert_eq!((no_tenant.status, no_tenant.json()), (400, no_tenant_body()), "{path}");
            assert_eq!(no_tenant.header("content-type"), Some(JSON_UTF8));
            let unknown = app.get(&path, &[("ContactCenterId", "99999999"), ("Application-Key", KEY)]).await;
            assert_eq!((unknown.status, unknown.json()), (400, unknown_tenant_body("99999999")), "{path}");
            assert_eq!(unknown.header("content-type"), Some(JSON_UTF8));
            for (headers, reason) in [
                (vec![("ContactCenterId", TENANT)], "missing Application-Key header"),
                (vec![("ContactCenterId", TENANT), ("Application-Key", "wrong")], "unknown application key"),
                (vec![("ContactCenterId", TENANT), ("Authorization", "Bearer wrong")], "unknown application key"),
                (vec![("ContactCenterId", TENANT), ("Application-Key", revoked.as_str())], "application key revoked"),
                (
                    vec![("ContactCenterId", TENANT), ("Application-Key", ingest.as_str())],
                    "application key scope does not allow this operation",
                ),
                (
                    vec![("ContactCenterId", TENANT), ("Application-Key", KEY), ("Environment-Name", "staging")],
                    "unknown environment",
                ),
            ] {
                let reply = app.get(&path, &headers).await;
                let message = error(&reply, 401, "ContextServicesUnauthorizedException");
                assert_eq!(
                    message,
                    format!("Unauthorized : {reason}. Verify the 'Application-Key' HTTP header."),
                    "{path}"
                );
                assert!(reply.header("www-authenticate").is_some());
            }
            // The tenant by name, the key as a bearer token; GroupId selects nothing.
            let by_name = [
                ("ContactCenterId", "Demo contact centre"),
                ("Authorization", "Bearer demo-application-key"),
                ("GroupId", "Sales"),
            ];
            let reply = app.get(&path, &by_name).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text());
            assert_eq!(reply.body, app.get(&path, &DEMO).await.body, "{path}");
        }
    }
    // The vendor message carries the header's value as sent.
    let odd = app.get(&routes[0], &[("ContactCenterId", "a'b \"c\""), ("Application-Key", KEY)]).await;
    assert_eq!(odd.json(), unknown_tenant_body("a'b \"c\""));
}

async fn the_default_tenant(backend: Backend) {
    let options = SpawnOptions { demo: true, now: None };
    let app = TestApp::spawn_full(backend, options, |s| s.context_services.default_tenant = Some(TENANT.into())).await;
    let path = format!("{BASE}/customers/{CUSTOMER}/interactions");
    let implicit = app.get(&path, &[("Application-Key", KEY)]).await;
    assert_eq!(implicit.ids().len(), 6);
    let unknown = app.get(&path, &[("ContactCenterId", "nope"), ("Application-Key", KEY)]).await;
    assert_eq!((unknown.status, unknown.json()), (400, unknown_tenant_body("nope")));

    let options = SpawnOptions { demo: true, now: None };
    let ghost =
        TestApp::spawn_full(backend, options, |s| s.context_services.default_tenant = Some("ghost".into())).await;
    let reply = ghost.get(&path, &[("Application-Key", KEY)]).await;
    assert_eq!((reply.status, reply.json()), (400, no_tenant_body()), "a default that names no tenant");
}

async fn tenants_and_environments_are_isolated(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    app.add_tenant("99999999", &["production"]).await;
    let other_key = app.add_key("99999999", "production", "read").await;
    let staging_key = app.add_key(TENANT, "staging", "read").await;
    // Same interaction id and customer as the seed's, in another tenant.
    import(
        &app,
        &[json!({
            "tenant": "99999999", "id": SEED_ID, "customer_id": CUSTOMER, "service_ids": [4711],
            "started_at": "2020-01-01T00:00:00Z", "context": {"media_type": "voice", "subject": "other tenant"},
            "content": {"plain_text": "other tenant's text"}
        })],
    )
    .await;
    let other = [("ContactCenterId", "99999999"), ("Application-Key", other_key.as_str())];
    // A key reads its own environment, named as on every surface (the default needs no name).
    let staging =
        [("ContactCenterId", TENANT), ("Application-Key", staging_key.as_str()), ("Environment-Name", "staging")];
    let unnamed = app.get(&format!("/customers/{CUSTOMER}/interactions"), &staging[..2]).await;
    error(&unnamed, 401, "ContextServicesUnauthorizedException");
    for mount in MOUNTS {
        let mine = app.get(&format!("{mount}/interactions/{SEED_ID}"), &other).await.json();
        assert_eq!((mine["subject"].as_str(), mine.get("udata")), (Some("other tenant"), None));
        let text = app.get(&format!("{mount}/interactions/{SEED_ID}/plain_text"), &other).await;
        assert_eq!(text.text(), "other tenant's text");
        assert_eq!(app.get(&format!("{mount}/customers/{CUSTOMER}/interactions"), &other).await.ids(), [SEED_ID]);
        assert_eq!(app.get(&format!("{mount}/services/4711/interactions"), &other).await.ids(), [SEED_ID]);
        let demo = app.get(&format!("{mount}/interactions/{SEED_ID}"), &DEMO).await.json();
        assert_eq!(demo["subject"], "SMS chat");
        // A key is good for its own tenant only.
        for headers in [
            [("ContactCenterId", "99999999"), ("Application-Key", KEY)],
            [("ContactCenterId", TENANT), ("Application-Key", other_key.as_str())],
        ] {
            let reply = app.get(&format!("{mount}/customers/{CUSTOMER}/interactions"), &headers).await;
            error(&reply, 401, "ContextServicesUnauthorizedException");
        }
        // Environments: the key's environment is the one read.
        assert_eq!(app.get(&format!("{mount}/customers/{CUSTOMER}/interactions"), &staging).await.ids(), ["040100740"]);
        assert_eq!(app.get(&format!("{mount}/services/4711/interactions"), &staging).await.ids(), ["040100740"]);
        let seed_in_staging = app.get(&format!("{mount}/interactions/{SEED_ID}"), &staging).await;
        error(&seed_in_staging, 404, "ContextServicesNotFoundException");
        let staging_in_production = app.get(&format!("{mount}/interactions/040100740"), &DEMO).await;
        error(&staging_in_production, 404, "ContextServicesNotFoundException");
        assert!(!app
            .get(&format!("{mount}/customers/{CUSTOMER}/interactions"), &DEMO)
            .await
            .ids()
            .contains(&"040100740".to_string()));
    }
}

async fn paging_visits_every_interaction_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let records = many("P", "pager", 120);
    import(&app, &records).await;
    let all = newest_first(&records);
    assert!(all.starts_with(&["P0119".into(), "P0118".into(), "P0117".into()]), "equal starts: greatest id first");
    for mount in MOUNTS {
        let whole = app.get(&format!("{mount}/customers/pager/interactions"), &DEMO).await;
        assert_eq!(whole.ids(), all, "without limit: the whole list, the vendor's answer");
        assert!(whole.header("link").is_none());
        let pages = walk(&app, &format!("{mount}/customers/pager/interactions?limit=7"), &DEMO).await;
        assert_eq!(pages.len(), 18);
        assert!(pages[..17].iter().all(|p| p.len() == 7) && pages[17].len() == 1);
        assert_eq!(pages.concat(), all);
        // Filters stay on every page.
        let chat: Vec<String> = all.iter().filter(|id| id[1..].parse::<usize>().unwrap() % 2 == 0).cloned().collect();
        assert_eq!(
            walk(&app, &format!("{mount}/customers/pager/interactions?media_type=chat&limit=7"), &DEMO).await.concat(),
            chat
        );
        let running: Vec<String> =
            all.iter().filter(|id| id[1..].parse::<usize>().unwrap() % 3 == 0).cloned().collect();
        assert_eq!(
            walk(&app, &format!("{mount}/services/777/interactions?status=2&limit=9"), &DEMO).await.concat(),
            running
        );
        assert_eq!(walk(&app, &format!("{mount}/services/777/interactions?limit=50"), &DEMO).await.concat(), all);
        // Exactly `limit` left: no next page.
        let exact = app.get(&format!("{mount}/customers/pager/interactions?limit=120"), &DEMO).await;
        assert_eq!((exact.ids().len(), exact.next()), (120, None));
        let pages = walk(&app, &format!("{mount}/customers/pager/interactions?limit=119"), &DEMO).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [119, 1]);
    }
}

async fn filters_and_their_errors(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    let list = |query: &str| format!("{BASE}/customers/{CUSTOMER}/interactions{query}");
    let plain = app.get(&list(""), &DEMO).await;
    let all = plain.ids();
    let ignored = app.get(&list("?sort=asc&fields=x&page=2"), &DEMO).await;
    assert_eq!(ignored.body, plain.body, "unknown parameters change nothing");
    assert_eq!(app.get(&list("?media_type=voice"), &DEMO).await.ids(), ["00001a57JGQ00C10"]);
    assert_eq!(app.get(&list("?media_type=email&status=3"), &DEMO).await.ids(), ["00001a57JGQ00C11"]);
    assert_eq!(app.get(&list("?media_type=fax"), &DEMO).await.ids(), Vec::<String>::new());
    assert_eq!(
        app.get(&format!("{BASE}/customers/00001a57JGQ00C01/interactions?status=2"), &DEMO).await.ids(),
        ["040100730"]
    );
    // from / to are inclusive bounds on start_date.
    let starts: Vec<String> =
        plain.json().as_array().unwrap().iter().map(|r| r["start_date"].as_str().unwrap().into()).collect();
    let window = app.get(&list(&format!("?from={}&to={}", starts[3], starts[1])), &DEMO).await;
    assert_eq!(window.ids(), all[1..=3]);
    assert_eq!(app.get(&list("?to=2010-01-01T00:00:00Z"), &DEMO).await.ids(), [SEED_ID]);
    assert_eq!(
        app.get(&list("?from=2009-08-05T11:33:10%2B02:00&to=2009-08-05T09:33:10Z"), &DEMO).await.ids(),
        [SEED_ID]
    );
    for (query, name) in [
        ("status=9", "status"),
        ("status=open", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("from=yesterday", "from"),
        ("to=2009-08-05", "to"),
        ("cursor=not-a-cursor", "cursor"),
        ("media_type=", "media_type"),
        ("status=1&status=1", "status"),
    ] {
        let reply = app.get(&list(&format!("?{query}")), &DEMO).await;
        let message = error(&reply, 400, "ContextServicesInvalidParameterException");
        assert!(message.starts_with(&format!("Invalid parameter specified : '{name}'=")), "{query}: {message}");
    }
}

async fn long_lists_stream(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let records = many("B", "big", 1100);
    import(&app, &records).await;
    let reply = app.get("/customers/big/interactions", &DEMO).await;
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"), "streamed, not built whole");
    assert!(reply.header("content-length").is_none());
    assert_eq!(reply.ids(), newest_first(&records));
    let short = app.get(&format!("/customers/{}/interactions", "nobody"), &DEMO).await;
    assert_eq!(short.header("content-length"), Some("2"), "a short list is one body");
}

async fn forwarded_headers_and_public_url_shape_the_urls(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    let forwarded =
        [DEMO[0], DEMO[1], ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "gw.example.com, proxy.internal")];
    let seed = app.get(&format!("{BASE}/interactions/{SEED_ID}"), &forwarded).await.json();
    assert_eq!(seed["text"], format!("https://gw.example.com{BASE}/interactions/{SEED_ID}/plain_text"));
    assert_eq!(seed["binary_content"], format!("https://gw.example.com{BASE}/interactions/{SEED_ID}/binary_content"));
    let root = app.get(&format!("/interactions/{SEED_ID}"), &forwarded).await.json();
    assert_eq!(root["structured_text"], format!("https://gw.example.com/interactions/{SEED_ID}/structured_text"));
    let page = app.get(&format!("{BASE}/customers/{CUSTOMER}/interactions?limit=2"), &forwarded).await;
    let next = page.next().expect("a next page");
    assert!(
        next.starts_with(&format!("https://gw.example.com{BASE}/customers/{CUSTOMER}/interactions?limit=2&cursor=")),
        "{next}"
    );
    let hostile = [DEMO[0], DEMO[1], ("X-Forwarded-Host", "evil.example/<script>")];
    let seed = app.get(&format!("/interactions/{SEED_ID}"), &hostile).await.json();
    assert!(!seed["text"].as_str().unwrap().contains("evil"), "{seed}");

    let options = SpawnOptions { demo: true, now: None };
    let public =
        TestApp::spawn_full(backend, options, |s| s.server.public_url = Some("https://public.example/history/".into()))
            .await;
    let seed = public.get(&format!("/interactions/{SEED_ID}"), &forwarded).await.json();
    assert_eq!(seed["text"], format!("https://public.example/history/interactions/{SEED_ID}/plain_text"));
}

async fn ids_are_percent_encoded_in_urls(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = "a/b c?é";
    import(
        &app,
        &[json!({"tenant": TENANT, "id": id, "customer_id": "enc", "started_at": "2026-01-01T00:00:00Z",
                          "content": {"plain_text": "encoded"}})],
    )
    .await;
    let list = app.get(&format!("{BASE}/customers/enc/interactions"), &DEMO).await.json();
    let url = format!("{}{BASE}/interactions/a%2Fb%20c%3F%C3%A9/plain_text", app.base_url);
    assert_eq!(list[0]["text"], url);
    assert_eq!(app.get(path_of(&app, &url), &DEMO).await.text(), "encoded");
    assert_eq!(app.get("/interactions/a%2Fb%20c%3F%C3%A9", &DEMO).await.json()["interaction_id"], id);
}

async fn other_methods_are_405(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    for mount in MOUNTS {
        for route in [
            format!("/customers/{CUSTOMER}/interactions"),
            "/services/4711/interactions".to_string(),
            format!("/interactions/{SEED_ID}"),
            format!("/interactions/{SEED_ID}/plain_text"),
            format!("/interactions/{SEED_ID}/structured_text"),
            format!("/interactions/{SEED_ID}/binary_content"),
        ] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
                let reply = app.send(method.clone(), &format!("{mount}{route}"), &DEMO, None).await;
                let message = error(&reply, 405, "ContextServicesMethodNotAllowedException");
                assert!(message.contains(method.as_str()), "{message}");
                assert_eq!(reply.header("allow"), Some("GET"));
            }
        }
    }
}

async fn open_access_needs_no_key(backend: Backend) {
    let options = SpawnOptions { demo: true, now: None };
    let app = TestApp::spawn_full(backend, options, |s| s.context_services.open_access = true).await;
    let path = format!("{BASE}/customers/{CUSTOMER}/interactions");
    assert_eq!(app.get(&path, &[("ContactCenterId", TENANT)]).await.ids().len(), 6);
    assert_eq!(
        app.get(&path, &[("ContactCenterId", TENANT), ("Environment-Name", "staging")]).await.ids(),
        ["040100740"]
    );
    let qa = app.get(&path, &[("ContactCenterId", TENANT), ("Environment-Name", "qa")]).await;
    error(&qa, 401, "ContextServicesUnauthorizedException");
    let wrong = app.get(&path, &[("ContactCenterId", TENANT), ("Application-Key", "wrong")]).await;
    error(&wrong, 401, "ContextServicesUnauthorizedException");
    let nobody = app.get(&path, &[]).await;
    assert_eq!((nobody.status, nobody.json()), (400, no_tenant_body()));
}

async fn hostile_ids_get_plain_answers(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    let long = "x".repeat(4000);
    for id in ["..%2F..%2Fetc%2Fpasswd", "%27%20OR%20%271%27%3D%271", "%FF%FE%00", long.as_str(), "%25%32%46"] {
        let reply = app.get(&format!("/interactions/{id}"), &DEMO).await;
        error(&reply, 404, "ContextServicesNotFoundException");
        let reply = app.get(&format!("{BASE}/customers/{id}/interactions"), &DEMO).await;
        assert_eq!(reply.ids(), Vec::<String>::new());
    }
}

async fn store_outage_is_503(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    app.database.close().await;
    for path in [format!("/interactions/{SEED_ID}"), format!("{BASE}/customers/{CUSTOMER}/interactions")] {
        let reply = app.get(&path, &DEMO).await;
        let message = error(&reply, 503, "ContextServicesUnavailableException");
        assert!(!message.contains("pool"), "{message}");
        assert_eq!(reply.header("retry-after"), Some("1"));
    }
}
