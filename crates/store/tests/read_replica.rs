//! `database.read_url`: the read routes go to the replica, keys and writes to the primary.
//! Two separate PostgreSQL databases stand in for a primary and its standby, so that where each
//! answer came from shows.

use ixgw_core::model::record::InteractionRecord;
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::store::{FlowTarget, KeyRecord, ListQuery, ListSubject, Partition};
use ixgw_core::{Millis, Scope};
use ixgw_store::{Database, PoolSettings};
use ixgw_testkit::Backend;

const AT: Partition<'static> = Partition { tenant: "12345678", environment: "production" };

fn record(id: &str, pages: usize) -> InteractionRecord {
    let pages: Vec<_> = (0..pages)
        .map(|i| serde_json::json!({"pageNavigation": {"navigationTitle": format!("{id} {i}")}, "pageContent": {"contentSections": []}, "timestamp": 1_000 + i}))
        .collect();
    let json = serde_json::json!({"id": id, "customer_id": "c", "started_at": "2026-01-01T00:00:00Z", "pages": pages});
    InteractionRecord::from_json(&json.to_string()).unwrap()
}

async fn prepared(url: &str) -> Database {
    let db = Database::connect(url, &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();
    db.store().create_tenant(AT.tenant, "Demo", &["production".into()]).await.unwrap();
    db
}

#[tokio::test]
async fn reads_go_to_the_replica_keys_and_writes_to_the_primary() {
    if !Backend::postgres_enabled() {
        return;
    }
    let (primary_db, replica_db) = (Backend::Postgres.fresh_database().await, Backend::Postgres.fresh_database().await);
    let (primary, replica) = (prepared(&primary_db.url).await, prepared(&replica_db.url).await);
    // The "replica" holds an older copy of `a` (1 page) and nothing else.
    replica.store().put_interaction(AT, &record("a", 1)).await.unwrap();

    let split = Database::connect(&primary_db.url, &PoolSettings::default())
        .await
        .unwrap()
        .with_read_replica(&replica_db.url, &PoolSettings::default())
        .unwrap();
    let store = split.store();
    store.put_interaction(AT, &record("a", 3)).await.unwrap();
    store.put_interaction(AT, &record("b", 2)).await.unwrap();
    let key = NewKey::generate();
    let stored_key = KeyRecord {
        key_id: &key.key_id,
        digest: &key.digest,
        tenant: AT.tenant,
        environment: AT.environment,
        scope: Scope::Read,
        created_at: Millis::now(),
    };
    store.create_key(&stored_key).await.unwrap();

    let flow = |id| store.flow(AT, FlowTarget::UniqueId(id), Millis(0));
    assert_eq!(flow("a").await.unwrap().map(|f| f.len()), Some(1), "the flow is read from the replica");
    assert!(flow("b").await.unwrap().is_none(), "not replicated yet: not on the read side");
    let list = ListQuery::first_page(ListSubject::Customer("c".into()), 10);
    assert_eq!(store.context_list(AT, &list).await.unwrap().len(), 1, "Context Services read the replica");
    assert!(store.context_interaction(AT, "b").await.unwrap().is_none());

    let written = primary.store().flow(AT, FlowTarget::UniqueId("b"), Millis(0)).await.unwrap();
    assert_eq!(written.map(|f| f.len()), Some(2), "writes went to the primary");
    assert!(store.key_by_digest(&key.digest).await.unwrap().is_some(), "keys are checked on the primary");
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_read_replica_needs_postgresql() {
    let sqlite = Database::connect("sqlite::memory:", &PoolSettings::default()).await.unwrap();
    let refused = sqlite.with_read_replica("postgres://u@127.0.0.1:1/db", &PoolSettings::default()).err().unwrap();
    assert!(refused.to_string().contains("needs a PostgreSQL primary"), "{refused}");
    let postgres = Database::connect("postgres://u:secret@127.0.0.1:1/db", &PoolSettings::default()).await.unwrap();
    let refused = postgres.with_read_replica("sqlite://x.db", &PoolSettings::default()).err().unwrap();
    assert!(refused.to_string().contains("needs a PostgreSQL primary"), "{refused}");
}
