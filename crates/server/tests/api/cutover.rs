//! The cutover (`[upstream]`), end to end with the real binary: a demo gateway stands in for the
//! vendor; a second gateway holds part of its history — pulled with `ixgw pull`, one interaction
//! left out, one changed at the vendor afterwards — and stands in front of it.
//!
//! - shadow: every answer a client gets is the vendor's, byte for byte (Interact REST and SOAP,
//!   Context Services; links name the gateway); the counts and `ixgw shadow report` name exactly the
//!   stale and the missing interaction; the vendor stopped, the gateway answers alone within the
//!   timeout;
//! - fallback: misses are answered with the vendor's bytes and copied (by id, by caller attribute,
//!   ten at once making one copy); the vendor stopped, the gateway answers them alone, the same bytes.

use crate::helpers::process::{ixgw, Server};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEY: &str = "demo-application-key";
const REST: &str = "/interact/agent/version/2/account/12345678";
const CS: &str = "/genesys/1/cs";
const SOAP: &str = "/interact/version/2/interactiondata/soap";
/// Pulled, and unchanged at the vendor.
const KEPT: [&str; 2] = ["040100713", "040100709"];
/// Pulled, then given a page at the vendor.
const STALE: &str = "040100730";
/// Never pulled.
const MISSING: &str = "040100720";

/// `ixgw ARGS` in `dir`, `stdin` on its input; its stdout. Fails the test if it fails.
fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut command = ixgw(args, &[], &dir.join("cli.log"));
    command.current_dir(dir).stdout(Stdio::piped()).stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let log = std::fs::read_to_string(dir.join("cli.log")).unwrap_or_default();
    assert!(out.status.success(), "ixgw {args:?} failed: {log}");
    String::from_utf8(out.stdout).unwrap()
}

/// `ixgw serve` over `database` with `env`, on a port of its own.
async fn serve(dir: &Path, database: &str, env: &[(&str, &str)]) -> Server {
    let port = crate::helpers::process::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log = dir.join(format!("server-{port}.log"));
    let child = ixgw(&["--database", database, "serve", "--listen", &listen], env, &log).spawn().unwrap();
    let server = Server { child, base: format!("http://{listen}"), log };
    server.wait_ready().await;
    server
}

/// What a client sees of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    /// The answer with `from` replaced by `to` in its body (the vendor's base URL by the gateway's).
    fn with(&self, from: &str, to: &str) -> Self {
        let text = String::from_utf8_lossy(&self.body).replace(from, to);
        let body = if std::str::from_utf8(&self.body).is_ok() { text.into_bytes() } else { self.body.clone() };
        Self { body, ..self.clone() }
    }
}

/// One request a client makes.
#[derive(Debug, Clone)]
enum Call {
    Get(String),
    /// SOAP 1.1 (`true`) or 1.2, by unique id.
    Soap(bool, &'static str),
}

impl Call {
    fn get(path: impl Into<String>) -> Self {
        Self::Get(path.into())
    }

    async fn send(&self, base: &str) -> Answer {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let request = match self {
            Self::Get(path) => client
                .get(format!("{base}{path}"))
                .header("Tenant-Id", "12345678")
                .header("ContactCenterId", "12345678")
                .header("Application-Key", KEY),
            Self::Soap(v11, id) => {
                let (namespace, content_type) = if *v11 {
                    ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8")
                } else {
                    ("http://www.w3.org/2003/05/soap-envelope", "application/soap+xml; charset=utf-8")
                };
                let envelope = format!(
                    r#"<e:Envelope xmlns:e="{namespace}" xmlns:s="http://com/jacada/interact/interactiondata/soap"><e:Body><s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>{id}</s:uniqueId><s:widerSearch>true</s:widerSearch></s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"#
                );
                client
                    .post(format!("{base}{SOAP}"))
                    .header("Content-Type", content_type)
                    .header("Tenant-Id", "12345678")
                    .header("Application-Key", KEY)
                    .body(envelope)
            }
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        Answer { status, content_type, body: response.bytes().await.unwrap().to_vec() }
    }

    /// What shadow mode should find: the missing interaction is missing everywhere; the stale one's
    /// new page (no input, no Context Services field) changes its flows only.
    fn expected(&self) -> &'static str {
        match self {
            Self::Get(path) if path.contains(MISSING) => "missing",
            Self::Get(path) if path.contains("history-live") => "differ",
            Self::Get(path) if path.contains(STALE) && path.contains("/fullFlow") => "differ",
            Self::Soap(_, id) if *id == MISSING => "missing",
            Self::Soap(_, id) if *id == STALE => "differ",
            _ => "same",
        }
    }
}

/// The calls of the shadow check: every read operation of the three surfaces, on kept, stale and
/// missing interactions.
fn calls() -> Vec<Call> {
    let mut calls = Vec::new();
    for id in KEPT.iter().chain([&STALE, &MISSING]) {
        calls.push(Call::get(format!("{REST}/interactiondata/{id}/fullFlow?widerSearch=true")));
        calls.push(Call::get(format!("{REST}/interactiondata/{id}/summary?widerSearch=true")));
        calls.push(Call::get(format!("{CS}/interactions/{id}")));
        calls.push(Call::Soap(true, id));
    }
    calls.push(Call::Soap(false, KEPT[0]));
    calls.push(Call::get(format!("{REST}/interactiondata/history1/fullFlow/byCallerAttribute")));
    calls.push(Call::get(format!("{REST}/interactiondata/history-live/fullFlow/byCallerAttribute")));
    calls.push(Call::get(format!("{REST}/interactiondata/040100713/variableSet/customerInfoSet")));
    calls.push(Call::get(format!("{REST}/uniqueId/historySearchId/history1")));
    calls.push(Call::get(format!("{REST}/photo/040100713/%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579")));
    calls.push(Call::get(format!("{CS}/interactions/040100713/plain_text")));
    calls.push(Call::get("/interactions/040100713".to_string()));
    calls
}

/// A counter of `/metrics` (0 when absent).
async fn metric(base: &str, name: &str, labels: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |v| v.trim().parse().unwrap())
}

/// The sum of a counter over every label set.
async fn metric_sum(base: &str, name: &str, filter: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits until `check` holds, at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        if started.elapsed() > within / 2 {
            eprintln!("still waiting: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The vendor (a demo gateway, with an ingest key), and a gateway's store holding part of it.
async fn vendor_and_store(dir: &Path) -> (Server, String, String) {
    let vendor_db = format!("sqlite://{}/vendor.db", dir.display());
    let vendor = Server::demo(dir, &vendor_db, &[]).await;
    let store = format!("sqlite://{}/gateway.db", dir.display());
    run(
        dir,
        &["--database", &store, "tenant", "add", "12345678", "--environment", "production", "--environment", "staging"],
        None,
    );
    run(dir, &["--database", &store, "key", "add", "--tenant", "12345678", "--existing"], Some(KEY));
    let ids = dir.join("ids.txt");
    std::fs::write(&ids, format!("{}\n{}\n{STALE}\n", KEPT[0], KEPT[1])).unwrap();
    let interactions = dir.join("interactions.txt");
    std::fs::write(&interactions, format!("{}\n{}\n{STALE}\n", KEPT[0], KEPT[1])).unwrap();
    let ids = ids.to_str().unwrap();
    let attributes = dir.join("attributes.csv");
    std::fs::write(&attributes, demo_attributes(&[KEPT[0], KEPT[1], STALE])).unwrap();
    let attributes = attributes.to_str().unwrap();
    run(
        dir,
        &[
            "--database",
            &store,
            "pull",
            "interact",
            "--from",
            &vendor.base,
            "--tenant",
            "12345678",
            "--key",
            KEY,
            "--ids",
            ids,
            "--attributes",
            attributes,
            "--variable-sets",
            "customerInfoSet",
        ],
        None,
    );
    let cs = format!("{}{CS}", vendor.base);
    let interactions = interactions.to_str().unwrap();
    run(
        dir,
        &[
            "--database",
            &store,
            "pull",
            "context-services",
            "--from",
            &cs,
            "--contact-center",
            "12345678",
            "--key",
            KEY,
            "--interactions",
            interactions,
        ],
        None,
    );
    // The stale one: a page more at the vendor.
    let ingest = run(dir, &["--database", &vendor_db, "key", "add", "--tenant", "12345678", "--scope", "ingest"], None);
    let page = r#"{"pageNavigation":{"navigationTitle":"After the pull"},"pageContent":{"contentSections":[]},"timestamp":TS}"#
        .replace("TS", &(chrono::Utc::now().timestamp_millis() - 1000).to_string());
    let added = reqwest::Client::new()
        .post(format!("{}/v1/interactions/{STALE}/pages", vendor.base))
        .bearer_auth(ingest.trim())
        .header("Content-Type", "application/json")
        .body(page)
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{}", added.text().await.unwrap());
    (vendor, vendor_db, store)
}

/// The platform's export of the caller attributes of `ids` (`uniqueId,kind,value,allocated_at`):
/// the demo's, moved as the demo moves its dates (to now from its anchor).
fn demo_attributes(ids: &[&str]) -> String {
    let fixtures = crate::helpers::process::repo().join("fixtures/demo/interactions.ndjson");
    let anchor = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
    let shift = chrono::Utc::now().signed_duration_since(anchor);
    let mut csv = String::from("uniqueId,kind,value,allocated_at\n");
    for line in std::fs::read_to_string(fixtures).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if !ids.contains(&record["id"].as_str().unwrap()) {
            continue;
        }
        for attribute in record["caller_attributes"].as_array().into_iter().flatten() {
            let at = chrono::DateTime::parse_from_rfc3339(attribute["allocated_at"].as_str().unwrap()).unwrap() + shift;
            let at = at.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            csv.push_str(&format!(
                "{},{},{},{at}\n",
                record["id"].as_str().unwrap(),
                attribute["kind"].as_str().unwrap(),
                attribute["value"].as_str().unwrap()
            ));
        }
    }
    csv
}

fn upstream_env<'a>(mode: &'a str, vendor: &'a str, cs: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("IXGW_UPSTREAM_MODE", mode), ("IXGW_UPSTREAM_INTERACT", vendor), ("IXGW_UPSTREAM_CONTEXT_SERVICES", cs)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_passes_the_vendor_on_and_names_what_differs_and_fallback_fills_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (mut vendor, vendor_db, store) = vendor_and_store(dir).await;
    let cs = format!("{}{CS}", vendor.base);
    let mut gateway = serve(dir, &store, &upstream_env("shadow", &vendor.base, &cs)).await;

    // Shadow: the vendor's answers, byte for byte (its base URL in links become the gateway's).
    let calls = calls();
    for call in &calls {
        let direct = call.send(&vendor.base).await.with(&vendor.base, &gateway.base);
        let through = call.send(&gateway.base).await;
        assert_eq!(through, direct, "{call:?}: the client must get the vendor's answer");
    }
    let n = calls.len() as u64;
    let compared = || metric_sum(&gateway.base, "ixgw_shadow_total", "");
    eventually(Duration::from_secs(10), "every call compared", || async { compared().await >= n }).await;
    assert_eq!(
        compared().await,
        n,
        "{}",
        reqwest::get(format!("{}/metrics", gateway.base)).await.unwrap().text().await.unwrap()
    );
    for outcome in ["same", "differ", "missing"] {
        let expected = calls.iter().filter(|c| c.expected() == outcome).count() as u64;
        let filter = format!("outcome=\"{outcome}\"");
        assert_eq!(metric_sum(&gateway.base, "ixgw_shadow_total", &filter).await, expected, "{outcome}");
    }
    assert!(metric(&gateway.base, "ixgw_shadow_total", "operation=\"fullFlow\",outcome=\"missing\"").await >= 1);
    assert!(metric(&gateway.base, "ixgw_shadow_total", "operation=\"fullFlow\",outcome=\"differ\"").await >= 1);
    assert!(metric(&gateway.base, "ixgw_shadow_total", "operation=\"interaction\",outcome=\"missing\"").await >= 1);
    assert!(
        metric(&gateway.base, "ixgw_shadow_total", "operation=\"GetInteractionFullFlowByUUID\",outcome=\"missing\"")
            .await
            >= 1,
        "SOAP's operation is its body's"
    );

    // The report: the counts, and samples of the stale and the missing interaction only, no key.
    let mut report = String::new();
    for _ in 0..50 {
        report = run(dir, &["--database", &store, "shadow", "report"], None);
        if report.contains(MISSING) && report.contains("After the pull") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(report.contains("After the pull"), "the stale page in a diff: {report}");
    for sample in report.split("\n=== ").skip(1) {
        let request = sample.lines().nth(1).unwrap_or_default();
        assert!(
            request.contains(STALE)
                || request.contains(MISSING)
                || request.contains("history-live")
                || sample.contains(STALE)
                || sample.contains(MISSING),
            "a sample of neither the stale nor the missing interaction: {sample}"
        );
        assert!(!sample.contains(KEY), "a key in the report: {sample}");
    }
    assert!(report.contains(&format!("GET {REST}/interactiondata/{MISSING}/fullFlow?widerSearch=true")), "{report}");
    assert!(report.contains(&format!("GET {REST}/interactiondata/{STALE}/fullFlow?widerSearch=true")), "{report}");
    assert!(report.lines().next().unwrap().starts_with("operation"), "{report}");
    let full_flow = report.lines().find(|l| l.starts_with("fullFlow ")).unwrap();
    let numbers: Vec<u64> = full_flow.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect();
    assert_eq!(numbers, [2, 1, 1, 0], "fullFlow: same, differ, missing, upstream_failed: {report}");

    // The vendor stopped: the gateway's own answers, within the timeout.
    let before = Call::get(format!("{REST}/interactiondata/{}/fullFlow?widerSearch=true", KEPT[0]));
    let expected = before.send(&gateway.base).await;
    vendor.signal("-KILL");
    vendor.exit(Duration::from_secs(5)).await;
    for call in [before.clone(), Call::Soap(true, KEPT[0]), Call::get(format!("{CS}/interactions/{}", KEPT[1]))] {
        let started = Instant::now();
        let answer = call.send(&gateway.base).await;
        assert!(started.elapsed() < Duration::from_millis(2500), "{call:?} took {:?}", started.elapsed());
        assert_eq!(answer.status, 200, "{call:?}: {}", String::from_utf8_lossy(&answer.body));
    }
    assert_eq!(before.send(&gateway.base).await, expected, "the store's answer is the vendor's was");
    assert!(metric_sum(&gateway.base, "ixgw_shadow_total", "outcome=\"upstream_failed\"").await >= 3);
    assert!(!std::fs::read_to_string(&gateway.log).unwrap().contains(KEY), "a key in the gateway's log");
    gateway.signal("-KILL");
    gateway.exit(Duration::from_secs(5)).await;

    // Fallback, the vendor back: misses answered with its bytes, then copied.
    let mut vendor = serve(dir, &vendor_db, &[]).await;
    let cs = format!("{}{CS}", vendor.base);
    let gateway = serve(dir, &store, &upstream_env("fallback", &vendor.base, &cs)).await;
    let missing = Call::get(format!("{REST}/interactiondata/{MISSING}/fullFlow?widerSearch=true"));
    let missing_cs = Call::get(format!("{CS}/interactions/{MISSING}"));
    let hostile = Call::get(format!("{REST}/interactiondata/040100766/fullFlow"));
    let by_attribute =
        Call::get(format!("{REST}/interactiondata/history-old/fullFlow/byCallerAttribute?widerSearch=true"));
    let mut vendors = Vec::new();
    for call in [&missing, &missing_cs, &hostile, &by_attribute] {
        let direct = call.send(&vendor.base).await.with(&vendor.base, &gateway.base);
        assert_eq!(direct.status, 200, "{call:?}");
        vendors.push(direct);
    }
    assert_eq!(missing.send(&gateway.base).await, vendors[0]);
    let copied = || metric_sum(&gateway.base, "ixgw_upstream_fill_total", "outcome=\"copied\"");
    eventually(Duration::from_secs(10), "the missing interaction copied", || async { copied().await == 1 }).await;
    assert_eq!(missing_cs.send(&gateway.base).await, vendors[1], "copied with its Context Services resource");
    assert_eq!(
        metric_sum(&gateway.base, "ixgw_upstream_fill_total", "outcome=\"answered\"").await,
        1,
        "a local hit now"
    );

    // Ten at once: ten answers from the vendor, one copy.
    let at_once: Vec<_> = (0..10).map(|_| hostile.send(&gateway.base)).collect();
    for answer in futures_util::future::join_all(at_once).await {
        assert_eq!(answer, vendors[2]);
    }
    eventually(Duration::from_secs(10), "the hostile interaction copied", || async { copied().await == 2 }).await;
    assert_eq!(by_attribute.send(&gateway.base).await, vendors[3]);
    eventually(Duration::from_secs(10), "the attribute's interaction copied", || async { copied().await == 3 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(copied().await, 3, "one copy per interaction");

    // The vendor stopped: the copies answer, the same bytes; a miss nobody has is the gateway's own.
    vendor.signal("-KILL");
    vendor.exit(Duration::from_secs(5)).await;
    for (call, expected) in [&missing, &missing_cs, &hostile, &by_attribute].into_iter().zip(&vendors) {
        assert_eq!(&call.send(&gateway.base).await, expected, "{call:?} from the copy");
    }
    let started = Instant::now();
    let nowhere = Call::get(format!("{REST}/interactiondata/nowhere/fullFlow")).send(&gateway.base).await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(
        (nowhere.status, String::from_utf8_lossy(&nowhere.body).as_ref()),
        (404, "history for UUID nowhere was not found")
    );
    assert!(metric_sum(&gateway.base, "ixgw_upstream_fill_total", "outcome=\"upstream_failed\"").await >= 1);

    // A vendor that takes connections and never answers: the store answers once `timeout_ms` is up.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_base = format!("http://{}", hole.local_addr().unwrap());
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let mut env = upstream_env("shadow", &hole_base, &hole_base);
    env.push(("IXGW_UPSTREAM_TIMEOUT_MS", "300"));
    let patient = serve(dir, &store, &env).await;
    for call in
        [Call::get(format!("{REST}/interactiondata/{}/fullFlow?widerSearch=true", KEPT[0])), Call::Soap(false, KEPT[0])]
    {
        let started = Instant::now();
        let answer = call.send(&patient.base).await;
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "{call:?}");
        assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1500), "{call:?} took {took:?}");
    }
    holding.abort();
}
