//! `database.read_url`: the read routes on a hot standby while it answers, on the primary while it
//! does not.
//!
//! Keys, tenants, writes, imports and erasure always go to the primary: a revoked key is refused
//! at once whatever the replication delay, and nothing is ever written to a standby. A read goes
//! to the standby first; when the standby cannot answer it (stopped, restarting, a query cancelled
//! by recovery), the same read goes to the primary, so a client never sees the standby's failure.
//! In the server the standby sits behind a [`FailFast`](crate::health::FailFast) gate of its own:
//! once it is found down, reads go straight to the primary (one warning in the log), and they
//! return to the standby as soon as a background probe finds it answering again.

use ixgw_core::HistoryStore;
use std::sync::Arc;

pub struct ReadReplica {
    primary: Arc<dyn HistoryStore>,
    standby: Arc<dyn HistoryStore>,
}

impl ReadReplica {
    pub fn new(primary: Arc<dyn HistoryStore>, standby: Arc<dyn HistoryStore>) -> Self {
        Self { primary, standby }
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
                let $store = &$this.primary;
                $call.await
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

delegate_history_store!(ReadReplica, main: primary, read: standby_first, write: primary);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegate::testing::{flow, Flaky};
    use crate::health::{FailFast, Gate, Role};
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn reads_go_to_the_standby_and_to_the_primary_when_it_fails() {
        let (primary, standby) = (Flaky::new().await, Flaky::new().await);
        let store = ReadReplica::new(primary.clone(), standby.clone());
        flow(&store).await.unwrap();
        assert_eq!((primary.calls(), standby.calls()), (0, 1), "a read on the standby");
        store.tenants().await.unwrap();
        store.ping().await.unwrap();
        assert_eq!((primary.calls(), standby.calls()), (2, 1), "the rest on the primary");
        standby.set_down(true);
        flow(&store).await.expect("the primary answers for a standby that is down");
        assert_eq!((primary.calls(), standby.calls()), (3, 2));
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
