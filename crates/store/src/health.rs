//! Answering at once while a database is down, and noticing its return by itself.
//!
//! A request that finds the database unreachable would wait for a connection until the pool gives
//! up (`database.acquire_timeout_ms`, 2 s): sqlx retries a refused connection until then. So
//! [`FailFast`] wraps a store with a [`Gate`] that knows whether its database answers:
//!
//! - **down**: every call answers `Unavailable` at once. A background task ([`watch`]) probes the
//!   database on a connection of its own every [`PROBE_EVERY`]; the first probe that gets an answer
//!   opens the gate. No request ever waits for a probe.
//! - **up**: calls go through. A call that fails as `Unavailable` closes the gate. A call still
//!   pending after [`SLOW_CALL`] asks the task for a probe at once and, if the probe finds the
//!   database down, is answered `Unavailable` there and then (its query is dropped), so the
//!   requests that meet the start of an outage do not wait either. The task also checks the
//!   database every [`CHECK_EVERY`] on its own, which is how an SQLite file that can no longer be
//!   opened is noticed while the connections already open (sqlx's pool, SQLite's read
//!   connections in `sqlite_reads`) still read it. A closed gate answers the read routes too, so
//!   SQLite's synchronous reads never touch a file found unreadable.
//!
//! Each gate logs its changes, one line each: a warning when its database stops answering, an
//! information line when it answers again.

use crate::classify;
use crate::hosts::Servers;
use ixgw_core::{HistoryStore, StoreError, StoreResult};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch as state, Notify};

/// How long a call may take before the gate asks for a probe (well under the 50 ms in which a
/// request must be answered during an outage, well over a healthy query's time).
pub const SLOW_CALL: Duration = Duration::from_millis(20);
/// How often a database that is down is probed (service resumes within this of its return).
pub const PROBE_EVERY: Duration = Duration::from_millis(100);
/// How often a database that is up is checked when no call asks for a probe.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// After a probe found the database up, the next one a slow call asks for waits this long: a
/// database that is merely slow is not probed more than 20 times a second.
const PROBE_GAP: Duration = Duration::from_millis(50);

/// Which database a gate watches, for its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The store every call needs.
    Store,
    /// A hot standby serving the read routes (`database.read_url`).
    ReadReplica,
}

impl Role {
    fn down_message(self) -> &'static str {
        match self {
            Role::Store => "the store is unavailable: requests are answered 503 until it answers again",
            Role::ReadReplica => "the read replica is unavailable: reads go to the primary until it answers again",
        }
    }

    fn up_message(self) -> &'static str {
        match self {
            Role::Store => "the store answers again",
            Role::ReadReplica => "the read replica answers again: reads go back to it",
        }
    }
}

/// Whether one database answers, shared by its [`FailFast`] and its [`watch`] task.
pub struct Gate {
    role: Role,
    up: AtomicBool,
    /// The same as `up`, for calls that wait for the gate to close.
    state: state::Sender<bool>,
    probe_wanted: Notify,
    /// Calls the database answered (with anything but "unavailable"): a probe that gets no answer
    /// while this moves is a slow new connection to a database still at work, not an outage.
    answered: AtomicU64,
}

impl Gate {
    pub fn new(role: Role) -> Arc<Self> {
        Arc::new(Self {
            role,
            up: AtomicBool::new(true),
            state: state::channel(true).0,
            probe_wanted: Notify::new(),
            answered: AtomicU64::new(0),
        })
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Records what a probe or a call found; logs a change.
    fn set(&self, up: bool, why: &str) {
        if self.up.swap(up, Ordering::AcqRel) == up {
            return;
        }
        self.state.send_replace(up);
        if up {
            tracing::info!("{}", self.role.up_message());
        } else {
            tracing::warn!(cause = why, "{}", self.role.down_message());
        }
    }

    #[cfg(test)]
    pub(crate) fn set_for_tests(&self, up: bool) {
        self.set(up, "test")
    }

    /// Resolves once the gate is open.
    pub async fn opened(&self) {
        let _ = self.state.subscribe().wait_for(|up| *up).await;
    }

    /// Resolves once the gate is closed.
    async fn closed(&self) {
        let _ = self.state.subscribe().wait_for(|up| !*up).await;
    }

    fn refusal(&self) -> StoreError {
        StoreError::Unavailable(match self.role {
            Role::Store => "the store is down (a background probe watches for its return)".into(),
            Role::ReadReplica => "the read replica is down".into(),
        })
    }
}

/// A store that answers at once while its database is down (see the module's documentation).
#[derive(Clone)]
pub struct FailFast {
    inner: Arc<dyn HistoryStore>,
    gate: Arc<Gate>,
}

impl FailFast {
    /// `inner` behind `gate`; something must [`watch`] the gate, or it never opens once closed.
    pub fn new(inner: Arc<dyn HistoryStore>, gate: Arc<Gate>) -> Self {
        Self { inner, gate }
    }

    async fn call<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        if !self.gate.is_up() {
            return Err(self.gate.refusal());
        }
        let mut call = std::pin::pin!(call);
        let result = match tokio::time::timeout(SLOW_CALL, call.as_mut()).await {
            Ok(result) => result,
            Err(_) => {
                self.gate.probe_wanted.notify_one();
                tokio::select! {
                    biased;
                    result = call => result,
                    () = self.gate.closed() => return Err(self.gate.refusal()),
                }
            }
        };
        match &result {
            Err(StoreError::Unavailable(why)) => {
                self.gate.set(false, why);
                self.gate.probe_wanted.notify_one();
            }
            _ => {
                self.gate.answered.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }
}

/// A gated call in a span of its own when traces are exported (`crate::spans`; the store's
/// method names the span and its statement, never the values bound to it).
macro_rules! gated {
    ($this:ident, $store:ident => $s:ident . $method:ident ( $($arg:expr),* $(,)? )) => {{
        let $store = &$this.inner;
        let span = crate::spans::start(stringify!($method), db_system($this.inner.backend()));
        let result = $this.call($s.$method($($arg),*)).await;
        if let Some(span) = span {
            span.end(result.as_ref().err().map(error_type));
        }
        result
    }};
}

/// OpenTelemetry's name of a store's database system.
fn db_system(backend: &str) -> &'static str {
    match backend {
        "postgres" | "postgresql" => "postgresql",
        "sqlite" => "sqlite",
        _ => "other_sql",
    }
}

/// A store error's kind, for a span (never its message, which may quote a value).
fn error_type(error: &StoreError) -> &'static str {
    match error {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Conflict(_) => "conflict",
        StoreError::Missing(_) => "missing",
        StoreError::Failed(_) => "failed",
    }
}

delegate_history_store!(FailFast, main: inner, read: gated, auth: gated, write: gated);

/// How a database is probed: on a connection of its own, opened for the probe.
#[derive(Clone)]
pub enum Probe {
    /// The SQLite database's connection settings (the file is opened, never created, by the
    /// probe).
    Sqlite(Arc<SqliteConnectOptions>),
    /// The PostgreSQL pool, whose connection settings the probe uses (and whose idle connection
    /// the check of a database thought up asks first: a healthy database gets no new connection
    /// from it while the pool has one idle). With several servers or a role asked for
    /// (`crate::hosts`), the probe asks each server its role in turn and points the pool at the
    /// first that fits.
    Postgres {
        pool: sqlx::PgPool,
        servers: Arc<Servers>,
        /// How long one server is given to accept a connection and answer.
        connect_timeout: Duration,
        /// Set once the probe found the server a primary, for the gate of the store the writes
        /// go to (`None` for a read replica's). From then on a server found in recovery is down:
        /// in a switchover the demoted primary comes back as a standby, and a proxy's primary port
        /// still leads to it until its next check; opening the gate then would send writes to a
        /// standby, each failing only after a connection and a query.
        primary_seen: Option<Arc<AtomicBool>>,
    },
}

impl Probe {
    pub fn sqlite(pool: &sqlx::SqlitePool) -> Self {
        Self::Sqlite(Arc::new(pool.connect_options().as_ref().clone().create_if_missing(false)))
    }

    pub fn postgres(pool: &sqlx::PgPool, servers: &Arc<Servers>, connect_timeout: Duration, role: Role) -> Self {
        let primary_seen = (role == Role::Store).then(|| Arc::new(AtomicBool::new(false)));
        Self::Postgres { pool: pool.clone(), servers: servers.clone(), connect_timeout, primary_seen }
    }

    /// How long one probe may take: `timeout` (SQLite), or each server's connect timeout for each
    /// server it may have to try (PostgreSQL).
    fn time_limit(&self, timeout: Duration) -> Duration {
        match self {
            Self::Sqlite(_) => timeout,
            Self::Postgres { servers, connect_timeout, .. } => {
                *connect_timeout * u32::try_from(servers.len().max(1)).unwrap_or(u32::MAX)
            }
        }
    }

    /// Whether the database answers a new connection now. sqlx's pool would retry a refused
    /// connection until its timeout; this answers at once.
    async fn reachable(&self) -> StoreResult<()> {
        match self {
            Self::Sqlite(options) => {
                let mut connection = SqliteConnection::connect_with(options.as_ref()).await.map_err(unreachable)?;
                let read = sqlx::query("SELECT count(*) FROM sqlite_master").fetch_one(&mut connection).await;
                let _ = connection.close().await;
                read.map(|_| ()).map_err(unreachable)
            }
            Self::Postgres { pool, servers, connect_timeout, .. } if servers.checks_role() => {
                let found = servers.find(*connect_timeout).await.map_err(StoreError::Unavailable)?;
                let current = pool.connect_options();
                if !crate::hosts::same_server(&current, found) {
                    tracing::info!(
                        from = %crate::hosts::address(&current),
                        to = %crate::hosts::address(found),
                        target_session_attrs = servers.target().as_str(),
                        "connecting to another server of the list"
                    );
                    pool.set_connect_options(found.clone());
                }
                Ok(())
            }
            Self::Postgres { pool, primary_seen, .. } => {
                match PgConnection::connect_with(&pool.connect_options()).await {
                    Ok(mut connection) => {
                        let in_recovery = in_recovery(&mut connection).await;
                        let _ = connection.close().await;
                        still_primary(primary_seen.as_deref(), in_recovery.map_err(unreachable)?)
                    }
                    // A server that refuses a connection for want of slots is up: the pool's own
                    // connections still work.
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("53300") => Ok(()),
                    Err(e) => Err(unreachable(e)),
                }
            }
        }
    }

    /// Whether a database thought up still answers: an idle pooled connection's answer will do
    /// (PostgreSQL; a pool's connections to a server that stopped fail at once; with a role asked
    /// for, the server must still have it), else [`Probe::reachable`] (a loaded pool, whose slow
    /// new connection [`watch`] judges by the calls answered meanwhile).
    async fn still_up(&self) -> StoreResult<()> {
        if let Self::Postgres { pool, servers, primary_seen, .. } = self {
            if let Some(mut connection) = pool.try_acquire() {
                let fits = if servers.checks_role() {
                    servers.still_fits(&mut connection).await.unwrap_or(false)
                } else {
                    in_recovery(&mut connection)
                        .await
                        .is_ok_and(|in_recovery| still_primary(primary_seen.as_deref(), in_recovery).is_ok())
                };
                if fits {
                    return Ok(());
                }
            }
        }
        self.reachable().await
    }
}

async fn in_recovery(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(connection).await
}

/// Whether a server that answered may serve: always, unless it is in recovery where a primary
/// was seen before (`primary_seen`, the store's gate).
fn still_primary(primary_seen: Option<&AtomicBool>, in_recovery: bool) -> StoreResult<()> {
    match primary_seen {
        Some(seen) if in_recovery && seen.load(Ordering::Acquire) => {
            Err(StoreError::Unavailable("the server is a standby now, where the primary was: the primary moved".into()))
        }
        Some(seen) if !in_recovery => {
            seen.store(true, Ordering::Release);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Any failure of a probe means the database cannot be used now.
fn unreachable(e: sqlx::Error) -> StoreError {
    match classify(e) {
        StoreError::Unavailable(why) => StoreError::Unavailable(why),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Probes `gate`'s database in the background (a Tokio task) for as long as the gate is in use:
/// every [`PROBE_EVERY`] while it is down, every [`CHECK_EVERY`] while it is up, and at once when
/// a slow or failed call asks for it. A probe that gets no answer within `timeout` (each server's
/// connect timeout: `database.connect_timeout_ms`) counts as down, unless the gate is up and calls
/// got answers from the database meanwhile: then the database is at work and only slow to take a
/// new connection (a loaded machine), and the gate stays up.
pub fn watch(gate: &Arc<Gate>, probe: Probe, timeout: Duration) {
    let timeout = probe.time_limit(timeout);
    let probe = Arc::new(probe);
    watch_with(gate, timeout, move |up| {
        let probe = probe.clone();
        async move {
            if up {
                probe.still_up().await
            } else {
                probe.reachable().await
            }
        }
    });
}

/// [`watch`] with `check(up)` as the probe: `up` says which question to ask (still up, or back).
fn watch_with<C, F>(gate: &Arc<Gate>, timeout: Duration, check: C)
where
    C: Fn(bool) -> F + Send + 'static,
    F: Future<Output = StoreResult<()>> + Send,
{
    let gate = Arc::downgrade(gate);
    tokio::spawn(async move {
        loop {
            let Some(g) = gate.upgrade() else { return };
            let asked = if g.is_up() {
                tokio::select! {
                    () = g.probe_wanted.notified() => true,
                    () = tokio::time::sleep(CHECK_EVERY) => false,
                }
            } else {
                tokio::time::sleep(PROBE_EVERY).await;
                true
            };
            let up = g.is_up();
            let answered = g.answered.load(Ordering::Relaxed);
            let found = tokio::time::timeout(timeout, check(up)).await.unwrap_or_else(|_| {
                if up && g.answered.load(Ordering::Relaxed) != answered {
                    Ok(())
                } else {
                    Err(StoreError::Unavailable(format!("no answer to a probe within {} ms", timeout.as_millis())))
                }
            });
            match found {
                Ok(()) => {
                    g.set(true, "");
                    if asked {
                        tokio::time::sleep(PROBE_GAP).await;
                    }
                }
                Err(e) => g.set(false, &e.to_string()),
            }
        }
    });
}

/// `inner` behind a gate of its own, watched with `probe` (needs a Tokio runtime).
pub fn guarded(inner: Arc<dyn HistoryStore>, probe: Probe, role: Role, timeout: Duration) -> Arc<dyn HistoryStore> {
    guarded_with_gate(inner, probe, role, timeout).0
}

/// [`guarded`], and the gate.
pub fn guarded_with_gate(
    inner: Arc<dyn HistoryStore>,
    probe: Probe,
    role: Role,
    timeout: Duration,
) -> (Arc<dyn HistoryStore>, Arc<Gate>) {
    let gate = Gate::new(role);
    watch(&gate, probe, timeout);
    (Arc::new(FailFast::new(inner, gate.clone())), gate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegate::testing::{flow, Flaky};
    use std::time::Instant;

    #[tokio::test]
    async fn a_failure_closes_the_gate_and_only_a_probe_opens_it() {
        let fake = Flaky::new().await;
        let gate = Gate::new(Role::Store);
        let store = FailFast::new(fake.clone(), gate.clone());
        assert!(flow(&store).await.is_ok());
        fake.set_down(true);
        assert!(flow(&store).await.is_err() && !gate.is_up(), "an unavailable store closes the gate");
        fake.set_down(false);
        fake.set_delay_ms(1_000);
        let started = Instant::now();
        assert!(matches!(flow(&store).await, Err(StoreError::Unavailable(_))));
        assert!(started.elapsed() < Duration::from_millis(50), "refused at once, without calling the store");
        assert!(!gate.is_up(), "a call never opens the gate; the probe does");
        gate.set(true, "");
        fake.set_delay_ms(0);
        assert!(flow(&store).await.is_ok());
    }

    #[tokio::test]
    async fn a_slow_call_asks_for_a_probe_and_is_cut_when_it_finds_the_store_down() {
        let fake = Flaky::new().await;
        let gate = Gate::new(Role::Store);
        let store = FailFast::new(fake.clone(), gate.clone());
        // A slow call while the store is up: it asks for a probe, and is answered when it ends.
        fake.set_delay_ms(60);
        let asked = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.probe_wanted.notified().await })
        };
        assert!(flow(&store).await.is_ok(), "a slow answer is still an answer");
        tokio::time::timeout(Duration::from_millis(100), asked).await.expect("a probe was asked for").unwrap();
        // A call stuck in the pool when the probe finds the store down is answered at once.
        fake.set_delay_ms(10_000);
        let started = Instant::now();
        let prober = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.probe_wanted.notified().await;
                gate.set(false, "refused");
            })
        };
        assert!(matches!(flow(&store).await, Err(StoreError::Unavailable(_))));
        assert!(started.elapsed() < Duration::from_millis(200), "cut when the gate closed: {:?}", started.elapsed());
        prober.await.unwrap();
    }

    #[tokio::test]
    async fn a_probe_without_an_answer_closes_the_gate_only_while_calls_get_none_either() {
        let fake = Flaky::new().await;
        let gate = Gate::new(Role::Store);
        let store = FailFast::new(fake.clone(), gate.clone());
        // Every probe is slow to connect (200 ms against a 50 ms limit) ...
        watch_with(&gate, Duration::from_millis(50), |_| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(())
        });
        // ... while calls keep getting answers: the database is at work, the gate stays up.
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(600) {
            gate.probe_wanted.notify_one();
            assert!(flow(&store).await.is_ok(), "the gate closed on a slow probe while calls were answered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // No call answered while a probe got no answer: down.
        gate.probe_wanted.notify_one();
        let started = Instant::now();
        while gate.is_up() {
            assert!(started.elapsed() < Duration::from_secs(2), "a probe without an answer kept the gate open");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn the_watch_opens_the_gate_when_the_sqlite_file_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe.db");
        let probe = Probe::Sqlite(Arc::new(SqliteConnectOptions::new().filename(&path)));
        assert!(probe.reachable().await.is_err(), "a missing file is not created by the probe");
        assert!(!path.exists());
        let gate = Gate::new(Role::Store);
        gate.set(false, "missing");
        watch(&gate, probe, Duration::from_secs(2));
        let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        SqliteConnection::connect_with(&options).await.unwrap().close().await.unwrap();
        let started = Instant::now();
        while !gate.is_up() {
            assert!(started.elapsed() < Duration::from_secs(2), "the probe did not open the gate");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
