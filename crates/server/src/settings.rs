//! Settings: defaults, then a TOML file, then `IXGW_<SECTION>_<KEY>` environment variables
//! (the environment wins). Every setting is documented in `config/ixgw.example.toml`, which a test
//! keeps in step with this file.

use ixgw_core::rules::retention::Retention;
use ixgw_rest::RestSettings;
use ixgw_soap::SoapSettings;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub interact: InteractSettings,
    pub soap: SoapSection,
    pub context_services: ContextServicesSettings,
    pub retention: RetentionSettings,
    pub log: LogSettings,
    pub upstream: UpstreamSettings,
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub public_url: Option<String>,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    pub max_connections: usize,
    pub request_timeout_secs: u64,
    /// Seconds between SIGTERM and the listener's close, while `/readyz` answers 503 and everything
    /// else is served (a load balancer's chance to take this replica out); 0: none.
    pub drain_secs: u64,
    pub shutdown_timeout_secs: u64,
    pub max_body_bytes: usize,
    /// Milliseconds an authenticated key is remembered (one store round trip fewer per request); a
    /// key revoked in the store stops working within this time. 0: the store is asked every time.
    pub key_cache_ms: u64,
    /// The flow explorer at `/ui/` (a page for people; it calls the REST and SOAP routes). false:
    /// only the APIs are served.
    pub ui: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            workers: 0,
            max_connections: 10_000,
            request_timeout_secs: 30,
            drain_secs: 5,
            shutdown_timeout_secs: 30,
            max_body_bytes: 1024 * 1024,
            key_cache_ms: 1000,
            ui: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`; else `DATABASE_URL`; else `sqlite://data/ixgw.db`.
    pub url: Option<String>,
    /// A read replica (`postgres://…`, a hot standby of `url`) for the read routes; keys,
    /// tenants, writes and erasure stay on `url` (keys and tenants go to the standby while `url`
    /// is unavailable). Both accept libpq's multi-host form with `target_session_attrs`.
    pub read_url: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    /// How long a server is given to accept a connection and answer before it counts as down (the
    /// background probe's limit per server; requests never wait for it).
    pub connect_timeout_ms: u64,
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            read_url: None,
            max_connections: 16,
            acquire_timeout_ms: 2000,
            connect_timeout_ms: 300,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InteractSettings {
    pub empty_flow_as_array: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoapSection {
    pub max_body_bytes: usize,
    pub vendor_fault_code: bool,
    pub not_found_as_fault: bool,
}

impl Default for SoapSection {
    fn default() -> Self {
        let d = SoapSettings::default();
        Self {
            max_body_bytes: d.max_body_bytes,
            vendor_fault_code: d.vendor_fault_code,
            not_found_as_fault: d.not_found_as_fault,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextServicesSettings {
    pub base_path: String,
    pub default_tenant: Option<String>,
    pub open_access: bool,
}

impl Default for ContextServicesSettings {
    fn default() -> Self {
        let d = RestSettings::default();
        Self {
            base_path: d.context_base_path,
            default_tenant: d.context_default_tenant,
            open_access: d.context_open_access,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Interactions last active longer ago than this are purged: `12months`, `90days`.
    pub purge_older_than: String,
    /// Purge once a day inside `serve` (never with `--demo`).
    pub daily_purge: bool,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { purge_older_than: Retention::default().to_string(), daily_purge: false }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `ixgw=debug,info`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: "text".into(), level: "info".into() }
    }
}

/// Traces (`docs/OBSERVABILITY.md`): exported over OTLP/HTTP when an endpoint is set, else none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The OTLP/HTTP collector's base URL (`http://127.0.0.1:4318`; spans go to `/v1/traces` under
    /// it). Unset: no traces (else `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp_endpoint: Option<String>,
    /// The share of new traces kept, 0.0 to 1.0; a request with a `traceparent` follows its
    /// caller's choice (else `OTEL_TRACES_SAMPLER_ARG`).
    pub sample_ratio: f64,
    /// Finished spans waiting for export at most; more are dropped and counted.
    pub queue: usize,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { otlp_endpoint: None, sample_ratio: 1.0, queue: 4096 }
    }
}

impl TelemetrySettings {
    /// The endpoint, if traces are exported.
    pub fn endpoint(&self) -> Option<&str> {
        self.otlp_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty())
    }
}

/// The vendor's servers during a cutover (`crate::cutover`, `docs/MIGRATION.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamSettings {
    /// The vendor's Interact base URL, before `/interact/...` (REST and SOAP).
    pub interact: Option<String>,
    /// The vendor's Context Services base URL, before `/customers/...` and `/interactions/...`.
    pub context_services: Option<String>,
    /// `off`, `shadow` (the vendor answers, the store is compared) or `fallback` (the store
    /// answers, the vendor fills what it lacks).
    pub mode: String,
    /// How long a request to the vendor may take, its answer included.
    pub timeout_ms: u64,
    /// The largest vendor answer passed on; a larger one counts as the vendor failing.
    pub max_answer_bytes: usize,
    /// Comparisons (shadow) or copies (fallback) waiting at most; more are dropped and counted.
    pub queue: usize,
    /// Differing samples kept per operation for `ixgw shadow report`.
    pub samples_per_operation: usize,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            interact: None,
            context_services: None,
            mode: "off".into(),
            timeout_ms: 2000,
            max_answer_bytes: 32 * 1024 * 1024,
            queue: 1024,
            samples_per_operation: 1000,
        }
    }
}

/// OpenTelemetry's standard environment variables and the `[telemetry]` setting each one fills.
const STANDARD_VARIABLES: [(&str, &str); 2] =
    [("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"), ("OTEL_TRACES_SAMPLER_ARG", "sample_ratio")];

/// The embedded default database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ixgw.db";

impl Settings {
    /// Defaults, then the file (if any), then `IXGW_*` from `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        let mut table = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            table = text.parse::<toml::Table>().map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let defaults = toml::Table::try_from(Settings::default()).map_err(|e| e.to_string())?;
        let mut standard = Vec::new();
        for (name, value) in env {
            if let Some(key) = STANDARD_VARIABLES.iter().find(|(n, _)| *n == name).map(|(_, key)| *key) {
                standard.push((name, key, value));
                continue;
            }
            let Some(rest) = name.strip_prefix("IXGW_") else { continue };
            let rest = rest.to_ascii_lowercase();
            let Some((section, key)) =
                defaults.keys().filter_map(|s| Some((s, rest.strip_prefix(s.as_str())?.strip_prefix('_')?))).next()
            else {
                continue;
            };
            let typed = typed_value(defaults.get(section).and_then(|s| s.get(key)), &value)
                .map_err(|e| format!("environment variable {name}: {e}"))?;
            let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(format!("`{section}` must be a table"));
            };
            section_table.insert(key.to_string(), typed);
        }
        // OpenTelemetry's own variables, for what neither the file nor an `IXGW_*` variable set.
        for (name, key, value) in standard {
            let entry = table.entry("telemetry").or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section) = entry else { return Err("`telemetry` must be a table".into()) };
            if !section.contains_key(key) {
                let typed = typed_value(defaults.get("telemetry").and_then(|s| s.get(key)), &value)
                    .map_err(|e| format!("environment variable {name}: {e}"))?;
                section.insert(key.to_string(), typed);
            }
        }
        let settings: Settings = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            let where_ = file.map(|p| format!("{}: ", p.display())).unwrap_or_default();
            format!("{where_}{}", e.message())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(format!("log.format must be `text` or `json`, not `{}`", self.log.format));
        }
        if !self.context_services.base_path.starts_with('/') || self.context_services.base_path.ends_with('/') {
            return Err("context_services.base_path must start with `/` and not end with one".into());
        }
        self.retention()?;
        crate::cutover::Mode::parse(&self.upstream.mode)?;
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            return Err(format!("telemetry.sample_ratio must be from 0.0 to 1.0, not {}", self.telemetry.sample_ratio));
        }
        if self.telemetry.queue == 0 {
            return Err("telemetry.queue must be at least 1".into());
        }
        Ok(())
    }

    /// The retention period (`retention.purge_older_than`).
    pub fn retention(&self) -> Result<Retention, String> {
        self.retention.purge_older_than.parse().map_err(|e| format!("retention.purge_older_than: {e}"))
    }

    /// The database URL: `explicit` (a `--database` flag), else the settings, else `DATABASE_URL`,
    /// else the embedded default.
    pub fn database_url(&self, explicit: Option<&str>) -> String {
        explicit
            .map(str::to_string)
            .or_else(|| self.database.url.clone())
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
    }

    pub fn rest(&self) -> RestSettings {
        RestSettings {
            public_url: self.server.public_url.clone(),
            empty_flow_as_array: self.interact.empty_flow_as_array,
            context_base_path: self.context_services.base_path.clone(),
            context_default_tenant: self.context_services.default_tenant.clone(),
            context_open_access: self.context_services.open_access,
        }
    }

    pub fn soap(&self) -> SoapSettings {
        SoapSettings {
            public_url: self.server.public_url.clone(),
            max_body_bytes: self.soap.max_body_bytes,
            vendor_fault_code: self.soap.vendor_fault_code,
            not_found_as_fault: self.soap.not_found_as_fault,
        }
    }
}

/// An environment value typed like the setting's default (strings stay strings: `12345678` is an
/// account id, not a number).
fn typed_value(default: Option<&toml::Value>, text: &str) -> Result<toml::Value, String> {
    Ok(match default {
        Some(toml::Value::Boolean(_)) => toml::Value::Boolean(match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(format!("`{text}` is not a boolean")),
        }),
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(text.parse().map_err(|_| format!("`{text}` is not a whole number"))?)
        }
        Some(toml::Value::Float(_)) => {
            toml::Value::Float(text.trim().parse().map_err(|_| format!("`{text}` is not a number"))?)
        }
        _ => toml::Value::String(text.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_wins_over_the_file_and_keeps_types() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ixgw.toml");
        std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:9000\"\n[interact]\nempty_flow_as_array = true\n").unwrap();
        let s = Settings::load(
            Some(&file),
            env(&[
                ("IXGW_SERVER_LISTEN", "127.0.0.1:7000"),
                ("IXGW_DATABASE_URL", "postgres://u@h/db"),
                ("IXGW_CONTEXT_SERVICES_DEFAULT_TENANT", "12345678"),
                ("IXGW_SOAP_VENDOR_FAULT_CODE", "false"),
                ("IXGW_DATABASE_MAX_CONNECTIONS", "4"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:7000");
        assert!(s.interact.empty_flow_as_array);
        assert_eq!(s.database.url.as_deref(), Some("postgres://u@h/db"));
        assert_eq!(s.context_services.default_tenant.as_deref(), Some("12345678"));
        assert!(!s.soap.vendor_fault_code);
        assert_eq!(s.database.max_connections, 4);
    }

    #[test]
    fn mistakes_are_named() {
        let e = Settings::load(None, env(&[("IXGW_DATABASE_MAX_CONNECTIONS", "many")])).unwrap_err();
        assert!(e.contains("IXGW_DATABASE_MAX_CONNECTIONS"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[server]\nlisen = \"x\"\n").unwrap();
        let e = Settings::load(Some(&file), env(&[])).unwrap_err();
        assert!(e.contains("lisen"), "{e}");
        let e = Settings::load(None, env(&[("IXGW_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(e.contains("log.format"), "{e}");
        let e = Settings::load(None, env(&[("IXGW_RETENTION_PURGE_OLDER_THAN", "a year")])).unwrap_err();
        assert!(e.contains("retention.purge_older_than") && e.contains("12months"), "{e}");
        let s = Settings::load(
            None,
            env(&[("IXGW_RETENTION_PURGE_OLDER_THAN", "90days"), ("IXGW_RETENTION_DAILY_PURGE", "true")]),
        );
        let s = s.unwrap();
        assert_eq!((s.retention(), s.retention.daily_purge), (Ok(Retention::Days(90)), true));
    }

    #[test]
    fn opentelemetry_variables_fill_what_the_gateways_own_do_not() {
        let s = Settings::load(
            None,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")]),
        )
        .unwrap();
        assert_eq!(s.telemetry.endpoint(), Some("http://collector:4318"));
        assert_eq!(s.telemetry.sample_ratio, 0.25);
        let s = Settings::load(
            None,
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("IXGW_TELEMETRY_OTLP_ENDPOINT", "http://mine:4318"),
                ("IXGW_TELEMETRY_SAMPLE_RATIO", "0.5"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ]),
        )
        .unwrap();
        assert_eq!((s.telemetry.endpoint(), s.telemetry.sample_ratio), (Some("http://mine:4318"), 0.5));
        assert_eq!(Settings::default().telemetry.endpoint(), None, "off by default");
        let e = Settings::load(None, env(&[("OTEL_TRACES_SAMPLER_ARG", "2")])).unwrap_err();
        assert!(e.contains("telemetry.sample_ratio"), "{e}");
        let e = Settings::load(None, env(&[("IXGW_TELEMETRY_SAMPLE_RATIO", "all")])).unwrap_err();
        assert!(e.contains("IXGW_TELEMETRY_SAMPLE_RATIO"), "{e}");
    }

    /// The example file documents every setting, with its default value.
    #[test]
    fn the_example_file_matches_the_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/ixgw.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = Settings::load(Some(&path), env(&[])).unwrap();
        assert_eq!(parsed, Settings::default(), "uncommented values in the example must be the defaults");
        // Every key, including the optional ones that are only shown commented out.
        let mut all = Settings::default();
        all.server.public_url = Some(String::new());
        all.database.url = Some(String::new());
        all.database.read_url = Some(String::new());
        all.context_services.default_tenant = Some(String::new());
        all.upstream.interact = Some(String::new());
        all.upstream.context_services = Some(String::new());
        all.telemetry.otlp_endpoint = Some(String::new());
        let table = toml::Table::try_from(all).unwrap();
        for (section, keys) in &table {
            assert!(text.contains(&format!("[{section}]")), "section [{section}] missing from the example");
            for key in keys.as_table().unwrap().keys() {
                let documented = text.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key}="))
                });
                assert!(documented, "setting {section}.{key} is not documented in config/ixgw.example.toml");
            }
        }
    }
}
