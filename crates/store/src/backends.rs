//! The two backends: their connections, migrations and query plans, and the one implementation of
//! the history store they share (`history_store!`).

use crate::sql::{for_sqlite, ChildInserts, Sql, SQL};
use crate::sqlite_reads::ReadConnections;
use crate::{classify, PoolSettings};
use async_trait::async_trait;
use ixgw_core::attributes::current_allocations;
use ixgw_core::ordered::OrderedStrings;
use ixgw_core::page::Page;
use ixgw_core::record::{CallerAttribute, CallerAttributeKind, InteractionRecord};
use ixgw_core::store::{
    AttributeAllocated, ContentBlob, ContentPart, ContextRow, EraseTarget, Erased, FlowTarget, HistoryReads,
    HistoryStore, KeyRecord, ListQuery, ListSubject, LiveRefusal, PageAppended, Partition, Resolved, StoredFlow,
    StoredPhoto,
};
use ixgw_core::tenancy::{Environment, KeyDigest, KeyInfo, Scope, StoredKey, Tenant};
use ixgw_core::{Millis, StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static SQLITE_SQL: LazyLock<Sql> = LazyLock::new(|| SQL.map(for_sqlite));
static POSTGRES_INSERTS: LazyLock<ChildInserts> = LazyLock::new(|| ChildInserts::new(|sql| sql));
static SQLITE_INSERTS: LazyLock<ChildInserts> = LazyLock::new(|| ChildInserts::new(for_sqlite));

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: sqlx::SqlitePool,
    /// The read routes' own connections (see `sqlite_reads`).
    pub(crate) reads: Arc<ReadConnections>,
    pub(crate) sql: &'static Sql,
    inserts: &'static ChildInserts,
}

#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: sqlx::PgPool,
    /// A read replica's pool for the read routes (flows, lookups, Context Services), when one is
    /// configured; `split` makes it a store of its own. Keys, tenants, writes and erasure always
    /// use `pool`, the primary.
    pub(crate) replica: Option<sqlx::PgPool>,
    pub(crate) sql: &'static Sql,
    inserts: &'static ChildInserts,
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

impl PostgresStore {
    pub fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Failed(format!("bad PostgreSQL URL `{}`: {e}", crate::redact(url))))?;
        let pool = Self::lazy_pool(options, settings);
        Ok(Self { pool, replica: None, sql: &SQL, inserts: &POSTGRES_INSERTS })
    }

    /// Sends the read routes to a read replica (a hot standby streaming from the primary) at `url`.
    pub fn with_read_replica(mut self, url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Failed(format!("bad read replica URL `{}`: {e}", crate::redact(url))))?;
        self.replica = Some(Self::lazy_pool(options, settings));
        Ok(self)
    }

    fn lazy_pool(options: PgConnectOptions, settings: &PoolSettings) -> sqlx::PgPool {
        PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection that fails its check is replaced instead of failing a request.
            .test_before_acquire(true)
            .connect_lazy_with(options)
    }

    /// The connection pool (tests and tools that inspect the tables).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// The primary alone, and the read replica's store if one is configured (`Database` routes
    /// the read routes between them: see `crate::replica`).
    pub(crate) fn split(&self) -> (PostgresStore, Option<PostgresStore>) {
        let alone = |pool: &sqlx::PgPool| PostgresStore { pool: pool.clone(), replica: None, ..self.clone() };
        (alone(&self.pool), self.replica.as_ref().map(alone))
    }

    /// The pool of the read routes. (A read replica is a store of its own, which
    /// `crate::replica::ReadReplica` puts in front of this one: see `split`.)
    fn reads(&self) -> &sqlx::PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => classify(inner),
            other => StoreError::Failed(format!("PostgreSQL migration failed: {other}")),
        })
    }
}

/// The (start, id) every row of a list page sorts before: the cursor, or `(to + 1, "")` (every id
/// is at least `""`, so this keeps exactly the starts up to `to`), whichever is smaller; neither:
/// past every real start.
fn list_bound(query: &ListQuery) -> (i64, String) {
    let to = (query.to.map_or(i64::MAX, |t| t.0.saturating_add(1)), "");
    match &query.after {
        Some(c) if (c.started_at.0, c.interaction_id.as_str()) < to => (c.started_at.0, c.interaction_id.clone()),
        _ => (to.0, String::new()),
    }
}

/// The values a list query binds after its subject (`$4`–`$9` of `sql::list_filters!`): media type,
/// status, lowest start, the (start, id) every row sorts before, limit.
pub(crate) fn list_binds(query: &ListQuery) -> (Option<&str>, Option<i64>, i64, i64, String, i64) {
    let (before_started, before_id) = list_bound(query);
    (
        query.media_type.as_deref(),
        query.status.map(i64::from),
        query.from.map_or(i64::MIN, |m| m.0),
        before_started,
        before_id,
        i64::from(query.limit),
    )
}

/// Rows of the tenants queries, folded into tenants with their environments.
pub(crate) fn fold_tenants(rows: Vec<(String, String, Option<String>, Option<bool>)>) -> Vec<Tenant> {
    let mut tenants: Vec<Tenant> = Vec::new();
    for (account_id, name, env, is_default) in rows {
        if tenants.last().is_none_or(|t| t.account_id != account_id) {
            tenants.push(Tenant { account_id, name, environments: Vec::new() });
        }
        if let (Some(name), Some(is_default), Some(t)) = (env, is_default, tenants.last_mut()) {
            t.environments.push(Environment { name, is_default });
        }
    }
    tenants
}

fn context_row<R: Row>(row: &R) -> ContextRow
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    ContextRow {
        interaction_id: row.get(0),
        customer_id: row.get(1),
        started_at: Millis(row.get(2)),
        ended_at: row.get::<Option<i64>, _>(3).map(Millis),
        context_json: row.get(4),
        has_plain_text: row.get(5),
        has_structured_text: row.get(6),
        structured_text_mime: row.get(7),
        has_binary_content: row.get(8),
    }
}

fn parse_scope(text: &str) -> StoreResult<Scope> {
    Scope::parse(text).ok_or_else(|| StoreError::Failed(format!("stored key has unknown scope `{text}`")))
}

/// The parts of a record that go into the interactions row as text.
struct RowParts {
    context_json: Option<String>,
    variable_sets_json: Option<String>,
}

fn row_parts(record: &InteractionRecord) -> StoreResult<RowParts> {
    let json =
        |v: &dyn erased::Json| v.to_json().map_err(|e| StoreError::Failed(format!("record does not serialize: {e}")));
    Ok(RowParts {
        context_json: record.context.as_ref().map(|c| json(c)).transpose()?,
        variable_sets_json: if record.variable_sets.is_empty() { None } else { Some(json(&record.variable_sets)?) },
    })
}

mod erased {
    /// Serialize behind a `dyn`, so `row_parts` can take either part through one closure.
    pub trait Json {
        fn to_json(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> serde_json::Result<String> {
            serde_json::to_string(self)
        }
    }
}

/// The child rows of a batch of records, gathered for multi-row INSERTs.
#[derive(Default)]
struct ChildRows<'r> {
    /// (interaction, seq, timestamp, canonical JSON)
    pages: Vec<(i64, i64, i64, String)>,
    /// (interaction, seq, kind, value, allocated at)
    attributes: Vec<(i64, i64, &'r str, &'r str, i64)>,
    /// (interaction, kind, partition, value, allocated at)
    current_attributes: Vec<(i64, &'r str, Partition<'r>, &'r str, i64)>,
    /// (interaction, service, partition, started at, interaction id)
    services: Vec<(i64, i64, Partition<'r>, i64, &'r str)>,
}

impl<'r> ChildRows<'r> {
    fn add(&mut self, pk: i64, at: Partition<'r>, record: &'r InteractionRecord) {
        let pages = record.pages.iter().enumerate();
        self.pages.extend(pages.map(|(seq, page)| (pk, seq as i64, page.timestamp, page.to_json())));
        let attributes = record.caller_attributes.iter().enumerate();
        self.attributes.extend(
            attributes.map(|(seq, a)| (pk, seq as i64, a.kind.as_str(), a.value.as_str(), a.allocated_at.0 .0)),
        );
        self.current_attributes.extend(
            current_allocations(&record.caller_attributes)
                .into_iter()
                .map(|a| (pk, a.kind.as_str(), at, a.value.as_str(), a.allocated_at.0 .0)),
        );
        let started_at = record.started_at.0 .0;
        self.services.extend(record.service_ids.iter().map(|&s| (pk, s, at, started_at, record.id.as_str())));
    }
}

/// Inserts `rows` with a [`RowInsert`](crate::sql::RowInsert)'s multi-row statements inside
/// `tx`, binding each row's values in column order with `bind`.
macro_rules! insert_rows {
    ($tx:ident, $insert:expr, $rows:expr, |$query:ident, $row:pat_param| $bind:expr) => {
        for (sql, chunk) in $insert.chunks($rows) {
            let mut $query = sqlx::query(sql);
            for $row in chunk {
                $query = $bind;
            }
            $query.execute(&mut *$tx).await.map_err(classify)?;
        }
    };
}

/// The one implementation of [`HistoryStore`], expanded for each backend's concrete types.
macro_rules! history_store {
    ($store:ty, $db:ty, $backend:literal) => {
        impl $store {
            /// Stores `batch` in one transaction: every record whole, or none. New interactions and
            /// all child rows go in multi-row INSERTs (see `ChildInserts`).
            async fn write_records(&self, batch: &[(Partition<'_>, &InteractionRecord)]) -> StoreResult<()> {
                // Of two records with one key, the later replaces the earlier whole: write only it.
                let records: Vec<(Partition<'_>, &InteractionRecord, RowParts)> = batch
                    .iter()
                    .enumerate()
                    .filter(|&(n, &(at, record))| {
                        !batch[n + 1..].iter().any(|&(later_at, later)| later_at == at && later.id == record.id)
                    })
                    .map(|(_, &(at, record))| Ok((at, record, row_parts(record)?)))
                    .collect::<StoreResult<_>>()?;
                let missing_partition = |e| match classify(e) {
                    StoreError::Missing(_) => {
                        let (at, _) = batch[0];
                        let which = if batch.len() == 1 {
                            format!("tenant `{}` with environment `{}`", at.tenant, at.environment)
                        } else {
                            "the tenant and environment of a record".to_string()
                        };
                        StoreError::Missing(which)
                    }
                    other => other,
                };
                let inserts = self.inserts;
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let mut keys: Vec<Option<i64>> = vec![None; records.len()];
                let mut offset = 0;
                for (sql, chunk) in inserts.interactions.chunks(&records) {
                    let mut query = sqlx::query(sql);
                    for (at, record, parts) in chunk {
                        query = Self::bind_interaction(query, *at, record, parts);
                    }
                    for row in query.fetch_all(&mut *tx).await.map_err(missing_partition)? {
                        let (pk, tenant, environment, id): (i64, &str, &str, &str) =
                            (row.get(0), row.get(1), row.get(2), row.get(3));
                        let n = chunk
                            .iter()
                            .position(|(at, r, _)| at.tenant == tenant && at.environment == environment && r.id == id)
                            .ok_or_else(|| {
                                StoreError::Failed(format!("the store returned an unknown interaction `{id}`"))
                            })?;
                        keys[offset + n] = Some(pk);
                    }
                    offset += chunk.len();
                }
                let mut children = ChildRows::default();
                for ((at, record, parts), key) in records.iter().zip(keys) {
                    let pk = match key {
                        Some(pk) => pk,
                        // Stored before: replaced, children and all.
                        None => {
                            let query =
                                Self::bind_interaction(sqlx::query(self.sql.upsert_interaction), *at, record, parts);
                            let pk: i64 = query.fetch_one(&mut *tx).await.map_err(missing_partition)?.get(0);
                            for clear in self.sql.clear_children {
                                sqlx::query(clear).bind(pk).execute(&mut *tx).await.map_err(classify)?;
                            }
                            pk
                        }
                    };
                    for photo in &record.photos {
                        sqlx::query(self.sql.insert_photo)
                            .bind(pk)
                            .bind(photo.path.as_str())
                            .bind(photo.mime.as_str())
                            .bind(photo.data.0.as_slice())
                            .execute(&mut *tx)
                            .await
                            .map_err(classify)?;
                    }
                    children.add(pk, *at, record);
                }
                insert_rows!(tx, inserts.pages, &children.pages, |q, (pk, seq, timestamp, body)| {
                    q.bind(*pk).bind(*seq).bind(*timestamp).bind(body.as_str())
                });
                insert_rows!(tx, inserts.attributes, &children.attributes, |q, &(pk, seq, kind, value, at)| {
                    q.bind(pk).bind(seq).bind(kind).bind(value).bind(at)
                });
                let current = &children.current_attributes;
                insert_rows!(tx, inserts.current_attributes, current, |q, &(pk, kind, p, value, at)| {
                    q.bind(pk).bind(kind).bind(p.tenant).bind(p.environment).bind(value).bind(at)
                });
                insert_rows!(tx, inserts.services, &children.services, |q, &(pk, service, p, started_at, id)| {
                    q.bind(pk).bind(service).bind(p.tenant).bind(p.environment).bind(started_at).bind(id)
                });
                tx.commit().await.map_err(classify)
            }

            /// Binds an interaction's row (`$1`–`$16` of `insert_interaction!`, or the next 16).
            fn bind_interaction<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                at: Partition<'q>,
                record: &'q InteractionRecord,
                parts: &'q RowParts,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                let context = record.context.as_ref();
                let content = record.content.as_ref();
                query
                    .bind(at.tenant)
                    .bind(at.environment)
                    .bind(record.id.as_str())
                    .bind(record.customer_id.as_deref())
                    .bind(record.started_at.0 .0)
                    .bind(record.ended_at.map(|d| d.0 .0))
                    .bind(record.last_activity().0)
                    .bind(context.and_then(|c| c.media_type.as_deref()))
                    .bind(context.and_then(|c| c.status).map(i64::from))
                    .bind(parts.context_json.as_deref())
                    .bind(content.and_then(|c| c.plain_text.as_deref()))
                    .bind(content.and_then(|c| c.structured_text.as_deref()))
                    .bind(content.and_then(|c| c.structured_text_mime.as_deref()))
                    .bind(content.and_then(|c| c.binary_content.as_ref()).map(|b| b.0.as_slice()))
                    .bind(content.and_then(|c| c.binary_content_mime.as_deref()))
                    .bind(parts.variable_sets_json.as_deref())
            }

            /// Locks an interaction for a live-feed write inside `tx` (the first statement of the
            /// transaction is a write, so concurrent writers to one interaction queue up): its key,
            /// start and end.
            async fn lock_for_write(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                at: Partition<'_>,
                interaction_id: &str,
            ) -> StoreResult<Option<(i64, i64, Option<i64>)>> {
                sqlx::query_as(self.sql.lock_interaction)
                    .bind(at.tenant)
                    .bind(at.environment)
                    .bind(interaction_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(classify)
            }
        }

        #[async_trait]
        impl HistoryStore for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_usage(&self) -> Option<ixgw_core::store::PoolUsage> {
                Some(ixgw_core::store::PoolUsage {
                    open: self.pool.size(),
                    idle: self.pool.num_idle() as u32,
                    max: self.pool.options().get_max_connections(),
                })
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(classify)
            }

            async fn create_tenant(&self, account_id: &str, name: &str, environments: &[String]) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(classify)?;
                sqlx::query(self.sql.insert_tenant)
                    .bind(account_id)
                    .bind(name)
                    .bind(Millis::now().0)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match classify(e) {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict(format!("tenant `{account_id}` (or the name `{name}`)"))
                        }
                        other => other,
                    })?;
                for (i, env) in environments.iter().enumerate() {
                    sqlx::query(self.sql.insert_environment)
                        .bind(account_id)
                        .bind(env.as_str())
                        .bind(i == 0)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)
            }

            async fn add_environment(&self, account_id: &str, environment: &str) -> StoreResult<()> {
                sqlx::query(self.sql.insert_environment)
                    .bind(account_id)
                    .bind(environment)
                    .bind(false)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| match classify(e) {
                        StoreError::Missing(_) => StoreError::Missing(format!("tenant `{account_id}`")),
                        other => other,
                    })
            }

            async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
                let rows = sqlx::query_as(self.sql.tenants).fetch_all(&self.pool).await.map_err(classify)?;
                Ok(fold_tenants(rows))
            }

            async fn tenant(&self, account_id_or_name: &str) -> StoreResult<Option<Tenant>> {
                let rows = sqlx::query_as(self.sql.tenant)
                    .bind(account_id_or_name)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(classify)?;
                Ok(fold_tenants(rows).pop())
            }

            async fn create_key(&self, key: &KeyRecord<'_>) -> StoreResult<()> {
                sqlx::query(self.sql.insert_key)
                    .bind(key.key_id)
                    .bind(key.digest.0.to_vec())
                    .bind(key.tenant)
                    .bind(key.environment)
                    .bind(key.scope.as_str())
                    .bind(key.created_at.0)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| match classify(e) {
                        StoreError::Missing(_) => StoreError::Missing(format!(
                            "tenant `{}` with environment `{}`",
                            key.tenant, key.environment
                        )),
                        StoreError::Conflict(_) => StoreError::Conflict("that key".to_string()),
                        other => other,
                    })
            }

            async fn keys(&self) -> StoreResult<Vec<KeyInfo>> {
                let rows: Vec<(String, String, String, String, i64, bool)> =
                    sqlx::query_as(self.sql.keys).fetch_all(&self.pool).await.map_err(classify)?;
                rows.into_iter()
                    .map(|(key_id, tenant, environment, scope, created_at, revoked)| {
                        Ok(KeyInfo {
                            key_id,
                            tenant,
                            environment,
                            scope: parse_scope(&scope)?,
                            created_at: Millis(created_at),
                            revoked,
                        })
                    })
                    .collect()
            }

            async fn revoke_key(&self, key_id: &str) -> StoreResult<bool> {
                let done = sqlx::query(self.sql.revoke_key)
                    .bind(key_id)
                    .bind(Millis::now().0)
                    .execute(&self.pool)
                    .await
                    .map_err(classify)?;
                Ok(done.rows_affected() > 0)
            }

            async fn key_by_digest(&self, digest: &KeyDigest) -> StoreResult<Option<StoredKey>> {
                let row: Option<(String, String, String, String, Vec<u8>, bool, String)> =
                    sqlx::query_as(self.sql.key_by_digest)
                        .bind(digest.0.to_vec())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(classify)?;
                row.map(|(key_id, tenant, environment, scope, stored, revoked, default_env)| {
                    Ok(StoredKey {
                        key_id,
                        tenant,
                        environment,
                        scope: parse_scope(&scope)?,
                        digest: KeyDigest::from_slice(&stored)
                            .ok_or_else(|| StoreError::Failed("stored key digest has the wrong length".into()))?,
                        revoked,
                        tenant_default_environment: default_env,
                    })
                })
                .transpose()
            }

            async fn put_interactions(
                &self,
                batch: &[(Partition<'_>, &InteractionRecord)],
            ) -> StoreResult<Vec<StoreResult<()>>> {
                if batch.len() > 1 {
                    match self.write_records(batch).await {
                        Ok(()) => return Ok(batch.iter().map(|_| Ok(())).collect()),
                        Err(e @ StoreError::Unavailable(_)) => return Err(e),
                        // A record was refused: store them one by one, to refuse only that one.
                        Err(_) => {}
                    }
                }
                let mut results = Vec::with_capacity(batch.len());
                for one in batch {
                    match self.write_records(std::slice::from_ref(one)).await {
                        Err(e @ StoreError::Unavailable(_)) => return Err(e),
                        result => results.push(result),
                    }
                }
                Ok(results)
            }

            async fn append_page(
                &self,
                at: Partition<'_>,
                interaction_id: &str,
                page: &Page,
            ) -> StoreResult<Result<PageAppended, LiveRefusal>> {
                let body = page.to_json();
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let locked = self.lock_for_write(&mut tx, at, interaction_id).await?;
                let Some((pk, _, _)) = locked else {
                    tx.rollback().await.map_err(classify)?;
                    return Ok(Err(LiveRefusal::UnknownInteraction));
                };
                let newest: Option<(i64, i64, String)> =
                    sqlx::query_as(self.sql.newest_page).bind(pk).fetch_optional(&mut *tx).await.map_err(classify)?;
                let index = match newest {
                    Some((timestamp, _, _)) if page.timestamp < timestamp => {
                        tx.rollback().await.map_err(classify)?;
                        return Ok(Err(LiveRefusal::PageOutOfOrder { newest: Millis(timestamp) }));
                    }
                    Some((_, seq, newest_body)) if newest_body == body => {
                        tx.rollback().await.map_err(classify)?;
                        return Ok(Ok(PageAppended { index: seq, added: false }));
                    }
                    Some((_, seq, _)) => seq + 1,
                    None => 0,
                };
                sqlx::query(self.sql.insert_page)
                    .bind(pk)
                    .bind(index)
                    .bind(page.timestamp)
                    .bind(body)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                sqlx::query(self.sql.page_activity)
                    .bind(pk)
                    .bind(page.timestamp)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(Ok(PageAppended { index, added: true }))
            }

            async fn allocate_attribute(
                &self,
                at: Partition<'_>,
                interaction_id: &str,
                attribute: &CallerAttribute,
            ) -> StoreResult<Result<AttributeAllocated, LiveRefusal>> {
                let (kind, value, allocated_at) =
                    (attribute.kind.as_str(), attribute.value.as_str(), attribute.allocated_at.0 .0);
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let locked = self.lock_for_write(&mut tx, at, interaction_id).await?;
                let Some((pk, _, _)) = locked else {
                    tx.rollback().await.map_err(classify)?;
                    return Ok(Err(LiveRefusal::UnknownInteraction));
                };
                let same = |sql| sqlx::query_scalar(sql).bind(pk).bind(kind).bind(value).bind(allocated_at);
                let recorded: i64 = same(self.sql.same_allocation).fetch_one(&mut *tx).await.map_err(classify)?;
                if recorded > 0 {
                    let current: i64 =
                        same(self.sql.is_current_allocation).fetch_one(&mut *tx).await.map_err(classify)?;
                    tx.rollback().await.map_err(classify)?;
                    return Ok(Ok(AttributeAllocated { added: false, current: current > 0 }));
                }
                let seq: i64 = sqlx::query_scalar(self.sql.next_attribute_seq)
                    .bind(pk)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(classify)?;
                sqlx::query(self.sql.insert_attribute)
                    .bind(pk)
                    .bind(seq)
                    .bind(kind)
                    .bind(value)
                    .bind(allocated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                let current = sqlx::query(self.sql.upsert_current_attribute)
                    .bind(pk)
                    .bind(kind)
                    .bind(at.tenant)
                    .bind(at.environment)
                    .bind(value)
                    .bind(allocated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?
                    .rows_affected()
                    > 0;
                tx.commit().await.map_err(classify)?;
                Ok(Ok(AttributeAllocated { added: true, current }))
            }

            async fn end_interaction(
                &self,
                at: Partition<'_>,
                interaction_id: &str,
                ended_at: Millis,
            ) -> StoreResult<Result<(), LiveRefusal>> {
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let locked = self.lock_for_write(&mut tx, at, interaction_id).await?;
                let pk = match locked {
                    Some((pk, started_at, _)) if ended_at.0 >= started_at => pk,
                    _ => {
                        tx.rollback().await.map_err(classify)?;
                        return Ok(Err(match locked {
                            Some((_, started_at, _)) => LiveRefusal::EndBeforeStart { started_at: Millis(started_at) },
                            None => LiveRefusal::UnknownInteraction,
                        }));
                    }
                };
                sqlx::query(self.sql.end_interaction)
                    .bind(pk)
                    .bind(ended_at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(Ok(()))
            }

            async fn erase(&self, target: EraseTarget<'_>) -> StoreResult<Erased> {
                let (sql, selection) = match target {
                    EraseTarget::Interaction(at, id) => {
                        (&self.sql.erase_interaction, Selection::Keyed(at.tenant, at.environment, id))
                    }
                    EraseTarget::Customer(at, customer) => {
                        (&self.sql.erase_customer, Selection::Keyed(at.tenant, at.environment, customer))
                    }
                    EraseTarget::InactiveBefore { cutoff, batch } => {
                        // Read outside the transaction (it only sizes the batch): a SQLite
                        // transaction that reads before it writes could not take the write lock.
                        let bound: Option<i64> = sqlx::query_scalar(self.sql.purge_bound)
                            .bind(cutoff.0)
                            .bind(i64::from(batch.max(1)) - 1)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(classify)?;
                        (&self.sql.erase_inactive, Selection::Inactive(cutoff.0, bound.unwrap_or(cutoff.0)))
                    }
                };
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let locked = bind_selection!(sqlx::query(sql.lock), selection)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?
                    .rows_affected();
                if locked == 0 {
                    tx.rollback().await.map_err(classify)?;
                    return Ok(Erased::default());
                }
                let mut erased = Erased::default();
                let rows: Vec<(i64, Option<String>)> = bind_selection!(sqlx::query_as(sql.summary), selection)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(classify)?;
                for (content_parts, variable_sets) in rows {
                    erased.content_parts += u64::try_from(content_parts).unwrap_or(0);
                    erased.variable_sets += count_variable_sets(variable_sets.as_deref())?;
                }
                let mut removed = [0u64; 5];
                for (count, statement) in removed.iter_mut().zip(sql.children) {
                    *count = bind_selection!(sqlx::query(statement), selection)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?
                        .rows_affected();
                }
                [erased.pages, erased.caller_attributes, erased.photos, erased.service_links, _] = removed;
                erased.interactions = bind_selection!(sqlx::query(sql.interactions), selection)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?
                    .rows_affected();
                tx.commit().await.map_err(classify)?;
                Ok(erased)
            }
        }
    };
}

/// Which interactions an erasure's statements select (see `sql::Erase`).
#[derive(Clone, Copy)]
enum Selection<'a> {
    /// Tenant, environment, and the interaction id or customer id.
    Keyed(&'a str, &'a str, &'a str),
    /// Last activity before the cut-off, and at or before the batch's bound.
    Inactive(i64, i64),
}

/// Binds an erasure's selection to one of its statements.
macro_rules! bind_selection {
    ($query:expr, $selection:expr) => {
        match $selection {
            Selection::Keyed(tenant, environment, value) => $query.bind(tenant).bind(environment).bind(value),
            Selection::Inactive(cutoff, bound) => $query.bind(cutoff).bind(bound),
        }
    };
}

/// The set called `name` of a stored `variable_sets_json`.
pub(crate) fn variable_set_named(json: Option<&str>, name: &str) -> StoreResult<Option<OrderedStrings>> {
    let Some(json) = json else { return Ok(None) };
    let mut sets: std::collections::BTreeMap<String, OrderedStrings> = serde_json::from_str(json)
        .map_err(|e| StoreError::Failed(format!("stored variable sets do not parse: {e}")))?;
    Ok(sets.remove(name))
}

/// How many sets a stored `variable_sets_json` holds.
fn count_variable_sets(json: Option<&str>) -> StoreResult<u64> {
    let Some(json) = json else { return Ok(0) };
    let sets: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| StoreError::Failed(format!("stored variable sets do not parse: {e}")))?;
    Ok(sets.len() as u64)
}

/// PostgreSQL's read routes, on the read replica's pool when there is one.
#[async_trait]
impl HistoryReads for PostgresStore {
    async fn flow(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>> {
        let sql = match target {
            FlowTarget::UniqueId(_) => self.sql.flow_by_id,
            FlowTarget::CallerAttribute(_) => self.sql.flow_by_attribute,
        };
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(sql)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(target.value())
            .bind(cutoff.0)
            .fetch_all(self.reads())
            .await
            .map_err(classify)?;
        let Some(interaction_id) = rows.first().map(|(id, _)| id.clone()) else {
            return Ok(None);
        };
        let bodies = rows.iter().filter_map(|(_, body)| body.as_deref());
        let mut flow = StoredFlow::new(interaction_id, bodies.clone().map(|b| b.len() + 1).sum());
        bodies.for_each(|body| flow.push_page(body));
        Ok(Some(flow))
    }

    async fn resolve(
        &self,
        at: Partition<'_>,
        target: FlowTarget<'_>,
        cutoff: Millis,
    ) -> StoreResult<Option<Resolved>> {
        let sql = match target {
            FlowTarget::UniqueId(_) => self.sql.resolve_by_id,
            FlowTarget::CallerAttribute(_) => self.sql.resolve_by_attribute,
        };
        let row: Option<(i64, String)> = sqlx::query_as(sql)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(target.value())
            .bind(cutoff.0)
            .fetch_optional(self.reads())
            .await
            .map_err(classify)?;
        Ok(row.map(|(key, interaction_id)| Resolved { key, interaction_id }))
    }

    async fn unique_id_for(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>> {
        sqlx::query_scalar(self.sql.unique_id_for)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(value)
            .bind(cutoff.0)
            .bind(kind.as_str())
            .fetch_optional(self.reads())
            .await
            .map_err(classify)
    }

    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        let json: Option<Option<String>> = sqlx::query_scalar(self.sql.variable_sets)
            .bind(interaction.key)
            .fetch_optional(self.reads())
            .await
            .map_err(classify)?;
        variable_set_named(json.flatten().as_deref(), name)
    }

    async fn photo(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>> {
        let row: Option<(String, Vec<u8>)> = sqlx::query_as(self.sql.photo)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(interaction_id)
            .bind(path)
            .fetch_optional(self.reads())
            .await
            .map_err(classify)?;
        Ok(row.map(|(mime, data)| StoredPhoto { mime, data }))
    }

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        let row = sqlx::query(self.sql.context_by_id)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(interaction_id)
            .fetch_optional(self.reads())
            .await
            .map_err(classify)?;
        Ok(row.as_ref().map(context_row))
    }

    async fn context_list(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>> {
        let q = match &query.subject {
            ListSubject::Customer(customer) => {
                sqlx::query(self.sql.context_by_customer).bind(at.tenant).bind(at.environment).bind(customer.clone())
            }
            ListSubject::Service(service) => {
                sqlx::query(self.sql.context_by_service).bind(at.tenant).bind(at.environment).bind(*service)
            }
        };
        let (media_type, status, from, before_started, before_id, limit) = list_binds(query);
        let rows = q
            .bind(media_type)
            .bind(status)
            .bind(from)
            .bind(before_started)
            .bind(before_id)
            .bind(limit)
            .fetch_all(self.reads())
            .await
            .map_err(classify)?;
        Ok(rows.iter().map(context_row).collect())
    }

    async fn content(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>> {
        let sql = self.sql.content[part as usize];
        let q = sqlx::query(sql).bind(at.tenant).bind(at.environment).bind(interaction_id);
        let row = q.fetch_optional(self.reads()).await.map_err(classify)?;
        Ok(row.map(|r| {
            let mime: Option<String> = r.get(0);
            let data = match part {
                ContentPart::BinaryContent => r.get::<Vec<u8>, _>(1),
                _ => r.get::<String, _>(1).into_bytes(),
            };
            ContentBlob { mime, data }
        }))
    }
}

history_store!(SqliteStore, sqlx::Sqlite, "sqlite");
history_store!(PostgresStore, sqlx::Postgres, "postgres");

#[allow(dead_code)]
fn assert_stores_are_shareable(s: SqliteStore, p: PostgresStore) -> [Arc<dyn HistoryStore>; 2] {
    [Arc::new(s), Arc::new(p)]
}
