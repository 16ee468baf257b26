//! Between rows and the domain's values: what a record writes (`RowParts`, `ChildRows`), what a
//! list binds, and how the rows read back become tenants, Context Services rows, scopes and
//! variable sets. Shared by both backends.

use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::record::InteractionRecord;
use ixgw_core::model::tenancy::{Environment, Scope, Tenant};
use ixgw_core::rules::attributes::current_allocations;
use ixgw_core::store::{ContextRow, ListQuery, Partition};
use ixgw_core::{Millis, StoreError, StoreResult};
use sqlx::Row;

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

pub(crate) fn context_row<R: Row>(row: &R) -> ContextRow
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

pub(crate) fn parse_scope(text: &str) -> StoreResult<Scope> {
    Scope::parse(text).ok_or_else(|| StoreError::Failed(format!("stored key has unknown scope `{text}`")))
}

/// The parts of a record that go into the interactions row as text.
pub(crate) struct RowParts {
    pub(crate) context_json: Option<String>,
    pub(crate) variable_sets_json: Option<String>,
}

pub(crate) fn row_parts(record: &InteractionRecord) -> StoreResult<RowParts> {
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
pub(crate) struct ChildRows<'r> {
    /// (interaction, seq, timestamp, canonical JSON)
    pub(crate) pages: Vec<(i64, i64, i64, String)>,
    /// (interaction, seq, kind, value, allocated at)
    pub(crate) attributes: Vec<(i64, i64, &'r str, &'r str, i64)>,
    /// (interaction, kind, partition, value, allocated at)
    pub(crate) current_attributes: Vec<(i64, &'r str, Partition<'r>, &'r str, i64)>,
    /// (interaction, service, partition, started at, interaction id)
    pub(crate) services: Vec<(i64, i64, Partition<'r>, i64, &'r str)>,
}

impl<'r> ChildRows<'r> {
    pub(crate) fn add(&mut self, pk: i64, at: Partition<'r>, record: &'r InteractionRecord) {
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

/// The set called `name` of a stored `variable_sets_json`.
pub(crate) fn variable_set_named(json: Option<&str>, name: &str) -> StoreResult<Option<OrderedStrings>> {
    let Some(json) = json else { return Ok(None) };
    let mut sets: std::collections::BTreeMap<String, OrderedStrings> = serde_json::from_str(json)
        .map_err(|e| StoreError::Failed(format!("stored variable sets do not parse: {e}")))?;
    Ok(sets.remove(name))
}

/// How many sets a stored `variable_sets_json` holds.
pub(crate) fn count_variable_sets(json: Option<&str>) -> StoreResult<u64> {
    let Some(json) = json else { return Ok(0) };
    let sets: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| StoreError::Failed(format!("stored variable sets do not parse: {e}")))?;
    Ok(sets.len() as u64)
}
