//! Failing fast while the store is down.
//!
//! A request that finds the database unreachable waits for a connection until the pool gives up
//! (`database.acquire_timeout_ms`, 2 s by default). During an outage every request would wait that
//! long, and under load they pile up. [`FailFast`] wraps a store: once a call finds the store
//! unavailable, the calls that follow answer `Unavailable` at once, except one *probe* per
//! [`FailFast::probe_every`], which goes through; the first call that reaches the store again closes
//! the gate. `ping` (readiness) always goes through and counts as a probe.

use crate::ordered::OrderedStrings;
use crate::page::Page;
use crate::record::{CallerAttribute, CallerAttributeKind, InteractionRecord};
use crate::store::{
    AttributeAllocated, ContentBlob, ContentPart, ContextRow, EraseTarget, Erased, FlowTarget, HistoryReads,
    HistoryStore, KeyRecord, ListQuery, LiveRefusal, PageAppended, Partition, PoolUsage, Resolved, StoredFlow,
    StoredPhoto,
};
use crate::tenancy::{KeyDigest, KeyInfo, StoredKey, Tenant};
use crate::{Millis, StoreError, StoreResult};
use async_trait::async_trait;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// "The store is up" in [`Gate::retry_at`].
const UP: u64 = 0;

/// The state shared by every clone: when the next probe may go through (milliseconds since
/// `origin`, plus one so that 0 means "up").
struct Gate {
    origin: Instant,
    retry_at: AtomicU64,
    probe_every: Duration,
}

impl Gate {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64 + 1
    }

    /// Whether a call may go to the store: the store is up, or this call is the next probe.
    fn admit(&self) -> bool {
        let retry_at = self.retry_at.load(Ordering::Acquire);
        if retry_at == UP {
            return true;
        }
        let now = self.now();
        // One caller wins the probe; the others fail fast until the next one is due.
        now >= retry_at
            && self
                .retry_at
                .compare_exchange(
                    retry_at,
                    now + self.probe_every.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
    }

    fn record<T>(&self, result: &StoreResult<T>) {
        match result {
            Err(StoreError::Unavailable(_)) => {
                let next = self.now() + self.probe_every.as_millis() as u64;
                // Keep a later probe time if a concurrent probe set one.
                self.retry_at.fetch_max(next, Ordering::AcqRel);
            }
            _ => self.retry_at.store(UP, Ordering::Release),
        }
    }
}

/// A store that fails fast while its database is unreachable (see the module's documentation).
#[derive(Clone)]
pub struct FailFast {
    inner: Arc<dyn HistoryStore>,
    gate: Arc<Gate>,
}

impl FailFast {
    /// The default time between probes while the store is down.
    pub const PROBE_EVERY: Duration = Duration::from_millis(250);

    pub fn new(inner: Arc<dyn HistoryStore>, probe_every: Duration) -> Self {
        let gate = Gate { origin: Instant::now(), retry_at: AtomicU64::new(UP), probe_every };
        Self { inner, gate: Arc::new(gate) }
    }

    pub fn probe_every(&self) -> Duration {
        self.gate.probe_every
    }

    async fn call<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        if !self.gate.admit() {
            return Err(StoreError::Unavailable("the store was unreachable moments ago".into()));
        }
        let result = call.await;
        self.gate.record(&result);
        result
    }
}

#[async_trait]
impl HistoryReads for FailFast {
    async fn flow(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>> {
        self.call(self.inner.flow(at, target, cutoff)).await
    }

    async fn resolve(
        &self,
        at: Partition<'_>,
        target: FlowTarget<'_>,
        cutoff: Millis,
    ) -> StoreResult<Option<Resolved>> {
        self.call(self.inner.resolve(at, target, cutoff)).await
    }

    async fn unique_id_for(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>> {
        self.call(self.inner.unique_id_for(at, kind, value, cutoff)).await
    }

    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        self.call(self.inner.variable_set(interaction, name)).await
    }

    async fn photo(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>> {
        self.call(self.inner.photo(at, interaction_id, path)).await
    }

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        self.call(self.inner.context_interaction(at, interaction_id)).await
    }

    async fn context_list(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>> {
        self.call(self.inner.context_list(at, query)).await
    }

    async fn content(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>> {
        self.call(self.inner.content(at, interaction_id, part)).await
    }
}

#[async_trait]
impl HistoryStore for FailFast {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn pool_usage(&self) -> Option<PoolUsage> {
        self.inner.pool_usage()
    }

    async fn ping(&self) -> StoreResult<()> {
        let result = self.inner.ping().await;
        self.gate.record(&result);
        result
    }

    async fn create_tenant(&self, account_id: &str, name: &str, environments: &[String]) -> StoreResult<()> {
        self.call(self.inner.create_tenant(account_id, name, environments)).await
    }

    async fn add_environment(&self, account_id: &str, environment: &str) -> StoreResult<()> {
        self.call(self.inner.add_environment(account_id, environment)).await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.call(self.inner.tenants()).await
    }

    async fn tenant(&self, account_id_or_name: &str) -> StoreResult<Option<Tenant>> {
        self.call(self.inner.tenant(account_id_or_name)).await
    }

    async fn create_key(&self, key: &KeyRecord<'_>) -> StoreResult<()> {
        self.call(self.inner.create_key(key)).await
    }

    async fn keys(&self) -> StoreResult<Vec<KeyInfo>> {
        self.call(self.inner.keys()).await
    }

    async fn revoke_key(&self, key_id: &str) -> StoreResult<bool> {
        self.call(self.inner.revoke_key(key_id)).await
    }

    async fn key_by_digest(&self, digest: &KeyDigest) -> StoreResult<Option<StoredKey>> {
        self.call(self.inner.key_by_digest(digest)).await
    }

    async fn put_interactions(
        &self,
        batch: &[(Partition<'_>, &InteractionRecord)],
    ) -> StoreResult<Vec<StoreResult<()>>> {
        self.call(self.inner.put_interactions(batch)).await
    }

    async fn append_page(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        page: &Page,
    ) -> StoreResult<Result<PageAppended, LiveRefusal>> {
        self.call(self.inner.append_page(at, interaction_id, page)).await
    }

    async fn allocate_attribute(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        attribute: &CallerAttribute,
    ) -> StoreResult<Result<AttributeAllocated, LiveRefusal>> {
        self.call(self.inner.allocate_attribute(at, interaction_id, attribute)).await
    }

    async fn end_interaction(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        ended_at: Millis,
    ) -> StoreResult<Result<(), LiveRefusal>> {
        self.call(self.inner.end_interaction(at, interaction_id, ended_at)).await
    }

    async fn erase(&self, target: EraseTarget<'_>) -> StoreResult<Erased> {
        self.call(self.inner.erase(target)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(probe_ms: u64) -> Gate {
        Gate { origin: Instant::now(), retry_at: AtomicU64::new(UP), probe_every: Duration::from_millis(probe_ms) }
    }

    fn down() -> StoreResult<()> {
        Err(StoreError::Unavailable("refused".into()))
    }

    #[test]
    fn up_admits_everything() {
        let g = gate(50);
        assert!((0..10).all(|_| g.admit()));
        g.record(&Ok(()));
        assert!(g.admit());
        // Failures that are not about reachability do not close the gate.
        g.record::<()>(&Err(StoreError::Failed("syntax".into())));
        assert!(g.admit());
    }

    #[test]
    fn down_admits_one_probe_per_interval_and_the_first_success_reopens() {
        let g = gate(50);
        g.record(&down());
        assert!(!g.admit() && !g.admit(), "fail fast right after a failure");
        std::thread::sleep(Duration::from_millis(60));
        assert!(g.admit(), "the probe goes through");
        assert!(!g.admit(), "only one probe per interval");
        g.record(&down());
        assert!(!g.admit());
        std::thread::sleep(Duration::from_millis(60));
        assert!(g.admit());
        g.record(&Ok(()));
        assert!((0..10).all(|_| g.admit()), "back up: everything goes through");
    }
}
