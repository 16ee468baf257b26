//! The query plans of the store's lookups, for `docs/ARCHITECTURE.md` and the contract test that
//! proves them index-bound. Each backend explains the statements of `sql.rs` its read routes run,
//! word for word, bound to the values a request binds.

use crate::rows::list_binds;
use crate::sql::Sql;
use crate::{classify, PostgresStore, SqliteStore};
use ixgw_core::store::{ListCursor, ListQuery, ListSubject};
use ixgw_core::{Millis, StoreResult};
use sqlx::Row;

/// The lookups whose plans are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    FlowById,
    FlowByCallerAttribute,
    UniqueIdByAttribute,
    ContextByCustomer,
    ContextByService,
    KeyByDigest,
}

impl Lookup {
    pub const ALL: [Lookup; 6] = [
        Self::FlowById,
        Self::FlowByCallerAttribute,
        Self::UniqueIdByAttribute,
        Self::ContextByCustomer,
        Self::ContextByService,
        Self::KeyByDigest,
    ];
}

/// A value bound to an explained statement.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bytes(Vec<u8>),
}

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_string()))
}

/// How a backend reads a flow by caller attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AttributeFlow {
    /// One statement, the winner chosen in SQL (`flow_by_attribute`).
    InSql,
    /// The candidates newest first, then the flow by key (`sqlite_reads`).
    TwoSteps,
}

/// The statements `lookup` runs, each with the values a request binds to it. A list is explained
/// twice: a first page without filters, and a later page (after a cursor) with every filter set.
fn statements(lookup: Lookup, sql: &'static Sql, attribute_flow: AttributeFlow) -> Vec<(&'static str, Vec<Value>)> {
    let cutoff = Value::Int(Some(1_700_000_000_000));
    let at = || vec![text("12345678"), text("production")];
    let with = |mut values: Vec<Value>, more: Vec<Value>| {
        values.extend(more);
        values
    };
    let lists = |sql: &'static str, subject: ListSubject, subject_value: fn() -> Value| {
        let first = ListQuery::first_page(subject, 101);
        let filtered = ListQuery {
            media_type: Some("chat".into()),
            status: Some(3),
            from: Some(Millis(1_600_000_000_000)),
            to: Some(Millis(1_700_000_000_000)),
            after: Some(ListCursor {
                started_at: Millis(1_650_000_000_000),
                interaction_id: "00001a57JGQ00BW8".into(),
            }),
            ..first.clone()
        };
        [first, filtered]
            .iter()
            .map(|query| {
                let (media_type, status, from, before_started, before_id, limit) = list_binds(query);
                let filters = vec![
                    Value::Text(media_type.map(str::to_string)),
                    Value::Int(status),
                    Value::Int(Some(from)),
                    Value::Int(Some(before_started)),
                    text(&before_id),
                    Value::Int(Some(limit)),
                ];
                (sql, with(with(at(), vec![subject_value()]), filters))
            })
            .collect()
    };
    match lookup {
        Lookup::FlowById => vec![(sql.flow_by_id, with(at(), vec![text("00001a57JGQ00BW8"), cutoff]))],
        Lookup::FlowByCallerAttribute => match attribute_flow {
            AttributeFlow::InSql => vec![(sql.flow_by_attribute, with(at(), vec![text("5551234"), cutoff]))],
            AttributeFlow::TwoSteps => vec![
                (sql.attribute_candidates, with(at(), vec![text("5551234"), cutoff])),
                (sql.flow_by_pk, vec![Value::Int(Some(1))]),
            ],
        },
        Lookup::UniqueIdByAttribute => {
            vec![(sql.unique_id_for, with(at(), vec![text("5551234"), cutoff, text("dtmf")]))]
        }
        Lookup::ContextByCustomer => {
            lists(sql.context_by_customer, ListSubject::Customer("customer-1".into()), || text("customer-1"))
        }
        Lookup::ContextByService => lists(sql.context_by_service, ListSubject::Service(42), || Value::Int(Some(42))),
        Lookup::KeyByDigest => vec![(sql.key_by_digest, vec![Value::Bytes(vec![0; 32])])],
    }
}

fn bind_values<'q, DB: sqlx::Database>(
    mut query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    values: Vec<Value>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for value in values {
        query = match value {
            Value::Text(t) => query.bind(t),
            Value::Int(i) => query.bind(i),
            Value::Bytes(b) => query.bind(b),
        };
    }
    query
}

/// The plans of `statements`, one after the other; a plan the same as the one before it is left out.
fn join(mut plans: Vec<String>) -> String {
    plans.dedup();
    plans.join("\n")
}

impl SqliteStore {
    pub async fn explain(&self, lookup: Lookup) -> StoreResult<String> {
        let mut plans = Vec::new();
        for (sql, values) in statements(lookup, self.sql, AttributeFlow::TwoSteps) {
            // The statement is one of `sql.rs`'s constants.
            let text = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"));
            let rows = bind_values(sqlx::query(text), values).fetch_all(&self.pool).await.map_err(classify)?;
            plans.push(rows.iter().map(|r| r.get::<String, _>(3)).collect::<Vec<_>>().join("\n"));
        }
        Ok(join(plans))
    }
}

impl PostgresStore {
    pub async fn explain(&self, lookup: Lookup) -> StoreResult<String> {
        // Planning with sequential scans off shows which index a lookup *can* use, independent of
        // how small the test tables are.
        let mut tx = self.pool.begin().await.map_err(classify)?;
        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.map_err(classify)?;
        let mut plans = Vec::new();
        for (sql, values) in statements(lookup, self.sql, AttributeFlow::InSql) {
            let text = sqlx::AssertSqlSafe(format!("EXPLAIN (COSTS OFF) {sql}"));
            let rows = bind_values(sqlx::query(text), values).fetch_all(&mut *tx).await.map_err(classify)?;
            plans.push(rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>().join("\n"));
        }
        Ok(join(plans))
    }
}
