"""ESP tracking webhooks in bursts: anymail's Postmark tracking webhook (delivery, open, click, bounce payloads as
Postmark posts them) for journey's sent mails, through the shop's whole middleware stack.

An ESP waits a few seconds for each webhook and retries (or gives up) after a timeout; a burst -- a campaign's opens in
the minutes after it went out -- must not push the answer past it.  Target: p95 <= 250 ms per webhook and no 5xx, over
BURSTS bursts of BURST webhooks posted back to back by SENDERS concurrent senders (1 on SQLite, whose writers queue).

Runs on the database the shop is configured for (DATABASE_URL); creates its own sent Message rows (subject_key
``bench:webhook:<n>``) and deletes them, with their tracking events, at the end.
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

BURSTS = 5
BURST = 100
SENDERS = 4
TARGET_P95_MS = 250
SECRET = "bench:burst"  # noqa: S105 — the basic-auth pair this bench sets for its own webhook posts
KIND = "bench:webhook"


def payload(record, message_id, email, when):
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    common = {"MessageID": message_id, "MessageStream": "outbound", "Tag": "", "Metadata": {}}
    if record == "Delivery":
        return {**common, "RecordType": "Delivery", "ServerID": 23, "Recipient": email, "DeliveredAt": stamp,
                "Details": "smtp;250 2.0.0 OK"}
    if record == "Open":
        return {**common, "RecordType": "Open", "FirstOpen": True, "Client": {"Name": "Gmail"}, "OS": {},
                "Platform": "WebMail", "UserAgent": "Mozilla/5.0", "ReadSeconds": 5, "Geo": {}, "Recipient": email,
                "ReceivedAt": stamp}
    if record == "Click":
        return {**common, "RecordType": "Click", "ClickLocation": "HTML", "Client": {}, "OS": {}, "Platform": "Desktop",
                "UserAgent": "Mozilla/5.0", "OriginalLink": "https://shop.example.com/", "Geo": {},
                "Recipient": email, "ReceivedAt": stamp}
    return {**common, "RecordType": "Bounce", "ID": int(time.time() * 1000), "Type": "HardBounce", "TypeCode": 1,
            "Name": "Hard bounce", "Description": "Unknown user", "Details": "smtp;550 5.1.1 unknown user",
            "Email": email, "From": "shop@example.com", "BouncedAt": stamp, "DumpAvailable": False, "Inactive": True,
            "CanActivate": True, "Subject": "Your basket", "Content": ""}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=BURSTS)
    parser.add_argument("--burst", type=int, default=BURST)
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from bench.common import machine_load, p50, p95, smoke, table, verdict
    from journey.core.models import Message, TrackingEvent

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        args.bursts, args.burst = 2, 10
    setup_test_environment()
    senders = SENDERS if connection.vendor == "postgresql" else 1
    load_before = machine_load()
    now = timezone.now()
    # Each mail gets a delivery, then an open, a click and (one in ten) a bounce: 3.1 webhooks per mail.
    mails = args.bursts * args.burst // 3 + 1  # truncated to bursts x burst below
    rows = Message.objects.bulk_create([
        Message(tool="recovery", kind="recovery", subject_key=f"{KIND}:{i}", step=1, to_email=f"burst{i}@example.com",
                due_at=now, state=Message.State.SENT, sent_at=now, esp_message_id=str(uuid.uuid4()))
        for i in range(mails)
    ])
    events = []
    for record in ("Delivery", "Open", "Click", "Bounce"):
        for i, row in enumerate(rows):
            if record != "Bounce" or i % 10 == 0:
                events.append(payload(record, row.esp_message_id, row.to_email, now))
    events = events[:args.bursts * args.burst]
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()

    def post(event):
        client = Client()
        started = time.perf_counter()
        response = client.post("/anymail/postmark/tracking/", data=json.dumps(event),
                               content_type="application/json", HTTP_AUTHORIZATION=auth)
        return time.perf_counter() - started, response.status_code

    def post_closing(event):
        try:
            return post(event)
        finally:
            connection.close()

    samples, statuses = [], []
    started = time.perf_counter()
    try:
        with override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET}):
            post(payload("Open", "warm-up-unknown-id", "nobody@example.com", now))  # imports, URL resolver
            for burst in range(args.bursts):
                part = events[burst * args.burst:(burst + 1) * args.burst]
                if senders == 1:
                    results = [post(event) for event in part]
                else:
                    with ThreadPoolExecutor(senders) as pool:
                        results = list(pool.map(post_closing, part))
                samples += [seconds for seconds, _status in results]
                statuses += [status for _seconds, status in results]
                time.sleep(0.2)  # the gap between bursts
        recorded = TrackingEvent.objects.filter(message__subject_key__startswith=KIND).count()
    finally:
        TrackingEvent.objects.filter(message__subject_key__startswith=KIND).delete()
        Message.objects.filter(subject_key__startswith=KIND).delete()
    if not samples:
        sys.exit("webhook_burst: no webhook was posted")
    errors = sum(1 for status in statuses if status >= 500)
    other = sum(1 for status in statuses if status != 200 and status < 500)
    ok = p95(samples) * 1000 <= TARGET_P95_MS and errors == 0
    engine = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"\nESP tracking webhooks in bursts ({engine}; {args.bursts} bursts of {args.burst}, {senders} concurrent "
          f"sender(s); {len(samples)} webhooks, {recorded} tracking events recorded; "
          f"{time.perf_counter() - started:.1f} s; {load_before} before, {os.getloadavg()[0]:.1f} after)")
    print(table(["webhooks", "p50 (ms)", "p95 (ms)", "max (ms)", "5xx", "other non-200", "target", ""],
                [[len(samples), f"{p50(samples) * 1000:.1f}", f"{p95(samples) * 1000:.1f}",
                  f"{max(samples) * 1000:.1f}", errors, other, f"p95 <= {TARGET_P95_MS} ms, no 5xx", verdict(ok)]]))


if __name__ == "__main__":
    main()
