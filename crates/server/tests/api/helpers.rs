//! The harness: the gateway as `ixgw serve` starts it ([`ixgw::start`]), on 127.0.0.1:0 over a fresh
//! database, talked to over HTTP; [`Reply`], an answer read whole; `store_tests!`, each test on
//! SQLite and PostgreSQL. The real binary and clusters of a test's own are in [`process`].

pub mod process;

pub use ixgw_testkit::{store_tests, Backend};

use chrono::{TimeZone, Utc};
use ixgw::demo;
use ixgw::import::{import_stream, ImportReport};
use ixgw::settings::Settings;
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::store::KeyRecord;
use ixgw_core::{HistoryService, Millis, Scope};
use ixgw_store::Database;
use reqwest::header::HeaderMap;
use reqwest::Method;

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

    /// The gateway as `ixgw serve` starts it (settings first tweaked), over a fresh database.
    pub async fn spawn_full(backend: Backend, options: SpawnOptions, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::default();
        settings.server.workers = 2;
        settings.database.max_connections = 4;
        tweak(&mut settings);
        let db = backend.fresh_database().await;
        let start =
            ixgw::Start { database_url: Some(&db.url), migrate: true, demo: options.demo, fixed_now: options.now };
        let loopback = "127.0.0.1:0".parse().expect("an address");
        let started = ixgw::start(&settings, loopback, start).await.expect("the gateway starts");
        demo::ensure_tenant_and_key(&started.service).await.expect("demo tenant");
        let base_url = format!("http://{}", started.address);
        tokio::spawn(started.app.run());
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (service, database) = (started.service, started.database);
        TestApp { base_url, client, service, database, _db: db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A request to `path` with exactly these headers (and this body), its answer read whole.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Reply::read(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, headers, None).await
    }

    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> Reply {
        self.send(Method::POST, path, headers, Some(body.into())).await
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

/// One answer of the server, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a whole body").to_vec();
        Reply { status, headers, body }
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("a visible-ASCII header"))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    #[track_caller]
    pub fn assert(&self, status: u16, content_type: &str, body: &str) {
        assert_eq!((self.status, self.header("content-type"), self.text()), (status, Some(content_type), body));
    }
}
