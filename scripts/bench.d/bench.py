#!/usr/bin/env python3
"""The benchmark of docs/PERFORMANCE.md (run it as scripts/bench; --help lists the options).

Builds the release binary, generates a synthetic history through the public import path
(generate.py into a file, then `ixgw import FILE`), starts the gateway on it, drives every scenario with wrk
(fixed concurrency, fixed time, keep-alive), prints one table and writes it as JSON under
bench/results/.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOAP_PATH = "/interact/version/2/interactiondata/soap"
SOAP_NS = "http://com/jacada/interact/interactiondata/soap"
ENVELOPE = {
    "1.1": ("http://schemas.xmlsoap.org/soap/envelope/", "text/xml; charset=utf-8"),
    "1.2": ("http://www.w3.org/2003/05/soap-envelope", "application/soap+xml; charset=utf-8"),
}
TARGETS = {
    # scenario: (the bound, what it is measured against in the same run) — the quality spec's targets:
    # each route beside its floor, by caller attribute beside by id, and the faces beside REST.
    "rest_flow_by_id": (0.9, "floor_flow"),
    "rest_flow_by_attribute": (0.9, "rest_flow_by_id"),
    "soap11_flow_by_id": (0.9, "floor_soap"),
    "soap12_flow_by_id": (0.9, "floor_soap"),
    "context_by_id": (0.9, "floor_context"),
}
# (scenario, bound, against): the secondary ratios of the same spec.
FACE_TARGETS = [
    ("soap11_flow_by_id", 0.75, "rest_flow_by_id"),
    ("soap12_flow_by_id", 0.75, "rest_flow_by_id"),
    ("context_by_id", 1.2, "rest_flow_by_id"),
]
# The routes whose p99 must stay within 5 ms at 32 connections.
P99_ROUTES = ["rest_flow_by_id", "rest_flow_by_attribute", "soap11_flow_by_id", "soap12_flow_by_id", "context_by_id"]


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def listening_address(proc, seconds, what):
    """The address `ixgw serve --listen 127.0.0.1:0` prints once it listens (`listening on http://…`),
    read from `proc`'s stdout (a pipe, unbuffered); exits when it does not come."""
    deadline = time.monotonic() + seconds
    line = b""
    while time.monotonic() < deadline:
        if not select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        byte = proc.stdout.read(1)
        if not byte:
            sys.exit(f"{what} exited ({proc.wait()}) before it listened")
        if byte != b"\n":
            line += byte
        elif line.startswith(b"listening on "):
            return line[len(b"listening on "):].decode()
        else:
            line = b""
    sys.exit(f"{what} printed no address within {seconds} s")


def free_port():
    """A port for ixgw-floor and nginx, which do not say which port they bound."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, headers=None, timeout=2.0):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post(url, body, headers, timeout=5.0):
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --- the store ------------------------------------------------------------------------------------


class Store:
    """One history of `n` interactions on one backend, generated once and reused (marker file)."""

    def __init__(self, args, backend, n, pg_url):
        self.args, self.backend, self.n = args, backend, n
        tag = f"{backend}-{n}x{args.pages}-t{args.tenants}"
        self.dir = os.path.join(args.data, tag)
        self.marker = os.path.join(self.dir, "store.json")
        if backend == "sqlite":
            self.url = "sqlite://" + os.path.join(self.dir, "ixgw.db")
        else:
            base, _, _ = pg_url.rpartition("/")
            self.db = f"bench_{n}x{args.pages}_t{args.tenants}"
            self.admin_url = pg_url
            self.url = f"{base}/{self.db}"

    def ixgw(self, *cli, **kw):
        return run([self.args.bin, "--database", self.url, *cli], **kw)

    def ready(self):
        if self.args.fresh or not os.path.exists(self.marker):
            return None
        with open(self.marker) as f:
            info = json.load(f)
        if self.backend == "postgres":
            # The cluster may be a new one: the marker holds only if the database still has the rows.
            out = subprocess.run(["psql", self.url, "-tAc", "SELECT count(*) FROM interactions"], capture_output=True,
                                 text=True)
            if out.returncode != 0 or out.stdout.strip() != str(self.n):
                return None
        return info

    def build(self):
        info = self.ready()
        if info:
            log(f"reusing the {self.backend} store of {self.n} interactions ({self.dir})")
            info["reused"] = True
            return info
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        if self.backend == "postgres":
            run(["psql", self.admin_url, "-qc", f"DROP DATABASE IF EXISTS {self.db}"])
            run(["psql", self.admin_url, "-qc", f"CREATE DATABASE {self.db}"])
        self.ixgw("migrate", stdout=subprocess.DEVNULL)
        keys = {}
        for t in range(self.args.tenants):
            account = str(70000001 + t)
            self.ixgw("tenant", "add", account, "--name", f"bench-{t}", "--environment", "production",
                      stdout=subprocess.DEVNULL)
            out = self.ixgw("key", "add", "--tenant", account, "--scope", "read", capture_output=True, text=True)
            keys[account] = out.stdout.strip().splitlines()[-1]
        now = int(time.time() * 1000)
        # The history is generated into a file first, so that the import rate is the gateway's alone
        # (on 2 cores a generator piped in takes a fifth of the import's time from it).
        records = os.path.join(self.dir, "records.ndjson")
        log(f"generating {self.n} interactions x {self.args.pages} pages ({records})")
        with open(records, "wb") as out:
            subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), "records", str(self.n), "--now",
                            str(now), "--tenants", str(self.args.tenants), "--pages", str(self.args.pages)],
                           stdout=out, check=True)
        log(f"importing them into {self.backend} (ixgw import FILE)")
        start = time.monotonic()
        imp = subprocess.run([self.args.bin, "--database", self.url, "import", records], capture_output=True, text=True)
        seconds = time.monotonic() - start
        os.remove(records)
        if imp.returncode != 0:
            sys.exit(f"import failed: {imp.stderr[-2000:]}")
        m = re.search(r"(\d+) accepted, (\d+) rejected", imp.stdout)
        accepted, rejected = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
        if accepted != self.n or rejected:
            sys.exit(f"import: {accepted} accepted, {rejected} rejected (expected {self.n}): {imp.stderr[-2000:]}")
        info = {
            "interactions": self.n,
            "pages": self.n * self.args.pages,
            "tenants": self.args.tenants,
            "now_ms": now,
            "keys": keys,
            "import_seconds": round(seconds, 2),
            "import_pages_per_s": round(self.n * self.args.pages / seconds),
            "import_interactions_per_s": round(self.n / seconds),
            "store_bytes": self.size(),
        }
        with open(self.marker, "w") as f:
            json.dump(info, f, indent=1)
        info["reused"] = False
        log(f"imported in {seconds:.1f} s: {info['import_pages_per_s']} pages/s")
        return info

    def size(self):
        if self.backend == "sqlite":
            return sum(os.path.getsize(os.path.join(self.dir, f)) for f in os.listdir(self.dir))
        out = subprocess.run(["psql", self.url, "-tAc", f"SELECT pg_database_size('{self.db}')"], capture_output=True,
                             text=True)
        return int(out.stdout.strip() or 0)


# --- the gateway ----------------------------------------------------------------------------------


class Gateway:
    def __init__(self, args, store, label, env=None):
        self.args, self.store, self.label, self.env = args, store, label, env or {}
        self.log_path = os.path.join(store.dir, f"server-{label}.log")

    def start(self):
        env = dict(os.environ)
        env.update(self.args.server_env)
        env.update(self.env)
        self.logf = open(self.log_path, "w")
        started = time.monotonic()
        self.proc = subprocess.Popen([self.args.bin, "--database", self.store.url, "serve", "--listen", "127.0.0.1:0"],
                                     env=env, stdout=subprocess.PIPE, stderr=self.logf, bufsize=0)
        self.base = listening_address(self.proc, 120, f"gateway {self.label} (see {self.log_path})")
        self.port = int(self.base.rsplit(":", 1)[1])
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"the gateway exited ({self.proc.returncode}); see {self.log_path}")
            try:
                status, _ = http_get(self.base + "/readyz", timeout=0.5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - started > 120:
                sys.exit("the gateway was not ready within 120 s")
            time.sleep(0.005)
        self.startup_s = time.monotonic() - started
        log(f"gateway {self.label} ready on {self.base} in {self.startup_s * 1000:.0f} ms")
        return self

    def rss_kb(self, field="VmRSS"):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_s(self):
        """User + system CPU time the gateway has used so far."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.logf.close()


class Floor(Gateway):
    """`ixgw-floor` on the same store: the flow's read and bytes behind a bare actix handler."""

    def start(self):
        env = dict(os.environ)
        env.update(self.args.server_env)
        self.logf = open(self.log_path, "w")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([self.args.floor_bin, self.store.url, f"127.0.0.1:{self.port}"], env=env,
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"ixgw-floor did not start; see {self.log_path}")
                time.sleep(0.01)


class RssSampler:
    """Peak resident set of the given processes (summed) while a scenario runs."""

    def __init__(self, gateways):
        self.gateways, self.peak, self.stopped = gateways, 0, threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def loop(self):
        while not self.stopped.is_set():
            self.peak = max(self.peak, sum(g.rss_kb() for g in self.gateways))
            self.stopped.wait(0.1)

    def __exit__(self, *_):
        self.stopped.set()
        self.thread.join()


# --- scenarios ------------------------------------------------------------------------------------


def soap_body(version, unique_id):
    ns, _ = ENVELOPE[version]
    return (f'<e:Envelope xmlns:e="{ns}" xmlns:s="{SOAP_NS}"><e:Header/><e:Body>'
            f"<s:GetInteractionFullFlowByUUIDRequest><s:uniqueId>{unique_id}</s:uniqueId>"
            f"</s:GetInteractionFullFlowByUUIDRequest></e:Body></e:Envelope>")


def scenario_requests(name, targets, keys):
    """(method, path, body, headers) for every sample target of a scenario. A floor is sent the
    request its routes are sent (the same headers; for the SOAP floors the same envelope, POSTed):
    receiving it is the machine's and actix-web's work, which the floor is there to measure; what
    the gateway then does with it (the key check, reading the envelope) is not."""
    out = []
    for t in targets:
        key = keys[t["tenant"]]
        interact = {"Tenant-Id": t["tenant"], "Application-Key": key}
        account = f"/interact/agent/version/2/account/{t['tenant']}/interactiondata"
        context = {"ContactCenterId": t["tenant"], "Application-Key": key}
        soap11 = ("POST", soap_body("1.1", t["id"]), dict(interact, **{"Content-Type": ENVELOPE["1.1"][1]}))
        if name == "healthz":
            out.append(("GET", "/healthz", "", {}))
        elif name == "floor_bytes":
            out.append(("GET", f"/bytes/{t['tenant']}/{t['id']}", "", interact))
        elif name == "floor_flow":
            out.append(("GET", f"/flow/{t['tenant']}/{t['id']}", "", interact))
        elif name == "floor_soap":
            out.append((soap11[0], f"/soap/{t['tenant']}/{t['id']}", soap11[1], soap11[2]))
        elif name == "floor_xml":
            out.append((soap11[0], f"/xml/{t['tenant']}/{t['id']}", soap11[1], soap11[2]))
        elif name == "floor_context":
            out.append(("GET", f"/context/{t['tenant']}/{t['id']}", "", context))
        elif name == "rest_flow_by_id":
            out.append(("GET", f"{account}/{t['id']}/fullFlow", "", interact))
        elif name == "rest_flow_by_attribute":
            out.append(("GET", f"{account}/{t['history']}/fullFlow/byCallerAttribute", "", interact))
        elif name in ("soap11_flow_by_id", "soap12_flow_by_id"):
            version = "1.1" if name == "soap11_flow_by_id" else "1.2"
            headers = dict(interact, **{"Content-Type": ENVELOPE[version][1]})
            out.append(("POST", SOAP_PATH, soap_body(version, t["id"]), headers))
        elif name == "context_by_id":
            out.append(("GET", f"/interactions/{t['id']}", "", context))
        elif name == "context_customer_list":
            out.append(("GET", f"/customers/{t['customer']}/interactions", "", context))
        else:
            raise ValueError(name)
    return out


# The floor each route is measured beside (`ratio_to_floor`); any other route's is floor_flow.
FLOOR_OF = {"soap11_flow_by_id": "floor_soap", "soap12_flow_by_id": "floor_soap", "context_by_id": "floor_context"}


def floor_of(scenario):
    return FLOOR_OF.get(scenario, "floor_flow")


SCENARIOS = ["healthz", "floor_bytes", "floor_flow", "floor_soap", "floor_xml", "floor_context", "rest_flow_by_id", "rest_flow_by_attribute", "soap11_flow_by_id", "soap12_flow_by_id",
             "context_by_id", "context_customer_list"]


def check(base, requests):
    """Every sample answers 200 with a body before it is timed (a benchmark of errors is no benchmark)."""
    digest = hashlib.sha256()
    for method, path, body, headers in requests[:50]:
        if method == "GET":
            status, reply = http_get(base + path, headers, timeout=10)
        else:
            status, reply = http_post(base + path, body, headers, timeout=10)
        if status != 200 or not reply:
            sys.exit(f"{method} {path} answered {status}: {reply[:300]!r}")
        digest.update(reply)
    return digest.hexdigest()


def write_requests(path, requests):
    with open(path, "w") as f:
        for method, p, body, headers in requests:
            fields = [method, p, body] + [f"{k}: {v}" for k, v in headers.items()]
            assert all("\t" not in x and "\n" not in x for x in fields)
            f.write("\t".join(fields) + "\n")


def wrk(args, url, requests_file, duration, delay_ms=None):
    script = "paced.lua" if delay_ms else "requests.lua"
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration}s", "--latency",
           "-s", os.path.join(HERE, script), url, "--", requests_file] + ([str(delay_ms)] if delay_ms else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        sys.exit(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(line[6:])


def measure(args, name, url, gateways, requests_file, delay_ms=None):
    if args.warmup:
        wrk(args, url, requests_file, args.warmup, delay_ms)
    cpu_before = sum(g.cpu_s() for g in gateways)
    with RssSampler(gateways) as rss:
        r = wrk(args, url, requests_file, args.duration, delay_ms)
    cpu = sum(g.cpu_s() for g in gateways) - cpu_before
    errors = sum(v for k, v in r.items() if k.startswith("errors_"))
    row = {
        "scenario": name,
        "requests_per_s": round(r["requests"] / (r["duration_us"] / 1e6)),
        "p50_ms": round(r["p50_us"] / 1000, 2),
        "p99_ms": round(r["p99_us"] / 1000, 2),
        "errors": errors,
        "requests": r["requests"],
        "server_peak_rss_mb": round(rss.peak / 1024, 1),
        # CPU the gateway spent per request: steadier than req/s on a shared machine.
        "server_cpu_us_per_request": round(cpu * 1e6 / max(r["requests"], 1)),
    }
    log(f"{name}: {row['requests_per_s']} req/s, p99 {row['p99_ms']} ms, {errors} errors")
    return row


def run_scenarios(args, store, info, gateways, url, names, label):
    targets = json.loads(subprocess.run(
        [sys.executable, os.path.join(HERE, "generate.py"), "targets", str(store.n), "--now", str(info["now_ms"]),
         "--tenants", str(args.tenants), "--count", str(args.samples)], capture_output=True, text=True,
        check=True).stdout)
    rows = []
    floor = None
    try:
        for name in names:
            requests = scenario_requests(name, targets, info["keys"])
            # The floor scenarios are served by ixgw-floor, started on the same store when first needed.
            if name.startswith("floor_") and floor is None:
                floor = Floor(args, store, "floor").start()
            servers, base = ([floor], floor.base) if name.startswith("floor_") else (gateways, url)
            check(servers[0].base, requests)
            path = os.path.join(store.dir, f"{name}.requests")
            write_requests(path, requests)
            row = measure(args, name, base, servers, path)
            row["run"] = label
            rows.append(row)
    finally:
        if floor:
            floor.stop()
    healthz = next((r["requests_per_s"] for r in rows if r["scenario"] == "healthz"), None)
    for r in rows:
        r["ratio_to_healthz"] = round(r["requests_per_s"] / healthz, 3) if healthz else None
    return rows


# --- instructions per request (callgrind) -----------------------------------------------------------


def callgrind_totals(out_file):
    """The instruction count of a callgrind output file (its `totals:` or `summary:` line)."""
    with open(out_file) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    sys.exit(f"no totals in {out_file}")


def callgrind_run(args, store, requests, count, label):
    """Serves `count` of `requests` in turn on one keep-alive connection to a gateway (or, for a
    floor scenario, ixgw-floor) under callgrind (one worker), and returns the instructions the
    server executed, start to exit."""
    import http.client
    import signal
    out_file = os.path.join(store.dir, f"callgrind-{label}-{count}.out")
    # One worker; the key remembered for the whole run, so that no cache expiry lands at a random
    # request (valgrind makes a request take milliseconds).
    env = dict(os.environ, IXGW_SERVER_WORKERS="1", IXGW_SERVER_KEY_CACHE_MS="3600000", **args.server_env)
    with open(os.path.join(store.dir, f"callgrind-{label}.log"), "w") as logf:
        server = ([args.floor_bin, store.url, "127.0.0.1:0"] if label.startswith("floor_")
                  else [args.bin, "--database", store.url, "serve", "--listen", "127.0.0.1:0"])
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *server], env=env,
                                stdout=subprocess.PIPE, stderr=logf, bufsize=0)
        # The printed address, not an HTTP probe: a probe would add requests to the count.
        port = int(listening_address(proc, 300, f"the gateway under callgrind (see {logf.name})").rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(count):
            method, path, body, headers = requests[i % len(requests)]
            conn.request(method, path, body=body.encode() if body else None, headers=headers)
            reply = conn.getresponse()
            reply.read()
            if reply.status != 200:
                sys.exit(f"{method} {path} answered {reply.status} under callgrind")
        conn.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    return callgrind_totals(out_file)


def callgrind(args, store, info, names, label):
    """Instructions per request of each scenario: (Ir after M requests - Ir after N) / (M - N), so
    that start-up and shutdown cancel out."""
    if not shutil.which("valgrind"):
        sys.exit("--callgrind needs valgrind (apt-get install -y valgrind)")
    low, high = args.callgrind_requests
    targets = json.loads(subprocess.run(
        [sys.executable, os.path.join(HERE, "generate.py"), "targets", str(store.n), "--now", str(info["now_ms"]),
         "--tenants", str(args.tenants), "--count", str(args.samples)], capture_output=True, text=True,
        check=True).stdout)
    rows = []
    for name in names:
        requests = scenario_requests(name, targets, info["keys"])
        counts = [callgrind_run(args, store, requests, n, name) for n in (low, high)]
        per_request = (counts[1] - counts[0]) / (high - low)
        log(f"{name}: {per_request:,.0f} instructions/request")
        rows.append({"scenario": name, "run": label, "instructions_per_request": round(per_request)})
    return rows


# --- replicas -------------------------------------------------------------------------------------


def nginx_round_robin(store, ports):
    """An nginx (the simple, established round-robin) in front of the given gateway ports."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("--replicas needs nginx (apt-get install -y nginx-light)")
    port = free_port()
    conf_dir = os.path.join(store.dir, f"nginx-{len(ports)}")
    os.makedirs(conf_dir, exist_ok=True)
    servers = "".join(f"server 127.0.0.1:{p};" for p in ports)
    conf = (f"worker_processes 1; daemon off; pid {conf_dir}/nginx.pid; error_log {conf_dir}/error.log warn;"
            f"events {{ worker_connections 1024; }}"
            f"http {{ access_log off; upstream gw {{ {servers} keepalive 64; }}"
            f"server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://gw; proxy_http_version 1.1;"
            f"proxy_set_header Connection \"\"; proxy_set_header Host $host; }} }} }}")
    path = os.path.join(conf_dir, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen([nginx, "-c", path, "-p", conf_dir], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    sys.exit("nginx did not start")


def replicas(args, store, info):
    names = ["rest_flow_by_id", "soap11_flow_by_id", "context_by_id"]
    # Each replica as on a host of its own with `--replica-workers` cores (0: the server's default,
    # one worker per core of this machine).
    env = {"IXGW_SERVER_WORKERS": str(args.replica_workers)} if args.replica_workers else {}
    a = Gateway(args, store, "replica-a", env).start()
    b = Gateway(args, store, "replica-b", env).start()
    try:
        targets = json.loads(subprocess.run(
            [sys.executable, os.path.join(HERE, "generate.py"), "targets", str(store.n), "--now",
             str(info["now_ms"]), "--tenants", str(args.tenants), "--count", str(args.samples)],
            capture_output=True, text=True, check=True).stdout)
        same = all(check(a.base, scenario_requests(n, targets, info["keys"]))
                   == check(b.base, scenario_requests(n, targets, info["keys"])) for n in names)
        log(f"replicas answer the same: {same}")
        rows = []
        for label, gws in (("one", [a]), ("two", [a, b])):
            proxy, url = nginx_round_robin(store, [g.port for g in gws])
            try:
                for n in names:
                    path = os.path.join(store.dir, f"{n}.requests")
                    write_requests(path, scenario_requests(n, targets, info["keys"]))
                    row = measure(args, n, url, gws, path)
                    row["run"] = f"postgres replicas: {label} behind nginx"
                    rows.append(row)
            finally:
                proxy.terminate()
                proxy.wait()
        for n in names:
            one = next(r for r in rows if r["scenario"] == n and r["run"].endswith("one behind nginx"))
            two = next(r for r in rows if r["scenario"] == n and r["run"].endswith("two behind nginx"))
            two["ratio_to_one_replica"] = round(two["requests_per_s"] / one["requests_per_s"], 3)
        return {"same_answers": same, "rows": rows}
    finally:
        a.stop()
        b.stop()


def targets_of(args, store, info):
    return json.loads(subprocess.run(
        [sys.executable, os.path.join(HERE, "generate.py"), "targets", str(store.n), "--now",
         str(info["now_ms"]), "--tenants", str(args.tenants), "--count", str(args.samples)],
        capture_output=True, text=True, check=True).stdout)


def cutover(args, store, info):
    """The cutover's costs (docs/MIGRATION.md), on the REST and SOAP flows by id. Shadow: a gateway in
    shadow mode in front of a "vendor" (a plain gateway on the same store), beside the vendor asked
    directly, at a set rate below saturation (`--shadow-rate`, 32 connections): the latency the hop
    adds, p99 <= the vendor's own + 2 ms; and at full speed, for what it costs. (Here both share the
    machine's two cores, so at full speed each request through shadow pays for both.) Fallback: a
    gateway in fallback mode whose every request is a local hit beside a plain read, >= 0.9 x."""
    names = ["rest_flow_by_id", "soap11_flow_by_id"]
    delay_ms = max(1, round(args.connections * 1000 / args.shadow_rate))
    vendor = Gateway(args, store, "vendor").start()
    upstream = {"IXGW_UPSTREAM_INTERACT": vendor.base}
    shadow = Gateway(args, store, "shadow", dict(upstream, IXGW_UPSTREAM_MODE="shadow")).start()
    fallback = Gateway(args, store, "fallback", dict(upstream, IXGW_UPSTREAM_MODE="fallback")).start()
    rows, verdicts = [], []
    try:
        targets = targets_of(args, store, info)
        for n in names:
            requests = scenario_requests(n, targets, info["keys"])
            same = check(vendor.base, requests) == check(shadow.base, requests) == check(fallback.base, requests)
            if not same:
                sys.exit(f"{n}: the shadow or fallback gateway answers otherwise than the vendor")
            path = os.path.join(store.dir, f"{n}.requests")
            write_requests(path, requests)
            by = {}
            runs = (("vendor direct, paced", vendor, [vendor], delay_ms),
                    ("through shadow, paced", shadow, [shadow, vendor], delay_ms),
                    ("vendor direct", vendor, [vendor], None), ("through shadow", shadow, [shadow, vendor], None),
                    ("plain read", vendor, [vendor], None), ("fallback local hits", fallback, [fallback], None))
            for label, gw, servers, delay in runs:
                row = measure(args, n, gw.base, servers, path, delay)
                row["run"] = f"cutover: {label}"
                rows.append(row)
                by[label] = row
            p99 = by["through shadow, paced"]["p99_ms"]
            bound = round(by["vendor direct, paced"]["p99_ms"] + 2, 2)
            rate = by["through shadow, paced"]["requests_per_s"]
            verdicts.append({"target": f"{n} p99 through shadow at {rate} req/s <= the vendor's own p99 + 2 ms ({bound})",
                             "measured": p99, "met": p99 <= bound})
            ratio = round(by["fallback local hits"]["requests_per_s"] / by["plain read"]["requests_per_s"], 3)
            verdicts.append({"target": f"{n} fallback local hits >= 0.9 x a plain read", "measured": ratio,
                             "met": ratio >= 0.9})
        status, text = http_get(shadow.base + "/metrics")
        compared = [l for l in text.decode().splitlines() if l.startswith(("ixgw_shadow_total", "ixgw_cutover_dropped"))]
        return {"rows": rows, "targets": verdicts, "shadow_metrics": compared, "shadow_rate": args.shadow_rate}
    finally:
        for gw in (fallback, shadow, vendor):
            gw.stop()


class SpanSink:
    """An OTLP/HTTP traces endpoint on loopback for the traces-on runs: reads each export, answers
    200, keeps count (decoding is the collector's cost, not the gateway's)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        sink = self
        self.exports, self.bytes = 0, 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                sink.bytes += len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                sink.exports += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def span_counts(gateway):
    _, text = http_get(gateway.base + "/metrics")
    counts = {}
    for line in text.decode().splitlines():
        if line.startswith("ixgw_trace_spans_total{"):
            counts[line.split('outcome="', 1)[1].split('"', 1)[0]] = int(float(line.rsplit(" ", 1)[1]))
    return counts


def traces(args, store, info):
    """Tracing's cost (docs/OBSERVABILITY.md): the same scenarios on a gateway with traces off (the
    default), and on, exporting every request's spans (sample ratio 1.0) to a sink on loopback; with
    --traces-baseline-bin, also a binary without tracing, for the cost of the off switch itself.
    Runs alternate (off, on, baseline; twice) so that drift on a shared machine hits each alike;
    each kind's figure is the mean of its runs. Targets: on >= 0.85 x off in req/s."""
    names = [n for n in args.scenarios.split(",") if n and n != "healthz"]
    sink = SpanSink()
    kinds = [("traces off", None, {}),
             ("traces on", None, {"IXGW_TELEMETRY_OTLP_ENDPOINT": sink.url, "IXGW_TELEMETRY_SAMPLE_RATIO": "1.0"})]
    if args.traces_baseline_bin:
        kinds.append(("before tracing", args.traces_baseline_bin, {}))
    rows, verdicts, spans = [], [], {}
    try:
        targets = targets_of(args, store, info)
        for n in names:
            path = os.path.join(store.dir, f"{n}.requests")
            write_requests(path, scenario_requests(n, targets, info["keys"]))
            runs = {label: [] for label, _, _ in kinds}
            for _ in range(2):
                for label, binary, env in kinds:
                    gw_args = argparse.Namespace(**vars(args))
                    gw_args.bin = binary or args.bin
                    gw = Gateway(gw_args, store, label.replace(" ", "-"), env).start()
                    try:
                        runs[label].append(measure(args, n, gw.base, [gw], path))
                        if label == "traces on":
                            time.sleep(1.5)  # the last batch
                            for outcome, count in span_counts(gw).items():
                                spans[f"{n} {outcome}"] = spans.get(f"{n} {outcome}", 0) + count
                    finally:
                        gw.stop()
            by = {}
            for label, measured in runs.items():
                row = {"scenario": n, "run": f"traces: {label}", "runs": len(measured)}
                for key in ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_request", "server_peak_rss_mb",
                            "errors", "requests"):
                    row[key] = round(sum(m[key] for m in measured) / len(measured), 2)
                row["requests_per_s_each"] = [m["requests_per_s"] for m in measured]
                rows.append(row)
                by[label] = row
            ratio = round(by["traces on"]["requests_per_s"] / by["traces off"]["requests_per_s"], 3)
            verdicts.append({"target": f"{n} traces on (ratio 1.0) >= 0.85 x traces off", "measured": ratio,
                             "met": ratio >= 0.85})
            if "before tracing" in by:
                off = round(by["traces off"]["requests_per_s"] / by["before tracing"]["requests_per_s"], 3)
                verdicts.append({"target": f"{n} traces off / before tracing (no measurable cost: ~1.0)",
                                 "measured": off, "met": off >= 0.97})
        return {"rows": rows, "targets": verdicts, "spans": spans, "sink_exports": sink.exports,
                "sink_bytes": sink.bytes}
    finally:
        sink.stop()


# --- the run --------------------------------------------------------------------------------------


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 1048576, 1), "kernel": platform.release(),
            "commit": commit + ("+dirty" if dirty else ""), "load_average_at_start": list(os.getloadavg())}


def targets_met(rows, imports, startups, growth):
    by = {r["scenario"]: r for r in rows}
    verdicts = []
    for name, (bound, against) in TARGETS.items():
        if name in by and against in by:
            ratio = by[name]["requests_per_s"] / by[against]["requests_per_s"]
            verdicts.append({"target": f"{name} >= {bound} x {against}", "measured": round(ratio, 3),
                             "met": ratio >= bound})
    for name in P99_ROUTES:
        if name in by:
            p99 = by[name]["p99_ms"]
            verdicts.append({"target": f"{name} p99 <= 5 ms", "measured": p99, "met": p99 <= 5})
    for name, bound, against in FACE_TARGETS:
        if name in by and against in by:
            ratio = by[name]["requests_per_s"] / by[against]["requests_per_s"]
            verdicts.append({"target": f"{name} >= {bound} x {against}", "measured": round(ratio, 3),
                             "met": ratio >= bound})
    peak = max((r["server_peak_rss_mb"] for r in rows), default=0)
    verdicts.append({"target": "server RSS <= 100 MB", "measured": peak, "met": peak <= 100})
    for backend, info in imports.items():
        bound = 20000 if backend == "sqlite" else 10000
        verdicts.append({"target": f"import into {backend} >= {bound} pages/s", "measured": info["import_pages_per_s"],
                         "met": info["import_pages_per_s"] >= bound})
    for label, seconds in startups.items():
        verdicts.append({"target": f"start-up to /readyz ({label}) <= 0.5 s", "measured": round(seconds, 3),
                         "met": seconds <= 0.5})
    for g in growth:
        verdicts.append({"target": f"growth {g['scenario']} >= 0.9", "measured": g["growth_factor"],
                         "met": g["growth_factor"] >= 0.9})
    return verdicts


def table(rows):
    head = (f"{'run':<28} {'scenario':<24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MB':>7} "
            f"{'x healthz':>9} {'CPU us/req':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = "" if r.get("ratio_to_healthz") is None else f"{r['ratio_to_healthz']:.3f}"
        lines.append(f"{r['run'][:28]:<28} {r['scenario']:<24} {r['requests_per_s']:>8} {r['p50_ms']:>7} "
                     f"{r['p99_ms']:>7} {r['errors']:>6} {r['server_peak_rss_mb']:>7} {ratio:>9} "
                     f"{r['server_cpu_us_per_request']:>10}")
    return "\n".join(lines)


def start_postgres(args):
    if args.postgres_url:
        return args.postgres_url, None
    pg_dir = os.path.join(args.data, "pg")
    out = subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway"), "start", pg_dir], capture_output=True,
                         text=True, check=True).stdout
    url = re.search(r"IXGW_TEST_POSTGRES_URL=(\S+)", out).group(1)
    return url, pg_dir


def main():
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interactions", type=int, default=100_000, help="history size (default 100000)")
    p.add_argument("--compare-with", type=int, metavar="N",
                   help="also measure the Interact lookups on a store of N interactions: the growth factor")
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--tenants", type=int, default=4)
    p.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True, help="run on SQLite (default)")
    p.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    p.add_argument("--postgres-url", help="an existing PostgreSQL (admin URL); else scripts/pg-throwaway starts one")
    p.add_argument("--replicas", action="store_true", help="two gateways on one PostgreSQL behind nginx (implies --postgres)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS))
    p.add_argument("--duration", type=int, default=10, help="seconds per scenario (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario (default 2)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--samples", type=int, default=1000, help="distinct lookups cycled through per scenario")
    p.add_argument("--data", default=os.path.join(ROOT, "target", "bench-data"), help="where stores are kept")
    p.add_argument("--fresh", action="store_true", help="re-import even if a store of this size exists")
    p.add_argument("--skip-build", action="store_true")
    p.add_argument("--bin", help="the ixgw binary (default: the release build)")
    p.add_argument("--floor-bin", help="the ixgw-floor binary of the floor scenarios (default: beside --bin)")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--replica-workers", type=int, default=0, metavar="N",
                   help="worker threads of each replica gateway (default: one per core), e.g. 1 to see two "
                        "replicas of one core each against one")
    p.add_argument("--shadow", action="store_true",
                   help="also the cutover's costs on SQLite: shadow mode in front of a vendor, fallback's local hits")
    p.add_argument("--shadow-rate", type=int, default=2000, metavar="REQ/S",
                   help="the rate of --shadow's latency runs, across all connections (default 2000)")
    p.add_argument("--traces", action="store_true",
                   help="also tracing's cost on SQLite: the scenarios with traces off and on (ratio 1.0, to a "
                        "sink on loopback), alternating, twice each")
    p.add_argument("--traces-baseline-bin", metavar="BIN",
                   help="with --traces: also this ixgw binary (one built without tracing) for the off switch's cost")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment of the gateway (repeatable), e.g. IXGW_DATABASE_MAX_CONNECTIONS=8")
    p.add_argument("--label", default="", help="a word for the result file name")
    p.add_argument("--callgrind", action="store_true",
                   help="instead of wrk: instructions per request of each scenario under valgrind's callgrind "
                        "(one worker, sequential keep-alive requests; repeatable on a busy machine)")
    p.add_argument("--callgrind-requests", default="100,500", metavar="N,M",
                   help="requests of the two callgrind runs whose difference is counted (default 100,500)")
    args = p.parse_args()
    args.server_env = dict(kv.split("=", 1) for kv in args.server_env)
    args.callgrind_requests = [int(n) for n in args.callgrind_requests.split(",")]
    if args.replicas:
        args.postgres = True
    names = [n for n in args.scenarios.split(",") if n]
    if "healthz" not in names:
        names.insert(0, "healthz")
    for tool in ("wrk", "cargo"):
        if not shutil.which(tool) and not (tool == "cargo" and (args.skip_build or args.bin)):
            sys.exit(f"{tool} is needed (wrk: apt-get install -y wrk)")
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not args.skip_build and not args.bin:
        run(["cargo", "build", "--release", "-p", "ixgw", "--bins"], cwd=ROOT)
    args.bin = args.bin or os.path.join(target_dir, "release", "ixgw")
    args.floor_bin = args.floor_bin or os.path.join(os.path.dirname(os.path.abspath(args.bin)), "ixgw-floor")
    os.makedirs(args.data, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)

    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(),
              "settings": {k: getattr(args, k) for k in ("interactions", "compare_with", "pages", "tenants",
                                                          "duration", "warmup", "connections", "threads", "samples")},
              "server_env": args.server_env, "replica_workers": args.replica_workers, "imports": {}, "startup_s": {}, "rows": [], "growth": []}
    backends = (["sqlite"] if args.sqlite else []) + (["postgres"] if args.postgres else [])
    pg_url, pg_dir = start_postgres(args) if args.postgres else (None, None)
    try:
        for backend in backends:
            sizes = [args.interactions] + ([args.compare_with] if args.compare_with else [])
            per_size = {}
            for n in sizes:
                store = Store(args, backend, n, pg_url)
                info = store.build()
                if not info["reused"]:
                    result["imports"][f"{backend} {n}"] = {k: info[k] for k in (
                        "interactions", "pages", "import_seconds", "import_pages_per_s", "import_interactions_per_s",
                        "store_bytes")}
                if args.callgrind:
                    result.setdefault("callgrind", []).extend(callgrind(args, store, info, names, f"{backend} {n}"))
                    continue
                gw = Gateway(args, store, "main").start()
                result["startup_s"][f"{backend} {n}"] = gw.startup_s
                try:
                    run_names = names if n == args.interactions else ["healthz", "rest_flow_by_id",
                                                                       "rest_flow_by_attribute"]
                    rows = run_scenarios(args, store, info, [gw], gw.base, run_names, f"{backend} {n}")
                finally:
                    gw.stop()
                result["rows"] += rows
                per_size[n] = rows
                if backend == "postgres" and args.replicas and n == args.interactions:
                    result["replicas"] = replicas(args, store, info)
                if backend == "sqlite" and args.shadow and n == args.interactions:
                    result["cutover"] = cutover(args, store, info)
                if backend == "sqlite" and args.traces and n == args.interactions:
                    result["traces"] = traces(args, store, info)
            if args.compare_with and not args.callgrind:
                for name in ("rest_flow_by_id", "rest_flow_by_attribute"):
                    big = next((r for r in per_size[args.interactions] if r["scenario"] == name), None)
                    small = next((r for r in per_size[args.compare_with] if r["scenario"] == name), None)
                    if not big or not small:
                        continue
                    result["growth"].append({
                        "backend": backend, "scenario": name, "large": args.interactions, "small": args.compare_with,
                        # each against its own run's /healthz, so that drift between the runs cancels out
                        "growth_factor": round(big["ratio_to_healthz"] / small["ratio_to_healthz"], 3),
                        "raw_factor": round(big["requests_per_s"] / small["requests_per_s"], 3)})
    finally:
        if pg_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway"), "stop", pg_dir], capture_output=True)
    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    imports = {k.split()[0]: v for k, v in result["imports"].items() if int(k.split()[1]) == args.interactions}
    startups = {k: v for k, v in result["startup_s"].items()}
    main_rows = [r for r in result["rows"] if r["run"].endswith(f" {args.interactions}")]
    result["targets"] = []
    for backend in backends:
        rows = [r for r in main_rows if r["run"].startswith(backend)]
        for v in targets_met(rows, {b: i for b, i in imports.items() if b == backend},
                             {k: s for k, s in startups.items() if k == f"{backend} {args.interactions}"},
                             [g for g in result["growth"] if g["backend"] == backend]):
            v["backend"] = backend
            result["targets"].append(v)
    all_rows = (result["rows"] + result.get("replicas", {}).get("rows", []) + result.get("cutover", {}).get("rows", [])
                + result.get("traces", {}).get("rows", []))
    if all_rows:
        print(table(all_rows))
    for r in result.get("callgrind", []):
        print(f"{r['run']:<28} {r['scenario']:<24} {r['instructions_per_request']:>10,} instructions/request")
    # Under callgrind a route beside its floor is the floor's instructions / the route's: the
    # throughput ratio the two would have if instructions were all that counted.
    floor_ir = {(r["run"], r["scenario"]): r for r in result.get("callgrind", []) if r["scenario"].startswith("floor_")}
    for r in result.get("callgrind", []):
        base = floor_ir.get((r["run"], floor_of(r["scenario"])))
        if base and not r["scenario"].startswith(("floor_", "healthz")):
            r["floor_instructions_ratio"] = {
                "floor": base["scenario"],
                "ratio": round(base["instructions_per_request"] / r["instructions_per_request"], 3)}
            print(f"{r['run']}: {r['scenario']} / {base['scenario']} = {r['floor_instructions_ratio']['ratio']} "
                  f"by instructions ({r['instructions_per_request']:,} vs {base['instructions_per_request']:,})")
    print()
    for name, info in result["imports"].items():
        print(f"import {name}: {info['import_pages_per_s']} pages/s ({info['import_seconds']} s, "
              f"{info['store_bytes'] / 1e9:.2f} GB)")
    for name, s in result["startup_s"].items():
        print(f"start-up to /readyz {name}: {s * 1000:.0f} ms")
    for g in result["growth"]:
        print(f"growth {g['backend']} {g['scenario']} {g['small']} -> {g['large']}: {g['growth_factor']} "
              f"(raw req/s ratio {g['raw_factor']})")
    if "replicas" in result:
        print(f"replicas: same answers {result['replicas']['same_answers']}; two vs one: " + ", ".join(
            f"{r['scenario']} {r['ratio_to_one_replica']}" for r in result["replicas"]["rows"]
            if "ratio_to_one_replica" in r))
    # Each route beside its floor: SOAP flows beside floor_soap (the same read and reply writer,
    # bare), Context Services by id beside floor_context (the same one-row read and resource writer,
    # bare), the others beside floor_flow (the same read, bare, its JSON answered).
    floors = {(r["run"], r["scenario"]): r for r in result["rows"] if r["scenario"] in set(FLOOR_OF.values())}
    for r in result["rows"]:
        floor_name = floor_of(r["scenario"])
        base = floors.get((r["run"], floor_name))
        if base and not r["scenario"].startswith(("floor_", "healthz")):
            r["ratio_to_floor"] = {"floor": floor_name, "ratio": round(r["requests_per_s"] / base["requests_per_s"], 3)}
            print(f"{r['run']}: {r['scenario']} / {floor_name} = {r['ratio_to_floor']['ratio']} "
                  f"(CPU {r['server_cpu_us_per_request']} vs {base['server_cpu_us_per_request']} us/request)")
    for v in result.get("cutover", {}).get("targets", []):
        print(f"{'MET    ' if v['met'] else 'NOT MET'} cutover  {v['target']}: {v['measured']}")
    for line in result.get("cutover", {}).get("shadow_metrics", []):
        print(f"shadow gateway: {line}")
    for v in result.get("traces", {}).get("targets", []):
        print(f"{'MET    ' if v['met'] else 'NOT MET'} traces   {v['target']}: {v['measured']}")
    for name, count in result.get("traces", {}).get("spans", {}).items():
        print(f"traces-on gateways' spans: {name} {count}")
    print()
    for v in result["targets"]:
        print(f"{'MET    ' if v['met'] else 'NOT MET'} {v['backend']:<8} {v['target']}: {v['measured']}")
    print(f"load average: start {result['machine']['load_average_at_start']}, end {result['machine']['load_average_at_end']}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{args.interactions}" + (f"-{args.label}" if args.label else "") + ".json"
    path = os.path.join(args.out, name)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"written: {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
