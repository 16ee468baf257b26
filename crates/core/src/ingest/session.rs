//! Storing framed records: parsed, placed in a partition, and stored in batches (each record whole
//! or absent), the next batch parsed while the last is stored.

use super::Frame;
use crate::error::StoreError;
use crate::model::record::{InteractionRecord, RecordError};
use crate::model::tenancy::Tenant;
use crate::service::{placement, HistoryService};
use crate::store::Partition;
use std::collections::HashMap;

/// Why a record was not stored.
#[derive(Debug)]
pub enum Rejection {
    Invalid(RecordError),
    /// The store refused it (a conflict, a constraint); the import goes on.
    Store(StoreError),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "$: {e}"),
        }
    }
}

impl Rejection {
    /// The member path and reason to show a remote client. Invalid records say exactly what is
    /// wrong; a store refusal says only what the client can act on (the detail is for the log).
    pub fn public(&self) -> (String, String) {
        match self {
            Self::Invalid(e) => (e.path.clone(), e.placed_reason()),
            Self::Store(e @ StoreError::Missing(_)) => ("$".into(), e.to_string()),
            Self::Store(_) => ("$".into(), "the store refused the record".into()),
        }
    }
}

/// What became of one record of a stream.
#[derive(Debug)]
pub struct Outcome {
    /// 1-based line the record starts on.
    pub line: usize,
    /// The stored interaction's id, or why the record was not stored.
    pub result: Result<String, Rejection>,
}

/// Records stored per transaction by default: one commit and one multi-row INSERT per table for
/// many records is what makes a bulk import fast. A batch that fails is stored again record by
/// record, so a refused record costs only itself.
pub const BATCH_RECORDS: usize = 128;
/// A batch is also flushed at this much record text, so memory stays bounded with large records.
pub const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Stores records in batches, remembering the tenants it has looked up. Feed it frames with
/// [`add`](Self::add) and end with [`flush`](Self::flush); each returns the outcomes of the
/// records it stored, in stream order. While one batch is being stored, the next is parsed: the
/// store's round trips and the parsing overlap.
pub struct ImportSession<'a> {
    service: &'a HistoryService,
    placer: Placer,
    batch_records: usize,
    batch_bytes: usize,
    pending: Vec<Frame>,
    pending_bytes: usize,
    /// Parsed, not yet stored.
    parsed: Parsed,
}

/// Where records go: the session's rules, and the tenants looked up so far.
struct Placer {
    tenants: HashMap<String, Option<Tenant>>,
    /// Every record goes to this tenant (`ixgw import --tenant`), whatever it says.
    tenant_override: Option<String>,
    /// Every record goes to this partition (an ingest key's); a record naming another tenant or
    /// environment is rejected, not moved.
    bound: Option<(String, String)>,
    /// Moves every date by this much before storing (the demo's "keep it recent").
    shift_ms: i64,
}

/// A parsed batch: an outcome per frame (rejected, or the id it will be stored under), and the
/// records to store with the outcome each one settles.
#[derive(Default)]
struct Parsed {
    outcomes: Vec<Outcome>,
    placed: Vec<(usize, Placed)>,
}

/// A record ready to store, with the partition it goes to.
struct Placed {
    tenant: String,
    environment: String,
    record: InteractionRecord,
}

/// Why a record was not placed.
enum NotPlaced {
    /// The record is refused; the stream goes on.
    Rejected(Rejection),
    /// The store did not answer the tenant's lookup; the stream stops.
    StoreFailed(StoreError),
}

impl From<RecordError> for NotPlaced {
    fn from(invalid: RecordError) -> Self {
        Self::Rejected(Rejection::Invalid(invalid))
    }
}

impl<'a> ImportSession<'a> {
    pub fn new(service: &'a HistoryService) -> Self {
        Self {
            service,
            placer: Placer { tenants: HashMap::new(), tenant_override: None, bound: None, shift_ms: 0 },
            batch_records: BATCH_RECORDS,
            batch_bytes: BATCH_BYTES,
            pending: Vec::new(),
            pending_bytes: 0,
            parsed: Parsed::default(),
        }
    }

    pub fn for_tenant(mut self, tenant: Option<String>) -> Self {
        self.placer.tenant_override = tenant;
        self
    }

    /// Binds every record to a key's tenant and environment (the ingest API). A record may repeat
    /// them; naming others rejects it (`tenant` / `environment`).
    pub fn bound_to(mut self, tenant: &str, environment: &str) -> Self {
        self.placer.bound = Some((tenant.to_string(), environment.to_string()));
        self
    }

    pub fn shifted_by(mut self, shift_ms: i64) -> Self {
        self.placer.shift_ms = shift_ms;
        self
    }

    /// Batches of at most `records` records and `bytes` of record text (at least one record).
    pub fn in_batches_of(mut self, records: usize, bytes: usize) -> Self {
        (self.batch_records, self.batch_bytes) = (records.max(1), bytes);
        self
    }

    /// Queues one record as the splitter framed it; once a batch is full, stores the batch parsed
    /// before it while parsing this one. `Err` only when the store is unavailable: the stream
    /// should stop there.
    pub async fn add(&mut self, frame: Frame) -> Result<Vec<Outcome>, StoreError> {
        self.pending_bytes += frame.text.as_ref().map_or(0, String::len);
        self.pending.push(frame);
        if self.pending.len() >= self.batch_records || self.pending_bytes >= self.batch_bytes {
            self.cycle().await
        } else {
            Ok(Vec::new())
        }
    }

    /// Stores every record queued so far. `Err` only when the store is unavailable.
    pub async fn flush(&mut self) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = self.cycle().await?;
        outcomes.extend(store(self.service, std::mem::take(&mut self.parsed)).await?);
        Ok(outcomes)
    }

    /// Stores the parsed batch and parses the queued one, at the same time.
    async fn cycle(&mut self) -> Result<Vec<Outcome>, StoreError> {
        let frames = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let parsed = std::mem::take(&mut self.parsed);
        let (stored, next) =
            futures_util::future::join(store(self.service, parsed), self.placer.parse(self.service, frames)).await;
        self.parsed = next?;
        stored
    }
}

/// Stores a parsed batch: its outcomes, with the records the store refused marked so.
async fn store(service: &HistoryService, parsed: Parsed) -> Result<Vec<Outcome>, StoreError> {
    let Parsed { mut outcomes, placed } = parsed;
    if placed.is_empty() {
        return Ok(outcomes);
    }
    let batch: Vec<(Partition<'_>, &InteractionRecord)> =
        placed.iter().map(|(_, p)| (Partition { tenant: &p.tenant, environment: &p.environment }, &p.record)).collect();
    let stored = service.store_records(&batch).await?;
    for ((slot, _), result) in placed.iter().zip(stored) {
        if let Err(refused) = result {
            outcomes[*slot].result = Err(Rejection::Store(refused));
        }
    }
    Ok(outcomes)
}

impl Placer {
    /// Parses and places a batch, yielding after each record so that a store joined with it
    /// (the previous batch's) goes on with its round trips meanwhile.
    async fn parse(&mut self, service: &HistoryService, frames: Vec<Frame>) -> Result<Parsed, StoreError> {
        let mut parsed = Parsed { outcomes: Vec::with_capacity(frames.len()), placed: Vec::new() };
        for frame in frames {
            let result = match frame.text {
                Ok(text) => self.place(service, &text).await,
                Err(invalid) => Err(NotPlaced::from(invalid)),
            };
            let result = result.map_err(|e| match e {
                NotPlaced::Rejected(Rejection::Invalid(e)) => {
                    NotPlaced::Rejected(Rejection::Invalid(e.in_stream(frame.line, frame.column)))
                }
                other => other,
            });
            match result {
                Ok(placed) => {
                    parsed.outcomes.push(Outcome { line: frame.line, result: Ok(placed.record.id.clone()) });
                    parsed.placed.push((parsed.outcomes.len() - 1, placed));
                }
                Err(NotPlaced::Rejected(rejection)) => {
                    parsed.outcomes.push(Outcome { line: frame.line, result: Err(rejection) })
                }
                Err(NotPlaced::StoreFailed(failure)) => return Err(failure),
            }
            YieldNow(false).await;
        }
        Ok(parsed)
    }

    /// Parses and validates one record's text and chooses its partition.
    async fn place(&mut self, service: &HistoryService, text: &str) -> Result<Placed, NotPlaced> {
        let mut record = InteractionRecord::from_json(text)?;
        if self.shift_ms != 0 {
            record.shift_dates(self.shift_ms);
        }
        let at = if let Some((tenant, environment)) = &self.bound {
            bound_placement(&record, tenant, environment)?
        } else {
            let wanted = self.tenant_override.clone().or_else(|| record.tenant.clone()).unwrap_or_default();
            if !self.tenants.contains_key(&wanted) {
                let tenant = if wanted.is_empty() {
                    None
                } else {
                    service
                        .store()
                        .tenant(&wanted)
                        .await
                        .map_err(NotPlaced::StoreFailed)?
                        .filter(|t| t.account_id == wanted)
                };
                self.tenants.insert(wanted.clone(), tenant);
            }
            let tenant = self.tenants.get(&wanted).and_then(Option::as_ref);
            placement(&record, tenant, self.tenant_override.as_deref())?
        };
        let (tenant, environment) = (at.tenant.to_string(), at.environment.to_string());
        Ok(Placed { tenant, environment, record })
    }
}

/// Returns `Pending` once (waking itself at once): a joined future gets polled in between.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The partition of a record under a key bound to `tenant` and `environment`.
fn bound_placement<'a>(
    record: &InteractionRecord,
    tenant: &'a str,
    environment: &'a str,
) -> Result<Partition<'a>, RecordError> {
    if record.tenant.as_deref().is_some_and(|t| t != tenant) {
        return Err(RecordError::new("tenant", format!("this key writes to tenant `{tenant}` only")));
    }
    if record.environment.as_deref().is_some_and(|e| e != environment) {
        return Err(RecordError::new("environment", format!("this key writes to environment `{environment}` only")));
    }
    Ok(Partition { tenant, environment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_key_keeps_records_in_its_partition() {
        let record = |json: &str| InteractionRecord::from_json(json).unwrap();
        let bare = record(r#"{"id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&bare, "t1", "prod"), Ok(Partition { tenant: "t1", environment: "prod" }));
        let same =
            record(r#"{"tenant": "t1", "environment": "prod", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&same, "t1", "prod"), Ok(Partition { tenant: "t1", environment: "prod" }));
        let other_tenant = record(r#"{"tenant": "t2", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        let e = bound_placement(&other_tenant, "t1", "prod").unwrap_err();
        assert_eq!((e.path.as_str(), e.reason.contains("`t1` only")), ("tenant", true), "{e}");
        assert!(!e.reason.contains("t2"), "the answer says nothing about the other tenant: {e}");
        let other_env = record(r#"{"environment": "staging", "id": "a", "started_at": "2026-01-01T00:00:00Z"}"#);
        assert_eq!(bound_placement(&other_env, "t1", "prod").unwrap_err().path, "environment");
    }

    #[test]
    fn store_failures_are_not_shown_to_clients() {
        let invalid = Rejection::Invalid(RecordError::new("pages[0].timestamp", "out of order"));
        assert_eq!(invalid.public(), ("pages[0].timestamp".to_string(), "out of order".to_string()));
        let failed = Rejection::Store(StoreError::Failed("relation \"pages\" violates constraint xyz".into()));
        assert_eq!(failed.public(), ("$".to_string(), "the store refused the record".to_string()));
        assert!(failed.to_string().contains("xyz"), "the operator's CLI sees the detail");
    }
}
