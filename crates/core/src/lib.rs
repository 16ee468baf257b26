//! The domain core of the Interaction History Gateway.
//!
//! Its modules follow their roles: the model (`model`: tenants, environments, keys, interactions
//! with their pages, caller attributes, content, variable sets and photos), the rules (`rules`:
//! search windows, caller-attribute resolution, retention, public URLs), what is answered besides a
//! stored flow (`resources`), the one query service every protocol face calls (`service`), and the
//! one path records come in by (`ingest`). It knows no web framework, no XML and no SQL: storage is
//! the [`store::HistoryStore`] trait, implemented elsewhere.

pub mod error;
pub mod ingest;
pub mod model;
pub mod resources;
pub mod rules;
pub mod service;
pub mod store;

pub use error::{AuthFailure, HistoryError, StoreError, StoreResult};
pub use model::tenancy::{Principal, Scope};
pub use model::time::Millis;
pub use rules::window::SearchWindow;
pub use service::{Credentials, HistoryService};
pub use store::{FlowTarget, HistoryReads, HistoryStore, Partition};
