#!/usr/bin/env python3
"""Synthetic interaction history for scripts/bench, streamed as NDJSON on stdout.

    generate.py records N [--tenants T] [--pages P] [--seed S] [--now EPOCH_MS]   -> NDJSON records
    generate.py targets N [--tenants T] [--count C] [--seed S] [--now EPOCH_MS]   -> JSON: sample lookups

Record n (0-based) is a pure function of (n, tenants, pages, seed, now): `targets` names records that
`records` wrote without holding anything in memory. Tenants are accounts 70000001…, environment
`production`; interaction n belongs to tenant n % T. Dates: spread evenly over the 14 months before
`now`, newest last. Each record has P pages of ≈1 KB of canonical page JSON, 5 caller attributes
(historySearchId, dtmf, dnid, callerId, callReturnNumber), a customer (≈4 interactions each) and a
service id.
"""
import argparse
import json
import random
import sys

DAY_MS = 86_400_000
SPAN_MS = 14 * 30 * DAY_MS  # 14 months
TENANT_BASE = 70000001

TITLES = ["Welcome", "Identify", "Device", "Damage", "Photos", "Address", "Courier", "Warranty", "Payment", "Summary",
          "Survey", "Goodbye"]


def tenant_of(n, tenants):
    return str(TENANT_BASE + n % tenants)


def started_at(n, total, now):
    # Evenly spread, newest last: interaction total-1 starts 1 hour before `now`.
    return now - 3_600_000 - (total - 1 - n) * (SPAN_MS // max(total, 1))


def iso(ms):
    import datetime
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ident(n):
    return f"B{n:011d}"


def customer(n):
    return f"C{n // 4:010d}"


def history_id(n):
    return f"hs{n:010d}"


def page(n, seq, ts, rnd):
    title = TITLES[seq % len(TITLES)]
    sid = f"{ts}-{rnd.getrandbits(64):016x}{n:08x}-{seq:04x}"
    choices = ",".join(
        '{"id":"%s-c%d","choiceValue":"Option %d of %s","clickToContinue":{"buttonState":"NORMAL","buttonVisible":true,'
        '"buttonLabel":"Option %d","buttonAction":"server://navigationType?type=NEXT&shouldSendFormData=true"}}'
        % (sid, c, c, title, c) for c in range(2))
    return (
        '{"pageNavigation":{"navigationTitle":"%s","pageReferenceName":"page%d","navigationLeft":{"buttonState":"NORMAL",'
        '"buttonVisible":%s,"buttonLabel":"Back","buttonAction":"server://navigationType?type=PREVIOUS&shouldSendFormData=false"},'
        '"navigationRight":{"buttonState":"NORMAL","buttonVisible":true,"buttonLabel":"Next",'
        '"buttonAction":"server://navigationType?type=NEXT&shouldSendFormData=true"}},'
        '"pageContent":{"contentHeader":{"id":"%s-h","innerHtml":"<span style=\\"word-wrap:break-word;\\"><b>%s</b> '
        'step %d of interaction %s</span>"},"contentSections":[{"id":"%s-s","sectionLabel":"What can we help you with?",'
        '"sectionGroupType":"SINGLE","sectionNumberOfColumns":1,"sectionChoices":[%s]}]},"timestamp":%d}'
        % (title, seq, "true" if seq else "false", sid, title, seq + 1, ident(n), sid, choices, ts))


def record(n, total, tenants, pages, seed, now):
    rnd = random.Random(seed * 1_000_003 + n)
    start = started_at(n, total, now)
    end = start + 60_000 + pages * 30_000
    attrs = [("historySearchId", history_id(n)), ("dtmf", f"{n:09d}"), ("dnid", str(4000 + n % 100)),
             ("callerId", f"+1555{n:09d}"), ("callReturnNumber", f"2{n:09d}")]
    attributes = ",".join('{"kind":"%s","value":"%s","allocated_at":"%s"}' % (k, v, iso(start + 100 + i * 50))
                          for i, (k, v) in enumerate(attrs))
    page_texts = ",".join(page(n, s, start + 1000 + s * 30_000, rnd) for s in range(pages))
    return (
        '{"tenant":"%s","environment":"production","id":"%s","customer_id":"%s","service_ids":[%d],'
        '"started_at":"%s","ended_at":"%s","caller_attributes":[%s],'
        '"context":{"media_type":"%s","type":"Inbound","sub_type":"InboundNew","status":3,'
        '"subject":"Synthetic interaction %d","udata":{"ServiceType":"repairs","Segment":"s%d"}},'
        '"variable_sets":{"customerInfoSet":{"firstName":"Jane","lastName":"Doe%d","customerId":"%s"}},'
        '"pages":[%s]}'
        % (tenant_of(n, tenants), ident(n), customer(n), 100 + n % 50, iso(start), iso(end), attributes,
           "chat" if n % 3 else "voice", n, n % 7, n, customer(n), page_texts))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["records", "targets"])
    p.add_argument("n", type=int)
    p.add_argument("--tenants", type=int, default=4)
    p.add_argument("--pages", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--now", type=int, required=True, help="epoch milliseconds the dates end at")
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()
    if a.what == "records":
        out = sys.stdout
        for n in range(a.n):
            out.write(record(n, a.n, a.tenants, a.pages, a.seed, a.now))
            out.write("\n")
        return
    # Targets: interactions of the last 2 months (inside the default 3-month Interact window),
    # spread over the whole range of tenants.
    rnd = random.Random(a.seed)
    recent = max(1, min(a.n, a.n * 60 // (14 * 30)))
    picks = [a.n - 1 - rnd.randrange(recent) for _ in range(a.count)]
    json.dump([{"tenant": tenant_of(n, a.tenants), "id": ident(n), "history": history_id(n), "customer": customer(n)}
               for n in picks], sys.stdout)


if __name__ == "__main__":
    main()
