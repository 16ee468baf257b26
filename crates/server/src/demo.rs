//! The demo: the fixtures of `fixtures/demo`, built into the binary, loaded with their dates moved so
//! that the recent interactions stay inside the default 3-month window whenever the demo starts.

use crate::import::{import_stream, ImportReport};
use chrono::{TimeZone, Utc};
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::{HistoryService, Millis, Scope, StoreError};

pub const DEMO_TENANT: &str = "12345678";
pub const DEMO_KEY: &str = "demo-application-key";
/// The demo's key for its `staging` environment (keys belong to one environment).
pub const DEMO_STAGING_KEY: &str = "demo-staging-key";
pub const DEMO_ENVIRONMENTS: [&str; 2] = ["production", "staging"];

/// The day the demo fixtures were written as if it were today.
pub fn anchor() -> Millis {
    Millis::from_datetime(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("a valid date"))
}

/// Interact demo records: dates relative to [`anchor`].
pub const INTERACTIONS: &str = include_str!("../../../fixtures/demo/interactions.ndjson");
/// The Context Services seed's chat: loaded as written (its 2009 dates are part of the seed).
pub const CONTEXT_SERVICES: &str = include_str!("../../../fixtures/demo/context-services.ndjson");

/// Creates the demo tenant and its keys if missing.
pub async fn ensure_tenant_and_key(service: &HistoryService) -> Result<(), StoreError> {
    let store = service.store();
    match store.tenant(DEMO_TENANT).await? {
        Some(t) => {
            for env in DEMO_ENVIRONMENTS {
                if !t.environments.iter().any(|e| e.name == env) {
                    store.add_environment(DEMO_TENANT, env).await?;
                }
            }
        }
        None => {
            let envs: Vec<String> = DEMO_ENVIRONMENTS.iter().map(|e| e.to_string()).collect();
            store.create_tenant(DEMO_TENANT, "Demo contact centre", &envs).await?;
        }
    }
    for (text, environment) in [(DEMO_KEY, DEMO_ENVIRONMENTS[0]), (DEMO_STAGING_KEY, DEMO_ENVIRONMENTS[1])] {
        let key = NewKey::from_text(text.to_string());
        let record = ixgw_core::store::KeyRecord {
            key_id: &key.key_id,
            digest: &key.digest,
            tenant: DEMO_TENANT,
            environment,
            scope: Scope::Read,
            created_at: Millis::now(),
        };
        match store.create_key(&record).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Loads every demo record, the Interact ones moved by `now − anchor`.
pub async fn load(service: &HistoryService, now: Millis) -> Result<ImportReport, StoreError> {
    ensure_tenant_and_key(service).await?;
    let shift = now.0 - anchor().0;
    let mut report = import_stream(service, "interactions.ndjson", INTERACTIONS.as_bytes(), None, shift, None).await?;
    let seed = import_stream(service, "context-services.ndjson", CONTEXT_SERVICES.as_bytes(), None, 0, None).await?;
    report.merge(seed);
    Ok(report)
}
