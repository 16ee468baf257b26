//! One list of the [`HistoryStore`](ixgw_core::HistoryStore) methods for the stores that wrap
//! others ([`FailFast`](crate::health::FailFast), [`ReadReplica`](crate::replica::ReadReplica)),
//! so that each wrapper says only how it routes a call.

/// Implements `HistoryStore` and `HistoryReads` for `$wrapper`: every read route's call (flows,
/// lookups, variable sets, photos, Context Services, and `ping_reads`) is `$read!(self, store =>
/// call)`, the lookups that authenticate a request (a key by its digest, a tenant by id or name)
/// `$auth!(self, store => call)`, and every other call (readiness, the tenant list, key management,
/// writes, erasure) `$write!(self, store => call)`, the macro binding `store` to the inner store it
/// chooses and awaiting the call. `backend` and `pool_usage` are those of `self.$main`.
macro_rules! delegate_history_store {
    ($wrapper:ty, main: $main:ident, read: $read:ident, auth: $auth:ident, write: $write:ident) => {
        #[async_trait::async_trait]
        impl ixgw_core::HistoryStore for $wrapper {
            fn backend(&self) -> &'static str {
                self.$main.backend()
            }

            fn pool_usage(&self) -> Option<ixgw_core::store::PoolUsage> {
                self.$main.pool_usage()
            }

            async fn ping(&self) -> ixgw_core::StoreResult<()> {
                $write!(self, s => s.ping())
            }

            async fn ping_reads(&self) -> ixgw_core::StoreResult<()> {
                $read!(self, s => s.ping_reads())
            }

            async fn create_tenant(
                &self,
                account_id: &str,
                name: &str,
                environments: &[String],
            ) -> ixgw_core::StoreResult<()> {
                $write!(self, s => s.create_tenant(account_id, name, environments))
            }

            async fn add_environment(&self, account_id: &str, environment: &str) -> ixgw_core::StoreResult<()> {
                $write!(self, s => s.add_environment(account_id, environment))
            }

            async fn tenants(&self) -> ixgw_core::StoreResult<Vec<ixgw_core::model::tenancy::Tenant>> {
                $write!(self, s => s.tenants())
            }

            async fn tenant(
                &self,
                account_id_or_name: &str,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::model::tenancy::Tenant>> {
                $auth!(self, s => s.tenant(account_id_or_name))
            }

            async fn create_key(&self, key: &ixgw_core::store::KeyRecord<'_>) -> ixgw_core::StoreResult<()> {
                $write!(self, s => s.create_key(key))
            }

            async fn keys(&self) -> ixgw_core::StoreResult<Vec<ixgw_core::model::tenancy::KeyInfo>> {
                $write!(self, s => s.keys())
            }

            async fn revoke_key(&self, key_id: &str) -> ixgw_core::StoreResult<bool> {
                $write!(self, s => s.revoke_key(key_id))
            }

            async fn key_by_digest(
                &self,
                digest: &ixgw_core::model::tenancy::KeyDigest,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::model::tenancy::StoredKey>> {
                $auth!(self, s => s.key_by_digest(digest))
            }

            async fn put_interactions(
                &self,
                batch: &[(ixgw_core::Partition<'_>, &ixgw_core::model::record::InteractionRecord)],
            ) -> ixgw_core::StoreResult<Vec<ixgw_core::StoreResult<()>>> {
                $write!(self, s => s.put_interactions(batch))
            }

            async fn append_page(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
                page: &ixgw_core::model::page::Page,
            ) -> ixgw_core::StoreResult<Result<ixgw_core::store::PageAppended, ixgw_core::store::LiveRefusal>> {
                $write!(self, s => s.append_page(at, interaction_id, page))
            }

            async fn allocate_attribute(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
                attribute: &ixgw_core::model::record::CallerAttribute,
            ) -> ixgw_core::StoreResult<
                Result<ixgw_core::store::AttributeAllocated, ixgw_core::store::LiveRefusal>,
            > {
                $write!(self, s => s.allocate_attribute(at, interaction_id, attribute))
            }

            async fn end_interaction(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
                ended_at: ixgw_core::Millis,
            ) -> ixgw_core::StoreResult<Result<(), ixgw_core::store::LiveRefusal>> {
                $write!(self, s => s.end_interaction(at, interaction_id, ended_at))
            }

            async fn erase(
                &self,
                target: ixgw_core::store::EraseTarget<'_>,
            ) -> ixgw_core::StoreResult<ixgw_core::store::Erased> {
                $write!(self, s => s.erase(target))
            }

        }

        #[async_trait::async_trait]
        impl ixgw_core::store::HistoryReads for $wrapper {
            async fn flow(
                &self,
                at: ixgw_core::Partition<'_>,
                target: ixgw_core::FlowTarget<'_>,
                cutoff: ixgw_core::Millis,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::store::StoredFlow>> {
                $read!(self, s => s.flow(at, target, cutoff))
            }

            async fn resolve(
                &self,
                at: ixgw_core::Partition<'_>,
                target: ixgw_core::FlowTarget<'_>,
                cutoff: ixgw_core::Millis,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::store::Resolved>> {
                $read!(self, s => s.resolve(at, target, cutoff))
            }

            async fn unique_id_for(
                &self,
                at: ixgw_core::Partition<'_>,
                kind: ixgw_core::model::record::CallerAttributeKind,
                value: &str,
                cutoff: ixgw_core::Millis,
            ) -> ixgw_core::StoreResult<Option<String>> {
                $read!(self, s => s.unique_id_for(at, kind, value, cutoff))
            }

            async fn variable_set(
                &self,
                interaction: &ixgw_core::store::Resolved,
                name: &str,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::model::ordered::OrderedStrings>> {
                $read!(self, s => s.variable_set(interaction, name))
            }

            async fn photo(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
                path: &str,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::store::StoredPhoto>> {
                $read!(self, s => s.photo(at, interaction_id, path))
            }

            async fn context_interaction(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::store::ContextRow>> {
                $read!(self, s => s.context_interaction(at, interaction_id))
            }

            async fn context_list(
                &self,
                at: ixgw_core::Partition<'_>,
                query: &ixgw_core::store::ListQuery,
            ) -> ixgw_core::StoreResult<Vec<ixgw_core::store::ContextRow>> {
                $read!(self, s => s.context_list(at, query))
            }

            async fn content(
                &self,
                at: ixgw_core::Partition<'_>,
                interaction_id: &str,
                part: ixgw_core::store::ContentPart,
            ) -> ixgw_core::StoreResult<Option<ixgw_core::store::ContentBlob>> {
                $read!(self, s => s.content(at, interaction_id, part))
            }
        }
    };
}

/// A store for the wrappers' tests: an SQLite store that can be made slow or unavailable, and counts
/// its calls.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{PoolSettings, SqliteStore};
    use ixgw_core::store::{FlowTarget, Partition, StoredFlow};
    use ixgw_core::{HistoryStore, Millis, StoreError, StoreResult};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    pub struct Flaky {
        inner: SqliteStore,
        _dir: tempfile::TempDir,
        down: AtomicBool,
        delay_ms: AtomicU64,
        pub calls: AtomicU64,
    }

    impl Flaky {
        pub async fn new() -> Arc<Self> {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("flaky.db").display());
            let inner = SqliteStore::connect(&url, &PoolSettings::default()).await.unwrap();
            inner.migrate().await.unwrap();
            let (down, delay_ms, calls) = (AtomicBool::new(false), AtomicU64::new(0), AtomicU64::new(0));
            Arc::new(Self { inner, _dir: dir, down, delay_ms, calls })
        }

        pub fn set_down(&self, down: bool) {
            self.down.store(down, Ordering::SeqCst);
        }

        pub fn set_delay_ms(&self, ms: u64) {
            self.delay_ms.store(ms, Ordering::SeqCst);
        }

        pub fn calls(&self) -> u64 {
            self.calls.load(Ordering::SeqCst)
        }

        /// What every call meets first: the delay, then the outage.
        async fn before(&self) -> StoreResult<()> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("refused".into()));
            }
            Ok(())
        }
    }

    macro_rules! flaky {
        ($this:ident, $store:ident => $call:expr) => {{
            $this.before().await?;
            let $store = &$this.inner;
            $call.await
        }};
    }

    delegate_history_store!(Flaky, main: inner, read: flaky, auth: flaky, write: flaky);

    /// A read route's call.
    pub async fn flow(store: &dyn HistoryStore) -> StoreResult<Option<StoredFlow>> {
        store.flow(Partition { tenant: "t", environment: "e" }, FlowTarget::UniqueId("x"), Millis(0)).await
    }
}
