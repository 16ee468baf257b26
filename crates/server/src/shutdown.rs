//! Graceful shutdown as a load balancer needs it. On SIGTERM:
//!
//! 1. **Drain** for `server.drain_secs`: `/readyz` answers 503 at once, so that health checks take
//!    this replica out, while every other request is served as before (with `Connection: close`,
//!    so keep-alive clients move to another replica after their answer). A second signal ends the
//!    drain early. SIGINT (Ctrl-C at a terminal) skips it.
//! 2. **Stop accepting**, then wait until every connection accepted has had its request answered:
//!    one that was accepted but whose request has not arrived yet, a request in progress, a body
//!    still being sent — for at most `server.shutdown_timeout_secs` (a further signal: at once).
//! 3. **Stop**: actix closes the idle keep-alive connections and ends its workers; the caller
//!    closes the store's pool.
//!
//! actix's own handling of signals is off (`HttpServer::disable_signals`): on its graceful stop it
//! closes a connection whose request has not been read yet, and drops connections accepted but not
//! yet handed to a worker, which is how requests were lost at shutdown.

use actix_web::dev::{Extensions, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// After the listener is paused, time for a connection the acceptor had just taken to reach its
/// worker (and be counted) before the server looks at what it owes.
const SETTLE: Duration = Duration::from_millis(50);

/// The server's shutdown state, shared by its workers.
#[derive(Default)]
pub struct Drain {
    draining: AtomicBool,
    /// Connections owed an answer: accepted and no request answered yet, or with a request in
    /// progress. Idle keep-alive connections are owed nothing.
    owed: AtomicUsize,
}

impl Drain {
    /// Whether a stop signal came: `/readyz` answers 503, every answer closes its connection.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    fn start(&self) {
        self.draining.store(true, Ordering::Release);
    }

    fn owed(&self) -> usize {
        self.owed.load(Ordering::Acquire)
    }

    /// The `HttpServer::on_connect` hook: a new connection is owed an answer until it has one.
    pub fn on_connect(self: &Arc<Self>, data: &mut Extensions) {
        self.owed.fetch_add(1, Ordering::AcqRel);
        data.insert(Rc::new(Connection { owed: AtomicBool::new(true), drain: self.clone() }));
    }

    /// Waits until no connection is owed an answer, at most `within`; whether none is.
    async fn all_answered(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.owed() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// One connection's part of [`Drain::owed`], kept in the connection's data.
struct Connection {
    owed: AtomicBool,
    drain: Arc<Drain>,
}

impl Connection {
    fn set_owed(&self, owed: bool) {
        if self.owed.swap(owed, Ordering::AcqRel) != owed {
            if owed {
                self.drain.owed.fetch_add(1, Ordering::AcqRel);
            } else {
                self.drain.owed.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl Drop for Connection {
    /// A connection that closes is owed nothing more.
    fn drop(&mut self) {
        self.set_owed(false);
    }
}

/// A request's part in its connection's debt: from [`Owed::begin`] the connection is owed an
/// answer until [`Owed::answered`] (or until the request is given up: dropped); while draining, the
/// answer closes the connection. The request log, the outermost layer, holds one for every request
/// (a middleware of its own cost a boxed future and an `Rc` per request).
pub struct Owed(Option<Rc<Connection>>);

impl Owed {
    pub fn begin(req: &ServiceRequest) -> Self {
        let connection = req.conn_data::<Rc<Connection>>().cloned();
        if let Some(c) = &connection {
            c.set_owed(true);
        }
        Self(connection)
    }

    /// The answer is made: while draining it closes its connection.
    pub fn answered<B>(self, response: &mut ServiceResponse<B>) {
        if self.0.as_ref().is_some_and(|c| c.drain.is_draining()) {
            response.response_mut().head_mut().set_connection_type(ConnectionType::Close);
        }
    }
}

impl Drop for Owed {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.set_owed(false);
        }
    }
}

/// How the server stops (from the settings).
#[derive(Debug, Clone, Copy)]
pub struct StopPlan {
    /// `server.drain_secs`.
    pub drain: Duration,
    /// `server.shutdown_timeout_secs`.
    pub answer_within: Duration,
}

/// The stop signals: SIGTERM (what orchestrators send) and SIGINT (Ctrl-C).
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Takes the signals over from now on (their default action would end the process).
    pub fn take() -> std::io::Result<Self> {
        Ok(Self { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    /// The next signal; whether it is SIGTERM.
    async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.term.recv() => true,
            _ = self.int.recv() => false,
        }
    }
}

/// Stops `server` as the module's documentation says, once a signal comes.
pub async fn stop_on_signals(mut signals: Signals, server: ServerHandle, drain: Arc<Drain>, plan: StopPlan) {
    let sigterm = signals.next().await;
    drain.start();
    if sigterm && !plan.drain.is_zero() {
        tracing::info!(
            drain_secs = plan.drain.as_secs_f64(),
            "SIGTERM: draining (/readyz answers 503, requests are still served; a second signal ends the drain)"
        );
        tokio::select! {
            () = tokio::time::sleep(plan.drain) => {}
            _ = signals.next() => tracing::info!("second signal: the drain ends early"),
        }
    }
    server.pause().await;
    tokio::time::sleep(SETTLE).await;
    tracing::info!(connections = drain.owed(), "stopped accepting; answering the connections accepted");
    let answered = tokio::select! {
        answered = drain.all_answered(plan.answer_within) => answered,
        _ = signals.next() => false,
    };
    if !answered {
        tracing::warn!(connections = drain.owed(), "stopping with connections still owed an answer");
    }
    server.stop(answered).await;
}
