//! The domain core of the Interaction History Gateway.
//!
//! It owns the model (tenants, environments, keys, interactions with their pages, caller attributes,
//! content, variable sets and photos), the rules (search windows, caller-attribute resolution, key
//! checks) and the one query service every protocol face calls. It knows no web framework, no XML
//! and no SQL: storage is the [`store::HistoryStore`] trait, implemented elsewhere.

pub mod attributes;
pub mod context_services;
pub mod error;
pub mod ingest;
pub mod key_cache;
pub mod ordered;
pub mod page;
pub mod record;
pub mod retention;
pub mod service;
pub mod store;
pub mod summary;
pub mod tenancy;
pub mod time;
pub mod urls;
pub mod window;
pub mod writes;

pub use error::{AuthFailure, HistoryError, StoreError, StoreResult};
pub use service::{Credentials, HistoryService};
pub use store::{FlowTarget, HistoryReads, HistoryStore, Partition};
pub use tenancy::{Principal, Scope};
pub use time::Millis;
pub use window::SearchWindow;
