//! The gateway's own write API (spec `records.md`, `operations.md`; conventions in
//! `docs/INGEST.md`): records whole, in batches or streams; the live feed (one page, one caller
//! attribute, the end); erasure.
//!
//! Every route authenticates with an application key alone (`Authorization: Bearer <key>` or
//! `Application-Key`): the key fixes tenant and environment, and must have the `ingest` (or `admin`)
//! scope. Records, pages and attributes are parsed and validated by the core, exactly as
//! `ixgw import` does; every failure becomes a status and a small JSON body in one place
//! ([`reply::respond`]).

mod batch;
mod erase;
mod live;
mod reply;

use actix_web::{web, HttpRequest};
use ixgw_core::{HistoryService, Principal, Scope};
use reply::Failure;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/interactions")
            .route(web::post().to(batch::post_interactions))
            .default_service(web::to(|| reply::method_not_allowed("POST"))),
    )
    .service(
        web::resource("/v1/interactions/{id}")
            .route(web::delete().to(erase::interaction))
            .default_service(web::to(|| reply::method_not_allowed("DELETE"))),
    )
    .service(
        web::resource("/v1/interactions/{id}/pages")
            .route(web::post().to(live::append_page))
            .default_service(web::to(|| reply::method_not_allowed("POST"))),
    )
    .service(
        web::resource("/v1/interactions/{id}/caller-attributes")
            .route(web::post().to(live::allocate_attribute))
            .default_service(web::to(|| reply::method_not_allowed("POST"))),
    )
    .service(
        web::resource("/v1/interactions/{id}/end")
            .route(web::put().to(live::end))
            .default_service(web::to(|| reply::method_not_allowed("PUT"))),
    )
    .service(
        web::resource("/v1/customers/{customer_id}")
            .route(web::delete().to(erase::customer))
            .default_service(web::to(|| reply::method_not_allowed("DELETE"))),
    );
}

/// The caller, by key alone, with the write scope.
async fn authenticate(req: &HttpRequest, service: &HistoryService) -> Result<Principal, Failure> {
    let who = service.authenticate_key(ixgw_web::credentials(req.headers()), Scope::Ingest).await?;
    ixgw_web::authenticated(req, &who);
    Ok(who)
}
