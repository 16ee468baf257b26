//! The storage contract: what the history queries need from a database, and nothing more.
//!
//! Implementations (SQLite, PostgreSQL) live in the store crate; one contract test suite holds both
//! to the same answers. Every read is bound to a [`Partition`] (tenant and environment), so tenancy
//! cannot be forgotten by a caller, and every lookup is meant to be served by an index.

use crate::error::StoreResult;
use crate::ordered::OrderedStrings;
use crate::record::{CallerAttributeKind, InteractionRecord};
use crate::tenancy::{KeyDigest, KeyInfo, Scope, StoredKey, Tenant};
use crate::time::Millis;
use async_trait::async_trait;

/// The tenant and environment a query or write is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition<'a> {
    pub tenant: &'a str,
    pub environment: &'a str,
}

/// How an Interact request names its interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowTarget<'a> {
    /// By the interaction's unique id.
    UniqueId(&'a str),
    /// By a value matched against every caller-attribute kind (see `attributes`).
    CallerAttribute(&'a str),
}

impl FlowTarget<'_> {
    pub fn value(&self) -> &str {
        match self {
            Self::UniqueId(v) | Self::CallerAttribute(v) => v,
        }
    }
}

/// An interaction found by a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The store's own key of the interaction, valid for follow-up reads of the same request.
    pub key: i64,
    pub interaction_id: String,
}

/// The pages of a found interaction, each as its canonical JSON (rendered from the typed page model
/// when the page was stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    pub interaction_id: String,
    pub pages_json: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    pub mime: String,
    pub data: Vec<u8>,
}

/// The three content parts of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentPart {
    PlainText,
    StructuredText,
    BinaryContent,
}

impl ContentPart {
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::PlainText => "plain_text",
            Self::StructuredText => "structured_text",
            Self::BinaryContent => "binary_content",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentBlob {
    pub mime: Option<String>,
    pub data: Vec<u8>,
}

/// What a Context Services listing or lookup needs of an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRow {
    pub interaction_id: String,
    pub customer_id: Option<String>,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    /// The canonical JSON of the record's `context`, if it had one.
    pub context_json: Option<String>,
    pub has_plain_text: bool,
    pub has_structured_text: bool,
    pub structured_text_mime: Option<String>,
    pub has_binary_content: bool,
}

/// Which interactions a Context Services list is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSubject {
    Customer(String),
    Service(i64),
}

/// Position after the last row of a page: lists are ordered newest start first, then greatest id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub started_at: Millis,
    pub interaction_id: String,
}

/// A Context Services list query: the vendor's (a subject) plus the gateway's optional filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub subject: ListSubject,
    pub media_type: Option<String>,
    pub status: Option<i32>,
    /// Inclusive lower bound on the start.
    pub from: Option<Millis>,
    /// Inclusive upper bound on the start.
    pub to: Option<Millis>,
    pub after: Option<ListCursor>,
    pub limit: u32,
}

/// A new application key, as stored.
#[derive(Debug, Clone)]
pub struct KeyRecord<'a> {
    pub key_id: &'a str,
    pub digest: &'a KeyDigest,
    pub tenant: &'a str,
    pub environment: &'a str,
    pub scope: Scope,
    pub created_at: Millis,
}

#[async_trait]
pub trait HistoryStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Whether the database answers (readiness).
    async fn ping(&self) -> StoreResult<()>;

    // --- tenancy -------------------------------------------------------------------------------

    /// Creates a tenant with its environments; the first is its default. `Conflict` if it exists.
    async fn create_tenant(&self, account_id: &str, name: &str, environments: &[String]) -> StoreResult<()>;
    /// Adds an environment to an existing tenant (no-op if it has it already).
    async fn add_environment(&self, account_id: &str, environment: &str) -> StoreResult<()>;
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// A tenant by account id, or else by name.
    async fn tenant(&self, account_id_or_name: &str) -> StoreResult<Option<Tenant>>;

    async fn create_key(&self, key: &KeyRecord<'_>) -> StoreResult<()>;
    async fn keys(&self) -> StoreResult<Vec<KeyInfo>>;
    /// Marks a key revoked; `false` if there is no such key.
    async fn revoke_key(&self, key_id: &str) -> StoreResult<bool>;
    async fn key_by_digest(&self, digest: &KeyDigest) -> StoreResult<Option<StoredKey>>;

    // --- writes --------------------------------------------------------------------------------

    /// Stores a validated record whole, replacing any interaction with the same
    /// (tenant, environment, id): atomic and idempotent.
    async fn put_interaction(&self, at: Partition<'_>, record: &InteractionRecord) -> StoreResult<()>;

    // --- Interact reads ------------------------------------------------------------------------

    /// The pages of the interaction `target` names, if its last activity is at or after `cutoff`.
    /// One round trip. `Some` with no pages is the "EMPTY" history.
    async fn flow(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>>;
    /// The interaction `target` names, under the same window rule.
    async fn resolve(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis)
        -> StoreResult<Option<Resolved>>;
    /// The newest interaction whose current allocation of `kind` is `value` (same window and ties).
    async fn unique_id_for(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>>;
    /// One variable set of a resolved interaction.
    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>>;
    /// A photo of an interaction, by the path the pages use.
    async fn photo(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>>;

    // --- Context Services reads ----------------------------------------------------------------

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>>;
    /// One page of a list, at most `query.limit` rows.
    async fn context_list(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>>;
    async fn content(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>>;
}
