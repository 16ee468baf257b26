#!/usr/bin/env bash
# The compatibility matrix of docs/COMPATIBILITY.md, from real runs: every client of
# shared/reference/notes/clients.md x every SOAP version it supports x every case.
#
#   scripts/compat/run-matrix.sh [--write]
#       --write   replace the table between the matrix markers in docs/COMPATIBILITY.md
#   IXGW_BIN=PATH       the ixgw binary (default target/debug/ixgw)
#   TOOLS="zeep php …"  only these clients (default: all)
#   NO_INSTALL=1        never install anything
#
# Starts two demo gateways on loopback ports the system picks (scripts/lib.sh): A with the default settings (the vendor's faults:
# faultcode 0x7000000, the seed's not-found element) and B with the standards-clean settings
# (IXGW_SOAP_VENDOR_FAULT_CODE=false, IXGW_SOAP_NOT_FOUND_AS_FAULT=true). Generates every client from
# A's SERVED WSDL (scripts/compat/generate-clients.sh: no hand edits), builds the callers of
# scripts/compat/callers/ (zeep and PHP: the clients of scripts/soap-clients, tests/clients/, in their
# one-cell mode), and calls GetInteractionFullFlowByUUID once per cell:
#
#   found               A, 040100713: 6 pages, titles, user inputs and photo paths intact
#   empty               A, 040100720: the response element without pages
#   not found           A, 040100650: the seed's GetInteractionUniqueIdResponse (agent namespace)
#   bad creds (vendor)  A, wrong key: faultcode 0x7000000 (1.1); Sender + code in Detail (1.2)
#   bad creds (standard) B, wrong key: SOAP-ENV:Client + code in detail (1.1); 1.2 unchanged
#   not found (fault)   B, 040100650: Client/Sender fault, the seed's element in detail
#
# Each caller prints `CELL green|partial|red <what the client saw>`. Slow (a few minutes): not part
# of the test command. Results and logs under target/compat/matrix/.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/scripts/lib.sh"
bin="${IXGW_BIN:-$root/target/debug/ixgw}"
out="$root/target/compat/matrix"
callers="$root/scripts/compat/callers"
cache="${COMPAT_CACHE:-$root/target/compat/cache}"
tools="${TOOLS:-zeep php wsimport axis gsoap soap-lite wsdl2perl node-soap strong-soap}"
write=""
[ "${1:-}" = "--write" ] && write=1
mkdir -p "$out"
tmp="$(mktemp -d)"

finish() {
  gateway_stop_all
  rm -rf "$tmp"
}
trap finish EXIT
die() { echo "run-matrix: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no ixgw binary at $bin (cargo build -p ixgw, or set IXGW_BIN)"

# --- two demo gateways ---------------------------------------------------------------------------------
start() { # start NAME [VAR=VALUE...]: a demo gateway with those settings; sets gateway_url
  local name="$1"; shift
  gateway_start env "$out/server-$name.out" "$out/server-$name.log" "$@" \
    "$bin" serve --demo --listen 127.0.0.1:0 --database "sqlite://$tmp/$name.db" || die "gateway $name did not start"
}
start vendor
A=$gateway_url
start standard IXGW_SOAP_VENDOR_FAULT_CODE=false IXGW_SOAP_NOT_FOUND_AS_FAULT=true
B=$gateway_url
path=/interact/version/2/interactiondata/soap
echo "run-matrix: gateway A (vendor faults) $A, gateway B (standard faults) $B"

# --- clients generated from A's served WSDL ---------------------------------------------------------------
gen_tools="$(echo " $tools " | sed 's/ soap-lite / /' | xargs)"
clients="$out/clients"
TOOLS="$gen_tools" COMPAT_CACHE="$cache" "$root/scripts/compat/generate-clients.sh" "$A$path?wsdl" "$clients" >"$out/generate.log" 2>&1
generated_rc=$?
cat "$clients/summary.tsv" 2>/dev/null | column -t -s $'\t' | sed 's/^/  /'
[ "$generated_rc" = 0 ] || echo "run-matrix: some generators failed (see $out/generate.log); their cells are red"
generated() { awk -F'\t' -v t="$1" '$1 == t && $2 == "ok" { found = 1 } END { exit !found }' "$clients/summary.tsv" 2>/dev/null; }

# --- the callers -------------------------------------------------------------------------------------------------
J=/usr/share/java
jaxws_cp="$clients/wsimport/classes:$(echo $J/{jaxws-rt,jaxws-api,jaxb-api,jaxb-runtime,jaxb-core,jaxb-impl,javax.activation,istack-commons-runtime,saaj,saaj-impl,javax.xml.soap-api,stax-ex,streambuffer,metro-policy,gmbal,glassfish-management-api,mimepull,jws-api,FastInfoset,geronimo-annotation-1.3-spec}.jar | tr ' ' :)"
axis_cp="$clients/axis/classes:$(echo $J/{axis,axis-jaxrpc,axis-saaj,wsdl4j,commons-discovery,commons-logging,javax.activation,javax.mail}.jar | tr ' ' :)"
build="$out/build"
rm -rf "$build" && mkdir -p "$build/jaxws" "$build/axis"
if generated wsimport; then
  javac -nowarn -d "$build/jaxws" -cp "$jaxws_cp" "$callers/JaxwsCall.java" >"$build/jaxws.log" 2>&1 || echo "run-matrix: JaxwsCall does not compile (see $build/jaxws.log)"
fi
if generated axis; then
  javac -nowarn -d "$build/axis" -cp "$axis_cp" "$callers/AxisCall.java" >"$build/axis.log" 2>&1 || echo "run-matrix: AxisCall does not compile (see $build/axis.log)"
fi
if generated gsoap; then
  for v in soap11 soap12; do
    (cd "$clients/gsoap/$v" && g++ -std=c++11 -w -I. -I/usr/share/gsoap -o "$build/gsoap-$v" "$callers/gsoap_call.cpp" soapC.cpp \
      soapInteractionDataSoap11Proxy.cpp soapInteractionDataSoap12Proxy.cpp /usr/share/gsoap/custom/chrono_time_point.cpp -lgsoap++) \
      >"$build/gsoap-$v.log" 2>&1 || echo "run-matrix: the gSOAP caller does not build (see $build/gsoap-$v.log)"
  done
fi
if [[ " $tools " == *" soap-lite "* ]] && ! perl -MSOAP::Lite -e1 2>/dev/null && [ -z "${NO_INSTALL:-}" ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo -n"
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsoap-lite-perl >/dev/null 2>&1 \
    || { $sudo_ apt-get update -qq >/dev/null 2>&1; $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsoap-lite-perl >/dev/null 2>&1; }
fi

# What the compiled callers check (the scripted ones read tests/clients/expected.json themselves).
eval "$(python3 - "$root/tests/clients/expected.json" <<'PY'
import json, shlex, sys
e = json.load(open(sys.argv[1]))
values = {"TENANT": e["tenant"], "KEY": e["key"], "FOUND_ID": e["found_id"], "EMPTY_ID": e["empty_id"],
          "NOT_FOUND_ID": e["not_found_id"], "NOT_FOUND_TEXT": e["not_found_text"], "UNAUTHORIZED": e["unauthorized"],
          "VENDOR_CODE": e["vendor_code"], "TITLES": "|".join(e["titles"]), "IMAGES": "|".join(e["images"]),
          "SERIAL": e["serial"], "DAMAGE": e["damage"]}
for k, v in values.items():
    print(f"export EXP_{k}={shlex.quote(v)}")
PY
)"
export NODE_PATH="$cache/node/node_modules"

# caller TOOL VERSION: the command line of one cell, before WSDL ENDPOINT VERSION CASE.
caller() {
  case "$1" in
    zeep) echo "$cache/venv/bin/python $root/tests/clients/zeep_client.py" ;;
    php) echo "php $root/tests/clients/php_client.php" ;;
    wsimport) echo "java -cp $build/jaxws:$jaxws_cp JaxwsCall" ;;
    axis) echo "java -cp $build/axis:$axis_cp AxisCall" ;;
    gsoap) echo "$build/gsoap-soap${2/./}" ;;
    soap-lite) echo "perl $callers/soap_lite_call.pl" ;;
    wsdl2perl) echo "perl -I$clients/wsdl2perl/lib $callers/soap_wsdl_call.pl" ;;
    node-soap) echo "node $callers/node_call.js soap" ;;
    strong-soap) echo "node $callers/node_call.js strong-soap" ;;
  esac
}
versions() {
  case "$1" in
    axis | wsdl2perl) echo "1.1" ;;
    *) echo "1.1 1.2" ;;
  esac
}

cases="found empty not-found bad bad-standard not-found-standard"
results="$out/results.tsv"
printf 'tool\tversion\tcase\tcolor\tseen\n' >"$results"
for tool in $tools; do
  for v in $(versions "$tool"); do
    for c in $cases; do
      case "$c" in bad-standard | not-found-standard) base="$B" ;; *) base="$A" ;; esac
      log="$out/cells/$tool-$v-$c.log"
      mkdir -p "$out/cells"
      if [ "$tool" != soap-lite ] && ! generated "$tool"; then
        line="CELL red the client was not generated from the served WSDL (see $clients/$tool/log.txt)"
      else
        # shellcheck disable=SC2046
        timeout 120 $(caller "$tool" "$v") "$base$path?wsdl" "$base$path" "$v" "$c" >"$log" 2>&1
        line="$(grep '^CELL ' "$log" | tail -1)"
        [ -n "$line" ] || line="CELL red no answer from the caller: $(tail -1 "$log" | cut -c1-160)"
      fi
      color="$(echo "$line" | cut -d' ' -f2)"
      seen="$(echo "$line" | cut -d' ' -f3- | tr '\t|' ' /')"
      printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$v" "$c" "$color" "$seen" >>"$results"
      printf '  %-12s %s %-19s %-7s %s\n' "$tool" "$v" "$c" "$color" "$seen" | cut -c1-200
    done
  done
done

# --- the markdown table ---------------------------------------------------------------------------------------------
table="$out/matrix.md"
python3 - "$results" "$tools" >"$table" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
labels = {"zeep": "Python zeep", "php": "PHP SoapClient", "wsimport": "Java JAX-WS RI (wsimport)",
          "axis": "Java Axis 1.4 (WSDL2Java)", "gsoap": "C++ gSOAP", "soap-lite": "Perl SOAP::Lite",
          "wsdl2perl": "Perl SOAP::WSDL (wsdl2perl)", "node-soap": "Node soap", "strong-soap": "Node strong-soap"}
cases = ["found", "empty", "not-found", "bad", "bad-standard", "not-found-standard"]
heads = ["found", "empty", "not found", "bad credentials (vendor code)", "bad credentials (standard code)", "not found (fault setting)"]
mark = {"green": "✅", "partial": "⚠️", "red": "❌"}
cell = {(r["tool"], r["version"], r["case"]): r for r in rows}
print("| client | SOAP | " + " | ".join(heads) + " |")
print("| --- | --- | " + " | ".join("---" for _ in heads) + " |")
for tool in sys.argv[2].split():
    for v in ["1.1", "1.2"]:
        if (tool, v, "found") not in cell:
            continue
        out = []
        for c in cases:
            r = cell.get((tool, v, c))
            if r is None:
                out.append("—")
            elif r["color"] == "green":
                out.append("✅")
            else:
                out.append(f'{mark.get(r["color"], "❌")} {r["seen"]}')
        print(f"| {labels[tool]} | {v} | " + " | ".join(out) + " |")
green = sum(r["color"] == "green" for r in rows)
print()
print(f"{green} of {len(rows)} cells green.")
PY
echo
cat "$table"

if [ -n "$write" ]; then
  doc="$root/docs/COMPATIBILITY.md"
  grep -q '<!-- matrix:begin -->' "$doc" || die "docs/COMPATIBILITY.md has no <!-- matrix:begin --> marker"
  python3 - "$doc" "$table" <<'PY'
import sys
doc, table = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
head, rest = text.split("<!-- matrix:begin -->", 1)
_, tail = rest.split("<!-- matrix:end -->", 1)
open(doc, "w").write(head + "<!-- matrix:begin -->\n" + table + "<!-- matrix:end -->" + tail)
PY
  echo "run-matrix: table written into docs/COMPATIBILITY.md"
fi
awk -F'\t' 'NR > 1 && $4 != "green" { bad = 1 } END { exit bad }' "$results"
