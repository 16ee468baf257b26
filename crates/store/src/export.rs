//! Reading one interaction back whole, as the record it was stored from: what `ixgw pull` merges
//! a newly pulled part into (the Interact flow into an interaction that Context Services brought,
//! and the other way round), and what tests compare stores by.
//!
//! The read is one snapshot (a transaction; REPEATABLE READ on PostgreSQL), on the primary: a
//! merge must see the latest write, never a replica's lagging copy.

use crate::sql::for_sqlite;
use crate::{classify, Database};
use crate::{PostgresStore, SqliteStore};
use ixgw_core::model::page::Page;
use ixgw_core::model::record::{
    Base64Bytes, CallerAttribute, CallerAttributeKind, Content, Context, InteractionRecord, Photo, VariableSets,
};
use ixgw_core::model::time::IsoDate;
use ixgw_core::{Millis, Partition, StoreError, StoreResult};
use std::sync::LazyLock;

/// The statements of one record read, in the dialect both backends accept (`$N`).
struct RecordSql {
    interaction: &'static str,
    pages: &'static str,
    attributes: &'static str,
    photos: &'static str,
    services: &'static str,
}

const RECORD_SQL: RecordSql = RecordSql {
    interaction: "SELECT pk, customer_id, started_at, ended_at, context_json, plain_text, structured_text, \
                  structured_text_mime, binary_content, binary_content_mime, variable_sets_json \
                  FROM interactions WHERE tenant = $1 AND environment = $2 AND id = $3",
    pages: "SELECT body FROM pages WHERE interaction_pk = $1 ORDER BY seq",
    attributes: "SELECT kind, value, allocated_at FROM caller_attributes WHERE interaction_pk = $1 ORDER BY seq",
    photos: "SELECT path, mime, data FROM photos WHERE interaction_pk = $1 ORDER BY path",
    services: "SELECT service_id FROM interaction_services WHERE interaction_pk = $1 ORDER BY service_id",
};

static SQLITE_RECORD_SQL: LazyLock<RecordSql> = LazyLock::new(|| RecordSql {
    interaction: for_sqlite(RECORD_SQL.interaction),
    pages: for_sqlite(RECORD_SQL.pages),
    attributes: for_sqlite(RECORD_SQL.attributes),
    photos: for_sqlite(RECORD_SQL.photos),
    services: for_sqlite(RECORD_SQL.services),
});

/// The interactions row of a record: key, customer, start, end, context JSON, plain text,
/// structured text and its MIME type, binary content and its MIME type, variable sets JSON.
type InteractionRow = (
    i64,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
);

impl Database {
    /// The interaction `id` of partition `at` as a record (tenant and environment filled in), or
    /// `None` if there is none.
    pub async fn record(&self, at: Partition<'_>, id: &str) -> StoreResult<Option<InteractionRecord>> {
        match self {
            Self::Sqlite(s) => s.record(at, id).await,
            Self::Postgres(p) => p.record(at, id).await,
        }
    }
}

/// `record` for one backend: `$sql` holds its statements, `$snapshot` (if any) makes the
/// transaction one snapshot.
macro_rules! record_reader {
    ($store:ty, $sql:expr, $($snapshot:literal)?) => {
        impl $store {
            async fn record(&self, at: Partition<'_>, id: &str) -> StoreResult<Option<InteractionRecord>> {
                let sql: &RecordSql = &$sql;
                let mut tx = self.pool.begin().await.map_err(classify)?;
                $(sqlx::query($snapshot).execute(&mut *tx).await.map_err(classify)?;)?
                let row: Option<InteractionRow> = sqlx::query_as(sql.interaction)
                    .bind(at.tenant)
                    .bind(at.environment)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
                let Some(row) = row else { return Ok(None) };
                let pk = row.0;
                let pages: Vec<String> =
                    sqlx::query_scalar(sql.pages).bind(pk).fetch_all(&mut *tx).await.map_err(classify)?;
                let attributes: Vec<(String, String, i64)> =
                    sqlx::query_as(sql.attributes).bind(pk).fetch_all(&mut *tx).await.map_err(classify)?;
                let photos: Vec<(String, String, Vec<u8>)> =
                    sqlx::query_as(sql.photos).bind(pk).fetch_all(&mut *tx).await.map_err(classify)?;
                let services: Vec<i64> =
                    sqlx::query_scalar(sql.services).bind(pk).fetch_all(&mut *tx).await.map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                assemble(at, id, row, Children { pages, attributes, photos, services }).map(Some)
            }
        }
    };
}

record_reader!(SqliteStore, *SQLITE_RECORD_SQL,);
record_reader!(PostgresStore, RECORD_SQL, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

/// The child rows of a record: pages' JSON, allocations (kind, value, instant), photos (path,
/// MIME type, bytes), service ids.
struct Children {
    pages: Vec<String>,
    attributes: Vec<(String, String, i64)>,
    photos: Vec<(String, String, Vec<u8>)>,
    services: Vec<i64>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Failed(format!("stored {what} does not parse: {e}"))
}

fn assemble(at: Partition<'_>, id: &str, row: InteractionRow, children: Children) -> StoreResult<InteractionRecord> {
    let (
        _,
        customer_id,
        started_at,
        ended_at,
        context_json,
        plain_text,
        structured_text,
        structured_text_mime,
        binary_content,
        binary_content_mime,
        variable_sets_json,
    ) = row;
    let context: Option<Context> =
        context_json.map(|json| serde_json::from_str(&json).map_err(|e| corrupt("context", e))).transpose()?;
    let variable_sets: VariableSets = match variable_sets_json {
        Some(json) => serde_json::from_str(&json).map_err(|e| corrupt("variable sets", e))?,
        None => VariableSets::new(),
    };
    let content = Content {
        plain_text,
        structured_text,
        structured_text_mime,
        binary_content: binary_content.map(Base64Bytes),
        binary_content_mime,
    };
    let pages = children
        .pages
        .iter()
        .map(|json| serde_json::from_str::<Page>(json).map_err(|e| corrupt("page", e)))
        .collect::<StoreResult<Vec<Page>>>()?;
    let caller_attributes = children
        .attributes
        .into_iter()
        .map(|(kind, value, allocated_at)| {
            let kind = CallerAttributeKind::parse(&kind).ok_or_else(|| corrupt("caller attribute kind", &kind))?;
            Ok(CallerAttribute { kind, value, allocated_at: IsoDate(Millis(allocated_at)) })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let photos =
        children.photos.into_iter().map(|(path, mime, data)| Photo { path, mime, data: Base64Bytes(data) }).collect();
    Ok(InteractionRecord {
        tenant: Some(at.tenant.to_string()),
        environment: Some(at.environment.to_string()),
        id: id.to_string(),
        customer_id,
        service_ids: children.services,
        started_at: IsoDate(Millis(started_at)),
        ended_at: ended_at.map(|e| IsoDate(Millis(e))),
        caller_attributes,
        context,
        content: (content != Content::default()).then_some(content),
        variable_sets,
        pages,
        photos,
    })
}
