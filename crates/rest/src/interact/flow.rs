//! Full flow, summary, variable set and unique id: the lookups by unique id or caller attribute.

use super::{reply, request};
use crate::RestSettings;
use actix_web::{web, HttpRequest, HttpResponse};
use ixgw_core::model::ordered::OrderedStrings;
use ixgw_core::model::record::CallerAttributeKind;
use ixgw_core::{FlowTarget, HistoryError, HistoryService};
use serde::Serialize;

/// How the `{id}` segment names the interaction: its unique id, or a caller-attribute value
/// (the `/byCallerAttribute` routes).
pub const BY_ID: bool = false;
pub const BY_ATTRIBUTE: bool = true;

/// The vendor operation a route answers: `name`, or `name/byCallerAttribute`.
fn operation<const BY_ATTRIBUTE: bool>(name: &str) -> String {
    if BY_ATTRIBUTE {
        format!("{name}/byCallerAttribute")
    } else {
        name.to_string()
    }
}

fn target<const BY_ATTRIBUTE: bool>(value: &str) -> FlowTarget<'_> {
    if BY_ATTRIBUTE {
        FlowTarget::CallerAttribute(value)
    } else {
        FlowTarget::UniqueId(value)
    }
}

/// `.../interactiondata/{id}/fullFlow[/byCallerAttribute]`
pub async fn full_flow<const BY_ATTRIBUTE: bool>(
    req: HttpRequest,
    service: web::Data<HistoryService>,
    settings: web::Data<RestSettings>,
) -> HttpResponse {
    let outcome = async {
        let who = request::authenticate(&req, &service).await?;
        let window = request::window(&req)?;
        let id = request::segment(&req, "id");
        let flow = service.full_flow_json(&who, target::<BY_ATTRIBUTE>(&id), window).await?;
        Ok(reply::full_flow(flow, settings.empty_flow_as_array))
    };
    reply::answer(&req, &operation::<BY_ATTRIBUTE>("fullFlow"), outcome.await)
}

/// `.../interactiondata/{id}/summary[/byCallerAttribute]`: keys documented in `docs/PAGE-MODEL.md`.
pub async fn summary<const BY_ATTRIBUTE: bool>(req: HttpRequest, service: web::Data<HistoryService>) -> HttpResponse {
    let outcome = async {
        let who = request::authenticate(&req, &service).await?;
        let window = request::window(&req)?;
        let id = request::segment(&req, "id");
        reply::json(&service.summary(&who, target::<BY_ATTRIBUTE>(&id), window).await?)
    };
    reply::answer(&req, &operation::<BY_ATTRIBUTE>("summary"), outcome.await)
}

/// `{"voice":{"data":{...}}}`, the variables in the order they were written.
#[derive(Serialize)]
struct VariableSetAnswer<'a> {
    voice: Voice<'a>,
}

#[derive(Serialize)]
struct Voice<'a> {
    data: &'a OrderedStrings,
}

/// `.../interactiondata/{id}/variableSet/{set}[/byCallerAttribute]`
pub async fn variable_set<const BY_ATTRIBUTE: bool>(
    req: HttpRequest,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let outcome = async {
        let who = request::authenticate(&req, &service).await?;
        let window = request::window(&req)?;
        let (id, set) = (request::segment(&req, "id"), request::segment(&req, "set"));
        let data = service.variable_set(&who, target::<BY_ATTRIBUTE>(&id), &set, window).await?;
        reply::json(&VariableSetAnswer { voice: Voice { data: &data } })
    };
    reply::answer(&req, &operation::<BY_ATTRIBUTE>("variableSet"), outcome.await)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UniqueIdAnswer<'a> {
    unique_id: &'a str,
}

/// `.../uniqueId/{dtmf|callReturn|clickToCall|historySearchId}/{value}`
pub async fn unique_id(req: HttpRequest, service: web::Data<HistoryService>) -> HttpResponse {
    let outcome = async {
        let who = request::authenticate(&req, &service).await?;
        let window = request::window(&req)?;
        // The SOAP face's name for the same parameter (`attributeType`).
        let kind = CallerAttributeKind::from_unique_id_segment(&request::segment(&req, "kind"))
            .ok_or_else(|| HistoryError::invalid("attributeType"))?;
        let id = service.unique_id(&who, kind, &request::segment(&req, "value"), window).await?;
        reply::json(&UniqueIdAnswer { unique_id: &id })
    };
    reply::answer(&req, "uniqueId", outcome.await)
}
