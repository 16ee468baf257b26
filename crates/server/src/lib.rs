//! The `ixgw` server: settings, the command line, the application and its start-up.

pub mod app;
pub mod cli;
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

use ixgw_core::HistoryService;
use ixgw_store::{Database, PoolSettings};
use settings::Settings;
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
/// A background probe that gets no answer within the pool's acquire timeout counts as down.
pub fn service(database: &Database, settings: &Settings) -> HistoryService {
    let probe_timeout = Duration::from_millis(settings.database.acquire_timeout_ms);
    HistoryService::new(database.guarded_store(probe_timeout))
}
