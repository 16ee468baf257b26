//! Reading records from a byte stream, and storing them in batches (each record whole or absent):
//! the single path that `ixgw import`, the demo loader, `ixgw pull` and the ingest API all use.
//! The splitter frames the stream into records (`splitter`); the session parses, places and
//! stores them (`session`).

mod session;
mod splitter;

pub use session::{ImportSession, Outcome, Rejection, BATCH_BYTES, BATCH_RECORDS};
pub use splitter::{Frame, RecordSplitter, DEFAULT_MAX_RECORD_BYTES};
