//! The write side of the service besides whole records (`ingest`): the live feed (one page, one
//! caller-attribute allocation, the end of an interaction), erasure and retention. Every write is
//! bound to the caller's partition, like every read.

use crate::error::{HistoryError, StoreError};
use crate::model::page::Page;
use crate::model::record::{CallerAttribute, RecordError};
use crate::model::tenancy::Principal;
use crate::model::time::Millis;
use crate::rules::retention::Retention;
use crate::service::{can_be_stored, partition, HistoryService};
use crate::store::{AttributeAllocated, EraseTarget, Erased, LiveRefusal, PageAppended};

/// Interactions removed per purge transaction: short transactions, so that readers and writers
/// are never held up for long, however much a purge removes.
pub const PURGE_BATCH: u32 = 500;

/// Why a write was not done.
#[derive(Debug)]
pub enum WriteError {
    /// The body does not validate: where and why.
    Invalid(RecordError),
    /// No interaction with this id in the caller's partition.
    NotFound(String),
    /// The write contradicts what is stored (a page older than the newest, an end before the start).
    Conflict(RecordError),
    /// The store failed: `StoreUnavailable` or `Internal`.
    Failed(HistoryError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        Self::Failed(HistoryError::from(e))
    }
}

fn refused(interaction_id: &str, refusal: LiveRefusal) -> WriteError {
    match refusal {
        LiveRefusal::UnknownInteraction => WriteError::NotFound(interaction_id.to_string()),
        LiveRefusal::PageOutOfOrder { newest } => WriteError::Conflict(RecordError::new(
            "timestamp",
            format!("pages out of order: older than the interaction's newest page ({})", newest.0),
        )),
        LiveRefusal::EndBeforeStart { started_at } => WriteError::Conflict(RecordError::new(
            "ended_at",
            format!("is before the interaction's start ({started_at})"),
        )),
    }
}

impl HistoryService {
    /// Appends one completed page to a running (or ended) interaction.
    pub async fn append_page(
        &self,
        who: &Principal,
        interaction_id: &str,
        page: &Page,
    ) -> Result<PageAppended, WriteError> {
        if !can_be_stored(interaction_id) {
            return Err(WriteError::NotFound(interaction_id.to_string()));
        }
        self.store().append_page(partition(who), interaction_id, page).await?.map_err(|r| refused(interaction_id, r))
    }

    /// Records one caller-attribute allocation.
    pub async fn allocate_attribute(
        &self,
        who: &Principal,
        interaction_id: &str,
        attribute: &CallerAttribute,
    ) -> Result<AttributeAllocated, WriteError> {
        attribute.validate("").map_err(WriteError::Invalid)?;
        if !can_be_stored(interaction_id) {
            return Err(WriteError::NotFound(interaction_id.to_string()));
        }
        self.store()
            .allocate_attribute(partition(who), interaction_id, attribute)
            .await?
            .map_err(|r| refused(interaction_id, r))
    }

    /// Marks an interaction completed at `ended_at`, else now. Returns the end recorded.
    pub async fn end_interaction(
        &self,
        who: &Principal,
        interaction_id: &str,
        ended_at: Option<Millis>,
    ) -> Result<Millis, WriteError> {
        if !can_be_stored(interaction_id) {
            return Err(WriteError::NotFound(interaction_id.to_string()));
        }
        let ended_at = ended_at.unwrap_or_else(|| Millis::from_datetime(self.now()));
        self.store()
            .end_interaction(partition(who), interaction_id, ended_at)
            .await?
            .map_err(|r| refused(interaction_id, r))?;
        Ok(ended_at)
    }

    /// Erases one interaction and everything it holds. Not found if there is none.
    pub async fn erase_interaction(&self, who: &Principal, interaction_id: &str) -> Result<Erased, WriteError> {
        let erased = if can_be_stored(interaction_id) {
            self.store().erase(EraseTarget::Interaction(partition(who), interaction_id)).await?
        } else {
            Erased::default()
        };
        if erased.interactions == 0 {
            return Err(WriteError::NotFound(interaction_id.to_string()));
        }
        Ok(erased)
    }

    /// Erases every interaction of a customer. A customer with nothing stored is not an error: the
    /// answer says nothing was removed.
    pub async fn erase_customer(&self, who: &Principal, customer_id: &str) -> Result<Erased, WriteError> {
        if !can_be_stored(customer_id) {
            return Ok(Erased::default());
        }
        Ok(self.store().erase(EraseTarget::Customer(partition(who), customer_id)).await?)
    }

    /// Removes, across all tenants, every interaction last active before the retention period;
    /// returns the cut-off used and what was removed.
    pub async fn purge(&self, retention: Retention) -> Result<(Millis, Erased), StoreError> {
        let cutoff = retention.cutoff(self.now());
        let mut total = Erased::default();
        loop {
            let batch = self.store().erase(EraseTarget::InactiveBefore { cutoff, batch: PURGE_BATCH }).await?;
            if batch.interactions == 0 {
                return Ok((cutoff, total));
            }
            total.add(batch);
        }
    }
}
