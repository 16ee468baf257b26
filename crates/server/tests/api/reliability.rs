//! The reliability table of the spec (`quality.md`), against the real `ixgw` binary: graceful
//! shutdown under load, a store outage and its recovery, `kill -9` during a large import, and the
//! request log. The long runs (a 10-second outage, the soak) are scripts under
//! `scripts/reliability/`; their figures are in `docs/RELIABILITY.md`.

use crate::helpers::process::*;
use crate::helpers::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_fails_no_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    // No drain (that is `shutdown.rs`'s): SIGTERM stops accepting at once, and what was in flight
    // must still be answered.
    let env = [("IXGW_SERVER_SHUTDOWN_TIMEOUT_SECS", "20"), ("IXGW_SERVER_DRAIN_SECS", "0")];
    let mut server = Server::demo(dir.path(), &db, &env).await;
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
        "SIGTERM: 4 uploads in flight completed; {} reads answered, 0 in flight failed; {} sent in the instant before \
         the signal closed unread, {} sent after it refused; exit {shutdown:?} after the signal",
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

/// One answer of the outage load: when it was sent, how long it took, what it was.
#[derive(Debug, Clone)]
struct Sample {
    sent_ms: u64,
    took: Duration,
    status: u16,
    /// A 503 that says so the vendor's way: `Retry-After` (REST) or a Server fault (SOAP).
    proper_503: bool,
}

impl Sample {
    fn answered_ms(&self) -> u64 {
        self.sent_ms + self.took.as_millis() as u64
    }
}

/// The load of the outage tests: 8 clients, the REST and the SOAP 1.1 full flow alternately, each
/// request 20 ms after the last one's answer.
struct OutageLoad {
    origin: Instant,
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl OutageLoad {
    fn start(base: &str) -> Self {
        let origin = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..8)
            .map(|n| {
                let (base, stop) = (base.to_string(), stop.clone());
                tokio::spawn(async move {
                    let client = client();
                    let mut samples = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let sent = Instant::now();
                        let request = if n % 2 == 0 {
                            client.get(format!("{base}{FULL_FLOW}"))
                        } else {
                            client
                                .post(format!("{base}{SOAP_URL}"))
                                .header("Content-Type", "text/xml")
                                .body(SOAP_BY_UUID)
                        };
                        let r = request
                            .header("Tenant-Id", TENANT)
                            .header("Application-Key", DEMO_KEY)
                            .send()
                            .await
                            .unwrap();
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
        Self { origin, stop, clients }
    }

    fn now_ms(&self) -> u64 {
        ms_since(self.origin)
    }

    async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Vec::new();
        for c in self.clients {
            samples.extend(c.await.unwrap());
        }
        samples
    }
}

/// The moments of an outage, in milliseconds of the load's clock.
struct OutageTimes {
    /// The store is being taken away from here.
    breaking: u64,
    /// The store is down and the server knows it from here.
    down: u64,
    /// The store is being brought back from here.
    restoring: u64,
    /// The store is back from here.
    up: u64,
}

/// Checks what the load saw around an outage against the spec (only 503s while down, each within
/// `IXGW_OUTAGE_LIMIT_MS`, 50 ms by default; the first 200 within a second of the return, full
/// service after it) and prints the figures.
fn check_outage(what: &str, samples: &[Sample], at: &OutageTimes) {
    let limit = Duration::from_millis(env_number("IXGW_OUTAGE_LIMIT_MS", 50));
    let before: Vec<_> = samples.iter().filter(|s| s.answered_ms() < at.breaking).collect();
    // Sent and answered while the store was down. (A request that overlaps the return may be
    // answered either way.)
    let during: Vec<_> = samples.iter().filter(|s| s.sent_ms > at.down && s.answered_ms() < at.restoring).collect();
    let odd: Vec<_> = samples.iter().filter(|s| s.status != 200 && !s.proper_503).collect();
    assert!(odd.is_empty(), "only 200 or a proper 503, ever: {:?}", &odd[..odd.len().min(5)]);
    assert!(before.iter().all(|s| s.status == 200) && !before.is_empty(), "before the outage: {before:?}");
    assert!(during.len() >= 20, "load during the outage: {}", during.len());
    let wrong: Vec<_> = during.iter().filter(|s| !s.proper_503).collect();
    assert!(
        wrong.is_empty(),
        "while down only 503 with Retry-After / a Server fault: {:?}",
        &wrong[..wrong.len().min(5)]
    );
    let mut took: Vec<Duration> = during.iter().map(|s| s.took).collect();
    took.sort();
    let (median, p99, slowest) = (took[took.len() / 2], took[took.len() * 99 / 100], took[took.len() - 1]);
    let slow: Vec<(u64, Duration)> =
        during.iter().filter(|s| s.took >= limit).map(|s| (s.sent_ms - at.down, s.took)).collect();
    assert!(
        slowest < limit,
        "every answer while down within {limit:?}: {} of {} were not (ms after the outage began, time): {slow:?}",
        slow.len(),
        took.len()
    );
    let after: Vec<_> = samples.iter().filter(|s| s.sent_ms > at.up).collect();
    let first_ok = after.iter().filter(|s| s.status == 200).map(|s| s.answered_ms()).min().expect("service resumed");
    let back_in = first_ok.saturating_sub(at.up);
    assert!(back_in < 1000, "the first 200 {back_in} ms after the store's return");
    let settled: Vec<_> = after.iter().filter(|s| s.sent_ms > at.up + 1000).collect();
    assert!(
        !settled.is_empty() && settled.iter().all(|s| s.status == 200),
        "full service 1 s after the return: {settled:?}"
    );
    eprintln!(
        "outage ({what}): {} answers while down, all 503 (median {median:?}, p99 {p99:?}, slowest {slowest:?}); first \
         200 {back_in} ms after the store was back; no restart",
        during.len()
    );
}

/// What every outage test asks of the server afterwards: the same process, ready again, each
/// cause in the log with its request's id, and no key there.
async fn check_recovered(server: &mut Server, pid: u32) {
    assert!(server.child.try_wait().unwrap().is_none() && server.child.id() == pid, "the server kept running");
    assert_eq!(server.readiness().await, 200, "/readyz after the store returned");
    let log = server.log_text();
    let causes: Vec<&str> = log.lines().filter(|l| l.contains("store unavailable path=")).collect();
    assert!(!causes.is_empty() && causes.iter().all(|l| l.contains("request_id=")), "{log}");
    let warnings = log.lines().filter(|l| l.contains("the store is unavailable")).count();
    assert_eq!(warnings, 1, "one warning when the store went down: {log}");
    assert!(log.lines().any(|l| l.contains("the store answers again")), "{log}");
    assert!(!log.contains(DEMO_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_is_answered_at_once_and_service_resumes_by_itself() {
    if !postgres_binaries() {
        return;
    }
    let outage = Duration::from_secs(env_number("IXGW_OUTAGE_SECS", 4));
    let dir = cluster_home();
    let cluster = Cluster::start(dir.path().join("cluster"));
    let mut server = Server::demo(dir.path(), &cluster.url, &[("IXGW_SERVER_DRAIN_SECS", "0")]).await;
    let pid = server.child.id();

    let load = OutageLoad::start(&server.base);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let breaking = load.now_ms();
    cluster.script("pause");
    let down = load.now_ms();
    let noticed = server.await_readiness(503, Duration::from_millis(500)).await;
    tokio::time::sleep(outage.saturating_sub(noticed)).await;
    let restoring = load.now_ms();
    cluster.script("resume");
    let up = load.now_ms();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    check_outage("PostgreSQL stopped", &samples, &OutageTimes { breaking, down, restoring, up });
    check_recovered(&mut server, pid).await;
}

/// Makes the SQLite file at `path` unreadable: its mode 000, and for a user whom that does not stop
/// (root), a directory in its place; the cure.
fn make_unreadable(path: &Path) -> impl FnOnce() {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let aside = path.with_extension("aside");
    let swapped = std::fs::File::open(path).is_ok();
    if swapped {
        std::fs::rename(path, &aside).unwrap();
        std::fs::create_dir(path).unwrap();
    }
    eprintln!(
        "{} made unreadable: mode 000{}",
        path.display(),
        if swapped { " and a directory in its place (root reads any mode)" } else { "" }
    );
    let path = path.to_path_buf();
    move || {
        if swapped {
            std::fs::remove_dir(&path).unwrap();
            std::fs::rename(&aside, &path).unwrap();
        }
        std::fs::set_permissions(&path, mode).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_file_made_unreadable_is_answered_at_once_and_service_resumes_by_itself() {
    let outage = Duration::from_secs(env_number("IXGW_OUTAGE_SECS", 4));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.db");
    let db = format!("sqlite://{}", file.display());
    let mut server = Server::demo(dir.path(), &db, &[("IXGW_SERVER_DRAIN_SECS", "0")]).await;
    let pid = server.child.id();

    let load = OutageLoad::start(&server.base);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let breaking = load.now_ms();
    let cure = make_unreadable(&file);
    // The connections already open (sqlx's pool, the read routes' own) still read the file; the
    // background check notices that it cannot be opened any more within a second.
    let noticed = server.await_readiness(503, Duration::from_secs(3)).await;
    let down = load.now_ms();
    tokio::time::sleep(outage.saturating_sub(noticed)).await;
    let restoring = load.now_ms();
    cure();
    let up = load.now_ms();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    eprintln!("the server noticed the unreadable file after {noticed:?}");
    check_outage("SQLite file unreadable", &samples, &OutageTimes { breaking, down, restoring, up });
    check_recovered(&mut server, pid).await;
}

// --- logs -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_has_one_line_per_request_in_either_format_and_never_a_key() {
    for format in ["json", "text"] {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("demo.db").display());
        let mut server =
            Server::demo(dir.path(), &db, &[("IXGW_LOG_FORMAT", format), ("IXGW_SERVER_DRAIN_SECS", "0")]).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_level_above_info_leaves_the_request_lines_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut server =
        Server::demo(dir.path(), &db, &[("IXGW_LOG_LEVEL", "warn"), ("IXGW_SERVER_DRAIN_SECS", "0")]).await;
    let answer = client()
        .get(format!("{}{FULL_FLOW}", server.base))
        .header("Tenant-Id", TENANT)
        .header("Application-Key", DEMO_KEY)
        .header("X-Request-Id", "quiet-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-request-id"], "quiet-1");
    server.signal("-TERM");
    server.exit(Duration::from_secs(20)).await;
    let log = server.log_text();
    assert!(!log.contains("quiet-1"), "a request line at level warn:\n{log}");
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
            "pageContent": {
                "contentHeader": {"id": format!("h{i}"), "innerHtml": "x".repeat(100)},
                "contentSections": []
            },
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
        "caller_attributes": (0..attributes)
            .map(|a| {
                let allocated_at = Millis(start + a as i64).to_iso_millis();
                json!({"kind": kinds[a], "value": format!("v{n}-{a}"), "allocated_at": allocated_at})
            })
            .collect::<Vec<_>>(),
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
    let per_interaction = |table: &str, order: &str| {
        format!(
            "SELECT i.id AS interaction, t.* FROM {table} t JOIN interactions i ON i.pk = t.interaction_pk \
             ORDER BY i.id, t.{order}"
        )
    };
    let tables = [
        ("interactions", "SELECT * FROM interactions t ORDER BY tenant, environment, id".to_string()),
        ("interaction_services", per_interaction("interaction_services", "service_id")),
        ("pages", per_interaction("pages", "seq")),
        ("caller_attributes", per_interaction("caller_attributes", "seq")),
        ("current_attributes", per_interaction("current_attributes", "kind")),
        ("photos", per_interaction("photos", "path")),
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

store_tests!(kill_9_during_a_large_import_leaves_every_record_whole_or_absent);

async fn kill_9_during_a_large_import_leaves_every_record_whole_or_absent(backend: Backend) {
    let records = env_number("IXGW_KILL9_RECORDS", 5_000) as usize;
    // Killed once a tenth is stored: well inside the import.
    let kill_at = (records / 10) as i64;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.ndjson");
    std::fs::write(&file, (0..records).map(counted_record).collect::<String>()).unwrap();
    let killed = backend.fresh_database().await;
    let fresh = backend.fresh_database().await;
    for url in [&killed.url, &fresh.url] {
        let status =
            ixgw(&["--database", url, "tenant", "add", TENANT], &[], &dir.path().join("tenant.log")).status().unwrap();
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
    assert!(
        a == b,
        "the re-imported store differs from a fresh import: first difference {:?}",
        a.iter().zip(&b).find(|(x, y)| x != y)
    );
    db.close().await;
    fresh_db.close().await;
}
