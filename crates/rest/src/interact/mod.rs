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

/// The surface of this face's request labels (the request log, metrics, traces).
pub use reply::SURFACE;
mod request;

use actix_web::web;
use ixgw_web::routes::Route;

/// The prefix of every Interact interaction-data route.
pub const BASE: &str = "/interact/agent/version/{version}/account/{accountID}";

const FULL_FLOW: Route = Route::get("/interactiondata/{id}/fullFlow", "fullFlow");
const FULL_FLOW_BY_ATTRIBUTE: Route =
    Route::get("/interactiondata/{id}/fullFlow/byCallerAttribute", "fullFlow/byCallerAttribute");
const SUMMARY: Route = Route::get("/interactiondata/{id}/summary", "summary");
const SUMMARY_BY_ATTRIBUTE: Route =
    Route::get("/interactiondata/{id}/summary/byCallerAttribute", "summary/byCallerAttribute");
const VARIABLE_SET: Route = Route::get("/interactiondata/{id}/variableSet/{set}", "variableSet");
const VARIABLE_SET_BY_ATTRIBUTE: Route =
    Route::get("/interactiondata/{id}/variableSet/{set}/byCallerAttribute", "variableSet/byCallerAttribute");
const UNIQUE_ID: Route = Route::get("/uniqueId/{kind}/{value}", "uniqueId");
const PHOTO: Route = Route::get("/photo/{uid}/{imgPath}", "photo");

/// Every operation of this face, under [`BASE`]: mounted by [`configure`], described by the
/// server's `/openapi.json`.
pub const ROUTES: [Route; 8] = [
    FULL_FLOW,
    FULL_FLOW_BY_ATTRIBUTE,
    SUMMARY,
    SUMMARY_BY_ATTRIBUTE,
    VARIABLE_SET,
    VARIABLE_SET_BY_ATTRIBUTE,
    UNIQUE_ID,
    PHOTO,
];

/// The static head of [`BASE`]: the scope is mounted there, so that a path outside it is passed
/// over by a string compare, and a route inside runs one regular expression (its resource's, with
/// the rest of [`BASE`] in it), not two.
const SCOPE: &str = "/interact/agent/version";

pub fn configure(cfg: &mut web::ServiceConfig) {
    use flow::{full_flow, summary, unique_id, variable_set, BY_ATTRIBUTE, BY_ID};
    let under_scope = &BASE[SCOPE.len()..];
    let path = |route: &Route| format!("{under_scope}{}", route.path);
    cfg.service(
        web::scope(SCOPE)
            .service(web::resource(path(&FULL_FLOW)).route(FULL_FLOW.to(full_flow::<BY_ID>)))
            .service(
                web::resource(path(&FULL_FLOW_BY_ATTRIBUTE))
                    .route(FULL_FLOW_BY_ATTRIBUTE.to(full_flow::<BY_ATTRIBUTE>)),
            )
            .service(web::resource(path(&SUMMARY)).route(SUMMARY.to(summary::<BY_ID>)))
            .service(web::resource(path(&SUMMARY_BY_ATTRIBUTE)).route(SUMMARY_BY_ATTRIBUTE.to(summary::<BY_ATTRIBUTE>)))
            .service(web::resource(path(&VARIABLE_SET)).route(VARIABLE_SET.to(variable_set::<BY_ID>)))
            .service(
                web::resource(path(&VARIABLE_SET_BY_ATTRIBUTE))
                    .route(VARIABLE_SET_BY_ATTRIBUTE.to(variable_set::<BY_ATTRIBUTE>)),
            )
            .service(web::resource(path(&UNIQUE_ID)).route(UNIQUE_ID.to(unique_id)))
            .service(web::resource(path(&PHOTO)).route(PHOTO.to(photo::photo)))
            // A photo URL without its uid or path, or with the path not encoded into one segment:
            // not an operation (a 400), so not in the table.
            .service(
                web::resource([format!("{under_scope}/photo"), format!("{under_scope}/photo/{{rest:.*}}")])
                    .route(web::get().to(photo::incomplete)),
            ),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scope_is_the_static_head_of_the_base() {
        let (head, rest) = super::BASE.split_at(super::SCOPE.len());
        assert_eq!(head, super::SCOPE);
        assert!(rest.starts_with("/{") && !head.contains('{'), "{rest}");
    }
}
