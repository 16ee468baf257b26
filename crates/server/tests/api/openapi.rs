//! `/openapi.json` stays the description of what is served: every operation of the faces' route
//! tables (the ones their `configure` mounts) is described, with its method, path and operation
//! name, and nothing else; every described operation is routed to its face; the document is served
//! as built.

use crate::helpers::*;
use std::collections::BTreeSet;

const CONTEXT_BASE: &str = "/genesys/1/cs";

/// (method, path, operation) of every route of the route tables, under each prefix it is mounted at.
fn tabled_routes() -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::new();
    let mut add = |prefix: &str, table: &[ixgw_web::Route]| {
        for route in table {
            routes.insert((route.method.openapi(), format!("{prefix}{}", route.path), route.operation.to_string()));
        }
    };
    add(ixgw_rest::interact::BASE, &ixgw_rest::interact::ROUTES);
    for mount in ["", CONTEXT_BASE] {
        add(mount, &ixgw_rest::context::ROUTES);
    }
    add("", &ixgw_rest::ingest::ROUTES);
    add("", &ixgw::app::OPS_ROUTES);
    routes
}

/// (method, path, `x-ixgw-operation`) of every operation the document describes.
fn described_operations(doc: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.insert((method.clone(), path.clone(), op["x-ixgw-operation"].as_str().unwrap().to_string()));
        }
    }
    ops
}

fn described(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    described_operations(doc).into_iter().map(|(method, path, _)| (method, path)).collect()
}

#[test]
fn every_route_of_the_tables_is_described_and_nothing_else() {
    let tabled = tabled_routes();
    assert_eq!(tabled.len(), 8 + 2 * 6 + 6 + 4, "{tabled:?}");
    let described = described_operations(&ixgw::openapi::document(Some(CONTEXT_BASE)));
    let undocumented: Vec<_> = tabled.difference(&described).collect();
    assert!(undocumented.is_empty(), "routes served but not described in /openapi.json: {undocumented:?}");
    let phantom: Vec<_> = described.difference(&tabled).collect();
    assert!(phantom.is_empty(), "operations described but not in a route table: {phantom:?}");
    // Each face names each of its operations once.
    for table in [&ixgw_rest::interact::ROUTES[..], &ixgw_rest::context::ROUTES, &ixgw_rest::ingest::ROUTES] {
        let names: BTreeSet<_> = table.iter().map(|r| r.operation).collect();
        assert_eq!(names.len(), table.len(), "{table:?}");
    }
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
