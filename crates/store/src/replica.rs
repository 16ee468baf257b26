//! `database.read_url`: the read routes on a hot standby while it answers, on the primary while it
//! does not.
//!
//! Writes, imports, erasure and key management always go to the primary: nothing is ever written
//! to a standby. A read goes to the standby first; when the standby cannot answer it (stopped,
//! restarting, a query cancelled by recovery), the same read goes to the primary, so a client never
//! sees the standby's failure.
//!
//! The lookups that authenticate a request (a key by its digest, a tenant by id or name) go to the
//! primary, so that a revoked key is refused at once whatever the replication delay; while the
//! primary is unavailable (lost, being replaced by a promotion), they go to the standby, which
//! holds every key and tenant, so the read routes keep answering through the loss of the primary.
//! The one cost: on that path a key revoked on the primary stops working once the standby has
//! replayed the revocation (the replication lag), as it does anyway once the key cache expires.
//!
//! In the server each database sits behind a [`FailFast`](crate::health::FailFast) gate of its
//! own: once the standby is found down, reads go straight to the primary (one warning in the log),
//! and once the primary is, key lookups go straight to the standby and writes are refused at once;
//! each returns as soon as a background probe finds its database answering again.

use crate::health::Gate;
use ixgw_core::HistoryStore;
use std::sync::Arc;
use std::time::Duration;

pub struct ReadReplica {
    primary: Arc<dyn HistoryStore>,
    standby: Arc<dyn HistoryStore>,
    /// The gates, and how long a read that neither database answered waits for one of them to
    /// open again before asking that database once more (see [`ReadReplica::with_second_chance`]).
    second_chance: Option<SecondChance>,
}

struct SecondChance {
    standby: Arc<Gate>,
    primary: Arc<Gate>,
    wait: Duration,
}

/// Which database's gate opened first.
enum Side {
    Standby,
    Primary,
}

impl ReadReplica {
    pub fn new(primary: Arc<dyn HistoryStore>, standby: Arc<dyn HistoryStore>) -> Self {
        Self { primary, standby, second_chance: None }
    }

    /// A read that both databases failed waits up to `wait` for the standby's gate or the
    /// primary's to open again, and asks that database once more (a key
    /// lookup: the standby only). During a switchover or a promotion the standby's pool can fail
    /// on a connection that is going away (a server shutting down, a proxy moving its port to
    /// another server) while the primary is between servers too: behind HAProxy, for a few hundred
    /// milliseconds the replica port has lost its standby (promoted) and the primary port has not
    /// yet marked the new primary up. The probe of each gate, asked at once by the failure, finds
    /// the server behind its address as soon as there is one, so the read is answered instead of
    /// failed.
    pub fn with_second_chance(mut self, standby: Arc<Gate>, primary: Arc<Gate>, wait: Duration) -> Self {
        self.second_chance = Some(SecondChance { standby, primary, wait });
        self
    }

    /// Whether the standby's gate is open, or opens within the wait.
    async fn standby_back(&self) -> bool {
        match &self.second_chance {
            Some(chance) => tokio::time::timeout(chance.wait, chance.standby.opened()).await.is_ok(),
            None => false,
        }
    }

    /// The database whose gate is open, or opens first within the wait (the standby's first when
    /// both are).
    async fn database_back(&self) -> Option<Side> {
        let chance = self.second_chance.as_ref()?;
        let first = async {
            tokio::select! {
                biased;
                () = chance.standby.opened() => Side::Standby,
                () = chance.primary.opened() => Side::Primary,
            }
        };
        tokio::time::timeout(chance.wait, first).await.ok()
    }
}

/// The standby's answer, or the primary's when the standby has none.
macro_rules! standby_first {
    ($this:ident, $store:ident => $call:expr) => {{
        let from_standby = {
            let $store = &$this.standby;
            $call.await
        };
        match from_standby {
            Err(_) => {
                let from_primary = {
                    let $store = &$this.primary;
                    $call.await
                };
                match from_primary {
                    Err(ixgw_core::StoreError::Unavailable(why)) => match $this.database_back().await {
                        Some(Side::Standby) => {
                            let $store = &$this.standby;
                            $call.await
                        }
                        Some(Side::Primary) => {
                            let $store = &$this.primary;
                            $call.await
                        }
                        None => Err(ixgw_core::StoreError::Unavailable(why)),
                    },
                    answer => answer,
                }
            }
            answer => answer,
        }
    }};
}

/// The primary's answer, or the standby's while the primary is unavailable (never when the primary
/// answered, even "no such key": the standby may not have replayed a change yet).
macro_rules! primary_first {
    ($this:ident, $store:ident => $call:expr) => {{
        let from_primary = {
            let $store = &$this.primary;
            $call.await
        };
        match from_primary {
            Err(ixgw_core::StoreError::Unavailable(why)) => {
                let from_standby = {
                    let $store = &$this.standby;
                    $call.await
                };
                match from_standby {
                    Err(ixgw_core::StoreError::Unavailable(_)) if $this.standby_back().await => {
                        let $store = &$this.standby;
                        $call.await.map_err(|_| ixgw_core::StoreError::Unavailable(why))
                    }
                    Err(_) => Err(ixgw_core::StoreError::Unavailable(why)),
                    answer => answer,
                }
            }
            answer => answer,
        }
    }};
}

macro_rules! primary {
    ($this:ident, $store:ident => $call:expr) => {{
        let $store = &$this.primary;
        $call.await
    }};
}

delegate_history_store!(ReadReplica, main: primary, read: standby_first, auth: primary_first, write: primary);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegate::testing::{flow, Flaky};
    use crate::health::{FailFast, Role};
    use std::time::Instant;

    #[tokio::test]
    async fn reads_go_to_the_standby_and_to_the_primary_when_it_fails() {
        let (primary, standby) = (Flaky::new().await, Flaky::new().await);
        let store = ReadReplica::new(primary.clone(), standby.clone());
        flow(&store).await.unwrap();
        assert_eq!((primary.calls(), standby.calls()), (0, 1), "a read on the standby");
        store.tenants().await.unwrap();
        store.ping().await.unwrap();
        store.tenant("t").await.unwrap();
        assert_eq!((primary.calls(), standby.calls()), (3, 1), "the rest on the primary");
        standby.set_down(true);
        flow(&store).await.expect("the primary answers for a standby that is down");
        assert_eq!((primary.calls(), standby.calls()), (4, 2));
        assert!(store.ping_reads().await.is_ok(), "reads can be served by the primary");
    }

    #[tokio::test]
    async fn while_the_primary_is_down_keys_and_reads_come_from_the_standby() {
        let (primary, standby) = (Flaky::new().await, Flaky::new().await);
        let gate = Gate::new(Role::Store);
        let store = ReadReplica::new(Arc::new(FailFast::new(primary.clone(), gate.clone())), standby.clone());
        primary.set_down(true);
        assert_eq!(store.tenant("t").await.unwrap(), None, "the standby answered the tenant lookup");
        assert!(!gate.is_up(), "the failure closed the primary's gate");
        let digest = ixgw_core::model::tenancy::KeyDigest::of("k");
        assert_eq!(store.key_by_digest(&digest).await.unwrap(), None, "the standby answered the key lookup");
        flow(&store).await.unwrap();
        assert!(store.ping_reads().await.is_ok(), "reads can be served");
        assert!(matches!(store.ping().await, Err(ixgw_core::StoreError::Unavailable(_))), "writes cannot");
        assert_eq!((primary.calls(), standby.calls()), (1, 4), "the closed gate asked the primary once");
        // A primary that answers is believed, even when it knows nothing of the key.
        gate_up(&gate);
        primary.set_down(false);
        assert_eq!(store.key_by_digest(&digest).await.unwrap(), None);
        assert_eq!(standby.calls(), 4);
        // Both down: the primary's failure is the answer.
        primary.set_down(true);
        standby.set_down(true);
        assert!(matches!(store.tenant("t").await, Err(ixgw_core::StoreError::Unavailable(_))));
    }

    /// A replica pair behind their gates, both databases down, with a second chance of `wait`.
    struct BothDown {
        store: ReadReplica,
        primary: Arc<Flaky>,
        standby: Arc<Flaky>,
        primary_gate: Arc<Gate>,
        standby_gate: Arc<Gate>,
    }

    async fn both_down(wait: Duration) -> BothDown {
        let (primary, standby) = (Flaky::new().await, Flaky::new().await);
        let (primary_gate, standby_gate) = (Gate::new(Role::Store), Gate::new(Role::ReadReplica));
        let store = ReadReplica::new(
            Arc::new(FailFast::new(primary.clone(), primary_gate.clone())),
            Arc::new(FailFast::new(standby.clone(), standby_gate.clone())),
        )
        .with_second_chance(standby_gate.clone(), primary_gate.clone(), wait);
        primary.set_down(true);
        standby.set_down(true);
        BothDown { store, primary, standby, primary_gate, standby_gate }
    }

    /// `database` answers again `after`, and its probe opens its `gate`.
    fn back_after(database: &Arc<Flaky>, gate: &Arc<Gate>, after: Duration) -> tokio::task::JoinHandle<()> {
        let (database, gate) = (database.clone(), gate.clone());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            database.set_down(false);
            gate.set_for_tests(true);
        })
    }

    #[tokio::test]
    async fn a_read_both_failed_is_asked_of_the_standby_again_once_its_gate_opens() {
        let BothDown { store, standby, standby_gate, .. } = both_down(Duration::from_millis(300)).await;
        // The standby's probe finds the server now behind its address 30 ms later.
        let reopen = back_after(&standby, &standby_gate, Duration::from_millis(30));
        let started = Instant::now();
        flow(&store).await.expect("answered by the standby on its second chance");
        assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
        reopen.await.unwrap();
        // A standby that stays down: the read fails once the wait is over.
        standby.set_down(true);
        flow(&store).await.unwrap_err();
        let started = Instant::now();
        assert!(flow(&store).await.is_err());
        assert!(started.elapsed() >= Duration::from_millis(300), "waited for the standby");
    }

    #[tokio::test]
    async fn a_read_both_failed_is_asked_of_the_primary_again_when_its_gate_opens_first() {
        let BothDown { store, primary, primary_gate, standby_gate, .. } = both_down(Duration::from_secs(2)).await;
        // A switchover behind a proxy: the standby was promoted (the replica port has no server for
        // seconds) and the primary port finds the new primary 40 ms later.
        let reopen = back_after(&primary, &primary_gate, Duration::from_millis(40));
        let started = Instant::now();
        flow(&store).await.expect("answered by the primary on its second chance");
        assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
        reopen.await.unwrap();
        assert!(!standby_gate.is_up(), "the standby is still down");
    }

    fn gate_up(gate: &Gate) {
        gate.set_for_tests(true);
    }

    #[tokio::test]
    async fn behind_its_gate_a_standby_that_is_down_costs_a_read_nothing() {
        let (primary, standby) = (Flaky::new().await, Flaky::new().await);
        let gate = Gate::new(Role::ReadReplica);
        let store = ReadReplica::new(primary.clone(), Arc::new(FailFast::new(standby.clone(), gate.clone())));
        standby.set_down(true);
        flow(&store).await.unwrap();
        assert!(!gate.is_up(), "the failure closed the standby's gate");
        // A standby that would now hang (a stopped host) is not even asked.
        standby.set_delay_ms(5_000);
        let started = Instant::now();
        for _ in 0..10 {
            flow(&store).await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
        assert_eq!((primary.calls(), standby.calls()), (11, 1));
    }
}
