#!/usr/bin/env python3
"""Hostile inputs against a running gateway (docs/RELIABILITY.md, the first two rows of the
reliability table): every case must get the right status (and, for SOAP, the right fault) within
the time limit, the server's resident memory must grow by less than 50 MB over the run, and the
server must still be alive and serving at the end.

    hostile.py BASE_URL SERVER_PID [--rounds N] [--json FILE]

Run by scripts/reliability/hostile, which starts a release `ixgw serve --demo` for it.
Standard library only.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

TENANT = "12345678"
KEY = "demo-application-key"
SOAP = "/interact/version/2/interactiondata/soap"
ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"
TNS = "http://com/jacada/interact/interactiondata/soap"
INTERACT = f"/interact/agent/version/2/account/{TENANT}"
SOAP_LIMIT_MS = 100.0
RSS_LIMIT_MB = 50.0


def by_uuid(uid):
    return f'<t:GetInteractionFullFlowByUUIDRequest xmlns:t="{TNS}"><t:uniqueId>{uid}</t:uniqueId></t:GetInteractionFullFlowByUUIDRequest>'


def env11(body, header=""):
    return f'<s:Envelope xmlns:s="{ENV11}">{header}<s:Body>{body}</s:Body></s:Envelope>'


def billion_laughs():
    dtd = '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    for i in range(1, 10):
        prev = "" if i == 1 else str(i - 1)
        dtd += f'<!ENTITY lol{i} "{("&lol" + prev + ";") * 10}">'
    return dtd + "]>" + env11("<lolz>&lol9;</lolz>")


class Case:
    def __init__(self, surface, name, method, path, body=b"", headers=None, status=None, expect=(), limit_ms=None, chunked=False):
        self.surface = surface
        self.name = name
        self.method = method
        self.path = path
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = headers or {}
        self.status = status
        self.expect = expect  # substrings of the answer (status line, headers and body)
        self.limit_ms = limit_ms
        self.chunked = chunked


def soap_cases():
    xml11 = {"Content-Type": "text/xml; charset=utf-8", "Tenant-Id": TENANT, "Application-Key": KEY}
    client = ("<faultcode>SOAP-ENV:Client</faultcode>",)
    big = 100 * 1024 * 1024
    cases = [
        ("DTD / XXE", f'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{env11(by_uuid("&xxe;"))}', 500, client + ("DOCTYPE is not allowed",)),
        ("billion laughs", billion_laughs(), 500, client + ("DOCTYPE is not allowed",)),
        ("quadratic attributes (50 000 distinct)", env11("<x" + "".join(f' a{i}="x"' for i in range(50_000)) + "/>"), 500, client + ("more than 64 attributes",)),
        ("quadratic attributes (100 000 duplicates)", env11("<x" + ' a="x"' * 100_000 + "/>"), 500, client + ("not well-formed",)),
        ("100 000-deep nesting", env11("<a>" * 100_000 + "</a>" * 100_000), 500, client + ("nested deeper than 64",)),
        ("namespace flood (20 000 on one element)", env11("<x" + "".join(f' xmlns:p{i}="urn:{i}"' for i in range(20_000)) + "/>"), 500, client + ("namespace declarations",)),
        ("namespace flood (1 000 levels of 10)", env11("".join("<y" + "".join(f' xmlns:q{d}x{i}="urn:{d}:{i}"' for i in range(10)) + ">" for d in range(1000)) + "</y>" * 1000), 500, client),
        ("invalid UTF-8", env11("<x>").encode() + b"\xff\xfe" + env11("</x>").encode(), 500, client + ("not valid UTF-8",)),
        ("wrong envelope namespace", f'<e:Envelope xmlns:e="http://example.com/envelope"><e:Body>{by_uuid("1")}</e:Body></e:Envelope>', 500, ("<faultcode>SOAP-ENV:VersionMismatch</faultcode>",)),
        ("missing Body", f'<s:Envelope xmlns:s="{ENV11}"><s:Header/></s:Envelope>', 500, client + ("the Envelope has no Body",)),
        ("double Body", f'<s:Envelope xmlns:s="{ENV11}"><s:Body>{by_uuid("1")}</s:Body><s:Body>{by_uuid("1")}</s:Body></s:Envelope>', 500, client + ("more than one Body",)),
    ]
    out = [Case("soap", name, "POST", SOAP, body, xml11, status, expect, SOAP_LIMIT_MS) for name, body, status, expect in cases]
    out += [
        Case("soap", "100 MB body (declared)", "POST", SOAP, b"<" * big, xml11, 413, client + ("larger than",), SOAP_LIMIT_MS),
        Case("soap", "100 MB body (chunked, no length)", "POST", SOAP, b"<" * big, xml11, 413, client + ("larger than",), SOAP_LIMIT_MS, chunked=True),
        Case("soap", "version / content-type mismatch (1.1 envelope as 1.2)", "POST", SOAP, env11(by_uuid("040100713")),
             {**xml11, "Content-Type": "application/soap+xml; charset=utf-8"}, 500, ("VersionMismatch",), SOAP_LIMIT_MS),
        Case("soap", "version / content-type mismatch (1.2 envelope as 1.1)", "POST", SOAP,
             f'<s:Envelope xmlns:s="{ENV12}"><s:Body>{by_uuid("040100713")}</s:Body></s:Envelope>', xml11, 500, ("VersionMismatch",), SOAP_LIMIT_MS),
        Case("soap", "SOAPAction mismatch", "POST", SOAP, env11(by_uuid("040100713")),
             {**xml11, "SOAPAction": f'"{TNS}/GetVariableSetByUUID"'}, 500, client + ("SOAP action names the operation",), SOAP_LIMIT_MS),
        Case("soap", "unknown mustUnderstand header", "POST", SOAP,
             env11(by_uuid("040100713"), header='<s:Header><h:Trace xmlns:h="urn:x" s:mustUnderstand="1"/></s:Header>'),
             xml11, 500, ("<faultcode>SOAP-ENV:MustUnderstand</faultcode>",), SOAP_LIMIT_MS),
        Case("soap", "control: a valid request", "POST", SOAP, env11(by_uuid("040100713")), xml11, 200, ("GetInteractionFullFlowByUUIDResponse",), SOAP_LIMIT_MS),
    ]
    return out


def rest_cases():
    h = {"Tenant-Id": TENANT, "Application-Key": KEY}
    cs = {"ContactCenterId": TENANT, "Application-Key": KEY}
    text404 = "was not found"
    cs404 = "ContextServicesNotFoundException"
    q = urllib.parse.quote
    return [
        Case("interact-rest", "path traversal in an id (encoded)", "GET", f"{INTERACT}/interactiondata/..%2F..%2F..%2Fetc%2Fpasswd/fullFlow", headers=h, status=404, expect=("history for UUID ../../../etc/passwd was not found",)),
        Case("interact-rest", "path traversal in an id (raw ..)", "GET", f"{INTERACT}/interactiondata/../../../../etc/passwd/fullFlow", headers=h, status=404),
        Case("interact-rest", "path traversal in a photo path", "GET", f"{INTERACT}/photo/040100713/..%252F..%252F..%252Fetc%252Fpasswd", headers=h, status=404, expect=("photo was not found",)),
        Case("interact-rest", "path traversal in a photo uid", "GET", f"{INTERACT}/photo/..%2F..%2Fetc/%252Fmnt%252Fsdcard%252Fhome%252Fdownloads%252Fi1152998579", headers=h, status=404, expect=("photo was not found",)),
        Case("interact-rest", "huge id (8 KB)", "GET", f"{INTERACT}/interactiondata/{'9' * 8192}/fullFlow", headers=h, status=404, expect=(text404,)),
        Case("interact-rest", "huge id (1 MB URL)", "GET", f"{INTERACT}/interactiondata/{'9' * 1_000_000}/fullFlow", headers=h, status=431),
        Case("interact-rest", "huge caller attribute (8 KB)", "GET", f"{INTERACT}/interactiondata/{'h' * 8192}/fullFlow/byCallerAttribute", headers=h, status=404, expect=(text404,)),
        Case("interact-rest", "bad percent-encoding in an id (%zz)", "GET", f"{INTERACT}/interactiondata/%zz%/fullFlow", headers=h, status=404, expect=(text404,)),
        Case("interact-rest", "percent-encoded invalid UTF-8 in an id", "GET", f"{INTERACT}/interactiondata/%FF%FE/fullFlow", headers=h, status=404, expect=(text404,)),
        Case("interact-rest", "percent-encoded invalid UTF-8 in a photo path", "GET", f"{INTERACT}/photo/040100713/%25FF%25FE", headers=h, status=400, expect=("missing or invalid parameter path",)),
        Case("interact-rest", "bad percent-encoding in a query", "GET", f"{INTERACT}/interactiondata/040100713/fullFlow?widerSearch=%zz", headers=h, status=400, expect=("missing or invalid parameter widerSearch",)),
        Case("interact-rest", "SQL metacharacters in an id", "GET", f"{INTERACT}/interactiondata/{q(chr(39) + ' OR ' + chr(39) + '1' + chr(39) + '=' + chr(39) + '1', safe='')}/fullFlow", headers=h, status=404, expect=("history for UUID ' OR '1'='1 was not found",)),
        Case("interact-rest", "SQL metacharacters in a caller attribute", "GET", f"{INTERACT}/interactiondata/{q('x; DROP TABLE interactions;--', safe='')}/fullFlow/byCallerAttribute", headers=h, status=404, expect=("history for attribute x; DROP TABLE interactions;-- was not found",)),
        Case("interact-rest", "SQL metacharacters in widerSearch", "GET", f"{INTERACT}/interactiondata/040100713/fullFlow?widerSearch={q(chr(39) + ' OR 1=1--')}", headers=h, status=400, expect=("missing or invalid parameter widerSearch",)),
        Case("interact-rest", "SQL metacharacters in Tenant-Id", "GET", f"{INTERACT}/interactiondata/040100713/fullFlow", headers={**h, "Tenant-Id": "' OR 1=1--"}, status=401, expect=("unauthenticated-reason: Tenant-Id does not match account",)),
        Case("interact-rest", "unknown method PROPFIND", "PROPFIND", f"{INTERACT}/interactiondata/040100713/fullFlow", headers=h, status=405, expect=("allow: GET",)),
        Case("interact-rest", "unknown method FOO", "FOO", f"{INTERACT}/interactiondata/040100713/fullFlow", headers=h, status=405, expect=("allow: GET",)),
        Case("interact-rest", "control: a valid request", "GET", f"{INTERACT}/interactiondata/040100713/fullFlow", headers=h, status=200, expect=("pageNavigation",)),
        Case("context-services", "path traversal in an interaction id", "GET", "/interactions/..%2F..%2Fetc%2Fpasswd", headers=cs, status=404, expect=(cs404,)),
        Case("context-services", "path traversal in a content path", "GET", "/interactions/00001a57JGQ00BW8/..%2F..%2Fetc%2Fpasswd", headers=cs, status=404),
        Case("context-services", "huge customer id (8 KB)", "GET", f"/customers/{'c' * 8192}/interactions", headers=cs, status=200, expect=("\r\n\r\n[]",)),
        Case("context-services", "SQL metacharacters in an interaction id", "GET", f"/interactions/{q(chr(39) + '; DROP TABLE interactions;--', safe='')}", headers=cs, status=404, expect=(cs404,)),
        Case("context-services", "SQL metacharacters in a service id", "GET", f"/services/{q('1 OR 1=1', safe='')}/interactions", headers=cs, status=400, expect=("ContextServicesInvalidParameterException",)),
        Case("context-services", "SQL metacharacters in ContactCenterId", "GET", "/interactions/00001a57JGQ00BW8", headers={**cs, "ContactCenterId": "x' OR '1'='1"}, status=400, expect=("not configured",)),
        Case("context-services", "bad percent-encoding in a query", "GET", "/customers/00001a57JGQ00BVU/interactions?limit=%zz", headers=cs, status=400, expect=("'limit'",)),
        Case("context-services", "unknown method TRACE", "TRACE", "/interactions/00001a57JGQ00BW8", headers=cs, status=405, expect=("allow: GET",)),
        Case("ingest", "path traversal in an id", "DELETE", "/v1/interactions/..%2F..%2Fetc%2Fpasswd", headers={"Application-Key": KEY}, status=403),
        Case("ingest", "unknown method PATCH", "PATCH", "/v1/interactions", headers={"Application-Key": KEY}, status=405, expect=("allow: POST",)),
        Case("ops", "unknown route", "GET", "/../../etc/passwd", status=404),
    ]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def send(host, port, case):
    """One request on a fresh connection, its body sent by a second thread while this one waits for
    the answer (a server that answers before reading a hostile body is not held up by the client);
    (status, answer text, milliseconds to the first byte of the answer)."""
    sock = socket.create_connection((host, port), timeout=60)
    head = [f"{case.method} {case.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in case.headers.items()]
    if case.chunked:
        head.append("Transfer-Encoding: chunked")
    elif case.body or case.method in ("POST", "PUT"):
        head.append(f"Content-Length: {len(case.body)}")
    started = time.perf_counter()

    def write():
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            if case.chunked:
                step = 1 << 20
                for at in range(0, len(case.body), step):
                    part = case.body[at:at + step]
                    sock.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            elif case.body:
                sock.sendall(case.body)
        except OSError:
            pass  # the server answered and closed before reading it all

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        first = sock.recv(65536)
        elapsed = (time.perf_counter() - started) * 1000
        chunks = [first]
        while chunks[-1]:
            try:
                chunks.append(sock.recv(65536))
            except (ConnectionResetError, socket.timeout):
                break
    finally:
        sock.close()
        writer.join(timeout=5)
    raw = b"".join(chunks)
    if not raw:
        return 0, "no answer (connection closed)", elapsed
    head_text, _, body = raw.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    text = lines[0] + "\r\n" + "".join(f"{l.split(':', 1)[0].lower()}:{l.split(':', 1)[1]}\r\n" for l in lines[1:] if ":" in l)
    return status, text + "\r\n" + body.decode("utf-8", "replace"), elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("pid", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--no-time-limit", action="store_true",
                        help="report latencies without failing on them (the test command: timing is the benchmark's business)")
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.base)
    cases = soap_cases() + rest_cases()
    rss_start = rss_kib(args.pid)
    rss_peak = rss_start
    results, failures = [], []
    for case in cases:
        times, outcome = [], None
        for _ in range(args.rounds):
            try:
                status, text, ms = send(url.hostname, url.port, case)
            except Exception as e:  # the server must answer every case
                status, text, ms = 0, f"no answer: {e!r}", 0.0
            times.append(ms)
            rss_peak = max(rss_peak, rss_kib(args.pid))
            wrong = []
            if status != case.status:
                wrong.append(f"status {status}, expected {case.status}")
            wrong += [f"missing {e!r}" for e in case.expect if e not in text]
            if case.limit_ms is not None and ms > case.limit_ms and not args.no_time_limit:
                wrong.append(f"{ms:.1f} ms > {case.limit_ms:.0f} ms")
            if wrong:
                outcome = "; ".join(wrong) + f" — answer: {text[:300]!r}"
        worst = max(times)
        results.append({"surface": case.surface, "case": case.name, "status": case.status,
                        "median_ms": sorted(times)[len(times) // 2], "max_ms": worst, "ok": outcome is None})
        print(f"{'ok  ' if outcome is None else 'FAIL'} {case.surface:16} {case.name:55} {case.status}  max {worst:7.1f} ms")
        if outcome:
            failures.append(f"{case.surface} / {case.name}: {outcome}")
    rss_end = rss_kib(args.pid)
    try:
        os.kill(args.pid, 0)
        alive = True
    except OSError:
        alive = False
    growth_mb = (rss_end - rss_start) / 1024
    peak_growth_mb = (rss_peak - rss_start) / 1024
    summary = {"cases": len(cases), "rounds": args.rounds, "failed": len(failures), "rss_start_mb": rss_start / 1024,
               "rss_end_mb": rss_end / 1024, "rss_peak_mb": rss_peak / 1024, "rss_growth_mb": growth_mb,
               "rss_peak_growth_mb": peak_growth_mb, "server_alive": alive,
               "slowest_soap_ms": max(r["max_ms"] for r in results if r["surface"] == "soap"),
               "slowest_rest_ms": max(r["max_ms"] for r in results if r["surface"] != "soap")}
    print(f"\n{len(cases)} cases x {args.rounds} rounds: {len(failures)} failed; server RSS {rss_start / 1024:.1f} MB -> "
          f"{rss_end / 1024:.1f} MB (peak {rss_peak / 1024:.1f} MB, growth {growth_mb:+.1f} MB, peak growth {peak_growth_mb:+.1f} MB); "
          f"slowest SOAP case {summary['slowest_soap_ms']:.1f} ms; server {'alive' if alive else 'DEAD'}")
    if peak_growth_mb >= RSS_LIMIT_MB:
        failures.append(f"server RSS grew by {peak_growth_mb:.1f} MB (limit {RSS_LIMIT_MB:.0f} MB)")
    if not alive:
        failures.append("the server died")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "results": results, "failures": failures}, f, indent=1)
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
