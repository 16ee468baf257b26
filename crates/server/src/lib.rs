//! The `ixgw` server: settings, the command line, the application and its start-up.

pub mod app;
pub mod cli;
pub mod cutover;
pub mod demo;
pub mod import;
pub mod limits;
pub mod openapi;
pub mod pull;
pub mod retention;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod ui;

use anyhow::{bail, Context};
use app::Application;
use ixgw_core::{HistoryService, HistoryStore, Millis};
use ixgw_store::{Database, PoolSettings};
use settings::Settings;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

/// Opens the database the settings name (`explicit` URL first), migrating it if asked.
pub async fn open_database(settings: &Settings, explicit_url: Option<&str>, migrate: bool) -> anyhow::Result<Database> {
    open_database_with(settings, explicit_url, migrate, pool_settings(settings)).await
}

/// The connection settings of `settings`.
pub fn pool_settings(settings: &Settings) -> PoolSettings {
    PoolSettings {
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        connect_timeout: Duration::from_millis(settings.database.connect_timeout_ms),
        // One reading thread per worker.
        sqlite_read_cache_kib: match settings.server.workers {
            0 => PoolSettings::default().sqlite_read_cache_kib,
            workers => PoolSettings::read_cache_for(workers),
        },
        ..PoolSettings::default()
    }
}

/// [`open_database`] with chosen connection settings.
pub async fn open_database_with(
    settings: &Settings,
    explicit_url: Option<&str>,
    migrate: bool,
    pool: PoolSettings,
) -> anyhow::Result<Database> {
    let url = settings.database_url(explicit_url);
    let mut database = Database::connect(&url, &pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(read_url) = settings.database.read_url.as_deref().filter(|u| !u.is_empty()) {
        database =
            database.with_read_replica(read_url, &pool).map_err(|e| anyhow::anyhow!("database.read_url: {e}"))?;
    }
    if migrate {
        database.migrate().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot prepare the database at {}: {e} (check --database, IXGW_DATABASE_URL or DATABASE_URL)",
                ixgw_store::redact(&url)
            )
        })?;
    }
    Ok(database)
}

/// The query service over `database` as the server runs it: answering at once while a database is
/// down, reads on the standby while it answers (see `ixgw_store::health`, `ixgw_store::replica`).
/// A server that does not answer a background probe within `database.connect_timeout_ms` counts as
/// down.
pub fn service(database: &Database, settings: &Settings) -> HistoryService {
    HistoryService::new(guarded_store(database, settings))
}

fn guarded_store(database: &Database, settings: &Settings) -> Arc<dyn HistoryStore> {
    database.guarded_store(Duration::from_millis(settings.database.connect_timeout_ms))
}

/// How to start the gateway, beyond its settings (`ixgw serve`'s flags).
pub struct Start<'a> {
    /// The database to serve (`--database`, the demo's); `None`: the settings'.
    pub database_url: Option<&'a str>,
    pub migrate: bool,
    /// Load the demo records (`--demo`), dated from the service's "now".
    pub demo: bool,
    /// A clock standing still at this instant (tests with golden answers); `None`: the real clock.
    pub fixed_now: Option<Millis>,
}

/// A gateway ready to serve: `app.run…()` serves on `address`.
pub struct Started {
    pub database: Database,
    pub service: HistoryService,
    pub address: SocketAddr,
    pub app: Application,
}

/// What `ixgw serve` does between reading its settings and serving, and how the tests start the
/// gateway: opens (and migrates) the database; builds the service as shipped ([`service`]: answering
/// at once while a database is down) with keys remembered for `server.key_cache_ms`; loads the demo;
/// binds `address`; starts the daily purge and the cutover's workers (`[upstream]`); builds the
/// application.
pub async fn start(settings: &Settings, address: SocketAddr, options: Start<'_>) -> anyhow::Result<Started> {
    let database = open_database(settings, options.database_url, options.migrate).await?;
    let store = guarded_store(&database, settings);
    let service = match options.fixed_now {
        Some(now) => HistoryService::with_clock(store, Arc::new(move || now.to_datetime())),
        None => HistoryService::new(store),
    }
    .with_key_cache(Duration::from_millis(settings.server.key_cache_ms));
    if options.demo {
        let now = Millis::from_datetime(service.now());
        let report = demo::load(&service, now).await.map_err(|e| anyhow::anyhow!("loading the demo data: {e}"))?;
        if report.rejected > 0 {
            bail!("{} demo records were rejected", report.rejected);
        }
    }
    let listener = TcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?;
    let address = listener.local_addr()?;
    if settings.retention.daily_purge && options.demo {
        tracing::warn!("retention.daily_purge is ignored with --demo: the demo's Context Services seed is from 2009");
    } else if settings.retention.daily_purge {
        let period = settings.retention().map_err(anyhow::Error::msg)?;
        tokio::spawn(retention::run_periodically(service.clone(), period, retention::DAY));
    }
    let cutover = cutover::Cutover::start(
        &settings.upstream,
        &settings.context_services.base_path,
        settings.server.public_url.as_deref(),
        settings.server.max_body_bytes.max(settings.soap.max_body_bytes),
        &service,
        &database,
    )
    .map_err(anyhow::Error::msg)?;
    let app = Application::build(settings, service.clone(), listener, cutover)?;
    Ok(Started { database, service, address, app })
}
