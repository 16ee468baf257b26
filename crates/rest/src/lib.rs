//! The REST faces of the gateway: Interact interaction data, Genesys Context Services and the
//! gateway's own ingest API. Handlers only parse a request into a core query and render the
//! core's answer in the vendor's format; lookup, windows, tenancy and authentication are the core's.

pub mod context;
pub mod ingest;
pub mod interact;

use actix_web::web;

/// Settings of the REST faces (from the server's configuration).
#[derive(Debug, Clone)]
pub struct RestSettings {
    /// The public base URL (`https://gw.example.com`), for links; else taken from the request.
    pub public_url: Option<String>,
    /// Interact: answer an existing interaction with no pages with `[]` instead of the vendor's
    /// empty body.
    pub empty_flow_as_array: bool,
    /// Context Services: the base path served besides the root (default `/genesys/1/cs`).
    pub context_base_path: String,
    /// Context Services: the tenant used when a request has no `ContactCenterId`.
    pub context_default_tenant: Option<String>,
    /// Context Services: serve without credentials (trusted networks only).
    pub context_open_access: bool,
}

impl Default for RestSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            empty_flow_as_array: false,
            context_base_path: "/genesys/1/cs".to_string(),
            context_default_tenant: None,
            context_open_access: false,
        }
    }
}

/// Mounts every REST route. Needs `web::Data<HistoryService>` and `web::Data<RestSettings>`.
pub fn configure(cfg: &mut web::ServiceConfig, settings: &RestSettings) {
    interact::configure(cfg);
    context::configure(cfg, settings);
    ingest::configure(cfg);
}
