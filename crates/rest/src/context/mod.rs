//! Genesys Context Services "Query Interactions" (spec `context-services.md`).

use crate::RestSettings;
use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig, _settings: &RestSettings) {}
