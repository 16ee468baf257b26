//! The HTTP side of a SOAP request: the version the `Content-Type` announces, its `action`
//! parameter and the `SOAPAction` header, parsed as leniently as real clients need (no space or
//! several after `;`, quoted or not, any case).

use crate::envelope::SoapVersion;
use std::borrow::Cow;

/// What the `Content-Type` header says (borrowed from it: parsed on every call).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// `text/xml` → 1.1, `application/soap+xml` → 1.2; `None` for an absent or other media type
    /// (the envelope then decides).
    pub version: Option<SoapVersion>,
    /// The SOAP 1.2 `action` parameter.
    pub action: Option<Cow<'a, str>>,
    /// The `charset` parameter, when it names something other than UTF-8.
    pub foreign_charset: Option<Cow<'a, str>>,
}

pub fn parse_content_type(value: Option<&str>) -> ContentType<'_> {
    let Some(value) = value else { return ContentType::default() };
    let mut parts = Params { rest: Some(value) };
    let media = parts.next().unwrap_or_default().trim();
    let version = if media.eq_ignore_ascii_case("text/xml") {
        Some(SoapVersion::V11)
    } else if media.eq_ignore_ascii_case("application/soap+xml") {
        Some(SoapVersion::V12)
    } else {
        None
    };
    let mut parsed = ContentType { version, ..ContentType::default() };
    for param in parts {
        let Some((name, raw)) = param.split_once('=') else { continue };
        let name = name.trim();
        let value = unquote(raw);
        if name.eq_ignore_ascii_case("action") {
            parsed.action = Some(value);
        } else if name.eq_ignore_ascii_case("charset")
            && !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8"))
        {
            parsed.foreign_charset = Some(value);
        }
    }
    parsed
}

/// The parts of a header value split on `;` outside double quotes.
struct Params<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let value = self.rest?;
        let mut quoted = false;
        let mut escaped = false;
        // Bytes, not characters: the three that matter are ASCII, and no byte of a multi-byte
        // character is ASCII, so a cut is always on a character boundary.
        for (i, b) in value.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b';' if !quoted => {
                    self.rest = Some(&value[i + 1..]);
                    return Some(&value[..i]);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(value)
    }
}

/// A header or parameter value without its surrounding quotes (and with `\"` unescaped); borrowed
/// unless there was an escape to undo.
pub fn unquote(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    out.extend(chars.next());
                } else {
                    out.push(c);
                }
            }
            Cow::Owned(out)
        }
        None => Cow::Borrowed(value),
    }
}

/// The last segment of an action URI (`…/Op`, `…#Op`, `urn:…:Op` or just `Op`).
pub fn action_name(action: &str) -> &str {
    let action = action.trim().trim_end_matches('/');
    action.rsplit(['/', '#', ':']).next().unwrap_or(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_of_real_clients() {
        let cases = [
            ("text/xml; charset=utf-8", Some(SoapVersion::V11), None),
            ("text/xml;charset=UTF-8", Some(SoapVersion::V11), None),
            ("TEXT/XML", Some(SoapVersion::V11), None),
            // zeep, node soap
            ("application/soap+xml; charset=utf-8; action=\"urn:Op\"", Some(SoapVersion::V12), Some("urn:Op")),
            // JAX-WS: no space
            ("application/soap+xml;charset=utf-8;action=\"\"", Some(SoapVersion::V12), Some("")),
            ("application/soap+xml;ACTION=Op", Some(SoapVersion::V12), Some("Op")),
            ("application/soap+xml; action=\"a;b\"; charset=utf-8", Some(SoapVersion::V12), Some("a;b")),
            ("application/xml", None, None),
        ];
        for (header, version, action) in cases {
            let parsed = parse_content_type(Some(header));
            assert_eq!(parsed.version, version, "{header}");
            assert_eq!(parsed.action.as_deref(), action, "{header}");
            assert_eq!(parsed.foreign_charset, None, "{header}");
        }
        assert_eq!(parse_content_type(None), ContentType::default());
        assert_eq!(
            parse_content_type(Some("text/xml; charset=\"ISO-8859-1\"")).foreign_charset.as_deref(),
            Some("ISO-8859-1")
        );
    }

    #[test]
    fn soap_actions() {
        assert_eq!(unquote("\"\""), "");
        assert_eq!(unquote(" \"x\\\"y\" "), "x\"y");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(
            action_name("http://com/jacada/interact/interactiondata/soap/GetInteractionUniqueId"),
            "GetInteractionUniqueId"
        );
        assert_eq!(
            action_name("http://com/jacada/interact/interactiondata/soap#GetInteractionUniqueIdRequest"),
            "GetInteractionUniqueIdRequest"
        );
        assert_eq!(action_name("urn:x:Op"), "Op");
        assert_eq!(action_name("Op"), "Op");
        assert_eq!(action_name(""), "");
    }
}
