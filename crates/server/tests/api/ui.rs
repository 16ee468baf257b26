//! The flow explorer's files over HTTP: what is served at `/ui/`, with which headers, and
//! `server.ui = false`. (The page itself is tested in a real browser: `tests/ui/`, run by
//! `scripts/ui-tests`.)

use crate::helpers::*;

const CSP: &str = "content-security-policy";

store_tests!(
    the_explorer_is_served_with_a_strict_policy,
    ui_paths_other_than_its_files,
    server_ui_false_serves_only_the_apis
);

async fn the_explorer_is_served_with_a_strict_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.client.get(app.url("/ui/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers[CSP], ixgw::ui::CONTENT_SECURITY_POLICY);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="app.js"></script>"#), "{html}");
    // Every file the page names is served, with its type and the same policy.
    for (name, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("views.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let res = app.client.get(app.url(&format!("/ui/{name}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(res.headers()["content-type"], content_type, "{name}");
        assert_eq!(res.headers()[CSP], ixgw::ui::CONTENT_SECURITY_POLICY, "{name}");
        // Revalidation: an unchanged file is a 304 without a body.
        let etag = res.headers()["etag"].clone();
        let again = app.client.get(app.url(&format!("/ui/{name}"))).header("If-None-Match", etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{name}");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    // Every module the scripts import is served.
    for asset in ixgw::ui::ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).unwrap();
        for import in text.lines().filter_map(|l| l.split(" from './").nth(1)) {
            let file = &import[..import.find('\'').unwrap()];
            assert!(
                ixgw::ui::ASSETS.iter().any(|a| a.name == file),
                "{} imports {file}, which is not served",
                asset.name
            );
        }
    }
}

async fn ui_paths_other_than_its_files(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bare = app.client.get(app.url("/ui")).send().await.unwrap();
    assert_eq!((bare.status().as_u16(), bare.headers()["location"].to_str().unwrap()), (308, "/ui/"));
    let missing = app.client.get(app.url("/ui/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()[CSP], ixgw::ui::CONTENT_SECURITY_POLICY);
    let head = app.client.head(app.url("/ui/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let post = app.client.post(app.url("/ui/")).body("x").send().await.unwrap();
    assert_eq!((post.status().as_u16(), post.headers()["allow"].to_str().unwrap()), (405, "GET, HEAD"));
}

async fn server_ui_false_serves_only_the_apis(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.server.ui = false).await;
    for path in ["/ui/", "/ui", "/ui/app.js"] {
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

#[test]
fn the_setting_comes_from_the_environment() {
    let settings = ixgw::settings::Settings::load(None, [("IXGW_SERVER_UI".to_string(), "false".to_string())]).unwrap();
    assert!(!settings.server.ui);
    assert!(ixgw::settings::Settings::default().server.ui, "the explorer is on by default");
}
