//! Fallback mode's copies: an interaction the store missed and the vendor answered is copied into
//! the store in the background, through the pull's own path (`crate::pull::fill`). One copy per
//! interaction however many ask at once: a miss whose copy is under way, or was made in the last
//! few seconds, joins it.

use super::CutoverMetrics;
use crate::pull::{fill, FillSource, Filled, Target};
use ixgw_core::HistoryService;
use ixgw_store::Database;
use ixgw_web::Miss;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tracing::Instrument;

/// The vendor's servers, as the copies ask them.
pub(super) struct Vendor {
    pub http: reqwest::Client,
    pub interact: Option<String>,
    pub context_services: Option<String>,
}

/// A miss to copy, with the client's credentials to ask the vendor with.
struct Copy {
    miss: Miss,
    credentials: Vec<(&'static str, String)>,
    operation: String,
    /// The trace of the request that missed (when traces are exported): the copy continues it.
    trace: Option<opentelemetry::trace::SpanContext>,
}

/// Copies under way (`None`) or made at an instant, by the miss.
type Copies = Arc<Mutex<HashMap<Miss, Option<Instant>>>>;

pub(super) struct Filler {
    sender: mpsc::Sender<Copy>,
    copies: Copies,
    metrics: CutoverMetrics,
}

/// How long a copy made keeps further misses of it from making another (the requests that missed
/// while it was under way answer from the vendor until then).
const RECENTLY: Duration = Duration::from_secs(10);
/// Copies made at once.
const AT_ONCE: usize = 4;

impl Filler {
    pub fn start(
        vendor: Vendor,
        service: HistoryService,
        database: Database,
        capacity: usize,
        metrics: CutoverMetrics,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let copies: Copies = Arc::default();
        tokio::spawn(work(receiver, Arc::new(vendor), service, database, copies.clone(), metrics.clone()));
        Self { sender, copies, metrics }
    }

    /// Copies what `miss` names, unless a copy of it is under way or was just made.
    pub fn offer(&self, miss: Miss, credentials: Vec<(&'static str, String)>, operation: String) {
        let mut copies = self.copies.lock().unwrap_or_else(|e| e.into_inner());
        copies.retain(|_, made| made.is_none_or(|at| at.elapsed() < RECENTLY));
        if copies.contains_key(&miss) {
            self.metrics.fills.with_label_values(&[&operation, "joined"]).inc();
            return;
        }
        copies.insert(miss.clone(), None);
        let trace = crate::telemetry::trace::current_span_context();
        if let Err(refused) = self.sender.try_send(Copy { miss, credentials, operation, trace }) {
            copies.remove(&refused.into_inner().miss);
            self.metrics.dropped.with_label_values(&["fill"]).inc();
        }
    }
}

async fn work(
    mut receiver: mpsc::Receiver<Copy>,
    vendor: Arc<Vendor>,
    service: HistoryService,
    database: Database,
    copies: Copies,
    metrics: CutoverMetrics,
) {
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    while let Some(copy) = receiver.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let (vendor, service, database, copies, metrics) =
            (vendor.clone(), service.clone(), database.clone(), copies.clone(), metrics.clone());
        tokio::spawn(async move {
            let target = Target {
                service: &service,
                database: &database,
                tenant: copy.miss.tenant.clone(),
                environment: copy.miss.environment.clone(),
                label: String::new(),
            };
            let source = FillSource {
                http: &vendor.http,
                interact: vendor.interact.as_deref(),
                context_services: vendor.context_services.as_deref(),
                credentials: &copy.credentials,
            };
            let span = tracing::debug_span!(parent: None, "fallback copy", ixgw.operation = %copy.operation);
            crate::telemetry::trace::continue_trace(&span, copy.trace.clone());
            let outcome = match fill(&target, &source, &copy.miss.lookup).instrument(span).await {
                Ok(Filled::Copied(id)) => {
                    tracing::info!(tenant = %copy.miss.tenant, interaction = %id, "fallback: copied from the vendor");
                    "copied"
                }
                Ok(Filled::NotFound) => "copy_not_found",
                Err(why) => {
                    tracing::warn!(tenant = %copy.miss.tenant, lookup = ?copy.miss.lookup, error = %why, "fallback: the copy failed");
                    "copy_failed"
                }
            };
            metrics.fills.with_label_values(&[&copy.operation, outcome]).inc();
            let mut copies = copies.lock().unwrap_or_else(|e| e.into_inner());
            if outcome == "copied" {
                copies.insert(copy.miss, Some(Instant::now()));
            } else {
                copies.remove(&copy.miss);
            }
            drop(slot);
        });
    }
}
