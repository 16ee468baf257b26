//! The store's SQL, written once in the dialect both backends accept (`$N` placeholders,
//! `ON CONFLICT`, `RETURNING`, `CAST(… AS …)`); SQLite gets `?N` placeholders (see [`for_sqlite`]).

pub struct Sql {
    pub insert_tenant: &'static str,
    pub insert_environment: &'static str,
    pub tenants: &'static str,
    pub tenant: &'static str,
    pub insert_key: &'static str,
    pub keys: &'static str,
    pub revoke_key: &'static str,
    pub key_by_digest: &'static str,
    /// New interactions' rows (widened to many, see `ChildInserts`); nothing for one that exists
    /// (that one: `upsert_interaction`, `clear_children`).
    pub insert_new_interaction: &'static str,
    pub upsert_interaction: &'static str,
    pub clear_children: [&'static str; 5],
    pub insert_page: &'static str,
    pub insert_attribute: &'static str,
    pub insert_current_attribute: &'static str,
    pub insert_service: &'static str,
    pub insert_photo: &'static str,
    pub flow_by_id: &'static str,
    pub flow_by_attribute: &'static str,
    pub attribute_candidates: &'static str,
    pub flow_by_pk: &'static str,
    pub resolve_by_id: &'static str,
    pub resolve_by_attribute: &'static str,
    pub unique_id_for: &'static str,
    pub variable_sets: &'static str,
    pub photo: &'static str,
    pub context_by_id: &'static str,
    pub context_by_customer: &'static str,
    pub context_by_service: &'static str,
    pub content: [&'static str; 3],
    pub lock_interaction: &'static str,
    pub newest_page: &'static str,
    pub page_activity: &'static str,
    pub same_allocation: &'static str,
    pub is_current_allocation: &'static str,
    pub next_attribute_seq: &'static str,
    pub upsert_current_attribute: &'static str,
    pub end_interaction: &'static str,
    pub purge_bound: &'static str,
    pub erase_interaction: Erase,
    pub erase_customer: Erase,
    pub erase_inactive: Erase,
}

/// The statements of one erasure, all over the same selection of interactions.
pub struct Erase {
    /// Locks the selected interactions (a write first: concurrent live-feed writes wait).
    pub lock: &'static str,
    /// Per interaction: content parts present, variable sets JSON.
    pub summary: &'static str,
    /// Deletes the children: pages, caller attributes, photos, service links, current attributes.
    pub children: [&'static str; 5],
    pub interactions: &'static str,
}

/// An [`Erase`] over the interactions `WHERE $where` (no alias; the same placeholders throughout).
macro_rules! erase {
    ($where:literal) => {
        Erase {
            lock: concat!("UPDATE interactions SET last_activity = last_activity WHERE ", $where),
            summary: concat!(
                "SELECT CAST(CASE WHEN plain_text IS NULL THEN 0 ELSE 1 END + CASE WHEN structured_text IS NULL THEN 0 ELSE 1 END ",
                "+ CASE WHEN binary_content IS NULL THEN 0 ELSE 1 END AS BIGINT), variable_sets_json FROM interactions WHERE ",
                $where
            ),
            children: [
                concat!("DELETE FROM pages WHERE interaction_pk IN (SELECT pk FROM interactions WHERE ", $where, ")"),
                concat!("DELETE FROM caller_attributes WHERE interaction_pk IN (SELECT pk FROM interactions WHERE ", $where, ")"),
                concat!("DELETE FROM photos WHERE interaction_pk IN (SELECT pk FROM interactions WHERE ", $where, ")"),
                concat!("DELETE FROM interaction_services WHERE interaction_pk IN (SELECT pk FROM interactions WHERE ", $where, ")"),
                concat!("DELETE FROM current_attributes WHERE interaction_pk IN (SELECT pk FROM interactions WHERE ", $where, ")"),
            ],
            interactions: concat!("DELETE FROM interactions WHERE ", $where),
        }
    };
}

/// The optional Context Services filters and the keyset cursor, shared by both list queries.
/// `$4` media type, `$5` status (NULL: any), `$6` the lowest start (`from`, else `i64::MIN`), `$7`/`$8`
/// the (start, id) every row must sort before: the smaller of the cursor and `(to + 1, '')` (see
/// `list_bound`), `$9` limit. Sentinel bounds instead of `$x IS NULL OR …` let SQLite and PostgreSQL
/// seek the index straight to the page: a deep page costs what the first one does.
macro_rules! list_filters {
    ($started:literal, $id:literal) => {
        concat!(
            " AND (CAST($4 AS TEXT) IS NULL OR i.media_type = $4)",
            " AND (CAST($5 AS BIGINT) IS NULL OR i.status = $5)",
            " AND ",
            $started,
            " >= $6 AND (",
            $started,
            ", ",
            $id,
            ") < ($7, $8)",
            " ORDER BY ",
            $started,
            " DESC, ",
            $id,
            " DESC LIMIT $9"
        )
    };
}

/// The winning interaction for a caller-attribute value (see `ixgw_core::rules::attributes`):
/// `$1` tenant, `$2` environment, `$3` value, `$4` cutoff.
macro_rules! attribute_winner {
    () => {
        "SELECT i.pk, i.id FROM current_attributes a JOIN interactions i ON i.pk = a.interaction_pk \
         WHERE a.tenant = $1 AND a.environment = $2 AND a.value = $3 AND i.last_activity >= $4 \
         ORDER BY a.allocated_at DESC, i.started_at DESC, i.id DESC LIMIT 1"
    };
}

/// An interaction row (`$1`–`$16`), up to the conflict action.
macro_rules! insert_interaction {
    () => {
        "INSERT INTO interactions (tenant, environment, id, customer_id, started_at, ended_at, last_activity, \
         media_type, status, context_json, plain_text, structured_text, structured_text_mime, binary_content, \
         binary_content_mime, variable_sets_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (tenant, environment, id) "
    };
}

pub const SQL: Sql = Sql {
    insert_tenant: "INSERT INTO tenants (account_id, name, created_at) VALUES ($1, $2, $3)",
    insert_environment: "INSERT INTO environments (tenant, name, is_default) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    tenants: "SELECT t.account_id, t.name, e.name, e.is_default FROM tenants t \
              LEFT JOIN environments e ON e.tenant = t.account_id ORDER BY t.account_id, e.is_default DESC, e.name",
    tenant: "SELECT t.account_id, t.name, e.name, e.is_default FROM tenants t \
             LEFT JOIN environments e ON e.tenant = t.account_id \
             WHERE t.account_id = (SELECT account_id FROM tenants WHERE account_id = $1 \
                                   UNION ALL SELECT account_id FROM tenants WHERE name = $1 LIMIT 1) \
             ORDER BY e.is_default DESC, e.name",
    insert_key: "INSERT INTO api_keys (key_id, digest, tenant, environment, scope, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    keys: "SELECT key_id, tenant, environment, scope, created_at, revoked_at IS NOT NULL FROM api_keys ORDER BY tenant, created_at, key_id",
    revoke_key: "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL",
    key_by_digest: "SELECT k.key_id, k.tenant, k.environment, k.scope, k.digest, k.revoked_at IS NOT NULL, \
                    COALESCE((SELECT e.name FROM environments e WHERE e.tenant = k.tenant AND e.is_default), '') \
                    FROM api_keys k WHERE k.digest = $1",
    insert_new_interaction: concat!(insert_interaction!(), "DO NOTHING RETURNING pk, tenant, environment, id"),
    upsert_interaction: concat!(
        insert_interaction!(),
        "DO UPDATE SET customer_id = excluded.customer_id, \
         started_at = excluded.started_at, ended_at = excluded.ended_at, last_activity = excluded.last_activity, \
         media_type = excluded.media_type, status = excluded.status, context_json = excluded.context_json, \
         plain_text = excluded.plain_text, structured_text = excluded.structured_text, \
         structured_text_mime = excluded.structured_text_mime, binary_content = excluded.binary_content, \
         binary_content_mime = excluded.binary_content_mime, variable_sets_json = excluded.variable_sets_json \
         RETURNING pk"
    ),
    clear_children: [
        "DELETE FROM pages WHERE interaction_pk = $1",
        "DELETE FROM caller_attributes WHERE interaction_pk = $1",
        "DELETE FROM current_attributes WHERE interaction_pk = $1",
        "DELETE FROM interaction_services WHERE interaction_pk = $1",
        "DELETE FROM photos WHERE interaction_pk = $1",
    ],
    insert_page: "INSERT INTO pages (interaction_pk, seq, timestamp, body) VALUES ($1, $2, $3, $4)",
    insert_attribute: "INSERT INTO caller_attributes (interaction_pk, seq, kind, value, allocated_at) VALUES ($1, $2, $3, $4, $5)",
    insert_current_attribute: "INSERT INTO current_attributes (interaction_pk, kind, tenant, environment, value, allocated_at) \
                               VALUES ($1, $2, $3, $4, $5, $6)",
    insert_service: "INSERT INTO interaction_services (interaction_pk, service_id, tenant, environment, started_at, interaction_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    insert_photo: "INSERT INTO photos (interaction_pk, path, mime, data) VALUES ($1, $2, $3, $4)",
    flow_by_id: "SELECT i.id, p.body FROM interactions i LEFT JOIN pages p ON p.interaction_pk = i.pk \
                 WHERE i.tenant = $1 AND i.environment = $2 AND i.id = $3 AND i.last_activity >= $4 ORDER BY p.seq",
    // The winner as a scalar subquery on the key: the pages then come in their primary key's order
    // (a CTE joined to them made SQLite sort every page body in a temporary B-tree).
    flow_by_attribute: concat!(
        "SELECT i.id, p.body FROM interactions i LEFT JOIN pages p ON p.interaction_pk = i.pk WHERE i.pk = (SELECT w.pk FROM (",
        attribute_winner!(),
        ") w) ORDER BY p.seq"
    ),
    // SQLite's read path (`sqlite_reads.rs`) resolves a caller attribute in two steps: the matches
    // in the index's order, newest allocation first (only those sharing the newest allocation time
    // are read, and the core's rule breaks their tie), then the flow by key. With the whole ORDER BY
    // in SQL, SQLite built a temporary B-tree for every lookup (≈ 15 000 instructions of 138 000).
    attribute_candidates: "SELECT i.pk, i.id, a.allocated_at, i.started_at FROM current_attributes a \
                           JOIN interactions i ON i.pk = a.interaction_pk \
                           WHERE a.tenant = $1 AND a.environment = $2 AND a.value = $3 AND i.last_activity >= $4 \
                           ORDER BY a.allocated_at DESC",
    flow_by_pk: "SELECT i.id, p.body FROM interactions i LEFT JOIN pages p ON p.interaction_pk = i.pk \
                 WHERE i.pk = $1 ORDER BY p.seq",
    resolve_by_id: "SELECT i.pk, i.id FROM interactions i \
                    WHERE i.tenant = $1 AND i.environment = $2 AND i.id = $3 AND i.last_activity >= $4",
    resolve_by_attribute: attribute_winner!(),
    unique_id_for: "SELECT i.id FROM current_attributes a JOIN interactions i ON i.pk = a.interaction_pk \
                    WHERE a.tenant = $1 AND a.environment = $2 AND a.value = $3 AND a.kind = $5 AND i.last_activity >= $4 \
                    ORDER BY a.allocated_at DESC, i.started_at DESC, i.id DESC LIMIT 1",
    variable_sets: "SELECT variable_sets_json FROM interactions WHERE pk = $1",
    photo: "SELECT ph.mime, ph.data FROM interactions i JOIN photos ph ON ph.interaction_pk = i.pk \
            WHERE i.tenant = $1 AND i.environment = $2 AND i.id = $3 AND ph.path = $4",
    context_by_id: concat!(
        "SELECT i.id, i.customer_id, i.started_at, i.ended_at, i.context_json, i.plain_text IS NOT NULL, ",
        "i.structured_text IS NOT NULL, i.structured_text_mime, i.binary_content IS NOT NULL ",
        "FROM interactions i WHERE i.tenant = $1 AND i.environment = $2 AND i.id = $3"
    ),
    context_by_customer: concat!(
        "SELECT i.id, i.customer_id, i.started_at, i.ended_at, i.context_json, i.plain_text IS NOT NULL, ",
        "i.structured_text IS NOT NULL, i.structured_text_mime, i.binary_content IS NOT NULL ",
        "FROM interactions i WHERE i.tenant = $1 AND i.environment = $2 AND i.customer_id = $3",
        list_filters!("i.started_at", "i.id")
    ),
    context_by_service: concat!(
        "SELECT i.id, i.customer_id, i.started_at, i.ended_at, i.context_json, i.plain_text IS NOT NULL, ",
        "i.structured_text IS NOT NULL, i.structured_text_mime, i.binary_content IS NOT NULL ",
        "FROM interaction_services s JOIN interactions i ON i.pk = s.interaction_pk ",
        "WHERE s.tenant = $1 AND s.environment = $2 AND s.service_id = $3",
        list_filters!("s.started_at", "s.interaction_id")
    ),
    content: [
        "SELECT CAST(NULL AS TEXT), plain_text FROM interactions \
         WHERE tenant = $1 AND environment = $2 AND id = $3 AND plain_text IS NOT NULL",
        "SELECT structured_text_mime, structured_text FROM interactions \
         WHERE tenant = $1 AND environment = $2 AND id = $3 AND structured_text IS NOT NULL",
        "SELECT binary_content_mime, binary_content FROM interactions \
         WHERE tenant = $1 AND environment = $2 AND id = $3 AND binary_content IS NOT NULL",
    ],
    lock_interaction: "UPDATE interactions SET last_activity = last_activity \
                       WHERE tenant = $1 AND environment = $2 AND id = $3 RETURNING pk, started_at, ended_at",
    newest_page: "SELECT timestamp, seq, body FROM pages WHERE interaction_pk = $1 ORDER BY seq DESC LIMIT 1",
    page_activity: "UPDATE interactions SET last_activity = $2 WHERE pk = $1 AND ended_at IS NULL",
    same_allocation: "SELECT COUNT(*) FROM caller_attributes \
                      WHERE interaction_pk = $1 AND kind = $2 AND value = $3 AND allocated_at = $4",
    is_current_allocation: "SELECT COUNT(*) FROM current_attributes \
                            WHERE interaction_pk = $1 AND kind = $2 AND value = $3 AND allocated_at = $4",
    next_attribute_seq: "SELECT COALESCE(MAX(seq) + 1, 0) FROM caller_attributes WHERE interaction_pk = $1",
    upsert_current_attribute: "INSERT INTO current_attributes (interaction_pk, kind, tenant, environment, value, allocated_at) \
                               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (interaction_pk, kind) DO UPDATE \
                               SET value = excluded.value, allocated_at = excluded.allocated_at \
                               WHERE current_attributes.allocated_at <= excluded.allocated_at",
    end_interaction: "UPDATE interactions SET ended_at = $2, last_activity = $2 WHERE pk = $1",
    // The last activity of the `$2`-th oldest interaction before `$1`: where a purge batch ends.
    purge_bound: "SELECT last_activity FROM interactions WHERE last_activity < $1 ORDER BY last_activity LIMIT 1 OFFSET $2",
    erase_interaction: erase!("tenant = $1 AND environment = $2 AND id = $3"),
    erase_customer: erase!("tenant = $1 AND environment = $2 AND customer_id = $3"),
    erase_inactive: erase!("last_activity < $1 AND last_activity <= $2"),
};

impl Erase {
    fn map(&self, f: impl Fn(&'static str) -> &'static str) -> Erase {
        Erase {
            lock: f(self.lock),
            summary: f(self.summary),
            children: self.children.map(&f),
            interactions: f(self.interactions),
        }
    }
}

impl Sql {
    /// The same statements with every string passed through `f`.
    pub fn map(&self, f: impl Fn(&'static str) -> &'static str) -> Sql {
        Sql {
            insert_tenant: f(self.insert_tenant),
            insert_environment: f(self.insert_environment),
            tenants: f(self.tenants),
            tenant: f(self.tenant),
            insert_key: f(self.insert_key),
            keys: f(self.keys),
            revoke_key: f(self.revoke_key),
            key_by_digest: f(self.key_by_digest),
            insert_new_interaction: f(self.insert_new_interaction),
            upsert_interaction: f(self.upsert_interaction),
            clear_children: self.clear_children.map(&f),
            insert_page: f(self.insert_page),
            insert_attribute: f(self.insert_attribute),
            insert_current_attribute: f(self.insert_current_attribute),
            insert_service: f(self.insert_service),
            insert_photo: f(self.insert_photo),
            flow_by_id: f(self.flow_by_id),
            flow_by_attribute: f(self.flow_by_attribute),
            attribute_candidates: f(self.attribute_candidates),
            flow_by_pk: f(self.flow_by_pk),
            resolve_by_id: f(self.resolve_by_id),
            resolve_by_attribute: f(self.resolve_by_attribute),
            unique_id_for: f(self.unique_id_for),
            variable_sets: f(self.variable_sets),
            photo: f(self.photo),
            context_by_id: f(self.context_by_id),
            context_by_customer: f(self.context_by_customer),
            context_by_service: f(self.context_by_service),
            content: self.content.map(&f),
            lock_interaction: f(self.lock_interaction),
            newest_page: f(self.newest_page),
            page_activity: f(self.page_activity),
            same_allocation: f(self.same_allocation),
            is_current_allocation: f(self.is_current_allocation),
            next_attribute_seq: f(self.next_attribute_seq),
            upsert_current_attribute: f(self.upsert_current_attribute),
            end_interaction: f(self.end_interaction),
            purge_bound: f(self.purge_bound),
            erase_interaction: self.erase_interaction.map(&f),
            erase_customer: self.erase_customer.map(&f),
            erase_inactive: self.erase_inactive.map(&f),
        }
    }
}

/// One table's INSERT of one row, widened to many rows per statement: bulk writes cost one
/// statement per [`RowInsert::MAX_ROWS`] rows instead of one per row. The widths are powers of two,
/// so a connection prepares (and caches) a handful of statements whatever the row counts.
pub struct RowInsert {
    /// `by_width[k]` inserts `2^k` rows.
    by_width: Vec<&'static str>,
}

impl RowInsert {
    pub const MAX_ROWS: usize = 32;

    /// From a one-row `INSERT … VALUES ($1, …, $n) [suffix]`, each text passed through `dialect`.
    pub fn widen(single_row: &str, dialect: fn(&'static str) -> &'static str) -> Self {
        let open = single_row.find("VALUES (").expect("a one-row INSERT") + "VALUES ".len();
        let close = open + single_row[open..].find(')').expect("a closed VALUES tuple");
        let columns = single_row[open..close].matches('$').count();
        let (head, tail) = (&single_row[..open], &single_row[close + 1..]);
        let by_width = (0..=Self::MAX_ROWS.trailing_zeros())
            .map(|k| {
                let tuples: Vec<String> = (0..1usize << k)
                    .map(|row| {
                        let values: Vec<String> = (1..=columns).map(|c| format!("${}", row * columns + c)).collect();
                        format!("({})", values.join(", "))
                    })
                    .collect();
                let text: &'static str = format!("{head}{}{tail}", tuples.join(", ")).leak();
                dialect(text)
            })
            .collect();
        Self { by_width }
    }

    /// `rows` cut into statements: the widest that fits first (10 rows: 8, then 2).
    pub fn chunks<'s, 'r: 's, R>(&'s self, mut rows: &'r [R]) -> impl Iterator<Item = (&'static str, &'r [R])> + 's {
        std::iter::from_fn(move || {
            if rows.is_empty() {
                return None;
            }
            let width = rows.len().min(Self::MAX_ROWS);
            let k = usize::BITS - 1 - width.leading_zeros();
            let (chunk, rest) = rows.split_at(1 << k);
            rows = rest;
            Some((self.by_width[k as usize], chunk))
        })
    }
}

/// The rows a stored record fills, as multi-row INSERTs.
pub struct ChildInserts {
    pub interactions: RowInsert,
    pub pages: RowInsert,
    pub attributes: RowInsert,
    pub current_attributes: RowInsert,
    pub services: RowInsert,
}

impl ChildInserts {
    pub fn new(dialect: fn(&'static str) -> &'static str) -> Self {
        Self {
            interactions: RowInsert::widen(SQL.insert_new_interaction, dialect),
            pages: RowInsert::widen(SQL.insert_page, dialect),
            attributes: RowInsert::widen(SQL.insert_attribute, dialect),
            current_attributes: RowInsert::widen(SQL.insert_current_attribute, dialect),
            services: RowInsert::widen(SQL.insert_service, dialect),
        }
    }
}

/// Rewrites `$N` placeholders as `?N` (SQLite binds `$NAME` by first appearance, not by number).
/// Done once at start-up; the strings live for the whole process.
pub fn for_sqlite(sql: &'static str) -> &'static str {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.leak()
}

#[cfg(test)]
mod tests {
    use super::RowInsert;

    #[test]
    fn a_row_insert_widens_to_powers_of_two() {
        let insert = RowInsert::widen("INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING", |s| s);
        let rows: Vec<u32> = (0..43).collect();
        let chunks: Vec<(&str, &[u32])> = insert.chunks(&rows).collect();
        assert_eq!(chunks.iter().map(|(_, c)| c.len()).collect::<Vec<_>>(), [32, 8, 2, 1]);
        assert_eq!(chunks[2].0, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING");
        assert_eq!(chunks[3].0, "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        assert!(chunks[0].0.ends_with("($63, $64) ON CONFLICT DO NOTHING"));
        assert_eq!(chunks.iter().flat_map(|(_, c)| c.iter()).copied().collect::<Vec<_>>(), rows);
        assert_eq!(
            RowInsert::widen("INSERT INTO t (a) VALUES ($1)", super::for_sqlite).chunks(&[1, 2]).next().unwrap().0,
            "INSERT INTO t (a) VALUES (?1), (?2)"
        );
        assert_eq!(insert.chunks::<u32>(&[]).count(), 0);
    }

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(super::for_sqlite("a = $1 AND b = $10 AND c = '$x'"), "a = ?1 AND b = ?10 AND c = '$x'");
    }
}
