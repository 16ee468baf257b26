# A gateway for the scripts that need one running: start, wait until ready, stop. Source it (bash).
#
#   gateway_start BIN OUT LOG ARGS...   runs `BIN ARGS...` in the background (ARGS: `serve ...
#                                       --listen 127.0.0.1:0`), stdout to OUT, stderr (the log) to LOG;
#                                       waits for the line `listening on URL` the server prints once it
#                                       listens, then for 200 from URL/readyz. Sets gateway_url and
#                                       gateway_pid. Environment assignments before the call reach the
#                                       server (`IXGW_X=1 gateway_start ...`). On failure: the log's
#                                       tail on stderr, return 1.
#   gateway_stop [PID]                  stops one gateway (default: the last started) with SIGINT,
#                                       which skips the load balancer's drain (server.drain_secs).
#   gateway_stop_all                    stops every gateway started; call it from the EXIT trap.
#
# Port 0 lets the kernel pick a free port as the server binds it: no gap in which another process
# can take a port chosen beforehand. The demo's banner (stdout) prints the demo key on purpose: OUT
# is kept apart from LOG so that the log can be checked for keys.

gateway_pids=()
gateway_url=""
gateway_pid=""

gateway_ready() { # gateway_ready URL: 200 from URL/readyz (curl, else Python)
  if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null --max-time 2 "$1/readyz" 2>/dev/null
  else python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)' "$1" 2>/dev/null
  fi
}

gateway_failed() { # gateway_failed LOG WHY
  tail -n 40 "$1" >&2
  echo "gateway: $2 (log: $1)" >&2
  return 1
}

gateway_start() {
  local bin=$1 out=$2 log=$3
  shift 3
  gateway_url=""
  "$bin" "$@" >"$out" 2>"$log" &
  gateway_pid=$!
  gateway_pids+=("$gateway_pid")
  local _ line
  for _ in $(seq 1 300); do
    line=$(grep -m1 '^listening on ' "$out" 2>/dev/null || true)
    if [ -n "$line" ]; then
      gateway_url=${line#listening on }
      break
    fi
    kill -0 "$gateway_pid" 2>/dev/null || { gateway_failed "$log" "the server exited"; return 1; }
    sleep 0.1
  done
  [ -n "$gateway_url" ] || { gateway_failed "$log" "the server printed no \`listening on\` line in 30 s (a binary older than that line?)"; return 1; }
  for _ in $(seq 1 300); do
    gateway_ready "$gateway_url" && return 0
    kill -0 "$gateway_pid" 2>/dev/null || { gateway_failed "$log" "the server exited"; return 1; }
    sleep 0.1
  done
  gateway_failed "$log" "$gateway_url did not become ready in 30 s"
}

gateway_stop() {
  local pid=${1:-$gateway_pid} p
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local kept=()
  for p in "${gateway_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  gateway_pids=("${kept[@]}")
  return 0
}

gateway_stop_all() {
  local pid
  for pid in "${gateway_pids[@]}"; do
    kill -INT "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  gateway_pids=()
}
