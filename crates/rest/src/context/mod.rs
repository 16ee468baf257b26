//! Genesys Context Services "Query Interactions" (CV.WS.IXN.2) over REST (spec
//! `context-services.md`, documented in `docs/CONTEXT-SERVICES.md`).
//!
//! Every route is served at the root (UCS 8.0/8.1: `http://ucshost:8080/interactions/…`) and under
//! the configured base path (CS 8.5: `/genesys/1/cs`). The handlers parse, ask the core's
//! `HistoryService` and render with `ixgw_core::resources::context_services::write_resource`; tenancy,
//! authentication, lookups and the resource's shape are the core's.

mod access;
mod error;
mod handlers;

/// The surface of this face's request labels (the request log, metrics, traces).
pub use handlers::SURFACE;
mod links;
mod params;

use crate::RestSettings;
use actix_web::web;
use handlers::Mount;
use ixgw_core::store::ContentPart;
use ixgw_web::routes::Route;

const CUSTOMER_INTERACTIONS: Route = Route::get("/customers/{customer_id}/interactions", "customerInteractions");
const SERVICE_INTERACTIONS: Route = Route::get("/services/{service_id}/interactions", "serviceInteractions");
const INTERACTION: Route = Route::get("/interactions/{interaction_id}", "interaction");
/// The content routes, one per part; the operation is the part's path segment.
const CONTENT: [(Route, ContentPart); 3] = [
    (Route::get("/interactions/{interaction_id}/plain_text", "plain_text"), ContentPart::PlainText),
    (Route::get("/interactions/{interaction_id}/structured_text", "structured_text"), ContentPart::StructuredText),
    (Route::get("/interactions/{interaction_id}/binary_content", "binary_content"), ContentPart::BinaryContent),
];

/// Every operation of this face, under each mount (the root and the base path): mounted by
/// [`configure`], described by the server's `/openapi.json`.
pub const ROUTES: [Route; 6] =
    [CUSTOMER_INTERACTIONS, SERVICE_INTERACTIONS, INTERACTION, CONTENT[0].0, CONTENT[1].0, CONTENT[2].0];

/// Mounts the routes at the root and under the configured base path. Needs
/// `web::Data<HistoryService>` and `web::Data<RestSettings>`.
pub fn configure(cfg: &mut web::ServiceConfig, settings: &RestSettings) {
    let base = base_path(&settings.context_base_path).unwrap_or_else(|e| {
        tracing::error!("{e}; Context Services is served at the root only");
        None
    });
    for mount in std::iter::once(String::new()).chain(base) {
        mount_at(cfg, mount);
    }
}

fn mount_at(cfg: &mut web::ServiceConfig, mount: String) {
    let data = web::Data::new(Mount(mount.clone()));
    let resource = |route: &Route| {
        web::resource(format!("{mount}{}", route.path))
            .app_data(data.clone())
            .default_service(web::to(error::method_not_allowed))
    };
    cfg.service(resource(&CUSTOMER_INTERACTIONS).route(CUSTOMER_INTERACTIONS.to(handlers::customer_interactions)))
        .service(resource(&SERVICE_INTERACTIONS).route(SERVICE_INTERACTIONS.to(handlers::service_interactions)))
        .service(resource(&INTERACTION).route(INTERACTION.to(handlers::interaction)));
    for (route, part) in CONTENT {
        cfg.service(resource(&route).app_data(web::Data::new(part)).route(route.to(handlers::content)));
    }
}

/// The content URLs of `row` as a request at the root mount with the public base URL `base_url`
/// sees them: for the benchmark's floor (`ixgw-floor`), which answers the same bytes.
pub fn root_content_urls(
    base_url: &str,
    row: &ixgw_core::store::ContextRow,
) -> ixgw_core::resources::context_services::ContentUrls {
    links::Links::new(base_url, "").content_urls(row)
}

/// Checks the Context Services settings; the server calls it at start-up and refuses to start on
/// an error.
pub fn validate(settings: &RestSettings) -> Result<(), String> {
    base_path(&settings.context_base_path).map(|_| ())
}

/// The configured base path, normalised (`/genesys/1/cs/` → `/genesys/1/cs`); `None` when it is
/// the root. Only unreserved URL characters in `/`-separated, non-empty segments.
fn base_path(configured: &str) -> Result<Option<String>, String> {
    let trimmed = configured.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let valid = trimmed.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        })
    });
    if valid {
        Ok(Some(trimmed.to_string()))
    } else {
        Err(format!(
            "context_services.base_path `{configured}` is not a URL path like /genesys/1/cs \
             (a leading `/`, segments of letters, digits, `-`, `.`, `_`, `~`)"
        ))
    }
}

/// The lines the server must log as warnings at start-up, loudly: today, that Context Services
/// answers without credentials.
pub fn startup_warnings(settings: &RestSettings) -> Vec<String> {
    if !settings.context_open_access {
        return Vec::new();
    }
    let base = base_path(&settings.context_base_path).ok().flatten().map(|b| format!(" and {b}")).unwrap_or_default();
    let default = match &settings.context_default_tenant {
        Some(tenant) => format!("; requests without ContactCenterId read tenant `{tenant}`"),
        None => String::new(),
    };
    vec![format!(
        "OPEN ACCESS: Context Services (/customers/…/interactions, /services/…/interactions, /interactions/… at /{base}) \
         answers WITHOUT an application key (context_services.open_access = true): anyone who can reach this server \
         can read the interaction history of any tenant named in ContactCenterId{default}. Use this only on a \
         trusted network."
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(base_path("/genesys/1/cs"), Ok(Some("/genesys/1/cs".into())));
        assert_eq!(base_path(" /genesys/1/cs/ "), Ok(Some("/genesys/1/cs".into())));
        assert_eq!(base_path(""), Ok(None));
        assert_eq!(base_path("/"), Ok(None));
        for bad in ["genesys", "/a//b", "/{id}", "/a b", "/../x", "/a/./b", "/a?b"] {
            assert!(base_path(bad).is_err(), "{bad}");
        }
        assert!(validate(&RestSettings { context_base_path: "/cs/{x}".into(), ..Default::default() }).is_err());
        assert!(validate(&RestSettings::default()).is_ok());
    }

    #[test]
    fn open_access_is_announced() {
        assert!(startup_warnings(&RestSettings::default()).is_empty());
        let open = RestSettings {
            context_open_access: true,
            context_default_tenant: Some("12345678".into()),
            ..Default::default()
        };
        let warnings = startup_warnings(&open);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("OPEN ACCESS: "), "{}", warnings[0]);
        assert!(warnings[0].contains("/genesys/1/cs") && warnings[0].contains("`12345678`"), "{}", warnings[0]);
    }
}
