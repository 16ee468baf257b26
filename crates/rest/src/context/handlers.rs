//! The handlers: each reads who is asking, asks the core, and renders the answer. Lists are fetched
//! in keyset chunks through the core and streamed, so their memory does not grow with the history.

use super::access::principal;
use super::error::{respond, Failure, JSON};
use super::links::Links;
use super::params::ListParams;
use crate::RestSettings;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream::{self, Stream, StreamExt};
use ixgw_core::resources::context_services::{write_resource, ContentUrls};
use ixgw_core::store::{ContentPart, ContextRow, ListCursor, ListSubject};
use ixgw_core::{HistoryError, HistoryService, Principal};
use ixgw_web::RequestLabel;

/// Rows fetched per store round trip of a whole list.
pub(super) const CHUNK: u32 = 500;

/// The path prefix a resource is mounted under: `""` (the root) or the configured base path.
pub(super) struct Mount(pub String);

const PLAIN_TEXT: &str = "text/plain;charset=UTF-8";
const OCTET_STREAM: &str = "application/octet-stream";

/// The Context Services surface's name in request logs and metrics.
pub const SURFACE: &str = "context-services";

/// A handler's result as the client sees it, labelled with its `operation` for the request log and
/// metrics.
fn answer(req: &HttpRequest, operation: &str, result: Result<HttpResponse, Failure>) -> HttpResponse {
    let fault = result.as_ref().err().map(|f| f.kind().to_string());
    let reason = result.as_ref().err().and_then(Failure::refusal);
    let mut response = result.unwrap_or_else(|failure| respond(req, failure));
    ixgw_web::label(
        req,
        &mut response,
        RequestLabel { surface: SURFACE, operation: operation.into(), fault, reason, ..Default::default() },
    );
    response
}

fn links(req: &HttpRequest, settings: &RestSettings, mount: &Mount) -> Links {
    Links::new(&ixgw_web::base_url(req, settings.public_url.as_deref()), &mount.0)
}

/// `GET /interactions/{interaction_id}`: one resource.
pub(super) async fn interaction(
    req: HttpRequest,
    service: Data<HistoryService>,
    settings: Data<RestSettings>,
    mount: Data<Mount>,
    interaction_id: Path<String>,
) -> HttpResponse {
    let result = async {
        let who = principal(&req, &service, &settings).await?;
        let row = service.context_interaction(&who, &interaction_id).await?;
        // The public base URL only for an interaction with content to link to.
        let urls =
            if has_content(&row) { links(&req, &settings, &mount).content_urls(&row) } else { ContentUrls::default() };
        let mut body = Vec::with_capacity(2048);
        write_resource(&mut body, &row, &urls)?;
        Ok(HttpResponse::Ok().content_type(JSON).body(body))
    };
    answer(&req, "interaction", result.await)
}

/// Whether `row` has a content part, i.e. its resource links to something.
fn has_content(row: &ContextRow) -> bool {
    row.has_plain_text || row.has_structured_text || row.has_binary_content
}

/// `GET /interactions/{interaction_id}/{plain_text | structured_text | binary_content}`.
pub(super) async fn content(
    req: HttpRequest,
    service: Data<HistoryService>,
    settings: Data<RestSettings>,
    interaction_id: Path<String>,
    part: Data<ContentPart>,
) -> HttpResponse {
    let part = *part.into_inner();
    let result = async {
        let who = principal(&req, &service, &settings).await?;
        let blob = service.content(&who, &interaction_id, part).await?;
        let content_type = match part {
            ContentPart::PlainText => HeaderValue::from_static(PLAIN_TEXT),
            ContentPart::StructuredText => stored_mime(blob.mime.as_deref(), PLAIN_TEXT),
            ContentPart::BinaryContent => stored_mime(blob.mime.as_deref(), OCTET_STREAM),
        };
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type))
            // Stored HTML must not run as this origin's page, nor be sniffed into something else.
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
            .body(blob.data))
    };
    answer(&req, part.path_segment(), result.await)
}

/// The stored MIME type if it can be a `Content-Type`, else `fallback`.
fn stored_mime(mime: Option<&str>, fallback: &'static str) -> HeaderValue {
    mime.filter(|m| m.contains('/'))
        .and_then(|m| HeaderValue::from_str(m).ok())
        .unwrap_or_else(|| HeaderValue::from_static(fallback))
}

/// `GET /customers/{customer_id}/interactions`.
pub(super) async fn customer_interactions(
    req: HttpRequest,
    service: Data<HistoryService>,
    settings: Data<RestSettings>,
    mount: Data<Mount>,
    customer_id: Path<String>,
) -> HttpResponse {
    let result = async {
        let who = principal(&req, &service, &settings).await?;
        list(&req, &service, links(&req, &settings, &mount), who, ListSubject::Customer(customer_id.into_inner())).await
    };
    answer(&req, "customerInteractions", result.await)
}

/// `GET /services/{service_id}/interactions`; `service_id` is a 64-bit integer.
pub(super) async fn service_interactions(
    req: HttpRequest,
    service: Data<HistoryService>,
    settings: Data<RestSettings>,
    mount: Data<Mount>,
    service_id: Path<String>,
) -> HttpResponse {
    let result = async {
        let who = principal(&req, &service, &settings).await?;
        let id = service_id.parse().map_err(|_| Failure::bad("service_id", &service_id, "is not a 64-bit integer"))?;
        list(&req, &service, links(&req, &settings, &mount), who, ListSubject::Service(id)).await
    };
    answer(&req, "serviceInteractions", result.await)
}

/// A list: without `limit` the whole of it (the vendor's answer), streamed in chunks; with
/// `limit=N` one page of N and, if more follow, `Link: <…>; rel="next"`.
async fn list(
    req: &HttpRequest,
    service: &HistoryService,
    links: Links,
    who: Principal,
    subject: ListSubject,
) -> Result<HttpResponse, Failure> {
    let params = ListParams::parse(req.query_string())?;
    match params.limit {
        Some(limit) => page(service, &links, &who, &params, &subject, limit).await,
        None => whole(service, links, who, params, subject, req.path().to_string()).await,
    }
}

async fn page(
    service: &HistoryService,
    links: &Links,
    who: &Principal,
    params: &ListParams,
    subject: &ListSubject,
    limit: u32,
) -> Result<HttpResponse, Failure> {
    let mut rows = service.context_list(who, &params.query(subject, params.cursor.clone(), limit + 1)).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut body = vec![b'['];
    render(&mut body, &rows, links, true)?;
    body.push(b']');
    let mut response = HttpResponse::Ok();
    response.content_type(JSON);
    if let Some(last) = rows.last().filter(|_| more) {
        let next = links.list(subject, &params.next_query(&cursor_after(last)));
        response.insert_header((header::LINK, format!("<{next}>; rel=\"next\"")));
    }
    Ok(response.body(body))
}

/// The whole list. The first chunk is fetched before answering, so that a store failure is still a
/// proper error response; a list longer than one chunk is streamed (chunked transfer encoding).
async fn whole(
    service: &HistoryService,
    links: Links,
    who: Principal,
    params: ListParams,
    subject: ListSubject,
    path: String,
) -> Result<HttpResponse, Failure> {
    let first = service.context_list(&who, &params.query(&subject, params.cursor.clone(), CHUNK)).await?;
    let mut body = vec![b'['];
    render(&mut body, &first, &links, true)?;
    let Some(last) = first.last().filter(|_| first.len() == CHUNK as usize) else {
        body.push(b']');
        return Ok(HttpResponse::Ok().content_type(JSON).body(body));
    };
    let rest = Rest { service: service.clone(), who, links, params, subject, after: cursor_after(last), path };
    let stream = stream::once(async { Ok(Bytes::from(body)) }).chain(rest.into_stream());
    Ok(HttpResponse::Ok().content_type(JSON).streaming(stream))
}

/// What the stream of a long list needs to fetch its next chunks.
struct Rest {
    service: HistoryService,
    who: Principal,
    links: Links,
    params: ListParams,
    subject: ListSubject,
    after: ListCursor,
    path: String,
}

impl Rest {
    /// The remaining chunks, the last one closing the array. A failure ends the stream with an
    /// error, which aborts the response: the client never takes a cut list for a whole one.
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, HistoryError>> {
        stream::unfold(Some(self), |state| async move {
            let mut rest = state?;
            match rest.next_chunk().await {
                Ok((chunk, more)) => Some((Ok(chunk), more.then_some(rest))),
                Err(error) => {
                    tracing::error!(path = %rest.path, error = ?error, "list aborted after its first chunk");
                    Some((Err(error), None))
                }
            }
        })
    }

    async fn next_chunk(&mut self) -> Result<(Bytes, bool), HistoryError> {
        let query = self.params.query(&self.subject, Some(self.after.clone()), CHUNK);
        let rows = self.service.context_list(&self.who, &query).await?;
        let mut chunk = Vec::new();
        render(&mut chunk, &rows, &self.links, false)?;
        match rows.last().filter(|_| rows.len() == CHUNK as usize) {
            Some(last) => {
                self.after = cursor_after(last);
                Ok((chunk.into(), true))
            }
            None => {
                chunk.push(b']');
                Ok((chunk.into(), false))
            }
        }
    }
}

/// Appends `rows` as array members; `first` says whether they open the array (no leading comma).
fn render(out: &mut Vec<u8>, rows: &[ContextRow], links: &Links, first: bool) -> Result<(), HistoryError> {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 || !first {
            out.push(b',');
        }
        write_resource(out, row, &links.content_urls(row))?;
    }
    Ok(())
}

fn cursor_after(row: &ContextRow) -> ListCursor {
    ListCursor { started_at: row.started_at, interaction_id: row.interaction_id.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_mime_or_fallback() {
        assert_eq!(stored_mime(Some("text/xml"), PLAIN_TEXT), "text/xml");
        assert_eq!(stored_mime(Some("image/png"), OCTET_STREAM), "image/png");
        assert_eq!(stored_mime(None, OCTET_STREAM), OCTET_STREAM);
        assert_eq!(stored_mime(Some("png"), OCTET_STREAM), OCTET_STREAM);
        assert_eq!(stored_mime(Some("text/html\r\nSet-Cookie: a=b"), PLAIN_TEXT), PLAIN_TEXT);
    }
}
