//! `GET /openapi.json`: an OpenAPI 3.0 description of every REST route the gateway serves — the
//! Interact interaction-data routes, the Context Services routes (at the root and under the
//! configured base path), the ingest API and the operational endpoints. SOAP is described by its WSDL.
//!
//! The paths come from the faces' route tables (`ixgw_rest::interact::ROUTES`,
//! `ixgw_rest::context::ROUTES`, `ixgw_rest::ingest::ROUTES`, `crate::app::OPS_ROUTES`), the same
//! tables their `configure` mounts; this module adds what each operation answers, keyed by the
//! operation's name. The document is precise enough to drive schemathesis: parameters carry the
//! patterns and bounds the faces enforce, every status a route answers is listed with its content
//! type and headers, and the record-format bodies are described member for member
//! (`additionalProperties: false`, as the core refuses unknown members). What JSON Schema cannot say
//! (an end before the start, pages out of order, identifiers counted in UTF-8 bytes) is said in the
//! descriptions. `tests/api/openapi.rs` checks that every route of the tables is described here and
//! nothing else, and that every path here is served.

use ixgw_web::Route;
use serde_json::{json, Map, Value};

/// The Interact routes' prefix, as an OpenAPI path template.
const INTERACT: &str = ixgw_rest::interact::BASE;

/// The document for a server whose Context Services base path is `context_base` (`None`: the root
/// only).
pub fn document(context_base: Option<&str>) -> Value {
    let mut paths = Map::new();
    describe(&mut paths, INTERACT, &ixgw_rest::interact::ROUTES, interact_operation);
    for mount in std::iter::once("").chain(context_base) {
        describe(&mut paths, mount, &ixgw_rest::context::ROUTES, |route| context_operation(mount, route));
    }
    describe(&mut paths, "", &ixgw_rest::ingest::ROUTES, ingest_operation);
    describe(&mut paths, "", &crate::app::OPS_ROUTES, ops_operation);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Interaction History Gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Contact-centre interaction history, served unchanged on the wire to clients of the Interact interaction-data API (REST; SOAP 1.1/1.2 is described by its WSDL at /interact/version/2/interactiondata/soap?wsdl) and of Genesys Context Services \"Query Interactions\", plus the gateway's own ingest API. Every other method on a described path answers 405 with an Allow header."
        },
        "tags": [
            {"name": "Interact", "description": "Interact interaction data (Uniphore / Jacada), REST"},
            {"name": "Context Services", "description": "Genesys Context Services Query Interactions (CV.WS.IXN.2)"},
            {"name": "Ingest", "description": "The gateway's write API: records, the live feed, erasure"},
            {"name": "Operations", "description": "Liveness, readiness, metrics, this document"}
        ],
        "paths": paths,
        "components": components(),
    })
}

/// Adds the description of each of `routes`, under `prefix`, to `paths`. A route without one is
/// left out (and `tests/api/openapi.rs` fails).
fn describe(
    paths: &mut Map<String, Value>,
    prefix: &str,
    routes: &[Route],
    mut operation: impl FnMut(&Route) -> Option<Value>,
) {
    for route in routes {
        if let Some(described) = operation(route) {
            let item = paths.entry(format!("{prefix}{}", route.path)).or_insert_with(|| json!({}));
            item[route.method.openapi()] = described;
        }
    }
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn p(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn resp(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

/// A path segment the faces take as any non-empty text.
fn text_segment() -> Value {
    json!({"type": "string", "minLength": 1})
}

fn interact_security() -> Value {
    json!([{"TenantId": [], "ApplicationKey": []}, {"TenantId": [], "BearerKey": []}])
}

/// The answers every Interact route may give besides its own `200`.
fn interact_errors(responses: &mut Map<String, Value>) {
    for (status, name) in [
        ("400", "InteractBadRequest"),
        ("401", "InteractUnauthorized"),
        ("404", "InteractNotFound"),
        ("500", "InteractFailure"),
        ("503", "InteractUnavailable"),
    ] {
        responses.insert(status.into(), resp(name));
    }
}

fn interact_get(operation_id: &str, label: &str, summary: &str, params: Vec<Value>, ok: Value) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), ok);
    interact_errors(&mut responses);
    let mut parameters = vec![p("Version"), p("AccountId"), p("EnvironmentName")];
    parameters.extend(params);
    json!({
        "operationId": operation_id,
        "x-ixgw-operation": label,
        "tags": ["Interact"],
        "summary": summary,
        "security": interact_security(),
        "parameters": parameters,
        "responses": responses,
    })
}

fn json_ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// What an Interact operation answers: `fullFlow`, `summary` and `variableSet`, each by unique id
/// and `/byCallerAttribute`, `uniqueId`, `photo`.
fn interact_operation(route: &Route) -> Option<Value> {
    let (name, by_attribute) = match route.operation.split_once('/') {
        None => (route.operation, false),
        Some((name, "byCallerAttribute")) => (name, true),
        Some(_) => return None,
    };
    let target = if by_attribute {
        path_param(
            "id",
            "A caller-attribute value (dtmf, dnid, callReturnNumber, callerId or historySearchId).",
            text_segment(),
        )
    } else {
        path_param("id", "The interaction's unique id.", text_segment())
    };
    let (id_op, how) =
        if by_attribute { ("ByCallerAttribute", "by caller attribute") } else { ("ByUniqueId", "by unique id") };
    let get = |operation_id: String, summary: String, params: Vec<Value>, ok: Value| {
        Some(interact_get(&operation_id, route.operation, &summary, params, ok))
    };
    match name {
        "fullFlow" => get(
            format!("fullFlow{id_op}"),
            format!("Full flow of an interaction, {how}"),
            vec![target, p("WiderSearch")],
            json!({
                "description": "The full flow: one object per completed page, in navigation order. An interaction that exists but has no completed page answers 200 with an EMPTY body (the vendor's \"EMPTY\"), or [] when interact.empty_flow_as_array is set.",
                "content": {"application/json": {"schema": {"type": "array", "items": r("Page")}}}
            }),
        ),
        "summary" => get(
            format!("summary{id_op}"),
            format!("Input-only summary of an interaction, {how}"),
            vec![target, p("WiderSearch")],
            json_ok(
                "The pages with user input, and only what the user entered or selected.",
                json!({"type": "array", "items": r("SummaryPage")}),
            ),
        ),
        "variableSet" => get(
            format!("variableSet{id_op}"),
            format!("One user variable set of an interaction, {how}"),
            vec![target, path_param("set", "The variable set's name.", text_segment()), p("WiderSearch")],
            json_ok("One user variable set.", r("VariableSet")),
        ),
        "uniqueId" if !by_attribute => get(
            "uniqueId".into(),
            "The unique id of the newest interaction a caller attribute was allocated to".into(),
            vec![
                path_param("kind", "dtmf → dtmf, callReturn → callReturnNumber, clickToCall → callerId, historySearchId → historySearchId.", json!({"type": "string", "enum": ["dtmf", "callReturn", "clickToCall", "historySearchId"]})),
                path_param("value", "The attribute's value.", text_segment()),
                p("WiderSearch"),
            ],
            json_ok("The unique id.", json!({"type": "object", "required": ["uniqueId"], "additionalProperties": false, "properties": {"uniqueId": {"type": "string"}}})),
        ),
        "photo" if !by_attribute => get(
            "photo".into(),
            "The bytes of an uploaded photo".into(),
            vec![
                path_param("uid", "The interaction's unique id.", text_segment()),
                path_param(
                    "imgPath",
                    "The image path of the full flow, percent-encoded once more than a path segment needs: the URL carries it encoded twice (%252Fmnt%252F…). The older form writing the file name's `.` as `@@@@@` is accepted too. A value that does not decode to UTF-8 text is a 400 (`path`).",
                    json!({"type": "string", "minLength": 1, "pattern": "^([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-7][0-9A-Fa-f])+$"}),
                ),
                json!({"name": "maxSize", "in": "query", "required": false, "description": "Scale the image so that its longer side is at most this many pixels (never up), keeping its format.", "schema": {"type": "integer", "minimum": 1, "maximum": 4294967295u64}}),
            ],
            json!({"description": "The photo, with its stored MIME type.", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}, "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}),
        ),
        _ => None,
    }
}

fn context_security() -> Value {
    json!([{"ApplicationKey": []}, {"BearerKey": []}])
}

fn context_get(mount: &str, operation_id: &str, label: &str, summary: &str, params: Vec<Value>, ok: Value) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), ok);
    for (status, name) in [
        ("400", "ContextBadRequest"),
        ("401", "ContextUnauthorized"),
        ("404", "ContextNotFound"),
        ("500", "ContextFailure"),
        ("503", "ContextUnavailable"),
    ] {
        responses.insert(status.into(), resp(name));
    }
    let operation_id = if mount.is_empty() { operation_id.to_string() } else { format!("{operation_id}AtBasePath") };
    let mut parameters = vec![p("ContactCenterId"), p("EnvironmentName"), p("GroupId")];
    parameters.extend(params);
    json!({
        "operationId": operation_id,
        "x-ixgw-operation": label,
        "tags": ["Context Services"],
        "summary": summary,
        "security": context_security(),
        "parameters": parameters,
        "responses": responses,
    })
}

/// What a Context Services operation answers, mounted at `mount`: the two lists, one interaction,
/// and its three content parts (named by their path segment).
fn context_operation(mount: &str, route: &Route) -> Option<Value> {
    let list_params = || {
        vec![
            json!({"name": "media_type", "in": "query", "required": false, "description": "Only interactions of this media type.", "schema": {"type": "string", "minLength": 1}}),
            json!({"name": "status", "in": "query", "required": false, "description": "Only interactions in this status: 0 NEW, 1 PENDING, 2 IN_PROCESS, 3 STOPPED.", "schema": {"type": "integer", "minimum": 0, "maximum": 3}}),
            json!({"name": "from", "in": "query", "required": false, "description": "Only interactions started at or after this instant (RFC 3339).", "schema": r("DateTime")}),
            json!({"name": "to", "in": "query", "required": false, "description": "Only interactions started before this instant (RFC 3339).", "schema": r("DateTime")}),
            json!({"name": "limit", "in": "query", "required": false, "description": "One page of at most this many; a `Link: <…>; rel=\"next\"` header carries the URL of the next page (its opaque `cursor` parameter is only ever taken from such a link).", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}),
        ]
    };
    let list = || {
        json!({
            "description": "The interactions, newest start first; [] when there are none. Without `limit` the whole list.",
            "headers": {"Link": {"description": "With `limit`, when more follow: `<URL of the next page>; rel=\"next\"`.", "required": false, "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"type": "array", "items": r("ContextInteraction")}}}
        })
    };
    let interaction_id = || path_param("interaction_id", "The interaction's id.", text_segment());
    let get = |operation_id: &str, summary: &str, params: Vec<Value>, ok: Value| {
        Some(context_get(mount, operation_id, route.operation, summary, params, ok))
    };
    let any = json!({"schema": {"type": "string", "format": "binary"}});
    let content = |summary: &str, content: Value| {
        let operation_id = format!(
            "interaction{}",
            route.operation.split('_').map(|w| format!("{}{}", w[..1].to_uppercase(), &w[1..])).collect::<String>()
        );
        get(&operation_id, summary, vec![interaction_id()], json!({"description": summary, "content": content}))
    };
    match route.operation {
        "customerInteractions" => get(
            "customerInteractions",
            "A customer's interactions",
            [vec![path_param("customer_id", "The customer's id.", text_segment())], list_params()].concat(),
            list(),
        ),
        "serviceInteractions" => get(
            "serviceInteractions",
            "The interactions linked to a service",
            [
                vec![path_param(
                    "service_id",
                    "The service's id, a 64-bit integer.",
                    json!({"type": "integer", "format": "int64"}),
                )],
                list_params(),
            ]
            .concat(),
            list(),
        ),
        "interaction" => get(
            "interaction",
            "One interaction",
            vec![interaction_id()],
            json_ok("The interaction resource.", r("ContextInteraction")),
        ),
        "plain_text" => content("The interaction's plain text", json!({"text/plain": {"schema": {"type": "string"}}})),
        "structured_text" => content(
            "The interaction's structured text, with its stored MIME type (text/plain if none)",
            json!({"*/*": any}),
        ),
        "binary_content" => content(
            "The interaction's binary content, with its stored MIME type (application/octet-stream if none)",
            json!({"*/*": any}),
        ),
        _ => None,
    }
}

fn ingest_security() -> Value {
    json!([{"BearerKey": []}, {"ApplicationKey": []}])
}

/// One ingest operation; `text` is its summary and description.
fn ingest_op(
    operation_id: &str,
    (summary, description): (&str, &str),
    params: Vec<Value>,
    body: Option<Value>,
    ok: Vec<(&str, Value)>,
    errors: &[&str],
) -> Value {
    let mut responses = Map::new();
    for (status, answer) in ok {
        responses.insert(status.into(), answer);
    }
    for status in ["401", "403", "500", "503"].iter().chain(errors) {
        let name = match *status {
            "401" => "IngestUnauthorized",
            "503" => "IngestUnavailable",
            _ => "IngestError",
        };
        responses.insert(status.to_string(), resp(name));
    }
    let mut parameters = vec![p("EnvironmentName")];
    parameters.extend(params);
    let mut operation = json!({
        "operationId": operation_id,
        "x-ixgw-operation": operation_id,
        "tags": ["Ingest"],
        "summary": summary,
        "description": description,
        "security": ingest_security(),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = body {
        operation["requestBody"] = body;
    }
    operation
}

/// What an ingest operation answers.
fn ingest_operation(route: &Route) -> Option<Value> {
    let id = || path_param("id", "The interaction's id (in the key's tenant and environment).", text_segment());
    let report = |d: &str| json_ok(d, r("ImportReport"));
    let json_body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    Some(match route.operation {
        "postInteractions" => ingest_op(
            "postInteractions",
            ("Store records: one, a JSON array, or NDJSON", "Each record is validated and stored whole, replacing one with the same id; the answer lists the rejected ones. Besides what the schema says, a record is rejected (422) when its ended_at is before its started_at, its pages are out of order (a timestamp older than the previous page's), two photos share a path, an identifier is longer than 256 bytes of UTF-8, or it names another tenant or environment than the key's (tenant / environment, optional, must then be the key's own). No body size limit applies to this route: records stream."),
            vec![],
            Some(json!({"required": true, "content": {
                "application/json": {"schema": {"oneOf": [r("Record"), {"type": "array", "items": r("Record")}]}},
                "application/x-ndjson": {"schema": {"type": "string", "description": "One record (compact JSON) a line."}}
            }})),
            vec![
                ("200", report("Every record was stored (also: no record at all).")),
                ("422", report("At least one record was rejected; the others were stored.")),
                ("400", report("The body broke off part-way (what was stored before stays stored), or an application/json body holds no JSON document.")),
            ],
            &["415"],
        ),
        "appendPage" => ingest_op(
            "appendPage",
            (
                "Append a completed page (live feed)",
                "A page older than the interaction's newest one is refused (409, path timestamp).",
            ),
            vec![id()],
            Some(json_body(r("Page"))),
            vec![
                ("201", json_ok("The page was appended.", r("PageAppended"))),
                ("200", json_ok("The same page was the newest already (a retry): nothing stored.", r("PageAppended"))),
            ],
            &["404", "409", "413", "415", "422"],
        ),
        "allocateCallerAttribute" => ingest_op(
            "allocateCallerAttribute",
            (
                "Record a caller-attribute allocation (live feed)",
                "The value must be 1 to 256 bytes of UTF-8 without control characters.",
            ),
            vec![id()],
            Some(json_body(r("CallerAttribute"))),
            vec![
                ("201", json_ok("The allocation was recorded.", r("AttributeAllocated"))),
                (
                    "200",
                    json_ok(
                        "The same allocation was recorded already (a retry): nothing stored.",
                        r("AttributeAllocated"),
                    ),
                ),
            ],
            &["404", "409", "413", "415", "422"],
        ),
        "endInteraction" => ingest_op(
            "endInteraction",
            ("Mark an interaction completed (live feed)", "An empty body (no bytes) or an object without ended_at (`{}`) means now. The end must not be before the start (409, path ended_at)."),
            vec![id()],
            Some(json!({"required": false, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false,
                "properties": {"ended_at": r("DateTime")}
            }}}})),
            vec![("200", json_ok("The interaction's end.", json!({"type": "object", "required": ["interaction_id", "ended_at"], "additionalProperties": false, "properties": {"interaction_id": {"type": "string"}, "ended_at": r("DateTime")}})))],
            &["404", "409", "413", "415", "422"],
        ),
        "eraseInteraction" => ingest_op(
            "eraseInteraction",
            ("Erase an interaction and everything it holds", "Pages, caller attributes, content, variable sets, photos and service links go with it."),
            vec![id()],
            None,
            vec![("200", json_ok("What was removed.", json!({"type": "object", "required": ["interaction_id", "removed"], "additionalProperties": false, "properties": {"interaction_id": {"type": "string"}, "removed": r("Erased")}})))],
            &["404"],
        ),
        "eraseCustomer" => ingest_op(
            "eraseCustomer",
            ("Erase every interaction of a customer", "200 with zero counts when nothing was held: erasure requests can be repeated safely."),
            vec![path_param("customer_id", "The customer's id.", text_segment())],
            None,
            vec![("200", json_ok("What was removed.", json!({"type": "object", "required": ["customer_id", "removed"], "additionalProperties": false, "properties": {"customer_id": {"type": "string"}, "removed": r("Erased")}})))],
            &[],
        ),
        _ => return None,
    })
}

/// What an operation of the server's own answers (its operation in the metrics is its path).
fn ops_operation(route: &Route) -> Option<Value> {
    let text = |d: &str| json!({"description": d, "content": {"text/plain": {"schema": {"type": "string"}}}});
    let (id, summary, responses) = match route.path {
        "/healthz" => ("healthz", "Liveness: 200 as long as the process serves; touches nothing", json!({"200": text("ok")})),
        "/readyz" => (
            "readyz",
            "Readiness: 200 while the read routes can be answered (`ready`, or `degraded: …` while writes cannot), 503 otherwise; with `?writes`, 200 only while writes can be taken",
            json!({
                "200": text("ready, or `degraded: …` naming what is unavailable (reads are served)"),
                "503": {"description": "The store does not answer (with `?writes`: the primary does not).", "headers": {"Retry-After": {"required": true, "schema": {"type": "integer"}}}, "content": {"text/plain": {"schema": {"type": "string"}}}}
            }),
        ),
        "/metrics" => (
            "metrics",
            "Prometheus text: requests by surface, operation, status and SOAP version; latency histograms; faults; store pool",
            json!({"200": text("The Prometheus text exposition (version 0.0.4).")}),
        ),
        "/openapi.json" => ("openapi", "This document", json!({"200": json_ok("OpenAPI 3.0", json!({"type": "object"}))})),
        _ => return None,
    };
    let mut operation = json!({"operationId": id, "x-ixgw-operation": route.operation, "tags": ["Operations"], "summary": summary, "security": [], "responses": responses});
    if route.path == "/readyz" {
        operation["parameters"] = json!([{
            "name": "writes", "in": "query", "required": false, "allowEmptyValue": true,
            "description": "Present: whether writes can be taken (the primary answers), for balancers in front of ingest.",
            "schema": {"type": "string"}
        }]);
    }
    Some(operation)
}

fn error_response(description: &str, content_type: &str, schema: Value, headers: Value) -> Value {
    json!({"description": description, "headers": headers, "content": {content_type: {"schema": schema}}})
}

fn components() -> Value {
    json!({
        "securitySchemes": security_schemes(),
        "parameters": parameters(),
        "responses": responses(),
        "schemas": schemas(),
    })
}

/// `v`, then 1 to 9 digits that are not all zeros (as `ixgw_rest`'s protocol-version rule), written
/// without look-ahead so that every generator can use it: one alternative per count of leading zeros.
fn version_pattern() -> String {
    let alternatives: Vec<String> = (0..9).map(|zeros| format!("0{{{zeros}}}[1-9][0-9]{{0,{}}}", 8 - zeros)).collect();
    format!("^v?({})$", alternatives.join("|"))
}

fn security_schemes() -> Value {
    json!({
            "TenantId": {"type": "apiKey", "in": "header", "name": "Tenant-Id", "description": "Interact: the tenant's account id; must equal {accountID}."},
            "ApplicationKey": {"type": "apiKey", "in": "header", "name": "Application-Key", "description": "An active application key (read scope for the vendor routes, ingest scope for /v1)."},
            "BearerKey": {"type": "http", "scheme": "bearer", "description": "The application key as `Authorization: Bearer <key>`."}
    })
}

fn parameters() -> Value {
    json!({
            "Version": {"name": "version", "in": "path", "required": true, "description": "The protocol version: 1, 2, 3 … or v1, v2 … (any other value is a 400 `version`, once the credentials are accepted).", "schema": {"type": "string", "pattern": version_pattern()}},
            "AccountId": {"name": "accountID", "in": "path", "required": true, "description": "The tenant's account id; must equal the Tenant-Id header, else 401.", "schema": {"type": "string", "minLength": 1}, "example": "12345678"},
            "EnvironmentName": {"name": "Environment-Name", "in": "header", "required": false, "description": "One of the tenant's environments (absent: the key's or the tenant's default). An unknown one, or one the key is not for, is a 401.", "schema": {"type": "string"}},
            "ContactCenterId": {"name": "ContactCenterId", "in": "header", "required": false, "description": "The tenant (account id or name). Absent: the configured default tenant, else 400. A tenant that is not configured is a 400 with the vendor's body.", "schema": {"type": "string"}, "example": "12345678"},
            "GroupId": {"name": "GroupId", "in": "header", "required": false, "description": "A Genesys business unit: accepted and ignored.", "schema": {"type": "string"}},
            "WiderSearch": {"name": "widerSearch", "in": "query", "required": false, "description": "true: search the past 12 calendar months instead of 3.", "schema": {"type": "string", "enum": ["true", "false"]}}
    })
}

fn responses() -> Value {
    let interact_text = |d: &str| error_response(d, "text/plain", json!({"type": "string"}), json!({}));
    let context_error = |d: &str, headers: Value| error_response(d, "application/json", r("ContextError"), headers);
    let retry_after =
        json!({"Retry-After": {"required": true, "description": "Seconds to wait.", "schema": {"type": "integer"}}});
    let www = json!({"WWW-Authenticate": {"required": true, "schema": {"type": "string"}}});
    json!({
            "InteractBadRequest": interact_text("`missing or invalid parameter <name>`"),
            "InteractNotFound": interact_text("`history for UUID <id> was not found`, `history for attribute <value> was not found`, `variable set <id> was not found` or `photo was not found`"),
            "InteractFailure": interact_text("`exception`: an internal failure (the cause is in the log, with the request id)"),
            "InteractUnavailable": error_response("`exception`: the store cannot be reached", "text/plain", json!({"type": "string"}), retry_after.clone()),
            "InteractUnauthorized": error_response(
                "Missing or wrong credentials",
                "application/json",
                json!({"type": "object", "required": ["code", "message", "moreInfoUrl"], "additionalProperties": false, "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "moreInfoUrl": {"type": "string"}}}),
                json!({"Unauthenticated-Reason": {"required": true, "description": "A short reason such as `unknown application key`.", "schema": {"type": "string"}}})
            ),
            "ContextBadRequest": context_error("An invalid parameter, or an unknown or missing tenant (the vendor's bodies)", json!({})),
            "ContextUnauthorized": context_error("Missing or wrong credentials", www.clone()),
            "ContextNotFound": context_error("No such interaction, or it has no such content", json!({})),
            "ContextFailure": context_error("An internal failure", json!({})),
            "ContextUnavailable": context_error("The store cannot be reached", retry_after.clone()),
            "IngestError": error_response("The request was not done: {error, reason, path?}", "application/json", r("IngestError"), json!({})),
            "IngestUnauthorized": error_response("Missing or wrong key", "application/json", r("IngestError"), www),
            "IngestUnavailable": error_response("The store is unavailable: try again (storing is idempotent)", "application/json", json!({"oneOf": [r("IngestError"), r("ImportReport")]}), retry_after)
    })
}

fn schemas() -> Value {
    let mut all = answer_schemas();
    let Value::Object(map) = &mut all else { unreachable!("an object") };
    for extra in [view_schemas(), page_schemas(), record_schemas()] {
        let Value::Object(more) = extra else { unreachable!("an object") };
        map.extend(more);
    }
    all
}

fn answer_schemas() -> Value {
    json!({
            "DateTime": {"type": "string", "format": "date-time", "description": "RFC 3339."},
            "Identifier": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]+$", "description": "1 to 256 bytes of UTF-8, no control characters."},
            "ContextError": {"type": "object", "required": ["message", "exception"], "additionalProperties": false, "properties": {"message": {"type": "string"}, "exception": {"type": "string"}}},
            "IngestError": {"type": "object", "required": ["error", "reason"], "additionalProperties": false, "properties": {"error": {"type": "string"}, "reason": {"type": "string"}, "path": {"type": "string"}}},
            "ImportReport": {
                "type": "object", "required": ["accepted", "rejected", "results", "results_truncated"], "additionalProperties": false,
                "properties": {
                    "accepted": {"type": "integer", "minimum": 0},
                    "rejected": {"type": "integer", "minimum": 0},
                    "results": {"type": "array", "items": {"type": "object", "required": ["line", "status", "path", "reason"], "additionalProperties": false, "properties": {"line": {"type": "integer"}, "status": {"type": "string", "enum": ["rejected"]}, "path": {"type": "string"}, "reason": {"type": "string"}}}},
                    "results_truncated": {"type": "boolean"},
                    "error": {"type": "string", "enum": ["unavailable", "bad_body"]},
                    "reason": {"type": "string"}
                }
            },
            "PageAppended": {"type": "object", "required": ["interaction_id", "index", "added"], "additionalProperties": false, "properties": {"interaction_id": {"type": "string"}, "index": {"type": "integer", "minimum": 0}, "added": {"type": "boolean"}}},
            "AttributeAllocated": {"type": "object", "required": ["interaction_id", "kind", "value", "added", "current"], "additionalProperties": false, "properties": {"interaction_id": {"type": "string"}, "kind": r("CallerAttributeKind"), "value": {"type": "string"}, "added": {"type": "boolean"}, "current": {"type": "boolean"}}},
            "Erased": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    })
}

fn view_schemas() -> Value {
    json!({
            "VariableSet": {"type": "object", "required": ["voice"], "additionalProperties": false, "properties": {"voice": {"type": "object", "required": ["data"], "additionalProperties": false, "properties": {"data": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
            "SummaryPage": {
                "type": "object", "required": ["pageId", "pageTitle", "timestamp", "answers"], "additionalProperties": false,
                "properties": {
                    "pageId": {"type": "string"}, "pageTitle": {"type": "string"}, "timestamp": {"type": "integer", "format": "int64"},
                    "header": {"type": "string"}, "footer": {"type": "string"},
                    "answers": {"type": "array", "items": {"type": "object", "required": ["id", "value"], "additionalProperties": false, "properties": {"id": {"type": "string"}, "referenceName": {"type": "string"}, "label": {"type": "string"}, "value": {"type": "string"}}}}
                }
            },
            "ContextInteraction": {
                "type": "object", "required": ["interaction_id", "start_date"],
                "description": "The Context Services interaction resource; media-specific members are flattened into it. Absent members are left out, never null.",
                "properties": {
                    "interaction_id": {"type": "string"}, "customer_id": {"type": "string"}, "external_id": {"type": "string"},
                    "thread_id": {"type": "string"}, "parent_id": {"type": "string"}, "type": {"type": "string"}, "sub_type": {"type": "string"},
                    "media_type": {"type": "string"}, "subject": {"type": "string"}, "structured_text_mime": {"type": "string"},
                    "status": {"type": "integer"}, "entity_type": {"type": "integer"}, "owner_id": {"type": "integer"},
                    "creator_app_id": {"type": "integer"}, "timeshift": {"type": "integer"}, "allow_children": {"type": "boolean"},
                    "start_date": {"type": "string"}, "end_date": {"type": "string"}, "established_date": {"type": "string"}, "released_date": {"type": "string"},
                    "udata": {"type": "object", "additionalProperties": {"type": "string"}},
                    "text": {"type": "string", "format": "uri"}, "structured_text": {"type": "string", "format": "uri"}, "binary_content": {"type": "string", "format": "uri"}
                }
            },
    })
}

fn page_schemas() -> Value {
    let nullable_string = json!({"type": "string", "nullable": true});
    json!({
            "CallerAttributeKind": {"type": "string", "enum": ["dtmf", "dnid", "callReturnNumber", "callerId", "historySearchId"]},
            "CallerAttribute": {
                "type": "object", "required": ["kind", "value", "allocated_at"], "additionalProperties": false,
                "properties": {"kind": r("CallerAttributeKind"), "value": r("Identifier"), "allocated_at": r("DateTime")}
            },
            "Button": {
                "type": "object", "required": ["buttonState", "buttonVisible"], "additionalProperties": false,
                "properties": {"id": nullable_string, "buttonState": {"type": "string"}, "buttonVisible": {"type": "boolean"}, "buttonLabel": nullable_string, "buttonAction": nullable_string, "buttonImageName": nullable_string}
            },
            "HtmlBlock": {"type": "object", "required": ["id", "innerHtml"], "additionalProperties": false, "properties": {"id": {"type": "string"}, "innerHtml": {"type": "string"}}},
            "TextInput": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "id": nullable_string, "buttonState": nullable_string, "buttonVisible": {"type": "boolean", "nullable": true},
                    "buttonLabel": nullable_string, "buttonAction": nullable_string, "buttonImageName": nullable_string,
                    "isMandatory": {"type": "boolean", "nullable": true},
                    "maxCharacters": {"type": "integer", "minimum": 0, "maximum": 4294967295u64, "nullable": true},
                    "numberOfLines": {"type": "integer", "minimum": 0, "maximum": 4294967295u64, "nullable": true},
                    "placeHolderText": nullable_string, "textColor": nullable_string, "textInputFormat": nullable_string, "textMask": nullable_string,
                    "validationRegularExpresion": nullable_string, "minRange": nullable_string, "maxRange": nullable_string
                }
            },
            "SelectFromList": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "id": nullable_string, "buttonState": nullable_string, "buttonVisible": {"type": "boolean", "nullable": true},
                    "buttonLabel": nullable_string, "buttonAction": nullable_string, "buttonImageName": nullable_string,
                    "isMandatory": {"type": "boolean", "nullable": true},
                    "selectFromListOptions": {"type": "array", "items": r("Button")}
                }
            },
            "UploadImageList": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "isMandatory": {"type": "boolean", "nullable": true},
                    "images": {"type": "array", "items": {"type": "object", "required": ["imagePath"], "additionalProperties": false, "properties": {"imagePath": {"type": "string"}}}}
                }
            },
            "Choice": {
                "type": "object", "required": ["id", "choiceValue"], "additionalProperties": false,
                "minProperties": 3, "maxProperties": 3,
                "description": "A section choice: its id, what the user entered or selected, and exactly one kind.",
                "properties": {
                    "id": {"type": "string"}, "choiceValue": {"type": "string"},
                    "clickToContinue": r("Button"), "choiceOption": r("Button"), "choiceSwitch": r("Button"),
                    "selectFromList": r("SelectFromList"), "textInput": r("TextInput"), "uploadImageList": r("UploadImageList")
                }
            },
            "Section": {
                "type": "object", "required": ["id"], "additionalProperties": false,
                "properties": {
                    "id": {"type": "string"}, "sectionLabel": nullable_string, "sectionGroupType": nullable_string,
                    "sectionNumberOfColumns": {"type": "integer", "format": "int32", "minimum": -2147483648i64, "maximum": 2147483647, "nullable": true},
                    "sectionChoices": {"type": "array", "items": r("Choice")}
                }
            },
            "Page": {
                "type": "object", "required": ["pageNavigation", "pageContent", "timestamp"], "additionalProperties": false,
                "properties": {
                    "pageNavigation": {
                        "type": "object", "required": ["navigationTitle"], "additionalProperties": false,
                        "properties": {"navigationTitle": {"type": "string"}, "pageReferenceName": nullable_string, "navigationLeft": {"allOf": [r("Button")], "nullable": true}, "navigationRight": {"allOf": [r("Button")], "nullable": true}}
                    },
                    "pageContent": {
                        "type": "object", "additionalProperties": false,
                        "properties": {"contentHeader": {"allOf": [r("HtmlBlock")], "nullable": true}, "contentSections": {"type": "array", "items": r("Section")}, "contentFooter": {"allOf": [r("HtmlBlock")], "nullable": true}}
                    },
                    "timestamp": {"type": "integer", "format": "int64", "description": "Time of the page navigation, epoch milliseconds."}
                }
            },
    })
}

fn record_schemas() -> Value {
    let nullable_string = json!({"type": "string", "nullable": true});
    json!({
            "EmailAddress": {"type": "object", "required": ["address"], "additionalProperties": false, "properties": {"address": {"type": "string"}, "personal": nullable_string}},
            "Context": {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "media_type": nullable_string, "type": nullable_string, "sub_type": nullable_string,
                    "status": {"type": "integer", "format": "int32", "nullable": true}, "entity_type": {"type": "integer", "format": "int32", "nullable": true},
                    "subject": nullable_string, "external_id": nullable_string, "thread_id": nullable_string, "parent_id": nullable_string,
                    "owner_id": {"type": "integer", "format": "int64", "nullable": true}, "creator_app_id": {"type": "integer", "format": "int64", "nullable": true},
                    "timeshift": {"type": "integer", "format": "int32", "nullable": true}, "allow_children": {"type": "boolean", "nullable": true},
                    "established_date": {"allOf": [r("DateTime")], "nullable": true}, "released_date": {"allOf": [r("DateTime")], "nullable": true},
                    "udata": {"type": "object", "nullable": true, "additionalProperties": {"type": "string"}},
                    "duration": {"type": "integer", "format": "int64", "nullable": true}, "outcome": nullable_string, "phone_number": nullable_string, "tconnection_id": nullable_string,
                    "from": {"allOf": [r("EmailAddress")], "nullable": true}, "reply_to": {"allOf": [r("EmailAddress")], "nullable": true},
                    "to": {"type": "array", "nullable": true, "items": r("EmailAddress")}, "cc": {"type": "array", "nullable": true, "items": r("EmailAddress")},
                    "sent_date": {"allOf": [r("DateTime")], "nullable": true}
                }
            },
            "Base64": {"type": "string", "format": "byte", "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"},
            "Record": {
                "type": "object", "required": ["id", "started_at"], "additionalProperties": false,
                "description": "One interaction, whole (the record format). `tenant` and `environment` may be given and must then be the key's.",
                "properties": {
                    "tenant": {"allOf": [r("Identifier")], "nullable": true},
                    "environment": {"allOf": [r("Identifier")], "nullable": true},
                    "id": r("Identifier"),
                    "customer_id": {"allOf": [r("Identifier")], "nullable": true},
                    "service_ids": {"type": "array", "items": {"type": "integer", "format": "int64"}},
                    "started_at": r("DateTime"),
                    "ended_at": {"allOf": [r("DateTime")], "nullable": true},
                    "caller_attributes": {"type": "array", "items": r("CallerAttribute")},
                    "context": {"allOf": [r("Context")], "nullable": true},
                    "content": {"allOf": [{
                        "type": "object", "additionalProperties": false,
                        "properties": {"plain_text": nullable_string, "structured_text": nullable_string, "structured_text_mime": nullable_string, "binary_content_base64": {"allOf": [r("Base64")], "nullable": true}, "binary_content_mime": nullable_string}
                    }], "nullable": true},
                    "variable_sets": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}},
                    "pages": {"type": "array", "items": r("Page")},
                    "photos": {"type": "array", "items": {
                        "type": "object", "required": ["path", "mime", "data_base64"], "additionalProperties": false,
                        "properties": {"path": {"type": "string", "minLength": 1, "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"}, "mime": {"type": "string"}, "data_base64": r("Base64")}
                    }}
                }
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_pattern_is_the_faces_rule() {
        let pattern = version_pattern();
        assert!(pattern.starts_with("^v?(0{0}[1-9][0-9]{0,8}|0{1}[1-9][0-9]{0,7}|"), "{pattern}");
        assert!(pattern.ends_with("|0{8}[1-9][0-9]{0,0})$"), "{pattern}");
    }

    #[test]
    fn context_routes_are_described_at_the_root_and_the_base_path() {
        let doc = document(Some("/genesys/1/cs"));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/interactions/{interaction_id}"));
        assert!(paths.contains_key("/genesys/1/cs/interactions/{interaction_id}"));
        let root_only = document(None);
        assert!(!root_only["paths"].as_object().unwrap().keys().any(|k| k.starts_with("/genesys")));
    }

    #[test]
    fn every_reference_resolves_and_operation_ids_are_unique() {
        let doc = document(Some("/genesys/1/cs"));
        let text = doc.to_string();
        let mut refs = Vec::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("\"$ref\":\"#/components/") {
            let tail = &rest[i + 21..];
            let end = tail.find('"').unwrap();
            refs.push(tail[..end].to_string());
            rest = &tail[end..];
        }
        assert!(refs.len() > 50, "{}", refs.len());
        for r in refs {
            let (kind, name) = r.split_once('/').unwrap();
            assert!(doc["components"][kind].get(name).is_some(), "dangling $ref {r}");
        }
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(ids.insert(id.clone()), "operationId {id} twice ({method} {path})");
            }
        }
    }
}
