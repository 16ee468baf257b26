//! `POST /v1/interactions`: one record (`application/json`) or a stream of them
//! (`application/x-ndjson`, or a JSON array), stored as they arrive through the same path as
//! `ixgw import` (`RecordSplitter` + `ImportSession`). The body is read chunk by chunk and no body
//! size limit applies: memory is bounded by the largest record (16 MiB) and by the rejections kept
//! for the answer ([`MAX_RESULTS`]).

use super::reply::{self, check_media_type, Failure};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use ixgw_core::ingest::{ImportSession, Outcome, RecordSplitter, Rejection, DEFAULT_MAX_RECORD_BYTES};
use ixgw_core::{HistoryError, HistoryService, Principal, StoreError};
use serde::Serialize;

/// Rejections listed in an answer; the counts go on past it.
pub const MAX_RESULTS: usize = 1000;

const JSON: &str = "application/json";
const NDJSON: [&str; 2] = ["application/x-ndjson", "application/ndjson"];
const MEDIA_TYPES: [&str; 3] = [JSON, NDJSON[0], NDJSON[1]];

/// The answer: counts, the first rejections, and why the stream stopped early if it did.
#[derive(Debug, Default, Serialize)]
struct Report {
    accepted: u64,
    rejected: u64,
    results: Vec<LineResult>,
    /// More lines were rejected than `results` lists.
    results_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct LineResult {
    line: usize,
    status: &'static str,
    path: String,
    reason: String,
}

impl Report {
    /// Counts what a batch stored and lists its rejections; a store that became unavailable ends the
    /// stream with a 503 (the answer to return).
    fn add(&mut self, req: &HttpRequest, stored: Result<Vec<Outcome>, StoreError>) -> Result<(), (StatusCode, Self)> {
        let outcomes = match stored {
            Ok(outcomes) => outcomes,
            Err(unavailable) => {
                ixgw_web::log_failure(req, &HistoryError::from(unavailable));
                let reason = "the store became unavailable: send the records again (storing is idempotent)".to_string();
                return Err(std::mem::take(self).stop(StatusCode::SERVICE_UNAVAILABLE, "unavailable", reason));
            }
        };
        for outcome in outcomes {
            match outcome.result {
                Ok(_) => self.accepted += 1,
                Err(rejection) => {
                    if let Rejection::Store(e) = &rejection {
                        tracing::warn!(path = %req.path(), line = outcome.line, request_id = %ixgw_web::request_id(req), error = ?e, "record refused by the store");
                    }
                    let (path, reason) = rejection.public();
                    self.reject(outcome.line, path, reason);
                }
            }
        }
        Ok(())
    }

    fn reject(&mut self, line: usize, path: String, reason: String) {
        self.rejected += 1;
        if self.results.len() < MAX_RESULTS {
            self.results.push(LineResult { line, status: "rejected", path, reason });
        } else {
            self.results_truncated = true;
        }
    }

    /// The stream stopped before its end: say why (the counts say how far it got).
    fn stop(mut self, status: StatusCode, error: &'static str, reason: String) -> (StatusCode, Self) {
        self.error = Some(error);
        self.reason = Some(reason);
        (status, self)
    }
}

/// This route's operation name in request logs and metrics.
const OPERATION: &str = "postInteractions";

pub(super) async fn post_interactions(
    req: HttpRequest,
    payload: web::Payload,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let checked = async {
        let who = super::authenticate(&req, &service).await?;
        check_media_type(&req, &MEDIA_TYPES, "application/json or application/x-ndjson")?;
        Ok::<_, Failure>(who)
    };
    match checked.await {
        Ok(who) => {
            let (status, report) = import(&req, &service, &who, payload).await;
            // A stream that stopped early says why; one with rejected records counts as `rejected`.
            let fault = report.error.or((report.rejected > 0).then_some("rejected")).map(str::to_string);
            let mut response = HttpResponse::build(status);
            reply::decorate(&mut response, status);
            reply::labelled(&req, OPERATION, fault, None, response.json(report))
        }
        Err(failure) => reply::answer(&req, OPERATION, Err(failure)),
    }
}

/// Reads and stores the whole body. 200 when every record was stored, 422 when any was rejected,
/// 503 / 400 when the store or the body failed part-way (what was stored before stays stored).
async fn import(
    req: &HttpRequest,
    service: &HistoryService,
    who: &Principal,
    mut payload: web::Payload,
) -> (StatusCode, Report) {
    let mut session = ImportSession::new(service).bound_to(&who.tenant, &who.environment);
    // Declared NDJSON is split by lines from the start; `application/json` may be one record, an
    // array or several objects.
    let mut splitter = if is_ndjson(req) {
        RecordSplitter::ndjson(DEFAULT_MAX_RECORD_BYTES)
    } else {
        RecordSplitter::new(DEFAULT_MAX_RECORD_BYTES)
    };
    let mut frames = Vec::new();
    let mut report = Report::default();
    // `application/json` must hold a document (a record, an array, objects); an empty NDJSON stream
    // is zero records.
    let mut holds_json = is_ndjson(req);
    loop {
        let chunk = payload.next().await;
        match &chunk {
            Some(Ok(bytes)) => {
                holds_json = holds_json || bytes.iter().any(|b| !b.is_ascii_whitespace());
                splitter.push(bytes, &mut frames)
            }
            Some(Err(e)) => {
                // The records that arrived whole are stored before answering.
                let stored = session.flush().await;
                return match report.add(req, stored) {
                    Ok(()) => report.stop(StatusCode::BAD_REQUEST, "bad_body", format!("the body broke off: {e}")),
                    Err(unavailable) => unavailable,
                };
            }
            None => splitter.finish(&mut frames),
        }
        for frame in frames.drain(..) {
            let stored = session.add(frame).await;
            if let Err(unavailable) = report.add(req, stored) {
                return unavailable;
            }
        }
        if chunk.is_none() {
            let stored = session.flush().await;
            if let Err(unavailable) = report.add(req, stored) {
                return unavailable;
            }
            if !holds_json {
                let reason =
                    "the body holds no JSON document: send a record, an array of records, or NDJSON".to_string();
                return report.stop(StatusCode::BAD_REQUEST, "bad_body", reason);
            }
            let status = if report.rejected == 0 { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            return (status, report);
        }
    }
}

fn is_ndjson(req: &HttpRequest) -> bool {
    reply::media_type(req).is_some_and(|t| NDJSON.contains(&t.as_str()))
}
