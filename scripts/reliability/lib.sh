# Shared by the scripts in scripts/reliability: a gateway process to measure, and its cleanup.
# Source it; it sets `root`, `work` (under target/reliability/<script>) and traps EXIT.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
script_name="$(basename "$0")"
work="$root/target/reliability/$script_name"
mkdir -p "$work"
# Two runs of one script would share (and clobber) its folder: the second waits for the first.
exec 9>"$work/.lock"
flock 9
server_pid=""
cleanups=()

say() { echo "$script_name: $*" >&2; }
die() { say "$*"; exit 1; }

on_exit() {
  local c
  # SIGINT: stop without the load balancer's drain (server.drain_secs) SIGTERM would wait for.
  if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  for c in "${cleanups[@]}"; do eval "$c"; done
}
trap on_exit EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The binary to measure: IXGW_BIN, else the release build (built if missing or stale).
ixgw_bin() {
  if [ -n "${IXGW_BIN:-}" ]; then echo "$IXGW_BIN"; return; fi
  (cd "$root" && cargo build --release --quiet -p ixgw) >&2 || die "cargo build failed"
  echo "${CARGO_TARGET_DIR:-$root/target}/release/ixgw"
}

# start_server LOG ARGS...: runs `ixgw ARGS...` in the background, waits for /readyz on $port.
start_server() {
  local log=$1; shift
  # The log is stderr; stdout carries only the demo's banner (which prints the demo key on purpose),
  # kept apart so that the log can be checked for keys.
  "$bin" "$@" >"${log%.log}.out" 2>"$log" &
  server_pid=$!
  local _
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; server_pid=""; die "the server exited"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "the server did not become ready in 30 s"
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -INT "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
}

# Resident memory of a process in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# A Python venv under target/ with the given packages.
venv_with() {
  local venv="$root/target/reliability/venv"
  if ! "$venv/bin/python" -c "import sys" 2>/dev/null; then python3 -m venv "$venv" >&2 || die "python3 -m venv failed"; fi
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2 || die "pip install $* failed"
  echo "$venv"
}
