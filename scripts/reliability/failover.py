#!/usr/bin/python3
"""Losing the PostgreSQL primary under load, on a real HA cluster started here on loopback.

One etcd, two Patroni nodes (synchronous_mode; ttl 10, loop_wait 1, retry_timeout 4), HAProxy in
front as Patroni's documentation shows it (a primary port checked with `/primary`, a replica port
with `/replica`). Two gateways (the real `ixgw` binary) serve the same cluster, started once and
never restarted:
  haproxy     database.url on HAProxy's primary port, read_url on its replica port;
  multi-host  database.url = postgres://…@node1,node2/…?target_session_attrs=read-write,
              read_url = the same hosts with target_session_attrs=prefer-standby (no proxy).
Each gets 20 page writes/s to live interactions and 50 full-flow reads/s (Interact REST), and its
/readyz and /readyz?writes are polled every 100 ms. Then, per run, either the leader is killed hard
(kill -9 of its Patroni and of its postmaster; Patroni promotes the other node) or a planned
`patronictl switchover` moves the leader. The killed node is started again and rejoins as the
synchronous standby before the next run.

Per run and gateway: reads failed, the longest read gap (longest time without a read answered 200),
write unavailability (first failed write sent to the first acknowledged write after it), when
writes came back after the promotion, acknowledged writes lost (read from the new primary), failed
writes that were not 503 + Retry-After, the slowest failed write (and the slowest sent once the
gateway had answered its first 503), /readyz answers other than 200 and whether it showed the
degraded state.

  failover.py --bin target/debug/ixgw --work DIR --runs kill,switchover [--check] [--json FILE]

--runs: a comma-separated list of `kill` and `switchover` (e.g. 20 kills for docs/RELIABILITY.md).
--check: exit 1 unless every run met the targets (0 reads failed, 0 acknowledged writes lost, every
failed write a 503 with Retry-After, and within 50 ms once the gateway had answered a 503, /readyz 200
throughout; kills: writes back within 1 s of the promotion).
Every wait is bounded; every process started here is stopped at the end.
"""

import argparse
import glob
import http.client
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg2
import yaml

TENANT = "12345678"
INTERACT = f"/interact/agent/version/2/account/{TENANT}"
WRITERS, WRITES_PER_SEC = 4, 20
READERS, READS_PER_SEC = 5, 50
BEFORE_S, AFTER_PROMOTION_S = 3.0, 4.0
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))[-1]


def log(*args):
    print("failover:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, within, every=0.1):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:
            pass
        time.sleep(every)
    raise SystemExit(f"failover: {what}: not within {within} s")


def get_json(url, timeout=1.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


class Cluster:
    def __init__(self, work):
        self.work = work
        self.etcd_port, self.etcd_peer = free_port(), free_port()
        self.nodes = {
            name: {"pg": free_port(), "rest": free_port(), "dir": os.path.join(work, name), "proc": None}
            for name in ("node1", "node2")
        }
        self.primary_port, self.replica_port = free_port(), free_port()
        self.procs = []
        self.postgres = pwd.getpwnam("postgres")

    def spawn(self, args, logname, as_postgres=False):
        out = open(os.path.join(self.work, logname), "ab")
        kwargs = {}
        if as_postgres:
            kwargs = {"user": self.postgres.pw_uid, "group": self.postgres.pw_gid, "extra_groups": [],
                      "env": {"HOME": self.work, "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}}
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def patroni_config(self, name):
        node = self.nodes[name]
        return {
            "scope": "ixgw-ha",
            "name": name,
            "restapi": {"listen": f"127.0.0.1:{node['rest']}", "connect_address": f"127.0.0.1:{node['rest']}"},
            "etcd3": {"hosts": f"127.0.0.1:{self.etcd_port}"},
            "bootstrap": {
                "dcs": {
                    "ttl": 10, "loop_wait": 1, "retry_timeout": 4,
                    "synchronous_mode": True,
                    "maximum_lag_on_failover": 1048576,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "parameters": {"wal_log_hints": "on", "max_connections": 200, "hot_standby": "on",
                                       "max_wal_senders": 5, "max_replication_slots": 5, "wal_keep_size": "128MB"},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}],
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                           "host replication all 127.0.0.1/32 trust"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node['pg']}",
                "connect_address": f"127.0.0.1:{node['pg']}",
                "data_dir": os.path.join(node["dir"], "data"),
                "bin_dir": PG_BIN,
                "pgpass": os.path.join(node["dir"], "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": "postgres"},
                    "replication": {"username": "postgres", "password": "postgres"},
                    "rewind": {"username": "postgres", "password": "postgres"},
                },
                "parameters": {"unix_socket_directories": node["dir"]},
                "remove_data_directory_on_rewind_failure": True,
                "remove_data_directory_on_diverged_timelines": True,
            },
        }

    def start(self):
        os.chmod(self.work, 0o755)
        self.spawn(["etcd", "--name", "e1", "--data-dir", os.path.join(self.work, "etcd"),
                    "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                    "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                    "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
                    "--initial-cluster", f"e1=http://127.0.0.1:{self.etcd_peer}"], "etcd.log")
        wait_for("etcd", lambda: get_json(f"http://127.0.0.1:{self.etcd_port}/health").get("health") == "true", 20)
        for name, node in self.nodes.items():
            os.makedirs(node["dir"], exist_ok=True)
            os.chown(node["dir"], self.postgres.pw_uid, self.postgres.pw_gid)
            os.chmod(node["dir"], 0o700)
            path = os.path.join(self.work, f"{name}.yml")
            with open(path, "w") as f:
                yaml.safe_dump(self.patroni_config(name), f)
            os.chmod(path, 0o644)
        self.start_node("node1")
        wait_for("node1 leading", lambda: self.leader() == "node1", 60)
        self.start_node("node2")
        self.write_haproxy()
        self.spawn(["haproxy", "-db", "-f", os.path.join(self.work, "haproxy.cfg")], "haproxy.log")
        self.wait_healthy(90)

    def write_haproxy(self):
        # Patroni's documented HAProxy setup, with checks every 500 ms (fall 2, rise 1) instead of
        # 3 s (fall 3, rise 2): a promoted node takes writes within 0.5 s.
        servers = "\n".join(
            f"    server {name} 127.0.0.1:{node['pg']} maxconn 200 check port {node['rest']}"
            for name, node in self.nodes.items())
        cfg = f"""global
    maxconn 1000
defaults
    mode tcp
    retries 2
    timeout client 30m
    timeout connect 1s
    timeout server 30m
    timeout check 1s
listen primary
    bind 127.0.0.1:{self.primary_port}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
listen replicas
    bind 127.0.0.1:{self.replica_port}
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""
        with open(os.path.join(self.work, "haproxy.cfg"), "w") as f:
            f.write(cfg)

    def start_node(self, name):
        self.nodes[name]["proc"] = self.spawn(["patroni", os.path.join(self.work, f"{name}.yml")], f"{name}.log",
                                              as_postgres=True)

    def cluster(self):
        for node in self.nodes.values():
            if node["proc"] is not None and node["proc"].poll() is None:
                try:
                    return get_json(f"http://127.0.0.1:{node['rest']}/cluster")
                except Exception:
                    continue
        return {"members": []}

    def leader(self):
        for m in self.cluster()["members"]:
            if m["role"] == "leader" and m["state"] == "running":
                return m["name"]
        return None

    def healthy(self):
        members = self.cluster()["members"]
        roles = sorted((m["role"], m["state"]) for m in members)
        return (len(members) == 2 and ("leader", "running") in roles
                and any(r == "sync_standby" and s in ("running", "streaming") for r, s in roles))

    def replica_port_serves_a_standby(self):
        with psycopg2.connect(host="127.0.0.1", port=self.replica_port, user="postgres", dbname="postgres",
                              connect_timeout=1) as c, c.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            return cur.fetchone()[0]

    def wait_healthy(self, within):
        """Until Patroni shows a leader and a synchronous standby and HAProxy's replica port leads to
        the standby (Patroni's `/replica` can answer 503 for seconds after the member shows as
        running): a run starts with a standby to read from, or it would test a double failure."""
        wait_for("a leader and a streaming synchronous standby", self.healthy, within, every=0.2)
        wait_for("HAProxy's replica port on the standby", self.replica_port_serves_a_standby, within, every=0.2)
        # The gateways' probes look at a standby that was down every 100 ms.
        time.sleep(0.5)

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.nodes[name]['pg']}/postgres"

    def in_recovery(self, name):
        with psycopg2.connect(host="127.0.0.1", port=self.nodes[name]["pg"], user="postgres", dbname="postgres",
                              connect_timeout=1) as c, c.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            return cur.fetchone()[0]

    def promoted_at(self, name, within):
        """Polls `name` every 20 ms until it leaves recovery; the monotonic time it was seen doing so."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if not self.in_recovery(name):
                    return time.monotonic()
            except Exception:
                pass
            time.sleep(0.02)
        raise SystemExit(f"failover: {name} was not promoted within {within} s")

    def kill(self, name):
        node = self.nodes[name]
        with open(os.path.join(node["dir"], "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        os.kill(node["proc"].pid, signal.SIGKILL)
        os.kill(postmaster, signal.SIGKILL)
        node["proc"].wait(timeout=10)

    def switchover(self, leader, candidate):
        subprocess.run(["patronictl", "-c", os.path.join(self.work, f"{leader}.yml"), "switchover", "--leader", leader,
                        "--candidate", candidate, "--force"], check=True, capture_output=True, timeout=60)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # A postmaster orphaned by a kill -9 of its Patroni.
        for node in self.nodes.values():
            pid_file = os.path.join(node["dir"], "data", "postmaster.pid")
            try:
                with open(pid_file) as f:
                    os.kill(int(f.readline()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


class Gateway:
    def __init__(self, name, binary, work, url, read_url):
        self.name = name
        env = dict(os.environ, IXGW_DATABASE_URL=url, IXGW_DATABASE_READ_URL=read_url,
                   IXGW_SERVER_DRAIN_SECS="0")
        self.log = open(os.path.join(work, f"gateway-{name}.log"), "ab")
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE,
                                     stderr=self.log, start_new_session=True)
        self.port = None
        found = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.log.write(line)
                self.log.flush()
                text = line.decode(errors="replace")
                if "listening on http://" in text and self.port is None:
                    self.port = int(text.strip().rsplit(":", 1)[1])
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            raise SystemExit(f"failover: gateway {name} did not start (see gateway-{name}.log)")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def request(conn_box, port, method, path, headers, body=None):
    """(status, headers, body) or (0, {}, error); reconnects after a failure."""
    for attempt in range(2):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn_box[0].request(method, path, body=body, headers=headers)
            r = conn_box[0].getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except (http.client.HTTPException, OSError) as e:
            conn_box[0].close()
            conn_box[0] = None
            if attempt == 1:
                return 0, {}, str(e).encode()
    return 0, {}, b""


class Load:
    """Writes, reads and readiness polls against one gateway until stopped; every answer timed."""

    def __init__(self, gateway, key, run_id):
        self.g, self.key, self.run_id = gateway, key, run_id
        self.stop_at = None
        self.writes, self.reads, self.ready = [], [], []
        self.lock = threading.Lock()
        self.interactions = [f"ha-{gateway.name}-{run_id}-{w}" for w in range(WRITERS)]
        for iid in self.interactions:
            body = json.dumps({"id": iid, "customer_id": "ha", "started_at": iso(time.time() - 60)})
            status, _, data = request([None], gateway.port, "POST", "/v1/interactions", self.auth_json(), body)
            if status != 200 or b'"rejected":0' not in data.replace(b" ", b""):
                raise SystemExit(f"failover: creating {iid} through {gateway.name}: {status} {data[:300]!r}")

    def auth_json(self):
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}

    def start(self):
        self.running = True
        self.threads = [threading.Thread(target=self.writer, args=(w,)) for w in range(WRITERS)]
        self.threads += [threading.Thread(target=self.reader, args=(r,)) for r in range(READERS)]
        self.threads += [threading.Thread(target=self.poll_ready)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.running = False
        for t in self.threads:
            t.join(timeout=30)

    def paced(self, per_sec, offset):
        period = 1.0 / per_sec
        next_at = time.monotonic() + offset * period
        while self.running:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield
            next_at += period

    def writer(self, w):
        conn, iid, n, last_ts = [None], self.interactions[w], 0, 0
        for _ in self.paced(WRITES_PER_SEC / WRITERS, w / WRITERS):
            n += 1
            title = f"{iid}-{n}"
            last_ts = max(last_ts + 1, int(time.time() * 1000))
            page = {"pageNavigation": {"navigationTitle": title},
                    "pageContent": {"contentHeader": {"id": f"h{n}", "innerHtml": f"<p>{title}</p>"},
                                    "contentSections": []},
                    "timestamp": last_ts}
            started = time.monotonic()
            status, headers, _ = request(conn, self.g.port, "POST", f"/v1/interactions/{iid}/pages", self.auth_json(),
                                         json.dumps(page))
            with self.lock:
                self.writes.append((started, time.monotonic(), status, "retry-after" in headers, iid, title))

    def reader(self, r):
        conn = [None]
        headers = {"Tenant-Id": TENANT, "Application-Key": self.key}
        i = r
        for _ in self.paced(READS_PER_SEC / READERS, r / READERS):
            iid = self.interactions[i % WRITERS]
            i += 1
            started = time.monotonic()
            status, _, _ = request(conn, self.g.port, "GET", f"{INTERACT}/interactiondata/{iid}/fullFlow", headers)
            with self.lock:
                self.reads.append((started, time.monotonic(), status))

    def poll_ready(self):
        conn = [None]
        for _ in self.paced(10, 0):
            for query in ("", "?writes"):
                status, _, body = request(conn, self.g.port, "GET", f"/readyz{query}", {})
                with self.lock:
                    self.ready.append((time.monotonic(), query, status, body.decode(errors="replace")))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def stored_titles(cluster, leader, interactions):
    with psycopg2.connect(host="127.0.0.1", port=cluster.nodes[leader]["pg"], user="postgres", dbname="postgres",
                          connect_timeout=2) as c, c.cursor() as cur:
        cur.execute("SELECT p.body FROM pages p JOIN interactions i ON i.pk = p.interaction_pk WHERE i.id = ANY(%s)",
                    (interactions,))
        return {json.loads(body)["pageNavigation"]["navigationTitle"] for (body,) in cur.fetchall()}


def figures(load, event_at, promoted_at, load_from, load_to, stored):
    reads = load.reads
    ok_ends = sorted(end for _, end, status in reads if status == 200)
    marks = [load_from] + ok_ends + [load_to]
    gap = max(b - a for a, b in zip(marks, marks[1:]))
    failed_reads = [(s, st) for s, _, st in reads if st != 200]
    writes = sorted(load.writes)
    acked = [w for w in writes if w[2] == 201]
    failed = [w for w in writes if w[2] != 201]
    lost = [w[5] for w in acked if w[5] not in stored]
    out = {
        "gateway": load.g.name,
        "reads": len(reads), "reads_failed": len(failed_reads),
        "read_failure_statuses": sorted({st for _, st in failed_reads}),
        "longest_read_gap_ms": round(gap * 1000),
        "writes": len(writes), "writes_acknowledged": len(acked), "writes_failed": len(failed),
        "acknowledged_writes_lost": len(lost),
        "failed_writes_not_503_retry_after": sum(1 for w in failed if not (w[2] == 503 and w[3])),
        "slowest_failed_write_ms": round(max((w[1] - w[0] for w in failed), default=0) * 1000),
        "readyz_not_200": sum(1 for _, q, st, _ in load.ready if q == "" and st != 200),
        "readyz_degraded_seen": any(q == "" and body.startswith("degraded") for _, q, _, body in load.ready),
        "readyz_writes_503": sum(1 for _, q, st, _ in load.ready if q == "?writes" and st == 503),
    }
    if failed:
        first_503_answered = min((w[1] for w in failed if w[2] == 503), default=None)
        after_gate = [w for w in failed if first_503_answered is not None and w[0] >= first_503_answered]
        out["slowest_failed_write_after_first_503_ms"] = round(max((w[1] - w[0] for w in after_gate), default=0) * 1000)
        first_fail, last_fail = failed[0], failed[-1]
        back = next((w for w in acked if w[0] > last_fail[0]), None)
        out["first_failed_write_after_event_ms"] = round((first_fail[0] - event_at) * 1000)
        if back:
            out["write_unavailability_ms"] = round((back[1] - first_fail[0]) * 1000)
            out["writes_back_after_promotion_ms"] = round((back[1] - promoted_at) * 1000)
    else:
        out["slowest_failed_write_after_first_503_ms"] = 0
        out["write_unavailability_ms"] = 0
        out["writes_back_after_promotion_ms"] = 0
    return out


def one_run(cluster, gateways, key, kind, n):
    leader = cluster.leader()
    other = next(name for name in cluster.nodes if name != leader)
    loads = [Load(g, key, f"{kind}{n}-{int(time.time())}") for g in gateways]
    load_from = time.monotonic()
    for load in loads:
        load.start()
    time.sleep(BEFORE_S)
    event_at = time.monotonic()
    if kind == "kill":
        cluster.kill(leader)
    else:
        threading.Thread(target=cluster.switchover, args=(leader, other), daemon=True).start()
    promoted_at = cluster.promoted_at(other, 40)
    time.sleep(AFTER_PROMOTION_S)
    load_to = time.monotonic()
    for load in loads:
        load.finish()
    result = {"run": n, "kind": kind, "old_leader": leader, "new_leader": other,
              "promotion_after_event_ms": round((promoted_at - event_at) * 1000), "gateways": []}
    for load in loads:
        stored = stored_titles(cluster, other, load.interactions)
        result["gateways"].append(figures(load, event_at, promoted_at, load_from, load_to, stored))
    if kind == "kill":
        cluster.start_node(leader)
    cluster.wait_healthy(120)
    return result


def met(result):
    problems = []
    for g in result["gateways"]:
        name = f"{result['kind']} {result['run']} {g['gateway']}"
        if g["reads_failed"]:
            problems.append(f"{name}: {g['reads_failed']} reads failed {g['read_failure_statuses']}")
        if g["acknowledged_writes_lost"]:
            problems.append(f"{name}: {g['acknowledged_writes_lost']} acknowledged writes lost")
        if g["failed_writes_not_503_retry_after"]:
            problems.append(f"{name}: {g['failed_writes_not_503_retry_after']} failed writes not 503 + Retry-After")
        if g["slowest_failed_write_after_first_503_ms"] > 50:
            problems.append(f"{name}: a failed write took {g['slowest_failed_write_after_first_503_ms']} ms after the "
                            "gateway's first 503")
        if g["readyz_not_200"]:
            problems.append(f"{name}: /readyz not 200 {g['readyz_not_200']} times")
        if result["kind"] == "kill" and g.get("writes_back_after_promotion_ms", 10**9) > 1000:
            problems.append(f"{name}: writes back {g.get('writes_back_after_promotion_ms')} ms after the promotion")
    return problems


def line(result):
    parts = [f"{result['kind']} {result['run']}: {result['old_leader']} -> {result['new_leader']} promoted "
             f"{result['promotion_after_event_ms']} ms after the {'kill' if result['kind'] == 'kill' else 'switchover'}"]
    for g in result["gateways"]:
        parts.append(
            f"  {g['gateway']:10} reads {g['reads_failed']}/{g['reads']} failed, longest gap {g['longest_read_gap_ms']} ms; "
            f"writes {g['writes_failed']}/{g['writes']} failed (not 503+Retry-After: {g['failed_writes_not_503_retry_after']}), "
            f"unavailable {g.get('write_unavailability_ms', '-')} ms, back {g.get('writes_back_after_promotion_ms', '-')} ms "
            f"after the promotion, acknowledged lost {g['acknowledged_writes_lost']}/{g['writes_acknowledged']}, "
            f"slowest failed {g['slowest_failed_write_ms']} ms (after the first 503: "
            f"{g['slowest_failed_write_after_first_503_ms']} ms); /readyz not 200: {g['readyz_not_200']}, degraded shown: "
            f"{'yes' if g['readyz_degraded_seen'] else 'no'}, /readyz?writes 503: {g['readyz_writes_503']}")
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", default="kill,switchover")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cluster = Cluster(args.work)
    gateways = []
    results = []
    try:
        started = time.monotonic()
        cluster.start()
        log(f"cluster up in {time.monotonic() - started:.1f} s: etcd, Patroni node1 (leader) and node2, HAProxy "
            f"(primary :{cluster.primary_port}, replicas :{cluster.replica_port})")
        seed = cluster.url(cluster.leader())
        for cmd in (["migrate"], ["tenant", "add", TENANT]):
            subprocess.run([args.bin, "--database", seed, *cmd], check=True, capture_output=True, timeout=60)
        key = subprocess.run([args.bin, "--database", seed, "key", "add", "--tenant", TENANT, "--scope", "admin"],
                             check=True, capture_output=True, timeout=60, text=True).stdout.strip()
        hosts = ",".join(f"127.0.0.1:{n['pg']}" for n in cluster.nodes.values())
        gateways = [
            Gateway("haproxy", args.bin, args.work, f"postgres://postgres@127.0.0.1:{cluster.primary_port}/postgres",
                    f"postgres://postgres@127.0.0.1:{cluster.replica_port}/postgres"),
            Gateway("multi-host", args.bin, args.work,
                    f"postgres://postgres@{hosts}/postgres?target_session_attrs=read-write",
                    f"postgres://postgres@{hosts}/postgres?target_session_attrs=prefer-standby"),
        ]
        # The key and the tenant reach the standby before any run.
        time.sleep(1)
        for n, kind in enumerate(args.runs.split(","), start=1):
            result = one_run(cluster, gateways, key, kind, n)
            results.append(result)
            print(line(result), flush=True)
        for g in gateways:
            if g.proc.poll() is not None:
                raise SystemExit(f"failover: gateway {g.name} exited")
        result_pids = {g.name: g.proc.pid for g in gateways}
        log(f"gateways never restarted: {result_pids}")
    finally:
        for g in gateways:
            g.stop()
        cluster.stop()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    problems = [p for r in results for p in met(r)]
    for p in problems:
        log("NOT MET:", p)
    if args.check and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
