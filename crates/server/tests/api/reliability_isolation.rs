//! Tenant isolation: every surface × every route (the REST routes as `/openapi.json` lists them, the
//! SOAP operations in both versions) × a key of another tenant, of another environment, a revoked
//! key and no key. Nothing of the demo tenant's production data may come back, and nothing of it
//! may change.

use crate::helpers::*;
use serde_json::json;
use std::path::Path;

const A: &str = "12345678";
const B: &str = "99999999";
const DEMO_KEY: &str = "demo-application-key";

/// Strings found only in the demo tenant's production data (040100713: its serial number, repair
/// ticket, customer's surname, external id, a page title, the id itself). An answer holding one that
/// its request did not contain is a leak.
const MARKERS: [&str; 6] =
    ["R52T80ABCDE", "RMA-2026-10-0042", "Smith", "00AF4A7951D60713", "Which device?", "040100713"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Interact,
    Context,
    Ingest,
    Soap,
}

/// One request of the matrix, before credentials.
#[derive(Debug, Clone)]
struct Request {
    surface: Surface,
    name: String,
    method: reqwest::Method,
    /// The path, with `{account}` for the Interact account.
    path: String,
    body: Option<(&'static str, String)>,
}

/// The credentials of one column of the matrix.
#[derive(Debug, Clone)]
struct Credentials {
    name: &'static str,
    /// The Interact account (path and `Tenant-Id`), the Context Services `ContactCenterId`, the SOAP
    /// `Tenant-Id`.
    tenant: &'static str,
    read_key: Option<String>,
    write_key: Option<String>,
    environment: Option<&'static str>,
    /// Whether every read must be refused as unauthenticated (else: answered from another
    /// partition, which may be a 404 or that partition's own data).
    refused: bool,
    /// The same for writes (a write names no tenant: another tenant's valid key writes to its own).
    writes_refused: bool,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

async fn send(app: &TestApp, request: &Request, credentials: Option<&Credentials>) -> Answer {
    let (tenant, key, environment) = match credentials {
        Some(c) => {
            let key = if request.surface == Surface::Ingest { &c.write_key } else { &c.read_key };
            (c.tenant, key.clone(), c.environment)
        }
        None => (A, Some(DEMO_KEY.to_string()), None),
    };
    let mut r = app.client.request(request.method.clone(), app.url(&request.path.replace("{account}", tenant)));
    r = match request.surface {
        Surface::Interact | Surface::Soap => r.header("Tenant-Id", tenant),
        Surface::Context => r.header("ContactCenterId", tenant),
        Surface::Ingest => r,
    };
    if let Some(key) = key {
        r = r.header("Application-Key", key);
    }
    if let Some(environment) = environment {
        r = r.header("Environment-Name", environment);
    }
    if let Some((content_type, body)) = &request.body {
        r = r.header("Content-Type", *content_type).body(body.clone());
    }
    let response = r.send().await.unwrap();
    Answer { status: response.status().as_u16(), body: response.bytes().await.unwrap().to_vec() }
}

/// A concrete value for each path parameter: the demo tenant's production data.
fn fill(template: &str) -> String {
    let by_attribute = template.contains("byCallerAttribute");
    let seed_content = template.ends_with("/structured_text") || template.ends_with("/binary_content");
    template
        .replace("{version}", "2")
        .replace("{accountID}", "{account}")
        .replace("{id}", if by_attribute { "history1" } else { "040100713" })
        .replace("{set}", "repairInfoSet")
        .replace("{kind}", "historySearchId")
        .replace("{value}", "history1")
        .replace("{uid}", "040100713")
        .replace("{imgPath}", "%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579")
        .replace("{interaction_id}", if seed_content { "00001a57JGQ00BW8" } else { "040100713" })
        .replace("{customer_id}", "00001a57JGQ00BVU")
        .replace("{service_id}", "4711")
}

fn write_body(template: &str) -> Option<(&'static str, String)> {
    let page =
        json!({"pageNavigation": {"navigationTitle": "planted"}, "pageContent": {}, "timestamp": 4_102_444_800_000i64});
    let body = match template {
        "/v1/interactions" => {
            json!({"tenant": A, "id": "040100713", "started_at": "2026-01-01T00:00:00Z", "pages": [page]})
        }
        "/v1/interactions/{id}/pages" => page,
        "/v1/interactions/{id}/caller-attributes" => {
            json!({"kind": "historySearchId", "value": "history1", "allocated_at": "2100-01-01T00:00:00Z"})
        }
        "/v1/interactions/{id}/end" => json!({"ended_at": "2100-01-01T00:00:00Z"}),
        _ => return None,
    };
    Some(("application/json", body.to_string()))
}

/// The matrix's rows: every REST operation of the document but the operational ones, and every
/// SOAP operation in both versions (the golden requests, which ask for the demo's production data).
fn requests() -> Vec<Request> {
    let doc = ixgw::openapi::document(Some("/genesys/1/cs"));
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap();
            let surface = match tag {
                "Interact" => Surface::Interact,
                "Context Services" => Surface::Context,
                "Ingest" => Surface::Ingest,
                _ => continue,
            };
            out.push(Request {
                surface,
                name: format!("{} {template}", method.to_uppercase()),
                method: method.to_uppercase().parse().unwrap(),
                path: fill(template),
                body: write_body(template),
            });
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/soap");
    for op in std::fs::read_dir(fixtures).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        for (version, content_type) in
            [("soap11", "text/xml; charset=utf-8"), ("soap12", "application/soap+xml; charset=utf-8")]
        {
            let body = std::fs::read_to_string(op.join(version).join("found.request.xml")).unwrap();
            out.push(Request {
                surface: Surface::Soap,
                name: format!("SOAP {version} {}", op.file_name().unwrap().to_string_lossy()),
                method: reqwest::Method::POST,
                path: "/interact/version/2/interactiondata/soap".into(),
                body: Some((content_type, body)),
            });
        }
    }
    out
}

/// What a refused read looks like on each surface.
fn is_refusal(surface: Surface, answer: &Answer) -> bool {
    let body = String::from_utf8_lossy(&answer.body);
    match surface {
        Surface::Interact | Surface::Context => answer.status == 401,
        // A credentials fault: 500 (1.1) or 400 (1.2), the vendor's code.
        Surface::Soap => matches!(answer.status, 400 | 500) && body.contains("0x7000000"),
        Surface::Ingest => matches!(answer.status, 401 | 403),
    }
}

store_tests!(no_key_of_another_tenant_or_environment_no_revoked_key_and_no_missing_key_reaches_the_data);

async fn no_key_of_another_tenant_or_environment_no_revoked_key_and_no_missing_key_reaches_the_data(backend: Backend) {
    let app = TestApp::spawn_demo(backend).await;
    app.add_tenant(B, &["production"]).await;
    let b_admin = app.add_key(B, "production", "admin").await;
    let staging_admin = app.add_key(A, "staging", "admin").await;
    let revoked_read = app.add_key(A, "production", "read").await;
    let revoked_admin = app.add_key(A, "production", "admin").await;
    app.revoke_key(&revoked_read).await;
    app.revoke_key(&revoked_admin).await;

    let columns = [
        Credentials {
            name: "no key",
            tenant: A,
            read_key: None,
            write_key: None,
            environment: None,
            refused: true,
            writes_refused: true,
        },
        Credentials {
            name: "a revoked key",
            tenant: A,
            read_key: Some(revoked_read.clone()),
            write_key: Some(revoked_admin.clone()),
            environment: None,
            refused: true,
            writes_refused: true,
        },
        Credentials {
            name: "another tenant's key, naming this tenant",
            tenant: A,
            read_key: Some(b_admin.clone()),
            write_key: Some(b_admin.clone()),
            environment: None,
            refused: true,
            writes_refused: false,
        },
        Credentials {
            name: "another tenant's key, in its own tenant",
            tenant: B,
            read_key: Some(b_admin.clone()),
            write_key: Some(b_admin.clone()),
            environment: None,
            refused: false,
            writes_refused: false,
        },
        Credentials {
            name: "another environment's key",
            tenant: A,
            read_key: Some("demo-staging-key".into()),
            write_key: Some(staging_admin.clone()),
            environment: None,
            refused: false,
            writes_refused: false,
        },
        Credentials {
            name: "another environment's key, asking for production",
            tenant: A,
            read_key: Some(staging_admin.clone()),
            write_key: Some(staging_admin.clone()),
            environment: Some("production"),
            refused: true,
            writes_refused: true,
        },
    ];

    let requests = requests();
    let reads: Vec<&Request> = requests.iter().filter(|r| r.surface != Surface::Ingest).collect();
    assert!(reads.len() >= 34 && requests.len() >= 40, "{} requests", requests.len());
    // What the tenant itself sees: every read succeeds and shows its data.
    let mut legit = Vec::new();
    for r in &reads {
        let a = send(&app, r, None).await;
        assert_eq!(a.status, 200, "{}: {}", r.name, String::from_utf8_lossy(&a.body));
        legit.push(a.body);
    }

    let mut leaks = Vec::new();
    let mut sent = 0;
    for c in &columns {
        for r in &requests {
            let answer = send(&app, r, Some(c)).await;
            sent += 1;
            let text = String::from_utf8_lossy(&answer.body);
            let asked = format!("{}{}", r.path, r.body.as_ref().map(|b| b.1.as_str()).unwrap_or(""));
            let shown: Vec<&str> = MARKERS.iter().copied().filter(|m| text.contains(m) && !asked.contains(m)).collect();
            if !shown.is_empty() {
                leaks.push(format!("{} / {}: shows {shown:?}", c.name, r.name));
            }
            if let Some(i) = reads.iter().position(|x| x.name == r.name) {
                if (200..300).contains(&answer.status) && answer.body == legit[i] {
                    leaks.push(format!("{} / {}: the tenant's own answer", c.name, r.name));
                }
            }
            let must_refuse = if r.surface == Surface::Ingest { c.writes_refused } else { c.refused };
            if must_refuse && !is_refusal(r.surface, &answer) {
                leaks.push(format!(
                    "{} / {}: not refused ({} {})",
                    c.name,
                    r.name,
                    answer.status,
                    &text[..text.len().min(200)]
                ));
            }
        }
    }
    assert!(leaks.is_empty(), "{} of {sent} requests leaked:\n{}", leaks.len(), leaks.join("\n"));

    // Nothing of the tenant's production data changed, whatever the writes above did elsewhere.
    for (r, before) in reads.iter().zip(&legit) {
        let after = send(&app, r, None).await;
        assert_eq!(after.status, 200, "{}", r.name);
        assert!(&after.body == before, "{} changed", r.name);
    }
    eprintln!(
        "isolation: {} routes and operations x {} kinds of credentials = {sent} requests, 0 leaks",
        requests.len(),
        columns.len()
    );
}
