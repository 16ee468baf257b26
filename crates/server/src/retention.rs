//! Retention inside the server: the purge `ixgw purge` runs, and the daily one `serve` runs when
//! `retention.daily_purge` is set. Both go through the core's `HistoryService::purge`.

use ixgw_core::rules::retention::Retention;
use ixgw_core::store::Erased;
use ixgw_core::{HistoryService, Millis, StoreError};
use std::time::Duration;
use tokio::time::MissedTickBehavior;

pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Purges once and logs what was removed.
pub async fn purge(service: &HistoryService, retention: Retention) -> Result<(Millis, Erased), StoreError> {
    let (cutoff, removed) = service.purge(retention).await?;
    tracing::info!(
        retention = %retention,
        cutoff = %cutoff,
        interactions = removed.interactions,
        pages = removed.pages,
        caller_attributes = removed.caller_attributes,
        photos = removed.photos,
        variable_sets = removed.variable_sets,
        content_parts = removed.content_parts,
        service_links = removed.service_links,
        "retention purge"
    );
    Ok((cutoff, removed))
}

/// Purges now and then every `period`, for ever. A failed run (the store is down) is logged and
/// tried again at the next one.
pub async fn run_periodically(service: HistoryService, retention: Retention, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = purge(&service, retention).await {
            tracing::warn!(error = %e, "retention purge failed; it runs again at the next period");
        }
    }
}
