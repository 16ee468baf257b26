//! Escaping for the XML this crate writes (replies, the served WSDL's addresses, the normalized
//! request payload), and the XML 1.0 character rule the reader enforces.

/// The characters XML 1.0 allows in a document (Rust strings hold no surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` as XML character data: `&`, `<`, `>` escaped (as JAXB does), a carriage return
/// kept as `&#13;` (a parser would fold a raw one), and the few characters XML 1.0 cannot carry at
/// all (control characters) replaced by U+FFFD so that the reply stays well-formed.
pub fn escape_text(out: &mut String, text: &str) {
    escape(out, text, false)
}

/// Appends `text` as the value of a double-quoted attribute.
pub fn escape_attribute(out: &mut String, text: &str) {
    escape(out, text, true)
}

fn escape(out: &mut String, text: &str, attribute: bool) {
    let special = |c: char| {
        matches!(c, '&' | '<' | '>' | '\r') || (attribute && matches!(c, '"' | '\n' | '\t')) || !is_xml_char(c)
    };
    let mut rest = text;
    while let Some(i) = rest.find(special) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or('\u{FFFD}');
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            _ => out.push('\u{FFFD}'),
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_keeps_it_well_formed() {
        let mut out = String::new();
        escape_text(&mut out, "a&b<c>d\"e'f\r\ng\u{1}h–");
        assert_eq!(out, "a&amp;b&lt;c&gt;d\"e'f&#13;\ng\u{FFFD}h–");
        out.clear();
        escape_attribute(&mut out, "x\"y\n&");
        assert_eq!(out, "x&quot;y&#10;&amp;");
    }
}
