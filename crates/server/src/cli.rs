//! The command line (`ixgw --help`).

use crate::settings::Settings;
use crate::{
    demo, import, open_database, open_database_with, pool_settings, retention, service, telemetry, Start, Started,
};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use ixgw_core::model::tenancy::NewKey;
use ixgw_core::rules::retention::Retention;
use ixgw_core::store::KeyRecord;
use ixgw_core::{Millis, Scope, StoreError};
use ixgw_store::PoolSettings;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "ixgw",
    version,
    about = "Interaction History Gateway: contact-centre interaction history, served to Interact (REST, SOAP) and Genesys Context Services clients.",
    after_help = "Database URL: --database, else IXGW_DATABASE_URL, else DATABASE_URL, else sqlite://data/ixgw.db.\nSettings: --config FILE (TOML) and IXGW_<SECTION>_<KEY> variables; see config/ixgw.example.toml."
)]
pub struct Cli {
    /// A TOML settings file (see config/ixgw.example.toml).
    #[arg(long, global = true, value_name = "FILE", env = "IXGW_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Import interaction records (a JSON array, or NDJSON one record a line; `-` is stdin).
    Import(ImportArgs),
    /// Manage tenants and their environments.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage application keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Delete the interactions (of every tenant) last active before the retention period, and print how many.
    Purge(PurgeArgs),
    /// Copy history from a running Interact or Context Services server into this gateway's store.
    #[command(subcommand)]
    Pull(crate::pull::PullCommand),
    /// What the cutover's shadow mode compared (docs/MIGRATION.md).
    #[command(subcommand)]
    Shadow(ShadowCommand),
}

#[derive(Subcommand, Debug)]
pub enum ShadowCommand {
    /// Per operation the counts of each outcome (same, differ, missing, upstream_failed), then each
    /// differing sample kept: the request (no key) and a unified diff of the vendor's and the
    /// gateway's bodies.
    Report {
        /// Only what was compared this long ago or since: 30m, 24h, 7d (default: everything kept).
        #[arg(long, value_name = "DURATION", value_parser = parse_since)]
        since: Option<chrono::Duration>,
    },
}

/// `30s`, `30m`, `24h`, `7d`.
fn parse_since(text: &str) -> Result<chrono::Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 30m, 24h or 7d");
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let amount: i64 = text[..unit_at].parse().map_err(|_| invalid())?;
    let duration = match &text[unit_at..] {
        "s" => chrono::Duration::try_seconds(amount),
        "m" | "min" => chrono::Duration::try_minutes(amount),
        "h" => chrono::Duration::try_hours(amount),
        "d" => chrono::Duration::try_days(amount),
        _ => None,
    };
    duration.ok_or_else(invalid)
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default from settings: 127.0.0.1:8080). Port 0 picks a free port; once
    /// listening, stdout gets the line `listening on http://ADDR` (after the demo's banner).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Demo mode: embedded database under ./data/ unless --database is given, the demo fixtures
    /// loaded (dates moved to stay recent), tenant 12345678 with key demo-application-key, loopback only.
    #[arg(long)]
    pub demo: bool,
    /// Do not apply migrations at start.
    #[arg(long)]
    pub no_migrate: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files to import; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Store every record under this tenant, whatever the records say.
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub tenant: Option<String>,
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    /// How old is too old: 12months, 90days, … (default: retention.purge_older_than, 12months).
    #[arg(long, value_name = "PERIOD")]
    pub older_than: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant. Its first environment is its default (production if none is named).
    Add {
        /// The account id (Interact accountID / Tenant-Id, Context Services ContactCenterId).
        account_id: String,
        /// A display name (also accepted as ContactCenterId); defaults to the account id.
        #[arg(long)]
        name: Option<String>,
        /// An environment (repeatable); the first is the default.
        #[arg(long = "environment", value_name = "ENV")]
        environments: Vec<String>,
    },
    /// Add an environment to an existing tenant.
    AddEnvironment { account_id: String, environment: String },
    /// List tenants and their environments.
    List,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an application key and print it (only it, once: the store keeps a hash).
    Add {
        #[arg(long, value_name = "ACCOUNT_ID")]
        tenant: String,
        /// The environment the key is for (default: the tenant's default environment).
        #[arg(long, value_name = "ENV")]
        environment: Option<String>,
        /// read: query history; ingest: write records; admin: both.
        #[arg(long, default_value = "read", value_parser = ["read", "ingest", "admin"])]
        scope: String,
        /// Store a key the clients already send (read from stdin, one line) instead of generating
        /// one, so they keep working unchanged after a move; prints the key's id, not the key.
        #[arg(long)]
        existing: bool,
    },
    /// List keys (ids, never the keys).
    List,
    /// Revoke a key by its id (see `key list`).
    Revoke { key_id: String },
}

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    // The gateway's own variables and OpenTelemetry's standard ones (`Settings::load` says which).
    let env_vars = std::env::vars().filter(|(k, _)| k.starts_with("IXGW_") || k.starts_with("OTEL_"));
    let settings = Settings::load(cli.config.as_deref(), env_vars).map_err(anyhow::Error::msg)?;
    let database_flag = cli.database.as_deref();
    match cli.command {
        Command::Serve(args) => serve(settings, database_flag, args).await,
        Command::Migrate => {
            let db = open_database(&settings, database_flag, true).await?;
            db.close().await;
            println!("migrations applied");
            Ok(0)
        }
        Command::Import(args) => {
            let pool =
                PoolSettings { sqlite_cache_kib: PoolSettings::BULK_SQLITE_CACHE_KIB, ..pool_settings(&settings) };
            let db = open_database_with(&settings, database_flag, true, pool).await?;
            let report = import::import_files(&service(&db, &settings), &args.files, args.tenant).await?;
            db.close().await;
            if args.files.len() > 1 {
                println!("total: {} accepted, {} rejected", report.accepted, report.rejected);
            }
            Ok(if report.rejected > 0 { 1 } else { 0 })
        }
        Command::Pull(command) => {
            // Traces (no log): `pull::run_command` makes its root span.
            let traces = telemetry::init_traces(&settings.telemetry).map_err(anyhow::Error::msg)?;
            let pulled = crate::pull::run_command(&settings, database_flag, command).await;
            if let Some(traces) = traces {
                traces.shutdown(std::time::Duration::from_secs(5));
            }
            pulled
        }
        Command::Shadow(ShadowCommand::Report { since }) => {
            let db = open_database(&settings, database_flag, true).await?;
            let since = since.map_or(0, |d| chrono::Utc::now().timestamp_millis() - d.num_milliseconds());
            let (counts, samples) = db.shadow_report(since).await?;
            db.close().await;
            print!("{}", crate::cutover::report::render(&counts, &samples));
            Ok(0)
        }
        Command::Purge(args) => {
            let retention = match args.older_than {
                Some(text) => text.parse::<Retention>().map_err(anyhow::Error::msg)?,
                None => settings.retention().map_err(anyhow::Error::msg)?,
            };
            let db = open_database(&settings, database_flag, true).await?;
            let (cutoff, removed) = retention::purge(&service(&db, &settings), retention).await?;
            db.close().await;
            println!("purged {removed} (last active before {cutoff})");
            Ok(0)
        }
        Command::Tenant(cmd) => {
            let db = open_database(&settings, database_flag, true).await?;
            let store = db.store();
            match cmd {
                TenantCommand::Add { account_id, name, environments } => {
                    let envs = if environments.is_empty() { vec!["production".to_string()] } else { environments };
                    let name = name.unwrap_or_else(|| account_id.clone());
                    store.create_tenant(&account_id, &name, &envs).await.map_err(|e| match e {
                        StoreError::Conflict(_) => anyhow::anyhow!(
                            "tenant {account_id} (or the name {name}) already exists; see `ixgw tenant list`, or add an environment with `ixgw tenant add-environment {account_id} ENV`"
                        ),
                        other => anyhow::anyhow!("{other}"),
                    })?;
                    println!("tenant {account_id} created with environments {}", envs.join(", "));
                }
                TenantCommand::AddEnvironment { account_id, environment } => {
                    store.add_environment(&account_id, &environment).await.map_err(|e| match e {
                        StoreError::Missing(_) => {
                            anyhow::anyhow!("no tenant {account_id}; create it with `ixgw tenant add {account_id}`")
                        }
                        other => anyhow::anyhow!("{other}"),
                    })?;
                    println!("tenant {account_id} has environment {environment}");
                }
                TenantCommand::List => {
                    for t in store.tenants().await? {
                        let envs: Vec<String> = t
                            .environments
                            .iter()
                            .map(|e| if e.is_default { format!("{} (default)", e.name) } else { e.name.clone() })
                            .collect();
                        println!("{}\t{}\t{}", t.account_id, t.name, envs.join(", "));
                    }
                }
            }
            db.close().await;
            Ok(0)
        }
        Command::Key(cmd) => {
            let db = open_database(&settings, database_flag, true).await?;
            let store = db.store();
            match cmd {
                KeyCommand::Add { tenant, environment, scope, existing } => {
                    let Some(t) = store.tenant(&tenant).await?.filter(|t| t.account_id == tenant) else {
                        bail!("no tenant {tenant}; create it with `ixgw tenant add {tenant}`");
                    };
                    let environment = match environment {
                        Some(e) if t.environments.iter().any(|x| x.name == e) => e,
                        Some(e) => bail!("tenant {tenant} has no environment {e}; add it with `ixgw tenant add-environment {tenant} {e}`"),
                        None => t.default_environment().context("the tenant has no default environment")?.to_string(),
                    };
                    let key = if existing { existing_key()? } else { NewKey::generate() };
                    let scope = Scope::parse(&scope).context("unknown scope")?;
                    store
                        .create_key(&KeyRecord {
                            key_id: &key.key_id,
                            digest: &key.digest,
                            tenant: &tenant,
                            environment: &environment,
                            scope,
                            created_at: Millis::now(),
                        })
                        .await
                        .map_err(|e| match e {
                            StoreError::Conflict(_) => anyhow::anyhow!("that key is stored already ({})", key.key_id),
                            other => anyhow::anyhow!("{other}"),
                        })?;
                    println!("{}", if existing { &key.key_id } else { &key.key });
                }
                KeyCommand::List => {
                    for k in store.keys().await? {
                        let state = if k.revoked { "revoked" } else { "active" };
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            k.key_id, k.tenant, k.environment, k.scope, k.created_at, state
                        );
                    }
                }
                KeyCommand::Revoke { key_id } => {
                    if !store.revoke_key(&key_id).await? {
                        bail!("no active key {key_id}; see `ixgw key list`");
                    }
                    println!("key {key_id} revoked");
                }
            }
            db.close().await;
            Ok(0)
        }
    }
}

/// A key the clients already use, from the first line of stdin (never from the command line,
/// where other users and the shell history would see it).
fn existing_key() -> anyhow::Result<NewKey> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the key from stdin")?;
    let key = line.trim_end_matches(['\r', '\n']);
    if key.trim().is_empty() {
        bail!("--existing reads the key from stdin: give it one line, e.g. `printenv OLD_KEY | ixgw key add …`");
    }
    Ok(NewKey::from_text(key.to_string()))
}

async fn serve(mut settings: Settings, database_flag: Option<&str>, args: ServeArgs) -> anyhow::Result<i32> {
    let traces =
        telemetry::init(&settings.log.format, &settings.log.level, &settings.telemetry).map_err(anyhow::Error::msg)?;
    if let Some(endpoint) = settings.telemetry.endpoint().filter(|_| traces.is_some()) {
        tracing::info!(endpoint = %ixgw_store::redact(endpoint), sample_ratio = settings.telemetry.sample_ratio, "exporting traces");
    }
    if let Some(listen) = args.listen {
        settings.server.listen = listen;
    }
    ixgw_rest::context::validate(&settings.rest()).map_err(anyhow::Error::msg)?;
    let addr: SocketAddr =
        settings.server.listen.parse().with_context(|| {
            format!("`{}` is not an address to listen on (try 127.0.0.1:8080)", settings.server.listen)
        })?;
    let mut database_url = database_flag.map(str::to_string);
    if args.demo {
        if !addr.ip().is_loopback() {
            bail!("--demo listens on loopback only (its key is public); use --listen 127.0.0.1:PORT");
        }
        database_url =
            Some(settings.database.url.clone().or(database_url).unwrap_or_else(|| "sqlite://data/ixgw-demo.db".into()));
        if let Some(flag) = database_flag {
            database_url = Some(flag.to_string());
        }
    }
    let migrate = !args.no_migrate && settings.database.migrate_on_start;
    let start = Start { database_url: database_url.as_deref(), migrate, demo: args.demo, fixed_now: None };
    let Started { database, app, address: bound, .. } = crate::start(&settings, addr, start).await?;
    tracing::info!(address = %bound, backend = database.store().backend(), "listening");
    for warning in ixgw_rest::context::startup_warnings(&settings.rest()) {
        tracing::warn!("{warning}");
    }
    if args.demo {
        print_demo_help(bound, settings.server.ui);
    }
    // For scripts that start `serve --listen 127.0.0.1:0` (scripts/lib.sh); after the demo's banner,
    // whose first line stays the flow explorer's.
    println!("listening on http://{bound}");
    std::io::Write::flush(&mut std::io::stdout())?;
    app.run_until_signalled().await?;
    database.close().await;
    if let Some(traces) = traces {
        traces.shutdown(std::time::Duration::from_secs(5));
    }
    Ok(0)
}

fn print_demo_help(addr: SocketAddr, ui: bool) {
    let base = format!("http://{addr}");
    if ui {
        // First, for people: the page shows the flows the curl lines below fetch.
        println!(
            "Flow explorer: {base}{path}  (sign in with tenant 12345678, key {key})",
            path = crate::ui::PATH,
            key = demo::DEMO_KEY
        );
    }
    println!(
        "\nInteraction History Gateway demo on {base}\n\
         \n  Demo tenant 12345678, key {key}\n\
         \n  Interact REST full flow:\n    curl -H 'Tenant-Id: 12345678' -H 'Application-Key: {key}' \\\n      {base}/interact/agent/version/2/account/12345678/interactiondata/040100713/fullFlow\n\
         \n  By caller attribute:\n    curl -H 'Tenant-Id: 12345678' -H 'Application-Key: {key}' \\\n      {base}/interact/agent/version/2/account/12345678/interactiondata/history1/fullFlow/byCallerAttribute\n\
         \n  Context Services (the seed's chat):\n    curl -H 'ContactCenterId: 12345678' -H 'Application-Key: {key}' {base}/interactions/00001a57JGQ00BW8\n\
         \n  SOAP (SoapUI, zeep, wsimport …): {base}/interact/version/2/interactiondata/soap/interactiondata.wsdl\n\
         \n  Health: {base}/healthz   Readiness: {base}/readyz\n",
        key = demo::DEMO_KEY
    );
}
