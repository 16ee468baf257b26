//! `/openapi.json` stays the description of what is served: every REST route registered in the code
//! is described (a route added without its description fails here), every described operation is
//! routed to its face, and the document is served as built.

use crate::helpers::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const INTERACT: &str = "/interact/agent/version/{version}/account/{accountID}";
const CONTEXT_BASE: &str = "/genesys/1/cs";

/// Routes registered in the code that are not API operations, with the reason.
const NOT_OPERATIONS: [(&str, &str); 2] = [
    ("/interact/agent/version/{version}/account/{accountID}/photo", "a photo URL without uid or path: 400"),
    (
        "/interact/agent/version/{version}/account/{accountID}/photo/{rest}",
        "a photo path not encoded into one segment: 400",
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `{name:regex}` → `{name}`; `{part:a|b}` → one path per alternative.
fn expand(template: &str) -> Vec<String> {
    let mut paths = vec![String::new()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed {");
        for p in &mut paths {
            p.push_str(&rest[..open]);
        }
        let inner = &rest[open + 1..close];
        match inner.split_once(':') {
            Some((_, alternatives))
                if alternatives.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|') =>
            {
                paths = paths.iter().flat_map(|p| alternatives.split('|').map(move |a| format!("{p}{a}"))).collect();
            }
            Some((name, _)) => paths.iter_mut().for_each(|p| p.push_str(&format!("{{{name}}}"))),
            None => paths.iter_mut().for_each(|p| p.push_str(&format!("{{{inner}}}"))),
        }
        rest = &rest[close + 1..];
    }
    paths.iter_mut().for_each(|p| p.push_str(rest));
    paths
}

/// The string literals of a `resource(` call: `resource("/a")` or `resource(["/a", "/b"])`.
fn literals(call: &str) -> Vec<String> {
    let call = call.trim_start();
    let list = if let Some(inner) = call.strip_prefix('[') { &inner[..inner.find(']').unwrap()] } else { call };
    if !list.trim_start().starts_with('"') {
        return Vec::new();
    }
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .take(if call.starts_with('[') { usize::MAX } else { 1 })
        .collect()
}

/// (method, path) of every route registered with a literal path in `text`, with `prefixes` in front.
fn routes_in(text: &str, prefixes: &[&str], out: &mut BTreeSet<(String, String)>) {
    let calls: Vec<usize> = text.match_indices("resource(").map(|(i, _)| i + "resource(".len()).collect();
    for (n, &at) in calls.iter().enumerate() {
        let end = calls.get(n + 1).copied().unwrap_or(text.len());
        let templates = literals(&text[at..end]);
        let methods: Vec<String> = ["get", "post", "put", "delete", "patch", "head"]
            .into_iter()
            .filter(|m| text[at..end].contains(&format!("web::{m}()")))
            .map(str::to_string)
            .collect();
        for template in templates {
            for prefix in prefixes {
                for path in expand(&format!("{prefix}{template}")) {
                    for m in &methods {
                        out.insert((m.clone(), path.clone()));
                    }
                }
            }
        }
    }
}

/// Every REST route the code registers: the REST faces and the server's own.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (dir, prefixes) in [
        ("crates/rest/src/interact", vec![INTERACT]),
        ("crates/rest/src/context", vec!["", CONTEXT_BASE]),
        ("crates/rest/src/ingest", vec![""]),
    ] {
        let mut files = Vec::new();
        rust_files(&repo().join(dir), &mut files);
        for file in files {
            routes_in(&std::fs::read_to_string(&file).unwrap(), &prefixes, &mut routes);
        }
    }
    routes_in(&std::fs::read_to_string(repo().join("crates/server/src/app.rs")).unwrap(), &[""], &mut routes);
    routes.retain(|(_, path)| !NOT_OPERATIONS.iter().any(|(p, _)| p == path));
    routes
}

fn described(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.clone(), path.clone()));
        }
    }
    ops
}

#[test]
fn the_route_scanner_reads_every_registration_form() {
    let mut routes = BTreeSet::new();
    routes_in(
        r#"web::resource("/a/{id}").route(web::get().to(h)); resource("/b/{p:x|y}").route(web::post().to(h))
           .service(web::resource(["/c", "/c/{rest:.*}"]).route(web::get().to(h))); web::resource(PATH).route(web::get().to(h))"#,
        &["/pre"],
        &mut routes,
    );
    let expected: BTreeSet<(String, String)> = [
        ("get", "/pre/a/{id}"),
        ("post", "/pre/b/x"),
        ("post", "/pre/b/y"),
        ("get", "/pre/c"),
        ("get", "/pre/c/{rest}"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(routes, expected);
    // The real faces register a plausible number of routes.
    assert!(registered_routes().len() >= 25, "{:?}", registered_routes());
}

#[test]
fn every_registered_rest_route_is_described_and_nothing_else() {
    let doc = ixgw::openapi::document(Some(CONTEXT_BASE));
    let registered = registered_routes();
    let described = described(&doc);
    let undocumented: Vec<_> = registered.difference(&described).collect();
    assert!(undocumented.is_empty(), "routes served but not described in /openapi.json: {undocumented:?}");
    let phantom: Vec<_> = described.difference(&registered).collect();
    assert!(phantom.is_empty(), "operations described but not registered: {phantom:?}");
}

/// A concrete path for a template, with values each parameter's schema accepts.
fn concrete(template: &str) -> String {
    template
        .replace("{version}", "2")
        .replace("{accountID}", "12345678")
        .replace("{kind}", "dtmf")
        .replace("{service_id}", "4712")
        .replace("{imgPath}", "%252Fmnt%252Fx")
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

store_tests!(
    the_document_is_served_and_every_described_operation_reaches_its_face,
    every_other_method_on_a_described_path_is_405_with_allow
);

async fn the_document_is_served_and_every_described_operation_reaches_its_face(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let served: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, ixgw::openapi::document(Some(CONTEXT_BASE)));
    assert_eq!(served["openapi"], "3.0.3");

    let operations = described(&served);
    for (method, template) in &operations {
        let response = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete(template)))
            .header("Tenant-Id", "12345678")
            .header("ContactCenterId", "12345678")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 404, "{method} {template} is not routed");
        assert_ne!(response.status(), 405, "{method} {template} answers 405");
    }
    // Every one of them was answered by a face (or the server's own handlers), which labelled it.
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let counted: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("ixgw_requests_total{"))
        .filter(|l| !l.contains("operation=\"/openapi.json\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    // The loop's own GET /openapi.json is left out with the first one.
    assert_eq!(counted as usize, operations.len() - 1, "{metrics}");
    assert!(!metrics.contains("surface=\"other\""), "a described route fell through to no face:\n{metrics}");
    // Each was labelled with the operation the document names, on its surface.
    for item in served["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let surface = match op["tags"][0].as_str().unwrap() {
                "Interact" => "interact-rest",
                "Context Services" => "context-services",
                "Ingest" => "ingest",
                _ => "ops",
            };
            let label = format!("ixgw_requests_total{{operation=\"{}\",", op["x-ixgw-operation"].as_str().unwrap());
            assert!(
                metrics.lines().any(|l| l.starts_with(&label) && l.contains(&format!("surface=\"{surface}\""))),
                "{label} on {surface}:\n{metrics}"
            );
        }
    }
}
async fn every_other_method_on_a_described_path_is_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = ixgw::openapi::document(Some(CONTEXT_BASE));
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let allowed: BTreeSet<String> = item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect();
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            if allowed.contains(method) {
                continue;
            }
            let r = app.client.request(method.parse().unwrap(), app.url(&concrete(template))).send().await.unwrap();
            assert_eq!(r.status(), 405, "{method} {template}");
            let allow: BTreeSet<String> = r
                .headers()
                .get("allow")
                .unwrap_or_else(|| panic!("{method} {template}: no Allow"))
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_string())
                .collect();
            assert_eq!(allow, allowed, "{method} {template}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}
