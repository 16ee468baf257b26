#!/usr/bin/env python3
"""One matrix cell with Python zeep: zeep_call.py WSDL ENDPOINT 1.1|1.2 CASE (see run-matrix.sh)."""
import json
import os
import sys

import requests
import zeep
from zeep.transports import Transport

wsdl, endpoint, version, case = sys.argv[1:5]
E = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../tests/clients/expected.json")))
port = {"1.1": "InteractionDataSoap11", "1.2": "InteractionDataSoap12"}[version]


def cell(color, text):
    print(f"CELL {color} {text}")
    sys.exit(0)


session = requests.Session()
key = "wrong-key" if case.startswith("bad") else E["key"]
session.headers.update({"Tenant-Id": E["tenant"], "Application-Key": key})
client = zeep.Client(wsdl, transport=Transport(session=session))
svc = client.create_service("{http://com/jacada/interact/interactiondata/soap}" + port, endpoint)
uid = E["not_found_id"] if case.startswith("not-found") else E["empty_id"] if case == "empty" else E["found_id"]
try:
    pages = svc.GetInteractionFullFlowByUUID(uniqueId=uid)
except zeep.exceptions.Fault as f:
    import lxml.etree as et
    detail = et.tostring(f.detail).decode() if f.detail is not None else ""
    seen = f"Fault code={f.code!r} message={f.message!r}" + (" detail has 0x7000000" if E["vendor_code"] in detail else "")
    if case.startswith("bad") and f.message == E["unauthorized"]:
        cell("green" if E["vendor_code"] in (f.code or "") + detail else "partial", seen)
    if case.startswith("not-found") and "was not found" in (f.message or ""):
        cell("green", seen)
    cell("red", seen)
except Exception as e:
    cell("red", f"{type(e).__name__}: {str(e)[:160]}")
if case == "found":
    titles = [p.pageNavigation.navigationTitle for p in pages]
    values = [c.choiceValue for p in pages for s in p.pageContent.contentSections for c in s.sectionChoices]
    images = [i.imagePath for p in pages for s in p.pageContent.contentSections for c in s.sectionChoices
              if c.uploadImageList is not None for i in c.uploadImageList.images]
    ok = titles == E["titles"] and E["damage"] in values and E["serial"] in values and images == E["images"]
    cell("green" if ok else "red", f"{len(pages)} pages, titles/inputs/photos {'intact' if ok else 'WRONG'}")
if case == "empty":
    cell("green" if not pages else "red", f"{len(pages or [])} pages, no error")
cell("red", f"no fault: {pages!r}"[:200])
