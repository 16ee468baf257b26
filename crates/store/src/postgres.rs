//! The PostgreSQL backend: its connections (and a read replica's), migrations, and its read
//! routes through sqlx.

use crate::hosts::Servers;
use crate::rows::{context_row, list_binds, variable_set_named};
use crate::sql::{ChildInserts, Sql, SQL};
use crate::{classify, PoolSettings};
use async_trait::async_trait;
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::record::CallerAttributeKind;
use ixgw_core::store::{
    ContentBlob, ContentPart, ContextRow, FlowTarget, HistoryReads, ListQuery, ListSubject, Partition, Resolved,
    StoredFlow, StoredPhoto,
};
use ixgw_core::{Millis, StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPoolOptions;
use sqlx::Row;
use std::sync::{Arc, LazyLock};

static POSTGRES_INSERTS: LazyLock<ChildInserts> = LazyLock::new(|| ChildInserts::new(|sql| sql));

#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: sqlx::PgPool,
    /// The servers `pool` may connect to (libpq's multi-host form: `crate::hosts`).
    pub(crate) servers: Arc<Servers>,
    /// A read replica's pool (and its servers) for the read routes (flows, lookups, Context
    /// Services), when one is configured; `split` makes it a store of its own. Keys, tenants, writes
    /// and erasure use `pool`, the primary (keys and tenants the standby while the primary is
    /// unavailable: see `crate::replica`).
    pub(crate) replica: Option<(sqlx::PgPool, Arc<Servers>)>,
    pub(crate) sql: &'static Sql,
    pub(crate) inserts: &'static ChildInserts,
    /// Each connection attempt's time to answer (a request's, `connection`; each server's when
    /// the servers are looked through before migrating).
    connect_timeout: std::time::Duration,
}

impl PostgresStore {
    /// Connects (lazily) to `url`: one server, or several in libpq's multi-host form.
    pub fn connect(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let servers = Servers::parse(url)
            .map_err(|e| StoreError::Failed(format!("bad PostgreSQL URL `{}`: {e}", crate::redact(url))))?;
        let (pool, servers) = Self::lazy_pool(servers, settings);
        Ok(Self {
            pool,
            servers,
            replica: None,
            sql: &SQL,
            inserts: &POSTGRES_INSERTS,
            connect_timeout: settings.connect_timeout,
        })
    }

    /// Sends the read routes to a read replica (a hot standby streaming from the primary) at `url`.
    pub fn with_read_replica(mut self, url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let servers = Servers::parse(url)
            .map_err(|e| StoreError::Failed(format!("bad read replica URL `{}`: {e}", crate::redact(url))))?;
        self.replica = Some(Self::lazy_pool(servers, settings));
        Ok(self)
    }

    fn lazy_pool(servers: Servers, settings: &PoolSettings) -> (sqlx::PgPool, Arc<Servers>) {
        let servers = Arc::new(servers);
        let mut options = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection that fails its check is replaced instead of failing a request.
            .test_before_acquire(true);
        if servers.checks_role() {
            let check = servers.clone();
            options = options.after_connect(move |connection, _| {
                let check = check.clone();
                Box::pin(async move { check.check(connection).await })
            });
        }
        (options.connect_lazy_with(servers.first()), servers)
    }

    /// The connection pool (tests and tools that inspect the tables).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// The servers the pool may connect to.
    pub(crate) fn servers(&self) -> &Arc<Servers> {
        &self.servers
    }

    /// The primary alone, and the read replica's store if one is configured (`Database` routes
    /// the read routes between them: see `crate::replica`).
    pub(crate) fn split(&self) -> (PostgresStore, Option<PostgresStore>) {
        let alone = |pool: &sqlx::PgPool, servers: &Arc<Servers>| PostgresStore {
            pool: pool.clone(),
            servers: servers.clone(),
            replica: None,
            ..self.clone()
        };
        (alone(&self.pool, &self.servers), self.replica.as_ref().map(|(pool, servers)| alone(pool, servers)))
    }

    /// A pooled connection, each new one given `connect_timeout` (see `crate::acquire`).
    pub(crate) async fn connection(&self) -> StoreResult<PoolConnection<sqlx::Postgres>> {
        crate::acquire(&self.pool, self.connect_timeout).await.map_err(classify)
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        // Several servers: migrate the one that fits (the background probe does this for requests).
        if self.servers.checks_role() {
            match self.servers.find(self.connect_timeout).await {
                Ok(found) if !crate::hosts::same_server(&self.pool.connect_options(), found) => {
                    self.pool.set_connect_options(found.clone())
                }
                Ok(_) => {}
                Err(why) => {
                    return Err(StoreError::Unavailable(format!(
                        "no server fits target_session_attrs={}: {why}",
                        self.servers.target().as_str()
                    )))
                }
            }
        }
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => classify(inner),
            other => StoreError::Failed(format!("PostgreSQL migration failed: {other}")),
        })
    }
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
            .fetch_all(&mut *self.connection().await?)
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
            .fetch_optional(&mut *self.connection().await?)
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
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(classify)
    }

    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        let json: Option<Option<String>> = sqlx::query_scalar(self.sql.variable_sets)
            .bind(interaction.key)
            .fetch_optional(&mut *self.connection().await?)
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
            .fetch_optional(&mut *self.connection().await?)
            .await
            .map_err(classify)?;
        Ok(row.map(|(mime, data)| StoredPhoto { mime, data }))
    }

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        let row = sqlx::query(self.sql.context_by_id)
            .bind(at.tenant)
            .bind(at.environment)
            .bind(interaction_id)
            .fetch_optional(&mut *self.connection().await?)
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
            .fetch_all(&mut *self.connection().await?)
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
        let row = q.fetch_optional(&mut *self.connection().await?).await.map_err(classify)?;
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
