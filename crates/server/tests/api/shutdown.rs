//! Graceful shutdown as a load balancer drains a replica, against the real `ixgw` binary: a health
//! checker polls `/readyz` every 100 ms, clients start no new request once it fails, SIGTERM comes
//! under load — and no request may fail, with one connection per request (PHP SoapClient, gSOAP)
//! or with keep-alive. The drain lasts `IXGW_SIGTERM_DRAIN_SECS` (1 s here: the clients stop
//! within the checker's 100 ms; `scripts/reliability/store-failures` runs it with the default 5 s).

use crate::helpers::process::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one run saw.
#[derive(Debug, Default)]
struct Run {
    answered: u64,
    /// Answered after the checker saw `/readyz` fail.
    answered_after_unready: u64,
    failed: Vec<String>,
    /// What the checker saw first when readiness failed: a status, or 0 for no answer.
    unready_with: u16,
    /// From SIGTERM to the checker's first failure, and to the exit.
    unready_after: Duration,
    exit_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Connections {
    /// A new connection for every request.
    PerRequest,
    KeepAlive,
}

/// One run: eight clients, a checker, SIGTERM after a second of load.
async fn run(connections: Connections, drain_secs: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let drain = drain_secs.to_string();
    let mut server = Server::demo(dir.path(), &db, &[("IXGW_SERVER_DRAIN_SECS", &drain)]).await;

    let origin = Instant::now();
    // When the checker first saw `/readyz` fail (ms since origin + 1; 0: not yet).
    let unready_at = Arc::new(AtomicU64::new(0));
    let unready_with = Arc::new(AtomicU64::new(0));
    let checker = {
        let (base, unready_at, unready_with) = (server.base.clone(), unready_at.clone(), unready_with.clone());
        tokio::spawn(async move {
            let checker =
                reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(1)).build().unwrap();
            loop {
                let status = match checker.get(format!("{base}/readyz")).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                if status != 200 {
                    unready_with.store(u64::from(status), Ordering::SeqCst);
                    unready_at.store(ms_since(origin) + 1, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let failed = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..8)
        .map(|n| {
            let (base, unready_at, failed) = (server.base.clone(), unready_at.clone(), failed.clone());
            tokio::spawn(async move {
                let mut client = reqwest::Client::builder().timeout(Duration::from_secs(30));
                if connections == Connections::PerRequest {
                    client = client.pool_max_idle_per_host(0);
                }
                let client = client.build().unwrap();
                let (mut answered, mut after_unready) = (0, 0);
                let mut i = 0;
                // As a load balancer does: no new request once the health check failed.
                while unready_at.load(Ordering::SeqCst) == 0 {
                    i += 1;
                    let request = if n % 2 == 0 {
                        client.get(format!("{base}{FULL_FLOW}"))
                    } else {
                        client.post(format!("{base}{SOAP_URL}")).header("Content-Type", "text/xml").body(SOAP_BY_UUID)
                    };
                    let id = format!("drain-{n}-{i}");
                    let sent = request
                        .header("Tenant-Id", crate::helpers::process::TENANT)
                        .header("Application-Key", DEMO_KEY)
                        .header("X-Request-Id", &id)
                        .send()
                        .await;
                    let outcome = match sent {
                        Ok(r) if r.status() == 200 => {
                            r.bytes().await.map(|_| ()).map_err(|e| format!("body cut: {e:?}"))
                        }
                        Ok(r) => Err(format!("status {}", r.status())),
                        Err(e) => Err(format!("{e:?}")),
                    };
                    match outcome {
                        Ok(()) => {
                            answered += 1;
                            after_unready += u64::from(unready_at.load(Ordering::SeqCst) != 0);
                        }
                        Err(e) => failed.lock().unwrap().push(format!("{id}: {e}")),
                    }
                }
                (answered, after_unready)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let signalled_ms = ms_since(origin);
    let signalled = Instant::now();
    server.signal("-TERM");
    let status = server.exit(Duration::from_secs(drain_secs + 20)).await;
    let exit_after = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}: {}", server.log_text());
    checker.await.unwrap();
    let mut run = Run {
        unready_with: unready_with.load(Ordering::SeqCst) as u16,
        unready_after: Duration::from_millis((unready_at.load(Ordering::SeqCst) - 1).saturating_sub(signalled_ms)),
        exit_after,
        ..Run::default()
    };
    for c in clients {
        let (answered, after_unready) = c.await.unwrap();
        run.answered += answered;
        run.answered_after_unready += after_unready;
    }
    run.failed = failed.lock().unwrap().clone();
    run
}

/// Five runs of `connections`: 0 failed requests, readiness failing first (a 503, while the
/// server still answered), and the drain's length kept.
async fn five_runs(connections: Connections) {
    let drain_secs = env_number("IXGW_SIGTERM_DRAIN_SECS", 1);
    let runs = env_number("IXGW_SIGTERM_ROUNDS", 5);
    let mut answered = 0;
    for n in 1..=runs {
        let run = run(connections, drain_secs).await;
        eprintln!(
            "SIGTERM drain ({connections:?}, {drain_secs} s), run {n}: {} answered, {} of them after /readyz failed, \
             {} failed; /readyz {} {:?} after the signal; exit {:?} after it",
            run.answered,
            run.answered_after_unready,
            run.failed.len(),
            run.unready_with,
            run.unready_after,
            run.exit_after
        );
        assert!(
            run.failed.is_empty(),
            "run {n}: {} failed: {:?}",
            run.failed.len(),
            &run.failed[..run.failed.len().min(5)]
        );
        assert_eq!(run.unready_with, 503, "run {n}: /readyz failed with a 503 while the server still served");
        assert!(
            run.unready_after < Duration::from_millis(500),
            "run {n}: /readyz failed {:?} after the signal",
            run.unready_after
        );
        assert!(run.answered > 50, "run {n}: the load ran: {run:?}");
        assert!(run.exit_after >= Duration::from_secs(drain_secs), "run {n}: the drain lasted {:?}", run.exit_after);
        assert!(
            run.exit_after < Duration::from_secs(drain_secs + 5),
            "run {n}: exit {:?} after the signal",
            run.exit_after
        );
        answered += run.answered;
    }
    eprintln!("SIGTERM drain ({connections:?}): {runs} runs, {answered} requests answered, 0 failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_without_failing_a_request_with_a_connection_per_request() {
    five_runs(Connections::PerRequest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_without_failing_a_request_on_keep_alive_connections() {
    five_runs(Connections::KeepAlive).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_draining_requests_are_served_with_connection_close_and_a_second_signal_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut server = Server::demo(dir.path(), &db, &[("IXGW_SERVER_DRAIN_SECS", "60")]).await;
    let keep_alive = client();
    let before = keep_alive.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(before.headers().get("connection").map(|v| v.to_str().unwrap()), None, "keep-alive before the signal");

    server.signal("-TERM");
    server.await_readiness(503, Duration::from_secs(2)).await;
    let r = keep_alive
        .get(format!("{}{FULL_FLOW}", server.base))
        .header("Tenant-Id", crate::helpers::process::TENANT)
        .header("Application-Key", DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "served while draining");
    assert_eq!(r.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    assert_eq!(client().get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200, "alive");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.child.try_wait().unwrap().is_none(), "still draining");

    let second = Instant::now();
    server.signal("-TERM");
    let status = server.exit(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
    let took = second.elapsed();
    assert!(took < Duration::from_secs(2), "the second signal ended the drain: exit {took:?} after it");

    // SIGINT (Ctrl-C) skips the drain; drain_secs = 0 has none.
    for (signal, drain) in [("-INT", "60"), ("-TERM", "0")] {
        let mut server = Server::demo(dir.path(), &db, &[("IXGW_SERVER_DRAIN_SECS", drain)]).await;
        let sent = Instant::now();
        server.signal(signal);
        let status = server.exit(Duration::from_secs(5)).await;
        assert!(status.success(), "{signal}, drain {drain}: {status:?}");
        assert!(sent.elapsed() < Duration::from_secs(2), "{signal}, drain {drain}: exit {:?} after it", sent.elapsed());
    }
}
