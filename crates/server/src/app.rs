//! `Application::build` binds, `run` serves: tests start the real server on port 0 and talk to it
//! over HTTP, as clients do.

use crate::settings::Settings;
use crate::shutdown::{Drain, Signals, StopPlan};
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use ixgw_core::HistoryService;
use ixgw_web::Route;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

pub struct Application {
    port: u16,
    server: Server,
    drain: Arc<Drain>,
    stop: StopPlan,
}

impl Application {
    /// Binds `listener` and prepares the server over `service`.
    pub fn build(
        settings: &Settings,
        service: HistoryService,
        listener: TcpListener,
        cutover: Option<Arc<crate::cutover::Cutover>>,
    ) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let rest = settings.rest();
        let soap = settings.soap();
        let json_limit = settings.server.max_body_bytes;
        let request_timeout = Duration::from_secs(settings.server.request_timeout_secs);
        let metrics = crate::telemetry::Metrics::new();
        if let Some(cutover) = &cutover {
            cutover.metrics().collectors().into_iter().for_each(|c| metrics.register(c));
        }
        let metrics_data = web::Data::from(metrics.clone());
        let openapi = web::Data::new(crate::openapi::document(Some(&settings.context_services.base_path)).to_string());
        let service = web::Data::new(service);
        let rest_data = web::Data::new(rest.clone());
        let soap_data = web::Data::new(soap.clone());
        let ui = settings.server.ui;
        let drain = Arc::new(Drain::default());
        let drain_data = web::Data::from(drain.clone());
        let on_connect = drain.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(drain_data.clone())
                .app_data(service.clone())
                .app_data(rest_data.clone())
                .app_data(soap_data.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .app_data(metrics_data.clone())
                // Inside the request log, which then logs and measures what the client got.
                .wrap(crate::cutover::CutoverLayer(cutover.clone()))
                .wrap(crate::limits::BodyIdleTimeout { idle: request_timeout })
                .wrap(crate::telemetry::RequestLog { metrics: metrics.clone() })
                .service(web::resource(HEALTHZ.path).route(HEALTHZ.to(healthz)))
                .service(web::resource(METRICS.path).route(METRICS.to(metrics_text)))
                .service(web::resource(READYZ.path).route(READYZ.to(readyz)))
                .service(web::resource(OPENAPI.path).app_data(openapi.clone()).route(OPENAPI.to(openapi_json)))
                // SOAP first: actix tries the resources in order, and every REST resource has a
                // dynamic segment (a regular expression run on each path it is tried on), while the
                // two SOAP paths are static (a string compare). Nothing else matches those paths.
                .configure(|cfg| ixgw_soap::configure(cfg, &soap))
                .configure(|cfg| ixgw_rest::configure(cfg, &rest))
                .configure(|cfg| crate::ui::configure(cfg, ui))
        })
        .on_connect(move |_, data| on_connect.on_connect(data))
        .disable_signals()
        .listen(listener)?
        .max_connections(settings.server.max_connections)
        .client_request_timeout(request_timeout)
        .shutdown_timeout(settings.server.shutdown_timeout_secs);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let stop = StopPlan {
            drain: Duration::from_secs(settings.server.drain_secs),
            answer_within: Duration::from_secs(settings.server.shutdown_timeout_secs),
        };
        Ok(Self { port, server: server.run(), drain, stop })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process ends (tests).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until a stop signal, then drains and stops as `crate::shutdown` describes.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let signals = Signals::take()?;
        let stopping = crate::shutdown::stop_on_signals(signals, self.server.handle(), self.drain, self.stop);
        let stopping = tokio::spawn(stopping);
        let served = self.server.await;
        stopping.abort();
        served
    }
}

/// The server's own operations; each one's operation in the metrics is its path.
const HEALTHZ: Route = Route::get("/healthz", "/healthz");
const READYZ: Route = Route::get("/readyz", "/readyz");
const METRICS: Route = Route::get("/metrics", "/metrics");
const OPENAPI: Route = Route::get("/openapi.json", "/openapi.json");

/// Every operation of the server's own: mounted by `Application::build`, described by
/// `/openapi.json`.
pub const OPS_ROUTES: [Route; 4] = [HEALTHZ, READYZ, METRICS, OPENAPI];

/// Liveness: answers as long as the process serves; touches nothing.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// Prometheus text: request counters and latency histograms, faults, store pool usage.
async fn metrics_text(
    metrics: web::Data<crate::telemetry::Metrics>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let mut extra = String::new();
    if let Some(pool) = service.store().pool_usage() {
        extra.push_str("# HELP ixgw_store_pool_connections Store connections, open and idle.\n# TYPE ixgw_store_pool_connections gauge\n");
        extra.push_str(&format!("ixgw_store_pool_connections{{state=\"open\"}} {}\n", pool.open));
        extra.push_str(&format!("ixgw_store_pool_connections{{state=\"idle\"}} {}\n", pool.idle));
        extra.push_str(&format!("ixgw_store_pool_connections{{state=\"max\"}} {}\n", pool.max));
    }
    extra.push_str(&crate::telemetry::trace::metrics_text());
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render(&extra))
}

/// Readiness: 200 while the read routes can be answered (the primary answers, or a read replica
/// does while the primary is away: `degraded: …` in the body then), 503 otherwise and from the
/// moment a stop signal comes (the server still serves for `server.drain_secs`: see
/// `crate::shutdown`). `/readyz?writes`: 200 only while writes can be taken (the primary answers),
/// for balancers in front of ingest.
async fn readyz(
    request: actix_web::HttpRequest,
    service: web::Data<HistoryService>,
    drain: web::Data<Drain>,
) -> HttpResponse {
    if drain.is_draining() {
        return HttpResponse::ServiceUnavailable().content_type("text/plain; charset=utf-8").body("draining");
    }
    let for_writes = request.query_string().split('&').any(|pair| pair == "writes" || pair.starts_with("writes="));
    let readiness = service.readiness().await;
    let unavailable = |what: &'static str| {
        let mut response = HttpResponse::ServiceUnavailable();
        ixgw_web::vendor::retry_later(&mut response);
        response.content_type("text/plain; charset=utf-8").body(what)
    };
    match (&readiness.reads, &readiness.writes) {
        (_, Ok(())) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"),
        (_, Err(e)) if for_writes => {
            tracing::debug!(error = %e, "not ready for writes");
            unavailable("writes unavailable: the primary store does not answer")
        }
        (Ok(()), Err(_)) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(
            "degraded: the primary store does not answer; reads are served by the read replica, writes are answered 503 until it returns",
        ),
        (Err(e), Err(_)) => {
            tracing::warn!(error = %e, "not ready");
            unavailable("store unavailable")
        }
    }
}

/// The OpenAPI 3 description of every REST route (see `crate::openapi`).
async fn openapi_json(document: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document.get_ref().clone())
}
