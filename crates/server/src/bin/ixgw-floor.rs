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
//!   without touching the store.
//!
//! It is a tool of the benchmark only: it listens where it is told and answers anyone.

use actix_web::{web, App, HttpResponse, HttpServer};
use ixgw_core::store::{FlowTarget, HistoryStore, Partition};
use ixgw_core::Millis;
use ixgw_store::{Database, PoolSettings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

struct Floor {
    store: Arc<dyn HistoryStore>,
    kept: Mutex<HashMap<(String, String), web::Bytes>>,
}

impl Floor {
    async fn read(&self, tenant: &str, id: &str) -> Option<String> {
        let at = Partition { tenant, environment: "production" };
        let flow = self.store.flow(at, FlowTarget::UniqueId(id), Millis(i64::MIN)).await.ok()??;
        Some(flow.into_json_array())
    }
}

async fn flow(floor: web::Data<Floor>, path: web::Path<(String, String)>) -> HttpResponse {
    match floor.read(&path.0, &path.1).await {
        Some(body) => HttpResponse::Ok().content_type("application/json;charset=UTF-8").body(body),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn bytes(floor: web::Data<Floor>, path: web::Path<(String, String)>) -> HttpResponse {
    let key = path.into_inner();
    let kept = floor.kept.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
    let body = match kept {
        Some(body) => body,
        None => match floor.read(&key.0, &key.1).await {
            Some(body) => {
                let body = web::Bytes::from(body);
                floor.kept.lock().unwrap_or_else(|e| e.into_inner()).insert(key, body.clone());
                body
            }
            None => return HttpResponse::NotFound().finish(),
        },
    };
    HttpResponse::Ok().content_type("application/json;charset=UTF-8").body(body)
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
    })
    .bind(&listen)?;
    // As many workers as the gateway: IXGW_SERVER_WORKERS, else one per core.
    if let Some(workers) = std::env::var("IXGW_SERVER_WORKERS").ok().and_then(|w| w.parse().ok()).filter(|&w| w > 0) {
        server = server.workers(workers);
    }
    println!("listening on {listen}");
    server.run().await?;
    Ok(())
}
