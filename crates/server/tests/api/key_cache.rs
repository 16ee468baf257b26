//! The key cache (`[server] key_cache_ms`): a revoked key keeps working at most that long, then
//! fails; without the cache it fails at once.

use crate::helpers::*;
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::store::KeyRecord;
use ixgw_core::{AuthFailure, Credentials, HistoryError, HistoryService, Millis, Scope};
use std::time::{Duration, Instant};

const TENANT: &str = "12345678";

async fn check(service: &HistoryService, key: &str) -> Result<(), HistoryError> {
    let credentials = Credentials { key: Some(key), environment: None };
    service.authenticate(TENANT, credentials, Scope::Read).await.map(|_| ())
}

fn revoked(result: Result<(), HistoryError>) -> bool {
    matches!(result, Err(HistoryError::Unauthenticated(AuthFailure::RevokedKey)))
}

store_tests!(
    a_revoked_key_fails_within_the_cache_ttl,
    without_the_cache_revocation_is_immediate,
    unknown_keys_are_not_remembered
);

async fn a_revoked_key_fails_within_the_cache_ttl(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ttl = Duration::from_millis(400);
    let cached = HistoryService::new(app.database.store()).with_key_cache(ttl);
    let key = app.add_key(TENANT, "production", "read").await;
    check(&cached, &key).await.expect("a live key");
    let revoked_at = Instant::now();
    app.revoke_key(&key).await;
    // Remembered: still accepted while the entry is fresh (the store is not asked).
    let remembered = check(&cached, &key).await;
    assert!(remembered.is_ok() || revoked_at.elapsed() >= ttl, "{remembered:?}");
    tokio::time::sleep(ttl).await;
    assert!(revoked(check(&cached, &key).await), "revocation must take effect once the entry expires");
}

async fn without_the_cache_revocation_is_immediate(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.key_cache_ms = 0).await;
    let key = app.add_key(TENANT, "production", "read").await;
    check(&app.service, &key).await.expect("a live key");
    app.revoke_key(&key).await;
    assert!(revoked(check(&app.service, &key).await));
}

async fn unknown_keys_are_not_remembered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cached = HistoryService::new(app.database.store()).with_key_cache(Duration::from_secs(60));
    let key = NewKey::generate();
    assert!(matches!(check(&cached, &key.key).await, Err(HistoryError::Unauthenticated(AuthFailure::UnknownKey))));
    // The same key text is created after the failed attempt: it works at once.
    let record = KeyRecord {
        key_id: &key.key_id,
        digest: &key.digest,
        tenant: TENANT,
        environment: "production",
        scope: Scope::Read,
        created_at: Millis::now(),
    };
    app.service.store().create_key(&record).await.expect("key created");
    check(&cached, &key.key).await.expect("a key created after a failed attempt");
}
