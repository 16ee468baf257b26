//! The operations of `interactiondata.wsdl` and their request payloads.
//!
//! The payload element arrives as a tree from the hardened reader, names already resolved. Its
//! members are read off that tree by local name: children in the service's namespace, or
//! unqualified (SOAP::Lite's rpc-style stubs, default-namespace quirks), in any order; children of
//! other namespaces and unknown children are ignored, rpc/encoded leftovers (`xsi:type`,
//! `encodingStyle`) do not matter, an `xsi:nil="true"` member is absent, and a value is taken with
//! its surrounding XML whitespace trimmed. No prefix a client chose and no namespace declaration
//! out of scope can change what is read (the failure modes of lessons.md #4).

use crate::reader::Element;
use ixgw_core::model::record::CallerAttributeKind;
use ixgw_core::{FlowTarget, SearchWindow};

pub const TNS: &str = "http://com/jacada/interact/interactiondata/soap";
pub const AGENT_NS: &str = "http://com/jacada/interact/agent/soap";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The seven operations of the port type `InteractionData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    FullFlowByUuid,
    FullFlowByCallerAttribute,
    SummaryByUuid,
    SummaryByCallerAttribute,
    VariableSetByUuid,
    VariableSetByCallerAttribute,
    UniqueId,
}

impl Operation {
    pub const ALL: [Self; 7] = [
        Self::FullFlowByUuid,
        Self::FullFlowByCallerAttribute,
        Self::SummaryByUuid,
        Self::SummaryByCallerAttribute,
        Self::VariableSetByUuid,
        Self::VariableSetByCallerAttribute,
        Self::UniqueId,
    ];

    /// The WSDL operation name.
    pub fn name(self) -> &'static str {
        match self {
            Self::FullFlowByUuid => "GetInteractionFullFlowByUUID",
            Self::FullFlowByCallerAttribute => "GetInteractionFullFlowByCallerAttribute",
            Self::SummaryByUuid => "GetInteractionSummaryByUUID",
            Self::SummaryByCallerAttribute => "GetInteractionSummaryByCallerAttribute",
            Self::VariableSetByUuid => "GetVariableSetByUUID",
            Self::VariableSetByCallerAttribute => "GetVariableSetByCallerAttribute",
            Self::UniqueId => "GetInteractionUniqueId",
        }
    }

    /// The operation whose request element this is (`<Operation>Request`).
    pub fn from_request_element(local: &str) -> Option<Self> {
        let name = local.strip_suffix("Request")?;
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The operation a name means: the operation's own name or its request element's.
    pub fn from_action_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name).or_else(|| Self::from_request_element(name))
    }

    /// The operation a Body's payload element calls: the request element (`<Operation>Request`),
    /// or the rpc-style wrapper named after the operation itself that SOAP::Lite's WSDL stubs send
    /// (with the request's members as children); in the service's namespace, or unqualified.
    pub fn of_payload(payload: &Element<'_>) -> Option<Self> {
        match payload.ns.as_deref() {
            None | Some(TNS) => Self::from_action_name(payload.local),
            Some(_) => None,
        }
    }
}

/// Who the lookup is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    UniqueId(String),
    CallerAttribute(String),
}

impl Target {
    pub fn as_flow_target(&self) -> FlowTarget<'_> {
        match self {
            Self::UniqueId(id) => FlowTarget::UniqueId(id),
            Self::CallerAttribute(value) => FlowTarget::CallerAttribute(value),
        }
    }
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    FullFlow { target: Target, window: SearchWindow },
    Summary { target: Target, window: SearchWindow },
    VariableSet { target: Target, set: String, window: SearchWindow },
    UniqueId { kind: CallerAttributeKind, value: String, window: SearchWindow },
}

/// Why a payload could not become a request (a Client / Sender fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// The vendor's wording: `missing or invalid parameter <name>`.
    Parameter(&'static str),
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parameter(name) => write!(f, "missing or invalid parameter {name}"),
        }
    }
}

/// Decodes the payload of `op` into a request.
pub fn decode(op: Operation, payload: &Element<'_>) -> Result<Request, PayloadError> {
    let members = Members(payload);
    let window = || window(members.get("widerSearch"));
    Ok(match op {
        Operation::FullFlowByUuid | Operation::SummaryByUuid => {
            lookup(op, Target::UniqueId(members.required("uniqueId")?), window()?)
        }
        Operation::FullFlowByCallerAttribute | Operation::SummaryByCallerAttribute => {
            lookup(op, Target::CallerAttribute(members.required("callerAttribute")?), window()?)
        }
        Operation::VariableSetByUuid => Request::VariableSet {
            target: Target::UniqueId(members.required("uniqueId")?),
            set: members.required("variableSetId")?,
            window: window()?,
        },
        Operation::VariableSetByCallerAttribute => Request::VariableSet {
            target: Target::CallerAttribute(members.required("callerAttribute")?),
            set: members.required("variableSetId")?,
            window: window()?,
        },
        Operation::UniqueId => {
            let kind = members.required("attributeType")?;
            Request::UniqueId {
                kind: CallerAttributeKind::from_unique_id_segment(&kind)
                    .ok_or(PayloadError::Parameter("attributeType"))?,
                value: members.required("attributeValue")?,
                window: window()?,
            }
        }
    })
}

/// The members of a request payload (see the top of this module).
struct Members<'a>(&'a Element<'a>);

impl Members<'_> {
    /// The member `name`'s trimmed text; the last one if it is given twice.
    fn get(&self, name: &str) -> Option<&str> {
        let member = self.0.children.iter().rev().find(|child| {
            matches!(child.ns.as_deref(), None | Some(TNS))
                && child.local == name
                && !matches!(child.attribute(Some(XSI), "nil").map(str::trim), Some("true" | "1"))
        })?;
        Some(member.text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')))
    }

    /// A required member: present and not empty.
    fn required(&self, name: &'static str) -> Result<String, PayloadError> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_string).ok_or(PayloadError::Parameter(name))
    }
}

fn lookup(op: Operation, target: Target, window: SearchWindow) -> Request {
    match op {
        Operation::SummaryByUuid | Operation::SummaryByCallerAttribute => Request::Summary { target, window },
        _ => Request::FullFlow { target, window },
    }
}

/// `widerSearch` as an `xs:boolean` (`true`, `false`, `1`, `0`; any case, as the REST face).
fn window(value: Option<&str>) -> Result<SearchWindow, PayloadError> {
    match value {
        None => Ok(SearchWindow::Recent),
        Some("1") => Ok(SearchWindow::Wider),
        Some("0") => Ok(SearchWindow::Recent),
        Some(v) => SearchWindow::from_param(Some(v)).ok_or(PayloadError::Parameter("widerSearch")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{parse, Limits};

    fn payload(text: &str) -> Element<'_> {
        parse(text.as_bytes(), Limits::default()).unwrap()
    }

    fn decode_text(text: &str) -> Result<Request, PayloadError> {
        let p = payload(text);
        decode(Operation::of_payload(&p).expect("known operation"), &p)
    }

    #[test]
    fn operations_by_element_and_action() {
        assert_eq!(Operation::from_request_element("GetInteractionUniqueIdRequest"), Some(Operation::UniqueId));
        assert_eq!(Operation::from_request_element("GetInteractionUniqueId"), None);
        assert_eq!(Operation::from_action_name("GetVariableSetByUUID"), Some(Operation::VariableSetByUuid));
        assert_eq!(Operation::from_action_name("GetVariableSetByUUIDRequest"), Some(Operation::VariableSetByUuid));
        assert_eq!(Operation::from_action_name("Other"), None);
        let foreign = payload("<GetInteractionUniqueIdRequest xmlns='urn:other'/>");
        assert_eq!(Operation::of_payload(&foreign), None);
        let rpc_style =
            payload("<t:GetInteractionUniqueId xmlns:t='http://com/jacada/interact/interactiondata/soap'/>");
        assert_eq!(Operation::of_payload(&rpc_style), Some(Operation::UniqueId));
    }

    #[test]
    fn the_seed_requests() {
        let by_uuid = r#"<soap:GetInteractionFullFlowByUUIDRequest xmlns:soap="http://com/jacada/interact/interactiondata/soap">
 <soap:uniqueId>4c221517-5949-4752-84b4-4784adb70dba</soap:uniqueId>
 </soap:GetInteractionFullFlowByUUIDRequest>"#;
        assert_eq!(
            decode_text(by_uuid).unwrap(),
            Request::FullFlow {
                target: Target::UniqueId("4c221517-5949-4752-84b4-4784adb70dba".into()),
                window: SearchWindow::Recent
            }
        );
        let by_attr = r#"<soap:GetInteractionFullFlowByCallerAttributeRequest xmlns:soap="http://com/jacada/interact/interactiondata/soap">
 <soap:callerAttribute>history1</soap:callerAttribute>
 <soap:widerSearch>true</soap:widerSearch>
 </soap:GetInteractionFullFlowByCallerAttributeRequest>"#;
        assert_eq!(
            decode_text(by_attr).unwrap(),
            Request::FullFlow { target: Target::CallerAttribute("history1".into()), window: SearchWindow::Wider }
        );
    }

    #[test]
    fn sloppy_but_meaningful_payloads_are_accepted() {
        // SOAP::Lite style: unqualified children, rpc/encoded leftovers; default namespace; xsi:nil.
        let lite = r#"<GetVariableSetByCallerAttributeRequest xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
              xmlns:xsd="http://www.w3.org/2001/XMLSchema" soapenc:encodingStyle="x" xmlns:soapenc="urn:enc">
            <callerAttribute xsi:type="xsd:string">4567</callerAttribute>
            <variableSetId xsi:type="xsd:string">customerInfoSet</variableSetId>
            <widerSearch xsi:nil="true"/>
            <extra xmlns="urn:someone-else">ignored</extra>
        </GetVariableSetByCallerAttributeRequest>"#;
        assert_eq!(
            decode_text(lite).unwrap(),
            Request::VariableSet {
                target: Target::CallerAttribute("4567".into()),
                set: "customerInfoSet".into(),
                window: SearchWindow::Recent
            }
        );
        let default_ns = r#"<GetInteractionUniqueIdRequest xmlns="http://com/jacada/interact/interactiondata/soap">
            <attributeType>clickToCall</attributeType><attributeValue>+1555 &amp; &lt;x&gt;</attributeValue>
            <widerSearch>1</widerSearch></GetInteractionUniqueIdRequest>"#;
        assert_eq!(
            decode_text(default_ns).unwrap(),
            Request::UniqueId {
                kind: CallerAttributeKind::CallerId,
                value: "+1555 & <x>".into(),
                window: SearchWindow::Wider
            }
        );
    }

    #[test]
    fn soap_lite_stubs_are_understood() {
        // What SOAP::Lite->service(WSDL) sends: a wrapper named after the operation, encoded children.
        let lite = r#"<tns:GetInteractionFullFlowByUUID xmlns:tns="http://com/jacada/interact/interactiondata/soap"
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema">
            <uniqueId xsi:type="xs:string">040100713</uniqueId></tns:GetInteractionFullFlowByUUID>"#;
        assert_eq!(
            decode_text(lite).unwrap(),
            Request::FullFlow { target: Target::UniqueId("040100713".into()), window: SearchWindow::Recent }
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let ns = "xmlns='http://com/jacada/interact/interactiondata/soap'";
        let cases = [
            (format!("<GetInteractionSummaryByUUIDRequest {ns}/>"), "uniqueId"),
            (format!("<GetInteractionSummaryByUUIDRequest {ns}><uniqueId> </uniqueId></GetInteractionSummaryByUUIDRequest>"), "uniqueId"),
            (
                format!("<GetInteractionSummaryByUUIDRequest {ns}><uniqueId>1</uniqueId><widerSearch>yes</widerSearch></GetInteractionSummaryByUUIDRequest>"),
                "widerSearch",
            ),
            (format!("<GetVariableSetByUUIDRequest {ns}><uniqueId>1</uniqueId></GetVariableSetByUUIDRequest>"), "variableSetId"),
            (
                format!("<GetInteractionUniqueIdRequest {ns}><attributeType>dnid</attributeType><attributeValue>1</attributeValue></GetInteractionUniqueIdRequest>"),
                "attributeType",
            ),
            (
                format!("<GetInteractionFullFlowByUUIDRequest {ns}><uniqueId xmlns='urn:other'>1</uniqueId></GetInteractionFullFlowByUUIDRequest>"),
                "uniqueId",
            ),
        ];
        for (text, name) in cases {
            assert_eq!(decode_text(&text).unwrap_err(), PayloadError::Parameter(name), "{text}");
        }
    }
}
