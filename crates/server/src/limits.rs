//! The request-body part of `server.request_timeout_secs`: actix bounds the time a client takes to
//! send its request head; this bounds the time it may leave between two parts of its body, so that
//! a client trickling (or stalling) a body cannot hold a request open for ever. Streams that keep
//! moving (a large NDJSON import) are not cut, however long they take.

use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::PayloadError;
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
        match req.take_payload() {
            // actix found no body in the head (no `Content-Length` above 0, no
            // `Transfer-Encoding`): nothing to time, and a GET costs no wrapper.
            Payload::None => {}
            body => req.set_payload(Payload::Stream { payload: Box::pin(with_idle_timeout(body, self.idle)) }),
        }
        self.service.call(req)
    }
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

    #[actix_web::test]
    async fn only_a_request_that_has_a_body_has_its_body_timed() {
        use actix_web::dev::fn_service;
        use actix_web::test::TestRequest;
        let timed = |req: ServiceRequest| async move {
            let inner = fn_service(|mut req: ServiceRequest| async move {
                let timed = matches!(req.take_payload(), Payload::Stream { .. });
                Ok::<_, actix_web::Error>(req.into_response(if timed { "timed" } else { "as is" }))
            });
            let service = BodyIdleTimeout { idle: Duration::from_secs(1) }.new_transform(inner).await.unwrap();
            let response = service.call(req).await.unwrap();
            actix_web::body::to_bytes(response.into_body()).await.unwrap()
        };
        assert_eq!(timed(TestRequest::post().set_payload("a body").to_srv_request()).await, "timed");
        // actix's HTTP/1 dispatcher leaves a request whose head announces no body with
        // `Payload::None` (a test request always has a stream of its own).
        let mut get = TestRequest::get().to_srv_request();
        get.set_payload(Payload::None);
        assert_eq!(timed(get).await, "as is", "a GET");
    }
}
