//! The SQLite backend: its connections (sqlx's pool for writes, `sqlite_reads` for the read
//! routes), migrations, and its statements (`sql.rs` with `?N` placeholders).

use crate::sql::{for_sqlite, ChildInserts, Sql, SQL};
use crate::sqlite_reads::ReadConnections;
use crate::PoolSettings;
use ixgw_core::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static SQLITE_SQL: LazyLock<Sql> = LazyLock::new(|| SQL.map(for_sqlite));
static SQLITE_INSERTS: LazyLock<ChildInserts> = LazyLock::new(|| ChildInserts::new(for_sqlite));

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: sqlx::SqlitePool,
    /// The read routes' own connections (see `sqlite_reads`).
    pub(crate) reads: Arc<ReadConnections>,
    pub(crate) sql: &'static Sql,
    pub(crate) inserts: &'static ChildInserts,
}

impl SqliteStore {
    pub async fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Failed(format!("bad SQLite URL `{url}`: {e}")))?
            .create_if_missing(true)
            // New databases only (an existing one keeps its page size): with 4 KiB pages a page's
            // JSON (≈ 1–2 KB) overflows the `pages` B-tree's cells (WITHOUT ROWID: ≈ 1 KB local at
            // most), costing a 4 KiB overflow page per flow page. 16 KiB pages keep them in the cell.
            .page_size(16384)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // 2 MiB of page cache per connection by default (SQLite's; each connection has its
            // own): the OS page cache holds the file anyway, and 16 connections x 16 MiB would put
            // the server's RSS past 300 MB on a large store.
            .pragma("cache_size", format!("-{}", settings.sqlite_cache_kib))
            .pragma("temp_store", "memory");
        if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Failed(format!("cannot create the folder {}: {e}", parent.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A local file cannot drop a connection: the default ping before every acquire would
            // cost each request one more hand-off to the connection's thread.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Failed(format!("cannot open the SQLite database `{url}`: {e}")))?;
        let reads = ReadConnections::new(options.get_filename().to_path_buf(), settings.sqlite_read_cache_kib);
        Ok(Self { pool, reads: Arc::new(reads), sql: &SQLITE_SQL, inserts: &SQLITE_INSERTS })
    }

    /// The text of the statement that reads a flow by unique id, word for word as this store runs
    /// it: for `benches/flow_read.rs`, which runs it through bare rusqlite beside the store's own
    /// read (`HistoryReads::flow`).
    pub fn flow_by_id_statement(&self) -> &'static str {
        self.sql.flow_by_id
    }

    /// A pooled connection (a file opens at once or not at all: no attempt to cut, unlike
    /// PostgreSQL's `connection`).
    pub(crate) async fn connection(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        self.pool.acquire().await.map_err(crate::classify)
    }

    /// The connection pool (tests and tools that inspect the tables).
    pub fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Failed(format!("SQLite migration failed: {e}")))
    }
}
