#!/usr/bin/env python3
"""Python zeep through a gateway in shadow mode (docs/MIGRATION.md): the client, generated from the
WSDL the gateway serves, must get the vendor's replies byte for byte.

    zeep_shadow.py GATEWAY_WSDL_URL VENDOR_ENDPOINT 1.1|1.2

Each call is made twice, once through the gateway and once straight at the vendor, with the raw
replies compared (status, content type, body) and the typed results checked as zeep reads them.
Prints one line per check (`ok …` / `FAIL …`) and exits non-zero when any check failed.
"""
import sys

import zeep

from zeep_client import E, PORTS, flow_checks, service


def main(wsdl, vendor, version):
    failures = 0

    def check(name, condition, detail=""):
        nonlocal failures
        print(f"{'ok  ' if condition else 'FAIL'} zeep SOAP {version} through shadow: {name}{'' if condition else ': ' + str(detail)}")
        failures += 0 if condition else 1

    client, through = service(wsdl, version, E["key"])
    # The same client (one WSDL, one session) bound to the vendor's address.
    direct = client.create_service("{http://com/jacada/interact/interactiondata/soap}" + PORTS[version], vendor)
    calls = [
        ("found by unique id", lambda s: s.GetInteractionFullFlowByUUID(uniqueId=E["found_id"])),
        ("found by caller attribute", lambda s: s.GetInteractionFullFlowByCallerAttribute(callerAttribute="history1", widerSearch=True)),
        ("empty", lambda s: s.GetInteractionFullFlowByUUID(uniqueId=E["empty_id"])),
        ("not found", lambda s: s.GetInteractionFullFlowByUUID(uniqueId=E["not_found_id"])),
    ]
    for name, call in calls:
        with client.settings(raw_response=True):
            got, want = call(through), call(direct)
        same = (got.status_code, got.headers.get("Content-Type"), got.content) == \
            (want.status_code, want.headers.get("Content-Type"), want.content)
        check(f"{name}: the vendor's reply, byte for byte", same and want.status_code == 200,
              (got.status_code, want.status_code, got.content[:200], want.content[:200]))
    for check_name, ok, detail in flow_checks(through.GetInteractionFullFlowByUUID(uniqueId=E["found_id"])):
        check(f"typed reply: {check_name}", ok, detail)
    _, bad = service(wsdl, version, "wrong-key")
    try:
        bad.GetInteractionFullFlowByUUID(uniqueId=E["found_id"])
        check("bad credentials: the vendor's fault", False, "no fault")
    except zeep.exceptions.Fault as f:
        check("bad credentials: the vendor's fault", f.message == E["unauthorized"], f.message)
    return failures


if __name__ == "__main__":
    sys.exit(1 if main(*sys.argv[1:4]) else 0)
