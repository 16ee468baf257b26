//! The middleware in front of the faces: which requests it takes, how they go on to the vendor,
//! and how an answer of either side becomes the client's.

use super::compare::{Comparison, LocalAnswer};
use super::{Cutover, Face, Mode, CREDENTIAL_HEADERS, FORWARDED_HEADERS};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use ixgw_upstream::{Forwarded, Outgoing};
use ixgw_web::{Miss, RequestLabel};
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

/// Mounted with the application: passes everything straight through without a cutover
/// (`mode = off`), and every request that is not a read route of a face the vendor serves.
pub struct CutoverLayer(pub Option<Arc<Cutover>>);

impl<S, B> Transform<S, ServiceRequest> for CutoverLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = CutoverService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CutoverService { service: Rc::new(service), cutover: self.0.clone() }))
    }
}

pub struct CutoverService<S> {
    service: Rc<S>,
    cutover: Option<Arc<Cutover>>,
}

type Answer<B> = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

/// The face's answer as the client's, when the cutover does not take the request.
fn faces_answer<B>(answered: Result<ServiceResponse<B>, actix_web::Error>) -> Answer<B> {
    answered.map(ServiceResponse::map_into_left_body)
}

/// A request the cutover does not take (every request with `mode = off`) goes straight on, with no
/// future of its own to allocate.
type PassedOn<F, B> = futures_util::future::Map<F, fn(Result<ServiceResponse<B>, actix_web::Error>) -> Answer<B>>;

impl<S, B> Service<ServiceRequest> for CutoverService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = futures_util::future::Either<PassedOn<S::Future, B>, Pin<Box<dyn Future<Output = Answer<B>>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        use futures_util::future::{Either, FutureExt};
        let route = self.cutover.as_ref().and_then(|cutover| {
            let post = match *req.method() {
                Method::GET => false,
                Method::POST => true,
                _ => return None,
            };
            cutover.route(post, req.path())
        });
        let (Some(cutover), Some(route)) = (self.cutover.clone(), route) else {
            return Either::Left(self.service.call(req).map(faces_answer::<B> as fn(_) -> _));
        };
        let service = self.service.clone();
        Either::Right(Box::pin(async move {
            match cutover.mode {
                Mode::Shadow => shadow(&cutover, service, req, route).await,
                Mode::Fallback | Mode::Off => fallback(&cutover, service, req, route).await,
            }
        }))
    }
}

/// Shadow mode: the vendor answers the client; the store answers the same request at the same
/// time (the face needs the request to itself while it routes it, so its answer is made beside
/// the vendor's, not after), and the two are compared off the response path. The vendor down or
/// failing: the store's answer.
async fn shadow<S, B>(cutover: &Arc<Cutover>, service: Rc<S>, mut req: ServiceRequest, route: usize) -> Answer<B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    let body = match read_body(&mut req, cutover.max_body_bytes).await {
        Ok(body) => body,
        // Too large to pass on: the face answers it (413) from what it reads itself.
        Err(payload) => {
            req.set_payload(payload);
            return service.call(req).await.map(ServiceResponse::map_into_left_body);
        }
    };
    let outgoing = Request::of(req.request(), cutover, route, body.clone());
    req.set_payload(Payload::from(body));
    // The vendor's request first: the face's read runs on this thread and would hold it back.
    let (vendor, answered) = futures_util::future::join(outgoing.send(cutover), service.call(req)).await;
    let answered = answered?;
    let operation = cutover.routes[route].operation;
    let vendor = match vendor {
        Ok(vendor) if !failed(&vendor) => vendor,
        failed => {
            let why = failed.err().unwrap_or_else(|| "the vendor answered 5xx".into());
            tracing::warn!(operation, error = %why, "shadow: the vendor failed; the store answers");
            if let Some(queue) = &cutover.comparisons {
                let label = answered.response().extensions().get::<RequestLabel>().map(|l| l.operation.clone());
                queue.count(label.as_deref().unwrap_or(operation), "upstream_failed");
            }
            return Ok(answered.map_into_left_body());
        }
    };
    let miss = answered.request().extensions().get::<Miss>().cloned();
    let (http, local) = answered.into_parts();
    // Read off the response path: the client does not wait for the store's body.
    let local = actix_web::rt::spawn(LocalAnswer::read(local, miss, cutover.max_answer_bytes));
    let vendor = rewrite(vendor, &outgoing.vendor_base, &outgoing.gateway_base);
    let response = vendor_response(&http, &vendor, label(cutover, route));
    if let Some(queue) = &cutover.comparisons {
        queue.offer(Comparison { operation, request: Box::new(move || outgoing.describe()), vendor, local });
    }
    Ok(ServiceResponse::new(http, response).map_into_right_body())
}

/// Fallback mode: the store answers; what it misses is asked of the vendor, answered with the
/// vendor's bytes and copied into the store in the background.
async fn fallback<S, B>(cutover: &Arc<Cutover>, service: Rc<S>, mut req: ServiceRequest, route: usize) -> Answer<B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    // Only SOAP's body is needed again, should the store miss; a GET has none to keep.
    let body = if cutover.routes[route].post {
        match read_body(&mut req, cutover.max_body_bytes).await {
            Ok(body) => {
                req.set_payload(Payload::from(body.clone()));
                body
            }
            Err(payload) => {
                req.set_payload(payload);
                return service.call(req).await.map(ServiceResponse::map_into_left_body);
            }
        }
    } else {
        Bytes::new()
    };
    let answered = service.call(req).await?;
    let Some(miss) = answered.request().extensions().get::<Miss>().cloned() else {
        return Ok(answered.map_into_left_body());
    };
    let (http, local) = answered.into_parts();
    let local = LocalAnswer::read(local, Some(miss.clone()), cutover.max_answer_bytes).await;
    let local = local.map_err(actix_web::error::ErrorInternalServerError)?;
    let operation = local.operation(cutover.routes[route].operation).to_string();
    let outgoing = Request::of(&http, cutover, route, body);
    let fills = &cutover.metrics.fills;
    let vendor = match outgoing.send(cutover).await {
        Ok(vendor) if !failed(&vendor) => rewrite(vendor, &outgoing.vendor_base, &outgoing.gateway_base),
        failed => {
            let why = failed.err().unwrap_or_else(|| "the vendor answered 5xx".into());
            tracing::warn!(operation, error = %why, "fallback: the vendor failed; the store's answer stands");
            fills.with_label_values(&[&operation, "upstream_failed"]).inc();
            return Ok(ServiceResponse::new(http, local.into_response()).map_into_right_body());
        }
    };
    // The vendor lacks it too (its not-found is the store's, byte for byte, or a 4xx).
    if !(200..300).contains(&vendor.status) || vendor.body == local.body {
        fills.with_label_values(&[&operation, "not_found"]).inc();
        return Ok(ServiceResponse::new(http, local.into_response()).map_into_right_body());
    }
    fills.with_label_values(&[&operation, "answered"]).inc();
    if let Some(filler) = &cutover.fills {
        filler.offer(miss, credentials(&http), operation);
    }
    let response = vendor_response(&http, &vendor, label(cutover, route));
    Ok(ServiceResponse::new(http, response).map_into_right_body())
}

/// Whether the vendor's answer is its failure rather than its answer: a 5xx, except SOAP 1.1's
/// faults of the client's making (bad credentials, a bad request), which SOAP 1.1 sends as 500.
fn failed(vendor: &Forwarded) -> bool {
    if vendor.status < 500 {
        return false;
    }
    let body = &vendor.body[..];
    let is_fault = memchr::memmem::find(body, b"Fault>").is_some();
    let server_side = [&b":Server<"[..], b":Receiver<", b">Server<", b">Receiver<"]
        .iter()
        .any(|code| memchr::memmem::find(body, code).is_some());
    !(vendor.status == 500 && is_fault && !server_side)
}

/// The request body, read whole up to `cap`; past it, the payload as it came (what was read
/// first, then the rest), for the face to refuse.
async fn read_body(req: &mut ServiceRequest, cap: usize) -> Result<Bytes, Payload> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            let read = futures_util::stream::once(async move { Ok(body.freeze()) });
            return Err(Payload::Stream { payload: Box::pin(read.chain(payload)) });
        }
    }
    Ok(body.freeze())
}

/// A client's request as it goes to the vendor.
struct Request {
    method: &'static str,
    url: String,
    /// The part of the URL after the vendor's base (path and query), for samples.
    path_and_query: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Bytes,
    vendor_base: String,
    /// The gateway's base URL for what the vendor's base names.
    gateway_base: String,
}

impl Request {
    fn of(http: &HttpRequest, cutover: &Cutover, route: usize, body: Bytes) -> Self {
        let route = &cutover.routes[route];
        let vendor_base = cutover.vendor_base(route.face).to_string();
        let path = http.uri().path();
        let path = path.strip_prefix(route.prefix.as_str()).unwrap_or(path);
        let path_and_query = match http.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let mut headers = Vec::new();
        for name in FORWARDED_HEADERS {
            headers.extend(http.headers().get_all(name).map(|value| (name, value.as_bytes().to_vec())));
        }
        let gateway_base = format!("{}{}", ixgw_web::base_url(http, cutover.public_url.as_deref()), route.prefix);
        Self {
            method: if route.post { "POST" } else { "GET" },
            url: format!("{vendor_base}{path_and_query}"),
            path_and_query,
            headers,
            body,
            vendor_base,
            gateway_base,
        }
    }

    async fn send(&self, cutover: &Cutover) -> Result<Forwarded, String> {
        let outgoing = Outgoing {
            method: self.method,
            url: self.url.clone(),
            headers: self.headers.iter().map(|(name, value)| (*name, value.as_slice())).collect(),
            body: self.body.clone(),
        };
        cutover.forwarder.send(outgoing).await
    }

    /// The request for a sample: method, path and query, the headers but the credentials, the
    /// body with any WS-Security password blanked.
    fn describe(&self) -> String {
        let mut text = format!("{} {}\n", self.method, self.path_and_query);
        for (name, value) in &self.headers {
            if !CREDENTIAL_HEADERS.contains(name) {
                text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
            }
        }
        if !self.body.is_empty() {
            text.push('\n');
            text.push_str(&super::compare::without_passwords(&String::from_utf8_lossy(&self.body)));
        }
        text
    }
}

/// The client's credential and tenant headers, for the copy of what it missed.
fn credentials(http: &HttpRequest) -> Vec<(&'static str, String)> {
    ["tenant-id", "application-key", "environment-name", "authorization", "contactcenterid"]
        .into_iter()
        .filter_map(|name| Some((name, http.headers().get(name)?.to_str().ok()?.to_string())))
        .collect()
}

/// The vendor's answer with its base URL, where it names it in a text body or a `Link` or
/// `Location` header, replaced by the gateway's (as a reverse proxy rewrites them).
fn rewrite(mut vendor: Forwarded, vendor_base: &str, gateway_base: &str) -> Forwarded {
    if vendor_base == gateway_base {
        return vendor;
    }
    let textual = vendor.header("content-type").is_some_and(|t| {
        let t = String::from_utf8_lossy(t).to_ascii_lowercase();
        t.contains("json") || t.contains("xml") || t.starts_with("text/")
    });
    if let Some(body) =
        textual.then(|| replace(&vendor.body, vendor_base.as_bytes(), gateway_base.as_bytes())).flatten()
    {
        vendor.body = body;
    }
    for (name, value) in vendor.headers.iter_mut() {
        if name == "link" || name == "location" {
            if let Some(replaced) = replace(value, vendor_base.as_bytes(), gateway_base.as_bytes()) {
                *value = replaced.to_vec();
            }
        }
    }
    vendor
}

/// `haystack` with every `from` replaced by `to`; `None` when it holds none (nothing copied).
fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Option<Bytes> {
    if from.is_empty() || memchr::memmem::find(haystack, from).is_none() {
        return None;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    Some(Bytes::from(out))
}

/// The label of an answer the vendor gave, for the request log and metrics.
fn label(cutover: &Cutover, route: usize) -> RequestLabel {
    let route = &cutover.routes[route];
    let surface = match (route.face, route.post) {
        (Face::Interact, true) => "interact-soap",
        (Face::Interact, false) => "interact-rest",
        (Face::ContextServices, _) => "context-services",
    };
    RequestLabel { surface, operation: route.operation.to_string(), ..Default::default() }
}

/// The client's response of a vendor answer: its status, headers and body.
fn vendor_response(http: &HttpRequest, vendor: &Forwarded, label: RequestLabel) -> HttpResponse<BoxBody> {
    let status = StatusCode::from_u16(vendor.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for (name, value) in &vendor.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_bytes(value)) {
            response.append_header((name, value));
        }
    }
    let mut response = response.body(vendor.body.clone());
    ixgw_web::label(http, &mut response, label);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(content_type: &str, body: &'static str, link: Option<&str>) -> Forwarded {
        let mut headers = vec![("content-type".to_string(), content_type.as_bytes().to_vec())];
        headers.extend(link.map(|l| ("link".to_string(), l.as_bytes().to_vec())));
        Forwarded { status: 200, headers, body: Bytes::from_static(body.as_bytes()) }
    }

    #[test]
    fn soap_faults_of_the_clients_making_are_answers_and_5xx_else_failures() {
        let answer = |status, body: &'static str| Forwarded {
            status,
            headers: vec![],
            body: Bytes::from_static(body.as_bytes()),
        };
        assert!(!failed(&answer(404, "history for UUID x was not found")));
        assert!(!failed(&answer(500, "<SOAP-ENV:Fault><faultcode>0x7000000</faultcode></SOAP-ENV:Fault>")));
        assert!(!failed(&answer(500, "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode></SOAP-ENV:Fault>")));
        assert!(failed(&answer(500, "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode></SOAP-ENV:Fault>")));
        assert!(failed(&answer(503, "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode></SOAP-ENV:Fault>")));
        assert!(failed(&answer(500, "exception")));
        assert!(failed(&answer(502, "")));
    }

    #[test]
    fn the_vendors_base_url_becomes_the_gateways_in_text_and_links_only() {
        let vendor = "http://vendor:9000/genesys/1/cs";
        let gateway = "https://gw.example.com/genesys/1/cs";
        let json = answer(
            "application/json",
            r#"{"text":"http://vendor:9000/genesys/1/cs/interactions/1/plain_text","other":"http://vendor:9000/x"}"#,
            Some("<http://vendor:9000/genesys/1/cs/customers/c/interactions?offset=2>; rel=\"next\""),
        );
        let out = rewrite(json, vendor, gateway);
        assert_eq!(
            out.body,
            r#"{"text":"https://gw.example.com/genesys/1/cs/interactions/1/plain_text","other":"http://vendor:9000/x"}"#
        );
        assert_eq!(
            out.header("link").unwrap(),
            b"<https://gw.example.com/genesys/1/cs/customers/c/interactions?offset=2>; rel=\"next\""
        );
        let binary = answer("image/png", "http://vendor:9000/genesys/1/cs", None);
        assert_eq!(rewrite(binary, vendor, gateway).body, "http://vendor:9000/genesys/1/cs", "bytes are bytes");
        assert_eq!(replace(b"aXbXc", b"X", b"--").unwrap(), "a--b--c");
        assert_eq!(replace(b"abc", b"", b"--"), None);
        assert_eq!(replace(b"abc", b"X", b"--"), None);
    }
}
