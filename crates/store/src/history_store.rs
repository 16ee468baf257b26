//! The one implementation of the history store's writes, keys and tenants (`history_store!`),
//! expanded for SQLite and for PostgreSQL; their read routes are `sqlite_reads` and `postgres`.

use crate::classify;
use crate::rows::{count_variable_sets, fold_tenants, parse_scope, row_parts, ChildRows, RowParts};
use crate::{PostgresStore, SqliteStore};
use async_trait::async_trait;
use ixgw_core::model::page::Page;
use ixgw_core::model::record::{CallerAttribute, InteractionRecord};
use ixgw_core::model::tenancy::{KeyDigest, KeyInfo, StoredKey, Tenant};
use ixgw_core::store::{
    AttributeAllocated, EraseTarget, Erased, HistoryStore, KeyRecord, LiveRefusal, PageAppended, Partition,
};
use ixgw_core::{Millis, StoreError, StoreResult};
use sqlx::Row;

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
            /// A transaction on a connection of [`Self::connection`].
            async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, $db>> {
                sqlx::Transaction::begin(self.connection().await?, None).await.map_err(classify)
            }

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
                let mut tx = self.begin().await?;
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
                sqlx::query("SELECT 1").execute(&mut *self.connection().await?).await.map(|_| ()).map_err(classify)
            }

            async fn create_tenant(&self, account_id: &str, name: &str, environments: &[String]) -> StoreResult<()> {
                let mut tx = self.begin().await?;
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
                    .execute(&mut *self.connection().await?)
                    .await
                    .map(|_| ())
                    .map_err(|e| match classify(e) {
                        StoreError::Missing(_) => StoreError::Missing(format!("tenant `{account_id}`")),
                        other => other,
                    })
            }

            async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
                let rows = sqlx::query_as(self.sql.tenants)
                    .fetch_all(&mut *self.connection().await?)
                    .await
                    .map_err(classify)?;
                Ok(fold_tenants(rows))
            }

            async fn tenant(&self, account_id_or_name: &str) -> StoreResult<Option<Tenant>> {
                let rows = sqlx::query_as(self.sql.tenant)
                    .bind(account_id_or_name)
                    .fetch_all(&mut *self.connection().await?)
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
                    .execute(&mut *self.connection().await?)
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
                    sqlx::query_as(self.sql.keys).fetch_all(&mut *self.connection().await?).await.map_err(classify)?;
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
                    .execute(&mut *self.connection().await?)
                    .await
                    .map_err(classify)?;
                Ok(done.rows_affected() > 0)
            }

            async fn key_by_digest(&self, digest: &KeyDigest) -> StoreResult<Option<StoredKey>> {
                let row: Option<(String, String, String, String, Vec<u8>, bool, String)> =
                    sqlx::query_as(self.sql.key_by_digest)
                        .bind(digest.0.to_vec())
                        .fetch_optional(&mut *self.connection().await?)
                        .await
                        .map_err(classify)?;
                row.map(|(key_id, tenant, environment, scope, stored, revoked, default_env)| {
                    Ok(StoredKey {
                        key_id: key_id.into(),
                        tenant: tenant.into(),
                        environment: environment.into(),
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
                let mut tx = self.begin().await?;
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
                let mut tx = self.begin().await?;
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
                let mut tx = self.begin().await?;
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
                            .fetch_optional(&mut *self.connection().await?)
                            .await
                            .map_err(classify)?;
                        (&self.sql.erase_inactive, Selection::Inactive(cutoff.0, bound.unwrap_or(cutoff.0)))
                    }
                };
                let mut tx = self.begin().await?;
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

history_store!(SqliteStore, sqlx::Sqlite, "sqlite");
history_store!(PostgresStore, sqlx::Postgres, "postgres");
