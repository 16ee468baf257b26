//! Operational endpoints: health, readiness, metrics, request ids, and the label every face puts on
//! its answers (surface, vendor operation, SOAP version, tenant, fault) as the metrics and the request
//! log show it.

use crate::helpers::*;
use reqwest::Method;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

const DEMO_KEY: &str = "demo-application-key";
const TENANT: &str = "12345678";
const SOAP_PATH: &str = "/interact/version/2/interactiondata/soap";

/// The request log of every test app in this process, as JSON lines (`log.format = "json"`),
/// captured in memory: the process's subscriber, set by the first test that asks.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        ixgw::telemetry::init_with_writer("json", "info", move || Capture(sink.clone()));
        log
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The request-log line of the request with this id.
fn log_line(request_id: &str) -> serde_json::Value {
    let text = String::from_utf8(captured_log().lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "request" && l["request_id"] == request_id)
        .collect();
    assert_eq!(lines.len(), 1, "one request line for {request_id}: {lines:?}");
    lines[0].clone()
}

store_tests!(
    health_readiness_and_metrics,
    every_surface_labels_its_answers_with_the_vendor_operation,
    every_refusal_of_credentials_logs_its_reason
);

async fn health_readiness_and_metrics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let id = health.headers().get("x-request-id").expect("every answer has a request id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // A client's own request id is kept if it is sane, replaced if not.
    let echoed = app.client.get(app.url("/healthz")).header("X-Request-Id", "abc-123").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let hostile = app.client.get(app.url("/healthz")).header("X-Request-Id", "a\tb<script>").send().await.unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "a\tb<script>");

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"ixgw_requests_total{operation="/healthz",soap_version="",status="200",surface="ops"} 3"#),
        "{text}"
    );
    assert!(text.contains("ixgw_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"ixgw_store_pool_connections{state="max"} 4"#), "{text}");
}

async fn every_surface_labels_its_answers_with_the_vendor_operation(backend: Backend) {
    let log = captured_log();
    let app = TestApp::spawn_demo(backend).await;
    let ingest_key = app.add_key(TENANT, "production", "ingest").await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let rid = |n: &str| format!("ops-{run}-{n}");
    let interact = |path: &str| app.url(&format!("/interact/agent/version/2/account/{TENANT}/interactiondata/{path}"));
    let get = |url: String, key: &str, id: String| {
        app.client.get(url).header("Tenant-Id", TENANT).header("Application-Key", key).header("X-Request-Id", id).send()
    };

    let r = get(interact("040100713/fullFlow"), DEMO_KEY, rid("rest-id")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = get(interact("history1/fullFlow/byCallerAttribute?widerSearch=true"), DEMO_KEY, rid("rest-attr"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = get(interact("040100713/fullFlow"), "not-a-key", rid("rest-401")).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = get(interact("040100713/variableSet/customerInfoSet"), DEMO_KEY, rid("rest-vars")).await.unwrap();
    assert_eq!(r.status(), 200);

    let by_uuid = |ns: &str| {
        format!(
            concat!(
                r#"<e:Envelope xmlns:e="{ns}" xmlns:s="http://com/jacada/interact/interactiondata/soap"><e:Body>"#,
                r#"<s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>040100713</s:uniqueId>"#,
                r#"</s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"#
            ),
            ns = ns
        )
    };
    let soap = |content_type: &'static str, body: String, id: String| {
        app.client
            .post(app.url(SOAP_PATH))
            .header("Content-Type", content_type)
            .header("Tenant-Id", TENANT)
            .header("Application-Key", DEMO_KEY)
            .header("X-Request-Id", id)
            .body(body)
            .send()
    };
    let r = soap("text/xml; charset=utf-8", by_uuid("http://schemas.xmlsoap.org/soap/envelope/"), rid("soap11"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        soap("application/soap+xml; charset=utf-8", by_uuid("http://www.w3.org/2003/05/soap-envelope"), rid("soap12"))
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let r = soap("application/soap+xml", "<not-xml".into(), rid("soap-bad")).await.unwrap();
    assert_eq!(r.status(), 400);

    let context = |path: &str, id: String| {
        app.client
            .get(app.url(path))
            .header("ContactCenterId", TENANT)
            .header("Application-Key", DEMO_KEY)
            .header("X-Request-Id", id)
            .send()
    };
    let r = context("/interactions/00001a57JGQ00BW8", rid("cs-one")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = context("/genesys/1/cs/customers/00001a57JGQ00BVU/interactions", rid("cs-list")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = context("/interactions/00001a57JGQ00BW8/plain_text", rid("cs-text")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = context("/interactions/no-such-interaction", rid("cs-404")).await.unwrap();
    assert_eq!(r.status(), 404);

    let r = app
        .client
        .post(app.url("/v1/interactions"))
        .bearer_auth(&ingest_key)
        .header("Content-Type", "application/json")
        .header("X-Request-Id", rid("ingest"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .client
        .delete(app.url("/v1/interactions/no-such-interaction"))
        .bearer_auth(&ingest_key)
        .header("X-Request-Id", rid("erase"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        r#"ixgw_requests_total{operation="fullFlow",soap_version="",status="200",surface="interact-rest"} 1"#,
        concat!(
            r#"ixgw_requests_total{operation="fullFlow/byCallerAttribute",soap_version="",status="200","#,
            r#"surface="interact-rest"} 1"#
        ),
        r#"ixgw_requests_total{operation="fullFlow",soap_version="",status="401",surface="interact-rest"} 1"#,
        r#"ixgw_requests_total{operation="variableSet",soap_version="",status="200",surface="interact-rest"} 1"#,
        concat!(
            r#"ixgw_requests_total{operation="GetInteractionFullFlowByUUID",soap_version="1.1",status="200","#,
            r#"surface="interact-soap"} 1"#
        ),
        concat!(
            r#"ixgw_requests_total{operation="GetInteractionFullFlowByUUID",soap_version="1.2",status="200","#,
            r#"surface="interact-soap"} 1"#
        ),
        r#"ixgw_requests_total{operation="unknown",soap_version="1.2",status="400",surface="interact-soap"} 1"#,
        r#"ixgw_requests_total{operation="interaction",soap_version="",status="200",surface="context-services"} 1"#,
        r#"ixgw_requests_total{operation="interaction",soap_version="",status="404",surface="context-services"} 1"#,
        concat!(
            r#"ixgw_requests_total{operation="customerInteractions",soap_version="",status="200","#,
            r#"surface="context-services"} 1"#
        ),
        r#"ixgw_requests_total{operation="plain_text",soap_version="",status="200",surface="context-services"} 1"#,
        r#"ixgw_requests_total{operation="postInteractions",soap_version="",status="422",surface="ingest"} 1"#,
        r#"ixgw_requests_total{operation="eraseInteraction",soap_version="",status="404",surface="ingest"} 1"#,
        r#"ixgw_request_duration_seconds_count{operation="GetInteractionFullFlowByUUID",surface="interact-soap"} 2"#,
        r#"ixgw_faults_total{code="unauthenticated",surface="interact-rest"} 1"#,
        r#"ixgw_faults_total{code="client",surface="interact-soap"} 1"#,
        r#"ixgw_faults_total{code="not_found",surface="context-services"} 1"#,
        r#"ixgw_faults_total{code="rejected",surface="ingest"} 1"#,
        r#"ixgw_faults_total{code="not_found",surface="ingest"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(!text.contains("040100713") && !text.contains("history1"), "ids never become labels:\n{text}");

    // The request log: one line per request, with the tenant once it is authenticated.
    for (id, surface, operation, version, tenant, status) in [
        ("rest-id", "interact-rest", "fullFlow", "", TENANT, 200),
        ("rest-401", "interact-rest", "fullFlow", "", "", 401),
        ("soap12", "interact-soap", "GetInteractionFullFlowByUUID", "1.2", TENANT, 200),
        ("soap-bad", "interact-soap", "unknown", "1.2", "", 400),
        ("cs-list", "context-services", "customerInteractions", "", TENANT, 200),
        ("ingest", "ingest", "postInteractions", "", TENANT, 422),
    ] {
        let line = log_line(&rid(id));
        assert_eq!(
            (&line["surface"], &line["operation"], &line["soap_version"], &line["tenant"], &line["status"]),
            (&surface.into(), &operation.into(), &version.into(), &tenant.into(), &status.into()),
            "{id}: {line}"
        );
        assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert_eq!(line.get("reason").is_some(), id == "rest-401", "only a refusal has a reason: {line}");
    }
    let everything = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    for secret in [DEMO_KEY, ingest_key.as_str()] {
        assert!(!everything.contains(secret), "a key reached the log");
    }
}

/// A request with a credential mistake, and how it is refused.
struct Refusal {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<&'static str>,
    status: u16,
    reason: &'static str,
}

/// Each credential mistake is the vendor's one 401 (or SOAP fault) on the wire; its request log line
/// names which mistake it was, with the text of `Unauthenticated-Reason`, and never the key.
async fn every_refusal_of_credentials_logs_its_reason(backend: Backend) {
    let log = captured_log();
    let app = TestApp::spawn_demo(backend).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let full_flow = format!("/interact/agent/version/2/account/{TENANT}/interactiondata/040100713/fullFlow");
    let envelope = concat!(
        r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" "#,
        r#"xmlns:s="http://com/jacada/interact/interactiondata/soap"><e:Body>"#,
        r#"<s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>040100713</s:uniqueId>"#,
        r#"</s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>"#
    );
    let rest = |name, headers: &[(&'static str, &'static str)], reason| Refusal {
        name,
        method: Method::GET,
        path: full_flow.clone(),
        headers: headers.to_vec(),
        body: None,
        status: 401,
        reason,
    };
    let cases = [
        rest("wrong-key", &[("Tenant-Id", TENANT), ("Application-Key", "not-a-key")], "unknown application key"),
        rest("no-tenant", &[("Application-Key", DEMO_KEY)], "missing Tenant-Id header"),
        rest(
            "other-tenant",
            &[("Tenant-Id", "87654321"), ("Application-Key", DEMO_KEY)],
            "Tenant-Id does not match account",
        ),
        rest("staging-key", &[("Tenant-Id", TENANT), ("Application-Key", "demo-staging-key")], "unknown environment"),
        rest("no-key", &[("Tenant-Id", TENANT)], "missing Application-Key header"),
        Refusal {
            name: "soap-wrong-key",
            method: Method::POST,
            path: SOAP_PATH.into(),
            headers: vec![
                ("Tenant-Id", TENANT),
                ("Application-Key", "not-a-key"),
                ("Content-Type", "text/xml; charset=utf-8"),
            ],
            body: Some(envelope),
            status: 500,
            reason: "unknown application key",
        },
        Refusal {
            path: "/interactions/00001a57JGQ00BW8".into(),
            headers: vec![("ContactCenterId", TENANT), ("Application-Key", "not-a-key")],
            ..rest("cs-wrong-key", &[], "unknown application key")
        },
        Refusal {
            name: "ingest-read-key",
            method: Method::POST,
            path: "/v1/interactions".into(),
            headers: vec![("Authorization", "Bearer demo-application-key"), ("Content-Type", "application/json")],
            body: Some("{}"),
            status: 403,
            reason: "application key scope does not allow this operation",
        },
    ];
    for Refusal { name, method, path, headers, body, status, reason } in cases {
        let id = format!("refusal-{run}-{name}");
        let headers = [headers.as_slice(), &[("X-Request-Id", id.as_str())]].concat();
        let reply = app.send(method, &path, &headers, body.map(|b| b.to_string().into())).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text());
        let line = log_line(&id);
        assert_eq!((&line["status"], &line["reason"]), (&status.into(), &reason.into()), "{name}: {line}");
    }
    let everything = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    for secret in [DEMO_KEY, "demo-staging-key", "not-a-key"] {
        assert!(!everything.contains(secret), "a key reached the log");
    }
}

/// Limits: body size, request timeout, connections, store pool.
mod limits {
    use super::*;

    /// A raw connection to the app, for what an HTTP client library will not do (stall, trickle).
    fn connect(app: &TestApp) -> std::net::TcpStream {
        let stream = std::net::TcpStream::connect(app.base_url.trim_start_matches("http://")).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        stream
    }

    /// Everything the server sends until it closes the connection (or the read timeout).
    fn read_all(stream: &mut std::net::TcpStream) -> String {
        use std::io::Read;
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether a response arrives on `stream` within `wait`.
    fn answered_within(stream: &mut std::net::TcpStream, wait: std::time::Duration) -> bool {
        use std::io::Read;
        stream.set_read_timeout(Some(wait)).unwrap();
        let mut first = [0u8; 1];
        matches!(stream.read(&mut first), Ok(1))
    }

    store_tests!(
        bodies_over_the_limits_are_refused_with_413,
        a_stalled_request_head_or_body_is_cut_after_the_request_timeout,
        connections_past_the_limit_wait_until_one_is_free,
        the_store_pool_never_opens_more_than_its_size
    );

    async fn bodies_over_the_limits_are_refused_with_413(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.server.max_body_bytes = 2048;
            s.soap.max_body_bytes = 2048;
        })
        .await;
        let ingest_key = app.add_key(TENANT, "production", "ingest").await;
        let page = format!(
            r#"{{"pageNavigation":{{"navigationTitle":"{}"}},"pageContent":{{}},"timestamp":1}}"#,
            "x".repeat(4096)
        );
        let r = app
            .client
            .post(app.url("/v1/interactions/any/pages"))
            .bearer_auth(&ingest_key)
            .header("Content-Type", "application/json")
            .body(page)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let soap = format!(
            concat!(
                r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x>{}</x></e:Body>"#,
                r#"</e:Envelope>"#
            ),
            "y".repeat(4096)
        );
        let r = app.client.post(app.url(SOAP_PATH)).header("Content-Type", "text/xml").body(soap).send().await.unwrap();
        assert_eq!(r.status(), 413);
        // Under the limit, the same routes read the body.
        let r = app
            .client
            .post(app.url("/v1/interactions/any/pages"))
            .bearer_auth(&ingest_key)
            .header("Content-Type", "application/json")
            .body(r#"{"pageNavigation":{"navigationTitle":"t"},"pageContent":{},"timestamp":1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "read, parsed, and the interaction is unknown");
    }

    async fn a_stalled_request_head_or_body_is_cut_after_the_request_timeout(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.server.request_timeout_secs = 1).await;
        let head_only = {
            let mut stream = connect(&app);
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
                let started = std::time::Instant::now();
                (read_all(&mut stream), started.elapsed())
            })
        };
        let body_stalled = {
            let mut stream = connect(&app);
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                stream
                    .write_all(
                        b"POST /interact/version/2/interactiondata/soap HTTP/1.1\r\nHost: x\r\n\
                          Content-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<e:Envelope",
                    )
                    .unwrap();
                let started = std::time::Instant::now();
                (read_all(&mut stream), started.elapsed())
            })
        };
        let (answer, waited) = head_only.await.unwrap();
        assert!(waited < std::time::Duration::from_secs(10), "the stalled head was held {waited:?}");
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
        let (answer, waited) = body_stalled.await.unwrap();
        assert!(waited < std::time::Duration::from_secs(10), "the stalled body was held {waited:?}");
        assert!(answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 500"), "a Client fault: {answer}");
        assert!(answer.contains("Fault"), "{answer}");
        // The server still serves.
        assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    }

    async fn connections_past_the_limit_wait_until_one_is_free(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.server.workers = 1;
            s.server.max_connections = 2;
        })
        .await;
        let held: Vec<_> = (0..2).map(|_| connect(&app)).collect();
        // Let the worker accept both.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut third = connect(&app);
        let waited = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let early = answered_within(&mut third, std::time::Duration::from_millis(1500));
            (early, third)
        })
        .await
        .unwrap();
        let (early, mut third) = waited;
        assert!(!early, "a third connection was served while two were held with max_connections = 2");
        drop(held);
        let late = tokio::task::spawn_blocking(move || answered_within(&mut third, std::time::Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(late, "the waiting connection is served once one is free");
    }

    async fn the_store_pool_never_opens_more_than_its_size(backend: Backend) {
        let app = TestApp::spawn_demo(backend).await;
        let url = app.url(&format!("/interact/agent/version/2/account/{TENANT}/interactiondata/040100713/fullFlow"));
        let load: Vec<_> = (0..32)
            .map(|_| {
                let (client, url) = (app.client.clone(), url.clone());
                tokio::spawn(async move {
                    for _ in 0..10 {
                        let r = client
                            .get(&url)
                            .header("Tenant-Id", TENANT)
                            .header("Application-Key", DEMO_KEY)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                    }
                })
            })
            .collect();
        let mut most = 0;
        while load.iter().any(|h| !h.is_finished()) {
            let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
            let open: u32 = text
                .lines()
                .find_map(|l| l.strip_prefix(r#"ixgw_store_pool_connections{state="open"} "#))
                .unwrap()
                .parse()
                .unwrap();
            most = most.max(open);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for h in load {
            h.await.unwrap();
        }
        assert!((1..=4).contains(&most), "database.max_connections = 4, {most} were open");
    }
}
