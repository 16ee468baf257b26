//! A stored page, from its canonical JSON straight to the reply's XML, in one pass.
//!
//! The store keeps each page as the canonical JSON of the typed model (`Page::to_json`): compact,
//! members in the model's declaration order (docs/PAGE-MODEL.md makes it the wire order of both
//! faces), optional members left out, repeated members as arrays. The XML of a page is the same
//! members in the same order, so it is written while the text is read, against the model's member
//! table below: each member's `"name":` is matched where it must come, its value written as an
//! `ns2:` element (text escaped, numbers and booleans copied, the page's `timestamp` as an
//! `xs:dateTime`, an array as one element per item). No page model is built, nothing is allocated
//! per member, and anything but the canonical form is refused as a damaged row. The tests hold
//! this to the typed model's own walk.

use crate::escape::escape_text;
use ixgw_core::Millis;

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
    // The XML of a page is about 1.6 times its JSON: no push below has to grow the buffer.
    out.reserve(json.len() * 2);
    let mut writer = Writer { json: json.as_bytes(), text: json, at: 0, out };
    writer.out.push_str("<ns2:page>");
    writer.object(PAGE)?;
    writer.out.push_str("</ns2:page>");
    if writer.at != json.len() {
        return writer.fail();
    }
    Ok(())
}

/// One member of an object of the page model, in docs/PAGE-MODEL.md order.
struct Member {
    /// `"name":`, as the canonical JSON has it.
    key: &'static str,
    open: &'static str,
    close: &'static str,
    required: bool,
    value: Value,
}

/// What a member holds and how it is written.
enum Value {
    /// Text: escaped character data.
    Text,
    /// A number or a boolean: copied.
    Plain,
    /// Epoch milliseconds: an `xs:dateTime`.
    Date,
    /// An object: the element holds its members.
    Object(&'static [Member]),
    /// An array of objects: an element per item (none for `[]`).
    Objects(&'static [Member]),
}

macro_rules! member {
    ($name:literal, $required:literal, $value:expr) => {
        Member {
            key: concat!("\"", $name, "\":"),
            open: concat!("<ns2:", $name, ">"),
            close: concat!("</ns2:", $name, ">"),
            required: $required,
            value: $value,
        }
    };
}

/// The model's objects (`ixgw_core::model::page`), member by member.
static PAGE: &[Member] = &[
    member!("pageNavigation", true, Value::Object(NAVIGATION)),
    member!("pageContent", true, Value::Object(CONTENT)),
    member!("timestamp", true, Value::Date),
];
static NAVIGATION: &[Member] = &[
    member!("navigationTitle", true, Value::Text),
    member!("pageReferenceName", false, Value::Text),
    member!("navigationLeft", false, Value::Object(BUTTON)),
    member!("navigationRight", false, Value::Object(BUTTON)),
];
static CONTENT: &[Member] = &[
    member!("contentHeader", false, Value::Object(HTML_BLOCK)),
    member!("contentSections", false, Value::Objects(SECTION)),
    member!("contentFooter", false, Value::Object(HTML_BLOCK)),
];
static HTML_BLOCK: &[Member] = &[member!("id", true, Value::Text), member!("innerHtml", true, Value::Text)];
static SECTION: &[Member] = &[
    member!("id", true, Value::Text),
    member!("sectionLabel", false, Value::Text),
    member!("sectionGroupType", false, Value::Text),
    member!("sectionNumberOfColumns", false, Value::Plain),
    member!("sectionChoices", false, Value::Objects(CHOICE)),
];
static CHOICE: &[Member] = &[
    member!("id", true, Value::Text),
    member!("choiceValue", true, Value::Text),
    member!("clickToContinue", false, Value::Object(BUTTON)),
    member!("choiceOption", false, Value::Object(BUTTON)),
    member!("choiceSwitch", false, Value::Object(BUTTON)),
    member!("selectFromList", false, Value::Object(SELECT_FROM_LIST)),
    member!("textInput", false, Value::Object(TEXT_INPUT)),
    member!("uploadImageList", false, Value::Object(UPLOAD_IMAGE_LIST)),
];
/// The button members (`state` and `visible` required in a button; every one optional in the
/// button part of a `textInput` or `selectFromList`), then the kind's own.
macro_rules! button_like {
    ($required:literal $(, $own:expr)* $(,)?) => {
        &[
            member!("id", false, Value::Text),
            member!("buttonState", $required, Value::Text),
            member!("buttonVisible", $required, Value::Plain),
            member!("buttonLabel", false, Value::Text),
            member!("buttonAction", false, Value::Text),
            member!("buttonImageName", false, Value::Text),
            $($own),*
        ]
    };
}

static BUTTON: &[Member] = button_like!(true);
static TEXT_INPUT: &[Member] = button_like!(
    false,
    member!("isMandatory", false, Value::Plain),
    member!("maxCharacters", false, Value::Plain),
    member!("numberOfLines", false, Value::Plain),
    member!("placeHolderText", false, Value::Text),
    member!("textColor", false, Value::Text),
    member!("textInputFormat", false, Value::Text),
    member!("textMask", false, Value::Text),
    member!("validationRegularExpresion", false, Value::Text),
    member!("minRange", false, Value::Text),
    member!("maxRange", false, Value::Text),
);
static SELECT_FROM_LIST: &[Member] = button_like!(
    false,
    member!("isMandatory", false, Value::Plain),
    member!("selectFromListOptions", false, Value::Objects(BUTTON)),
);
static UPLOAD_IMAGE_LIST: &[Member] =
    &[member!("isMandatory", false, Value::Plain), member!("images", false, Value::Objects(IMAGE))];
static IMAGE: &[Member] = &[member!("imagePath", true, Value::Text)];

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

    /// The byte at `at`; 0 past the end (no token starts with it, so every match fails on it).
    fn byte(&self) -> u8 {
        self.json.get(self.at).copied().unwrap_or(0)
    }

    /// Consumes `token` if the text continues with it.
    fn eat(&mut self, token: &str) -> bool {
        let found = self.json[self.at..].starts_with(token.as_bytes());
        if found {
            self.at += token.len();
        }
        found
    }

    /// The object at `at`, its members in the model's order (the caller writes its tags).
    fn object(&mut self, members: &'static [Member]) -> Result<(), NotAPage> {
        if !self.eat("{") {
            return self.fail();
        }
        let mut first = true;
        for member in members {
            let key_at = self.at;
            if !first && !self.eat(",") {
                if member.required {
                    return self.fail();
                }
                continue;
            }
            if !self.eat(member.key) {
                self.at = key_at;
                if member.required {
                    return self.fail();
                }
                continue;
            }
            first = false;
            match member.value {
                Value::Text => {
                    self.out.push_str(member.open);
                    self.string()?;
                    self.out.push_str(member.close);
                }
                Value::Plain => {
                    let plain = self.plain()?;
                    self.out.push_str(member.open);
                    self.out.push_str(plain);
                    self.out.push_str(member.close);
                }
                Value::Date => {
                    let start = self.at;
                    let millis = self.plain()?.parse::<i64>().map_err(|_| NotAPage(start))?;
                    self.out.push_str(member.open);
                    Millis(millis).write_iso_millis(self.out);
                    self.out.push_str(member.close);
                }
                Value::Object(inner) => {
                    self.out.push_str(member.open);
                    self.object(inner)?;
                    self.out.push_str(member.close);
                }
                Value::Objects(inner) => {
                    if !self.eat("[") {
                        return self.fail();
                    }
                    if !self.eat("]") {
                        loop {
                            self.out.push_str(member.open);
                            self.object(inner)?;
                            self.out.push_str(member.close);
                            if self.eat("]") {
                                break;
                            }
                            if !self.eat(",") {
                                return self.fail();
                            }
                        }
                    }
                }
            }
        }
        if !self.eat("}") {
            return self.fail();
        }
        Ok(())
    }

    /// A boolean or an integer (the model has no fractions), as it is written.
    fn plain(&mut self) -> Result<&'j str, NotAPage> {
        let start = self.at;
        let len = if self.eat("true") || self.eat("false") {
            0
        } else {
            let sign = usize::from(self.byte() == b'-');
            let digits = self.json[start + sign..].iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
            if digits == 0 {
                return self.fail();
            }
            sign + digits
        };
        self.at += len;
        Ok(&self.text[start..self.at])
    }

    /// A string value (`at` on its opening quote), written as XML character data in the same pass
    /// that reads it: runs of plain bytes are copied from the stored text at once; JSON escapes are
    /// decoded and, like the markup characters, written as `escape_text` writes them. The text
    /// holds no raw control character (JSON escapes them), so a run ends only at a quote, a
    /// backslash, `& < >` or 0xEF (the lead byte of U+FFFE/U+FFFF).
    fn string(&mut self) -> Result<(), NotAPage> {
        if self.byte() != b'"' {
            return self.fail();
        }
        let (json, text) = (self.json, self.text);
        let mut i = self.at + 1;
        let mut run = i;
        loop {
            i = next_special(json, i).ok_or(NotAPage(i))?;
            self.out.push_str(&text[run..i]);
            match json[i] {
                b'"' => {
                    self.at = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    self.at = i + 1;
                    let c = self.escaped_char()?;
                    escape_text(self.out, c.encode_utf8(&mut [0; 4]));
                    i = self.at;
                }
                // As escape_text writes them.
                b'&' => {
                    self.out.push_str("&amp;");
                    i += 1;
                }
                b'<' => {
                    self.out.push_str("&lt;");
                    i += 1;
                }
                b'>' => {
                    self.out.push_str("&gt;");
                    i += 1;
                }
                // 0xEF: U+FFFE and U+FFFF (EF BF BE, EF BF BF) are no XML characters and
                // escape_text replaces them; another character starting with EF stays in the run.
                _ if matches!(json.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => {
                    escape_text(self.out, &text[i..i + 3]);
                    i += 3;
                }
                _ => {
                    run = i;
                    i += 1;
                    continue;
                }
            }
            run = i;
        }
    }

    /// The character of the escape after a backslash (at `at`).
    fn escaped_char(&mut self) -> Result<char, NotAPage> {
        let escaped = self.byte();
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

/// The first byte at or after `from` that ends a plain run of a JSON string: a quote, a backslash,
/// `&`, `<`, `>` or 0xEF. Eight bytes at a time, three tests a word: a word has a wanted byte if one
/// of its bytes XOR the wanted byte is zero (the lowest such byte is exact: the borrow only runs
/// upwards), and `"`/`&` (0x22/0x26) and `<`/`>` (0x3C/0x3E) differ in one bit each, so one test
/// finds either of a pair once that bit is set. A word with a byte above 0x7F (non-ASCII text, where
/// 0xEF may start U+FFFE/U+FFFF) is looked at byte by byte.
fn next_special(json: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let special = |b: &u8| matches!(b, b'"' | b'\\' | b'&' | b'<' | b'>' | 0xEF);
    let mut i = from;
    while let Some(chunk) = json.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if word & HIGHS != 0 {
            if let Some(n) = chunk.iter().position(special) {
                return Some(i + n);
            }
        } else {
            let found = zero_bytes((word | (ONES * 0x04)) ^ (ONES * u64::from(b'&')))
                | zero_bytes((word | (ONES * 0x02)) ^ (ONES * u64::from(b'>')))
                | zero_bytes(word ^ (ONES * u64::from(b'\\')));
            if found != 0 {
                return Some(i + (found.trailing_zeros() / 8) as usize);
            }
        }
        i += 8;
    }
    json[i..].iter().position(special).map(|n| i + n)
}

#[cfg(test)]
mod tests {
    use super::next_special;

    /// Every special byte, and bytes one bit away from them, at every offset of strings longer
    /// and shorter than a word, beside ASCII and multi-byte text: the word-at-a-time scan finds
    /// what a byte-by-byte scan finds.
    #[test]
    fn the_word_scan_finds_what_a_byte_scan_finds() {
        let naive = |json: &[u8], from: usize| {
            json[from..].iter().position(|b| matches!(b, b'"' | b'\\' | b'&' | b'<' | b'>' | 0xEF)).map(|n| from + n)
        };
        let fillers: [&[u8]; 3] =
            [b"abcdefghijklmnopqrstu", "é€😀ab\u{FFFD}cd".as_bytes(), b"\x20\x24\x2e\x3d\x3f\x5d\x7e"];
        let needles: [&[u8]; 12] = [
            b"\"",
            b"\\",
            b"&",
            b"<",
            b">",
            "\u{FFFE}".as_bytes(),
            "\u{FFFF}".as_bytes(),
            "\u{F000}".as_bytes(),
            b"$",
            b"'",
            b"=",
            b"?",
        ];
        for filler in fillers {
            for needle in needles {
                for at in 0..=filler.len() {
                    let mut text = filler[..at].to_vec();
                    text.extend_from_slice(needle);
                    text.extend_from_slice(&filler[at..]);
                    for from in 0..text.len() {
                        assert_eq!(next_special(&text, from), naive(&text, from), "{text:?} from {from}");
                    }
                }
            }
        }
    }
}
