//! The `ixgw pull` command line: its arguments, the target tenant, the summary and the exit code.

use super::{
    pull_context_services, pull_interact, ContextServicesPull, InteractPull, PullOptions, RetryPolicy, Source, Target,
};
use crate::settings::Settings;
use anyhow::bail;
use clap::{Args, Subcommand};
use ixgw_store::{Database, PoolSettings};
use std::path::PathBuf;
use std::time::Duration;
use tracing::Instrument;

#[derive(Subcommand, Debug)]
pub enum PullCommand {
    /// Copy interactions from a server that speaks the Interact REST API: per unique id its full
    /// flow (12-month window), summary, photos and variable sets; caller attributes and dates from
    /// files the platform exported.
    Interact(InteractArgs),
    /// Copy the interactions of customers (or services), with their content parts, from a server
    /// that speaks the Genesys Context Services API.
    ContextServices(ContextServicesArgs),
}

/// What every pull takes.
#[derive(Args, Debug)]
pub struct SourceArgs {
    /// The source server's base URL: http(s)://HOST[:PORT] for Interact; for Context Services with
    /// its base path, if any (http://ucshost:8080, https://gms.example.com/genesys/1/cs).
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The source's application key (sent as Application-Key; never printed). Also IXGW_PULL_KEY.
    #[arg(long, value_name = "KEY", env = "IXGW_PULL_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// The environment at the source (Environment-Name) and in this gateway (default: the
    /// source's default, and the tenant's default here).
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Interactions fetched at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// At most this many requests per second to the source (default: no limit).
    #[arg(long, value_name = "N")]
    pub rps: Option<f64>,
    /// Tries after the first for a request that failed in a way worth retrying (5xx, 429,
    /// network errors, timeouts, an answer cut short).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// How long one request may take, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// The checkpoint file (default: the input file's name + .checkpoint).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Where what could not be pulled is listed, with the reason (default: the input file's name
    /// + .failed.csv).
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,
    /// Pull everything again, whatever the checkpoint says.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct InteractArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The account id (Tenant-Id at the source; the tenant here, which must exist).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub tenant: String,
    /// The unique ids: one a line, or CSV with a header (uniqueId, optionally started_at and
    /// ended_at in RFC 3339).
    #[arg(long, value_name = "FILE")]
    pub ids: PathBuf,
    /// Caller attributes as CSV: uniqueId,kind,value,allocated_at.
    #[arg(long, value_name = "FILE")]
    pub attributes: Option<PathBuf>,
    /// Variable sets to fetch, by name (comma-separated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub variable_sets: Vec<String>,
    /// The protocol version in the source's URLs.
    #[arg(long, default_value = "2", value_name = "VERSION")]
    pub api_version: String,
}

#[derive(Args, Debug)]
pub struct ContextServicesArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// ContactCenterId at the source (tenant id or name).
    #[arg(long, value_name = "ID")]
    pub contact_center: String,
    /// Customer ids: one a line, or CSV with a header (customer_id).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["services", "interactions"])]
    pub customers: Option<PathBuf>,
    /// Service ids: one a line, or CSV with a header (service_id).
    #[arg(long, value_name = "FILE")]
    pub services: Option<PathBuf>,
    /// Interaction ids to fetch by id (those in no customer's or service's list): one a line, or
    /// CSV with a header (interaction_id).
    #[arg(long, value_name = "FILE")]
    pub interactions: Option<PathBuf>,
    /// The tenant here (default: the one whose account id or name is the contact-center id).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub tenant: Option<String>,
    /// Interactions per list request (`limit`, following `Link: rel="next"`); 0 asks for each
    /// list whole, as the vendor's API has no paging.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub page_size: u32,
}

impl SourceArgs {
    fn options(&self) -> anyhow::Result<PullOptions> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            bail!("--timeout must be a positive number of seconds");
        }
        Ok(PullOptions {
            concurrency: usize::from(self.concurrency),
            requests_per_second: self.rps,
            timeout: Duration::from_secs_f64(self.timeout),
            retry: RetryPolicy { retries: self.retries, ..RetryPolicy::default() },
            checkpoint: self.checkpoint.clone(),
            failures: self.failures.clone(),
            force: self.force,
            progress: true,
        })
    }
}

/// Runs a pull; the exit code is 0 when everything asked for is stored.
pub async fn run(settings: &Settings, database_flag: Option<&str>, command: PullCommand) -> anyhow::Result<i32> {
    let pool = PoolSettings { sqlite_cache_kib: PoolSettings::BULK_SQLITE_CACHE_KIB, ..crate::pool_settings(settings) };
    let database = crate::open_database_with(settings, database_flag, true, pool).await?;
    let service = crate::service(&database, settings);
    let label = ixgw_store::redact(&settings.database_url(database_flag));
    let result = async {
        let (args_source, tenant, exact) = match &command {
            PullCommand::Interact(args) => (&args.source, args.tenant.as_str(), true),
            PullCommand::ContextServices(args) => {
                (&args.source, args.tenant.as_deref().unwrap_or(&args.contact_center), args.tenant.is_some())
            }
        };
        let (tenant, environment) =
            target_partition(&database, tenant, args_source.environment.as_deref(), exact).await?;
        let target = Target { service: &service, database: &database, tenant, environment, label };
        let options = args_source.options()?;
        let source = Source {
            from: args_source.from.clone(),
            key: args_source.key.clone(),
            environment: args_source.environment.clone(),
        };
        let report = match &command {
            PullCommand::Interact(args) => {
                let pull = InteractPull {
                    source,
                    tenant: args.tenant.clone(),
                    api_version: args.api_version.clone(),
                    ids: args.ids.clone(),
                    attributes: args.attributes.clone(),
                    variable_sets: args.variable_sets.iter().filter(|n| !n.is_empty()).cloned().collect(),
                };
                pull_interact(&pull, &options, &target).await?
            }
            PullCommand::ContextServices(args) => {
                let pull = ContextServicesPull {
                    source,
                    contact_center: args.contact_center.clone(),
                    customers: args.customers.clone(),
                    services: args.services.clone(),
                    interactions: args.interactions.clone(),
                    page_size: args.page_size,
                };
                pull_context_services(&pull, &options, &target).await?
            }
        };
        println!("pulled from {}", ixgw_store::redact(&args_source.from));
        println!("{}", report.summary());
        anyhow::Ok(if report.complete() { 0 } else { 1 })
    }
    // One trace per pull when traces are exported: each request to the source a client span
    // under it. The database closes outside it: its connections' threads hold the span of the
    // statement they run until they take the next, and the trace is sent once the span ends.
    .instrument(tracing::info_span!("pull", otel.name = "ixgw pull"))
    .await;
    database.close().await;
    result
}

/// The target tenant (by account id; or by name too, unless `exact`) and environment (the given
/// one, else the tenant's default), which must exist.
async fn target_partition(
    database: &Database,
    tenant: &str,
    environment: Option<&str>,
    exact: bool,
) -> anyhow::Result<(String, String)> {
    let found = database.store().tenant(tenant).await?.filter(|t| !exact || t.account_id == tenant);
    let Some(found) = found else {
        bail!("no tenant {tenant} here; create it first: ixgw tenant add {tenant} --environment ENV");
    };
    let account = found.account_id.clone();
    let environment = match environment {
        Some(e) if found.environments.iter().any(|x| x.name == e) => e.to_string(),
        Some(e) => {
            bail!("tenant {account} has no environment {e} here; add it: ixgw tenant add-environment {account} {e}")
        }
        None => match found.default_environment() {
            Some(e) => e.to_string(),
            None => bail!("tenant {account} has no default environment"),
        },
    };
    Ok((account, environment))
}
