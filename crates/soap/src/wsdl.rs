//! `interactiondata.wsdl`, served from the repository's file with its two addresses pointing at
//! the endpoint as the client reaches it.

use crate::escape::escape_attribute;

/// The repository's WSDL, compiled in: one source of truth, nothing to find at run time.
const SOURCE: &str = include_str!("../../../wsdl/interactiondata.wsdl");
/// The address the file carries, replaced when served.
const PLACEHOLDER: &str = "location=\"http://localhost:8080/interact/version/2/interactiondata/soap\"";

pub const ENDPOINT_PATH: &str = "/interact/version/2/interactiondata/soap";
pub const WSDL_PATH: &str = "/interact/version/2/interactiondata/soap/interactiondata.wsdl";

/// The WSDL cut at its addresses, so that serving it is a few appends.
#[derive(Debug, Clone)]
pub struct Wsdl {
    pieces: Vec<&'static str>,
}

impl Default for Wsdl {
    fn default() -> Self {
        let pieces: Vec<&'static str> = SOURCE.split(PLACEHOLDER).collect();
        // One SOAP 1.1 and one SOAP 1.2 address (checked by scripts/validate-wsdl and the tests).
        assert_eq!(pieces.len(), 3, "wsdl/interactiondata.wsdl must carry the placeholder address twice");
        Self { pieces }
    }
}

impl Wsdl {
    /// The WSDL with both addresses set to `base_url` + the endpoint path.
    pub fn render(&self, base_url: &str) -> String {
        let mut location = String::with_capacity(base_url.len() + ENDPOINT_PATH.len() + 16);
        location.push_str("location=\"");
        escape_attribute(&mut location, base_url.trim_end_matches('/'));
        escape_attribute(&mut location, ENDPOINT_PATH);
        location.push('"');
        let mut out = String::with_capacity(SOURCE.len() + 2 * location.len());
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(&location);
            }
            out.push_str(piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_addresses_follow_the_base_url_and_nothing_else_changes() {
        let wsdl = Wsdl::default().render("https://gw.example.com:8443/");
        let want = "location=\"https://gw.example.com:8443/interact/version/2/interactiondata/soap\"";
        assert_eq!(wsdl.matches(want).count(), 2);
        assert!(!wsdl.contains(PLACEHOLDER));
        assert_eq!(wsdl.replace(want, PLACEHOLDER), SOURCE);
        let hostile = Wsdl::default().render("http://a\"b<c&d");
        assert!(hostile.contains("location=\"http://a&quot;b&lt;c&amp;d/interact/"), "escaped");
    }
}
