//! The reliability table of the spec (`quality.md`), against the real `ixgw` binary: graceful
//! shutdown under load, a store outage and its recovery, `kill -9` during a large import, and the
//! request log. The long runs (a 10-second outage, the soak) are scripts under
//! `scripts/reliability/`; their figures are in `docs/RELIABILITY.md`.

mod support;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const TENANT: &str = "12345678";
const DEMO_KEY: &str = "demo-application-key";
const FULL_FLOW: &str = "/interact/agent/version/2/account/12345678/interactiondata/040100713/fullFlow";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `ixgw` with these arguments and environment, its stderr (the log) in `log`.
fn ixgw(args: &[&str], env: &[(&str, &str)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ixgw"));
    cmd.args(args)
        .envs(env.iter().copied())
        .env_remove("IXGW_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

/// A running `ixgw serve`.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// `ixgw serve --demo` over `database`, with the log in `dir`.
    async fn demo(dir: &Path, database: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(format!("server-{port}.log"));
        let child = ixgw(&["--database", database, "serve", "--demo", "--listen", &listen], env, &log).spawn().unwrap();
        let server = Server { child, base: format!("http://{listen}"), log };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    async fn exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < within, "the server did not exit within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

// --- graceful shutdown ----------------------------------------------------------------------------

/// What the load saw.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    /// Sent after the signal and not answered: refused, or closed on an idle keep-alive connection.
    after_stop: u64,
    /// Requests that got no answer at all, by request id, with the error: in flight only if the
    /// server had begun them (its log has their id).
    unanswered: Vec<(String, String)>,
    /// Answered wrongly or in part: always failures.
    failed: Vec<String>,
}

/// Milliseconds since `origin`.
fn ms_since(origin: Instant) -> u64 {
    origin.elapsed().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_fails_no_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut server = Server::demo(dir.path(), &db, &[("IXGW_SERVER_SHUTDOWN_TIMEOUT_SECS", "20")]).await;
    let ingest_key = {
        let log = dir.path().join("key.log");
        let out = ixgw(&["--database", &db, "key", "add", "--tenant", TENANT, "--scope", "ingest"], &[], &log)
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };

    // Slow uploads: each sends its records over two seconds, so that they are certainly in flight
    // when the signal comes; every one must be answered 200 with every record stored.
    let uploads: Vec<_> = (0..4)
        .map(|u| {
            let (base, key) = (server.base.clone(), ingest_key.clone());
            tokio::spawn(async move {
                let lines = (0..10).map(move |i| {
                    let record = json!({"id": format!("sigterm-{u}-{i}"), "started_at": "2026-01-01T00:00:00Z"});
                    Ok::<_, std::io::Error>(format!("{record}\n"))
                });
                let body = futures_util::stream::iter(lines).then(|line| async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    line
                });
                let r = client()
                    .post(format!("{base}/v1/interactions"))
                    .bearer_auth(key)
                    .header("Content-Type", "application/x-ndjson")
                    .body(reqwest::Body::wrap_stream(body))
                    .send()
                    .await;
                match r {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => (0, format!("{e:?}")),
                }
            })
        })
        .collect();

    // Steady load on a read route from 16 clients with keep-alive connections. A request counts as
    // in flight when it was sent before the signal.
    let origin = Instant::now();
    let signalled_at = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..16)
        .map(|reader| {
            let (base, stop, signalled_at) = (server.base.clone(), stop.clone(), signalled_at.clone());
            tokio::spawn(async move {
                let client = client();
                let mut tally = Tally::default();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = format!("sigterm-{reader}-{n}");
                    let sent = ms_since(origin);
                    let r = client
                        .get(format!("{base}{FULL_FLOW}"))
                        .header("Tenant-Id", TENANT)
                        .header("Application-Key", DEMO_KEY)
                        .header("X-Request-Id", &id)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 200 => match r.bytes().await {
                            Ok(_) => tally.ok += 1,
                            Err(e) => tally.failed.push(format!("{id}: body cut: {e:?}")),
                        },
                        Ok(r) => tally.failed.push(format!("{id}: status {}", r.status())),
                        Err(_) if sent >= signalled_at.load(Ordering::SeqCst) => {
                            tally.after_stop += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Err(e) => tally.unanswered.push((id, format!("{e:?}"))),
                    }
                }
                tally
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(700)).await;
    signalled_at.store(ms_since(origin), Ordering::SeqCst);
    server.signal("-TERM");
    let signalled = Instant::now();
    let status = server.exit(Duration::from_secs(25)).await;
    let shutdown = signalled.elapsed();
    // Keep the load on a little after the exit: those requests are refused, not failed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);

    let mut total = Tally::default();
    for r in readers {
        let t = r.await.unwrap();
        total.ok += t.ok;
        total.after_stop += t.after_stop;
        total.unanswered.extend(t.unanswered);
        total.failed.extend(t.failed);
    }
    // A request sent just before the signal may still be unread in its socket when the server
    // stops: actix then closes the idle keep-alive connection without reading it (the client may
    // retry: the server never saw it). One the server had begun (its id is in the log) and that
    // got no answer would be a failure.
    let log = server.log_text();
    let (begun, unread): (Vec<_>, Vec<_>) =
        total.unanswered.iter().partition(|(id, _)| log.contains(&format!("request_id={id} ")));
    total.failed.extend(begun.iter().map(|(id, e)| format!("{id}: begun, not answered: {e}")));
    for u in uploads {
        let (status, body) = u.await.unwrap();
        assert_eq!(status, 200, "an upload in flight at SIGTERM: {body}");
        let report: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(10), Some(0)), "{body}");
    }
    assert!(status.success(), "exit status {status:?}: {}", server.log_text());
    assert!(total.ok > 100, "the load ran: {total:?}");
    let failed = &total.failed;
    assert!(failed.is_empty(), "{} in-flight requests failed: {:?}", failed.len(), &failed[..failed.len().min(5)]);
    assert!(shutdown >= Duration::from_millis(1000), "the uploads were waited for ({shutdown:?})");
    eprintln!(
        "SIGTERM: 4 uploads in flight completed; {} reads answered, 0 in flight failed; {} sent in the instant before the signal closed unread, {} sent after it refused; exit {shutdown:?} after the signal",
        total.ok,
        unread.len(),
        total.after_stop
    );

    // Every record of the uploads was stored: a fresh server on the same file finds them.
    let server = Server::demo(dir.path(), &db, &[]).await;
    for u in 0..4 {
        for i in [0, 9] {
            let r = client()
                .get(format!("{}/interactions/sigterm-{u}-{i}", server.base))
                .header("ContactCenterId", TENANT)
                .header("Application-Key", DEMO_KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "sigterm-{u}-{i}");
        }
    }
}

use futures_util::StreamExt;

// --- store outage -------------------------------------------------------------------------------

/// A PostgreSQL cluster of this test's own (`scripts/pg-throwaway`), so that stopping it disturbs
/// no other test; deleted on drop.
struct Cluster {
    dir: PathBuf,
    url: String,
}

impl Cluster {
    fn script(&self, command: &str) {
        let status = Command::new(repo().join("scripts/pg-throwaway"))
            .args([command, self.dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success(), "pg-throwaway {command}");
    }

    fn start(dir: PathBuf) -> Self {
        let out =
            Command::new(repo().join("scripts/pg-throwaway")).args(["start", dir.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "pg-throwaway start: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let url = text.trim().strip_prefix("export IXGW_TEST_POSTGRES_URL=").expect("the cluster's URL").to_string();
        Cluster { dir, url }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.script("stop");
    }
}

/// Whether this machine has PostgreSQL's binaries (the outage test starts a cluster of its own);
/// the test command requires them (`IXGW_REQUIRE_POSTGRES=1`).
fn postgres_binaries() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v initdb || ls /usr/lib/postgresql/*/bin/initdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("IXGW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("IXGW_REQUIRE_POSTGRES=1 but PostgreSQL's initdb is not installed");
    }
    found
}

/// A number from the environment (the scripts under scripts/reliability run these tests longer).
fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const SOAP_BY_UUID: &str = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:s="http://com/jacada/interact/interactiondata/soap"><e:Body><s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>040100713</s:uniqueId></s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"#;

/// One answer of the outage load: when it was sent, how long it took, what it was.
#[derive(Debug, Clone)]
struct Sample {
    sent_ms: u64,
    took: Duration,
    status: u16,
    /// A 503 that says so the vendor's way: `Retry-After` (REST) or a Server fault (SOAP).
    proper_503: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_fails_fast_and_service_resumes_by_itself() {
    if !postgres_binaries() {
        return;
    }
    let outage = Duration::from_secs(env_number("IXGW_OUTAGE_SECS", 4));
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cluster = Cluster::start(dir.path().join("cluster"));
    let mut server = Server::demo(dir.path(), &cluster.url, &[]).await;
    let pid = server.child.id();

    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..8)
        .map(|n| {
            let (base, stop) = (server.base.clone(), stop.clone());
            tokio::spawn(async move {
                let client = client();
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let request = if n % 2 == 0 {
                        client.get(format!("{base}{FULL_FLOW}"))
                    } else {
                        client
                            .post(format!("{base}/interact/version/2/interactiondata/soap"))
                            .header("Content-Type", "text/xml")
                            .body(SOAP_BY_UUID)
                    };
                    let r =
                        request.header("Tenant-Id", TENANT).header("Application-Key", DEMO_KEY).send().await.unwrap();
                    let status = r.status().as_u16();
                    let retry_after = r.headers().contains_key("retry-after");
                    let body = r.text().await.unwrap();
                    let proper_503 = status == 503
                        && retry_after
                        && if n % 2 == 0 {
                            body == "exception"
                        } else {
                            body.contains("<faultcode>SOAP-ENV:Server</faultcode>")
                        };
                    samples.push(Sample {
                        sent_ms: sent.duration_since(origin).as_millis() as u64,
                        took: sent.elapsed(),
                        status,
                        proper_503,
                    });
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                samples
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    let pause_started_ms = ms_since(origin);
    cluster.script("pause");
    let down_ms = ms_since(origin);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client().get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503, "/readyz while PostgreSQL is down");
    tokio::time::sleep(outage - Duration::from_millis(300)).await;
    let resume_started_ms = ms_since(origin);
    cluster.script("resume");
    let up_ms = ms_since(origin);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples: Vec<Sample> = Vec::new();
    for l in load {
        samples.extend(l.await.unwrap());
    }
    assert!(server.child.try_wait().unwrap().is_none() && server.child.id() == pid, "the server kept running");
    let ready = client().get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "/readyz after PostgreSQL returned");

    let before: Vec<_> =
        samples.iter().filter(|s| s.sent_ms + (s.took.as_millis() as u64) < pause_started_ms).collect();
    // Sent and answered while PostgreSQL was down. (A request that overlaps the return may be
    // answered either way.)
    let during: Vec<_> = samples
        .iter()
        .filter(|s| s.sent_ms > down_ms && s.sent_ms + (s.took.as_millis() as u64) < resume_started_ms)
        .collect();
    let odd: Vec<_> = samples.iter().filter(|s| s.status != 200 && !s.proper_503).collect();
    assert!(odd.is_empty(), "only 200 or a proper 503, ever: {:?}", &odd[..odd.len().min(5)]);
    let after: Vec<_> = samples.iter().filter(|s| s.sent_ms > up_ms).collect();
    assert!(before.iter().all(|s| s.status == 200) && !before.is_empty(), "before the outage: {before:?}");
    assert!(during.len() >= 20, "load during the outage: {}", during.len());
    let wrong: Vec<_> = during.iter().filter(|s| !s.proper_503).collect();
    assert!(
        wrong.is_empty(),
        "during the outage only 503 with Retry-After / a Server fault: {:?}",
        &wrong[..wrong.len().min(5)]
    );
    // Failing fast: most answers come at once; the probes (one per 250 ms) wait at most for a
    // connection (database.acquire_timeout_ms, 2 s).
    let mut took: Vec<Duration> = during.iter().map(|s| s.took).collect();
    took.sort();
    let (median, slowest) = (took[took.len() / 2], took[took.len() - 1]);
    assert!(median < Duration::from_millis(100), "failing fast: the median answer took {median:?}");
    assert!(slowest < Duration::from_secs(3), "the slowest answer took {slowest:?}");
    let first_ok = after
        .iter()
        .filter(|s| s.status == 200)
        .map(|s| s.sent_ms + s.took.as_millis() as u64)
        .min()
        .expect("service resumed");
    let settled: Vec<_> = after.iter().filter(|s| s.sent_ms > up_ms + 2000).collect();
    assert!(
        !settled.is_empty() && settled.iter().all(|s| s.status == 200),
        "full service 2 s after the return: {settled:?}"
    );
    // The causes went to the log, each with its request's id, and no key with them.
    let log = server.log_text();
    let causes: Vec<&str> = log.lines().filter(|l| l.contains("store unavailable")).collect();
    assert!(!causes.is_empty() && causes.iter().all(|l| l.contains("request_id=")), "{log}");
    assert!(!log.contains(DEMO_KEY));
    eprintln!(
        "outage of {outage:?}: {} answers while down, all 503 (median {median:?}, slowest {slowest:?}); first 200 {} ms after PostgreSQL was back; no restart",
        during.len(),
        first_ok.saturating_sub(up_ms)
    );
}

// --- logs -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_has_one_line_per_request_in_either_format_and_never_a_key() {
    for format in ["json", "text"] {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("demo.db").display());
        let mut server = Server::demo(dir.path(), &db, &[("IXGW_LOG_FORMAT", format)]).await;
        let ids: Vec<String> = (0..3).map(|i| format!("log-{format}-{i}")).collect();
        for (id, key) in ids.iter().zip([DEMO_KEY, "wrong-key", DEMO_KEY]) {
            client()
                .get(format!("{}{FULL_FLOW}", server.base))
                .header("Tenant-Id", TENANT)
                .header("Application-Key", key)
                .header("X-Request-Id", id)
                .send()
                .await
                .unwrap();
        }
        server.signal("-TERM");
        server.exit(Duration::from_secs(20)).await;
        let log = server.log_text();
        assert!(!log.contains(DEMO_KEY) && !log.contains("wrong-key"), "a key reached the {format} log:\n{log}");
        for (id, status) in ids.iter().zip([200, 401, 200]) {
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(id.as_str())).collect();
            assert_eq!(lines.len(), 1, "{format}: one line for {id}:\n{log}");
            let line = lines[0];
            let tenant = if status == 200 { TENANT } else { "" };
            if format == "json" {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["request_id"], id.as_str());
                assert_eq!(
                    (&v["surface"], &v["operation"], &v["status"]),
                    (&json!("interact-rest"), &json!("fullFlow"), &json!(status))
                );
                assert_eq!(v["tenant"], tenant);
                assert!(v["latency_ms"].is_number(), "{line}");
            } else {
                for part in [
                    format!("request_id={id}"),
                    "surface=\"interact-rest\"".to_string(),
                    "operation=fullFlow".to_string(),
                    format!("status={status}"),
                    "latency_ms=".to_string(),
                ] {
                    assert!(line.contains(&part), "{part} missing from {line}");
                }
                assert_eq!(line.contains(&format!("tenant=\"{TENANT}\"")), status == 200, "{line}");
            }
        }
    }
}

// --- kill -9 during a large import ----------------------------------------------------------------

/// A record that says how many pages and caller attributes it has (in its customer id), so that
/// whatever is stored can be checked for being whole.
fn counted_record(n: usize) -> String {
    let pages = 1 + n % 7;
    let attributes = 1 + n % 3;
    let start = 1_780_000_000_000i64 + n as i64 * 1000;
    let page = |i: usize| {
        json!({
            "pageNavigation": {"navigationTitle": format!("page {i} of {n}"), "pageReferenceName": format!("p{i}")},
            "pageContent": {"contentHeader": {"id": format!("h{i}"), "innerHtml": "x".repeat(100)}, "contentSections": []},
            "timestamp": start + i as i64
        })
    };
    let kinds = ["dtmf", "historySearchId", "callerId"];
    let record = json!({
        "tenant": TENANT,
        "id": format!("kill9-{n:06}"),
        "customer_id": format!("pages-{pages}-attributes-{attributes}"),
        "started_at": Millis(start).to_iso_millis(),
        "ended_at": Millis(start + 60_000).to_iso_millis(),
        "caller_attributes": (0..attributes).map(|a| json!({"kind": kinds[a], "value": format!("v{n}-{a}"), "allocated_at": Millis(start + a as i64).to_iso_millis()})).collect::<Vec<_>>(),
        "pages": (0..pages).map(page).collect::<Vec<_>>(),
    });
    format!("{record}\n")
}

use ixgw_core::Millis;

/// Every row of every history table, keyed by the interaction's id rather than its row number (a
/// killed PostgreSQL transaction leaves a gap in a sequence).
async fn dump(db: &ixgw_store::Database) -> Vec<String> {
    use sqlx::{Column, Row};
    let mut out = Vec::new();
    let tables = [
        ("interactions", "SELECT * FROM interactions t ORDER BY tenant, environment, id"),
        ("interaction_services", "SELECT i.id AS interaction, t.* FROM interaction_services t JOIN interactions i ON i.pk = t.interaction_pk ORDER BY i.id, t.service_id"),
        ("pages", "SELECT i.id AS interaction, t.* FROM pages t JOIN interactions i ON i.pk = t.interaction_pk ORDER BY i.id, t.seq"),
        ("caller_attributes", "SELECT i.id AS interaction, t.* FROM caller_attributes t JOIN interactions i ON i.pk = t.interaction_pk ORDER BY i.id, t.seq"),
        ("current_attributes", "SELECT i.id AS interaction, t.* FROM current_attributes t JOIN interactions i ON i.pk = t.interaction_pk ORDER BY i.id, t.kind"),
        ("photos", "SELECT i.id AS interaction, t.* FROM photos t JOIN interactions i ON i.pk = t.interaction_pk ORDER BY i.id, t.path"),
    ];
    for (table, sql) in tables {
        macro_rules! render {
            ($rows:expr) => {
                $rows.iter().map(|row| {
                    let cells: Vec<String> = row
                        .columns()
                        .iter()
                        .filter(|c| c.name() != "pk" && c.name() != "interaction_pk")
                        .map(|c| {
                            let i = c.ordinal();
                            row.try_get::<Option<i64>, _>(i)
                                .map(|v| format!("{v:?}"))
                                .or_else(|_| row.try_get::<Option<i32>, _>(i).map(|v| format!("{v:?}")))
                                .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| format!("{v:?}")))
                                .or_else(|_| row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                                .or_else(|_| row.try_get::<Option<Vec<u8>>, _>(i).map(|v| format!("{v:?}")))
                                .unwrap_or_else(|e| panic!("{table}.{}: {e}", c.name()))
                        })
                        .collect();
                    format!("{table}: {}", cells.join("|"))
                })
            };
        }
        let sql = sqlx::AssertSqlSafe(sql);
        match db {
            ixgw_store::Database::Sqlite(s) => out.extend(render!(sqlx::query(sql).fetch_all(s.pool()).await.unwrap())),
            ixgw_store::Database::Postgres(p) => {
                out.extend(render!(sqlx::query(sql).fetch_all(p.pool()).await.unwrap()))
            }
        }
    }
    out
}

async fn count(db: &ixgw_store::Database, sql: &'static str) -> i64 {
    use sqlx::Row;
    match db {
        ixgw_store::Database::Sqlite(s) => sqlx::query(sql).fetch_one(s.pool()).await.unwrap().get(0),
        ixgw_store::Database::Postgres(p) => sqlx::query(sql).fetch_one(p.pool()).await.unwrap().get(0),
    }
}

/// Every stored interaction has exactly the pages and attributes its record declared.
async fn whole_or_absent(db: &ixgw_store::Database) -> i64 {
    let torn = count(
        db,
        "SELECT COUNT(*) FROM interactions i WHERE i.customer_id <> \
           'pages-' || (SELECT COUNT(*) FROM pages p WHERE p.interaction_pk = i.pk) || \
           '-attributes-' || (SELECT COUNT(*) FROM caller_attributes a WHERE a.interaction_pk = i.pk)",
    )
    .await;
    assert_eq!(torn, 0, "{torn} interactions were stored in part");
    count(db, "SELECT COUNT(*) FROM interactions").await
}

async fn open(url: &str) -> ixgw_store::Database {
    ixgw::open_database(&ixgw::settings::Settings::default(), Some(url), true).await.unwrap()
}

fn import(url: &str, file: &Path, log: &Path) -> Command {
    ixgw(&["--database", url, "import", file.to_str().unwrap()], &[], log)
}

store_tests! {
    async fn kill_9_during_a_large_import_leaves_every_record_whole_or_absent(backend) {
        let records = env_number("IXGW_KILL9_RECORDS", 5_000) as usize;
        // Killed once a tenth is stored: well inside the import.
        let kill_at = (records / 10) as i64;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("large.ndjson");
        std::fs::write(&file, (0..records).map(counted_record).collect::<String>()).unwrap();
        let killed = backend.fresh_database().await;
        let fresh = backend.fresh_database().await;
        for url in [&killed.url, &fresh.url] {
            let status = ixgw(&["--database", url, "tenant", "add", TENANT], &[], &dir.path().join("tenant.log")).status().unwrap();
            assert!(status.success());
        }

        let db = open(&killed.url).await;
        let mut child = import(&killed.url, &file, &dir.path().join("import.log")).spawn().unwrap();
        // Kill it once a good part, but not all, is stored.
        let started = Instant::now();
        loop {
            let stored = count(&db, "SELECT COUNT(*) FROM interactions").await;
            if stored >= kill_at {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the import finished before it could be killed");
            assert!(started.elapsed() < Duration::from_secs(120), "the import does not progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        db.close().await;

        let db = open(&killed.url).await;
        if let ixgw_store::Database::Sqlite(s) = &db {
            let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(s.pool()).await.unwrap();
            assert_eq!(check, "ok");
        }
        let survived = whole_or_absent(&db).await;
        assert!((kill_at..records as i64).contains(&survived), "killed part-way: {survived} of {records} stored");
        eprintln!("kill -9 after {survived} of {records} records: every one whole");

        let status = import(&killed.url, &file, &dir.path().join("reimport.log")).status().unwrap();
        assert!(status.success());
        assert_eq!(whole_or_absent(&db).await, records as i64);
        let status = import(&fresh.url, &file, &dir.path().join("fresh.log")).status().unwrap();
        assert!(status.success());
        let fresh_db = open(&fresh.url).await;
        let (a, b) = (dump(&db).await, dump(&fresh_db).await);
        assert_eq!(a.len(), b.len());
        assert!(a == b, "the re-imported store differs from a fresh import: first difference {:?}", a.iter().zip(&b).find(|(x, y)| x != y));
        db.close().await;
        fresh_db.close().await;
    }
}
