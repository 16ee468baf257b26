//! A stored page, from its canonical JSON straight to the reply's XML, in one pass.
//!
//! The store keeps each page as the canonical JSON of the typed model (`Page::to_json`): members in
//! the model's declaration order, which docs/PAGE-MODEL.md makes the wire order of both faces,
//! optional members left out, no `null`, repeated members as arrays. The XML of a page is then a
//! member-for-member rewrite: an object member becomes an `ns2:` element of its name, an array a
//! run of elements of the member's name (none when empty), text is escaped as XML character data,
//! numbers and booleans are copied as they are, and the page's `timestamp` (epoch milliseconds)
//! becomes an `xs:dateTime`. Rewriting the text needs no page model, so a SOAP flow costs no
//! parsing into owned strings and no allocation per member; the tests hold it to the typed model's
//! own walk.

use crate::escape::escape_text;
use ixgw_core::Millis;

/// What a byte inside a JSON string is to the rewrite.
const PLAIN: u8 = 0;
const END: u8 = 1;
const ESCAPE: u8 = 2;
const MARKUP: u8 = 3;
const MAYBE_NONCHARACTER: u8 = 4;
const CONTROL: u8 = 5;

static CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    let mut b = 0;
    while b < 0x20 {
        class[b] = CONTROL;
        b += 1;
    }
    class[b'"' as usize] = END;
    class[b'\\' as usize] = ESCAPE;
    class[b'&' as usize] = MARKUP;
    class[b'<' as usize] = MARKUP;
    class[b'>' as usize] = MARKUP;
    class[0xEF] = MAYBE_NONCHARACTER;
    class
};

/// What does not have the canonical page shape. The store writes nothing else, so this is a
/// damaged row, reported as an internal failure.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAPage(pub usize);

impl std::fmt::Display for NotAPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stored page is not canonical JSON (at byte {})", self.0)
    }
}

/// Appends `<ns2:page>…</ns2:page>` for one stored page.
pub fn write_page(out: &mut String, json: &str) -> Result<(), NotAPage> {
    let mut writer = Writer { json: json.as_bytes(), text: json, at: 0, out };
    if writer.peek() != Some(b'{') {
        return writer.fail();
    }
    writer.member("page", Depth::Page)?;
    writer.skip_space();
    if writer.at != writer.json.len() {
        return Err(NotAPage(writer.at));
    }
    Ok(())
}

/// Where a member sits: the page itself, the page's own members (where `timestamp` is the page's
/// time), or deeper.
#[derive(Clone, Copy, PartialEq)]
enum Depth {
    Page,
    PageMember,
    Nested,
}

impl Depth {
    fn inner(self) -> Depth {
        match self {
            Depth::Page => Depth::PageMember,
            _ => Depth::Nested,
        }
    }
}

struct Writer<'j, 'o> {
    json: &'j [u8],
    text: &'j str,
    at: usize,
    out: &'o mut String,
}

impl<'j> Writer<'j, '_> {
    fn fail<T>(&self) -> Result<T, NotAPage> {
        Err(NotAPage(self.at))
    }

    fn skip_space(&mut self) {
        while matches!(self.json.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.json.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotAPage> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    fn open(&mut self, name: &str) {
        self.out.push_str("<ns2:");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</ns2:");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// The value at `at` as the member `name`: an element, a run of them (arrays) or nothing
    /// (`null`, an empty array).
    fn member(&mut self, name: &str, depth: Depth) -> Result<(), NotAPage> {
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                self.open(name);
                if self.peek() == Some(b'}') {
                    self.at += 1;
                } else {
                    loop {
                        let key = self.key()?;
                        self.expect(b':')?;
                        self.member(key, depth.inner())?;
                        match self.peek() {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return self.fail(),
                        }
                    }
                }
                self.close(name);
            }
            Some(b'[') => {
                self.at += 1;
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.member(name, depth)?;
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            break;
                        }
                        _ => return self.fail(),
                    }
                }
            }
            Some(b'"') => {
                self.open(name);
                self.string()?;
                self.close(name);
            }
            Some(b'n') => self.literal("null")?,
            Some(b't') => {
                self.literal("true")?;
                self.element(name, "true");
            }
            Some(b'f') => {
                self.literal("false")?;
                self.element(name, "false");
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                self.at += 1;
                while matches!(self.json.get(self.at), Some(b'0'..=b'9')) {
                    self.at += 1;
                }
                let digits = &self.text[start..self.at];
                if depth == Depth::PageMember && name == "timestamp" {
                    let millis = digits.parse::<i64>().map_err(|_| NotAPage(start))?;
                    self.element(name, &Millis(millis).to_iso_millis());
                } else {
                    self.element(name, digits);
                }
            }
            _ => return self.fail(),
        }
        Ok(())
    }

    /// An element whose text needs no escaping.
    fn element(&mut self, name: &str, text: &str) {
        self.open(name);
        self.out.push_str(text);
        self.close(name);
    }

    fn literal(&mut self, word: &str) -> Result<(), NotAPage> {
        if self.json[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            self.fail()
        }
    }

    /// A member name: the model's names are plain ASCII words, never escaped.
    fn key(&mut self) -> Result<&'j str, NotAPage> {
        self.expect(b'"')?;
        let start = self.at;
        let len = self.json[start..].iter().position(|&b| matches!(b, b'"' | b'\\')).ok_or(NotAPage(start))?;
        self.at = start + len;
        if self.json[self.at] != b'"' || len == 0 {
            return self.fail();
        }
        self.at += 1;
        Ok(&self.text[start..start + len])
    }

    /// A string value, written as XML character data in the same pass that reads it: runs of
    /// plain bytes are copied from the stored text at once; JSON escapes are decoded and, like the
    /// markup characters, written as `escape_text` writes them.
    fn string(&mut self) -> Result<(), NotAPage> {
        self.expect(b'"')?;
        let (json, text) = (self.json, self.text);
        let mut run = self.at;
        let mut i = self.at;
        loop {
            i += json[i..].iter().position(|&b| CLASS[usize::from(b)] != PLAIN).ok_or(NotAPage(i))?;
            let byte = json[i];
            self.out.push_str(&text[run..i]);
            match CLASS[usize::from(byte)] {
                END => {
                    self.at = i + 1;
                    return Ok(());
                }
                ESCAPE => {
                    self.at = i + 1;
                    let c = self.escaped_char()?;
                    escape_text(self.out, c.encode_utf8(&mut [0; 4]));
                    i = self.at;
                }
                MARKUP => {
                    escape_text(self.out, &text[i..i + 1]);
                    i += 1;
                }
                MAYBE_NONCHARACTER => {
                    // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are no XML characters: escape_text
                    // replaces them; any other character starting with EF is copied with its run.
                    let len = if matches!(json.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) { 3 } else { 0 };
                    if len > 0 {
                        escape_text(self.out, &text[i..i + len]);
                        i += len;
                    } else {
                        run = i;
                        i += 1;
                        continue;
                    }
                }
                // A raw control character: JSON does not allow one in a string.
                _ => return Err(NotAPage(i)),
            }
            run = i;
        }
    }

    /// The character of the escape after a backslash (at `at`).
    fn escaped_char(&mut self) -> Result<char, NotAPage> {
        let escaped = self.json.get(self.at).copied().ok_or(NotAPage(self.at))?;
        self.at += 1;
        Ok(match escaped {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let c = if (0xD800..=0xDBFF).contains(&unit) {
                    if !self.json[self.at..].starts_with(b"\\u") {
                        return self.fail();
                    }
                    self.at += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return self.fail();
                    }
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    char::from_u32(unit)
                };
                c.ok_or(NotAPage(self.at))?
            }
            _ => return self.fail(),
        })
    }

    fn hex4(&mut self) -> Result<u32, NotAPage> {
        let digits = self.text.get(self.at..self.at + 4).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let unit = digits.and_then(|d| u32::from_str_radix(d, 16).ok()).ok_or(NotAPage(self.at))?;
        self.at += 4;
        Ok(unit)
    }
}
