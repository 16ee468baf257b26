//! The flow explorer: a page for people at `/ui/`, served from files compiled into the binary
//! (`crates/server/ui/`: HTML, CSS and a few small ES modules; nothing fetched from elsewhere, no
//! build step). The page holds the user's tenant, key and environment in its browser tab and calls
//! the gateway's own REST and SOAP routes with them, so it has no query path and no authentication
//! of its own: this module only serves files.
//!
//! Every answer carries a strict Content-Security-Policy (scripts from this origin only, no inline
//! script or style, Trusted Types with no policy, no frames, forms that cannot submit anywhere), so that
//! customer and designer text the page shows can never run, even if the page had a bug.
//! `server.ui = false` leaves the routes out (404).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use ixgw_web::RequestLabel;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Where the explorer is served.
pub const PATH: &str = "/ui/";

/// The policy of every `/ui/` answer. Trusted Types are required and no policy may be created, so
/// no string can ever reach an HTML or script sink (`innerHTML`, `DOMParser`, …): the page builds
/// its DOM element by element and reads designer HTML with its own tag reader (`ui/dom.js`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// One embedded file.
pub struct Asset {
    /// The name under `/ui/` (`""` is the page itself).
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $file:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("../ui/", $file)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the explorer.
pub const ASSETS: [Asset; 9] = [
    asset!("", "index.html", "text/html; charset=utf-8"),
    asset!("app.css", "app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "icon.svg", "image/svg+xml"),
    asset!("app.js", "app.js", JS),
    asset!("api.js", "api.js", JS),
    asset!("dom.js", "dom.js", JS),
    asset!("flow.js", "flow.js", JS),
    asset!("views.js", "views.js", JS),
    asset!("wire.js", "wire.js", JS),
];

/// The surface's name in the request log and metrics.
const SURFACE: &str = "ui";

/// The assets with their entity tags, computed once.
struct Served {
    etags: Vec<String>,
}

/// Mounts `/ui` and `/ui/…` when `enabled`.
pub fn configure(cfg: &mut web::ServiceConfig, enabled: bool) {
    if !enabled {
        return;
    }
    let served = web::Data::new(Served { etags: ASSETS.iter().map(|a| etag(a.body)).collect() });
    cfg.service(
        web::resource("/ui")
            .route(web::get().to(to_slash))
            .route(web::head().to(to_slash))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ui/{file:.*}")
            .app_data(served)
            .route(web::get().to(asset))
            .route(web::head().to(asset))
            .default_service(web::to(method_not_allowed)),
    );
}

fn etag(body: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

/// The headers every `/ui/` answer carries.
fn guarded(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponseBuilder::new(status);
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"));
    builder
}

fn labelled(req: &HttpRequest, mut response: HttpResponse, operation: &str) -> HttpResponse {
    ixgw_web::label(
        req,
        &mut response,
        RequestLabel { surface: SURFACE, operation: operation.into(), ..Default::default() },
    );
    response
}

async fn to_slash(req: HttpRequest) -> HttpResponse {
    let response = guarded(StatusCode::PERMANENT_REDIRECT).insert_header((header::LOCATION, PATH)).finish();
    labelled(&req, response, "redirect")
}

async fn asset(req: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    let name = req.match_info().get("file").unwrap_or_default();
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        let response = guarded(StatusCode::NOT_FOUND).content_type("text/plain; charset=utf-8").body("not found");
        return labelled(&req, response, "not-found");
    };
    let (asset, etag) = (&ASSETS[index], &served.etags[index]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut builder = guarded(if fresh { StatusCode::NOT_MODIFIED } else { StatusCode::OK });
    // Revalidated on every load (a 304 when unchanged), so a new binary's page is never mixed with
    // an old one's modules.
    builder.insert_header((header::CACHE_CONTROL, "no-cache")).insert_header((header::ETAG, etag.as_str()));
    let response = if fresh {
        builder.finish()
    } else {
        builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))).body(asset.body)
    };
    labelled(&req, response, if asset.name.is_empty() { "index" } else { asset.name })
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let response = guarded(StatusCode::METHOD_NOT_ALLOWED).insert_header((header::ALLOW, "GET, HEAD")).finish();
    labelled(&req, response, "method-not-allowed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(asset: &Asset) -> &'static str {
        std::str::from_utf8(asset.body).expect("assets are UTF-8")
    }

    /// The page's own markup obeys its policy: no inline script, no event-handler attribute, no
    /// inline style; every script and stylesheet is one of the assets.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = text(&ASSETS[0]).to_ascii_lowercase();
        for (at, _) in html.match_indices("<script") {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            assert!(tag.contains(" src="), "an inline script: {tag}");
            assert!(html[at..].starts_with(&format!("{tag}></script>")), "a script with content: {tag}");
        }
        assert!(!html.contains("<style"), "an inline style element");
        assert!(!html.contains(" style="), "an inline style attribute");
        let handler = html.split(|c: char| c.is_whitespace()).any(|w| w.starts_with("on") && w.contains('='));
        assert!(!handler, "an event-handler attribute");
        assert!(!html.contains("javascript:"), "a javascript: URL");
        for (attr, _) in html.match_indices(" src=\"").chain(html.match_indices(" href=\"")) {
            let value = &html[attr..];
            let value = &value[value.find('"').unwrap() + 1..];
            let value = &value[..value.find('"').unwrap()];
            assert!(value.starts_with('#') || ASSETS.iter().any(|a| a.name == value), "{value} is not an asset");
        }
    }

    /// The scripts never hand text to an HTML or code sink (the browser enforces the same with
    /// Trusted Types and no policy).
    #[test]
    fn the_scripts_use_no_markup_or_code_sinks() {
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let js = text(asset);
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "srcdoc",
                "javascript:",
                "createContextualFragment",
                "parseFromString",
                "createPolicy",
                "setHTMLUnsafe",
            ] {
                assert!(!js.contains(sink), "{} uses {sink}", asset.name);
            }
        }
    }

    #[test]
    fn the_policy_is_strict() {
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ] {
            assert!(CONTENT_SECURITY_POLICY.contains(part), "{part}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"), "no unsafe-inline or unsafe-eval");
        assert_eq!(ASSETS.iter().map(|a| a.name).collect::<std::collections::HashSet<_>>().len(), ASSETS.len());
    }
}
