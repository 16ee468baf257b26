//! The live feed: one page, one caller-attribute allocation, the end of an interaction, each
//! written in one transaction (readers never see half of one). The bodies are the record format's
//! page object and caller-attribute object, parsed as strictly as in a record.

use super::reply::{self, check_media_type, Failure};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ixgw_core::model::page::Page;
use ixgw_core::model::record::{parse_strict, CallerAttribute, RecordError};
use ixgw_core::model::time::IsoDate;
use ixgw_core::service::writes::WriteError;
use ixgw_core::{HistoryService, Principal};
use serde::{Deserialize, Serialize};

/// The body of `PUT …/end`; without `ended_at` (`{}`, or no body at all) the end is now.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndRequest {
    // Absent means now; `null` is refused like any other non-date.
    #[serde(default, deserialize_with = "present")]
    ended_at: Option<IsoDate>,
}

fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<IsoDate>, D::Error> {
    IsoDate::deserialize(value).map(Some)
}

#[derive(Serialize)]
struct PageAnswer<'a> {
    interaction_id: &'a str,
    /// 0-based position of the page in the flow.
    index: i64,
    added: bool,
}

#[derive(Serialize)]
struct AttributeAnswer<'a> {
    interaction_id: &'a str,
    kind: &'static str,
    value: &'a str,
    added: bool,
    current: bool,
}

#[derive(Serialize)]
struct EndAnswer<'a> {
    interaction_id: &'a str,
    ended_at: IsoDate,
}

pub(super) async fn append_page(
    req: HttpRequest,
    id: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let done = async {
        let who = authorized_json(&req, &service).await?;
        let page: Page = parse(&body_text(&body)?)?;
        Ok::<_, Failure>(service.append_page(&who, &id, &page).await?)
    };
    let result =
        done.await.map(|p| created(p.added).json(PageAnswer { interaction_id: &id, index: p.index, added: p.added }));
    reply::answer(&req, "appendPage", result)
}

pub(super) async fn allocate_attribute(
    req: HttpRequest,
    id: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let done = async {
        let who = authorized_json(&req, &service).await?;
        let attribute: CallerAttribute = parse(&body_text(&body)?)?;
        let allocated = service.allocate_attribute(&who, &id, &attribute).await?;
        Ok::<_, Failure>((attribute, allocated))
    };
    let result = done.await.map(|(a, done)| {
        created(done.added).json(AttributeAnswer {
            interaction_id: &id,
            kind: a.kind.as_str(),
            value: &a.value,
            added: done.added,
            current: done.current,
        })
    });
    reply::answer(&req, "allocateCallerAttribute", result)
}

pub(super) async fn end(
    req: HttpRequest,
    id: web::Path<String>,
    body: Result<web::Bytes, actix_web::Error>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let done = async {
        let who = super::authenticate(&req, &service).await?;
        let text = body_text(&body)?;
        // No body at all means now; anything else must be the JSON object (whitespace is not one).
        let ended_at = if text.is_empty() {
            None
        } else {
            check_json(&req)?;
            parse::<EndRequest>(&text)?.ended_at.map(|at| at.0)
        };
        Ok::<_, Failure>(service.end_interaction(&who, &id, ended_at).await?)
    };
    let result = done
        .await
        .map(|ended_at| HttpResponse::Ok().json(EndAnswer { interaction_id: &id, ended_at: IsoDate(ended_at) }));
    reply::answer(&req, "endInteraction", result)
}

/// 201 when something was written, 200 when it was there already (a retried request).
fn created(added: bool) -> actix_web::HttpResponseBuilder {
    HttpResponse::build(if added { StatusCode::CREATED } else { StatusCode::OK })
}

async fn authorized_json(req: &HttpRequest, service: &HistoryService) -> Result<Principal, Failure> {
    let who = super::authenticate(req, service).await?;
    check_json(req)?;
    Ok(who)
}

fn check_json(req: &HttpRequest) -> Result<(), Failure> {
    check_media_type(req, &["application/json"], "application/json")
}

/// The body as text. Its size is bounded by the server's JSON body limit (`server.max_body_bytes`).
fn body_text(body: &Result<web::Bytes, actix_web::Error>) -> Result<String, Failure> {
    let bytes = body.as_ref().map_err(|e| {
        let status = e.as_response_error().status_code();
        Failure::Body(status, format!("the body cannot be read: {e}"))
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Failure::Write(WriteError::Invalid(RecordError::new("$", "the body is not valid UTF-8"))))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Failure> {
    parse_strict(text).map_err(|e| Failure::Write(WriteError::Invalid(e)))
}
