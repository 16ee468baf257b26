//! What the cutover's shadow mode compared, kept for `ixgw shadow report`: counts per minute,
//! operation and outcome, and the differing samples, the newest `keep` per operation. Written in
//! batches by the server's comparison worker; read by the report.

use crate::sql::for_sqlite;
use crate::{classify, Database};
use ixgw_core::StoreResult;
use std::sync::LazyLock;

/// One request whose answers differed (or that the store missed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowSample {
    /// Epoch milliseconds.
    pub at: i64,
    pub operation: String,
    pub outcome: String,
    pub tenant: String,
    /// The request as sent, without its credential headers.
    pub request: String,
    pub vendor_status: u16,
    pub vendor_body: Vec<u8>,
    pub local_status: u16,
    pub local_body: Vec<u8>,
}

/// How many requests of one operation had one outcome in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowCount {
    /// Epoch minutes.
    pub minute: i64,
    pub operation: String,
    pub outcome: String,
    pub count: i64,
}

struct ShadowSql {
    add_count: &'static str,
    add_sample: &'static str,
    trim: &'static str,
    counts: &'static str,
    samples: &'static str,
}

const SHADOW_SQL: ShadowSql = ShadowSql {
    add_count: "INSERT INTO shadow_counts (minute, operation, outcome, count) VALUES ($1, $2, $3, $4) \
                ON CONFLICT (minute, operation, outcome) DO UPDATE SET count = shadow_counts.count + excluded.count",
    add_sample: "INSERT INTO shadow_samples \
                 (at, operation, outcome, tenant, request, vendor_status, vendor_body, local_status, local_body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    // Everything of the operation older than its `keep`-th newest sample.
    trim: "DELETE FROM shadow_samples WHERE operation = $1 AND seq <= \
           (SELECT seq FROM shadow_samples WHERE operation = $2 ORDER BY seq DESC LIMIT 1 OFFSET $3)",
    counts: "SELECT minute, operation, outcome, count FROM shadow_counts WHERE minute >= $1 \
             ORDER BY operation, outcome, minute",
    samples: "SELECT at, operation, outcome, tenant, request, vendor_status, vendor_body, local_status, local_body \
              FROM shadow_samples WHERE at >= $1 ORDER BY operation, seq",
};

static SQLITE_SHADOW_SQL: LazyLock<ShadowSql> = LazyLock::new(|| ShadowSql {
    add_count: for_sqlite(SHADOW_SQL.add_count),
    add_sample: for_sqlite(SHADOW_SQL.add_sample),
    trim: for_sqlite(SHADOW_SQL.trim),
    counts: for_sqlite(SHADOW_SQL.counts),
    samples: for_sqlite(SHADOW_SQL.samples),
});

type SampleRow = (i64, String, String, String, String, i32, Vec<u8>, i32, Vec<u8>);

macro_rules! shadow_writes {
    ($pool:expr, $sql:expr, $counts:expr, $samples:expr, $keep:expr) => {{
        let sql: &ShadowSql = $sql;
        let mut tx = $pool.begin().await.map_err(classify)?;
        for c in $counts {
            sqlx::query(sql.add_count)
                .bind(c.minute)
                .bind(&c.operation)
                .bind(&c.outcome)
                .bind(c.count)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        let mut operations: Vec<&str> = Vec::new();
        for s in $samples {
            sqlx::query(sql.add_sample)
                .bind(s.at)
                .bind(&s.operation)
                .bind(&s.outcome)
                .bind(&s.tenant)
                .bind(&s.request)
                .bind(i32::from(s.vendor_status))
                .bind(&s.vendor_body)
                .bind(i32::from(s.local_status))
                .bind(&s.local_body)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            if !operations.contains(&s.operation.as_str()) {
                operations.push(&s.operation);
            }
        }
        let keep = i64::try_from($keep).unwrap_or(i64::MAX);
        for operation in operations {
            sqlx::query(sql.trim)
                .bind(operation)
                .bind(operation)
                .bind(keep)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }};
}

macro_rules! shadow_reads {
    ($pool:expr, $sql:expr, $since:expr) => {{
        let sql: &ShadowSql = $sql;
        let since: i64 = $since;
        let counts: Vec<(i64, String, String, i64)> =
            sqlx::query_as(sql.counts).bind(since.div_euclid(60_000)).fetch_all(&$pool).await.map_err(classify)?;
        let samples: Vec<SampleRow> =
            sqlx::query_as(sql.samples).bind(since).fetch_all(&$pool).await.map_err(classify)?;
        Ok((
            counts
                .into_iter()
                .map(|(minute, operation, outcome, count)| ShadowCount { minute, operation, outcome, count })
                .collect(),
            samples.into_iter().map(sample).collect(),
        ))
    }};
}

impl Database {
    /// Adds `counts` and `samples` in one transaction, then keeps the newest `keep` samples of
    /// each operation that got one.
    pub async fn record_shadow(
        &self,
        counts: &[ShadowCount],
        samples: &[ShadowSample],
        keep: usize,
    ) -> StoreResult<()> {
        match self {
            Self::Sqlite(s) => shadow_writes!(s.pool, &*SQLITE_SHADOW_SQL, counts, samples, keep),
            Self::Postgres(p) => shadow_writes!(p.pool, &SHADOW_SQL, counts, samples, keep),
        }
    }

    /// The counts and the kept samples since `since` (epoch milliseconds), by operation.
    pub async fn shadow_report(&self, since: i64) -> StoreResult<(Vec<ShadowCount>, Vec<ShadowSample>)> {
        match self {
            Self::Sqlite(s) => shadow_reads!(s.pool, &*SQLITE_SHADOW_SQL, since),
            Self::Postgres(p) => shadow_reads!(p.pool, &SHADOW_SQL, since),
        }
    }
}

fn sample(row: SampleRow) -> ShadowSample {
    let (at, operation, outcome, tenant, request, vendor_status, vendor_body, local_status, local_body) = row;
    let status = |s: i32| u16::try_from(s).unwrap_or_default();
    ShadowSample {
        at,
        operation,
        outcome,
        tenant,
        request,
        vendor_status: status(vendor_status),
        vendor_body,
        local_status: status(local_status),
        local_body,
    }
}
