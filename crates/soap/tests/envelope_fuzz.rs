//! Fuzz-style checks of the request pipeline without HTTP (reader → envelope → operation →
//! payload): every truncation and many thousands of random mutations of every golden request must
//! end in an answer (a request or an error), never a panic. Bounded and deterministic (a fixed
//! xorshift seed), so it runs in the normal test suite.

use ixgw_soap::envelope::read_envelope;
use ixgw_soap::reader::{parse, Limits};
use ixgw_soap::request::{decode, Operation};
use std::path::Path;

/// Runs the pipeline; `true` when the bytes became a request.
fn pipeline(bytes: &[u8]) -> bool {
    let Ok(root) = parse(bytes, Limits::default()) else { return false };
    let Ok(envelope) = read_envelope(root) else { return false };
    let Some(op) = Operation::of_payload(&envelope.payload) else { return false };
    decode(op, &envelope.payload).is_ok()
}

fn golden_requests() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/soap");
    let mut out = Vec::new();
    for op in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        for version in ["soap11", "soap12"] {
            let found = op.join(version).join("found.request.xml");
            if let Ok(bytes) = std::fs::read(found) {
                out.push(bytes);
            }
        }
    }
    out
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of XML that make mutations interesting (markup, references, DTDs, huge numbers).
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b";",
    b"&amp;",
    b"&#x0;",
    b"&#xD800;",
    b"&#1114112;",
    b"&lol;",
    b"<!DOCTYPE x>",
    b"<![CDATA[",
    b"]]>",
    b"<?pi?>",
    b"<!--",
    b"-->",
    b"xmlns:a=\"\"",
    b"xmlns=\"urn:x\"",
    b"a:",
    b"\"",
    b"'",
    b"=",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"\x00",
    b"\r\n",
    b" ",
    b"<a>",
    b"</a>",
    b"99999999999999999999",
];

#[test]
fn the_golden_requests_decode() {
    let requests = golden_requests();
    assert_eq!(requests.len(), 14, "7 operations x 2 versions");
    for request in &requests {
        assert!(pipeline(request), "{}", String::from_utf8_lossy(request));
    }
}

#[test]
fn truncations_and_mutations_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut decoded = 0usize;
    let mut total = 0usize;
    for request in golden_requests() {
        for n in 0..request.len() {
            total += 1;
            decoded += usize::from(pipeline(&request[..n]));
        }
        for _ in 0..2_000 {
            let mut bytes = request.clone();
            for _ in 0..=rng.below(6) {
                let at = rng.below(bytes.len());
                match rng.below(4) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    2 => {
                        let token = TOKENS[rng.below(TOKENS.len())];
                        bytes.splice(at..at, token.iter().copied());
                    }
                    _ => {
                        // Duplicate a slice of the document in place (repeated or nested markup).
                        let end = (at + rng.below(64)).min(bytes.len());
                        let slice = bytes[at..end].to_vec();
                        bytes.splice(at..at, slice);
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            total += 1;
            decoded += usize::from(pipeline(&bytes));
        }
    }
    // Some mutations keep the request meaningful (inside text, say); most do not.
    assert!(decoded > 0 && decoded < total, "{decoded} of {total} decoded");
    eprintln!("{total} inputs, {decoded} decoded into requests, none panicked");
}
