//! The store's read of a flow beside the same statement through bare rusqlite
//! (`docs/PERFORMANCE.md`, "The store's read beside bare rusqlite").
//!
//! `cargo bench -p ixgw-store --bench flow_read`. On a SQLite store of the benchmark's synthetic
//! history (`scripts/bench.d/generate.py`: 10 pages of ≈ 1.2 KB a flow), each record parsed and
//! validated as `ixgw import` does and stored in its batches of 512 (`HistoryStore::put_interactions`),
//! kept under `target/flow-read-bench/N/` for later runs, it reads full flows by unique id of interactions of the last 2 months (the ids
//! `generate.py targets` picks, as `scripts/bench` does), cycling through 1 000 of them on a warm
//! page cache:
//!
//! - `store`: `HistoryStore::flow` through `Database::store()` (the read the REST route makes:
//!   the idle-connection set, the cached statement, the flow's JSON assembled), polled once as the
//!   gateway's worker polls it (a SQLite read does not wait);
//! - `bare_rusqlite`: the store's own statement text (`SqliteStore::flow_by_id_statement`), prepared
//!   once on one connection of the same file with the same page cache, its id read into a `String`
//!   and its page bodies copied into one byte buffer.
//!
//! At the end it prints both times (ns a read, criterion's estimate) and their ratio, then the
//! medians of 20 rounds that alternate the two over the same ids (the figure to quote on a shared
//! machine: both see the same load). `FLOW_READ_INTERACTIONS` sets the store's size (default
//! 100 000; 10 000 for a quick run).

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt;
use ixgw_core::model::record::InteractionRecord;
use ixgw_core::store::{FlowTarget, HistoryStore, Partition, StoredFlow};
use ixgw_core::{Millis, SearchWindow};
use ixgw_store::{Database, PoolSettings};
use rusqlite::{params, Connection, OpenFlags};
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const TENANTS: usize = 4;
const ENVIRONMENT: &str = "production";
/// Records a transaction of `ixgw import`.
const IMPORT_BATCH: usize = 512;

fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from)
}

fn generator() -> PathBuf {
    workspace().join("scripts/bench.d/generate.py")
}

/// The store of `n` interactions and the instant its history ends at: imported once, then reused.
fn bench_store(rt: &tokio::runtime::Runtime, n: usize) -> (PathBuf, i64) {
    let dir = target_dir().join("flow-read-bench").join(n.to_string());
    let (db, marker) = (dir.join("ixgw.db"), dir.join("now_ms"));
    if let Some(now) = std::fs::read_to_string(&marker).ok().and_then(|s| s.trim().parse().ok()) {
        eprintln!("flow_read: reusing the store of {n} interactions in {}", dir.display());
        return (db, now);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the bench store's folder");
    let now = chrono::Utc::now().timestamp_millis();
    eprintln!("flow_read: importing {n} interactions x 10 pages into {} (once)", dir.display());
    let started = std::time::Instant::now();
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let settings =
            PoolSettings { sqlite_cache_kib: PoolSettings::BULK_SQLITE_CACHE_KIB, ..PoolSettings::default() };
        let database = Database::connect(&url, &settings).await.expect("the bench store opens");
        database.migrate().await.expect("migrations");
        let store = database.store();
        for t in 0..TENANTS {
            let account = (70_000_001 + t).to_string();
            store.create_tenant(&account, &format!("bench-{t}"), &[ENVIRONMENT.to_string()]).await.expect("tenant");
        }
        let mut child = Command::new("python3")
            .arg(generator())
            .args(["records", &n.to_string(), "--now", &now.to_string(), "--tenants", &TENANTS.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs scripts/bench.d/generate.py");
        let records = BufReader::new(child.stdout.take().expect("the generator's output"));
        // Parsed and validated as the import parses them, stored in its batches of 512 records.
        let (mut batch, mut stored) = (Vec::with_capacity(IMPORT_BATCH), 0usize);
        for line in records.lines() {
            let line = line.expect("the generator's output reads");
            batch.push(InteractionRecord::from_json(&line).unwrap_or_else(|e| panic!("record rejected: {e}")));
            if batch.len() == IMPORT_BATCH {
                stored += put(store.as_ref(), &batch).await;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            stored += put(store.as_ref(), &batch).await;
        }
        assert!(child.wait().expect("the generator ends").success(), "the generator failed");
        assert_eq!(stored, n, "every record stored");
    });
    std::fs::write(&marker, now.to_string()).expect("the store's marker");
    eprintln!("flow_read: imported in {:.1} s", started.elapsed().as_secs_f64());
    (db, now)
}

/// Stores `records` in one batch (`HistoryStore::put_interactions`, the import's call); how many.
async fn put(store: &dyn HistoryStore, records: &[InteractionRecord]) -> usize {
    let batch: Vec<_> = records
        .iter()
        .map(|r| (Partition { tenant: r.tenant.as_deref().expect("a tenant"), environment: ENVIRONMENT }, r))
        .collect();
    for result in store.put_interactions(&batch).await.expect("the store takes the batch") {
        result.expect("the store takes the record");
    }
    records.len()
}

/// (tenant, id) of 1 000 interactions of the last 2 months, as `scripts/bench` picks them.
fn targets(n: usize, now: i64) -> Vec<(String, String)> {
    let out = Command::new("python3")
        .arg(generator())
        .args(["targets", &n.to_string(), "--now", &now.to_string(), "--tenants", &TENANTS.to_string()])
        .args(["--count", "1000"])
        .output()
        .expect("python3 runs scripts/bench.d/generate.py");
    assert!(out.status.success(), "generate.py targets failed");
    let picks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("targets are JSON");
    picks.iter().map(|t| (t["tenant"].as_str().unwrap().to_string(), t["id"].as_str().unwrap().to_string())).collect()
}

/// A flow through bare rusqlite: the id and the page bodies, owned.
struct BareFlow {
    interaction_id: String,
    pages: Vec<u8>,
}

// Not inlined, so that a profile names the two reads (`valgrind --tool=callgrind
// --toggle-collect='*bare_read*'`, …).
#[inline(never)]
fn bare_read(statement: &mut rusqlite::Statement<'_>, tenant: &str, id: &str, cutoff: i64) -> Option<BareFlow> {
    let mut rows = statement.query(params![tenant, ENVIRONMENT, id, cutoff]).unwrap();
    let first = rows.next().unwrap()?;
    let mut flow = BareFlow { interaction_id: first.get(0).unwrap(), pages: Vec::with_capacity(16 * 1024) };
    let mut row = Some(first);
    while let Some(r) = row {
        if let Some(body) = r.get_ref(1).unwrap().as_bytes_or_null().unwrap() {
            flow.pages.extend_from_slice(body);
        }
        row = rows.next().unwrap();
    }
    Some(flow)
}

#[inline(never)]
fn store_read(store: &dyn HistoryStore, tenant: &str, id: &str, cutoff: Millis) -> Option<StoredFlow> {
    let at = Partition { tenant, environment: ENVIRONMENT };
    // A SQLite read completes in its first poll, as on the gateway's worker thread.
    store.flow(at, FlowTarget::UniqueId(id), cutoff).now_or_never().expect("a SQLite read does not wait").unwrap()
}

fn flow_read(c: &mut Criterion) {
    let n: usize = std::env::var("FLOW_READ_INTERACTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (db, now) = bench_store(&rt, n);
    let targets = targets(n, now);
    // The REST route's default window, from the instant the history ends at.
    let cutoff = SearchWindow::Recent.cutoff(chrono::DateTime::from_timestamp_millis(now).unwrap());

    let _runtime = rt.enter();
    let settings = PoolSettings::default();
    let database = rt.block_on(Database::connect(&format!("sqlite://{}", db.display()), &settings)).unwrap();
    let store: Arc<dyn HistoryStore> = database.store();
    let Database::Sqlite(sqlite) = &database else { unreachable!("a SQLite URL") };
    let sql = sqlite.flow_by_id_statement();

    // The bare connection as the store opens its read connections: no SQLite mutex, read only,
    // the same page cache.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(&db, flags).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;",
        settings.sqlite_read_cache_kib
    ))
    .unwrap();
    let mut statement = conn.prepare(sql).unwrap();

    // Both answer the same flows; every target is read twice by each before timing (warm caches).
    let mut bytes = 0usize;
    for (tenant, id) in targets.iter().chain(&targets) {
        let ours = store_read(store.as_ref(), tenant, id, cutoff).expect("the target's flow");
        let bare = bare_read(&mut statement, tenant, id, cutoff.0).expect("the target's flow");
        assert_eq!(ours.interaction_id, bare.interaction_id);
        assert_eq!(ours.pages().map(str::len).sum::<usize>(), bare.pages.len());
        bytes += bare.pages.len();
    }
    eprintln!(
        "flow_read: {n} interactions, {} targets, {} bytes of pages a flow on average, statement: {sql}",
        targets.len(),
        bytes / (2 * targets.len())
    );

    // One group per store size, so that a quick run does not overwrite the figures of a full one.
    let (group_name, started) = (format!("flow_read_{n}"), std::time::SystemTime::now());
    let mut group = c.benchmark_group(&group_name);
    let mut next = 0usize;
    group.bench_function("store", |b| {
        b.iter(|| {
            let (tenant, id) = &targets[next % targets.len()];
            next += 1;
            black_box(store_read(store.as_ref(), tenant, id, cutoff))
        })
    });
    let mut next = 0usize;
    group.bench_function("bare_rusqlite", |b| {
        b.iter(|| {
            let (tenant, id) = &targets[next % targets.len()];
            next += 1;
            black_box(bare_read(&mut statement, tenant, id, cutoff.0))
        })
    });
    group.finish();
    report(n, &group_name, started);

    // Criterion times one function after the other; on a shared machine the load moves between
    // the two. Alternating rounds of the two reads over the same ids see the same load.
    let (rounds, reads) = (20, 4 * targets.len());
    let (mut ours, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let time_store = || {
            let started = Instant::now();
            for (tenant, id) in targets.iter().cycle().take(reads) {
                black_box(store_read(store.as_ref(), tenant, id, cutoff));
            }
            started.elapsed().as_nanos() as f64 / reads as f64
        };
        let time_bare = |statement: &mut rusqlite::Statement<'_>| {
            let started = Instant::now();
            for (tenant, id) in targets.iter().cycle().take(reads) {
                black_box(bare_read(statement, tenant, id, cutoff.0));
            }
            started.elapsed().as_nanos() as f64 / reads as f64
        };
        let (o, b) = if round % 2 == 0 {
            let o = time_store();
            (o, time_bare(&mut statement))
        } else {
            let b = time_bare(&mut statement);
            (time_store(), b)
        };
        ours.push(o);
        bare.push(b);
        ratios.push(o / b);
    }
    println!(
        "flow_read ({n} interactions), {rounds} alternating rounds of {reads} reads each, medians: store {:.0} ns/read, \
         bare rusqlite {:.0} ns/read, store / bare = {:.3} (rounds {:.3}-{:.3})",
        median(&mut ours),
        median(&mut bare),
        median(&mut ratios),
        ratios.first().unwrap(),
        ratios.last().unwrap()
    );
}

/// The median of `values`, sorting them.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The two times a read from criterion's estimates, and their ratio.
fn report(n: usize, group: &str, started: std::time::SystemTime) {
    // The slope's point estimate: the time criterion prints. Only estimates written by this run
    // (`--profile-time` and filtered runs write none).
    let time = |name: &str| -> Option<f64> {
        let path = criterion_dir().join(group).join(name).join("new/estimates.json");
        std::fs::metadata(&path).ok()?.modified().ok().filter(|written| *written >= started)?;
        let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        estimates["slope"]["point_estimate"].as_f64().or_else(|| estimates["mean"]["point_estimate"].as_f64())
    };
    if let (Some(ours), Some(bare)) = (time("store"), time("bare_rusqlite")) {
        println!(
            "flow_read ({n} interactions): store {ours:.0} ns/read, bare rusqlite {bare:.0} ns/read, \
             store / bare = {:.3}",
            ours / bare
        );
    }
}

fn criterion_dir() -> PathBuf {
    target_dir().join("criterion")
}

fn config() -> Criterion {
    Criterion::default().output_directory(&criterion_dir())
}

criterion_group! {
    name = benches;
    config = config();
    targets = flow_read
}
criterion_main!(benches);
