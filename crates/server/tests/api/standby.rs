//! `database.read_url` on a real hot standby: a PostgreSQL primary and a standby streaming from it
//! (`scripts/pg-throwaway standby`: `pg_basebackup -R`, `hot_standby = on`), the real `ixgw`
//! binary on both. Where each query ran is read from each server's own statistics
//! (`pg_stat_statements`, which counts a statement as it ends).

use crate::helpers::process::*;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONTEXT_INTERACTION: &str = "/interactions/00001a57JGQ00BW8";

/// The history reads (a flow, a Context Services interaction: `SELECT i.id … FROM interactions i …`)
/// and the key lookups the server `pool` is connected to has run.
async fn statements(pool: &PgPool) -> (i64, i64) {
    let calls = |pattern: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(SUM(calls), 0)::bigint FROM pg_stat_statements WHERE query LIKE $1",
        )
        .bind(pattern)
        .fetch_one(pool)
    };
    (
        calls("SELECT i.id,%FROM interactions i %").await.unwrap(),
        calls("%FROM api_keys k WHERE k.digest%").await.unwrap(),
    )
}

/// A primary started with `options` and a streaming hot standby of it, both under `dir`.
fn primary_and_standby(dir: &std::path::Path, options: &str) -> (Cluster, Cluster) {
    let primary = Cluster::start_with(dir.join("primary"), options);
    let standby = primary.standby(dir.join("standby"));
    (primary, standby)
}

/// The read routes: Interact REST and SOAP full flows, Context Services.
async fn read(base: &str, n: usize) -> (u16, Duration) {
    let client = client();
    let request = match n % 3 {
        0 => client.get(format!("{base}{FULL_FLOW}")).header("Tenant-Id", TENANT),
        1 => client
            .post(format!("{base}{SOAP_URL}"))
            .header("Content-Type", "text/xml")
            .header("Tenant-Id", TENANT)
            .body(SOAP_BY_UUID),
        _ => client.get(format!("{base}{CONTEXT_INTERACTION}")).header("ContactCenterId", TENANT),
    };
    let started = Instant::now();
    let r = request.header("Application-Key", DEMO_KEY).send().await.unwrap();
    let status = r.status().as_u16();
    r.bytes().await.unwrap();
    (status, started.elapsed())
}

/// `count` reads: all must be 200; the slowest.
async fn reads(base: &str, count: usize) -> Duration {
    let mut slowest = Duration::ZERO;
    for n in 0..count {
        let (status, took) = read(base, n).await;
        assert_eq!(status, 200, "read {n}");
        slowest = slowest.max(took);
    }
    slowest
}

fn log_lines_from(server: &Server, offset: usize) -> Vec<String> {
    server.log_text()[offset..].lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_are_served_by_a_real_hot_standby_and_by_the_primary_while_it_is_down() {
    if !postgres_binaries() {
        return;
    }
    let dir = cluster_home();
    // Commits flushed at once (the test clusters defer them: `synchronous_commit = off`), since the
    // standby is sent only what the primary has flushed: the replication lag is then a real one.
    let options = "-c shared_preload_libraries=pg_stat_statements -c synchronous_commit=on";
    let (primary, standby) = primary_and_standby(dir.path(), options);
    // Every request checks its key (no cache), so that the keys' reads show on the primary.
    let env = [
        ("IXGW_DATABASE_READ_URL", standby.url.as_str()),
        ("IXGW_SERVER_KEY_CACHE_MS", "0"),
        ("IXGW_SERVER_DRAIN_SECS", "0"),
    ];
    let server = Server::demo(dir.path(), &primary.url, &env).await;
    let base = server.base.as_str();
    let on_primary = PgPool::connect(&primary.url).await.unwrap();
    sqlx::query("CREATE EXTENSION pg_stat_statements").execute(&on_primary).await.unwrap();
    let on_standby = PgPool::connect(&standby.url).await.unwrap();
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(&on_standby).await.unwrap();
    assert!(in_recovery, "the standby is a standby");

    // The demo data and the extension reach the standby.
    let started = Instant::now();
    let extension = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'";
    while read(base, 2).await.0 != 200
        || sqlx::query_scalar::<_, i64>(extension).fetch_one(&on_standby).await.unwrap() == 0
    {
        assert!(started.elapsed() < Duration::from_secs(10), "the demo data never reached the standby");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Reads on the standby, keys on the primary.
    let (standby_before, primary_before) = (statements(&on_standby).await, statements(&on_primary).await);
    reads(base, 30).await;
    let (standby_after, primary_after) = (statements(&on_standby).await, statements(&on_primary).await);
    let on_standby_grew = (standby_after.0 - standby_before.0, standby_after.1 - standby_before.1);
    let on_primary_grew = (primary_after.0 - primary_before.0, primary_after.1 - primary_before.1);
    assert_eq!(on_standby_grew, (30, 0), "(history reads, key lookups) on the standby");
    assert_eq!(on_primary_grew, (0, 30), "(history reads, key lookups) on the primary");
    eprintln!(
        "standby: 30 reads: 30 history queries on the standby and none on the primary; 30 key lookups on the \
     primary and none on the standby"
    );

    // Writes on the primary (a standby refuses them); what a client sees after a write: the
    // record is read from the standby once replayed there.
    let key_log = dir.path().join("key.log");
    let out = ixgw(&["--database", &primary.url, "key", "add", "--tenant", TENANT, "--scope", "ingest"], &[], &key_log)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let ingest_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut lags = Vec::new();
    for n in 0..5 {
        let id = format!("standby-lag-{n}");
        let record = serde_json::json!({"id": id, "customer_id": "lag", "started_at": "2026-01-01T00:00:00Z"});
        let r = client()
            .post(format!("{base}/v1/interactions"))
            .bearer_auth(&ingest_key)
            .header("Content-Type", "application/json")
            .body(record.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let written = Instant::now();
        let mut misses = 0;
        loop {
            let r = client()
                .get(format!("{base}/interactions/{id}"))
                .header("ContactCenterId", TENANT)
                .header("Application-Key", DEMO_KEY)
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                break;
            }
            assert_eq!(r.status(), 404);
            misses += 1;
            assert!(written.elapsed() < Duration::from_secs(10), "{id} never reached the standby");
        }
        lags.push((written.elapsed(), misses));
    }
    let in_primary: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions WHERE id LIKE 'standby-lag-%'")
        .fetch_one(&on_primary)
        .await
        .unwrap();
    assert_eq!(in_primary, 5, "written on the primary");
    eprintln!(
        "standby: read-after-write, time until a record written through the gateway is read back through it \
     (404s before): {lags:?}"
    );

    // The standby stops: reads go to the primary, no 5xx, one warning.
    let offset = server.log_text().len();
    standby.script("pause");
    let slowest_while_down = reads(base, 30).await;
    assert_eq!(server.readiness().await, 200, "a gateway whose standby is down is still ready");
    let lines = log_lines_from(&server, offset);
    let warnings: Vec<&String> = lines.iter().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    assert!(warnings[0].contains("read replica is unavailable"), "{warnings:?}");
    eprintln!("standby stopped: 30 reads, all 200 from the primary (slowest {slowest_while_down:?}); one warning");

    // The standby returns: reads go back to it.
    let offset = server.log_text().len();
    let resumed = Instant::now();
    standby.script("resume");
    let started_in = resumed.elapsed();
    while !log_lines_from(&server, offset).iter().any(|l| l.contains("read replica answers again")) {
        assert!(
            resumed.elapsed() < started_in + Duration::from_secs(5),
            "reads did not return to the standby: {}",
            server.log_text()
        );
        read(base, 0).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back_after = resumed.elapsed();
    let on_standby = PgPool::connect(&standby.url).await.unwrap();
    let before = statements(&on_standby).await.0;
    reads(base, 30).await;
    let grew = statements(&on_standby).await.0 - before;
    assert_eq!(grew, 30, "the reads are on the standby again");
    eprintln!(
        "standby back: reads on it again {back_after:?} after the restart began (pg_ctl start took {started_in:?}; 30 \
         of 30 reads then ran there)"
    );
}

/// `/readyz`'s status and body, with `query` (`""` or `"?writes"`).
async fn readyz(base: &str, query: &str) -> (u16, String, bool) {
    let r = client().get(format!("{base}/readyz{query}")).send().await.unwrap();
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    (status, r.text().await.unwrap(), retry_after)
}

/// A page write to a live interaction: its status, whether it says `Retry-After`, and its time.
async fn write_page(base: &str, key: &str, n: usize) -> (u16, bool, Duration) {
    let page = serde_json::json!({
        "pageNavigation": {"navigationTitle": format!("page {n}")},
        "pageContent": {"contentHeader": {"id": format!("h{n}"), "innerHtml": "<p>x</p>"}, "contentSections": []},
        "timestamp": 1_780_000_000_000i64 + n as i64
    });
    let started = Instant::now();
    let r = client()
        .post(format!("{base}/v1/interactions/primary-lost/pages"))
        .bearer_auth(key)
        .header("Content-Type", "application/json")
        .body(page.to_string())
        .send()
        .await
        .unwrap();
    let (status, retry_after) = (r.status().as_u16(), r.headers().contains_key("retry-after"));
    r.bytes().await.unwrap();
    (status, retry_after, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_the_primary_is_down_reads_are_served_by_the_standby_and_writes_fail_at_once() {
    if !postgres_binaries() {
        return;
    }
    let dir = cluster_home();
    let (primary, standby) = primary_and_standby(dir.path(), "-c synchronous_commit=on");
    // Every read checks its key in the store (no cache): the worst case for a lost primary.
    let env = [
        ("IXGW_DATABASE_READ_URL", standby.url.as_str()),
        ("IXGW_SERVER_KEY_CACHE_MS", "0"),
        ("IXGW_SERVER_DRAIN_SECS", "0"),
    ];
    let server = Server::demo(dir.path(), &primary.url, &env).await;
    let base = server.base.as_str();
    let out = ixgw(
        &["--database", &primary.url, "key", "add", "--tenant", TENANT, "--scope", "ingest"],
        &[],
        &dir.path().join("key.log"),
    )
    .stdout(std::process::Stdio::piped())
    .output()
    .unwrap();
    let ingest_key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let record = serde_json::json!({"id": "primary-lost", "customer_id": "c", "started_at": "2026-06-01T00:00:00Z"});
    let r = client()
        .post(format!("{base}/v1/interactions"))
        .bearer_auth(&ingest_key)
        .header("Content-Type", "application/json")
        .body(record.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(write_page(base, &ingest_key, 0).await.0, 201);
    // The keys reach the standby.
    let started = Instant::now();
    let on_standby = PgPool::connect(&standby.url).await.unwrap();
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pages").fetch_one(&on_standby).await.unwrap() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "nothing reached the standby");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    on_standby.close().await;
    assert_eq!(readyz(base, "").await.1, "ready");
    assert_eq!(readyz(base, "?writes").await.0, 200);

    // The primary stops.
    primary.script("pause");
    let slowest_read = reads(base, 30).await;
    let (status, body, _) = readyz(base, "").await;
    assert_eq!(status, 200, "reads can be served: {body}");
    assert!(body.starts_with("degraded:"), "{body}");
    let (status, _, retry_after) = readyz(base, "?writes").await;
    assert_eq!((status, retry_after), (503, true), "/readyz?writes while the primary is down");
    let mut slowest_write = Duration::ZERO;
    for n in 1..=20 {
        let (status, retry_after, took) = write_page(base, &ingest_key, n).await;
        assert_eq!((status, retry_after), (503, true), "write {n} while the primary is down");
        slowest_write = slowest_write.max(took);
    }
    assert!(slowest_write < Duration::from_millis(50), "writes refused at once: {slowest_write:?}");
    eprintln!(
        "primary stopped: 30 reads, all 200 from the standby (keys checked there; slowest {slowest_read:?}); \
         /readyz 200 `{body}`; /readyz?writes 503; 20 writes, all 503 + Retry-After, slowest {slowest_write:?}"
    );

    // The primary returns: writes are taken again, by the same process.
    let resumed = Instant::now();
    primary.script("resume");
    let mut n = 100;
    while write_page(base, &ingest_key, n).await.0 != 201 {
        assert!(resumed.elapsed() < Duration::from_secs(10), "writes never came back");
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(readyz(base, "").await.1, "ready");
    eprintln!("primary back: writes taken again {:?} after its restart began", resumed.elapsed());
}

/// A TCP proxy standing in for HAProxy's primary port: it leads new connections to one server,
/// and [`SwitchProxy::lead_to`] moves it to another, cutting the connections it carried (as a
/// demoted primary's shutdown does).
struct SwitchProxy {
    port: u16,
    target: Arc<AtomicU16>,
    carried: Arc<std::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl SwitchProxy {
    async fn start(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(AtomicU16::new(target));
        let carried = Arc::new(std::sync::Mutex::new(tokio::task::JoinSet::new()));
        let (to, connections) = (target.clone(), carried.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let port = to.load(Ordering::SeqCst);
                connections.lock().unwrap().spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { port, target, carried }
    }

    fn lead_to(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
        self.carried.lock().unwrap().abort_all();
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit_once(':').unwrap().1.split('/').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proxy_that_still_leads_to_the_demoted_primary_does_not_reopen_the_gate() {
    if !postgres_binaries() {
        return;
    }
    let dir = cluster_home();
    let (primary, standby) = primary_and_standby(dir.path(), "-c synchronous_commit=on");
    let proxy = SwitchProxy::start(port_of(&primary.url)).await;
    let through_proxy = primary.url.replace(&format!(":{}/", port_of(&primary.url)), &format!(":{}/", proxy.port));
    let env = [("IXGW_SERVER_DRAIN_SECS", "0")];
    let server = Server::demo(dir.path(), &through_proxy, &env).await;
    let base = server.base.as_str();
    assert_eq!(read(base, 0).await.0, 200);
    // The gate's check of a database that is up (once a second) sees a primary: two checks' time,
    // for a busy machine.
    tokio::time::sleep(Duration::from_millis(2_200)).await;

    // The proxy now leads to the standby: the primary moved, and its port does not know yet. The
    // next check finds a standby where the primary was and closes the gate (a write there would
    // fail only after a connection and a query).
    let from = server.log_text().len();
    proxy.lead_to(port_of(&standby.url));
    let started = Instant::now();
    while read(base, 0).await.0 == 200 {
        assert!(started.elapsed() < Duration::from_secs(5), "the gate never closed on a standby");
    }
    // Ten probes' time: each finds the standby, and none opens the gate.
    let mut answers = 0;
    while started.elapsed() < Duration::from_secs(1) {
        let (status, took) = read(base, answers).await;
        assert_eq!(status, 503, "answer {answers}: the gate stays closed on a standby");
        assert!(took < Duration::from_millis(500), "answer {answers} took {took:?}");
        answers += 1;
    }
    let lines = log_lines_from(&server, from);
    assert!(!lines.iter().any(|l| l.contains("the store answers again")), "{lines:#?}");

    // The proxy leads to the primary again: the gate opens.
    proxy.lead_to(port_of(&primary.url));
    let back = Instant::now();
    while read(base, 0).await.0 != 200 {
        assert!(back.elapsed() < Duration::from_secs(5), "the gate never opened again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log_lines_from(&server, from).iter().any(|l| l.contains("the store answers again")));
    eprintln!(
        "proxy led to a standby: {answers} answers, all 503, gate closed throughout; back {:?} after it led to \
         the primary again",
        back.elapsed()
    );
}
