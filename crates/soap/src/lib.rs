//! The Interact SOAP face: `interactiondata.wsdl` and one SOAP 1.1 + 1.2 endpoint (spec
//! `interact-soap.md`). The envelope is read by a hardened, namespace-aware reader before anything
//! else touches the body; queries go to the core's `HistoryService` like every other face.

mod endpoint;
pub mod envelope;
mod escape;
pub mod fault;
mod page_xml;
pub mod reader;
mod reply;
pub mod request;
pub mod transport;
pub mod wsdl;

pub use endpoint::SURFACE;

/// The SOAP 1.1 reply of `GetInteractionFullFlowByUUID` for `flow`, as the endpoint writes it: the
/// benchmark's floor (`ixgw-floor`) answers with it beside a bare handler. `None` for a damaged row.
pub fn full_flow_reply_soap11(flow: &ixgw_core::store::StoredFlow) -> Option<String> {
    let frame = reply::Frame::Envelope(envelope::SoapVersion::V11);
    reply::full_flow(frame, request::Operation::FullFlowByUuid, flow).ok()
}

use actix_web::web;

/// Settings of the SOAP face (from the server's configuration).
#[derive(Debug, Clone)]
pub struct SoapSettings {
    /// The public base URL written into the WSDL's addresses; else taken from the request.
    pub public_url: Option<String>,
    /// Largest request body accepted (bytes); larger → 413 with a Client/Sender fault.
    pub max_body_bytes: usize,
    /// `true` (default): credential faults carry the vendor's `0x7000000` faultcode, as the seed
    /// shows. `false`: a schema-valid `SOAP-ENV:Client` code with the vendor code in `detail`.
    pub vendor_fault_code: bool,
    /// `false` (default): "not found" is the seed's `GetInteractionUniqueIdResponse` element (of
    /// the agent namespace, not the operation's declared output). `true`: a Client / Sender fault
    /// with the same sentence, and that element in `detail`, which every generated client surfaces.
    pub not_found_as_fault: bool,
}

impl Default for SoapSettings {
    fn default() -> Self {
        Self { public_url: None, max_body_bytes: 1024 * 1024, vendor_fault_code: true, not_found_as_fault: false }
    }
}

/// Mounts the WSDL (`GET /interact/version/2/interactiondata/soap/interactiondata.wsdl` and
/// `GET <endpoint>?wsdl`) and the endpoint (`POST /interact/version/2/interactiondata/soap`).
/// Needs `web::Data<HistoryService>`.
pub fn configure(cfg: &mut web::ServiceConfig, settings: &SoapSettings) {
    endpoint::configure(cfg, settings)
}
