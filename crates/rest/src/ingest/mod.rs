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

/// The surface of this face's request labels (the request log, metrics, traces).
pub use reply::SURFACE;

use actix_web::{web, HttpRequest};
use ixgw_core::{HistoryService, Principal, Scope};
use ixgw_web::routes::{Route, Verb};
use reply::Failure;

const POST_INTERACTIONS: Route = Route::new(Verb::Post, "/v1/interactions", "postInteractions");
const ERASE_INTERACTION: Route = Route::new(Verb::Delete, "/v1/interactions/{id}", "eraseInteraction");
const APPEND_PAGE: Route = Route::new(Verb::Post, "/v1/interactions/{id}/pages", "appendPage");
const ALLOCATE_ATTRIBUTE: Route =
    Route::new(Verb::Post, "/v1/interactions/{id}/caller-attributes", "allocateCallerAttribute");
const END_INTERACTION: Route = Route::new(Verb::Put, "/v1/interactions/{id}/end", "endInteraction");
const ERASE_CUSTOMER: Route = Route::new(Verb::Delete, "/v1/customers/{customer_id}", "eraseCustomer");

/// Every operation of the ingest API: mounted by [`configure`], described by the server's
/// `/openapi.json`.
pub const ROUTES: [Route; 6] =
    [POST_INTERACTIONS, ERASE_INTERACTION, APPEND_PAGE, ALLOCATE_ATTRIBUTE, END_INTERACTION, ERASE_CUSTOMER];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(&POST_INTERACTIONS).route(POST_INTERACTIONS.to(batch::post_interactions)))
        .service(resource(&ERASE_INTERACTION).route(ERASE_INTERACTION.to(erase::interaction)))
        .service(resource(&APPEND_PAGE).route(APPEND_PAGE.to(live::append_page)))
        .service(resource(&ALLOCATE_ATTRIBUTE).route(ALLOCATE_ATTRIBUTE.to(live::allocate_attribute)))
        .service(resource(&END_INTERACTION).route(END_INTERACTION.to(live::end)))
        .service(resource(&ERASE_CUSTOMER).route(ERASE_CUSTOMER.to(erase::customer)));
}

/// The resource of `route`'s path: any other method is a 405 naming `route`'s.
fn resource(route: &Route) -> actix_web::Resource {
    let allowed = route.method.as_str();
    web::resource(route.path).default_service(web::to(move || reply::method_not_allowed(allowed)))
}

/// The caller, by key alone, with the write scope.
async fn authenticate(req: &HttpRequest, service: &HistoryService) -> Result<Principal, Failure> {
    let who = service.authenticate_key(ixgw_web::credentials(req.headers()), Scope::Ingest).await?;
    ixgw_web::authenticated(req, &who);
    Ok(who)
}
