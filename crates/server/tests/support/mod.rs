//! The server's test harness: the real application on 127.0.0.1:0 over a fresh database, talked to
//! over HTTP. Include with `#[macro_use] mod support;` (the macro is `store_tests!`).
#![allow(dead_code)]

pub mod process;

// Not every test binary uses both (those of `process` alone use neither).
#[allow(unused_imports)]
pub use ixgw_testkit::{store_tests, Backend};

use chrono::{TimeZone, Utc};
use ixgw::app::Application;
use ixgw::demo;
use ixgw::import::{import_stream, ImportReport};
use ixgw::settings::Settings;
use ixgw_core::store::KeyRecord;
use ixgw_core::tenancy::NewKey;
use ixgw_core::{HistoryService, Millis, Scope};
use ixgw_store::Database;
use std::net::TcpListener;
use std::sync::Arc;

/// The "now" of deterministic demo tests (golden files): the demo data is shifted as if the demo
/// started at this instant, and the service's clock stands still at it.
pub fn demo_now() -> Millis {
    Millis::from_datetime(Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).single().unwrap())
}

pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub service: HistoryService,
    pub database: Database,
    pub backend: Backend,
    _db: ixgw_testkit::TestDatabase,
}

pub struct SpawnOptions {
    pub demo: bool,
    /// A fixed clock (and demo shift); `None`: the real clock.
    pub now: Option<Millis>,
}

impl TestApp {
    /// Empty store with the demo tenant (production, staging) and the demo read key.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_full(backend, SpawnOptions { demo: false, now: None }, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_full(backend, SpawnOptions { demo: false, now: None }, tweak).await
    }

    /// As `ixgw serve --demo`: every demo fixture, dates shifted to the real now.
    pub async fn spawn_demo(backend: Backend) -> Self {
        Self::spawn_full(backend, SpawnOptions { demo: true, now: None }, |_| {}).await
    }

    /// The demo with the clock fixed at [`demo_now`]: answers are the same on every run.
    pub async fn spawn_demo_fixed(backend: Backend) -> Self {
        Self::spawn_full(backend, SpawnOptions { demo: true, now: Some(demo_now()) }, |_| {}).await
    }

    pub async fn spawn_full(backend: Backend, options: SpawnOptions, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::default();
        settings.server.workers = 2;
        settings.database.max_connections = 4;
        tweak(&mut settings);
        let db = backend.fresh_database().await;
        let database = ixgw::open_database(&settings, Some(&db.url), true).await.expect("the test database opens");
        let service = match options.now {
            Some(now) => HistoryService::with_clock(database.store(), Arc::new(move || now.to_datetime())),
            None => HistoryService::new(database.store()),
        };
        demo::ensure_tenant_and_key(&service).await.expect("demo tenant");
        if options.demo {
            let report = demo::load(&service, options.now.unwrap_or_else(Millis::now)).await.expect("demo loads");
            assert_eq!(report.rejected, 0, "demo records rejected: {:?}", report.first_rejections);
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let app = Application::build(&settings, service.clone(), listener).expect("the app builds");
        let base_url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run());
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { base_url, client, service, database, backend, _db: db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Imports records through the same path as `ixgw import`.
    pub async fn import_ndjson(&self, text: &str) -> ImportReport {
        import_stream(&self.service, "test", text.as_bytes(), None, 0, None).await.expect("the store answers")
    }

    pub async fn add_tenant(&self, account_id: &str, environments: &[&str]) {
        let envs: Vec<String> = environments.iter().map(|e| e.to_string()).collect();
        self.service
            .store()
            .create_tenant(account_id, &format!("tenant {account_id}"), &envs)
            .await
            .expect("tenant created");
    }

    /// A new key; returns the key text.
    pub async fn add_key(&self, tenant: &str, environment: &str, scope: &str) -> String {
        let key = NewKey::generate();
        let record = KeyRecord {
            key_id: &key.key_id,
            digest: &key.digest,
            tenant,
            environment,
            scope: Scope::parse(scope).expect("a scope"),
            created_at: Millis::now(),
        };
        self.service.store().create_key(&record).await.expect("key created");
        key.key
    }

    /// Revokes the key with this text.
    pub async fn revoke_key(&self, key: &str) {
        let id = NewKey::from_text(key.to_string()).key_id;
        assert!(self.service.store().revoke_key(&id).await.unwrap(), "key existed");
    }
}
