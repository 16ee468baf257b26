# Shared by the scripts in scripts/reliability: their folder, the binary to measure, and cleanup.
# Source it; it sets `root`, `work` (under target/reliability/<script>), traps EXIT and sources
# scripts/lib.sh (gateway_start, gateway_stop: the gateway process to measure).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/lib.sh"
script_name="$(basename "$0")"
work="$root/target/reliability/$script_name"
mkdir -p "$work"
# Two runs of one script would share (and clobber) its folder: the second waits for the first.
exec 9>"$work/.lock"
flock 9
cleanups=()

say() { echo "$script_name: $*" >&2; }
die() { say "$*"; exit 1; }

on_exit() {
  local c
  gateway_stop_all
  for c in "${cleanups[@]}"; do eval "$c"; done
}
trap on_exit EXIT

# The binary to measure: IXGW_BIN, else the release build (built if missing or stale).
ixgw_bin() {
  if [ -n "${IXGW_BIN:-}" ]; then echo "$IXGW_BIN"; return; fi
  (cd "$root" && cargo build --release --quiet -p ixgw) >&2 || die "cargo build failed"
  echo "${CARGO_TARGET_DIR:-$root/target}/release/ixgw"
}

# start_server LOG ARGS...: `gateway_start` with the binary to measure (`bin`), its stdout beside LOG
# (LOG.out); dies when it does not start.
start_server() {
  local log=$1; shift
  gateway_start "$bin" "${log%.log}.out" "$log" "$@" || die "the server did not start"
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
