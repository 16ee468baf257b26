//! SOAP 1.1 / 1.2 envelopes: the version, the header blocks and the one payload element of the
//! Body, read from the tree the hardened reader produced.

use crate::reader::Element;
use std::fmt;

pub const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
const SOAP11_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
const SOAP12_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const SOAP12_ULTIMATE: &str = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";
pub const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const PASSWORD_TEXT: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn envelope_ns(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_ENV,
            Self::V12 => SOAP12_ENV,
        }
    }

    pub fn from_envelope_ns(ns: &str) -> Option<Self> {
        match ns {
            SOAP11_ENV => Some(Self::V11),
            SOAP12_ENV => Some(Self::V12),
            _ => None,
        }
    }

    /// The reply's `Content-Type` (Spring-WS spelling).
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V11 => "text/xml;charset=utf-8",
            Self::V12 => "application/soap+xml;charset=utf-8",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::V11 => "1.1",
            Self::V12 => "1.2",
        }
    }
}

impl fmt::Display for SoapVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOAP {}", self.label())
    }
}

/// A WS-Security UsernameToken with a plain-text password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken {
    pub username: String,
    pub password: String,
}

/// An envelope that passed the structural checks.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub version: SoapVersion,
    /// Header blocks addressed to this node with `mustUnderstand` set that it does not understand,
    /// as (namespace, local name).
    pub not_understood: Vec<(Option<String>, String)>,
    pub username_token: Option<UsernameToken>,
    pub payload: Element<'a>,
}

/// What is wrong with an envelope, by the fault it calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The root is an `Envelope` of no SOAP version this node speaks.
    VersionMismatch(String),
    /// Anything else: a Client / Sender fault with this text.
    Invalid(String),
}

/// Checks the envelope's structure and finds its parts.
pub fn read_envelope(root: Element<'_>) -> Result<Envelope<'_>, EnvelopeError> {
    if root.local != "Envelope" {
        return Err(EnvelopeError::Invalid(format!(
            "the root element is {}, not a SOAP Envelope",
            crate::reader::clip(&root.expanded_name())
        )));
    }
    let version = root
        .ns
        .as_deref()
        .and_then(SoapVersion::from_envelope_ns)
        .ok_or_else(|| EnvelopeError::VersionMismatch(root.ns.as_deref().unwrap_or_default().to_string()))?;
    let env = version.envelope_ns();
    if !root.has_blank_text() {
        return Err(EnvelopeError::Invalid("the Envelope holds text".to_string()));
    }

    let mut header: Option<Element<'_>> = None;
    let mut body: Option<Element<'_>> = None;
    for child in root.children {
        let in_env = child.ns.as_deref() == Some(env);
        match child.local {
            "Header" if in_env && header.is_none() && body.is_none() => header = Some(child),
            "Header" if in_env => {
                return Err(EnvelopeError::Invalid("the Header must come once, before the Body".to_string()))
            }
            "Body" if in_env && body.is_none() => body = Some(child),
            "Body" if in_env => return Err(EnvelopeError::Invalid("the Envelope has more than one Body".to_string())),
            _ => {
                return Err(EnvelopeError::Invalid(format!(
                    "unexpected element {} in the Envelope",
                    crate::reader::clip(&child.expanded_name())
                )))
            }
        }
    }
    let body = body.ok_or_else(|| EnvelopeError::Invalid("the Envelope has no Body".to_string()))?;
    if !body.has_blank_text() {
        return Err(EnvelopeError::Invalid("the Body holds text".to_string()));
    }
    let mut children = body.children.into_iter();
    let payload = children.next().ok_or_else(|| EnvelopeError::Invalid("the Body is empty".to_string()))?;
    if children.next().is_some() {
        return Err(EnvelopeError::Invalid("the Body must hold exactly one element".to_string()));
    }

    let mut not_understood = Vec::new();
    let mut username_token = None;
    for block in header.map(|h| h.children).unwrap_or_default() {
        if block.ns.as_deref() == Some(WSSE) && block.local == "Security" {
            username_token = username_token.or(read_username_token(&block)?);
        } else if must_understand(&block, version) && addressed_to_us(&block, version) {
            not_understood.push((block.ns.as_deref().map(str::to_string), block.local.to_string()));
        }
    }
    Ok(Envelope { version, not_understood, username_token, payload })
}

fn must_understand(block: &Element<'_>, version: SoapVersion) -> bool {
    matches!(block.attribute(Some(version.envelope_ns()), "mustUnderstand").map(str::trim), Some("1" | "true"))
}

fn addressed_to_us(block: &Element<'_>, version: SoapVersion) -> bool {
    match version {
        SoapVersion::V11 => match block.attribute(Some(SOAP11_ENV), "actor").map(str::trim) {
            None | Some("") | Some(SOAP11_NEXT) => true,
            Some(_) => false,
        },
        SoapVersion::V12 => match block.attribute(Some(SOAP12_ENV), "role").map(str::trim) {
            None | Some("") | Some(SOAP12_NEXT) | Some(SOAP12_ULTIMATE) => true,
            Some(_) => false,
        },
    }
}

/// The first UsernameToken of a `wsse:Security` block. A token this node cannot check (a password
/// digest: keys are stored hashed) is refused rather than ignored.
fn read_username_token(security: &Element<'_>) -> Result<Option<UsernameToken>, EnvelopeError> {
    let Some(token) = security.children.iter().find(|c| c.is(WSSE, "UsernameToken")) else {
        return Ok(None);
    };
    let username = token.children.iter().find(|c| c.is(WSSE, "Username")).map(|u| u.text.trim().to_string());
    let password = token.children.iter().find(|c| c.is(WSSE, "Password"));
    if let Some(kind) = password.and_then(|p| p.attribute(None, "Type")).map(str::trim) {
        if kind != PASSWORD_TEXT {
            return Err(EnvelopeError::Invalid(
                "only the PasswordText type of WS-Security UsernameToken is supported".to_string(),
            ));
        }
    }
    Ok(match (username, password) {
        (Some(username), Some(password)) => {
            Some(UsernameToken { username, password: password.text.trim().to_string() })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{parse, Limits};

    fn envelope(text: &str) -> Result<Envelope<'_>, EnvelopeError> {
        read_envelope(parse(text.as_bytes(), Limits::default()).unwrap())
    }

    #[test]
    fn finds_version_and_payload_under_any_prefix() {
        for (prefix, ns, version) in [("soapenv", SOAP11_ENV, SoapVersion::V11), ("env", SOAP12_ENV, SoapVersion::V12)]
        {
            let text = format!(
                "<{prefix}:Envelope xmlns:{prefix}=\"{ns}\"><{prefix}:Header/>\n<{prefix}:Body>\n <op xmlns=\"urn:x\"/>\n</{prefix}:Body></{prefix}:Envelope>"
            );
            let e = envelope(&text).unwrap();
            assert_eq!(e.version, version);
            assert!(e.payload.is("urn:x", "op"));
            assert!(e.not_understood.is_empty());
        }
    }

    #[test]
    fn structural_faults() {
        let s = |body: &str| format!("<s:Envelope xmlns:s=\"{SOAP11_ENV}\">{body}</s:Envelope>");
        let invalid = |text: &str| match envelope(text) {
            Err(EnvelopeError::Invalid(why)) => why,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(invalid(&s("<s:Header/>")), "the Envelope has no Body");
        assert_eq!(invalid(&s("<s:Body><a/></s:Body><s:Body><a/></s:Body>")), "the Envelope has more than one Body");
        assert_eq!(invalid(&s("<s:Body/>")), "the Body is empty");
        assert_eq!(invalid(&s("<s:Body><a/><b/></s:Body>")), "the Body must hold exactly one element");
        assert_eq!(invalid(&s("<s:Body><a/></s:Body><s:Header/>")), "the Header must come once, before the Body");
        assert_eq!(
            envelope("<Envelope><Body><a/></Body></Envelope>").unwrap_err(),
            EnvelopeError::VersionMismatch(String::new())
        );
        assert!(invalid("<x/>").contains("not a SOAP Envelope"));
        assert_eq!(
            envelope("<s:Envelope xmlns:s=\"urn:other\"><s:Body><a/></s:Body></s:Envelope>").unwrap_err(),
            EnvelopeError::VersionMismatch("urn:other".to_string())
        );
    }

    #[test]
    fn must_understand_honours_actor_and_role() {
        let text = format!(
            "<s:Envelope xmlns:s=\"{SOAP12_ENV}\"><s:Header>\
               <h:A xmlns:h=\"urn:h\" s:mustUnderstand=\"true\"/>\
               <h:B xmlns:h=\"urn:h\" s:mustUnderstand=\"true\" s:role=\"urn:someone-else\"/>\
               <h:C xmlns:h=\"urn:h\" s:mustUnderstand=\"false\"/>\
               <h:D xmlns:h=\"urn:h\" mustUnderstand=\"1\"/>\
             </s:Header><s:Body><a/></s:Body></s:Envelope>"
        );
        let e = envelope(&text).unwrap();
        assert_eq!(e.not_understood, vec![(Some("urn:h".to_string()), "A".to_string())]);
    }

    #[test]
    fn reads_a_username_token_and_understands_its_block() {
        let text = format!(
            "<s:Envelope xmlns:s=\"{SOAP11_ENV}\"><s:Header>\
               <wsse:Security xmlns:wsse=\"{WSSE}\" s:mustUnderstand=\"1\"><wsse:UsernameToken>\
                 <wsse:Username>12345678</wsse:Username>\
                 <wsse:Password Type=\"{PASSWORD_TEXT}\">demo-application-key</wsse:Password>\
               </wsse:UsernameToken></wsse:Security>\
             </s:Header><s:Body><a/></s:Body></s:Envelope>"
        );
        let e = envelope(&text).unwrap();
        assert!(e.not_understood.is_empty());
        assert_eq!(
            e.username_token,
            Some(UsernameToken { username: "12345678".into(), password: "demo-application-key".into() })
        );
        let digest = text.replace("#PasswordText", "#PasswordDigest");
        assert!(matches!(envelope(&digest), Err(EnvelopeError::Invalid(_))));
    }
}
