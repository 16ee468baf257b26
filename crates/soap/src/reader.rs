//! The hardened, namespace-aware XML reader: the first and only code that reads a request body.
//!
//! It turns the body into a small tree of [`Element`]s with every name resolved to its namespace
//! URI, and refuses anything a SOAP request has no business containing before it can cost memory or
//! time: a DOCTYPE (so no entity of any kind is ever declared, let alone expanded: XXE and "billion
//! laughs" cannot start), processing instructions, any encoding but UTF-8, undeclared entities,
//! and documents past the [`Limits`] on depth, attributes, namespace declarations and elements.
//! Memory is bounded by the body cap (enforced before this runs) times a small constant.

use crate::escape::is_xml_char;
use quick_xml::errors::Error as QxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceError, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;
use std::borrow::Cow;
use std::fmt;

/// Caps on the shape of a request document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest element nesting (the envelope itself is depth 1).
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations not counted.
    pub max_attributes: usize,
    /// Namespace declarations on one element.
    pub max_namespaces_per_element: usize,
    /// Namespace declarations in scope at once.
    pub max_namespaces_in_scope: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_attributes: 64,
            max_namespaces_per_element: 64,
            max_namespaces_in_scope: 256,
            max_elements: 10_000,
        }
    }
}

/// An attribute other than a namespace declaration, its name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub ns: Option<Cow<'a, str>>,
    pub local: &'a str,
    pub value: Cow<'a, str>,
}

/// An element with its name resolved, its attributes, its child elements in order and the text
/// directly inside it (character data, CDATA and references, concatenated).
///
/// Names and text borrow the body wherever they can (a namespace the service knows is a constant):
/// a request's tree then costs a few allocations, not several per element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element<'a> {
    pub ns: Option<Cow<'a, str>>,
    pub local: &'a str,
    pub attributes: Vec<Attribute<'a>>,
    pub children: Vec<Element<'a>>,
    pub text: Cow<'a, str>,
}

/// Namespaces a request names over and over, kept as constants rather than copied per element.
const KNOWN_NAMESPACES: [&str; 7] = [
    crate::envelope::SOAP11_ENV,
    crate::envelope::SOAP12_ENV,
    crate::envelope::WSSE,
    crate::request::TNS,
    crate::request::AGENT_NS,
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/2001/XMLSchema",
];

impl Element<'_> {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local == local
    }

    /// The value of the attribute `{ns}local`.
    pub fn attribute(&self, ns: Option<&str>, local: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.ns.as_deref() == ns && a.local == local).map(|a| &*a.value)
    }

    /// `{namespace}local`, for messages.
    pub fn expanded_name(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.local),
            None => self.local.to_string(),
        }
    }

    /// Whether the direct text is only whitespace.
    pub fn has_blank_text(&self) -> bool {
        self.text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
    }
}

/// Why a body was refused. Every message is safe to put in a fault (it names what is wrong, never
/// anything of the server's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    NotUtf8,
    Encoding(String),
    DocType,
    ProcessingInstruction,
    UndeclaredEntity(String),
    TooDeep(usize),
    TooManyAttributes(usize),
    TooManyNamespaces(usize),
    TooManyElements(usize),
    NoRoot,
    Malformed(String),
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("the request body is not valid UTF-8 (only UTF-8 is accepted)"),
            Self::Encoding(e) => write!(f, "only UTF-8 is accepted, the {e}"),
            Self::DocType => f.write_str("a DOCTYPE is not allowed in a SOAP message"),
            Self::ProcessingInstruction => f.write_str("processing instructions are not allowed in a SOAP message"),
            Self::UndeclaredEntity(name) => write!(f, "undeclared entity &{name};"),
            Self::TooDeep(n) => write!(f, "elements are nested deeper than {n} levels"),
            Self::TooManyAttributes(n) => write!(f, "an element has more than {n} attributes"),
            Self::TooManyNamespaces(n) => write!(f, "more than {n} namespace declarations"),
            Self::TooManyElements(n) => write!(f, "the message has more than {n} elements"),
            Self::NoRoot => f.write_str("the request body holds no XML element"),
            Self::Malformed(why) => write!(f, "the request body is not well-formed XML: {why}"),
        }
    }
}

impl std::error::Error for XmlError {}

/// Longest piece of the input echoed in a message.
const ECHO_MAX: usize = 80;

/// Shortens text that will be echoed in a fault.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(ECHO_MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Reads a whole document into its root element.
pub fn parse(body: &[u8], limits: Limits) -> Result<Element<'_>, XmlError> {
    if let Some(encoding) = sniff_other_encoding(body) {
        return Err(XmlError::Encoding(encoding.to_string()));
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = false;
    config.check_end_names = true;
    config.check_comments = true;
    config.trim_text(false);
    reader.resolver_mut().set_max_namespace_bindings(limits.max_namespaces_in_scope);

    // A request's envelope nests about five deep: one allocation for the open elements.
    let mut stack: Vec<Element<'_>> = Vec::with_capacity(8);
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| from_quick_xml(e, position, limits))?;
        match event {
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    if !is_utf8_label(&encoding) {
                        return Err(XmlError::Encoding(format!(
                            "XML declaration names the encoding {}",
                            clip(&encoding)
                        )));
                    }
                }
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::PI(_) => return Err(XmlError::ProcessingInstruction),
            Event::Comment(_) => {}
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                return Err(XmlError::Malformed(format!(
                    "element <{}> after the root element",
                    clip(start_name(&start))
                )));
            }
            Event::Start(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                stack.push(element(&reader, text, &start, limits)?);
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let done = element(&reader, text, &start, limits)?;
                attach(&mut stack, &mut root, done);
            }
            Event::End(_) => {
                // quick-xml has checked that the name matches the open element.
                let done = stack.pop().ok_or_else(|| XmlError::Malformed("unexpected end tag".to_string()))?;
                attach(&mut stack, &mut root, done);
            }
            Event::Text(content) => {
                push_text(&mut stack, borrowed(text, content.xml10_content()))?;
            }
            Event::CData(cdata) => {
                let content = borrowed(text, cdata.xml10_content());
                match stack.last_mut() {
                    Some(open) => append(&mut open.text, content),
                    None => return Err(XmlError::Malformed("CDATA outside the root element".to_string())),
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => c,
                    Ok(Some(_)) | Err(_) => {
                        return Err(XmlError::Malformed(format!("invalid character reference &{};", clip(&reference))))
                    }
                    Ok(None) => match &*reference {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(XmlError::UndeclaredEntity(clip(other))),
                    },
                };
                push_text(&mut stack, Cow::Owned(resolved.to_string()))?;
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(XmlError::Malformed("the document ends inside an element".to_string()));
                }
                return root.ok_or(XmlError::NoRoot);
            }
        }
    }
}

fn start_name<'a>(start: &'a BytesStart<'_>) -> &'a str {
    start.name().into_inner()
}

/// A document in UTF-16 or UTF-32 (by its byte-order mark, or by how `<?` or `<` is encoded,
/// XML 1.0 appendix F) is named as such rather than reported as broken UTF-8.
fn sniff_other_encoding(body: &[u8]) -> Option<&'static str> {
    match body {
        [0x00, 0x00, 0xFE, 0xFF, ..]
        | [0xFF, 0xFE, 0x00, 0x00, ..]
        | [0x00, 0x00, 0x00, 0x3C, ..]
        | [0x3C, 0x00, 0x00, 0x00, ..] => Some("body is UTF-32"),
        [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] | [0x00, 0x3C, 0x00, _, ..] | [0x3C, 0x00, _, 0x00, ..] => {
            Some("body is UTF-16")
        }
        _ => None,
    }
}

fn is_utf8_label(label: &str) -> bool {
    label.eq_ignore_ascii_case("utf-8") || label.eq_ignore_ascii_case("utf8")
}

/// `part` with the lifetime of `input` when it is a slice of it (quick-xml hands out the input's
/// bytes under the event's shorter borrow); a copy otherwise.
fn borrowed<'a>(input: &'a str, part: Cow<'_, str>) -> Cow<'a, str> {
    let start = (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    match input.get(start..start.wrapping_add(part.len())) {
        Some(slice) if slice.as_ptr() == part.as_ptr() => Cow::Borrowed(slice),
        _ => Cow::Owned(part.into_owned()),
    }
}

/// The local part of a name the reader resolved: a slice of the input (copied if, unexpectedly, not).
fn borrowed_name<'a>(input: &'a str, name: &str) -> Result<&'a str, XmlError> {
    match borrowed(input, Cow::Borrowed(name)) {
        Cow::Borrowed(slice) => Ok(slice),
        Cow::Owned(_) => Err(XmlError::Malformed("a name outside the document".to_string())),
    }
}

/// Appends `more` to text that may still be borrowed.
fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else {
        text.to_mut().push_str(&more);
    }
}

fn push_text<'a>(stack: &mut [Element<'a>], text: Cow<'a, str>) -> Result<(), XmlError> {
    if let Some(c) = text.chars().find(|c| !is_xml_char(*c)) {
        return Err(XmlError::Malformed(format!("character U+{:04X} is not allowed in XML", c as u32)));
    }
    match stack.last_mut() {
        Some(open) => {
            append(&mut open.text, text);
            Ok(())
        }
        None if text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".to_string())),
    }
}

fn attach<'a>(stack: &mut [Element<'a>], root: &mut Option<Element<'a>>, done: Element<'a>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None => *root = Some(done),
    }
}

/// Builds an element from its start tag, under the caps, with names resolved in the scope the
/// reader has just opened for it.
fn element<'a>(
    reader: &NsReader<&[u8]>,
    input: &'a str,
    start: &BytesStart<'_>,
    limits: Limits,
) -> Result<Element<'a>, XmlError> {
    let resolver = reader.resolver();
    let (ns, local) = resolver.resolve_element(start.name());
    let ns = namespace(ns, start_name(start))?;
    let local = borrowed_name(input, local.into_inner())?;

    let mut attributes = Vec::new();
    let mut count = 0usize;
    let mut declarations = 0usize;
    for attribute in start.attributes() {
        // Each cap is checked before the next attribute is parsed (and checked for duplicates).
        let attribute = attribute.map_err(|e| XmlError::Malformed(e.to_string()))?;
        if attribute.key.as_namespace_binding().is_some() {
            declarations += 1;
            if declarations > limits.max_namespaces_per_element {
                return Err(XmlError::TooManyNamespaces(limits.max_namespaces_per_element));
            }
            continue;
        }
        count += 1;
        if count > limits.max_attributes {
            return Err(XmlError::TooManyAttributes(limits.max_attributes));
        }
        let raw_name = attribute.key.into_inner();
        let (ans, alocal) = resolver.resolve_attribute(attribute.key);
        let ans = namespace(ans, raw_name)?;
        let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| match e {
            QxError::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
                XmlError::UndeclaredEntity(clip(&name))
            }
            other => XmlError::Malformed(other.to_string()),
        })?;
        if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
            return Err(XmlError::Malformed(format!("character U+{:04X} is not allowed in XML", c as u32)));
        }
        let value = borrowed(input, value);
        attributes.push(Attribute { ns: ans, local: borrowed_name(input, alocal.into_inner())?, value });
    }
    Ok(Element { ns, local, attributes, children: Vec::new(), text: Cow::Borrowed("") })
}

/// A resolved namespace: one the service knows as its constant, any other copied (the resolver
/// owns the text).
fn namespace(resolved: ResolveResult<'_>, name: &str) -> Result<Option<Cow<'static, str>>, XmlError> {
    match resolved {
        ResolveResult::Bound(ns) => {
            let uri = ns.into_inner();
            Ok(Some(match KNOWN_NAMESPACES.iter().find(|known| **known == uri) {
                Some(known) => Cow::Borrowed(*known),
                None => Cow::Owned(uri.to_string()),
            }))
        }
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => {
            Err(XmlError::Malformed(format!("the prefix {} of <{}> is not declared", clip(&prefix), clip(name))))
        }
    }
}

fn from_quick_xml(error: QxError, position: u64, limits: Limits) -> XmlError {
    match error {
        QxError::Namespace(NamespaceError::TooManyBindings(_)) => {
            XmlError::TooManyNamespaces(limits.max_namespaces_in_scope)
        }
        QxError::Namespace(NamespaceError::TooDeeplyNested(_)) => XmlError::TooDeep(limits.max_depth),
        QxError::Namespace(NamespaceError::UnknownPrefix(prefix)) => {
            XmlError::Malformed(format!("the prefix {} is not declared", clip(&prefix)))
        }
        QxError::Encoding(_) => XmlError::NotUtf8,
        other => XmlError::Malformed(format!("{} (near byte {position})", clip(&other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Element<'_>, XmlError> {
        parse(text.as_bytes(), Limits::default())
    }

    #[test]
    fn resolves_names_and_keeps_text() {
        let doc = read(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <s:Envelope xmlns:s="urn:env" xmlns="urn:default">
              <s:Body><op a="1" s:b="2"><x>a &amp; b &#x3C; &#60;<![CDATA[<raw>]]></x></op></s:Body>
            </s:Envelope>"#,
        )
        .unwrap();
        assert!(doc.is("urn:env", "Envelope"));
        let op = &doc.children[0].children[0];
        assert!(op.is("urn:default", "op"));
        assert_eq!(op.attribute(None, "a"), Some("1"));
        assert_eq!(op.attribute(Some("urn:env"), "b"), Some("2"));
        assert_eq!(op.children[0].text, "a & b < <<raw>");
    }

    #[test]
    fn borrows_the_body_where_it_can() {
        let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:other">
            <s:Body><o:op a="plain" b="&amp;">an id</o:op><x>a &amp; b</x></s:Body></s:Envelope>"#;
        let doc = read(body).unwrap();
        assert!(matches!(doc.ns, Some(Cow::Borrowed(crate::envelope::SOAP11_ENV))), "a known namespace: the constant");
        let op = &doc.children[0].children[0];
        assert!(matches!(op.ns, Some(Cow::Owned(ref ns)) if ns == "urn:other"), "any other: a copy");
        assert!(matches!(op.text, Cow::Borrowed("an id")));
        assert!(matches!(op.attributes[0].value, Cow::Borrowed("plain")));
        assert!(matches!(op.attributes[1].value, Cow::Owned(ref v) if v == "&"));
        assert_eq!(doc.children[0].children[1].text, "a & b", "text with a reference is put together");
        assert!(body.as_bytes().as_ptr_range().contains(&op.local.as_ptr()), "names are slices of the body");
    }

    #[test]
    fn refuses_what_a_soap_message_never_needs() {
        let cases: &[(&str, XmlError)] = &[
            (r#"<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#, XmlError::DocType),
            ("<x>&lol;</x>", XmlError::UndeclaredEntity("lol".into())),
            (r#"<x a="&lol;"/>"#, XmlError::UndeclaredEntity("lol".into())),
            ("<?xml-stylesheet href='x'?><x/>", XmlError::ProcessingInstruction),
            (
                r#"<?xml version="1.0" encoding="ISO-8859-1"?><x/>"#,
                XmlError::Encoding("XML declaration names the encoding ISO-8859-1".into()),
            ),
            ("", XmlError::NoRoot),
        ];
        for (text, want) in cases {
            assert_eq!(&read(text).unwrap_err(), want, "{text}");
        }
        assert_eq!(parse(b"<x>\xff</x>", Limits::default()).unwrap_err(), XmlError::NotUtf8);
        let utf16: Vec<u8> = "<x/>".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(parse(&utf16, Limits::default()).unwrap_err(), XmlError::Encoding("body is UTF-16".into()));
        let bom: Vec<u8> =
            [0xFE, 0xFF].into_iter().chain("<x/>".encode_utf16().flat_map(|u| u.to_be_bytes())).collect();
        assert_eq!(parse(&bom, Limits::default()).unwrap_err(), XmlError::Encoding("body is UTF-16".into()));
        for bad in ["<x>", "<x></y>", "<x/><y/>", "<p:x/>", "<x>&#0;</x>", "<x>\u{1}</x>", "text", "<x a='1' a='2'/>"] {
            assert!(matches!(read(bad), Err(XmlError::Malformed(_))), "{bad}: {:?}", read(bad));
        }
    }

    #[test]
    fn enforces_the_caps() {
        let limits = Limits::default();
        let deep = "<a>".repeat(65) + &"</a>".repeat(65);
        assert_eq!(read(&deep).unwrap_err(), XmlError::TooDeep(64));
        let ok = "<a>".repeat(64) + &"</a>".repeat(64);
        assert!(read(&ok).is_ok());

        let attrs: String = (0..65).map(|i| format!(" a{i}=\"x\"")).collect();
        assert_eq!(read(&format!("<x{attrs}/>")).unwrap_err(), XmlError::TooManyAttributes(64));

        let decls: String = (0..65).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
        assert_eq!(read(&format!("<x{decls}/>")).unwrap_err(), XmlError::TooManyNamespaces(64));
        // Spread over nested elements, the scope cap applies.
        let nested: String = (0..5)
            .map(|d| format!("<e{}>", (0..60).map(|i| format!(" xmlns:p{d}x{i}=\"urn:{i}\"")).collect::<String>()))
            .collect();
        assert_eq!(read(&nested).unwrap_err(), XmlError::TooManyNamespaces(limits.max_namespaces_in_scope));

        let many = format!("<x>{}</x>", "<y/>".repeat(10_000));
        assert_eq!(read(&many).unwrap_err(), XmlError::TooManyElements(10_000));
    }
}
