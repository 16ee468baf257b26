//! Erasure: one interaction, or everything about one customer, in the key's partition, with
//! everything they hold (pages, caller attributes, content, variable sets, photos, service links).
//! The answer says what was removed.

use super::reply::{self, Failure};
use actix_web::{web, HttpRequest, HttpResponse};
use ixgw_core::store::Erased;
use ixgw_core::{HistoryService, Principal};
use serde::Serialize;

#[derive(Serialize)]
struct InteractionErased<'a> {
    interaction_id: &'a str,
    removed: Erased,
}

#[derive(Serialize)]
struct CustomerErased<'a> {
    customer_id: &'a str,
    removed: Erased,
}

/// `DELETE /v1/interactions/{id}`: 404 if there is no such interaction.
pub(super) async fn interaction(
    req: HttpRequest,
    id: web::Path<String>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let done = async {
        let who = super::authenticate(&req, &service).await?;
        let removed = service.erase_interaction(&who, &id).await?;
        audit(&req, &who, "interaction", &removed);
        Ok::<_, Failure>(removed)
    };
    let result = done.await.map(|removed| HttpResponse::Ok().json(InteractionErased { interaction_id: &id, removed }));
    reply::answer(&req, "eraseInteraction", result)
}

/// `DELETE /v1/customers/{customer_id}`: 200 even when nothing was held (the counts are zero).
pub(super) async fn customer(
    req: HttpRequest,
    customer_id: web::Path<String>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let done = async {
        let who = super::authenticate(&req, &service).await?;
        let removed = service.erase_customer(&who, &customer_id).await?;
        audit(&req, &who, "customer", &removed);
        Ok::<_, Failure>(removed)
    };
    let result =
        done.await.map(|removed| HttpResponse::Ok().json(CustomerErased { customer_id: &customer_id, removed }));
    reply::answer(&req, "eraseCustomer", result)
}

/// One log line per erasure: who and how much, never whom (ids are personal data).
fn audit(req: &HttpRequest, who: &Principal, what: &'static str, removed: &Erased) {
    tracing::info!(
        request_id = %ixgw_web::request_id(req),
        tenant = %who.tenant,
        environment = %who.environment,
        key_id = %who.key_id,
        erased = what,
        interactions = removed.interactions,
        pages = removed.pages,
        "erasure"
    );
}
