//! The HTTP routes: the WSDL, and the one endpoint for SOAP 1.1 and 1.2.
//!
//! A call goes: body (capped) → Content-Type → hardened reader → envelope checks (version,
//! mustUnderstand) → operation by the Body's element (and any SOAPAction must agree) →
//! authentication → payload members → the core's query → reply or fault.

use crate::envelope::{read_envelope, EnvelopeError, SoapVersion};
use crate::fault::{CredentialsCode, Failed, Fault, NotFoundAnswer};
use crate::reader::{self, clip, Limits};
use crate::reply::{self, Frame};
use crate::request::{self, Operation, Request};
use crate::transport::{action_name, parse_content_type, unquote, ContentType};
use crate::wsdl::{Wsdl, ENDPOINT_PATH, WSDL_PATH};
use crate::SoapSettings;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ixgw_core::{Credentials, HistoryError, HistoryService, Principal, Scope, StoreError};
use ixgw_web::vendor::UNAUTHENTICATED_REASON;
use ixgw_web::{header as header_text, RequestLabel};

const SOAP_ACTION: actix_web::http::header::HeaderName = actix_web::http::header::HeaderName::from_static("soapaction");

/// What the SOAP face keeps for its handlers.
pub struct SoapState {
    pub settings: SoapSettings,
    pub wsdl: Wsdl,
    pub limits: Limits,
}

/// The SOAP surface's name in request logs and metrics.
pub const SURFACE: &str = "interact-soap";

/// The operation label of a call whose operation was not learnt (a fault before the Body was read).
const UNKNOWN_OPERATION: &str = "unknown";

pub fn configure(cfg: &mut web::ServiceConfig, settings: &SoapSettings) {
    let state = SoapState { settings: settings.clone(), wsdl: Wsdl::default(), limits: Limits::default() };
    cfg.app_data(web::Data::new(state))
        .service(
            web::resource(WSDL_PATH)
                .route(web::get().to(wsdl))
                .route(web::head().to(wsdl))
                .default_service(web::to(|| async { not_allowed("GET, HEAD") })),
        )
        .service(
            web::resource(ENDPOINT_PATH)
                .route(web::post().to(call))
                .route(web::get().to(endpoint_get))
                .route(web::head().to(endpoint_get))
                .default_service(web::to(|req: HttpRequest| async move {
                    not_allowed(if asks_for_wsdl(&req) { "GET, HEAD" } else { "POST" })
                })),
        );
}

fn not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, allow)).finish()
}

/// `?wsdl`, in any case, with or without a value.
fn asks_for_wsdl(req: &HttpRequest) -> bool {
    req.query_string().split('&').any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("wsdl")))
}

async fn wsdl(req: HttpRequest, state: web::Data<SoapState>) -> HttpResponse {
    let base = ixgw_web::base_url(&req, state.settings.public_url.as_deref());
    let mut response = HttpResponse::Ok().content_type("text/xml;charset=utf-8").body(state.wsdl.render(&base));
    ixgw_web::label(
        &req,
        &mut response,
        RequestLabel { surface: SURFACE, operation: "wsdl".into(), ..Default::default() },
    );
    response
}

async fn endpoint_get(req: HttpRequest, state: web::Data<SoapState>) -> HttpResponse {
    if asks_for_wsdl(&req) {
        wsdl(req, state).await
    } else {
        not_allowed("POST")
    }
}

async fn call(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<SoapState>,
    service: web::Data<HistoryService>,
) -> HttpResponse {
    let content_type = parse_content_type(header_text(req.headers(), actix_web::http::header::CONTENT_TYPE));
    let mut exchange = Exchange { version: content_type.version.unwrap_or(SoapVersion::V11), operation: None };
    let result = exchange.run(&req, body, &state, &service, &content_type).await;
    exchange.respond(&req, result, &state.settings)
}

/// One call: the version and operation learnt so far (they shape the reply even of a fault).
struct Exchange {
    version: SoapVersion,
    operation: Option<Operation>,
}

impl Exchange {
    async fn run(
        &mut self,
        req: &HttpRequest,
        body: web::Payload,
        state: &SoapState,
        service: &HistoryService,
        content_type: &ContentType<'_>,
    ) -> Result<String, Fault> {
        let cap = state.settings.max_body_bytes;
        let declared =
            header_text(req.headers(), actix_web::http::header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|l| l > cap as u64) {
            return Err(Fault::TooLarge(cap));
        }
        let bytes = match body.to_bytes_limited(cap).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return Err(Fault::Client("the request body could not be read".to_string())),
            Err(_) => return Err(Fault::TooLarge(cap)),
        };
        if let Some(charset) = &content_type.foreign_charset {
            return Err(Fault::Client(format!(
                "only UTF-8 is accepted, the Content-Type names the charset {}",
                clip(charset)
            )));
        }

        let envelope = tracing::debug_span!("soap read").in_scope(|| {
            let root = reader::parse(&bytes, state.limits).map_err(|e| Fault::Client(e.to_string()))?;
            read_envelope(root).map_err(|e| match e {
                EnvelopeError::VersionMismatch(ns) => Fault::VersionMismatch(format!(
                    "the Envelope's namespace {} is neither SOAP 1.1 nor SOAP 1.2",
                    if ns.is_empty() { "(none)".to_string() } else { clip(&ns) }
                )),
                EnvelopeError::Invalid(why) => Fault::Client(why),
            })
        })?;
        if let Some(announced) = content_type.version.filter(|v| *v != envelope.version) {
            return Err(Fault::VersionMismatch(format!(
                "the Content-Type announces {announced} ({}), the Envelope is {}",
                match announced {
                    SoapVersion::V11 => "text/xml",
                    SoapVersion::V12 => "application/soap+xml",
                },
                envelope.version
            )));
        }
        self.version = envelope.version;
        if !envelope.not_understood.is_empty() {
            return Err(Fault::MustUnderstand(envelope.not_understood));
        }

        let op = Operation::of_payload(&envelope.payload).ok_or_else(|| {
            Fault::Client(format!("no operation takes the element {}", clip(&envelope.payload.expanded_name())))
        })?;
        self.operation = Some(op);
        let soap_action = header_text(req.headers(), SOAP_ACTION).map(unquote);
        for action in [content_type.action.as_deref(), soap_action.as_deref()].into_iter().flatten() {
            if let Some(named) = Operation::from_action_name(action_name(action)).filter(|named| *named != op) {
                return Err(Fault::Client(format!(
                    "the SOAP action names the operation {} but the Body calls {}",
                    named.name(),
                    op.name()
                )));
            }
        }

        let who = authenticate(req, service, envelope.username_token.as_ref()).await?;
        let request = request::decode(op, &envelope.payload).map_err(|e| Fault::Client(e.to_string()))?;
        let not_found = if state.settings.not_found_as_fault { NotFoundAnswer::Fault } else { NotFoundAnswer::Element };
        query(req, service, &who, op, request, not_found, self.version).await
    }

    fn respond(self, req: &HttpRequest, result: Result<String, Fault>, settings: &SoapSettings) -> HttpResponse {
        let version = self.version;
        let credentials = if settings.vendor_fault_code { CredentialsCode::Vendor } else { CredentialsCode::Standard };
        // For the request log and metrics: the operation in the Body, not the URL, which is the
        // same for all of them.
        let label = RequestLabel {
            surface: SURFACE,
            operation: self.operation.map_or(UNKNOWN_OPERATION, Operation::name).to_string(),
            soap_version: Some(version.label()),
            fault: result.as_ref().err().map(|f| f.kind().to_string()),
            reason: result.as_ref().err().and_then(Fault::refusal),
            ..Default::default()
        };
        let (mut response, body) = match result {
            Ok(reply) => (HttpResponse::build(StatusCode::OK), reply),
            Err(fault) => {
                let mut response = HttpResponse::build(fault.status(version));
                match &fault {
                    Fault::Credentials(reason) => {
                        if let Ok(value) = HeaderValue::from_str(reason.reason()) {
                            response.insert_header((UNAUTHENTICATED_REASON, value));
                        }
                    }
                    Fault::Unavailable => ixgw_web::vendor::retry_later(&mut response),
                    // The rest of an oversized body is not read: close rather than drain it.
                    Fault::TooLarge(_) => {
                        response.force_close();
                    }
                    _ => {}
                }
                (response, writing(|| fault.render(version, credentials)))
            }
        };
        let mut response = response.content_type(version.content_type()).body(body);
        ixgw_web::label(req, &mut response, label);
        response
    }
}

/// The Interact headers (`Tenant-Id`, `Application-Key`, `Environment-Name`), as REST takes them;
/// a WS-Security UsernameToken (user = tenant, password = key) fills what the headers leave out.
async fn authenticate(
    req: &HttpRequest,
    service: &HistoryService,
    token: Option<&crate::envelope::UsernameToken>,
) -> Result<Principal, Fault> {
    let headers = req.headers();
    let mut credentials: Credentials<'_> = ixgw_web::credentials(headers);
    let tenant =
        header_text(headers, ixgw_web::TENANT_ID).filter(|t| !t.is_empty()).or(token.map(|t| t.username.as_str()));
    if credentials.key.is_none_or(str::is_empty) {
        credentials.key = token.map(|t| t.password.as_str());
    }
    // The SOAP URL names no account: the tenant is both the account and its header.
    let who = service
        .authenticate_account(tenant.unwrap_or_default(), tenant, credentials, Scope::Read)
        .await
        .map_err(|e| match Failed::of(req, &e, NotFoundAnswer::Fault) {
            Failed::Fault(fault) => fault,
            // Authentication finds no history: a not-found reply cannot come of it.
            Failed::NotFoundReply(_) => Fault::Internal,
        })?;
    ixgw_web::authenticated(req, &who);
    Ok(who)
}

/// Writes a reply in a span of its own (a trace's "soap write").
fn writing<T>(write: impl FnOnce() -> T) -> T {
    tracing::debug_span!("soap write").in_scope(write)
}

async fn query(
    req: &HttpRequest,
    service: &HistoryService,
    who: &Principal,
    op: Operation,
    request: Request,
    not_found: NotFoundAnswer,
    version: SoapVersion,
) -> Result<String, Fault> {
    let frame = Frame::Envelope(version);
    let answer = match request {
        Request::FullFlow { target, window } => {
            service.full_flow_json(who, target.as_flow_target(), window).await.and_then(|flow| {
                writing(|| reply::full_flow(frame, op, &flow))
                    .map_err(|e| HistoryError::Internal(StoreError::Failed(e.to_string())))
            })
        }
        Request::Summary { target, window } => service
            .summary(who, target.as_flow_target(), window)
            .await
            .map(|pages| writing(|| reply::summary(frame, op, &pages))),
        Request::VariableSet { target, set, window } => service
            .variable_set(who, target.as_flow_target(), &set, window)
            .await
            .map(|vars| writing(|| reply::variable_set(frame, op, &vars))),
        Request::UniqueId { kind, value, window } => {
            service.unique_id(who, kind, &value, window).await.map(|id| writing(|| reply::unique_id(frame, &id)))
        }
    };
    answer.or_else(|e| Failed::of(req, &e, not_found).into_answer(version))
}
