//! The request-body part of `server.request_timeout_secs`: actix bounds the time a client takes to
//! send its request head; this bounds the time it may leave between two parts of its body, so that
//! a client trickling (or stalling) a body cannot hold a request open for ever. Streams that keep
//! moving (a large NDJSON import) are not cut, however long they take.

use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::stream::{self, Stream, StreamExt};
use std::future::{ready, Ready};
use std::time::Duration;

/// Middleware: the body of every request must keep arriving, at most `idle` apart.
pub struct BodyIdleTimeout {
    pub idle: Duration,
}

impl<S, B> Transform<S, ServiceRequest> for BodyIdleTimeout
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = BodyIdleTimeoutService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyIdleTimeoutService { service, idle: self.idle }))
    }
}

pub struct BodyIdleTimeoutService<S> {
    service: S,
    idle: Duration,
}

impl<S, B> Service<ServiceRequest> for BodyIdleTimeoutService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if announces_body(req.headers()) {
            let body = req.take_payload();
            req.set_payload(Payload::Stream { payload: Box::pin(with_idle_timeout(body, self.idle)) });
        }
        self.service.call(req)
    }
}

/// Whether an HTTP/1.1 request has a body: a `Content-Length` other than 0, or a
/// `Transfer-Encoding` (without either there is none, and nothing to time: a GET costs no wrapper).
fn announces_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers.get(header::CONTENT_LENGTH).is_some_and(|length| length.as_bytes() != b"0")
}

/// `body`, failing with a timeout error when no part arrives for `idle`.
fn with_idle_timeout(body: Payload, idle: Duration) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
    stream::unfold(Some(body), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(part)) => Some((part, Some(body))),
            Ok(None) => None,
            Err(_) => {
                let timed_out = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no part of the request body arrived for {} s", idle.as_secs()),
                );
                Some((Err(PayloadError::Io(timed_out)), None))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;

    /// A body of these parts.
    fn boxed(parts: Vec<Result<Bytes, PayloadError>>) -> Payload {
        let s: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(stream::iter(parts));
        Payload::Stream { payload: s }
    }

    #[actix_web::test]
    async fn a_moving_body_passes_whole() {
        let body = boxed(vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))]);
        let parts: Vec<_> = with_idle_timeout(body, Duration::from_millis(200)).collect().await;
        let text: Vec<u8> = parts.into_iter().flat_map(|p| p.unwrap().to_vec()).collect();
        assert_eq!(text, b"abcd");
    }

    #[actix_web::test]
    async fn a_stalled_body_fails_after_the_idle_time() {
        let stalled: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(stream::once(async { Ok(Bytes::from_static(b"a")) }).chain(stream::pending()));
        let mut s = Box::pin(with_idle_timeout(Payload::Stream { payload: stalled }, Duration::from_millis(50)));
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"a"));
        assert!(matches!(s.next().await, Some(Err(PayloadError::Io(e))) if e.kind() == std::io::ErrorKind::TimedOut));
        assert!(s.next().await.is_none());
    }

    #[test]
    fn only_a_request_that_announces_a_body_has_its_body_timed() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(header::HeaderName::from_static(name), header::HeaderValue::from_static(value));
            }
            announces_body(&headers)
        };
        assert!(with(&[("content-length", "12")]));
        assert!(with(&[("transfer-encoding", "chunked")]));
        assert!(!with(&[]), "a GET");
        assert!(!with(&[("content-length", "0")]));
    }
}
