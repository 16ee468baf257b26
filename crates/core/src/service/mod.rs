//! The one query service every protocol face calls: authentication, tenancy, windows and lookups
//! live here and nowhere else. Its writes besides whole records are in `writes`; the short memory
//! of keys and tenants that spares a read its extra round trips is `key_cache`.

pub mod key_cache;
pub mod writes;

use crate::error::{AuthFailure, HistoryError, StoreError};
use crate::model::ordered::OrderedStrings;
use crate::model::page::Page;
use crate::model::record::{CallerAttributeKind, InteractionRecord, RecordError};
use crate::model::tenancy::{KeyDigest, Principal, Scope, StoredKey, Tenant};
use crate::model::time::Millis;
use crate::resources::summary::{summarize, SummaryPage};
use crate::rules::window::SearchWindow;
use crate::service::key_cache::{KeyCache, TenantCache};
use crate::store::{
    ContentBlob, ContentPart, ContextRow, FlowTarget, HistoryStore, ListQuery, ListSubject, Partition, StoredFlow,
    StoredPhoto,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The source of "now", replaceable in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Credentials as a request presented them (any of them may be missing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub key: Option<&'a str>,
    pub environment: Option<&'a str>,
}

/// What the store can serve now ([`HistoryService::readiness`]).
#[derive(Debug)]
pub struct Readiness {
    /// The read routes (flows, lookups, Context Services, key checks).
    pub reads: Result<(), StoreError>,
    /// Writes (ingest, imports, erasure, key management).
    pub writes: Result<(), StoreError>,
}

#[derive(Clone)]
pub struct HistoryService {
    store: Arc<dyn HistoryStore>,
    clock: Clock,
    keys: Arc<KeyCache>,
    tenants: Arc<TenantCache>,
}

/// A digest no key has: compared against when a presented key is unknown, so that known and
/// unknown keys cost the same.
const NO_KEY: KeyDigest = KeyDigest([0u8; 32]);

impl HistoryService {
    pub fn new(store: Arc<dyn HistoryStore>) -> Self {
        Self::with_clock(store, Arc::new(Utc::now))
    }

    pub fn with_clock(store: Arc<dyn HistoryStore>, clock: Clock) -> Self {
        Self {
            store,
            clock,
            keys: Arc::new(KeyCache::new(Duration::ZERO)),
            tenants: Arc::new(TenantCache::new(Duration::ZERO)),
        }
    }

    /// Remembers each key and tenant the store returns for `ttl` (see [`KeyCache`]): a revoked key
    /// then stops working within `ttl`. Zero (the default) asks the store on every request.
    pub fn with_key_cache(mut self, ttl: Duration) -> Self {
        self.keys = Arc::new(KeyCache::new(ttl));
        self.tenants = Arc::new(TenantCache::new(ttl));
        self
    }

    pub fn store(&self) -> &Arc<dyn HistoryStore> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Readiness: whether the store answers (with a read replica, the primary: writes can be
    /// taken).
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// What can be served now: writes need the primary; reads, the primary or a standby.
    pub async fn readiness(&self) -> Readiness {
        match self.store.ping().await {
            Ok(()) => Readiness { reads: Ok(()), writes: Ok(()) },
            Err(writes) => Readiness { reads: self.store.ping_reads().await, writes: Err(writes) },
        }
    }

    // --- authentication ------------------------------------------------------------------------

    /// The Interact rule: `Tenant-Id` must be present and equal the account in the path, then the
    /// key must be a live key of that tenant, for the environment asked (else the default), with a
    /// scope that allows `needed`.
    pub async fn authenticate_account(
        &self,
        account_in_path: &str,
        tenant_header: Option<&str>,
        credentials: Credentials<'_>,
        needed: Scope,
    ) -> Result<Principal, HistoryError> {
        let tenant =
            tenant_header.filter(|t| !t.is_empty()).ok_or(HistoryError::Unauthenticated(AuthFailure::MissingTenant))?;
        if credentials.key.is_none_or(str::is_empty) {
            return Err(HistoryError::Unauthenticated(AuthFailure::MissingKey));
        }
        if tenant != account_in_path {
            return Err(HistoryError::Unauthenticated(AuthFailure::TenantMismatch));
        }
        self.authenticate(tenant, credentials, needed).await
    }

    /// Checks a key for a tenant already chosen by the request.
    pub async fn authenticate(
        &self,
        tenant: &str,
        credentials: Credentials<'_>,
        needed: Scope,
    ) -> Result<Principal, HistoryError> {
        self.verify_key(Some(tenant), credentials, needed).await
    }

    /// The gateway's own rule (ingest API): the key alone fixes tenant and environment. An
    /// environment the request names must be the key's.
    pub async fn authenticate_key(
        &self,
        credentials: Credentials<'_>,
        needed: Scope,
    ) -> Result<Principal, HistoryError> {
        self.verify_key(None, credentials, needed).await
    }

    /// The one key check. `tenant`: the tenant the request chose (the key must be one of its, and
    /// an unnamed environment means the tenant's default); `None`: the key's own tenant and
    /// environment. A key checked against the store less than the key cache's time ago is
    /// answered from memory; one that asks the store does it in a span of its own (a trace's
    /// "key check"; no key, digest or tag in it): a remembered key costs a hash, not a span.
    async fn verify_key(
        &self,
        tenant: Option<&str>,
        credentials: Credentials<'_>,
        needed: Scope,
    ) -> Result<Principal, HistoryError> {
        use tracing::Instrument;
        let key =
            credentials.key.filter(|k| !k.is_empty()).ok_or(HistoryError::Unauthenticated(AuthFailure::MissingKey))?;
        // A remembered key was put under its tag only after its digest matched (below).
        let tag = self.keys.tag(key);
        if let Some(remembered) = self.keys.key(tag) {
            return admit(Some(&remembered), tenant, credentials, needed);
        }
        let span = tracing::debug_span!(
            "key check",
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty
        );
        let checked = async {
            let presented = KeyDigest::of(key);
            let fetched = self.store.key_by_digest(&presented).await?;
            let matches = presented.matches(fetched.as_ref().map_or(&NO_KEY, |s| &s.digest));
            let fetched = fetched.filter(|_| matches).map(Arc::new);
            if let Some(key) = &fetched {
                self.keys.put_key(tag, key);
            }
            admit(fetched.as_deref(), tenant, credentials, needed)
        }
        .instrument(span.clone())
        .await;
        if let Err(e) = &checked {
            let kind = match e {
                HistoryError::Unauthenticated(_) => "unauthenticated",
                HistoryError::StoreUnavailable(_) => "store_unavailable",
                _ => "failed",
            };
            span.record("error.type", kind);
            span.record("otel.status_code", "error");
        }
        checked
    }

    /// The Context Services rule for choosing a tenant: the `ContactCenterId` header (account id or
    /// name), else the configured default tenant.
    pub async fn context_tenant(
        &self,
        contact_center_id: Option<&str>,
        default: Option<&str>,
    ) -> Result<Arc<Tenant>, HistoryError> {
        let wanted = contact_center_id.or(default).ok_or(HistoryError::NoTenant)?;
        if let Some(remembered) = self.tenants.get(wanted) {
            return Ok(remembered);
        }
        let tenant = self.store.tenant(wanted).await?.ok_or_else(|| HistoryError::UnknownTenant(wanted.to_string()))?;
        let tenant = Arc::new(tenant);
        self.tenants.put(wanted.to_string(), tenant.clone());
        Ok(tenant)
    }

    // --- Interact queries ----------------------------------------------------------------------

    fn cutoff(&self, window: SearchWindow) -> Millis {
        window.cutoff(self.now())
    }

    fn not_found(target: FlowTarget<'_>) -> HistoryError {
        match target {
            FlowTarget::UniqueId(id) => HistoryError::UniqueIdNotFound(id.to_string()),
            FlowTarget::CallerAttribute(v) => HistoryError::AttributeNotFound(v.to_string()),
        }
    }

    /// The full flow, each page as its canonical JSON. No pages: the vendor's "EMPTY".
    pub async fn full_flow_json(
        &self,
        who: &Principal,
        target: FlowTarget<'_>,
        window: SearchWindow,
    ) -> Result<StoredFlow, HistoryError> {
        if !can_be_stored(target.value()) {
            return Err(Self::not_found(target));
        }
        self.store.flow(partition(who), target, self.cutoff(window)).await?.ok_or_else(|| Self::not_found(target))
    }

    /// The full flow as typed pages (for renderers other than JSON).
    pub async fn full_flow(
        &self,
        who: &Principal,
        target: FlowTarget<'_>,
        window: SearchWindow,
    ) -> Result<(String, Vec<Page>), HistoryError> {
        let flow = self.full_flow_json(who, target, window).await?;
        let pages = flow
            .pages()
            .map(serde_json::from_str)
            .collect::<Result<Vec<Page>, _>>()
            .map_err(|e| HistoryError::Internal(StoreError::Failed(format!("stored page does not parse: {e}"))))?;
        Ok((flow.interaction_id, pages))
    }

    pub async fn summary(
        &self,
        who: &Principal,
        target: FlowTarget<'_>,
        window: SearchWindow,
    ) -> Result<Vec<SummaryPage>, HistoryError> {
        let (_, pages) = self.full_flow(who, target, window).await?;
        Ok(summarize(&pages))
    }

    pub async fn variable_set(
        &self,
        who: &Principal,
        target: FlowTarget<'_>,
        set: &str,
        window: SearchWindow,
    ) -> Result<OrderedStrings, HistoryError> {
        if !can_be_stored(target.value()) {
            return Err(Self::not_found(target));
        }
        let found = self
            .store
            .resolve(partition(who), target, self.cutoff(window))
            .await?
            .ok_or_else(|| Self::not_found(target))?;
        self.store.variable_set(&found, set).await?.ok_or_else(|| HistoryError::VariableSetNotFound(set.to_string()))
    }

    /// A photo by interaction and path. Photos have no window: a path comes from a flow the caller
    /// already read.
    pub async fn photo(&self, who: &Principal, interaction_id: &str, path: &str) -> Result<StoredPhoto, HistoryError> {
        if !can_be_stored(interaction_id) || !can_be_stored(path) {
            return Err(HistoryError::PhotoNotFound);
        }
        self.store.photo(partition(who), interaction_id, path).await?.ok_or(HistoryError::PhotoNotFound)
    }

    pub async fn unique_id(
        &self,
        who: &Principal,
        kind: CallerAttributeKind,
        value: &str,
        window: SearchWindow,
    ) -> Result<String, HistoryError> {
        if !can_be_stored(value) {
            return Err(HistoryError::AttributeNotFound(value.to_string()));
        }
        self.store
            .unique_id_for(partition(who), kind, value, self.cutoff(window))
            .await?
            .ok_or_else(|| HistoryError::AttributeNotFound(value.to_string()))
    }

    // --- Context Services queries --------------------------------------------------------------

    pub async fn context_interaction(&self, who: &Principal, interaction_id: &str) -> Result<ContextRow, HistoryError> {
        if !can_be_stored(interaction_id) {
            return Err(HistoryError::InteractionNotFound(interaction_id.to_string()));
        }
        self.store
            .context_interaction(partition(who), interaction_id)
            .await?
            .ok_or_else(|| HistoryError::InteractionNotFound(interaction_id.to_string()))
    }

    pub async fn context_list(&self, who: &Principal, query: &ListQuery) -> Result<Vec<ContextRow>, HistoryError> {
        let customer = match &query.subject {
            ListSubject::Customer(c) => Some(c.as_str()),
            ListSubject::Service(_) => None,
        };
        let texts = [customer, query.media_type.as_deref(), query.after.as_ref().map(|a| a.interaction_id.as_str())];
        if texts.into_iter().flatten().any(|t| !can_be_stored(t)) {
            return Ok(Vec::new());
        }
        Ok(self.store.context_list(partition(who), query).await?)
    }

    pub async fn content(
        &self,
        who: &Principal,
        interaction_id: &str,
        part: ContentPart,
    ) -> Result<ContentBlob, HistoryError> {
        if !can_be_stored(interaction_id) {
            return Err(HistoryError::ContentNotFound { id: interaction_id.to_string(), part: part.path_segment() });
        }
        self.store
            .content(partition(who), interaction_id, part)
            .await?
            .ok_or_else(|| HistoryError::ContentNotFound { id: interaction_id.to_string(), part: part.path_segment() })
    }

    // --- writes --------------------------------------------------------------------------------

    /// Stores validated records for tenants and environments that must exist: one result per
    /// record (see [`HistoryStore::put_interactions`]).
    pub async fn store_records(
        &self,
        batch: &[(Partition<'_>, &InteractionRecord)],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.store.put_interactions(batch).await
    }
}

/// Whether a looked-up value could be stored at all. PostgreSQL text cannot hold NUL, and asking
/// for it fails the query: such a value is simply not there, on every backend alike.
pub(crate) fn can_be_stored(value: &str) -> bool {
    !value.contains('\0')
}

/// Where a principal's reads and writes go.
pub fn partition(who: &Principal) -> Partition<'_> {
    Partition { tenant: &who.tenant, environment: &who.environment }
}

/// Chooses the tenant and environment a record is stored under: `tenant_override` (an ingest key's)
/// wins over the record's own; the environment defaults to the tenant's default. Both must exist.
pub fn placement<'a>(
    record: &'a InteractionRecord,
    tenant: Option<&'a Tenant>,
    tenant_override: Option<&'a str>,
) -> Result<Partition<'a>, RecordError> {
    let wanted =
        tenant_override.or(record.tenant.as_deref()).ok_or_else(|| RecordError::new("tenant", "is required"))?;
    let tenant = tenant.filter(|t| t.account_id == wanted).ok_or_else(|| {
        RecordError::new("tenant", format!("unknown tenant `{wanted}` (create it first: ixgw tenant add {wanted})"))
    })?;
    let environment = match record.environment.as_deref() {
        Some(e) => tenant.environments.iter().find(|env| env.name == e).map(|env| env.name.as_str()).ok_or_else(|| {
            RecordError::new(
                "environment",
                format!("tenant `{wanted}` has no environment `{e}` (add it: ixgw tenant add {wanted} --environment {e})"),
            )
        })?,
        None => tenant.default_environment().ok_or_else(|| RecordError::new("environment", "tenant has no default environment"))?,
    };
    Ok(Partition { tenant: &tenant.account_id, environment })
}

/// The principal `stored` (the key presented, if the store holds it) gives, if it may do what is
/// `needed` for `tenant` in the environment the credentials name.
fn admit(
    stored: Option<&StoredKey>,
    tenant: Option<&str>,
    credentials: Credentials<'_>,
    needed: Scope,
) -> Result<Principal, HistoryError> {
    let stored = match stored {
        // A key of another tenant is as unknown as no key: nothing tells that tenant exists.
        Some(s) if tenant.is_none_or(|t| *s.tenant == *t) => s,
        _ => return Err(HistoryError::Unauthenticated(AuthFailure::UnknownKey)),
    };
    if stored.revoked {
        return Err(HistoryError::Unauthenticated(AuthFailure::RevokedKey));
    }
    let unnamed: &str = if tenant.is_some() { &stored.tenant_default_environment } else { &stored.environment };
    let environment = credentials.environment.filter(|e| !e.is_empty()).unwrap_or(unnamed);
    if *environment != *stored.environment {
        return Err(HistoryError::Unauthenticated(AuthFailure::UnknownEnvironment));
    }
    if !stored.scope.permits(needed) {
        return Err(HistoryError::Unauthenticated(AuthFailure::ScopeNotAllowed));
    }
    Ok(Principal {
        tenant: stored.tenant.clone(),
        environment: stored.environment.clone(),
        scope: stored.scope,
        key_id: stored.key_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_with_nul_cannot_be_stored() {
        assert!(super::can_be_stored("040100713") && super::can_be_stored("") && super::can_be_stored("ü /%"));
        assert!(!super::can_be_stored("x\0y") && !super::can_be_stored("\0"));
    }
}
