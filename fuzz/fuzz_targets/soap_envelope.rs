//! The SOAP request pipeline without HTTP, on arbitrary bytes: the hardened reader, the envelope
//! checks, the operation and its payload. Any input must end in a request or an error, never a
//! panic, a hang or unbounded memory.
#![no_main]

use ixgw_soap::envelope::read_envelope;
use ixgw_soap::reader::{parse, Limits};
use ixgw_soap::request::{decode, Operation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(root) = parse(body, Limits::default()) else { return };
    let Ok(envelope) = read_envelope(root) else { return };
    let Some(operation) = Operation::of_payload(&envelope.payload) else { return };
    let _ = decode(operation, &envelope.payload);
});
