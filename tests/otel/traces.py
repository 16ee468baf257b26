"""Traces end to end: the real `ixgw` binary exporting OTLP/HTTP to a real receiver on loopback.

The receiver decodes every `ExportTraceServiceRequest` with the `opentelemetry-proto` package. Two
gateways export to it: a plain one, and one in shadow mode whose vendor is a third gateway (a demo
on its own database) exporting to the same receiver, so a trace crosses from one to the other. The
driver sends REST, SOAP and Context Services requests with and without a `traceparent` and checks:

- the server span joins the client's trace (its parent is the client's span) or starts one, and the
  answer's `traceparent` names it; the request's log line carries the trace id;
- the key check, each store call and the SOAP read and write are its children; in shadow mode the
  call to the vendor is a client span whose context the vendor's server span continues;
- `http.route` is the route's template, not the path; no attribute holds a key, an id of the path
  or page content;
- with the receiver stopped, then hung (listening, never answering), requests are not delayed (p99
  within noise of the p99 with it up) and the spans lost are counted in `/metrics`.

Run by scripts/otel-traces (which makes the venv); exits non-zero on the first failed check.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

BIN = os.environ.get("IXGW_BIN", "target/debug/ixgw")
KEY = "demo-application-key"
TENANT = "12345678"
FLOW_ID = "040100713"
CS_ID = "00001a57JGQ00BW8"
REST_FLOW = f"/interact/agent/version/2/account/{TENANT}/interactiondata/{FLOW_ID}/fullFlow"
SOAP_PATH = "/interact/version/2/interactiondata/soap"
SOAP_11 = ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8")
SOAP_NS = "http://com/jacada/interact/interactiondata/soap"
INTERACT = {"Tenant-Id": TENANT, "Application-Key": KEY}
CONTEXT = {"ContactCenterId": TENANT, "Application-Key": KEY}
SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2

checks = 0


def check(condition, what, detail=""):
    global checks
    checks += 1
    if not condition:
        print(f"FAIL: {what}" + (f"\n  {detail}" if detail else ""), file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


# --- the receiver ---------------------------------------------------------------------------------


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Receiver:
    """An OTLP/HTTP traces receiver: POST /v1/traces, protobuf."""

    def __init__(self):
        self.spans, self.lock, self.batches, self.stopped = [], threading.Lock(), 0, False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                if receiver.stopped:
                    # A connection kept alive from before the stop: dropped without an answer.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.take(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, request):
        spans = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    spans.append({
                        "service": resource.get("service.name"),
                        "version": resource.get("service.version"),
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent": s.parent_span_id.hex(),
                        "name": s.name,
                        "kind": s.kind,
                        "status": s.status.code,
                        "attributes": {a.key: value_of(a.value) for a in s.attributes},
                        "links": [(l.trace_id.hex(), l.span_id.hex()) for l in s.links],
                    })
        with self.lock:
            self.spans.extend(spans)
            self.batches += 1

    def stop(self):
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()

    def trace(self, trace_id, until=None, seconds=10.0):
        """The spans of a trace, once `until(spans)` holds (the exporter sends every second)."""
        deadline = time.monotonic() + seconds
        while True:
            with self.lock:
                spans = [s for s in self.spans if s["trace_id"] == trace_id]
            if (until(spans) if until else spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)


# --- gateways -------------------------------------------------------------------------------------


class Gateway:
    def __init__(self, name, work, env):
        self.name, self.log_path = name, os.path.join(work, f"{name}.log")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "IXGW_"))}
        full_env.update(IXGW_LOG_FORMAT="json", OTEL_SERVICE_NAME=name, **env)
        self.log = open(self.log_path, "w")
        database = f"sqlite://{work}/{name}.db"
        self.proc = subprocess.Popen([BIN, "--database", database, "serve", "--demo", "--listen", "127.0.0.1:0"],
                                     env=full_env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 60
        self.base = None
        while self.base is None:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{name} did not start; see {self.log_path}")
            if line.startswith("listening on "):
                self.base = line.split()[-1]
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        for _ in range(300):
            try:
                if request(self.base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def log_lines(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def metric(self, name, labels):
        _, _, text = request(self.base + "/metrics")
        for line in text.decode().splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None


def request(url, method="GET", body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def soap_body(unique_id):
    ns, _ = SOAP_11
    return (f'<e:Envelope xmlns:e="{ns}" xmlns:s="{SOAP_NS}"><e:Header/><e:Body>'
            f"<s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>{unique_id}</s:uniqueId>"
            f"</s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>")


def new_traceparent():
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def call(gateway, kind, traceparent=None):
    headers = {}
    if traceparent:
        headers["traceparent"] = traceparent
        headers["tracestate"] = "vendorx=abc"
    if kind == "rest":
        return request(gateway.base + REST_FLOW, headers=dict(INTERACT, **headers))
    if kind == "soap":
        headers.update(INTERACT)
        headers["Content-Type"] = SOAP_11[1]
        return request(gateway.base + SOAP_PATH, "POST", soap_body(FLOW_ID), headers)
    if kind == "context":
        return request(f"{gateway.base}/interactions/{CS_ID}", headers=dict(CONTEXT, **headers))
    raise ValueError(kind)


def answer_traceparent(headers):
    value = {k.lower(): v for k, v in headers.items()}.get("traceparent", "")
    match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])", value)
    check(match is not None, "the answer carries the gateway span's traceparent", value)
    return match.group(1), match.group(2)


def descendants(spans, root_id):
    children, out, todo = {}, [], [root_id]
    for s in spans:
        children.setdefault(s["parent"], []).append(s)
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child["span_id"])
    return out


def texts(value, out):
    """Every string of at least 12 characters in a decoded JSON answer (page content and the like)."""
    if isinstance(value, dict):
        for v in value.values():
            texts(v, out)
    elif isinstance(value, list):
        for v in value:
            texts(v, out)
    elif isinstance(value, str) and len(value) >= 12:
        out.add(value)
    return out


# --- the checks -----------------------------------------------------------------------------------


def request_traces(receiver, gateway):
    routes = {
        "rest": "/interact/agent/version/{version}/account/{accountID}/interactiondata/{id}/fullFlow",
        "soap": SOAP_PATH,
        "context": "/interactions/{interaction_id}",
    }
    secrets_seen = {KEY, FLOW_ID, CS_ID}
    all_spans = []
    for kind in ("rest", "soap", "context"):
        for joined in (True, False):
            client_trace, client_span, traceparent = new_traceparent()
            status, headers, body = call(gateway, kind, traceparent if joined else None)
            check(status == 200, f"{kind}: answered 200", f"{status} {body[:200]!r}")
            if kind != "soap":
                secrets_seen |= texts(json.loads(body), set())
            trace_id, span_id = answer_traceparent(headers)
            what = f"{kind} {'with' if joined else 'without'} traceparent"
            if joined:
                check(trace_id == client_trace, f"{what}: the gateway joins the client's trace")
            else:
                check(trace_id != client_trace, f"{what}: a new trace")

            def complete(spans):
                server = [s for s in spans if s["span_id"] == span_id]
                return server and len(descendants(spans, span_id)) >= (4 if kind == "soap" else 2)

            spans = receiver.trace(trace_id, complete)
            all_spans += spans
            server = [s for s in spans if s["span_id"] == span_id]
            check(len(server) == 1, f"{what}: the server span arrived", json.dumps(spans)[:2000])
            server = server[0]
            check(server["kind"] == SERVER and server["service"] == gateway.name, f"{what}: a server span of {gateway.name}")
            check(server["version"] is not None, f"{what}: the resource names the service's version")
            check(server["parent"] == (client_span if joined else ""), f"{what}: its parent is the client's span (or none)",
                  server["parent"])
            attributes = server["attributes"]
            check(attributes.get("http.route") == routes[kind], f"{what}: http.route is the route's template",
                  attributes.get("http.route"))
            check(attributes.get("http.request.method") == ("POST" if kind == "soap" else "GET")
                  and attributes.get("http.response.status_code") == 200 and attributes.get("ixgw.tenant") == TENANT,
                  f"{what}: method, status and tenant", json.dumps(attributes))
            check(server["name"] == f"{'POST' if kind == 'soap' else 'GET'} {routes[kind]}", f"{what}: named by method and route",
                  server["name"])
            operation = attributes.get("ixgw.operation", "")
            check(operation != "", f"{what}: the vendor operation ({operation})")
            below = descendants(spans, span_id)
            names = {s["name"] for s in below}
            check("key check" in names, f"{what}: the key check is a child", sorted(names))
            db = [s for s in below if "db.system.name" in s["attributes"]]
            check(db and all(s["attributes"]["db.system.name"] == "sqlite" and s["attributes"].get("db.operation.name")
                             for s in db), f"{what}: store calls are children, named ({sorted({s['name'] for s in db})})")
            key_checks = {s["span_id"] for s in below if s["name"] == "key check"}
            check(any(s["name"] == "key_by_digest" and s["parent"] in key_checks for s in db),
                  f"{what}: the key check's store call is its child",
                  json.dumps([(s["name"], s["parent"]) for s in below]))
            if kind == "soap":
                check({"soap read", "soap write"} <= names, f"{what}: SOAP envelope reading and reply writing are children",
                      sorted(names))
            line = next((l for l in gateway.log_lines() if l.get("message") == "request" and l.get("trace_id") == trace_id), None)
            check(line is not None and line.get("status") == 200, f"{what}: the request's log line names the trace")

    values = [str(v) for s in all_spans for v in list(s["attributes"].values()) + [s["name"]]]
    leaked = sorted({secret for secret in secrets_seen for v in values if secret in v})
    check(not leaked, f"no key, path id or page content in any of {len(all_spans)} spans' attributes "
                      f"({len(secrets_seen)} strings looked for)", leaked)


def shadow_trace(receiver, shadow):
    client_trace, client_span, traceparent = new_traceparent()
    status, headers, _ = call(shadow, "rest", traceparent)
    check(status == 200, "shadow: the vendor's answer, 200")
    trace_id, span_id = answer_traceparent(headers)
    check(trace_id == client_trace, "shadow: the trace is the client's")

    def complete(spans):
        return any(s["service"] == "vendor" and s["kind"] == SERVER for s in spans) and any(
            s["kind"] == CLIENT and s["service"] == "shadow" for s in spans)

    spans = receiver.trace(trace_id, complete)
    server = [s for s in spans if s["span_id"] == span_id and s["kind"] == SERVER and s["service"] == "shadow"]
    check(len(server) == 1 and server[0]["parent"] == client_span, "shadow: the answer names the gateway's server span")
    upstream = [s for s in descendants(spans, span_id) if s["kind"] == CLIENT and "server.address" in s["attributes"]]
    check(len(upstream) == 1, "shadow: the call to the vendor is a client span under the request's",
          json.dumps(spans)[:2000])
    upstream = upstream[0]
    check(upstream["attributes"].get("http.response.status_code") == 200
          and upstream["attributes"].get("server.address") == "127.0.0.1",
          "shadow: the client span names the vendor's host and status", json.dumps(upstream["attributes"]))
    vendor = [s for s in spans if s["service"] == "vendor" and s["kind"] == SERVER]
    check(len(vendor) == 1 and vendor[0]["parent"] == upstream["span_id"],
          "shadow: the vendor's server span continues the gateway's client span (traceparent passed on)",
          f"{json.dumps(vendor)}; the vendor's spans: {sum(s['service'] == 'vendor' for s in receiver.spans)}")


def pull_trace(receiver, vendor, work, endpoint):
    database = f"sqlite://{work}/pulled.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "IXGW_"))}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_SERVICE_NAME="pull")
    ids = os.path.join(work, "ids.txt")
    with open(ids, "w") as f:
        f.write(FLOW_ID + "\n")
    subprocess.run([BIN, "--database", database, "tenant", "add", TENANT], env=env, check=True, capture_output=True,
                   timeout=60)
    pulled = subprocess.run([BIN, "--database", database, "pull", "interact", "--from", vendor.base, "--tenant", TENANT,
                             "--key", KEY, "--ids", ids], env=env, capture_output=True, text=True, timeout=120)
    check(pulled.returncode == 0, "pull: one interaction pulled from the vendor", pulled.stdout + pulled.stderr)
    with receiver.lock:
        roots = [s for s in receiver.spans if s["service"] == "pull" and s["name"] == "ixgw pull"]
    check(len(roots) == 1 and roots[0]["parent"] == "", "pull: one trace, its root the pull (sent before it exits)",
          json.dumps([(s["name"], s["span_id"], s["parent"]) for s in receiver.spans if s["service"] == "pull"]) + pulled.stderr)

    def complete(spans):
        return any(s["service"] == "vendor" for s in spans)

    spans = receiver.trace(roots[0]["trace_id"], complete)
    clients = [s for s in descendants(spans, roots[0]["span_id"])
               if s["kind"] == CLIENT and s["service"] == "pull" and "server.address" in s["attributes"]]
    statuses = sorted(s["attributes"].get("http.response.status_code", 0) for s in clients)
    check(clients and all(statuses) and 200 in statuses,
          f"pull: each request to the source is a client span with the source's status ({statuses})")
    vendor_side = [s for s in spans if s["service"] == "vendor" and s["kind"] == SERVER]
    check(vendor_side and all(s["parent"] in {c["span_id"] for c in clients} for s in vendor_side),
          f"pull: the source's server spans continue them ({len(vendor_side)})")


def p99(samples):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def timed(gateway, n):
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        status, _, _ = call(gateway, "rest")
        samples.append(time.perf_counter() - started)
        check_quiet(status == 200, "a request answered while the receiver is away")
    return samples


def check_quiet(condition, what):
    if not condition:
        check(False, what)


def collector_away(receiver, gateway):
    n = 300
    timed(gateway, 50)
    up = p99(timed(gateway, n))
    port = receiver.port
    receiver.stop()
    down = p99(timed(gateway, n))
    bound = max(3 * up, up + 0.020)
    check(down <= bound, f"receiver stopped: p99 {down * 1000:.1f} ms against {up * 1000:.1f} ms with it up "
                         f"(bound {bound * 1000:.1f} ms)")
    for _ in range(100):
        failed = gateway.metric("ixgw_trace_spans_total", {"outcome": "dropped_export_failed"}) or 0
        if failed > 0:
            break
        time.sleep(0.1)
    check(failed > 0, f"receiver stopped: the spans it could not take are counted ({failed:.0f} dropped_export_failed)")
    # Hung: the port listens, nothing answers (the exporter waits on it, its queue fills).
    hung = socket.socket()
    hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hung.bind(("127.0.0.1", port))
    hung.listen(1024)
    try:
        time.sleep(1.5)
        stuck = p99(timed(gateway, n))
        check(stuck <= bound, f"receiver hung: p99 {stuck * 1000:.1f} ms (bound {bound * 1000:.1f} ms)")
        full = 0
        for _ in range(100):
            full = gateway.metric("ixgw_trace_spans_total", {"outcome": "dropped_queue_full"}) or 0
            if full > 0:
                break
            timed(gateway, 20)
        check(full > 0, f"receiver hung: spans that found the queue full are counted ({full:.0f} dropped_queue_full)")
    finally:
        hung.close()


def remembered_key(receiver, gateway):
    """A key check answered from the keys remembered (no store call) is not a span of its own; the
    one that asked the store is."""
    names = []
    for _ in range(2):
        status, headers, body = call(gateway, "rest")
        check(status == 200, "remembered key: answered 200", f"{status} {body[:200]!r}")
        trace_id, span_id = answer_traceparent(headers)
        spans = receiver.trace(trace_id, lambda spans: any(s["span_id"] == span_id for s in spans)
                               and any("db.system.name" in s["attributes"] and s["name"] == "flow" for s in spans))
        names.append({s["name"] for s in descendants(spans, span_id)})
    check("key check" in names[0], "remembered key: the first request's key check asks the store, in a span",
          sorted(names[0]))
    check("key check" not in names[1] and "flow" in names[1],
          "remembered key: the next request's key check, from memory, is no span", sorted(names[1]))


def main():
    receiver = Receiver()
    endpoint = f"http://127.0.0.1:{receiver.port}"
    gateways = []
    with tempfile.TemporaryDirectory(prefix="ixgw-otel-") as work:
        try:
            # Keys never remembered: every request's key check asks the store, so each has its span.
            plain = Gateway("ixgw", work, {"IXGW_TELEMETRY_OTLP_ENDPOINT": endpoint, "IXGW_TELEMETRY_QUEUE": "64",
                                           "IXGW_SERVER_KEY_CACHE_MS": "0"})
            gateways.append(plain)
            vendor = Gateway("vendor", work, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
            gateways.append(vendor)
            shadow = Gateway("shadow", work, {
                "IXGW_TELEMETRY_OTLP_ENDPOINT": endpoint,
                "IXGW_UPSTREAM_MODE": "shadow",
                "IXGW_UPSTREAM_INTERACT": vendor.base,
                "IXGW_UPSTREAM_CONTEXT_SERVICES": vendor.base + "/genesys/1/cs",
            })
            gateways.append(shadow)
            cached = Gateway("cached", work, {"IXGW_TELEMETRY_OTLP_ENDPOINT": endpoint,
                                              "IXGW_SERVER_KEY_CACHE_MS": "600000"})
            gateways.append(cached)
            request_traces(receiver, plain)
            remembered_key(receiver, cached)
            shadow_trace(receiver, shadow)
            pull_trace(receiver, vendor, work, endpoint)
            collector_away(receiver, plain)
        finally:
            for gateway in gateways:
                gateway.stop()
            if os.environ.get("KEEP_LOGS"):
                for gateway in gateways:
                    print(open(gateway.log_path).read()[-3000:], file=sys.stderr)
    print(f"all {checks} trace checks passed")


if __name__ == "__main__":
    main()
