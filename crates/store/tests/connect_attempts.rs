//! A connection attempt that a proxy holds (HAProxy retrying a server that just went down, a second
//! between tries) is cut after `connect_timeout` and made again, instead of holding the request
//! for the whole acquire timeout while the database answers every other connection.

use ixgw_core::store::{FlowTarget, HistoryStore, Partition};
use ixgw_core::Millis;
use ixgw_store::{Database, PoolSettings};
use ixgw_testkit::Backend;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const AT: Partition<'static> = Partition { tenant: "12345678", environment: "production" };

/// A TCP proxy on loopback to `upstream` whose first `held` connections are accepted and never
/// answered; it counts the connections it accepted.
async fn holding_proxy(upstream: String, held: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut holding = Vec::new();
        while let Ok((mut client, _)) = listener.accept().await {
            if counter.fetch_add(1, Ordering::SeqCst) < held {
                holding.push(client);
                continue;
            }
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (address, accepted)
}

/// A store on `url` through a [`holding_proxy`] that holds its first `held` connections, and the
/// proxy's count of connections.
async fn store_through_proxy(
    url: &str,
    held: usize,
    connect_timeout: Duration,
    acquire_timeout: Duration,
) -> (Arc<dyn HistoryStore>, Arc<AtomicUsize>) {
    let start = url.find('@').map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = start + url[start..].find('/').unwrap();
    let (proxy, accepted) = holding_proxy(url[start..end].to_string(), held).await;
    let url = format!("{}{proxy}{}", &url[..start], &url[end..]);
    let settings = PoolSettings { connect_timeout, acquire_timeout, ..PoolSettings::default() };
    (Database::connect(&url, &settings).await.unwrap().store(), accepted)
}

#[tokio::test]
async fn a_connection_attempt_a_proxy_holds_is_cut_and_made_again() {
    if !Backend::postgres_enabled() {
        return;
    }
    let database = Backend::Postgres.fresh_database().await;
    let direct = Database::connect(&database.url, &PoolSettings::default()).await.unwrap();
    direct.migrate().await.unwrap();
    direct.store().create_tenant(AT.tenant, "Demo", &["production".into()]).await.unwrap();

    let (store, accepted) =
        store_through_proxy(&database.url, 2, Duration::from_millis(200), Duration::from_secs(10)).await;

    let started = Instant::now();
    let flow = store.flow(AT, FlowTarget::UniqueId("absent"), Millis(0)).await;
    let took = started.elapsed();
    assert!(flow.unwrap().is_none(), "answered through the proxy");
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "two held attempts, then one that went through");
    assert!(took >= Duration::from_millis(400), "both held attempts were waited for: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "each held attempt cut after connect_timeout, not the acquire timeout: {took:?}"
    );

    // A write (a transaction) takes its connection the same way.
    store.create_tenant("87654321", "Other", &["production".into()]).await.unwrap();
}

#[tokio::test]
async fn a_connection_never_made_is_still_answered_within_the_acquire_timeout() {
    if !Backend::postgres_enabled() {
        return;
    }
    let database = Backend::Postgres.fresh_database().await;
    let (store, accepted) =
        store_through_proxy(&database.url, usize::MAX, Duration::from_millis(100), Duration::from_millis(750)).await;

    let started = Instant::now();
    let refused = store.ping().await;
    let took = started.elapsed();
    assert!(matches!(refused, Err(ixgw_core::StoreError::Unavailable(_))), "{refused:?}");
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(3), "{took:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 5, "a new attempt every connect_timeout");
}
