//! Cutover from the vendor: the gateway in front of the vendor's servers (`[upstream]`).
//!
//! - **shadow** (before the switch): a read request goes on to the vendor and the vendor's answer
//!   goes back to the client, its base URL in links rewritten to the gateway's; the store answers
//!   the same request on the side and the two are compared off the response path ([`compare`]).
//!   A vendor that cannot be reached or answers 5xx: the client gets the store's answer.
//! - **fallback** (after it): the store answers; a request whose interaction it lacks is asked of
//!   the vendor, answered with the vendor's bytes, and the interaction copied into the store in the
//!   background ([`fill`]), so the next one is answered here.
//!
//! The faces do not know about any of it: they note what they missed (`ixgw_web::Miss`), and this
//! middleware, in front of them, does the rest. With `mode = off` it is not mounted at all.

mod compare;
mod fill;
mod middleware;
pub mod report;

pub use middleware::CutoverLayer;

use crate::settings::UpstreamSettings;
use actix_web::dev::ResourceDef;
use ixgw_core::HistoryService;
use ixgw_store::Database;
use ixgw_upstream::Forwarder;
use prometheus::{IntCounterVec, Opts};
use std::sync::Arc;

/// `[upstream] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Shadow,
    Fallback,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "off" => Ok(Self::Off),
            "shadow" => Ok(Self::Shadow),
            "fallback" => Ok(Self::Fallback),
            other => Err(format!("upstream.mode must be `off`, `shadow` or `fallback`, not `{other}`")),
        }
    }
}

/// Which vendor server a read route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Interact,
    ContextServices,
}

/// A read route the cutover stands in front of.
struct ReadRoute {
    def: ResourceDef,
    /// The pattern's text up to its first dynamic segment: most paths are told apart by it, without
    /// the pattern's regular expression.
    literal: String,
    post: bool,
    face: Face,
    /// The gateway's prefix of the face (Context Services is served at the root and under its
    /// base path): the vendor's base URL stands in for it.
    prefix: String,
    /// Its operation, for a request the store has not labelled (SOAP's comes from its body).
    operation: &'static str,
}

/// The SOAP endpoint: the one POST among the read routes.
const SOAP_ENDPOINT: &str = "/interact/version/2/interactiondata/soap";

/// Request headers that go on to the vendor: credentials, what the body is, what is accepted.
/// Names in lower case; everything else (cookies, forwarding headers, the connection's) stays.
pub(crate) const FORWARDED_HEADERS: [&str; 10] = [
    "tenant-id",
    "application-key",
    "environment-name",
    "authorization",
    "contactcenterid",
    "groupid",
    "content-type",
    "soapaction",
    "accept",
    "accept-language",
];

/// Of [`FORWARDED_HEADERS`], those that carry a credential: never stored in a sample, never logged.
pub(crate) const CREDENTIAL_HEADERS: [&str; 2] = ["application-key", "authorization"];

/// The counters `/metrics` shows.
#[derive(Clone)]
pub(crate) struct CutoverMetrics {
    pub shadow: IntCounterVec,
    pub fills: IntCounterVec,
    pub dropped: IntCounterVec,
}

impl CutoverMetrics {
    fn new() -> Self {
        Self {
            shadow: IntCounterVec::new(
                Opts::new("ixgw_shadow_total", "Shadow-mode requests compared, by operation and outcome"),
                &["operation", "outcome"],
            )
            .expect("valid metric"),
            fills: IntCounterVec::new(
                Opts::new(
                    "ixgw_upstream_fill_total",
                    "Fallback-mode misses asked of the vendor, by operation and outcome",
                ),
                &["operation", "outcome"],
            )
            .expect("valid metric"),
            dropped: IntCounterVec::new(
                Opts::new("ixgw_cutover_dropped_total", "Comparisons or copies dropped because their queue was full"),
                &["queue"],
            )
            .expect("valid metric"),
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.shadow.clone()), Box::new(self.fills.clone()), Box::new(self.dropped.clone())]
    }
}

/// Everything the middleware needs, built once.
pub struct Cutover {
    mode: Mode,
    interact: Option<String>,
    context_services: Option<String>,
    public_url: Option<String>,
    forwarder: Forwarder,
    routes: Vec<ReadRoute>,
    max_body_bytes: usize,
    max_answer_bytes: usize,
    metrics: CutoverMetrics,
    comparisons: Option<compare::Queue>,
    fills: Option<fill::Filler>,
}

impl Cutover {
    /// The cutover `settings` ask for, or `None` with `mode = off`. Starts its background workers
    /// (comparisons, copies), so it needs a Tokio runtime.
    pub fn start(
        settings: &UpstreamSettings,
        context_mount: &str,
        public_url: Option<&str>,
        max_body_bytes: usize,
        service: &HistoryService,
        database: &Database,
    ) -> Result<Option<Arc<Self>>, String> {
        let mode = Mode::parse(&settings.mode)?;
        if mode == Mode::Off {
            return Ok(None);
        }
        let base = |url: &Option<String>| {
            url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(|u| u.trim_end_matches('/').to_string())
        };
        let (interact, context_services) = (base(&settings.interact), base(&settings.context_services));
        if interact.is_none() && context_services.is_none() {
            return Err(
                "upstream.mode is on, but neither upstream.interact nor upstream.context_services is set".into()
            );
        }
        for url in interact.iter().chain(context_services.iter()) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("the upstream URL `{}` is not http:// or https://", ixgw_store::redact(url)));
            }
        }
        let http = ixgw_upstream::http_client(
            ixgw_upstream::timeout(settings.timeout_ms),
            concat!("ixgw/", env!("CARGO_PKG_VERSION")),
        )?;
        let metrics = CutoverMetrics::new();
        let comparisons = (mode == Mode::Shadow).then(|| {
            compare::Queue::start(database.clone(), settings.queue, settings.samples_per_operation, metrics.clone())
        });
        let fills = (mode == Mode::Fallback).then(|| {
            fill::Filler::start(
                fill::Vendor {
                    http: http.clone(),
                    interact: interact.clone(),
                    context_services: context_services.clone(),
                },
                service.clone(),
                database.clone(),
                settings.queue,
                metrics.clone(),
            )
        });
        Ok(Some(Arc::new(Self {
            mode,
            routes: read_routes(context_mount, interact.is_some(), context_services.is_some()),
            interact,
            context_services,
            public_url: public_url.map(str::to_string),
            forwarder: Forwarder::new(http, settings.max_answer_bytes),
            max_body_bytes,
            max_answer_bytes: settings.max_answer_bytes,
            metrics,
            comparisons,
            fills,
        })))
    }

    pub(crate) fn metrics(&self) -> &CutoverMetrics {
        &self.metrics
    }

    /// The read route `method` and `path` name, if the cutover stands in front of it.
    fn route(&self, post: bool, path: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.post == post && path.starts_with(&r.literal) && r.def.is_match(path))
    }

    /// The vendor's base URL for a face.
    fn vendor_base(&self, face: Face) -> &str {
        match face {
            Face::Interact => self.interact.as_deref().unwrap_or_default(),
            Face::ContextServices => self.context_services.as_deref().unwrap_or_default(),
        }
    }
}

impl ReadRoute {
    fn new(pattern: String, post: bool, face: Face, prefix: &str, operation: &'static str) -> Self {
        let literal = pattern.split('{').next().unwrap_or_default().to_string();
        Self { def: ResourceDef::new(pattern), literal, post, face, prefix: prefix.to_string(), operation }
    }
}

/// The read routes of the faces the vendor serves: Interact REST and SOAP, Context Services.
fn read_routes(context_mount: &str, interact: bool, context_services: bool) -> Vec<ReadRoute> {
    let mut routes = Vec::new();
    if interact {
        routes.push(ReadRoute::new(SOAP_ENDPOINT.to_string(), true, Face::Interact, "", "soap"));
        for route in ixgw_rest::interact::ROUTES {
            let pattern = format!("{}{}", ixgw_rest::interact::BASE, route.path);
            routes.push(ReadRoute::new(pattern, false, Face::Interact, "", route.operation));
        }
    }
    if context_services {
        // The base path first: a path under it is not also a root path.
        for prefix in [context_mount, ""] {
            for route in ixgw_rest::context::ROUTES.iter().filter(|r| r.method == ixgw_web::Verb::Get) {
                let pattern = format!("{prefix}{}", route.path);
                routes.push(ReadRoute::new(pattern, false, Face::ContextServices, prefix, route.operation));
            }
        }
    }
    routes
}
