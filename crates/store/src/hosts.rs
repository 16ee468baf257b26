//! libpq's multi-host connection strings, on sqlx's connect options.
//!
//! `postgres://USER@h1:p1,h2:p2/DB?target_session_attrs=read-write` names several servers; a client
//! tries them in order and keeps the first whose role fits `target_session_attrs` (libpq's values:
//! `any`, the default; `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`). This is
//! how a cluster without a proxy or a virtual address is used (Patroni, pg_auto_failover): the
//! promoted server is found by asking each server its role (`pg_is_in_recovery()`,
//! `transaction_read_only`), with no DNS change, VIP or proxy.
//!
//! sqlx parses one host per URL. [`Servers::parse`] splits the list into one `PgConnectOptions` per
//! host; the pool connects to the server the background probe (`crate::health`) last found fitting
//! ([`Servers::find`] moves it there with `Pool::set_connect_options`), and each new connection of
//! the pool checks its server's role ([`Servers::check`]) when a role is asked for, so a pool never
//! writes through a server that was demoted: the failure closes the store's gate, and the probe
//! looks through the list again.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use std::str::FromStr;
use std::time::Duration;

/// libpq's `target_session_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSession {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl TargetSession {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "any" => Self::Any,
            "read-write" => Self::ReadWrite,
            "read-only" => Self::ReadOnly,
            "primary" => Self::Primary,
            "standby" => Self::Standby,
            "prefer-standby" => Self::PreferStandby,
            other => {
                return Err(format!(
                    "target_session_attrs `{other}`: use any, read-write, read-only, primary, standby or prefer-standby"
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::ReadWrite => "read-write",
            Self::ReadOnly => "read-only",
            Self::Primary => "primary",
            Self::Standby => "standby",
            Self::PreferStandby => "prefer-standby",
        }
    }

    /// Whether a server in `role` will do (`prefer-standby` takes any, preferring a standby).
    fn accepts(self, role: ServerRole) -> bool {
        match self {
            Self::Any | Self::PreferStandby => true,
            Self::ReadWrite => !role.read_only,
            Self::ReadOnly => role.read_only,
            Self::Primary => !role.in_recovery,
            Self::Standby => role.in_recovery,
        }
    }
}

/// What a server answers about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerRole {
    pub in_recovery: bool,
    /// `transaction_read_only` (on for a standby; on for a primary so configured).
    pub read_only: bool,
}

impl ServerRole {
    pub async fn of(connection: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let (in_recovery, read_only): (bool, String) =
            sqlx::query_as("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
                .fetch_one(connection)
                .await?;
        Ok(Self { in_recovery, read_only: read_only == "on" })
    }
}

/// The servers of one URL, in the order given, and the role wanted of them.
#[derive(Debug, Clone)]
pub struct Servers {
    servers: Vec<PgConnectOptions>,
    target: TargetSession,
}

impl Servers {
    /// Parses `postgres://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]…][/DB][?PARAMS]`: every host gets
    /// the same user, database and parameters (`target_session_attrs` is the gateway's, not
    /// sqlx's).
    pub fn parse(url: &str) -> Result<Self, String> {
        let scheme_end = url.find("://").ok_or("not a URL")? + 3;
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, hostlist) = match authority.rfind('@') {
            Some(at) => (&authority[..=at], &authority[at + 1..]),
            None => ("", authority),
        };
        let (path, query) = match tail.find('?') {
            Some(q) => (&tail[..q], Some(&tail[q + 1..])),
            None => (tail, None),
        };
        let mut target = TargetSession::Any;
        let mut params = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("target_session_attrs", value)) => target = TargetSession::parse(value)?,
                _ => params.push(pair),
            }
        }
        let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
        let servers = hostlist
            .split(',')
            .map(|host| {
                let one = format!("{}{userinfo}{host}{path}{query}", &url[..scheme_end]);
                PgConnectOptions::from_str(&one).map_err(|e| format!("host `{host}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { servers, target })
    }

    /// The first server: where the pool connects until the probe has looked at the others.
    pub fn first(&self) -> PgConnectOptions {
        self.servers[0].clone()
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    pub fn target(&self) -> TargetSession {
        self.target
    }

    /// Whether each server's role must be asked: several servers, or a role asked of one.
    pub fn checks_role(&self) -> bool {
        self.servers.len() > 1 || self.target != TargetSession::Any
    }

    /// Refuses a new connection to a server whose role does not fit (the pool's `after_connect`).
    pub async fn check(&self, connection: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.target == TargetSession::Any || self.target == TargetSession::PreferStandby {
            return Ok(());
        }
        let role = ServerRole::of(connection).await?;
        if self.target.accepts(role) {
            Ok(())
        } else {
            Err(wrong_role(self.target))
        }
    }

    /// Whether an open connection's server still fits: for `prefer-standby`, only a standby does
    /// when there are others to look at.
    pub async fn still_fits(&self, connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
        let role = ServerRole::of(connection).await?;
        Ok(match self.target {
            TargetSession::PreferStandby => role.in_recovery || self.servers.len() == 1,
            target => target.accepts(role),
        })
    }

    /// Tries the servers in order, each within `connect_timeout`, and returns the first that fits
    /// (`prefer-standby`: the first standby, else the first server that answered).
    pub async fn find(&self, connect_timeout: Duration) -> Result<&PgConnectOptions, String> {
        let mut fallback = None;
        let mut failures = Vec::new();
        for options in &self.servers {
            let attempt = async {
                let mut connection = PgConnection::connect_with(options).await?;
                let role = ServerRole::of(&mut connection).await;
                let _ = connection.close().await;
                role
            };
            let role = match tokio::time::timeout(connect_timeout, attempt).await {
                Ok(Ok(role)) => role,
                Ok(Err(e)) => {
                    failures.push(format!("{}: {e}", address(options)));
                    continue;
                }
                Err(_) => {
                    failures.push(format!("{}: no answer within {} ms", address(options), connect_timeout.as_millis()));
                    continue;
                }
            };
            match self.target {
                TargetSession::PreferStandby if !role.in_recovery => {
                    fallback.get_or_insert(options);
                }
                target if target.accepts(role) => return Ok(options),
                _ => failures.push(format!("{}: not {}", address(options), self.target.as_str())),
            }
        }
        fallback.ok_or_else(|| failures.join("; "))
    }
}

/// `host:port` of one server, for messages.
pub fn address(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// Whether two options name the same server.
pub fn same_server(a: &PgConnectOptions, b: &PgConnectOptions) -> bool {
    a.get_host() == b.get_host() && a.get_port() == b.get_port()
}

fn wrong_role(target: TargetSession) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!("the server is not {} (target_session_attrs)", target.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_list_becomes_one_server_each_with_the_same_rest() {
        let servers = Servers::parse(
            "postgres://u:pw@10.0.0.1:5433,db2:5434,db3/app?sslmode=disable&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(servers.target(), TargetSession::ReadWrite);
        assert!(servers.checks_role());
        let got: Vec<_> = servers.servers.iter().map(|o| (address(o), o.get_database().map(str::to_owned))).collect();
        assert_eq!(
            got,
            [
                ("10.0.0.1:5433".to_string(), Some("app".to_string())),
                ("db2:5434".to_string(), Some("app".to_string())),
                ("db3:5432".to_string(), Some("app".to_string())),
            ]
        );
        assert_eq!(servers.servers[1].get_username(), "u");
    }

    #[test]
    fn one_host_without_a_role_is_used_as_it_is() {
        let servers = Servers::parse("postgres://u@h:5432/db").unwrap();
        assert_eq!((servers.len(), servers.target(), servers.checks_role()), (1, TargetSession::Any, false));
        let servers = Servers::parse("postgresql://u@h/db?target_session_attrs=prefer-standby").unwrap();
        assert_eq!((servers.target(), servers.checks_role()), (TargetSession::PreferStandby, true));
        assert!(Servers::parse("postgres://u@h/db?target_session_attrs=sometimes").is_err());
    }

    #[test]
    fn roles_fit_as_in_libpq() {
        let primary = ServerRole { in_recovery: false, read_only: false };
        let standby = ServerRole { in_recovery: true, read_only: true };
        use TargetSession::*;
        for (target, fits_primary, fits_standby) in [
            (Any, true, true),
            (ReadWrite, true, false),
            (Primary, true, false),
            (ReadOnly, false, true),
            (Standby, false, true),
            (PreferStandby, true, true),
        ] {
            assert_eq!((target.accepts(primary), target.accepts(standby)), (fits_primary, fits_standby), "{target:?}");
        }
    }
}
