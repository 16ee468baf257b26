//! One client request passed on to the vendor as it came, and the vendor's answer read whole.

use crate::describe;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;
use tracing::Instrument;

/// A client's request to pass on.
pub struct Outgoing<'a> {
    /// `GET` or `POST` (the read routes' methods).
    pub method: &'a str,
    /// The vendor's URL for it: the vendor's base, the path, the query.
    pub url: String,
    /// The client's headers that go on (credentials, content type, SOAP action), as they came.
    pub headers: Vec<(&'a str, &'a [u8])>,
    pub body: Bytes,
}

/// The vendor's answer.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub status: u16,
    /// Its headers but the connection's own (hop-by-hop, `Content-Length`, `Date`, `Server`),
    /// names in lower case, in the vendor's order.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl Forwarded {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

/// Headers of one connection, not of the answer: never passed on.
const CONNECTION_HEADERS: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "date",
    "server",
];

/// Passes requests on, one try each, within the shared client's timeout.
#[derive(Clone)]
pub struct Forwarder {
    http: reqwest::Client,
    max_answer_bytes: usize,
}

impl Forwarder {
    pub fn new(http: reqwest::Client, max_answer_bytes: usize) -> Self {
        Self { http, max_answer_bytes }
    }

    /// Sends `outgoing`; `Err` (in words, without the URL) when the vendor cannot be reached, does
    /// not answer within the timeout, breaks off, or answers more than the cap. A client span
    /// of its own, whose trace context goes on with it.
    pub async fn send(&self, outgoing: Outgoing<'_>) -> Result<Forwarded, String> {
        let span = crate::client_span(outgoing.method, &outgoing.url);
        let answer = self.exchange(outgoing, crate::trace_context(&span)).instrument(span.clone()).await;
        match &answer {
            Ok(answer) => crate::record_status(&span, answer.status),
            Err(_) => crate::record_failure(&span),
        }
        answer
    }

    async fn exchange(&self, outgoing: Outgoing<'_>, trace_context: HeaderMap) -> Result<Forwarded, String> {
        let method = reqwest::Method::from_bytes(outgoing.method.as_bytes()).map_err(|_| "not an HTTP method")?;
        let mut request = self.http.request(method, &outgoing.url).body(outgoing.body);
        for (name, value) in outgoing.headers {
            let (Ok(name), Ok(mut value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value))
            else {
                continue;
            };
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        let mut response = request.headers(trace_context).send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !CONNECTION_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
            .collect();
        if response.content_length().is_some_and(|l| l > self.max_answer_bytes as u64) {
            return Err(format!("the answer is larger than {} bytes", self.max_answer_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > self.max_answer_bytes {
                return Err(format!("the answer is larger than {} bytes", self.max_answer_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Forwarded { status, headers, body: Bytes::from(body) })
    }
}

/// The shared client's timeout for the cutover: `timeout_ms` of `[upstream]`.
pub fn timeout(ms: u64) -> Duration {
    Duration::from_millis(ms.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-answer server on loopback: returns its address and the request it read.
    async fn serve_once(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let n = socket.read(&mut request).await.unwrap();
            request.truncate(n);
            socket.write_all(answer).await.unwrap();
            socket.shutdown().await.unwrap();
            request
        });
        (address, task)
    }

    fn forwarder(cap: usize) -> Forwarder {
        Forwarder::new(crate::http_client(Duration::from_secs(2), "test").unwrap(), cap)
    }

    #[tokio::test]
    async fn passes_the_request_on_and_keeps_the_answers_own_headers() {
        let (base, seen) = serve_once(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nUnauthenticated-Reason: unknown key\r\n\
              Date: Mon, 01 Jan 2001 00:00:00 GMT\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await;
        let answer = forwarder(1024)
            .send(Outgoing {
                method: "POST",
                url: format!("{base}/soap?x=1"),
                headers: vec![("Tenant-Id", b"12345678"), ("SOAPAction", b"\"a\"")],
                body: Bytes::from_static(b"<e/>"),
            })
            .await
            .unwrap();
        assert_eq!(answer.status, 401);
        assert_eq!(answer.header("unauthenticated-reason"), Some(&b"unknown key"[..]));
        assert_eq!(answer.header("date"), None);
        assert_eq!(answer.header("connection"), None);
        assert_eq!(answer.body, "{}");
        let request = String::from_utf8(seen.await.unwrap()).unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post /soap?x=1 http/1.1"), "{request}");
        assert!(request.contains("tenant-id: 12345678") && request.contains("soapaction: \"a\""), "{request}");
        assert!(request.ends_with("<e/>"), "{request}");
    }

    #[tokio::test]
    async fn answers_over_the_cap_and_dead_vendors_are_errors() {
        let (base, _seen) =
            serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789").await;
        let e = forwarder(4)
            .send(Outgoing { method: "GET", url: base, headers: vec![], body: Bytes::new() })
            .await
            .unwrap_err();
        assert!(e.contains("larger than 4 bytes"), "{e}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = forwarder(4)
            .send(Outgoing { method: "GET", url: closed, headers: vec![], body: Bytes::new() })
            .await
            .unwrap_err();
        assert!(e.contains("could not connect"), "{e}");
    }
}
