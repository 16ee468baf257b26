//! SOAP faults, per version, and the one place where the core's `HistoryError` becomes a SOAP
//! answer ([`Failed`]: a fault, or the seed's not-found element as a reply) and is logged.
//!
//! | fault | SOAP 1.1 (status, faultcode) | SOAP 1.2 (status, Code) |
//! | --- | --- | --- |
//! | bad credentials | 500, `0x7000000` (vendor setting) or `SOAP-ENV:Client` + detail | 400, `Sender` + Detail |
//! | malformed / invalid request | 500, `SOAP-ENV:Client` | 400, `Sender` |
//! | not found, with `not_found_as_fault` | 500, `SOAP-ENV:Client` + the seed's element in detail | 400, `Sender` + Detail |
//! | body over the cap | 413, `SOAP-ENV:Client` | 413, `Sender` |
//! | envelope of another version | 500, `SOAP-ENV:VersionMismatch` | 500, `VersionMismatch` + `Upgrade` |
//! | header block not understood | 500, `SOAP-ENV:MustUnderstand` | 500, `MustUnderstand` + `NotUnderstood` |
//! | store unavailable | 503, `SOAP-ENV:Server` `exception` | 503, `Receiver` `exception` |
//! | any other failure | 500, `SOAP-ENV:Server` `exception` | 500, `Receiver` `exception` |

use crate::envelope::{SoapVersion, SOAP11_ENV, SOAP12_ENV};
use crate::escape::{escape_attribute, escape_text};
use crate::reply::{self, Frame};
use crate::request::TNS;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use ixgw_core::{AuthFailure, HistoryError};
use ixgw_web::vendor::{UNAUTHORIZED_CODE, UNAUTHORIZED_MESSAGE};
/// What an internal failure says (the seed's "exception"); the cause goes to the log only.
const EXCEPTION: &str = "exception";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Missing or wrong credentials (the reason is for the log and the `Unauthenticated-Reason`
    /// header, never for the fault text, which is the seed's).
    Credentials(AuthFailure),
    /// A malformed or invalid request, with what is wrong.
    Client(String),
    /// A body over the size cap.
    TooLarge(usize),
    /// The envelope is not of the version this request speaks.
    VersionMismatch(String),
    /// Nothing found, as a fault (the `not_found_as_fault` setting): the sentence, and the seed's
    /// not-found element in the detail.
    NotFound(String),
    /// Header blocks addressed to this node that must be understood and are not.
    MustUnderstand(Vec<(Option<String>, String)>),
    /// The store cannot be reached; try again later.
    Unavailable,
    /// Anything else.
    Internal,
}

/// How credential faults are coded in SOAP 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsCode {
    /// `<faultcode>0x7000000</faultcode>`, exactly as the seed (not a valid `xs:QName`).
    Vendor,
    /// `<faultcode>SOAP-ENV:Client</faultcode>` with the vendor code in `detail`.
    Standard,
}

impl Fault {
    pub fn status(&self, version: SoapVersion) -> StatusCode {
        match (self, version) {
            (Self::TooLarge(_), _) => StatusCode::PAYLOAD_TOO_LARGE,
            (Self::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (Self::Credentials(_) | Self::Client(_) | Self::NotFound(_), SoapVersion::V12) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The reason of a credentials fault, for the request log (the fault itself never says it).
    pub fn refusal(&self) -> Option<&'static str> {
        match self {
            Self::Credentials(why) => Some(why.reason()),
            _ => None,
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Credentials(_) => "credentials",
            Self::Client(_) => "client",
            Self::NotFound(_) => "not_found",
            Self::TooLarge(_) => "too_large",
            Self::VersionMismatch(_) => "version_mismatch",
            Self::MustUnderstand(_) => "must_understand",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Credentials(_) => UNAUTHORIZED_MESSAGE.to_string(),
            Self::Client(why) | Self::NotFound(why) => why.clone(),
            Self::TooLarge(cap) => format!("the request body is larger than {cap} bytes"),
            Self::VersionMismatch(why) => why.clone(),
            Self::MustUnderstand(blocks) => {
                let names: Vec<String> = blocks
                    .iter()
                    .map(|(ns, local)| match ns {
                        Some(ns) => format!("{{{ns}}}{local}"),
                        None => local.clone(),
                    })
                    .collect();
                format!("header block not understood: {}", names.join(", "))
            }
            Self::Unavailable | Self::Internal => EXCEPTION.to_string(),
        }
    }

    /// The whole fault envelope.
    pub fn render(&self, version: SoapVersion, credentials: CredentialsCode) -> String {
        let text = self.text();
        let mut body = String::with_capacity(256 + text.len());
        let detail = self.detail(version, credentials);
        match version {
            SoapVersion::V11 => {
                let code = match self {
                    Self::Credentials(_) if credentials == CredentialsCode::Vendor => UNAUTHORIZED_CODE,
                    Self::Credentials(_) | Self::Client(_) | Self::NotFound(_) | Self::TooLarge(_) => "SOAP-ENV:Client",
                    Self::VersionMismatch(_) => "SOAP-ENV:VersionMismatch",
                    Self::MustUnderstand(_) => "SOAP-ENV:MustUnderstand",
                    Self::Unavailable | Self::Internal => "SOAP-ENV:Server",
                };
                body.push_str("<SOAP-ENV:Fault><faultcode>");
                body.push_str(code);
                body.push_str("</faultcode><faultstring>");
                escape_text(&mut body, &text);
                body.push_str("</faultstring>");
                if let Some(detail) = &detail {
                    body.push_str("<detail>");
                    body.push_str(detail);
                    body.push_str("</detail>");
                }
                body.push_str("</SOAP-ENV:Fault>");
            }
            SoapVersion::V12 => {
                let code = match self {
                    Self::Credentials(_) | Self::Client(_) | Self::NotFound(_) | Self::TooLarge(_) => "SOAP-ENV:Sender",
                    Self::VersionMismatch(_) => "SOAP-ENV:VersionMismatch",
                    Self::MustUnderstand(_) => "SOAP-ENV:MustUnderstand",
                    Self::Unavailable | Self::Internal => "SOAP-ENV:Receiver",
                };
                body.push_str("<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>");
                body.push_str(code);
                body.push_str("</SOAP-ENV:Value></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en\">");
                escape_text(&mut body, &text);
                body.push_str("</SOAP-ENV:Text></SOAP-ENV:Reason>");
                if let Some(detail) = &detail {
                    body.push_str("<SOAP-ENV:Detail>");
                    body.push_str(detail);
                    body.push_str("</SOAP-ENV:Detail>");
                }
                body.push_str("</SOAP-ENV:Fault>");
            }
        }
        reply::envelope(version, self.header_blocks(version).as_deref(), &body)
    }

    /// The detail entries: the vendor code of a credentials fault (always in SOAP 1.2, in SOAP 1.1
    /// when the faultcode is the standard one), the seed's not-found element of a not-found fault.
    fn detail(&self, version: SoapVersion, credentials: CredentialsCode) -> Option<String> {
        match self {
            Self::Credentials(_) if version == SoapVersion::V12 || credentials == CredentialsCode::Standard => {
                let mut out = String::new();
                vendor_code_element(&mut out);
                Some(out)
            }
            Self::NotFound(text) => Some(reply::unique_id(Frame::Bare, text)),
            _ => None,
        }
    }

    /// SOAP 1.2's fault header blocks: `Upgrade` for a version mismatch (the envelopes this node
    /// speaks, preferred first), `NotUnderstood` per block for a MustUnderstand fault.
    fn header_blocks(&self, version: SoapVersion) -> Option<String> {
        if version != SoapVersion::V12 {
            return None;
        }
        match self {
            Self::VersionMismatch(_) => Some(format!(
                "<SOAP-ENV:Upgrade><SOAP-ENV:SupportedEnvelope qname=\"e1:Envelope\" xmlns:e1=\"{SOAP12_ENV}\"/>\
                 <SOAP-ENV:SupportedEnvelope qname=\"e2:Envelope\" xmlns:e2=\"{SOAP11_ENV}\"/></SOAP-ENV:Upgrade>"
            )),
            Self::MustUnderstand(blocks) => {
                let mut out = String::new();
                for (ns, local) in blocks {
                    match ns {
                        Some(ns) => {
                            out.push_str("<SOAP-ENV:NotUnderstood qname=\"h:");
                            escape_attribute(&mut out, local);
                            out.push_str("\" xmlns:h=\"");
                            escape_attribute(&mut out, ns);
                            out.push_str("\"/>");
                        }
                        None => {
                            out.push_str("<SOAP-ENV:NotUnderstood qname=\"");
                            escape_attribute(&mut out, local);
                            out.push_str("\"/>");
                        }
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }
}

/// The vendor code as a detail entry: `<ns2:code xmlns:ns2="…interactiondata/soap">0x7000000</ns2:code>`.
fn vendor_code_element(out: &mut String) {
    out.push_str("<ns2:code xmlns:ns2=\"");
    out.push_str(TNS);
    out.push_str("\">");
    out.push_str(UNAUTHORIZED_CODE);
    out.push_str("</ns2:code>");
}

/// How "nothing found" is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundAnswer {
    /// The seed's `GetInteractionUniqueIdResponse` element, with HTTP 200.
    Element,
    /// A Client / Sender fault with that element in its detail.
    Fault,
}

/// What a failed query answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// Nothing found, answered as the seed does: its not-found element as a *reply* (HTTP 200),
    /// with this sentence.
    NotFoundReply(String),
    /// A fault.
    Fault(Fault),
}

impl Failed {
    /// The one mapping from the core's errors to this face, and the one place its failures are
    /// logged (with the request's path): not-found cases answer as `not_found` says, the rest are
    /// faults.
    pub fn of(req: &HttpRequest, error: &HistoryError, not_found: NotFoundAnswer) -> Self {
        ixgw_web::log_failure(req, error);
        ixgw_web::note_miss(req, error);
        match error {
            HistoryError::Unauthenticated(reason) => Self::Fault(Fault::Credentials(*reason)),
            HistoryError::InvalidParameter(name) => {
                Self::Fault(Fault::Client(format!("missing or invalid parameter {name}")))
            }
            HistoryError::UniqueIdNotFound(_)
            | HistoryError::AttributeNotFound(_)
            | HistoryError::VariableSetNotFound(_) => match not_found {
                NotFoundAnswer::Element => Self::NotFoundReply(error.to_string()),
                NotFoundAnswer::Fault => Self::Fault(Fault::NotFound(error.to_string())),
            },
            HistoryError::StoreUnavailable(_) => Self::Fault(Fault::Unavailable),
            // Photos, Context Services and tenant selection are never asked by this face.
            HistoryError::PhotoNotFound
            | HistoryError::InteractionNotFound(_)
            | HistoryError::ContentNotFound { .. }
            | HistoryError::UnknownTenant(_)
            | HistoryError::NoTenant
            | HistoryError::Internal(_) => Self::Fault(Fault::Internal),
        }
    }

    /// The body of the reply, or the fault.
    pub fn into_answer(self, version: SoapVersion) -> Result<String, Fault> {
        match self {
            Self::NotFoundReply(text) => Ok(reply::unique_id(Frame::Envelope(version), &text)),
            Self::Fault(fault) => Err(fault),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use ixgw_core::StoreError;

    #[test]
    fn the_seed_credentials_fault_byte_for_byte() {
        let fault = Fault::Credentials(AuthFailure::UnknownKey);
        assert_eq!(fault.status(SoapVersion::V11), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            fault.render(SoapVersion::V11, CredentialsCode::Vendor),
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Header/><SOAP-ENV:Body>\
             <SOAP-ENV:Fault><faultcode>0x7000000</faultcode>\
             <faultstring>Request is unauthorized, missing or wrong credentials</faultstring></SOAP-ENV:Fault>\
             </SOAP-ENV:Body></SOAP-ENV:Envelope>"
        );
        let clean = fault.render(SoapVersion::V11, CredentialsCode::Standard);
        assert!(clean.contains("<faultcode>SOAP-ENV:Client</faultcode>"), "{clean}");
        assert!(clean.contains("<detail><ns2:code xmlns:ns2=\"http://com/jacada/interact/interactiondata/soap\">0x7000000</ns2:code></detail>"));
    }

    #[test]
    fn soap12_faults() {
        let fault = Fault::Credentials(AuthFailure::MissingKey);
        assert_eq!(fault.status(SoapVersion::V12), StatusCode::BAD_REQUEST);
        let xml = fault.render(SoapVersion::V12, CredentialsCode::Vendor);
        assert!(xml.starts_with(
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\"><SOAP-ENV:Header/>"
        ));
        assert!(xml.contains(
            "<SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value></SOAP-ENV:Code><SOAP-ENV:Reason>\
             <SOAP-ENV:Text xml:lang=\"en\">Request is unauthorized, missing or wrong credentials</SOAP-ENV:Text></SOAP-ENV:Reason>\
             <SOAP-ENV:Detail><ns2:code xmlns:ns2=\"http://com/jacada/interact/interactiondata/soap\">0x7000000</ns2:code></SOAP-ENV:Detail>"
        ));
        let mu = Fault::MustUnderstand(vec![(Some("urn:h".into()), "A".into())])
            .render(SoapVersion::V12, CredentialsCode::Vendor);
        assert!(
            mu.contains("<SOAP-ENV:Header><SOAP-ENV:NotUnderstood qname=\"h:A\" xmlns:h=\"urn:h\"/></SOAP-ENV:Header>"),
            "{mu}"
        );
        let vm = Fault::VersionMismatch("x".into()).render(SoapVersion::V12, CredentialsCode::Vendor);
        assert!(
            vm.contains("<SOAP-ENV:Upgrade>")
                && vm.contains("<SOAP-ENV:Value>SOAP-ENV:VersionMismatch</SOAP-ENV:Value>")
        );
        assert_eq!(Fault::Internal.status(SoapVersion::V12), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(Fault::Unavailable.status(SoapVersion::V11), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(Fault::TooLarge(1).status(SoapVersion::V12), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn history_errors_map_in_one_place() {
        let req = TestRequest::default().to_http_request();
        let failed = |e: &HistoryError| Failed::of(&req, e, NotFoundAnswer::Element);
        let missing = failed(&HistoryError::UniqueIdNotFound("0401".into()));
        assert_eq!(missing, Failed::NotFoundReply("history for UUID 0401 was not found".into()));
        let not_found = missing.into_answer(SoapVersion::V11).unwrap();
        assert!(not_found.contains("<ns2:uniqueId>history for UUID 0401 was not found</ns2:uniqueId>"));
        let not_found = failed(&HistoryError::AttributeNotFound("h<1>".into())).into_answer(SoapVersion::V11).unwrap();
        assert!(not_found.contains("history for attribute h&lt;1&gt; was not found"));
        let down = HistoryError::StoreUnavailable(StoreError::Unavailable("down".into()));
        assert_eq!(failed(&down), Failed::Fault(Fault::Unavailable));
        let broken = HistoryError::Internal(StoreError::Failed("SELECT secret".into()));
        let xml = failed(&broken)
            .into_answer(SoapVersion::V11)
            .unwrap_err()
            .render(SoapVersion::V11, CredentialsCode::Vendor);
        assert!(
            xml.contains("<faultcode>SOAP-ENV:Server</faultcode><faultstring>exception</faultstring>")
                && !xml.contains("SELECT")
        );
    }

    #[test]
    fn not_found_as_a_fault_carries_the_seed_element_in_its_detail() {
        let missing = HistoryError::VariableSetNotFound("x".into());
        let req = TestRequest::default().to_http_request();
        let Failed::Fault(fault) = Failed::of(&req, &missing, NotFoundAnswer::Fault) else { panic!("a reply") };
        assert_eq!(fault.status(SoapVersion::V11), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(fault.status(SoapVersion::V12), StatusCode::BAD_REQUEST);
        let xml = fault.render(SoapVersion::V11, CredentialsCode::Vendor);
        assert!(
            xml.contains(
                "<faultcode>SOAP-ENV:Client</faultcode><faultstring>variable set x was not found</faultstring><detail>\
                 <ns2:GetInteractionUniqueIdResponse xmlns:ns2=\"http://com/jacada/interact/agent/soap\">\
                 <ns2:uniqueId>variable set x was not found</ns2:uniqueId></ns2:GetInteractionUniqueIdResponse></detail>"
            ),
            "{xml}"
        );
    }
}
