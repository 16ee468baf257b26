//! Interact interaction data over REST (spec `interact-rest.md`, conventions in
//! `docs/INTERACT-REST.md`).
//!
//! Every route is a `GET` under [`BASE`]. A handler authenticates ([`request::authenticate`]),
//! reads its parameters, asks the core's [`ixgw_core::HistoryService`] and renders the answer;
//! every failure goes through [`reply::answer`], the one place where a core error becomes the
//! vendor's status and body. Other methods on these routes get actix's `405` with `Allow: GET`.

mod flow;
mod photo;
mod reply;
mod request;

use actix_web::web;

/// The prefix of every Interact interaction-data route.
pub const BASE: &str = "/interact/agent/version/{version}/account/{accountID}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    use flow::{full_flow, summary, unique_id, variable_set, BY_ATTRIBUTE, BY_ID};
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/interactiondata/{id}/fullFlow").route(web::get().to(full_flow::<BY_ID>)))
            .service(
                web::resource("/interactiondata/{id}/fullFlow/byCallerAttribute")
                    .route(web::get().to(full_flow::<BY_ATTRIBUTE>)),
            )
            .service(web::resource("/interactiondata/{id}/summary").route(web::get().to(summary::<BY_ID>)))
            .service(
                web::resource("/interactiondata/{id}/summary/byCallerAttribute")
                    .route(web::get().to(summary::<BY_ATTRIBUTE>)),
            )
            .service(
                web::resource("/interactiondata/{id}/variableSet/{set}").route(web::get().to(variable_set::<BY_ID>)),
            )
            .service(
                web::resource("/interactiondata/{id}/variableSet/{set}/byCallerAttribute")
                    .route(web::get().to(variable_set::<BY_ATTRIBUTE>)),
            )
            .service(web::resource("/uniqueId/{kind}/{value}").route(web::get().to(unique_id)))
            .service(web::resource("/photo/{uid}/{imgPath}").route(web::get().to(photo::photo)))
            // A photo URL without its uid or path, or with the path not encoded into one segment.
            .service(web::resource(["/photo", "/photo/{rest:.*}"]).route(web::get().to(photo::incomplete))),
    );
}
