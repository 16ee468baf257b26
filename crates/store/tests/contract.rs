//! The store contract: the same tests against SQLite and PostgreSQL (`sqlite::…`, `postgres::…`).

use ixgw_core::attributes::{self, Candidate};
use ixgw_core::record::{CallerAttributeKind, InteractionRecord};
use ixgw_core::store::{ContentPart, FlowTarget, KeyRecord, ListCursor, ListQuery, ListSubject, Partition};
use ixgw_core::tenancy::NewKey;
use ixgw_core::{HistoryStore, Millis, Scope, StoreError};
use ixgw_store::{Database, Lookup, PoolSettings};
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
    serde_json::json!({"pageNavigation": {"navigationTitle": title}, "pageContent": {"contentSections": []}, "timestamp": ts})
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
    let tables = [
        ("tenants", "account_id"),
        ("environments", "tenant, name"),
        ("api_keys", "key_id"),
        ("interactions", "pk"),
        ("interaction_services", "interaction_pk, service_id"),
        ("pages", "interaction_pk, seq"),
        ("caller_attributes", "interaction_pk, seq"),
        ("current_attributes", "interaction_pk, kind"),
        ("photos", "interaction_pk, path"),
    ];
    let mut out = Vec::new();
    for (table, order) in tables {
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

fn render_sqlite(row: &sqlx::sqlite::SqliteRow) -> String {
    (0..row.len())
        .map(|i| {
            row.try_get::<Option<i64>, _>(i)
                .map(|v| format!("{v:?}"))
                .or_else(|_| row.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                .or_else(|_| row.try_get::<Option<Vec<u8>>, _>(i).map(|v| format!("{v:?}")))
                .unwrap()
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn render_pg(row: &sqlx::postgres::PgRow) -> String {
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
}

/// A small deterministic generator, so the randomized agreement test is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

store_tests! {
    async fn flows_come_back_in_order_and_empty_is_not_missing(backend) {
        let f = fixture(backend).await;
        f.store.put_interaction(PROD, &interaction("a", 1_000_000, 3)).await.unwrap();
        f.store.put_interaction(PROD, &interaction("empty", 1_000_000, 0)).await.unwrap();
        let flow = f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(0)).await.unwrap().unwrap();
        assert_eq!(flow.interaction_id, "a");
        assert_eq!(flow.pages_json.len(), 3);
        for (i, json) in flow.pages_json.iter().enumerate() {
            assert!(json.contains(&format!("a page {i}")), "{json}");
        }
        let empty = f.store.flow(PROD, FlowTarget::UniqueId("empty"), Millis(0)).await.unwrap().unwrap();
        assert!(empty.pages_json.is_empty());
        assert!(f.store.flow(PROD, FlowTarget::UniqueId("nope"), Millis(0)).await.unwrap().is_none());
        // The window: last activity is the end, start + 60 s.
        assert!(f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(1_060_000)).await.unwrap().is_some());
        assert!(f.store.flow(PROD, FlowTarget::UniqueId("a"), Millis(1_060_001)).await.unwrap().is_none());
    }

    async fn partitions_never_see_each_other(backend) {
        let f = fixture(backend).await;
        f.store.put_interaction(PROD, &interaction("same", 1_000, 1)).await.unwrap();
        f.store.put_interaction(STAGING, &interaction("same", 2_000, 2)).await.unwrap();
        let other = Partition { tenant: "99999999", environment: "production" };
        assert_eq!(f.store.flow(PROD, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().unwrap().pages_json.len(), 1);
        assert_eq!(f.store.flow(STAGING, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().unwrap().pages_json.len(), 2);
        assert!(f.store.flow(other, FlowTarget::UniqueId("same"), Millis(0)).await.unwrap().is_none());
        assert!(f.store.context_interaction(other, "same").await.unwrap().is_none());
        // A partition that does not exist cannot be written to.
        let ghost = Partition { tenant: T, environment: "nowhere" };
        assert!(matches!(f.store.put_interaction(ghost, &interaction("x", 1, 0)).await, Err(StoreError::Missing(_))));
    }

    async fn storing_twice_leaves_the_store_identical_and_replaces_whole(backend) {
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
        assert_eq!(flow.pages_json.len(), 1);
        assert!(f.store.flow(PROD, FlowTarget::CallerAttribute("4567"), Millis(0)).await.unwrap().is_none(), "old attributes must go");
        assert!(f.store.photo(PROD, "r1", "/p/1").await.unwrap().is_none(), "old photos must go");
        let row = f.store.context_interaction(PROD, "r1").await.unwrap().unwrap();
        assert!(!row.has_plain_text && row.context_json.is_none() && row.customer_id.is_none());
        let services = ListQuery { subject: ListSubject::Service(1), media_type: None, status: None, from: None, to: None, after: None, limit: 10 };
        assert!(f.store.context_list(PROD, &services).await.unwrap().is_empty(), "old service links must go");
    }

    async fn a_failed_replacement_leaves_the_old_version_whole(backend) {
        let f = fixture(backend).await;
        f.store.put_interaction(PROD, &interaction("atomic", 1_000, 2)).await.unwrap();
        // Two photos with one path: the types allow it, the validation (skipped here) and the
        // table's key do not. The failure comes after pages were already written in the transaction.
        let mut bad = interaction("atomic", 1_000, 5);
        let photo = ixgw_core::record::Photo { path: "/dup".into(), mime: "image/png".into(), data: ixgw_core::record::Base64Bytes(vec![1]) };
        bad.photos = vec![photo.clone(), photo];
        assert!(bad.validate().is_err());
        assert!(f.store.put_interaction(PROD, &bad).await.is_err());
        let flow = f.store.flow(PROD, FlowTarget::UniqueId("atomic"), Millis(0)).await.unwrap().unwrap();
        assert_eq!(flow.pages_json.len(), 2, "the old version must be intact");
    }

    async fn caller_attribute_resolution_agrees_with_the_core_rule(backend) {
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

    async fn tenants_and_keys(backend) {
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
        let rec = KeyRecord { key_id: &key.key_id, digest: &key.digest, tenant: T, environment: "staging", scope: Scope::Ingest, created_at: Millis(7) };
        f.store.create_key(&rec).await.unwrap();
        assert!(matches!(f.store.create_key(&rec).await, Err(StoreError::Conflict(_))));
        let stored = f.store.key_by_digest(&key.digest).await.unwrap().unwrap();
        assert_eq!((stored.tenant.as_str(), stored.environment.as_str(), stored.scope), (T, "staging", Scope::Ingest));
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
        assert!(matches!(f.store.create_key(&KeyRecord { key_id: &other.key_id, digest: &other.digest, ..bad }).await, Err(StoreError::Missing(_))));
    }

    async fn content_photos_and_variable_sets(backend) {
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

    async fn context_lists_page_through_everything_newest_first(backend) {
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
                let q = ListQuery { subject: subject.clone(), media_type: None, status: None, from: None, to: None, after: after.clone(), limit: 5 };
                let rows = f.store.context_list(PROD, &q).await.unwrap();
                if rows.is_empty() { break; }
                after = rows.last().map(|r| ListCursor { started_at: r.started_at, interaction_id: r.interaction_id.clone() });
                seen.extend(rows.into_iter().map(|r| (r.started_at, r.interaction_id)));
            }
            assert_eq!(seen.len(), 23, "{subject:?}");
            let mut sorted = seen.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(seen, sorted, "newest start first, then greatest id");
        }
        let q = ListQuery { subject: ListSubject::Customer("cust".into()), media_type: Some("voice".into()), status: Some(0),
                            from: Some(Millis(1_001_000)), to: Some(Millis(1_009_000)), after: None, limit: 100 };
        let ids: Vec<_> = f.store.context_list(PROD, &q).await.unwrap().into_iter().map(|r| r.interaction_id).collect();
        assert_eq!(ids, ["x12"], "voice is n%3==0, status 0 is n%4==0, inside the dates");
        let none = ListQuery { subject: ListSubject::Customer("cust".into()), media_type: None, status: None, from: None, to: None, after: None, limit: 10 };
        assert!(f.store.context_list(STAGING, &none).await.unwrap().is_empty());
    }

    async fn lookups_are_served_by_indexes(backend) {
        let f = fixture(backend).await;
        for lookup in Lookup::ALL {
            let plan = f.db.explain(lookup).await.unwrap();
            match backend {
                Backend::Sqlite => {
                    for line in plan.lines() {
                        // A full scan of a table shows as `SCAN <table>` without an index.
                        let full_scan = line.contains("SCAN ") && !line.contains("USING") && !line.contains("SCAN w");
                        assert!(!full_scan, "{lookup:?} scans a table:\n{plan}");
                    }
                    assert!(plan.contains("INDEX"), "{lookup:?}:\n{plan}");
                }
                Backend::Postgres => {
                    assert!(!plan.contains("Seq Scan"), "{lookup:?} scans a table:\n{plan}");
                    assert!(plan.contains("Index"), "{lookup:?}:\n{plan}");
                }
            }
            eprintln!("{backend:?} {lookup:?}:\n{plan}\n");
        }
    }

    async fn an_unreachable_database_is_unavailable_not_broken(backend) {
        if backend == Backend::Postgres {
            let pool = PoolSettings { max_connections: 1, acquire_timeout: std::time::Duration::from_millis(500) };
            let db = Database::connect("postgres://nobody@127.0.0.1:1/none", &pool).await.unwrap();
            assert!(matches!(db.store().ping().await, Err(StoreError::Unavailable(_))));
        } else {
            let err = Database::connect("sqlite:///proc/definitely/not/here.db", &PoolSettings::default()).await;
            assert!(err.is_err());
        }
    }
}
