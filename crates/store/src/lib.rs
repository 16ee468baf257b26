//! SQLite and PostgreSQL implementations of the core's [`HistoryStore`], through sqlx.
//!
//! The SQL is written once (`sql.rs`) and the Rust once (`history_store!` in `history_store.rs`,
//! expanded per backend; the conversions between rows and the domain's values in `rows.rs`). Each
//! backend has its connections (`sqlite.rs`, `postgres.rs`), its read routes (`sqlite_reads.rs`,
//! rusqlite on the request's thread; `postgres.rs`, sqlx) and its migrations (`migrations/sqlite`,
//! `migrations/postgres`); `plans.rs` explains their lookups.
//! Around them: failing fast while a database is down (`health`), and the read routes on a hot
//! standby (`replica`); a span for each store call while traces are exported (`spans`).

#[macro_use]
mod delegate;
mod export;
pub mod health;
mod history_store;
pub mod hosts;
mod plans;
mod postgres;
pub mod replica;
mod rows;
mod shadow;
pub mod spans;
mod sql;
mod sqlite;
mod sqlite_reads;

pub use plans::Lookup;
pub use postgres::PostgresStore;
pub use shadow::{ShadowCount, ShadowSample};
pub use sqlite::SqliteStore;

use ixgw_core::{HistoryStore, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Connection settings common to both backends.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection (or a connection attempt) before the store counts
    /// as unavailable: short, so that requests fail fast during an outage.
    pub acquire_timeout: Duration,
    /// How long one PostgreSQL server is given to accept a connection and answer: each attempt of a
    /// request's new connection (`acquire`), and each server when those of a multi-host URL are
    /// looked through (`hosts`) before migrating.
    pub connect_timeout: Duration,
    /// SQLite's page cache per connection, in KiB. The server keeps SQLite's default (2 MiB: the
    /// OS page cache holds the file anyway, and each connection has its own); a bulk import wants
    /// room for every page a batch dirties, or SQLite spills them to the WAL before the commit.
    pub sqlite_cache_kib: u32,
    /// The page cache of each of SQLite's read connections (`sqlite_reads`), in KiB: one per
    /// thread that reads at once, so by default [`PoolSettings::SQLITE_READ_CACHE_BUDGET_KIB`]
    /// shared among the machine's cores (the gateway's worker threads).
    pub sqlite_read_cache_kib: u32,
}

impl PoolSettings {
    /// The page cache of a bulk writer (`ixgw import`): 64 MiB.
    pub const BULK_SQLITE_CACHE_KIB: u32 = 64 * 1024;

    /// What the read connections' page caches take together: the 32 MiB that sixteen pool
    /// connections of 2 MiB had, now for the few connections that serve every read.
    pub const SQLITE_READ_CACHE_BUDGET_KIB: u32 = 32 * 1024;

    /// The read connections' page cache when `readers` threads read at once.
    pub fn read_cache_for(readers: usize) -> u32 {
        let readers = u32::try_from(readers.max(1)).unwrap_or(u32::MAX);
        (Self::SQLITE_READ_CACHE_BUDGET_KIB / readers).max(2000)
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(300),
            sqlite_cache_kib: 2000,
            sqlite_read_cache_kib: Self::read_cache_for(cores),
        }
    }
}

/// A connected database of either kind.
#[derive(Clone)]
pub enum Database {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Database {
    /// Connects to `sqlite://PATH` (created if missing, WAL) or `postgres://…`. Connecting does not
    /// wait for PostgreSQL to be up: the pool connects lazily, so a gateway can start during an
    /// outage and report itself unready.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url, settings).await?))
        } else if is_postgres(url) {
            Ok(Self::Postgres(PostgresStore::connect(url, settings)?))
        } else {
            Err(StoreError::Failed(format!(
                "unsupported database URL `{}`: use sqlite://PATH or postgres://USER@HOST:PORT/DB",
                redact(url)
            )))
        }
    }

    /// Sends the read routes to a read replica at `read_url` (PostgreSQL only; see
    /// `PostgresStore::with_read_replica`).
    pub fn with_read_replica(self, read_url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        match self {
            Self::Postgres(p) if is_postgres(read_url) => Ok(Self::Postgres(p.with_read_replica(read_url, settings)?)),
            _ => Err(StoreError::Failed(format!(
                "a read replica (`{}`) needs a PostgreSQL primary and a postgres:// URL",
                redact(read_url)
            ))),
        }
    }

    /// Applies the backend's migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(p) => p.migrate().await,
        }
    }

    /// The store: with a read replica, its reads on the standby (the primary's when it fails;
    /// see `replica`). For tools and tests; a server uses [`Database::guarded_store`].
    pub fn store(&self) -> Arc<dyn HistoryStore> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(p) => match p.split() {
                (primary, Some(standby)) => Arc::new(replica::ReadReplica::new(Arc::new(primary), Arc::new(standby))),
                (primary, None) => Arc::new(primary),
            },
        }
    }

    /// The store as the server runs it: every database behind a gate that answers at once while
    /// it is down and a background probe that notices its return (`health`); with a read replica,
    /// reads on the standby while it answers and on the primary while it does not, and keys and
    /// tenants on the standby while the primary is down (`replica`). Spawns the probes, so it needs
    /// a Tokio runtime; a PostgreSQL server that does not answer a probe's connection within
    /// `connect_timeout` counts as down (an SQLite file, one that does not open within the pool's
    /// acquire timeout).
    pub fn guarded_store(&self, connect_timeout: Duration) -> Arc<dyn HistoryStore> {
        match self {
            // A file has no connect timeout: its probe gets the pool's acquire timeout.
            Self::Sqlite(s) => health::guarded(
                Arc::new(s.clone()),
                health::Probe::sqlite(s.pool()),
                health::Role::Store,
                s.pool().options().get_acquire_timeout(),
            ),
            Self::Postgres(p) => {
                let (primary, standby) = p.split();
                let guard = |store: PostgresStore, role| {
                    let probe = health::Probe::postgres(store.pool(), store.servers(), connect_timeout, role);
                    health::guarded_with_gate(Arc::new(store), probe, role, connect_timeout)
                };
                // A read both databases failed waits for either to be back at most as long as a
                // request waits for a pooled connection.
                let wait = primary.pool().options().get_acquire_timeout().max(health::PROBE_EVERY * 2);
                let (primary, primary_gate) = guard(primary, health::Role::Store);
                match standby {
                    Some(standby) => {
                        let (standby, gate) = guard(standby, health::Role::ReadReplica);
                        Arc::new(replica::ReadReplica::new(primary, standby).with_second_chance(
                            gate,
                            primary_gate,
                            wait,
                        ))
                    }
                    None => primary,
                }
            }
        }
    }

    /// The query plan of one of the store's lookups, for `docs/ARCHITECTURE.md` and the tests
    /// that prove lookups are index-bound.
    pub async fn explain(&self, lookup: Lookup) -> Result<String, StoreError> {
        match self {
            Self::Sqlite(s) => s.explain(lookup).await,
            Self::Postgres(p) => p.explain(lookup).await,
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.pool.close().await,
            Self::Postgres(p) => {
                p.pool.close().await;
                if let Some((replica, _)) = &p.replica {
                    replica.close().await
                }
            }
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Sorts a sqlx failure into what the caller can do about it.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                StoreError::Conflict(db.message().to_string())
            } else if db.is_foreign_key_violation() {
                StoreError::Missing(db.message().to_string())
            } else if is_outage(db.as_ref()) {
                StoreError::Unavailable(db.message().to_string())
            } else {
                StoreError::Failed(db.message().to_string())
            }
        }
        _ => StoreError::Failed(e.to_string()),
    }
}

/// A connection from `pool` within the pool's acquire timeout, each attempt cut after `attempt`.
///
/// sqlx gives a new connection the whole acquire timeout. Behind a proxy that holds a connection
/// while it retries a server that just went down (HAProxy waits a second between tries) a request
/// would wait that long although the database answers every other connection, and the background
/// probe, finding it up, has no reason to close the gate. A cut attempt is dropped (sqlx gives back
/// what it took) and the next one is routed again. Waiting for a busy pool is unchanged but for
/// its place in the queue.
pub(crate) async fn acquire<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    attempt: Duration,
) -> Result<sqlx::pool::PoolConnection<DB>, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(attempt.min(left), pool.acquire()).await {
            Ok(acquired) => return acquired,
            Err(_) if left > attempt => {}
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// SQLite's primary result codes for a file that cannot be opened, read or written: permissions (3),
/// read-only (8), I/O (10), corrupt or not a database (11, 26), disk full (13), cannot open (14) — a
/// missing or unmounted volume, a file made unreadable. The low byte of an extended code is the
/// primary one. Both SQLite paths (sqlx's, and the rusqlite reads) answer these as an outage.
pub(crate) const SQLITE_OUTAGES: [i32; 7] = [3, 8, 10, 11, 13, 14, 26];

/// Whether a database error says the database cannot be used now, rather than that the statement
/// failed.
fn is_outage(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = code.parse::<i32>().map_or(0, |c| c & 0xff);
        SQLITE_OUTAGES.contains(&primary)
    } else {
        // PostgreSQL shutting down, too many connections, connection failures.
        // A write on a server that is (now) a standby, 25006, is one too: the primary moved.
        matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300" | "08006" | "08001" | "08004" | "25006")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
