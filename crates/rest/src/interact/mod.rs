//! Interact interaction data over REST (spec `interact-rest.md`).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
