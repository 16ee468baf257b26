//! The floor of the benchmark (`scripts/bench`): what the machine and actix-web give for the bytes
//! of a full flow, without the gateway's own work, so that the distance from a gateway route to
//! its floor is a measured figure.
//!
//! `ixgw-floor DATABASE_URL LISTEN` serves, with as many workers as the gateway and nothing
//! around the handlers (no request log, metrics, authentication, windows or vendor formats):
//!
//! - `GET /flow/{tenant}/{id}`: the store's read of a flow by unique id, the same point read the
//!   gateway's REST route makes (environment `production`, no window), answered with the same bytes;
//! - `GET /bytes/{tenant}/{id}`: those bytes, read once at the first request and kept, answered
//!   without touching the store;
//! - `POST /soap/{tenant}/{id}`: the same read, answered with the flow's SOAP 1.1 reply written from
//!   it as the gateway's SOAP endpoint writes it. The request's body (the benchmark sends the
//!   route's envelope) is received whole, as the endpoint receives it, and not read: reading the
//!   envelope is the gateway's work. A `GET` is answered the same;
//! - `POST /xml/{tenant}/{id}`: the same read, answered with that SOAP reply written once at the
//!   first request and kept: what keeping each page's XML in the store would give at most (it
//!   reads the JSON, ≈ 0.6 times the XML's bytes);
//! - `GET /context/{tenant}/{id}`: the Context Services resource of an interaction, the same
//!   one-row read as the gateway's `GET /interactions/{id}` (`HistoryReads::context_interaction`)
//!   written by the same writer, with the same bytes (the content URLs, when the interaction has
//!   content, from the `Host` header as the gateway's root mount prints them).
//!
//! It is a tool of the benchmark only: it listens where it is told and answers anyone.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use ixgw_core::resources::context_services::{write_resource, ContentUrls};
use ixgw_core::store::{FlowTarget, HistoryStore, Partition, StoredFlow};
use ixgw_core::Millis;
use ixgw_store::{Database, PoolSettings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const JSON: &str = "application/json;charset=UTF-8";
const XML: &str = "text/xml;charset=utf-8";

/// A reply kept by the routes that answer kept bytes: by route, tenant and id.
type Kept = HashMap<(&'static str, String, String), web::Bytes>;

struct Floor {
    store: Arc<dyn HistoryStore>,
    kept: Mutex<Kept>,
}

impl Floor {
    async fn read(&self, tenant: &str, id: &str) -> Option<StoredFlow> {
        let at = Partition { tenant, environment: "production" };
        self.store.flow(at, FlowTarget::UniqueId(id), Millis(i64::MIN)).await.ok()?
    }

    /// The reply kept for `route`, else `write(read)` kept from now on.
    async fn kept(
        &self,
        route: &'static str,
        (tenant, id): (String, String),
        write: fn(StoredFlow) -> Option<String>,
    ) -> Option<web::Bytes> {
        let key = (route, tenant, id);
        if let Some(body) = self.kept.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Some(body.clone());
        }
        let body = web::Bytes::from(write(self.read(&key.1, &key.2).await?)?);
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).insert(key, body.clone());
        Some(body)
    }
}

fn answer(content_type: &str, body: Option<impl actix_web::body::MessageBody + 'static>) -> HttpResponse {
    match body {
        Some(body) => HttpResponse::Ok().content_type(content_type).body(body),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn flow(floor: web::Data<Floor>, path: web::Path<(String, String)>) -> HttpResponse {
    answer(JSON, floor.read(&path.0, &path.1).await.map(StoredFlow::into_json_array))
}

async fn bytes(floor: web::Data<Floor>, path: web::Path<(String, String)>) -> HttpResponse {
    answer(JSON, floor.kept("bytes", path.into_inner(), |flow| Some(flow.into_json_array())).await)
}

/// `_envelope`: the request's body, received and not read (see the top of this file).
async fn soap(floor: web::Data<Floor>, path: web::Path<(String, String)>, _envelope: web::Bytes) -> HttpResponse {
    let flow = floor.read(&path.0, &path.1).await;
    answer(XML, flow.as_ref().and_then(ixgw_soap::full_flow_reply_soap11))
}

async fn xml(floor: web::Data<Floor>, path: web::Path<(String, String)>, _envelope: web::Bytes) -> HttpResponse {
    // The read is made and its answer dropped: a store keeping XML would read it instead.
    let read = floor.read(&path.0, &path.1).await;
    let kept = floor.kept("xml", path.into_inner(), |flow| ixgw_soap::full_flow_reply_soap11(&flow)).await;
    answer(XML, read.and(kept))
}

async fn context(req: HttpRequest, floor: web::Data<Floor>, path: web::Path<(String, String)>) -> HttpResponse {
    let at = Partition { tenant: &path.0, environment: "production" };
    let Ok(Some(row)) = floor.store.context_interaction(at, &path.1).await else {
        return HttpResponse::NotFound().finish();
    };
    // Links only when the interaction has content to link to.
    let urls = if row.has_plain_text || row.has_structured_text || row.has_binary_content {
        let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default();
        ixgw_rest::context::root_content_urls(&format!("http://{host}"), &row)
    } else {
        ContentUrls::default()
    };
    let mut body = Vec::with_capacity(2048);
    match write_resource(&mut body, &row, &urls) {
        Ok(()) => answer(JSON, Some(body)),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(listen)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: ixgw-floor DATABASE_URL LISTEN (see scripts/bench)");
    };
    let database = Database::connect(&url, &PoolSettings::default()).await?;
    let floor = web::Data::new(Floor { store: database.store(), kept: Mutex::new(HashMap::new()) });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(floor.clone())
            .route("/flow/{tenant}/{id}", web::get().to(flow))
            .route("/bytes/{tenant}/{id}", web::get().to(bytes))
            .route("/soap/{tenant}/{id}", web::post().to(soap))
            .route("/soap/{tenant}/{id}", web::get().to(soap))
            .route("/xml/{tenant}/{id}", web::post().to(xml))
            .route("/xml/{tenant}/{id}", web::get().to(xml))
            .route("/context/{tenant}/{id}", web::get().to(context))
    })
    .bind(&listen)?;
    // As many workers as the gateway: IXGW_SERVER_WORKERS, else one per core.
    if let Some(workers) = std::env::var("IXGW_SERVER_WORKERS").ok().and_then(|w| w.parse().ok()).filter(|&w| w > 0) {
        server = server.workers(workers);
    }
    // The bound address, as `ixgw serve` prints it (`LISTEN` may name port 0: callgrind runs).
    for address in server.addrs() {
        println!("listening on http://{address}");
    }
    server.run().await?;
    Ok(())
}
