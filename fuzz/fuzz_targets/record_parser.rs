//! The record parser (`ixgw import`, `POST /v1/interactions`) on arbitrary text: a record or a
//! rejection with its path, never a panic. A record that parses must also render back to JSON that
//! parses to the same record (the stored form is rendered from the typed model).
#![no_main]

use ixgw_core::model::record::InteractionRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(record) = InteractionRecord::from_json(text) {
        let rendered = serde_json::to_string(&record).expect("a parsed record renders");
        let again = InteractionRecord::from_json(&rendered).expect("a rendered record parses");
        assert_eq!(again, record);
    }
});
