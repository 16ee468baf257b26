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

/// Bytes that may need escaping in text (`true`) or also in attribute values: the markup
/// characters, control characters (tab and line feed only in attributes), and 0xEF, which starts
/// U+FFFE and U+FFFF.
static SPECIAL_IN_TEXT: [bool; 256] = special(false);
static SPECIAL_IN_ATTRIBUTE: [bool; 256] = special(true);

const fn special(attribute: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = attribute || (b != b'\t' as usize && b != b'\n' as usize);
        b += 1;
    }
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = attribute;
    table[0xEF] = true;
    table
}

/// One pass over the bytes (this runs for every text of every SOAP reply): only ASCII bytes and
/// U+FFFE/U+FFFF (`EF BF BE`/`EF BF BF`) can need escaping; every other multi-byte character is an
/// XML character, so runs without a special byte are copied at once.
fn escape(out: &mut String, text: &str, attribute: bool) {
    let special = if attribute { &SPECIAL_IN_ATTRIBUTE } else { &SPECIAL_IN_TEXT };
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while let Some(found) = bytes[i..].iter().position(|&b| special[usize::from(b)]) {
        i += found;
        let (replacement, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'\r' => ("&#13;", 1),
            b'"' => ("&quot;", 1),
            b'\n' => ("&#10;", 1),
            b'\t' => ("&#9;", 1),
            0..=0x1f => ("\u{FFFD}", 1),
            _ if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => ("\u{FFFD}", 3),
            // 0xEF leading another character: copied with the run.
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte or a lead byte: a character boundary.
        out.push_str(&text[copied..i]);
        out.push_str(replacement);
        i += len;
        copied = i;
    }
    out.push_str(&text[copied..]);
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

    /// The character-by-character rule the byte scan must agree with.
    fn reference(text: &str, attribute: bool) -> String {
        text.chars()
            .map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '\r' => "&#13;".to_string(),
                '"' if attribute => "&quot;".to_string(),
                '\n' if attribute => "&#10;".to_string(),
                '\t' if attribute => "&#9;".to_string(),
                c if !is_xml_char(c) => "\u{FFFD}".to_string(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_byte_scan_agrees_with_the_character_rule() {
        let pieces = [
            "a",
            "&",
            "<",
            ">",
            "\"",
            "'",
            "\r",
            "\n",
            "\t",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "\u{85}",
            "é",
            "–",
            "\u{D7FF}",
            "\u{E000}",
            "\u{FFFD}",
            "\u{FFFE}",
            "\u{FFFF}",
            "\u{FEFF}",
            "\u{EFBF}",
            "\u{10000}",
            "😀",
            "\u{10FFFF}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}x{c}");
                    for attribute in [false, true] {
                        let mut out = String::new();
                        escape(&mut out, &text, attribute);
                        assert_eq!(out, reference(&text, attribute), "{text:?} attribute={attribute}");
                    }
                }
            }
        }
    }
}
