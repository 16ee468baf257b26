//! The store contract: the same tests against SQLite and PostgreSQL (`sqlite::…`, `postgres::…`).

use ixgw_core::model::record::{CallerAttribute, CallerAttributeKind, InteractionRecord};
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::rules::attributes::{self, Candidate};
use ixgw_core::store::{
    AttributeAllocated, ContentPart, EraseTarget, Erased, FlowTarget, KeyRecord, ListCursor, ListQuery, ListSubject,
    LiveRefusal, PageAppended, Partition,
};
use ixgw_core::{HistoryStore, Millis, Scope, StoreError};
use ixgw_store::{Database, Lookup, PoolSettings, ShadowCount, ShadowSample};
use ixgw_testkit::{store_tests, Backend, TestDatabase};
use sqlx::Row;
use std::sync::Arc;

const T: &str = "12345678";
const PROD: Partition<'static> = Partition { tenant: T, environment: "production" };
const STAGING: Partition<'static> = Partition { tenant: T, environment: "staging" };

struct Fixture {
    db: Database,
    store: Arc<dyn HistoryStore>,
    _guard: TestDatabase,
}

async fn fixture(backend: Backend) -> Fixture {
    let guard = backend.fresh_database().await;
    let db = Database::connect(&guard.url, &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.expect("migrations are idempotent");
    let store = db.store();
    store.create_tenant(T, "Demo", &["production".into(), "staging".into()]).await.unwrap();
    store.create_tenant("99999999", "Other", &["production".into()]).await.unwrap();
    Fixture { db, store, _guard: guard }
}

fn record(json: serde_json::Value) -> InteractionRecord {
    InteractionRecord::from_json(&json.to_string()).unwrap()
}

fn page(title: &str, ts: i64) -> serde_json::Value {
    serde_json::json!({
        "pageNavigation": {"navigationTitle": title},
        "pageContent": {"contentSections": []},
        "timestamp": ts
    })
}

fn iso(ms: i64) -> String {
    Millis(ms).to_iso_millis()
}

/// A record with `pages` pages, started at `start` (ms), ended one minute later.
fn interaction(id: &str, start: i64, pages: usize) -> InteractionRecord {
    let pages: Vec<_> = (0..pages).map(|i| page(&format!("{id} page {i}"), start + 1000 * i as i64)).collect();
    record(serde_json::json!({"id": id, "started_at": iso(start), "ended_at": iso(start + 60_000), "pages": pages}))
}

/// Every row of every table, in a stable order: what "the store is identical" means.
async fn dump(db: &Database) -> Vec<String> {
    let keys = [("tenants", "account_id"), ("environments", "tenant, name"), ("api_keys", "key_id")];
    let mut out = Vec::new();
    for (table, order) in keys.into_iter().chain(ixgw_testkit::HISTORY_TABLES) {
        let sql = format!("SELECT * FROM {table} ORDER BY {order}");
        let rows = match db {
            Database::Sqlite(s) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(render_sqlite)
                .collect::<Vec<_>>(),
            Database::Postgres(p) => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(p.pool()).await.unwrap().iter().map(render_pg).collect()
            }
        };
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    out
}

/// A row as `v1|v2|…`: each cell the first of integer, text, bytes or boolean (PostgreSQL's; as 0/1,
/// how SQLite stores it) that decodes.
macro_rules! render_row {
    ($row:expr) => {{
        let row = $row;
        (0..row.len())
            .map(|i| {
                row.try_get::<Option<i64>, _>(i)
                    .map(|v| format!("{v:?}"))
                    .or_else(|_| row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                    .or_else(|_| row.try_get::<Option<Vec<u8>>, _>(i).map(|v| format!("{v:?}")))
                    .or_else(|_| row.try_get::<Option<bool>, _>(i).map(|v| format!("{:?}", v.map(i64::from))))
                    .unwrap()
            })
            .collect::<Vec<_>>()
            .join("|")
    }};
}

fn render_sqlite(row: &sqlx::sqlite::SqliteRow) -> String {
    render_row!(row)
}

fn render_pg(row: &sqlx::postgres::PgRow) -> String {
    render_row!(row)
}

/// A small deterministic generator, so the randomized agreement test is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

store_tests!(
    flows_come_back_in_order_and_empty_is_not_missing,
    partitions_never_see_each_other,
    storing_twice_leaves_the_store_identical_and_replaces_whole,
    a_batch_stores_what_storing_one_by_one_stores,
    a_refused_record_costs_only_itself_and_the_last_of_one_key_wins,
    a_failed_replacement_leaves_the_old_version_whole,
    caller_attribute_resolution_agrees_with_the_core_rule,
    tenants_and_keys,
    content_photos_and_variable_sets,
    context_lists_page_through_everything_newest_first,
    reads_never_wait_for_a_writer,
    lookups_are_served_by_indexes,
    live_feed_appends_allocates_and_ends_in_one_transaction_each,
    erasure_removes_everything_and_says_what,
    purging_removes_exactly_what_is_older_than_the_cutoff,
    an_unreachable_database_is_unavailable_not_broken,
    shadow_counts_add_up_and_samples_keep_the_newest_per_operation
);

async fn flows_come_back_in_order_and_empty_is_not_missing(backend: Backend) {
    let f = fixture(backend).await;
    f.store.put_interaction(PROD, &interaction("a", 1_000_000, 3)).await.unwrap();
    f.store.put_interaction(PROD, &interaction("empty", 1_000_000, 0)).await.unwrap();
    let flow = f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(0)).await.unwrap().unwrap();
    assert_eq!(flow.interaction_id, "a");
    assert_eq!(flow.len(), 3);
    for (i, json) in flow.pages().enumerate() {
        assert!(json.contains(&format!("a page {i}")), "{json}");
    }
    let empty = f.store.flow(PROD, FlowTarget::UniqueId("empty"), Millis(0)).await.unwrap().unwrap();
    assert!(empty.is_empty());
    assert!(f.store.flow(PROD, FlowTarget::UniqueId("nope"), Millis(0)).await.unwrap().is_none());
    // The window: last activity is the end, start + 60 s.
    assert!(f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(1_060_000)).await.unwrap().is_some());
    assert!(f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(1_060_001)).await.unwrap().is_none());
}

async fn partitions_never_see_each_other(backend: Backend) {
    let f = fixture(backend).await;
    f.store.put_interaction(PROD, &interaction("same", 1_000, 1)).await.unwrap();
    f.store.put_interaction(STAGING, &interaction("same", 2_000, 2)).await.unwrap();
    let other = Partition { tenant: "99999999", environment: "production" };
    assert_eq!(f.store.flow(PROD, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().unwrap().len(), 1);
    assert_eq!(f.store.flow(STAGING, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().unwrap().len(), 2);
    assert!(f.store.flow(other, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().is_none());
    assert!(f.store.context_interaction(other, "same").await.unwrap().is_none());
    // A partition that does not exist cannot be written to.
    let ghost = Partition { tenant: T, environment: "nowhere" };
    assert!(matches!(f.store.put_interaction(ghost, &interaction("x", 1, 0)).await, Err(StoreError::Missing(_))));
}

async fn storing_twice_leaves_the_store_identical_and_replaces_whole(backend: Backend) {
    let f = fixture(backend).await;
    let r = record(serde_json::json!({
        "id": "r1", "customer_id": "c1", "service_ids": [1, 2], "started_at": iso(5_000), "ended_at": iso(9_000),
        "caller_attributes": [{"kind": "dtmf", "value": "4567", "allocated_at": iso(5_100)},
                              {"kind": "historySearchId", "value": "h0", "allocated_at": iso(5_200)},
                              {"kind": "historySearchId", "value": "h1", "allocated_at": iso(5_300)}],
        "context": {"media_type": "chat", "status": 3, "udata": {"z": "1", "a": "2"}},
        "content": {"plain_text": "hi", "structured_text": "<x/>", "structured_text_mime": "text/xml",
                    "binary_content_base64": "AAEC", "binary_content_mime": "image/png"},
        "variable_sets": {"s": {"b": "1", "a": ""}},
        "pages": [page("one", 5_500), page("two", 6_000)],
        "photos": [{"path": "/p/1", "mime": "image/png", "data_base64": "AAEC"}]
    }));
    f.store.put_interaction(PROD, &r).await.unwrap();
    let once = dump(&f.db).await;
    f.store.put_interaction(PROD, &r).await.unwrap();
    assert_eq!(dump(&f.db).await, once, "storing the same record again changed the store");

    let smaller = interaction("r1", 5_000, 1);
    f.store.put_interaction(PROD, &smaller).await.unwrap();
    let flow = f.store.flow(PROD, FlowTarget::UniqueId("r1"), Millis(0)).await.unwrap().unwrap();
    assert_eq!(flow.len(), 1);
    assert!(
        f.store.flow(PROD, FlowTarget::CallerAttribute("4567"), Millis(0)).await.unwrap().is_none(),
        "old attributes must go"
    );
    assert!(f.store.photo(PROD, "r1", "/p/1").await.unwrap().is_none(), "old photos must go");
    let row = f.store.context_interaction(PROD, "r1").await.unwrap().unwrap();
    assert!(!row.has_plain_text && row.context_json.is_none() && row.customer_id.is_none());
    let services = ListQuery::first_page(ListSubject::Service(1), 10);
    assert!(f.store.context_list(PROD, &services).await.unwrap().is_empty(), "old service links must go");
}

async fn a_batch_stores_what_storing_one_by_one_stores(backend: Backend) {
    let f = fixture(backend).await;
    // Enough records, pages and attributes for every multi-row width (32 … 1) and a remainder.
    let rich = |n: usize| {
        let start = 1_000_000 + n as i64 * 10_000;
        let pages: Vec<_> = (0..n % 5).map(|i| page(&format!("r{n} p{i}"), start + 100 * i as i64)).collect();
        record(serde_json::json!({"id": format!("r{n}"), "customer_id": format!("c{}", n % 3),
            "service_ids": [n % 4, 10 + n % 2], "started_at": iso(start), "pages": pages,
            "caller_attributes": [{"kind": "dtmf", "value": format!("d{}", n % 7), "allocated_at": iso(start)},
                                  {"kind": "dtmf", "value": format!("e{n}"), "allocated_at": iso(start + 1)},
                                  {"kind": "callerId", "value": "shared", "allocated_at": iso(start)}]}))
    };
    let records: Vec<InteractionRecord> = (0..71).map(rich).collect();
    f.store.put_interaction(PROD, &records[3]).await.unwrap(); // stored before: the batch replaces it
    let batch: Vec<(Partition, &InteractionRecord)> = records.iter().map(|r| (PROD, r)).collect();
    let results = f.store.put_interactions(&batch).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let batched = dump(&f.db).await;
    for r in &records {
        f.store.put_interaction(PROD, r).await.unwrap();
    }
    assert_eq!(dump(&f.db).await, batched, "storing one by one over the batch changed the store");
    assert!(batched.iter().filter(|row| row.starts_with("pages: ")).count() > 100);
}

async fn a_refused_record_costs_only_itself_and_the_last_of_one_key_wins(backend: Backend) {
    let f = fixture(backend).await;
    let mut bad = interaction("bad", 1_000, 2);
    let photo = ixgw_core::model::record::Photo {
        path: "/dup".into(),
        mime: "image/png".into(),
        data: ixgw_core::model::record::Base64Bytes(vec![1]),
    };
    bad.photos = vec![photo.clone(), photo];
    let ghost = Partition { tenant: "nobody", environment: "production" };
    let (first, second) = (interaction("twice", 1_000, 1), interaction("twice", 2_000, 4));
    let (new, orphan) = (interaction("new", 1_000, 2), interaction("orphan", 1_000, 1));
    let batch = [(PROD, &first), (PROD, &new), (PROD, &bad), (STAGING, &first), (ghost, &orphan), (PROD, &second)];
    let results = f.store.put_interactions(&batch).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok() && results[5].is_ok(), "{results:?}");
    assert!(results[2].is_err(), "{results:?}");
    assert!(matches!(&results[4], Err(StoreError::Missing(m)) if m.contains("nobody")), "{results:?}");
    let mut pages = Vec::new();
    for (at, id) in [(PROD, "twice"), (STAGING, "twice"), (PROD, "new"), (PROD, "bad"), (ghost, "orphan")] {
        let flow = f.store.flow(at, FlowTarget::UniqueId(id), Millis(0)).await.unwrap();
        pages.push(flow.map(|flow| flow.len()));
    }
    assert_eq!(pages, [Some(4), Some(1), Some(2), None, None], "the later record of one key wins; refused: absent");
}

async fn a_failed_replacement_leaves_the_old_version_whole(backend: Backend) {
    let f = fixture(backend).await;
    f.store.put_interaction(PROD, &interaction("atomic", 1_000, 2)).await.unwrap();
    // Two photos with one path: the types allow it, the validation (skipped here) and the
    // table's key do not. The failure comes after pages were already written in the transaction.
    let mut bad = interaction("atomic", 1_000, 5);
    let photo = ixgw_core::model::record::Photo {
        path: "/dup".into(),
        mime: "image/png".into(),
        data: ixgw_core::model::record::Base64Bytes(vec![1]),
    };
    bad.photos = vec![photo.clone(), photo];
    assert!(bad.validate().is_err());
    assert!(f.store.put_interaction(PROD, &bad).await.is_err());
    let flow = f.store.flow(PROD, FlowTarget::UniqueId("atomic"), Millis(0)).await.unwrap().unwrap();
    assert_eq!(flow.len(), 2, "the old version must be intact");
}

async fn caller_attribute_resolution_agrees_with_the_core_rule(backend: Backend) {
    let f = fixture(backend).await;
    let mut rng = Lcg(42);
    let values = ["v1", "v2", "v3", "v4"];
    let mut records = Vec::new();
    for n in 0..40 {
        let start = 1_000_000 + rng.next(50) as i64 * 1_000; // many equal starts: ties on purpose
        let allocations: Vec<_> = (0..rng.next(5))
            .map(|_| {
                let kind = CallerAttributeKind::ALL[rng.next(5) as usize];
                serde_json::json!({"kind": kind.as_str(), "value": values[rng.next(4) as usize],
                                   "allocated_at": iso(start + rng.next(4) as i64 * 500)})
            })
            .collect();
        let end = start + 100_000 + rng.next(100) as i64 * 10_000;
        let r = record(serde_json::json!({"id": format!("i{n:02}"), "started_at": iso(start), "ended_at": iso(end),
                                          "caller_attributes": allocations}));
        f.store.put_interaction(PROD, &r).await.unwrap();
        records.push(r);
    }
    for cutoff in [0, 1_500_000, 1_800_000] {
        for value in values {
            let candidates: Vec<Candidate> = records
                .iter()
                .filter_map(|r| {
                    Some(Candidate {
                        interaction_id: &r.id,
                        started_at: r.started_at.0,
                        last_activity: r.last_activity(),
                        allocated_at: attributes::matching_allocation(&r.caller_attributes, value, None)?,
                    })
                })
                .collect();
            let expected = attributes::resolve(&candidates, Millis(cutoff));
            let got = f.store.resolve(PROD, FlowTarget::CallerAttribute(value), Millis(cutoff)).await.unwrap();
            assert_eq!(got.map(|r| r.interaction_id).as_deref(), expected, "value {value}, cutoff {cutoff}");
            let flow = f.store.flow(PROD, FlowTarget::CallerAttribute(value), Millis(cutoff)).await.unwrap();
            assert_eq!(flow.map(|r| r.interaction_id).as_deref(), expected);
            for kind in CallerAttributeKind::ALL {
                let by_kind: Vec<Candidate> = records
                    .iter()
                    .filter_map(|r| {
                        Some(Candidate {
                            interaction_id: &r.id,
                            started_at: r.started_at.0,
                            last_activity: r.last_activity(),
                            allocated_at: attributes::matching_allocation(&r.caller_attributes, value, Some(kind))?,
                        })
                    })
                    .collect();
                let got = f.store.unique_id_for(PROD, kind, value, Millis(cutoff)).await.unwrap();
                assert_eq!(got.as_deref(), attributes::resolve(&by_kind, Millis(cutoff)), "{kind} {value} {cutoff}");
            }
        }
    }
}

async fn tenants_and_keys(backend: Backend) {
    let f = fixture(backend).await;
    assert!(matches!(f.store.create_tenant(T, "again", &["production".into()]).await, Err(StoreError::Conflict(_))));
    let t = f.store.tenant(T).await.unwrap().unwrap();
    assert_eq!(t.default_environment(), Some("production"));
    assert_eq!(t.environments.len(), 2);
    assert_eq!(f.store.tenant("Other").await.unwrap().unwrap().account_id, "99999999", "by name");
    assert!(f.store.tenant("nobody").await.unwrap().is_none());
    assert_eq!(f.store.tenants().await.unwrap().len(), 2);
    f.store.add_environment(T, "qa").await.unwrap();
    f.store.add_environment(T, "qa").await.unwrap();
    assert_eq!(f.store.tenant(T).await.unwrap().unwrap().environments.len(), 3);
    assert!(matches!(f.store.add_environment("nobody", "x").await, Err(StoreError::Missing(_))));

    let key = NewKey::generate();
    let rec = KeyRecord {
        key_id: &key.key_id,
        digest: &key.digest,
        tenant: T,
        environment: "staging",
        scope: Scope::Ingest,
        created_at: Millis(7),
    };
    f.store.create_key(&rec).await.unwrap();
    assert!(matches!(f.store.create_key(&rec).await, Err(StoreError::Conflict(_))));
    let stored = f.store.key_by_digest(&key.digest).await.unwrap().unwrap();
    assert_eq!((&*stored.tenant, &*stored.environment, stored.scope), (T, "staging", Scope::Ingest));
    assert_eq!(stored.tenant_default_environment, "production");
    assert!(stored.digest.matches(&key.digest) && !stored.revoked);
    assert!(f.store.revoke_key(&key.key_id).await.unwrap());
    assert!(!f.store.revoke_key(&key.key_id).await.unwrap(), "already revoked");
    assert!(f.store.key_by_digest(&key.digest).await.unwrap().unwrap().revoked);
    assert!(f.store.key_by_digest(&NewKey::generate().digest).await.unwrap().is_none());
    let listed = f.store.keys().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked);
    let bad = KeyRecord { environment: "nowhere", ..rec };
    let other = NewKey::generate();
    assert!(matches!(
        f.store.create_key(&KeyRecord { key_id: &other.key_id, digest: &other.digest, ..bad }).await,
        Err(StoreError::Missing(_))
    ));
}

async fn content_photos_and_variable_sets(backend: Backend) {
    let f = fixture(backend).await;
    // Raw text: `json!` would sort the variable names and hide an ordering bug.
    let r = InteractionRecord::from_json(
        r#"{"id": "c", "started_at": "1970-01-01T00:00:00.001Z",
            "content": {"plain_text": "héllo", "structured_text": "<a/>", "binary_content_base64": "AAEC"},
            "variable_sets": {"set": {"b": "1", "a": ""}},
            "photos": [{"path": "/mnt/x", "mime": "image/jpeg", "data_base64": "AAEC"}]}"#,
    )
    .unwrap();
    f.store.put_interaction(PROD, &r).await.unwrap();
    let plain = f.store.content(PROD, "c", ContentPart::PlainText).await.unwrap().unwrap();
    assert_eq!((plain.mime, plain.data), (None, "héllo".as_bytes().to_vec()));
    let structured = f.store.content(PROD, "c", ContentPart::StructuredText).await.unwrap().unwrap();
    assert_eq!((structured.mime, structured.data), (None, b"<a/>".to_vec()));
    assert_eq!(f.store.content(PROD, "c", ContentPart::BinaryContent).await.unwrap().unwrap().data, vec![0, 1, 2]);
    f.store.put_interaction(PROD, &interaction("bare", 1, 0)).await.unwrap();
    assert!(f.store.content(PROD, "bare", ContentPart::PlainText).await.unwrap().is_none());
    assert!(f.store.content(STAGING, "c", ContentPart::PlainText).await.unwrap().is_none());
    let photo = f.store.photo(PROD, "c", "/mnt/x").await.unwrap().unwrap();
    assert_eq!((photo.mime.as_str(), photo.data.as_slice()), ("image/jpeg", &[0u8, 1, 2][..]));
    assert!(f.store.photo(PROD, "c", "/mnt/y").await.unwrap().is_none());
    let found = f.store.resolve(PROD, FlowTarget::UniqueId("c"), Millis(0)).await.unwrap().unwrap();
    let set = f.store.variable_set(&found, "set").await.unwrap().unwrap();
    assert_eq!(set.iter().collect::<Vec<_>>(), [("b", "1"), ("a", "")], "order as written");
    assert!(f.store.variable_set(&found, "other").await.unwrap().is_none());
}

async fn context_lists_page_through_everything_newest_first(backend: Backend) {
    let f = fixture(backend).await;
    for n in 0..23 {
        // Pairs share a start time, so the id decides their order.
        let start = 1_000_000 + (n / 2) as i64 * 1_000;
        let media = if n % 3 == 0 { "voice" } else { "chat" };
        let r = record(serde_json::json!({"id": format!("x{n:02}"), "customer_id": "cust", "service_ids": [77],
            "started_at": iso(start), "context": {"media_type": media, "status": n % 4}}));
        f.store.put_interaction(PROD, &r).await.unwrap();
    }
    for subject in [ListSubject::Customer("cust".into()), ListSubject::Service(77)] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = ListQuery {
                subject: subject.clone(),
                media_type: None,
                status: None,
                from: None,
                to: None,
                after: after.clone(),
                limit: 5,
            };
            let rows = f.store.context_list(PROD, &q).await.unwrap();
            if rows.is_empty() {
                break;
            }
            after =
                rows.last().map(|r| ListCursor { started_at: r.started_at, interaction_id: r.interaction_id.clone() });
            seen.extend(rows.into_iter().map(|r| (r.started_at, r.interaction_id)));
        }
        assert_eq!(seen.len(), 23, "{subject:?}");
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest start first, then greatest id");
    }
    let q = ListQuery {
        subject: ListSubject::Customer("cust".into()),
        media_type: Some("voice".into()),
        status: Some(0),
        from: Some(Millis(1_001_000)),
        to: Some(Millis(1_009_000)),
        after: None,
        limit: 100,
    };
    let ids: Vec<_> = f.store.context_list(PROD, &q).await.unwrap().into_iter().map(|r| r.interaction_id).collect();
    assert_eq!(ids, ["x12"], "voice is n%3==0, status 0 is n%4==0, inside the dates");
    // The dates and the cursor together: whichever bound is tighter wins; both dates inclusive.
    for (from, to, after, expected) in [
        (None, Some(1_005_000), Some((1_008_000, "x16")), vec!["x11", "x10", "x09"]),
        (None, Some(1_005_000), Some((1_003_000, "x07")), vec!["x06", "x05", "x04"]),
        (Some(1_002_000), Some(1_002_000), None, vec!["x05", "x04"]),
        (Some(1_010_000), None, Some((1_010_000, "x21")), vec!["x20"]),
    ] {
        let q = ListQuery {
            subject: ListSubject::Customer("cust".into()),
            media_type: None,
            status: None,
            from: from.map(Millis),
            to: to.map(Millis),
            after: after.map(|(s, id): (i64, &str)| ListCursor { started_at: Millis(s), interaction_id: id.into() }),
            limit: 3,
        };
        let ids: Vec<_> = f.store.context_list(PROD, &q).await.unwrap().into_iter().map(|r| r.interaction_id).collect();
        assert_eq!(ids, expected, "from {from:?} to {to:?} after {after:?}");
    }
    let none = ListQuery::first_page(ListSubject::Customer("cust".into()), 10);
    assert!(f.store.context_list(STAGING, &none).await.unwrap().is_empty());
}

async fn reads_never_wait_for_a_writer(backend: Backend) {
    let f = fixture(backend).await;
    f.store.put_interaction(PROD, &interaction("w", 1_000_000, 1)).await.unwrap();
    // A writer holds an uncommitted change of that very interaction while the reads run.
    let rewrite = "UPDATE interactions SET last_activity = last_activity + 1 WHERE id = 'w'";
    let read_all = || async {
        let flow = f.store.flow(PROD, FlowTarget::UniqueId("w"), Millis(0)).await.unwrap().unwrap();
        let row = f.store.context_interaction(PROD, "w").await.unwrap().unwrap();
        (flow.into_json_array(), row.ended_at)
    };
    let before = read_all().await;
    let waited = match &f.db {
        Database::Sqlite(s) => {
            let mut tx = s.pool().begin().await.unwrap();
            sqlx::query(rewrite).execute(&mut *tx).await.unwrap();
            let timed = tokio::time::timeout(std::time::Duration::from_secs(2), read_all()).await;
            tx.rollback().await.unwrap();
            timed
        }
        Database::Postgres(p) => {
            let mut tx = p.pool().begin().await.unwrap();
            sqlx::query(rewrite).execute(&mut *tx).await.unwrap();
            let timed = tokio::time::timeout(std::time::Duration::from_secs(2), read_all()).await;
            tx.rollback().await.unwrap();
            timed
        }
    };
    assert_eq!(waited.expect("the reads answered while the write was open"), before, "committed data only");
}

async fn lookups_are_served_by_indexes(backend: Backend) {
    let f = fixture(backend).await;
    for lookup in Lookup::ALL {
        let plan = f.db.explain(lookup).await.unwrap();
        let list = matches!(lookup, Lookup::ContextByCustomer | Lookup::ContextByService);
        match backend {
            Backend::Sqlite => {
                for line in plan.lines() {
                    // A full scan of a table shows as `SCAN <table>` without an index.
                    let full_scan = line.contains("SCAN ") && !line.contains("USING") && !line.contains("SCAN w");
                    assert!(!full_scan, "{lookup:?} scans a table:\n{plan}");
                }
                assert!(plan.contains("INDEX"), "{lookup:?}:\n{plan}");
                // Only the unique-id lookup sorts, and only the matches of one value on their ties.
                if lookup != Lookup::UniqueIdByAttribute {
                    assert!(!plan.contains("TEMP B-TREE"), "{lookup:?} sorts on every lookup:\n{plan}");
                }
                if list {
                    assert!(plan.contains(")<(?,?)"), "{lookup:?} does not seek to the cursor:\n{plan}");
                }
            }
            Backend::Postgres => {
                assert!(!plan.contains("Seq Scan"), "{lookup:?} scans a table:\n{plan}");
                assert!(plan.contains("Index"), "{lookup:?}:\n{plan}");
                if list {
                    assert!(!plan.contains("Sort"), "{lookup:?} sorts on every page:\n{plan}");
                    // Both pages (the first, and a filtered one after a cursor) seek to their bound.
                    let seeks = plan.lines().filter(|l| l.contains("Index Cond") && l.contains(") < ROW(")).count();
                    assert_eq!(seeks, 2, "{lookup:?} does not seek to the cursor:\n{plan}");
                }
            }
        }
        eprintln!("{backend:?} {lookup:?}:\n{plan}\n");
    }
}

async fn live_feed_appends_allocates_and_ends_in_one_transaction_each(backend: Backend) {
    let f = fixture(backend).await;
    let start = 1_000_000;
    f.store
        .put_interaction(
            PROD,
            &record(serde_json::json!({"id": "live", "started_at": iso(start), "pages": [page("p0", start + 1_000)]})),
        )
        .await
        .unwrap();
    let pages = |p: serde_json::Value| serde_json::from_value::<ixgw_core::model::page::Page>(p).unwrap();
    let flow_len = |cutoff: i64| {
        let store = f.store.clone();
        async move { store.flow(PROD, FlowTarget::UniqueId("live"), Millis(cutoff)).await.unwrap().map(|fl| fl.len()) }
    };

    let done = f.store.append_page(PROD, "live", &pages(page("p1", start + 2_000))).await.unwrap();
    assert_eq!(done, Ok(PageAppended { index: 1, added: true }));
    assert_eq!(flow_len(start + 2_000).await, Some(2), "the last activity moved to the new page");
    assert_eq!(flow_len(start + 2_001).await, None);
    let again = f.store.append_page(PROD, "live", &pages(page("p1", start + 2_000))).await.unwrap();
    assert_eq!(again, Ok(PageAppended { index: 1, added: false }), "a retried page is not stored twice");
    let older = f.store.append_page(PROD, "live", &pages(page("late", start + 1_500))).await.unwrap();
    assert_eq!(older, Err(LiveRefusal::PageOutOfOrder { newest: Millis(start + 2_000) }));
    let same_instant = f.store.append_page(PROD, "live", &pages(page("p2", start + 2_000))).await.unwrap();
    assert_eq!(same_instant, Ok(PageAppended { index: 2, added: true }), "an equal timestamp is in order");
    let flow = f.store.flow(PROD, FlowTarget::UniqueId("live"), Millis(0)).await.unwrap().unwrap();
    let titles: Vec<bool> = ["p0", "p1", "p2"].iter().zip(flow.pages()).map(|(t, json)| json.contains(t)).collect();
    assert_eq!(titles, [true, true, true], "{flow:?}");
    for (at, id) in [(PROD, "nope"), (STAGING, "live")] {
        assert_eq!(
            f.store.append_page(at, id, &pages(page("x", start))).await.unwrap(),
            Err(LiveRefusal::UnknownInteraction)
        );
    }

    // Allocations follow the core rule: the latest per kind counts, equal times go to the one recorded last.
    let allocation = |value: &str, ms: i64| CallerAttribute {
        kind: CallerAttributeKind::Dtmf,
        value: value.into(),
        allocated_at: ixgw_core::model::time::IsoDate(Millis(ms)),
    };
    let steps = [
        (allocation("111", start + 500), Ok(AttributeAllocated { added: true, current: true })),
        (allocation("222", start + 100), Ok(AttributeAllocated { added: true, current: false })),
        (allocation("333", start + 500), Ok(AttributeAllocated { added: true, current: true })),
        (allocation("111", start + 500), Ok(AttributeAllocated { added: false, current: false })),
        (allocation("333", start + 500), Ok(AttributeAllocated { added: false, current: true })),
    ];
    let mut recorded = Vec::new();
    for (a, expected) in steps {
        assert_eq!(f.store.allocate_attribute(PROD, "live", &a).await.unwrap(), expected, "{a:?}");
        if expected.is_ok_and(|e| e.added) {
            recorded.push(a);
        }
    }
    for value in ["111", "222", "333"] {
        let by_rule = attributes::matching_allocation(&recorded, value, Some(CallerAttributeKind::Dtmf)).is_some();
        let found = f.store.unique_id_for(PROD, CallerAttributeKind::Dtmf, value, Millis(0)).await.unwrap();
        assert_eq!(found.is_some(), by_rule, "{value}");
    }
    assert_eq!(
        f.store.allocate_attribute(PROD, "nope", &allocation("1", 1)).await.unwrap(),
        Err(LiveRefusal::UnknownInteraction)
    );

    // The end: not before the start; it becomes the last activity, and later pages do not move it.
    assert_eq!(
        f.store.end_interaction(PROD, "live", Millis(start - 1)).await.unwrap(),
        Err(LiveRefusal::EndBeforeStart { started_at: Millis(start) })
    );
    assert_eq!(
        f.store.end_interaction(PROD, "nope", Millis(start)).await.unwrap(),
        Err(LiveRefusal::UnknownInteraction)
    );
    f.store.end_interaction(PROD, "live", Millis(start + 10_000)).await.unwrap().unwrap();
    assert_eq!(
        f.store.append_page(PROD, "live", &pages(page("after", start + 20_000))).await.unwrap().map(|p| p.index),
        Ok(3)
    );
    assert_eq!(flow_len(start + 10_000).await, Some(4));
    assert_eq!(flow_len(start + 10_001).await, None, "the end, not the late page, is the last activity");
    let row = f.store.context_interaction(PROD, "live").await.unwrap().unwrap();
    assert_eq!(row.ended_at, Some(Millis(start + 10_000)));

    // The same history imported whole is stored the same way (the live writes keep every invariant).
    let whole = f.store.flow(PROD, FlowTarget::UniqueId("live"), Millis(0)).await.unwrap().unwrap();
    let mut as_record =
        record(serde_json::json!({"id": "whole", "started_at": iso(start), "ended_at": iso(start + 10_000)}));
    as_record.pages = whole.pages().map(|j| serde_json::from_str(j).unwrap()).collect();
    as_record.caller_attributes = recorded;
    f.store.put_interaction(PROD, &as_record).await.unwrap();
    let children = |db: &Database, id: &'static str| {
        let db = db.clone();
        async move {
            let pk_of = |row: &String| row.split('|').next().unwrap().to_string();
            let rows = dump(&db).await;
            let pk = rows
                .iter()
                .find(|r| r.starts_with("interactions: ") && r.contains(&format!("\"{id}\"")))
                .map(|r| pk_of(&r["interactions: ".len()..].to_string()))
                .unwrap();
            rows.iter()
                .filter(|r| {
                    !r.starts_with("interactions: ")
                        && r.split_once(": ").is_some_and(|(_, rest)| rest.split('|').next() == Some(pk.as_str()))
                })
                .map(|r| r.replacen(&pk, "PK", 1))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(children(&f.db, "live").await, children(&f.db, "whole").await);
}

async fn erasure_removes_everything_and_says_what(backend: Backend) {
    let f = fixture(backend).await;
    let full = |id: &str, customer: &str| {
        record(serde_json::json!({
            "id": id, "customer_id": customer, "service_ids": [1, 2], "started_at": iso(5_000), "ended_at": iso(9_000),
            "caller_attributes": [{"kind": "dtmf", "value": format!("{id}-dtmf"), "allocated_at": iso(5_100)},
                                  {"kind": "historySearchId", "value": "h0", "allocated_at": iso(5_200)},
                                  {"kind": "historySearchId", "value": "h1", "allocated_at": iso(5_300)}],
            "content": {"plain_text": "hi", "structured_text": "<x/>", "binary_content_base64": "AAEC"},
            "variable_sets": {"s": {"a": "1"}, "t": {"b": "2"}},
            "pages": [page("one", 5_500), page("two", 6_000)],
            "photos": [{"path": "/p/1", "mime": "image/png", "data_base64": "AAEC"}]
        }))
    };
    f.store.put_interaction(PROD, &full("r1", "c1")).await.unwrap();
    f.store.put_interaction(PROD, &full("r2", "c1")).await.unwrap();
    f.store.put_interaction(PROD, &interaction("r3", 5_000, 1)).await.unwrap();
    f.store.put_interaction(PROD, &full("r4", "c2")).await.unwrap();
    f.store.put_interaction(STAGING, &full("r1", "c1")).await.unwrap();
    let before = dump(&f.db).await;

    let one = Erased {
        interactions: 1,
        pages: 2,
        caller_attributes: 3,
        photos: 1,
        variable_sets: 2,
        content_parts: 3,
        service_links: 2,
    };
    assert_eq!(f.store.erase(EraseTarget::Interaction(PROD, "r1")).await.unwrap(), one);
    assert!(f.store.context_interaction(PROD, "r1").await.unwrap().is_none());
    assert!(f.store.photo(PROD, "r1", "/p/1").await.unwrap().is_none());
    assert!(f.store.flow(PROD, FlowTarget::CallerAttribute("r1-dtmf"), Millis(0)).await.unwrap().is_none());
    assert!(f.store.context_interaction(STAGING, "r1").await.unwrap().is_some(), "another environment keeps its own");
    assert_eq!(f.store.erase(EraseTarget::Interaction(PROD, "r1")).await.unwrap(), Erased::default());

    let mut two = one;
    two.add(Erased { interactions: 1, pages: 1, ..Erased::default() });
    f.store
        .put_interaction(
            PROD,
            &record(
                serde_json::json!({"id": "r5", "customer_id": "c1", "started_at": iso(1), "pages": [page("x", 2)]}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(f.store.erase(EraseTarget::Customer(PROD, "c1")).await.unwrap(), two);
    for id in ["r2", "r5"] {
        assert!(f.store.context_interaction(PROD, id).await.unwrap().is_none(), "{id}");
    }
    let c1 = ListQuery::first_page(ListSubject::Customer("c1".into()), 10);
    assert!(f.store.context_list(PROD, &c1).await.unwrap().is_empty());
    assert_eq!(f.store.context_list(STAGING, &c1).await.unwrap().len(), 1);
    let other = Partition { tenant: "99999999", environment: "production" };
    assert_eq!(
        f.store.erase(EraseTarget::Customer(other, "c2")).await.unwrap(),
        Erased::default(),
        "bound to the partition"
    );

    // Nothing of the erased interactions is left in any table; everything else is untouched.
    let after = dump(&f.db).await;
    let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    assert!(after.iter().all(|r| before.contains(r)));
    let tables: Vec<&str> = gone.iter().map(|r| r.split(": ").next().unwrap()).collect();
    for (table, n) in [
        ("interactions", 2),
        ("pages", 4),
        ("caller_attributes", 6),
        ("current_attributes", 4),
        ("photos", 2),
        ("interaction_services", 4),
    ] {
        assert_eq!(tables.iter().filter(|t| **t == table).count(), n, "{table}: {gone:#?}");
    }
}

async fn purging_removes_exactly_what_is_older_than_the_cutoff(backend: Backend) {
    let f = fixture(backend).await;
    let cutoff = 2_000_000;
    let other = Partition { tenant: "99999999", environment: "production" };
    let mut expected_gone = Vec::new();
    for n in 0..60 {
        // Last activities around the cut-off, many equal (batch bounds fall on ties), a few exactly on it.
        let last = cutoff - 30_000 + (n / 3) as i64 * 3_000;
        let at = [PROD, STAGING, other][n % 3];
        let id = format!("p{n:02}");
        let r = record(serde_json::json!({
            "id": id,
            "started_at": iso(last - 60_000),
            "ended_at": iso(last),
            "caller_attributes": [{"kind": "dtmf", "value": id, "allocated_at": iso(last - 1)}],
            "pages": [page("x", last - 1)]
        }));
        f.store.put_interaction(at, &r).await.unwrap();
        if last < cutoff {
            expected_gone.push((at, id));
        }
    }
    let mut total = Erased::default();
    let mut batches = 0;
    loop {
        let batch = f.store.erase(EraseTarget::InactiveBefore { cutoff: Millis(cutoff), batch: 4 }).await.unwrap();
        if batch.interactions == 0 {
            break;
        }
        assert!(batch.interactions >= 4 || total.interactions + batch.interactions == expected_gone.len() as u64);
        total.add(batch);
        batches += 1;
    }
    assert_eq!(total, Erased { interactions: 30, pages: 30, caller_attributes: 30, ..Erased::default() });
    assert!(batches > 1, "the purge went in batches");
    for n in 0..60 {
        let at = [PROD, STAGING, other][n % 3];
        let id = format!("p{n:02}");
        let kept = f.store.context_interaction(at, &id).await.unwrap().is_some();
        assert_eq!(kept, !expected_gone.contains(&(at, id.clone())), "{id}");
    }
}

async fn an_unreachable_database_is_unavailable_not_broken(backend: Backend) {
    if backend == Backend::Postgres {
        let pool = PoolSettings {
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_millis(500),
            ..PoolSettings::default()
        };
        let db = Database::connect("postgres://nobody@127.0.0.1:1/none", &pool).await.unwrap();
        assert!(matches!(db.store().ping().await, Err(StoreError::Unavailable(_))));
    } else {
        let err = Database::connect("sqlite:///proc/definitely/not/here.db", &PoolSettings::default()).await;
        assert!(err.is_err());
    }
}

async fn shadow_counts_add_up_and_samples_keep_the_newest_per_operation(backend: Backend) {
    let f = fixture(backend).await;
    let count = |minute, operation: &str, outcome: &str, count| ShadowCount {
        minute,
        operation: operation.into(),
        outcome: outcome.into(),
        count,
    };
    let sample = |at, operation: &str| ShadowSample {
        at,
        operation: operation.into(),
        outcome: "differ".into(),
        tenant: T.into(),
        request: format!("GET /{at}"),
        vendor_status: 200,
        vendor_body: vec![0, 159, 146, 150],
        local_status: 404,
        local_body: b"no".to_vec(),
    };
    let minute = 29_000_000;
    let at = minute * 60_000;
    f.db.record_shadow(
        &[count(minute, "fullFlow", "same", 3), count(minute, "fullFlow", "differ", 1)],
        &[sample(at, "fullFlow")],
        2,
    )
    .await
    .unwrap();
    let later: Vec<ShadowSample> = (1..=3).map(|i| sample(at + i, "fullFlow")).collect();
    f.db.record_shadow(&[count(minute, "fullFlow", "same", 2), count(minute + 5, "summary", "missing", 1)], &later, 2)
        .await
        .unwrap();
    f.db.record_shadow(&[], &[sample(at + 10, "summary")], 2).await.unwrap();
    let (counts, samples) = f.db.shadow_report(0).await.unwrap();
    assert_eq!(
        counts,
        vec![
            count(minute, "fullFlow", "differ", 1),
            count(minute, "fullFlow", "same", 5),
            count(minute + 5, "summary", "missing", 1)
        ]
    );
    let kept: Vec<(String, i64)> = samples.iter().map(|s| (s.operation.clone(), s.at)).collect();
    assert_eq!(
        kept,
        vec![("fullFlow".into(), at + 2), ("fullFlow".into(), at + 3), ("summary".into(), at + 10)],
        "the newest 2 per operation"
    );
    assert_eq!(samples[0], sample(at + 2, "fullFlow"), "bytes and statuses as written");
    let (counts, samples) = f.db.shadow_report((minute + 5) * 60_000).await.unwrap();
    assert_eq!((counts.len(), samples.len()), (1, 0), "--since");
}
