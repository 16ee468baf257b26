#!/usr/bin/env bash
# Generate (or load) a SOAP client from the interaction data WSDL with every client tool of
# shared/reference/notes/clients.md, and check that each one sees the 7 operations and real typed
# classes for the page model.
#
#   scripts/compat/generate-clients.sh WSDL [OUT_DIR]
#       WSDL     a file path or an http(s) URL (e.g. http://127.0.0.1:8080/interact/version/2/interactiondata/soap?wsdl)
#       OUT_DIR  default target/compat/clients; one sub-directory per tool, with its log
#   TOOLS="zeep php ..."  runs only those tools (default: all, in the order below)
#   COMPAT_CACHE=DIR      where the Python venv and node_modules live (default target/compat/cache)
#   NO_INSTALL=1          never install anything (fail instead)
#
# Tools: zeep php wsimport axis gsoap wsdl2perl node-soap strong-soap.
# Installs what is missing: Debian packages with apt-get, zeep from PyPI into a venv, soap and
# strong-soap from npm. Prints one line per tool and a summary table (also in OUT_DIR/summary.tsv);
# exits non-zero when any tool failed or printed a warning that is not known to be harmless.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ $# -lt 1 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
wsdl="$1"
out="${2:-$root/target/compat/clients}"
cache="${COMPAT_CACHE:-$root/target/compat/cache}"
tools="${TOOLS:-zeep php wsimport axis gsoap wsdl2perl node-soap strong-soap}"
mkdir -p "$out" "$cache"
out="$(cd "$out" && pwd)"
cache="$(cd "$cache" && pwd)"

case "$wsdl" in
  http://*|https://*) wsdl_url="$wsdl" ;;
  *)
    [ -f "$wsdl" ] || { echo "generate-clients: no such file: $wsdl" >&2; exit 2; }
    wsdl="$(cd "$(dirname "$wsdl")" && pwd)/$(basename "$wsdl")"
    wsdl_url="file://$wsdl" ;;
esac

OPS="GetInteractionFullFlowByUUID GetInteractionFullFlowByCallerAttribute GetInteractionSummaryByUUID GetInteractionSummaryByCallerAttribute GetVariableSetByUUID GetVariableSetByCallerAttribute GetInteractionUniqueId"
JAVA_LIB=/usr/share/java
AXIS_CP="$(echo $JAVA_LIB/{axis,axis-jaxrpc,axis-saaj,wsdl4j,commons-discovery,commons-logging,javax.activation,javax.mail}.jar | tr ' ' :)"

summary="$out/summary.tsv"
printf 'tool\tresult\tversion\tnote\n' >"$summary"
failed=0

# ---------------------------------------------------------------------------------------------------
apt_updated=""
need_apt() { # need_apt COMMAND_OR_FILE PACKAGE...: installs the packages when the probe is missing
  local probe="$1"; shift
  if [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1; then return 0; fi
  apt_install "$@"
}
apt_install() { # apt_install PACKAGE...
  [ -z "${NO_INSTALL:-}" ] || { echo "missing $* (NO_INSTALL set)"; return 1; }
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { echo "apt-get install $* failed"; return 1; }
}
need_venv() {
  local py="$cache/venv/bin/python"
  if ! "$py" -c 'import zeep' >/dev/null 2>&1; then
    [ -z "${NO_INSTALL:-}" ] || { echo "zeep missing (NO_INSTALL set)"; return 1; }
    python3 -m venv "$cache/venv" && "$py" -m pip install -q --disable-pip-version-check zeep >/dev/null \
      || { echo "pip install zeep failed"; return 1; }
  fi
}
need_npm() { # need_npm PACKAGE
  if [ ! -d "$cache/node/node_modules/$1" ]; then
    [ -z "${NO_INSTALL:-}" ] || { echo "npm package $1 missing (NO_INSTALL set)"; return 1; }
    mkdir -p "$cache/node"
    [ -f "$cache/node/package.json" ] || printf '{"name":"compat-clients","private":true}\n' >"$cache/node/package.json"
    npm install --prefix "$cache/node" --no-audit --no-fund --loglevel=error "$1" >/dev/null 2>&1 \
      || { echo "npm install $1 failed"; return 1; }
  fi
}

# Each gen_<tool> runs in its own directory $dir, writes its log there, sets $version and $note, and
# returns non-zero on failure (the message in $note).
record() { # record TOOL RC
  local result=ok
  if [ "$2" != 0 ]; then result=FAIL; failed=1; fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$result" "${version:-?}" "${note:-}" >>"$summary"
  printf '%-12s %-4s %-28s %s\n' "$1" "$result" "${version:-?}" "${note:-}"
}

# Fails when LOG has lines matching warning|error, other than those matching the ALLOWED regex.
no_warnings() { # no_warnings LOG [ALLOWED_REGEX]
  local bad
  bad="$(grep -iE 'warn|error|exception|fail' "$1" | grep -vE "${2:-^\$}" || true)"
  if [ -n "$bad" ]; then note="unexpected output: $(echo "$bad" | head -3 | tr '\n' ' ')"; return 1; fi
}

# --- Python zeep ---------------------------------------------------------------------------------------
gen_zeep() {
  note="$(need_venv)" || return 1
  local py="$cache/venv/bin/python"
  version="zeep $("$py" -c 'import zeep; print(zeep.__version__)')"
  "$py" -W always -m zeep "$wsdl" >"$dir/zeep-dump.txt" 2>"$dir/log.txt" || { note="python -m zeep failed"; return 1; }
  cat >"$dir/check.py" <<'PY'
import sys, zeep
ops = sys.argv[2].split()
c = zeep.Client(sys.argv[1])
for port in ("InteractionDataSoap11", "InteractionDataSoap12"):
    svc = c.bind("InteractionDataService", port)
    names = sorted(svc._operations)
    assert names == sorted(ops), (port, names)
for t in ("Page", "PageNavigation", "PageContent", "HtmlBlock", "Section", "SectionChoice", "Button",
          "TextInput", "SelectFromList", "UploadImageList", "Image", "SummaryPage", "Answer",
          "VariableSet", "VariableSetData", "VariableSetEntry", "UniqueIdAttribute"):
    c.get_type("{http://com/jacada/interact/interactiondata/soap}" + t)
c.get_element("{http://com/jacada/interact/agent/soap}GetInteractionUniqueIdResponse")
page = c.get_type("{http://com/jacada/interact/interactiondata/soap}Page")
print("Page:", page.signature(schema=c.wsdl.types))
PY
  "$py" -W always "$dir/check.py" "$wsdl" "$OPS" >>"$dir/log.txt" 2>&1 || { note="check failed, see log"; return 1; }
  no_warnings "$dir/log.txt" || return 1
  note="2 ports x 7 operations, every named type resolves"
}

# --- PHP SoapClient ------------------------------------------------------------------------------------
gen_php() {
  note="$(need_apt php php-cli php-soap php-xml)" || return 1
  if ! php -r 'exit(extension_loaded("soap") ? 0 : 1);'; then note="$(apt_install php-soap php-xml)" || return 1; fi
  version="PHP $(php -r 'echo PHP_VERSION;')"
  cat >"$dir/check.php" <<'PHP'
<?php
error_reporting(E_ALL);
set_error_handler(function ($no, $str) { fwrite(STDERR, "PHP warning: $str\n"); exit(1); });
$ops = explode(' ', $argv[2]);
foreach ([SOAP_1_1 => '1.1', SOAP_1_2 => '1.2'] as $v => $label) {
  $c = new SoapClient($argv[1], ['soap_version' => $v, 'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true]);
  $f = $c->__getFunctions();
  // PHP lists every operation once per binding (SOAP 1.1 and 1.2): de-duplicate.
  $names = array_values(array_unique(array_map(function ($s) { preg_match('/ (\w+)\(/', $s, $m); return $m[1]; }, $f)));
  sort($names); $want = $ops; sort($want);
  if ($names != $want) { fwrite(STDERR, "soap_version $label: operations " . implode(',', $names) . "\n"); exit(1); }
  echo "soap_version $label: ", count($f), " functions (", count($names), " distinct)\n";
  foreach (array_unique($f) as $x) echo "  $x\n";
  $types = $c->__getTypes();
  foreach (['Page', 'PageNavigation', 'PageContent', 'Section', 'SectionChoice', 'Button', 'TextInput', 'SummaryPage', 'VariableSetEntry'] as $t) {
    $found = false;
    foreach ($types as $s) if (strpos($s, "struct $t {") === 0) $found = true;
    if (!$found) { fwrite(STDERR, "type $t missing\n"); exit(1); }
  }
  if ($v == SOAP_1_1) { echo count($types), " types\n"; foreach ($types as $x) echo "  ", preg_replace('/\s+/', ' ', $x), "\n"; }
}
PHP
  php "$dir/check.php" "$wsdl" "$OPS" >"$dir/log.txt" 2>&1 || { note="check failed, see log"; return 1; }
  no_warnings "$dir/log.txt" || return 1
  note="soap_version 1.1 and 1.2: 7 operations (listed once per binding), structs for every type"
}

# --- Java JAX-WS RI wsimport ---------------------------------------------------------------------------
gen_wsimport() {
  note="$(need_apt wsimport jaxws libjaxws-java)" || return 1
  version="wsimport $(wsimport -version 2>/dev/null | sed -n 's/.*version "\(.*\)".*/\1/p')"
  mkdir -p "$dir/src" "$dir/classes"
  wsimport -extension -keep -s "$dir/src" -d "$dir/classes" "$wsdl" >"$dir/log.txt" 2>&1 \
    || { note="wsimport failed, see log"; return 1; }
  # JAX-WS 2.x standardises only SOAP 1.1 in WSDL 1.1; with -extension it still generates the 1.2 port.
  no_warnings "$dir/log.txt" 'SOAP port "InteractionDataSoap12": uses a non-standard SOAP 1.2 binding' || return 1
  local pkg="$dir/src/com/jacada/interact/interactiondata/soap"
  local n; n="$(grep -c '@WebMethod' "$pkg/InteractionData.java")"
  [ "$n" = 7 ] || { note="InteractionData.java has $n @WebMethod, want 7"; return 1; }
  for c in Page PageNavigation PageContent HtmlBlock Section SectionChoice Button TextInput SelectFromList \
           UploadImageList Image SummaryPage Answer VariableSet VariableSetData VariableSetEntry UniqueIdAttribute \
           InteractionDataService; do
    [ -f "$pkg/$c.java" ] || { note="$c.java not generated"; return 1; }
  done
  [ -f "$dir/src/com/jacada/interact/agent/soap/GetInteractionUniqueIdResponse.java" ] \
    || { note="agent GetInteractionUniqueIdResponse.java not generated"; return 1; }
  grep -q 'getInteractionDataSoap12' "$pkg/InteractionDataService.java" || { note="no SOAP 1.2 port getter"; return 1; }
  note="7 @WebMethod (BARE), ports Soap11+Soap12, classes compiled; known warning: SOAP 1.2 is 'non-standard' for JAX-WS"
}

# --- Java Axis 1.4 WSDL2Java ---------------------------------------------------------------------------
gen_axis() {
  note="$(need_apt $JAVA_LIB/axis.jar libaxis-java)" || return 1
  note="$(need_apt $JAVA_LIB/javax.mail.jar libjavamail-java)" || return 1
  note="$(need_apt $JAVA_LIB/javax.activation.jar libactivation-java)" || return 1
  version="Axis $(java -cp "$AXIS_CP" org.apache.axis.Version 2>/dev/null | sed -n 's/^Apache Axis version: //p')"
  mkdir -p "$dir/classes"
  java -cp "$AXIS_CP" org.apache.axis.wsdl.WSDL2Java -o "$dir/src" "$wsdl" >"$dir/log.txt" 2>&1 \
    || { note="WSDL2Java failed, see log"; return 1; }
  javac -nowarn -encoding UTF-8 -cp "$AXIS_CP" -d "$dir/classes" $(find "$dir/src" -name '*.java') >>"$dir/log.txt" 2>&1 \
    || { note="javac failed, see log"; return 1; }
  no_warnings "$dir/log.txt" || return 1
  local pkg="$dir/src/com/jacada/interact/interactiondata/soap"
  local n; n="$(grep -c 'throws java.rmi.RemoteException;' "$pkg/InteractionData.java")"
  [ "$n" = 7 ] || { note="InteractionData.java has $n methods, want 7"; return 1; }
  for c in Page PageNavigation PageContent HtmlBlock Section SectionChoice Button TextInput SelectFromList \
           UploadImageList Image SummaryPage Answer VariableSet VariableSetEntry UniqueIdAttribute InteractionDataSoap11Stub; do
    [ -f "$pkg/$c.java" ] || { note="$c.java not generated"; return 1; }
  done
  note="7 methods, SOAP 1.1 stub only (Axis 1.4 ignores the 1.2 port), compiled with javac"
}

# --- C++ gSOAP wsdl2h + soapcpp2 + g++ -----------------------------------------------------------------
# wsdl2h sees the SOAP 1.2 binding and imports soap12.h, so by default BOTH generated proxies send SOAP
# 1.2 (even InteractionDataSoap11Proxy; soap_set_version() is undone by the proxy's next call). A SOAP
# 1.1 client is built with soapcpp2 -1, which prints two warnings saying exactly that ("option -1 or -2
# overrides SOAP-ENV/SOAP-ENC namespace"). So two builds: soap12/ (default) and soap11/ (-1).
gen_gsoap() {
  note="$(need_apt wsdl2h gsoap libgsoap-dev)" || return 1
  note="$(need_apt g++ g++)" || return 1
  local share=/usr/share/gsoap
  # The default type map, plus readable prefixes and a millisecond-precise xs:dateTime (the default,
  # time_t, has whole seconds only).
  { cat "$share/WS/typemap.dat"
    printf '\nixd = "http://com/jacada/interact/interactiondata/soap"\n'
    printf 'agent = "http://com/jacada/interact/agent/soap"\n'
    printf 'xsd__dateTime = #import "custom/chrono_time_point.h" | xsd__dateTime\n'
  } >"$dir/typemap.dat"
  # -Nsvc: one proxy class per binding (InteractionDataSoap11Proxy, InteractionDataSoap12Proxy).
  (cd "$dir" && wsdl2h -c++11 -Nsvc -t typemap.dat -o interactiondata.h "$wsdl") >"$dir/log.txt" 2>&1
  local rc=$?
  version="gSOAP $(sed -n 's/.*wsdl2h release \([0-9.]*\).*/\1/p' "$dir/log.txt" | head -1)"
  [ "$rc" = 0 ] || { note="wsdl2h failed, see log"; return 1; }
  cat >"$dir/main.cpp" <<'CPP'
// Compile-and-link check of the gSOAP client; with ENDPOINT and any second argument it calls the server.
#include "soapInteractionDataSoap11Proxy.h"
#include "soapInteractionDataSoap12Proxy.h"
#include "InteractionDataSoap11.nsmap"
#include <iostream>
int main(int argc, char **argv) {
  const char *endpoint = argc > 1 ? argv[1] : "http://127.0.0.1:9/";
  InteractionDataSoap11Proxy p11(endpoint);
  InteractionDataSoap12Proxy p12(endpoint);
  _ixd__GetInteractionFullFlowByUUIDRequest req;
  req.uniqueId = "040100713";
  _ixd__GetInteractionFullFlowByUUIDResponse resp;
  _ixd__GetInteractionUniqueIdRequest ureq;
  ureq.attributeType = ixd__UniqueIdAttribute::historySearchId;
  ureq.attributeValue = "history1";
  _agent__GetInteractionUniqueIdResponse uresp;
  if (argc > 2) {
    if (p11.GetInteractionFullFlowByUUID(&req, resp) == SOAP_OK) {
      for (ixd__Page *page : resp.page) std::cout << page->pageNavigation->navigationTitle << "\n";
    } else {
      p11.soap_stream_fault(std::cerr);
    }
    if (p12.GetInteractionUniqueId(&ureq, uresp) == SOAP_OK) std::cout << uresp.uniqueId << "\n";
    else p12.soap_stream_fault(std::cerr);
  }
  std::cout << "ok\n";
  return 0;
}
CPP
  local v flag
  for v in soap12 soap11; do
    flag=""; [ "$v" = soap11 ] && flag="-1"
    mkdir -p "$dir/$v"
    (
      cd "$dir/$v" || exit 1
      soapcpp2 -j -C $flag -I"$share/import" -I"$share" ../interactiondata.h \
        && g++ -std=c++11 -Wall -I. -I"$share" -o client ../main.cpp soapC.cpp \
             soapInteractionDataSoap11Proxy.cpp soapInteractionDataSoap12Proxy.cpp \
             "$share/custom/chrono_time_point.cpp" -lgsoap++ \
        && ./client
    ) >"$dir/$v/log.txt" 2>&1 || { note="$v: soapcpp2, g++ or run failed, see $v/log.txt"; return 1; }
    no_warnings "$dir/$v/log.txt" 'soap12\.h\([0-9]+\): \*WARNING\*: option -1 or -2 overrides SOAP-ENV namespace|soap12\.h\([0-9]+\): \*WARNING\*: option -1 or -2 overrides SOAP-ENC namespace|Compilation successful \(2 warnings\)' \
      || { note="$v: $note"; return 1; }
    grep -q "\"SOAP-ENV\", \"http://$( [ "$v" = soap11 ] && echo schemas.xmlsoap.org/soap/envelope/ || echo www.w3.org/2003/05/soap-envelope)\"" \
      "$dir/$v/InteractionDataSoap11.nsmap" || { note="$v: unexpected SOAP-ENV namespace in the nsmap"; return 1; }
  done
  no_warnings "$dir/log.txt" || return 1
  local n11 n12
  n11="$(grep -c '^        virtual int send_' "$dir/soap12/soapInteractionDataSoap11Proxy.h")"
  n12="$(grep -c '^        virtual int send_' "$dir/soap12/soapInteractionDataSoap12Proxy.h")"
  [ "$n11" = 7 ] && [ "$n12" = 7 ] || { note="proxies have $n11 / $n12 operations, want 7 / 7"; return 1; }
  for c in Page PageNavigation PageContent HtmlBlock Section SectionChoice Button TextInput SelectFromList \
           UploadImageList Image SummaryPage Answer VariableSet VariableSetData VariableSetEntry; do
    grep -q "^class ixd__$c\$" "$dir/interactiondata.h" || { note="class ixd__$c missing"; return 1; }
  done
  note="2 proxies x 7 operations, classes ixd__Page etc.; soap12/ (default) and soap11/ (soapcpp2 -1) built with g++ -Wall, linked with -lgsoap++"
}

# --- Perl SOAP::WSDL wsdl2perl -------------------------------------------------------------------------
gen_wsdl2perl() {
  note="$(need_apt wsdl2perl libsoap-wsdl-perl)" || return 1
  version="SOAP::WSDL $(perl -MSOAP::WSDL -e 'print $SOAP::WSDL::VERSION')"
  (cd "$dir" && wsdl2perl -b lib -p IxGw "$wsdl_url") >"$dir/log.txt" 2>&1 || { note="wsdl2perl failed, see log"; return 1; }
  local f
  for f in $(find "$dir/lib" -name '*.pm' | sort); do
    perl -I"$dir/lib" -c "$f" >>"$dir/log.txt" 2>&1 || { note="perl -c $f failed"; return 1; }
  done
  no_warnings "$dir/log.txt" || return 1
  local iface="$dir/lib/IxGwInterfaces/InteractionDataService/InteractionDataSoap11.pm"
  [ -f "$iface" ] || { note="no interface class"; return 1; }
  local n; n="$(grep -c '^sub Get' "$iface")"
  [ "$n" = 7 ] || { note="interface has $n operations, want 7"; return 1; }
  for c in Page PageNavigation PageContent HtmlBlock Section SectionChoice Button TextInput SelectFromList \
           UploadImageList Image SummaryPage Answer VariableSet VariableSetData VariableSetEntry; do
    [ -f "$dir/lib/IxGwTypes/$c.pm" ] || { note="IxGwTypes::$c not generated"; return 1; }
  done
  note="7 operations (SOAP 1.1 interface only), type classes IxGwTypes::Page etc., all modules pass perl -c"
}

# --- Node soap -----------------------------------------------------------------------------------------
node_check() { # node_check PACKAGE SCRIPT
  note="$(need_npm "$1")" || return 1
  version="$1 $(NODE_PATH="$cache/node/node_modules" node -e "console.log(require('$1/package.json').version)")"
  printf '%s\n' "$2" >"$dir/check.js"
  NODE_PATH="$cache/node/node_modules" node "$dir/check.js" "$wsdl" "$OPS" >"$dir/log.txt" 2>&1 \
    || { note="check failed, see log"; return 1; }
  no_warnings "$dir/log.txt" || return 1
}
gen_node-soap() {
  node_check soap '
const [wsdl, ops] = process.argv.slice(2);
require("soap").createClientAsync(wsdl).then((c) => {
  const d = c.describe();
  const want = ops.split(" ").sort().join(",");
  for (const port of ["InteractionDataSoap11", "InteractionDataSoap12"]) {
    const got = Object.keys(d.InteractionDataService[port]).sort().join(",");
    if (got !== want) throw new Error(port + ": " + got);
    console.log(port, Object.keys(d.InteractionDataService[port]).length, "operations");
  }
  const out = d.InteractionDataService.InteractionDataSoap11.GetInteractionFullFlowByUUID.output;
  const page = out["page[]"];
  if (!page || !page.pageNavigation || !page.pageContent["contentSections[]"]) throw new Error("page not typed");
  if (page.timestamp !== "xs:dateTime") throw new Error("timestamp is " + page.timestamp);
  console.log(JSON.stringify(d, null, 1));
}).catch((e) => { console.error(e); process.exit(1); });' || return 1
  note="2 ports x 7 operations, describe() shows the full page tree (page[] -> pageNavigation ...)"
}
gen_strong-soap() {
  node_check strong-soap '
const [wsdl, ops] = process.argv.slice(2);
require("strong-soap").soap.createClient(wsdl, {}, (err, c) => {
  if (err) { console.error(err); process.exit(1); }
  const d = c.describe();
  const want = ops.split(" ").sort().join(",");
  for (const [port, version] of [["InteractionDataSoap11", "1.1"], ["InteractionDataSoap12", "1.2"]]) {
    const p = d.InteractionDataService[port];
    const got = Object.keys(p).sort().join(",");
    if (got !== want) { console.error(port + ": " + got); process.exit(1); }
    for (const op of Object.values(p)) if (op.soapVersion !== version || op.soapAction !== "") {
      console.error(port + ": soapVersion " + op.soapVersion + " soapAction " + op.soapAction); process.exit(1);
    }
    console.log(port, Object.keys(p).length, "operations, SOAP " + version);
  }
  const show = (e, ind) => {
    const t = e.type ? (e.type.nsURI ? "{" + e.type.nsURI + "}" : "") + e.type.name : "";
    console.log(ind + e.qname.name + (e.isMany ? "[]" : "") + " : " + t);
    if (ind.length < 12) for (const k of e.elements || []) show(k, ind + "  ");
  };
  const ops11 = d.InteractionDataService.InteractionDataSoap11;
  for (const op of Object.values(ops11)) { show(op.input.body.elements[0], ""); show(op.output.body.elements[0], ""); }
  const page = ops11.GetInteractionFullFlowByUUID.output.body.elements[0].elements[0];
  if (!page.type || page.type.name !== "Page" || !page.isMany) { console.error("page is not Page[]"); process.exit(1); }
});' || return 1
  note="2 ports x 7 operations (soapVersion 1.1 / 1.2, soapAction \"\"), page typed as {tns}Page[]"
}

# ---------------------------------------------------------------------------------------------------
for tool in $tools; do
  dir="$out/$tool"
  rm -rf "$dir"
  mkdir -p "$dir"
  version="" note=""
  if declare -F "gen_$tool" >/dev/null; then
    "gen_$tool"
    record "$tool" $?
  else
    note="unknown tool"
    record "$tool" 1
  fi
done
echo "generate-clients: outputs and logs under $out (summary: $summary)"
exit $failed
