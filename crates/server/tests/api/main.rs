//! The server's tests, one binary (one link of actix, sqlx and reqwest instead of one per file), in
//! modules by subject. `helpers` starts the gateway as `ixgw serve` does; `helpers::process` runs the
//! real binary and PostgreSQL clusters of a test's own. `.config/nextest.toml` runs the timing tests
//! (`reliability` outages and SIGTERM, `shutdown`, `standby`) alone.

mod helpers;

mod cli;
mod context_services;
mod cutover;
mod ingest;
mod interact_rest;
mod key_cache;
mod openapi;
mod ops;
mod pull;
mod records;
mod reliability;
mod reliability_isolation;
mod shutdown;
mod soap;
mod standby;
mod ui;
