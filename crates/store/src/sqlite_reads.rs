//! SQLite's read routes, on the thread that serves the request.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement, and each row
//! of its answer, across threads through channels: for a 10-page flow that was about half of the
//! request's CPU (futex wake-ups and context switches). Reads are short and never wait for a writer
//! (WAL), so here they run synchronously where the request is served, on connections of their own
//! with cached prepared statements: one statement a lookup, no hop. Writes, migrations, keys and
//! tenants stay on sqlx's pool.
//!
//! A connection is taken from the idle set for one statement and put back at once; no request holds
//! one across an `.await`, so a server opens about as many as it has worker threads, and more only
//! when more threads read at the same instant.
//!
//! A read that misses the page cache waits on the disk, and every request queued on its worker
//! waits with it. So once reads slower than [`SLOW_READ`] that went to the disk (the thread's block
//! reads in `/proc/thread-self/io` went up: a read merely slowed by a busy CPU did not) have held the
//! serving threads [`DISK_WAIT_TO_OFFLOAD`] within a second, the reads of the next [`OFFLOAD_FOR`]
//! move to tokio's blocking pool ([`OFFLOADED_AT_ONCE`] at a time, on connections of their own
//! with SQLite's default page cache), and each read there that goes to the disk extends it: while
//! the store is read from disk the workers keep answering and the disk serves several reads at
//! once; while it is read from memory nothing changes.

use crate::rows::{list_binds, variable_set_named};
use crate::SqliteStore;
use async_trait::async_trait;
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::record::CallerAttributeKind;
use ixgw_core::rules::attributes::{precedence, Candidate};
use ixgw_core::store::{
    ContentBlob, ContentPart, ContextRow, FlowTarget, HistoryReads, ListQuery, ListSubject, Partition, Resolved,
    StoredFlow, StoredPhoto,
};
use ixgw_core::{Millis, StoreError, StoreResult};
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The bytes a flow's pages are expected to take (10 pages of about 1.2 KB), reserved at once.
const FLOW_CAPACITY: usize = 16 * 1024;

/// A read on a serving thread slower than this, and than [`SLOWER_THAN_TYPICAL`] times the
/// typical read, is asked whether it went to the disk (a 10-page flow read from memory takes about
/// 30 µs; asking reads a file of `/proc`, so quick reads are not asked, nor every read of a process
/// that is slow throughout, as under valgrind).
pub const SLOW_READ: Duration = Duration::from_millis(1);
const SLOWER_THAN_TYPICAL: u64 = 16;
/// How long after a read from disk the reads run on the blocking pool.
pub const OFFLOAD_FOR: Duration = Duration::from_secs(1);
/// How long slow reads from disk may hold the serving threads within [`OFFLOAD_FOR`] before the
/// reads move: what a store read from disk costs them in a few reads (the morning's 300 000 store:
/// 258 ms of `/healthz` p99), and more than the stray reads of a store in memory whose pages the OS
/// reclaims now and then (a guest's proactive reclaim). Moving the reads for those cost more than
/// they held up, since a read on the blocking pool takes two thread hand-offs: the 20 000 bench with
/// the reads moved after four slow reads from disk, REST by id 0.67–0.70 × its floor in the runs
/// where they moved, 0.88 in the one where they did not.
pub const DISK_WAIT_TO_OFFLOAD: Duration = Duration::from_millis(100);
/// Reads on the blocking pool at once (more wait, without holding a worker): the disk's queue.
pub const OFFLOADED_AT_ONCE: usize = 16;
/// The page cache of a blocking-pool read connection, in KiB (SQLite's default; the OS page
/// cache holds the file, and there are up to [`OFFLOADED_AT_ONCE`] of them).
const OFFLOADED_CACHE_KIB: u32 = 2000;

thread_local! {
    /// Set while a thread of the blocking pool runs an offloaded read (it takes a connection of
    /// the blocking pool's).
    static ON_BLOCKING_POOL: Cell<bool> = const { Cell::new(false) };
    /// The thread's bytes read from storage when [`read_from_disk_since_last_asked`] last asked.
    static BLOCK_READS: Cell<u64> = const { Cell::new(0) };
}

/// Whether this thread read blocks from the disk (not the OS page cache) since it last asked.
fn read_from_disk_since_last_asked() -> bool {
    let now = block_reads_of_this_thread();
    now > BLOCK_READS.with(|seen| seen.replace(now))
}

/// The bytes this thread has had read from storage so far (`read_bytes` of
/// `/proc/thread-self/io`: reads served from the OS page cache do not count); 0 where it cannot
/// be read (no `/proc`), and then reads never leave the serving thread.
fn block_reads_of_this_thread() -> u64 {
    let Ok(io) = std::fs::read_to_string("/proc/thread-self/io") else { return 0 };
    io.lines().find_map(|line| line.strip_prefix("read_bytes:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// Read connections to one SQLite database.
pub struct ReadConnections {
    path: PathBuf,
    cache_kib: u32,
    idle: Mutex<Vec<Connection>>,
    /// The blocking pool's connections.
    idle_offloaded: Mutex<Vec<Connection>>,
    offload_slots: Arc<Semaphore>,
    /// Until when, in ms after `started`, reads go to the blocking pool (0: never so far).
    offload_until_ms: AtomicU64,
    /// The time slow reads from disk held the serving threads since `disk_wait_since_ms`, in µs.
    disk_wait_us: AtomicU64,
    disk_wait_since_ms: AtomicU64,
    started: Instant,
    /// A moving average of the reads' times, in µs.
    typical_read_us: AtomicU64,
    /// Reads run on the blocking pool so far (for the tests).
    #[cfg(test)]
    offloaded: AtomicU64,
}

impl ReadConnections {
    pub fn new(path: PathBuf, cache_kib: u32) -> Self {
        Self {
            path,
            cache_kib,
            idle: Mutex::new(Vec::new()),
            idle_offloaded: Mutex::new(Vec::new()),
            offload_slots: Arc::new(Semaphore::new(OFFLOADED_AT_ONCE)),
            offload_until_ms: AtomicU64::new(0),
            disk_wait_us: AtomicU64::new(0),
            disk_wait_since_ms: AtomicU64::new(0),
            started: Instant::now(),
            typical_read_us: AtomicU64::new(0),
            #[cfg(test)]
            offloaded: AtomicU64::new(0),
        }
    }

    /// Whether reads leave the serving thread now: one waited on the disk less than
    /// [`OFFLOAD_FOR`] ago.
    pub fn offloading(&self) -> bool {
        let until = self.offload_until_ms.load(Ordering::Relaxed);
        until != 0 && self.elapsed_ms() < until
    }

    /// Reads run on the blocking pool so far.
    #[cfg(test)]
    fn offloaded(&self) -> u64 {
        self.offloaded.load(Ordering::Relaxed)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a read that took `took` is slow ([`SLOW_READ`]), and counts it in the typical time.
    fn slow(&self, took: Duration) -> bool {
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        // Updates may race and lose one another: an average of what most reads take will do.
        let typical = self.typical_read_us.load(Ordering::Relaxed);
        let moved = typical.saturating_sub(typical / 16).saturating_add(took_us / 16);
        self.typical_read_us.store(moved, Ordering::Relaxed);
        took > SLOW_READ && took_us > typical.saturating_mul(SLOWER_THAN_TYPICAL)
    }

    /// Counts a slow read from disk on a serving thread, which held it `took`; once such reads
    /// have held the serving threads [`DISK_WAIT_TO_OFFLOAD`] within [`OFFLOAD_FOR`], the reads
    /// move. (Updates may race: a sum off by one read will do.)
    fn slow_read_from_disk(&self, took: Duration) {
        let now = self.elapsed_ms();
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let since = self.disk_wait_since_ms.load(Ordering::Relaxed);
        let waited = if self.disk_wait_us.load(Ordering::Relaxed) == 0
            || now.saturating_sub(since) > OFFLOAD_FOR.as_millis() as u64
        {
            self.disk_wait_since_ms.store(now, Ordering::Relaxed);
            self.disk_wait_us.store(took_us, Ordering::Relaxed);
            took_us
        } else {
            self.disk_wait_us.fetch_add(took_us, Ordering::Relaxed).saturating_add(took_us)
        };
        if waited >= DISK_WAIT_TO_OFFLOAD.as_micros() as u64 {
            self.disk_wait_us.store(0, Ordering::Relaxed);
            self.offload_for_a_while();
        }
    }

    /// Sends the reads of the next [`OFFLOAD_FOR`] to the blocking pool; says so in the log when
    /// they were on the serving threads (once per spell of reads from the disk, not per read).
    fn offload_for_a_while(&self) {
        let now = self.elapsed_ms();
        let until = now.saturating_add(OFFLOAD_FOR.as_millis() as u64).max(1);
        let before = self.offload_until_ms.fetch_max(until, Ordering::Relaxed);
        if before == 0 || before <= now {
            tracing::info!(
                "SQLite reads went to the disk: they run on the blocking pool until a second passes without one"
            );
        }
    }

    fn open(&self, cache_kib: u32) -> StoreResult<Connection> {
        // One thread at a time uses a connection (it is taken out of `idle`): SQLite's own mutex
        // per connection is not needed. URI names are sqlx's shared in-memory databases.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // Reads only, with the page cache of the pool's connections.
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(classify)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(classify)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (opened if none is idle) and puts the connection back:
    /// a serving thread's, or on the blocking pool one of its own.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let on_blocking_pool = ON_BLOCKING_POOL.with(Cell::get);
        let (set, cache_kib) =
            if on_blocking_pool { (&self.idle_offloaded, OFFLOADED_CACHE_KIB) } else { (&self.idle, self.cache_kib) };
        let idle = set.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open(cache_kib)?,
        };
        let began = Instant::now();
        let result = read(&conn);
        if on_blocking_pool {
            if read_from_disk_since_last_asked() {
                self.offload_for_a_while();
            }
        } else {
            let took = began.elapsed();
            if self.slow(took) && read_from_disk_since_last_asked() {
                self.slow_read_from_disk(took);
            }
        }
        set.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        result.map_err(classify)
    }
}

impl SqliteStore {
    /// The first row `sql` answers for `params`, through `row`.
    fn read_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.reads.with(|conn| conn.prepare_cached(sql)?.query_row(params, row).optional())
    }

    /// The interaction `value` resolves to (key and id): the matches come newest allocation first,
    /// and among those sharing the newest allocation time the core's rule picks (`attributes`).
    fn attribute_winner(
        &self,
        conn: &Connection,
        at: Partition<'_>,
        value: &str,
        cutoff: Millis,
    ) -> rusqlite::Result<Option<(i64, String)>> {
        let mut statement = conn.prepare_cached(self.sql.attribute_candidates)?;
        let mut rows = statement.query(params![at.tenant, at.environment, value, cutoff.0])?;
        // `precedence` compares allocation, start and id; the window is already in the statement.
        let mut best: Option<(i64, String, Millis, Millis)> = None;
        while let Some(r) = rows.next()? {
            let (allocated_at, started_at) = (Millis(r.get(2)?), Millis(r.get(3)?));
            if let Some((_, id, best_allocated, best_started)) = &best {
                if allocated_at < *best_allocated {
                    break;
                }
                let (candidate, leader) = (
                    Candidate {
                        interaction_id: r.get_ref(1)?.as_str()?,
                        started_at,
                        last_activity: cutoff,
                        allocated_at,
                    },
                    Candidate { interaction_id: id, started_at: *best_started, last_activity: cutoff, allocated_at },
                );
                if precedence(&candidate, &leader).is_ge() {
                    continue;
                }
            }
            best = Some((r.get(0)?, r.get(1)?, allocated_at, started_at));
        }
        Ok(best.map(|(pk, id, ..)| (pk, id)))
    }
}

/// The read routes, where they run (see [`SqliteStore::offload`]).
impl SqliteStore {
    fn flow_now(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>> {
        self.reads.with(|conn| match target {
            FlowTarget::UniqueId(id) => {
                read_flow(conn, self.sql.flow_by_id, params![at.tenant, at.environment, id, cutoff.0])
            }
            FlowTarget::CallerAttribute(value) => match self.attribute_winner(conn, at, value, cutoff)? {
                Some((pk, _)) => read_flow(conn, self.sql.flow_by_pk, params![pk]),
                None => Ok(None),
            },
        })
    }

    fn resolve_now(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<Resolved>> {
        match target {
            FlowTarget::UniqueId(id) => {
                self.read_row(self.sql.resolve_by_id, params![at.tenant, at.environment, id, cutoff.0], |r| {
                    Ok(Resolved { key: r.get(0)?, interaction_id: r.get(1)? })
                })
            }
            FlowTarget::CallerAttribute(value) => self.reads.with(|conn| {
                let winner = self.attribute_winner(conn, at, value, cutoff)?;
                Ok(winner.map(|(key, interaction_id)| Resolved { key, interaction_id }))
            }),
        }
    }

    fn unique_id_for_now(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>> {
        let params = params![at.tenant, at.environment, value, cutoff.0, kind.as_str()];
        self.read_row(self.sql.unique_id_for, params, |r| r.get(0))
    }

    fn variable_set_now(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        let json: Option<Option<String>> =
            self.read_row(self.sql.variable_sets, params![interaction.key], |r| r.get(0))?;
        variable_set_named(json.flatten().as_deref(), name)
    }

    fn photo_now(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>> {
        self.read_row(self.sql.photo, params![at.tenant, at.environment, interaction_id, path], |r| {
            Ok(StoredPhoto { mime: r.get(0)?, data: r.get(1)? })
        })
    }

    fn context_interaction_now(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        self.read_row(self.sql.context_by_id, params![at.tenant, at.environment, interaction_id], context_row)
    }

    fn context_list_now(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>> {
        let (sql, subject): (_, &dyn ToSql) = match &query.subject {
            ListSubject::Customer(customer) => (self.sql.context_by_customer, customer),
            ListSubject::Service(service) => (self.sql.context_by_service, service),
        };
        let (media_type, status, from, before_started, before_id, limit) = list_binds(query);
        let params =
            params![at.tenant, at.environment, subject, media_type, status, from, before_started, before_id, limit];
        self.reads.with(|conn| conn.prepare_cached(sql)?.query_map(params, context_row)?.collect())
    }

    fn content_now(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>> {
        let sql = self.sql.content[part as usize];
        self.read_row(sql, params![at.tenant, at.environment, interaction_id], |r| {
            // Text parts and the binary one alike arrive as their bytes.
            let data = match r.get_ref(1)? {
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
                _ => Vec::new(),
            };
            Ok(ContentBlob { mime: r.get(0)?, data })
        })
    }
}

/// Each read here while reads are quick, else on the blocking pool with its arguments copied.
#[async_trait]
impl HistoryReads for SqliteStore {
    async fn flow(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>> {
        if !self.reads.offloading() {
            return self.flow_now(at, target, cutoff);
        }
        let (at, target) = (OwnedPartition::of(at), OwnedTarget::of(target));
        self.offload(move |store| store.flow_now(at.get(), target.get(), cutoff)).await
    }

    async fn resolve(
        &self,
        at: Partition<'_>,
        target: FlowTarget<'_>,
        cutoff: Millis,
    ) -> StoreResult<Option<Resolved>> {
        if !self.reads.offloading() {
            return self.resolve_now(at, target, cutoff);
        }
        let (at, target) = (OwnedPartition::of(at), OwnedTarget::of(target));
        self.offload(move |store| store.resolve_now(at.get(), target.get(), cutoff)).await
    }

    async fn unique_id_for(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>> {
        if !self.reads.offloading() {
            return self.unique_id_for_now(at, kind, value, cutoff);
        }
        let (at, value) = (OwnedPartition::of(at), value.to_owned());
        self.offload(move |store| store.unique_id_for_now(at.get(), kind, &value, cutoff)).await
    }

    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        if !self.reads.offloading() {
            return self.variable_set_now(interaction, name);
        }
        let (interaction, name) = (interaction.clone(), name.to_owned());
        self.offload(move |store| store.variable_set_now(&interaction, &name)).await
    }

    async fn photo(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>> {
        if !self.reads.offloading() {
            return self.photo_now(at, interaction_id, path);
        }
        let (at, interaction_id, path) = (OwnedPartition::of(at), interaction_id.to_owned(), path.to_owned());
        self.offload(move |store| store.photo_now(at.get(), &interaction_id, &path)).await
    }

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        if !self.reads.offloading() {
            return self.context_interaction_now(at, interaction_id);
        }
        let (at, interaction_id) = (OwnedPartition::of(at), interaction_id.to_owned());
        self.offload(move |store| store.context_interaction_now(at.get(), &interaction_id)).await
    }

    async fn context_list(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>> {
        if !self.reads.offloading() {
            return self.context_list_now(at, query);
        }
        let (at, query) = (OwnedPartition::of(at), query.clone());
        self.offload(move |store| store.context_list_now(at.get(), &query)).await
    }

    async fn content(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>> {
        if !self.reads.offloading() {
            return self.content_now(at, interaction_id, part);
        }
        let (at, interaction_id) = (OwnedPartition::of(at), interaction_id.to_owned());
        self.offload(move |store| store.content_now(at.get(), &interaction_id, part)).await
    }
}

impl SqliteStore {
    /// Runs `read` on a thread of tokio's blocking pool (one of [`OFFLOADED_AT_ONCE`] at a time;
    /// the others wait without holding their worker), so that the serving thread answers its
    /// other requests while the disk is read. A request given up meanwhile lets its read finish.
    async fn offload<T: Send + 'static>(
        &self,
        read: impl FnOnce(&SqliteStore) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let slot =
            self.reads.offload_slots.clone().acquire_owned().await.map_err(|e| StoreError::Failed(e.to_string()))?;
        #[cfg(test)]
        self.reads.offloaded.fetch_add(1, Ordering::Relaxed);
        let store = self.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            ON_BLOCKING_POOL.with(|on| on.set(true));
            let result = read(&store);
            ON_BLOCKING_POOL.with(|on| on.set(false));
            result
        })
        .await;
        ran.map_err(|e| StoreError::Failed(format!("a read on the blocking pool failed: {e}")))?
    }
}

/// A read's partition, owned for the blocking pool.
struct OwnedPartition {
    tenant: String,
    environment: String,
}

impl OwnedPartition {
    fn of(at: Partition<'_>) -> Self {
        Self { tenant: at.tenant.to_owned(), environment: at.environment.to_owned() }
    }

    fn get(&self) -> Partition<'_> {
        Partition { tenant: &self.tenant, environment: &self.environment }
    }
}

/// A flow's target, owned for the blocking pool.
enum OwnedTarget {
    UniqueId(String),
    CallerAttribute(String),
}

impl OwnedTarget {
    fn of(target: FlowTarget<'_>) -> Self {
        match target {
            FlowTarget::UniqueId(id) => Self::UniqueId(id.to_owned()),
            FlowTarget::CallerAttribute(value) => Self::CallerAttribute(value.to_owned()),
        }
    }

    fn get(&self) -> FlowTarget<'_> {
        match self {
            Self::UniqueId(id) => FlowTarget::UniqueId(id),
            Self::CallerAttribute(value) => FlowTarget::CallerAttribute(value),
        }
    }
}

/// A flow's rows (its id and a page each, in order; one row with a NULL page for none) as one JSON
/// array; `None` when there is no row.
fn read_flow(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<Option<StoredFlow>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let Some(first) = rows.next()? else { return Ok(None) };
    let mut flow = StoredFlow::new(first.get(0)?, FLOW_CAPACITY);
    let mut row = Some(first);
    while let Some(r) = row {
        if let Some(body) = text_or_null(r.get_ref(1)?)? {
            flow.push_page(body);
        }
        row = rows.next()?;
    }
    Ok(Some(flow))
}

/// A text column as `&str`, `None` for NULL. The UTF-8 check is vectorised: rusqlite's own
/// (`as_str_or_null`, the standard library's) took ≈ 0.7 instructions a byte, 8 000 a flow.
fn text_or_null(value: ValueRef<'_>) -> rusqlite::Result<Option<&str>> {
    match value {
        ValueRef::Text(bytes) => simdutf8::basic::from_utf8(bytes)
            .or_else(|_| std::str::from_utf8(bytes))
            .map(Some)
            .map_err(rusqlite::Error::from),
        other => Ok(other.as_str_or_null()?),
    }
}

fn context_row(r: &Row<'_>) -> rusqlite::Result<ContextRow> {
    Ok(ContextRow {
        interaction_id: r.get(0)?,
        customer_id: r.get(1)?,
        started_at: Millis(r.get(2)?),
        ended_at: r.get::<_, Option<i64>>(3)?.map(Millis),
        context_json: r.get(4)?,
        has_plain_text: r.get(5)?,
        has_structured_text: r.get(6)?,
        structured_text_mime: r.get(7)?,
        has_binary_content: r.get(8)?,
    })
}

/// Sorts a failed read into what the caller can do about it, as `crate::classify` does for sqlx:
/// the same outage codes, and a busy or locked database besides (a read that waited its busy timeout).
fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    let outage = match e.sqlite_error() {
        Some(failure) => {
            matches!(failure.code, DatabaseBusy | DatabaseLocked)
                || crate::SQLITE_OUTAGES.contains(&(failure.extended_code & 0xff))
        }
        None => false,
    };
    if outage {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Failed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{classify, SLOW_READ};
    use crate::{PoolSettings, SqliteStore};
    use ixgw_core::model::record::InteractionRecord;
    use ixgw_core::store::{FlowTarget, HistoryReads, HistoryStore, ListQuery, ListSubject, Partition};
    use ixgw_core::{Millis, StoreError};

    const AT: Partition<'static> = Partition { tenant: "12345678", environment: "production" };

    #[tokio::test]
    async fn after_a_read_from_disk_reads_run_on_the_blocking_pool_and_answer_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ixgw.db").display());
        let store = SqliteStore::connect(&url, &PoolSettings::default()).await.unwrap();
        store.migrate().await.unwrap();
        store.create_tenant(AT.tenant, "Demo", &["production".into()]).await.unwrap();
        let record = r#"{"id": "a", "customer_id": "c", "started_at": "2026-01-01T00:00:00Z",
            "caller_attributes": [{"kind": "callerId", "value": "5551234", "allocated_at": "2026-01-01T00:00:00Z"}],
            "pages": [{"pageNavigation": {"navigationTitle": "one"}, "pageContent": {"contentSections": []}, "timestamp": 1},
                      {"pageNavigation": {"navigationTitle": "two"}, "pageContent": {"contentSections": []}, "timestamp": 2}]}"#;
        store.put_interaction(AT, &InteractionRecord::from_json(record).unwrap()).await.unwrap();

        let reads = async || {
            let by_id = store.flow(AT, FlowTarget::UniqueId("a"), Millis(0)).await.unwrap().unwrap();
            let by_attribute =
                store.flow(AT, FlowTarget::CallerAttribute("5551234"), Millis(0)).await.unwrap().unwrap();
            let resolved = store.resolve(AT, FlowTarget::CallerAttribute("5551234"), Millis(0)).await.unwrap();
            let context = store.context_interaction(AT, "a").await.unwrap().map(|row| row.interaction_id);
            let list = ListQuery::first_page(ListSubject::Customer("c".into()), 10);
            let listed = store.context_list(AT, &list).await.unwrap().len();
            (by_id.into_json_array(), by_attribute.into_json_array(), resolved, context, listed)
        };
        // What the thread read from storage before (the test binary's own pages among it) is not
        // the reads'.
        super::read_from_disk_since_last_asked();
        let here = reads().await;
        assert!(!store.reads.offloading(), "reads from memory stay on the serving thread");
        assert_eq!(store.reads.offloaded(), 0);

        // A read slowed by something other than the disk (here a sleep; in production a busy
        // CPU) leaves the reads where they are.
        super::read_from_disk_since_last_asked();
        store
            .reads
            .with(|_| {
                std::thread::sleep(SLOW_READ * 2);
                Ok(())
            })
            .unwrap();
        assert!(!store.reads.offloading(), "slow, but not from the disk");
        // Slow reads from the disk (what `read_from_disk_since_last_asked` tells): a stray one
        // leaves the reads where they are; several within a second send the next ones to the
        // blocking pool.
        let a_tenth = super::DISK_WAIT_TO_OFFLOAD / 10;
        for _ in 1..10 {
            store.reads.slow_read_from_disk(a_tenth);
        }
        assert!(!store.reads.offloading(), "reads from disk that held the threads briefly do not move the reads");
        store.reads.slow_read_from_disk(a_tenth);
        assert!(store.reads.offloading());
        let there = reads().await;
        assert_eq!(there, here, "the same answers");
        assert_eq!(store.reads.offloaded(), 5);
        assert!(!store.reads.idle_offloaded.lock().unwrap().is_empty(), "on the blocking pool's connections");
    }

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn an_unusable_file_is_an_outage_as_on_the_sqlx_path() {
        // Corrupt (11), read-only (8, extended 264: SQLITE_READONLY_RECOVERY), I/O (10, extended
        // 266), not a database (26), busy (5): 503 with Retry-After, not 500.
        for code in [11, 8, 264, 10, 266, 26, 5, 13, 14, 3] {
            assert!(matches!(classify(failure(code)), StoreError::Unavailable(_)), "code {code}");
        }
        // A statement that failed on a healthy file stays a failure.
        for code in [1, 19, 20] {
            assert!(matches!(classify(failure(code)), StoreError::Failed(_)), "code {code}");
        }
        assert!(matches!(classify(rusqlite::Error::QueryReturnedNoRows), StoreError::Failed(_)));
    }
}
