//! The storage contract: what the history queries need from a database, and nothing more.
//!
//! Implementations (SQLite, PostgreSQL) live in the store crate; one contract test suite holds both
//! to the same answers. Every read is bound to a [`Partition`] (tenant and environment), so tenancy
//! cannot be forgotten by a caller, and every lookup is meant to be served by an index.

use crate::error::StoreResult;
use crate::model::ordered::OrderedStrings;
use crate::model::page::Page;
use crate::model::record::{CallerAttribute, CallerAttributeKind, InteractionRecord};
use crate::model::tenancy::{KeyDigest, KeyInfo, Scope, StoredKey, Tenant};
use crate::model::time::Millis;
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

/// The pages of a found interaction, in navigation order, as one JSON array of each page's
/// canonical JSON (rendered from the typed page model when the page was stored). The store builds
/// it once, as it reads the pages: the REST face sends the array as it is, other faces read the
/// pages out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    pub interaction_id: String,
    /// `[` and the pages, comma-separated; `]` is added by [`StoredFlow::into_json_array`].
    json: String,
    pages: Vec<std::ops::Range<usize>>,
}

/// The pages [`StoredFlow::new`] makes room for before the first: more grow the list as needed.
const EXPECTED_PAGES: usize = 16;

impl StoredFlow {
    /// A flow with no pages yet; `capacity`: the bytes its pages are expected to take.
    pub fn new(interaction_id: String, capacity: usize) -> Self {
        let mut json = String::with_capacity(capacity + 2);
        json.push('[');
        // Room for a typical flow's pages at once (growing from empty took three allocations).
        Self { interaction_id, json, pages: Vec::with_capacity(EXPECTED_PAGES) }
    }

    /// Appends the next page, as its canonical JSON.
    pub fn push_page(&mut self, page_json: &str) {
        if !self.pages.is_empty() {
            self.json.push(',');
        }
        let start = self.json.len();
        self.json.push_str(page_json);
        self.pages.push(start..self.json.len());
    }

    /// Each page's canonical JSON, in order.
    pub fn pages(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.pages.iter().map(|range| &self.json[range.clone()])
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// No pages: the vendor's "EMPTY" history.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The pages as one JSON array (`[]` when there are none).
    pub fn into_json_array(mut self) -> String {
        self.json.push(']');
        self.json
    }
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

impl ListQuery {
    /// The first page of `subject`'s list, no filter: the vendor's own request.
    pub fn first_page(subject: ListSubject, limit: u32) -> Self {
        Self { subject, media_type: None, status: None, from: None, to: None, after: None, limit }
    }
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

/// Why a live-feed write was refused. Nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveRefusal {
    /// No interaction with that id in the partition.
    UnknownInteraction,
    /// The page is older than the interaction's newest page.
    PageOutOfOrder { newest: Millis },
    /// The end is before the interaction's start.
    EndBeforeStart { started_at: Millis },
}

/// A page appended by the live feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageAppended {
    /// 0-based position of the page in the flow.
    pub index: i64,
    /// `false`: the newest page was this very page already (a retried request); nothing changed.
    pub added: bool,
}

/// A caller attribute allocated by the live feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeAllocated {
    /// `false`: the interaction had this very allocation already (a retried request).
    pub added: bool,
    /// Whether it is now the allocation that counts for its kind (it is at least as new as the
    /// previous current one).
    pub current: bool,
}

/// What an erasure or purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseTarget<'a> {
    /// One interaction.
    Interaction(Partition<'a>, &'a str),
    /// Every interaction of one customer.
    Customer(Partition<'a>, &'a str),
    /// Interactions of every tenant whose last activity is before `cutoff`: one batch of about
    /// `batch` interactions (more when many share a last-activity instant). Call until it removes
    /// nothing.
    InactiveBefore { cutoff: Millis, batch: u32 },
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub interactions: u64,
    pub pages: u64,
    pub caller_attributes: u64,
    pub photos: u64,
    pub variable_sets: u64,
    /// Content parts: plain text, structured text, binary content.
    pub content_parts: u64,
    /// Links to Context Services service ids.
    pub service_links: u64,
}

impl Erased {
    pub fn add(&mut self, other: Erased) {
        self.interactions += other.interactions;
        self.pages += other.pages;
        self.caller_attributes += other.caller_attributes;
        self.photos += other.photos;
        self.variable_sets += other.variable_sets;
        self.content_parts += other.content_parts;
        self.service_links += other.service_links;
    }
}

impl std::fmt::Display for Erased {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} interactions, {} pages, {} caller attributes, {} photos, {} variable sets, {} content parts, {} service links",
            self.interactions,
            self.pages,
            self.caller_attributes,
            self.photos,
            self.variable_sets,
            self.content_parts,
            self.service_links
        )
    }
}

/// Connections of a store's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The store's reads of the read routes (flows, lookups, Context Services). A trait of their own,
/// so that each backend serves them its fastest way (SQLite on the request's own thread, PostgreSQL
/// on a read replica when there is one) while one implementation of everything else serves both.
#[async_trait]
pub trait HistoryReads: Send + Sync + 'static {
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

#[async_trait]
pub trait HistoryStore: HistoryReads {
    /// `sqlite` or `postgres`, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// How many connections the store holds (for metrics); `None` if it has no pool.
    fn pool_usage(&self) -> Option<PoolUsage> {
        None
    }

    /// Whether the database answers (readiness; with a read replica, the primary: whether writes
    /// can be taken).
    async fn ping(&self) -> StoreResult<()>;

    /// Whether the read routes can be answered: the same as [`HistoryStore::ping`] for one database;
    /// with a read replica, the standby or, while it is down, the primary.
    async fn ping_reads(&self) -> StoreResult<()> {
        self.ping().await
    }

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

    /// Stores validated records, each whole, replacing any interaction with the same
    /// (tenant, environment, id): atomic per record, idempotent, in order (of two records with one
    /// key, the later wins). Records share a transaction where they can, which is what makes bulk
    /// import fast. One result per record; `Err` when the store is unavailable, and then any
    /// record of the batch may be stored (whole) or not.
    async fn put_interactions(
        &self,
        batch: &[(Partition<'_>, &InteractionRecord)],
    ) -> StoreResult<Vec<StoreResult<()>>>;

    /// One record: `put_interactions` of one.
    async fn put_interaction(&self, at: Partition<'_>, record: &InteractionRecord) -> StoreResult<()> {
        self.put_interactions(&[(at, record)]).await?.pop().unwrap_or(Ok(()))
    }

    /// Appends a page to an existing interaction, in one transaction: refused if it is older than
    /// the newest page; the interaction's last activity moves to it unless the interaction ended.
    async fn append_page(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        page: &Page,
    ) -> StoreResult<Result<PageAppended, LiveRefusal>>;
    /// Records an allocation of a caller attribute, in one transaction; it becomes the current one
    /// for its kind when it is at least as new as the current one.
    async fn allocate_attribute(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        attribute: &CallerAttribute,
    ) -> StoreResult<Result<AttributeAllocated, LiveRefusal>>;
    /// Marks an interaction completed at `ended_at` (its last activity), in one transaction.
    async fn end_interaction(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        ended_at: Millis,
    ) -> StoreResult<Result<(), LiveRefusal>>;
    /// Removes interactions with everything they hold, in one transaction, and says what went.
    async fn erase(&self, target: EraseTarget<'_>) -> StoreResult<Erased>;
}
