//! SQLite's read routes, on the thread that serves the request.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement, and each row
//! of its answer, across threads through channels: for a 10-page flow that was about half of the
//! request's CPU (futex wake-ups and context switches). Reads are short and never wait for a writer
//! (WAL), so here they run synchronously where the request is served, on connections of their own
//! with cached prepared statements: one statement a lookup, no hop. Writes, migrations, keys and
//! tenants stay on sqlx's pool.
//!
//! A connection is taken from the idle set for one statement and put back at once; no request holds
//! one across an `.await`, so a server opens about as many as it has worker threads, and more only
//! when more threads read at the same instant.

use crate::rows::{list_binds, variable_set_named};
use crate::SqliteStore;
use async_trait::async_trait;
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::record::CallerAttributeKind;
use ixgw_core::rules::attributes::{precedence, Candidate};
use ixgw_core::store::{
    ContentBlob, ContentPart, ContextRow, FlowTarget, HistoryReads, ListQuery, ListSubject, Partition, Resolved,
    StoredFlow, StoredPhoto,
};
use ixgw_core::{Millis, StoreError, StoreResult};
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// The bytes a flow's pages are expected to take (10 pages of about 1.2 KB), reserved at once.
const FLOW_CAPACITY: usize = 16 * 1024;

/// Read connections to one SQLite database.
pub struct ReadConnections {
    path: PathBuf,
    cache_kib: u32,
    idle: Mutex<Vec<Connection>>,
}

impl ReadConnections {
    pub fn new(path: PathBuf, cache_kib: u32) -> Self {
        Self { path, cache_kib, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> StoreResult<Connection> {
        // One thread at a time uses a connection (it is taken out of `idle`): SQLite's own mutex
        // per connection is not needed. URI names are sqlx's shared in-memory databases.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // Reads only, with the page cache of the pool's connections.
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;",
            self.cache_kib
        ))
        .map_err(classify)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(classify)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (opened if none is idle) and puts the connection back.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        result.map_err(classify)
    }
}

impl SqliteStore {
    /// The first row `sql` answers for `params`, through `row`.
    fn read_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.reads.with(|conn| conn.prepare_cached(sql)?.query_row(params, row).optional())
    }

    /// The interaction `value` resolves to (key and id): the matches come newest allocation first,
    /// and among those sharing the newest allocation time the core's rule picks (`attributes`).
    fn attribute_winner(
        &self,
        conn: &Connection,
        at: Partition<'_>,
        value: &str,
        cutoff: Millis,
    ) -> rusqlite::Result<Option<(i64, String)>> {
        let mut statement = conn.prepare_cached(self.sql.attribute_candidates)?;
        let mut rows = statement.query(params![at.tenant, at.environment, value, cutoff.0])?;
        // `precedence` compares allocation, start and id; the window is already in the statement.
        let mut best: Option<(i64, String, Millis, Millis)> = None;
        while let Some(r) = rows.next()? {
            let (allocated_at, started_at) = (Millis(r.get(2)?), Millis(r.get(3)?));
            if let Some((_, id, best_allocated, best_started)) = &best {
                if allocated_at < *best_allocated {
                    break;
                }
                let (candidate, leader) = (
                    Candidate {
                        interaction_id: r.get_ref(1)?.as_str()?,
                        started_at,
                        last_activity: cutoff,
                        allocated_at,
                    },
                    Candidate { interaction_id: id, started_at: *best_started, last_activity: cutoff, allocated_at },
                );
                if precedence(&candidate, &leader).is_ge() {
                    continue;
                }
            }
            best = Some((r.get(0)?, r.get(1)?, allocated_at, started_at));
        }
        Ok(best.map(|(pk, id, ..)| (pk, id)))
    }
}

#[async_trait]
impl HistoryReads for SqliteStore {
    async fn flow(&self, at: Partition<'_>, target: FlowTarget<'_>, cutoff: Millis) -> StoreResult<Option<StoredFlow>> {
        self.reads.with(|conn| match target {
            FlowTarget::UniqueId(id) => {
                read_flow(conn, self.sql.flow_by_id, params![at.tenant, at.environment, id, cutoff.0])
            }
            FlowTarget::CallerAttribute(value) => match self.attribute_winner(conn, at, value, cutoff)? {
                Some((pk, _)) => read_flow(conn, self.sql.flow_by_pk, params![pk]),
                None => Ok(None),
            },
        })
    }

    async fn resolve(
        &self,
        at: Partition<'_>,
        target: FlowTarget<'_>,
        cutoff: Millis,
    ) -> StoreResult<Option<Resolved>> {
        match target {
            FlowTarget::UniqueId(id) => {
                self.read_row(self.sql.resolve_by_id, params![at.tenant, at.environment, id, cutoff.0], |r| {
                    Ok(Resolved { key: r.get(0)?, interaction_id: r.get(1)? })
                })
            }
            FlowTarget::CallerAttribute(value) => self.reads.with(|conn| {
                let winner = self.attribute_winner(conn, at, value, cutoff)?;
                Ok(winner.map(|(key, interaction_id)| Resolved { key, interaction_id }))
            }),
        }
    }

    async fn unique_id_for(
        &self,
        at: Partition<'_>,
        kind: CallerAttributeKind,
        value: &str,
        cutoff: Millis,
    ) -> StoreResult<Option<String>> {
        let params = params![at.tenant, at.environment, value, cutoff.0, kind.as_str()];
        self.read_row(self.sql.unique_id_for, params, |r| r.get(0))
    }

    async fn variable_set(&self, interaction: &Resolved, name: &str) -> StoreResult<Option<OrderedStrings>> {
        let json: Option<Option<String>> =
            self.read_row(self.sql.variable_sets, params![interaction.key], |r| r.get(0))?;
        variable_set_named(json.flatten().as_deref(), name)
    }

    async fn photo(&self, at: Partition<'_>, interaction_id: &str, path: &str) -> StoreResult<Option<StoredPhoto>> {
        self.read_row(self.sql.photo, params![at.tenant, at.environment, interaction_id, path], |r| {
            Ok(StoredPhoto { mime: r.get(0)?, data: r.get(1)? })
        })
    }

    async fn context_interaction(&self, at: Partition<'_>, interaction_id: &str) -> StoreResult<Option<ContextRow>> {
        self.read_row(self.sql.context_by_id, params![at.tenant, at.environment, interaction_id], context_row)
    }

    async fn context_list(&self, at: Partition<'_>, query: &ListQuery) -> StoreResult<Vec<ContextRow>> {
        let (sql, subject): (_, &dyn ToSql) = match &query.subject {
            ListSubject::Customer(customer) => (self.sql.context_by_customer, customer),
            ListSubject::Service(service) => (self.sql.context_by_service, service),
        };
        let (media_type, status, from, before_started, before_id, limit) = list_binds(query);
        let params =
            params![at.tenant, at.environment, subject, media_type, status, from, before_started, before_id, limit];
        self.reads.with(|conn| conn.prepare_cached(sql)?.query_map(params, context_row)?.collect())
    }

    async fn content(
        &self,
        at: Partition<'_>,
        interaction_id: &str,
        part: ContentPart,
    ) -> StoreResult<Option<ContentBlob>> {
        let sql = self.sql.content[part as usize];
        self.read_row(sql, params![at.tenant, at.environment, interaction_id], |r| {
            // Text parts and the binary one alike arrive as their bytes.
            let data = match r.get_ref(1)? {
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
                _ => Vec::new(),
            };
            Ok(ContentBlob { mime: r.get(0)?, data })
        })
    }
}

/// A flow's rows (its id and a page each, in order; one row with a NULL page for none) as one JSON
/// array; `None` when there is no row.
fn read_flow(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<Option<StoredFlow>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let Some(first) = rows.next()? else { return Ok(None) };
    let mut flow = StoredFlow::new(first.get(0)?, FLOW_CAPACITY);
    let mut row = Some(first);
    while let Some(r) = row {
        if let Some(body) = text_or_null(r.get_ref(1)?)? {
            flow.push_page(body);
        }
        row = rows.next()?;
    }
    Ok(Some(flow))
}

/// A text column as `&str`, `None` for NULL. The UTF-8 check is vectorised: rusqlite's own
/// (`as_str_or_null`, the standard library's) took ≈ 0.7 instructions a byte, 8 000 a flow.
fn text_or_null(value: ValueRef<'_>) -> rusqlite::Result<Option<&str>> {
    match value {
        ValueRef::Text(bytes) => simdutf8::basic::from_utf8(bytes)
            .or_else(|_| std::str::from_utf8(bytes))
            .map(Some)
            .map_err(rusqlite::Error::from),
        other => Ok(other.as_str_or_null()?),
    }
}

fn context_row(r: &Row<'_>) -> rusqlite::Result<ContextRow> {
    Ok(ContextRow {
        interaction_id: r.get(0)?,
        customer_id: r.get(1)?,
        started_at: Millis(r.get(2)?),
        ended_at: r.get::<_, Option<i64>>(3)?.map(Millis),
        context_json: r.get(4)?,
        has_plain_text: r.get(5)?,
        has_structured_text: r.get(6)?,
        structured_text_mime: r.get(7)?,
        has_binary_content: r.get(8)?,
    })
}

/// Sorts a failed read into what the caller can do about it, as `crate::classify` does for sqlx:
/// the same outage codes, and a busy or locked database besides (a read that waited its busy timeout).
fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    let outage = match e.sqlite_error() {
        Some(failure) => {
            matches!(failure.code, DatabaseBusy | DatabaseLocked)
                || crate::SQLITE_OUTAGES.contains(&(failure.extended_code & 0xff))
        }
        None => false,
    };
    if outage {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Failed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::classify;
    use ixgw_core::StoreError;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn an_unusable_file_is_an_outage_as_on_the_sqlx_path() {
        // Corrupt (11), read-only (8, extended 264: SQLITE_READONLY_RECOVERY), I/O (10, extended
        // 266), not a database (26), busy (5): 503 with Retry-After, not 500.
        for code in [11, 8, 264, 10, 266, 26, 5, 13, 14, 3] {
            assert!(matches!(classify(failure(code)), StoreError::Unavailable(_)), "code {code}");
        }
        // A statement that failed on a healthy file stays a failure.
        for code in [1, 19, 20] {
            assert!(matches!(classify(failure(code)), StoreError::Failed(_)), "code {code}");
        }
        assert!(matches!(classify(rusqlite::Error::QueryReturnedNoRows), StoreError::Failed(_)));
    }
}
