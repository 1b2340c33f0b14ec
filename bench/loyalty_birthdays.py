"""Birthday rewards at scale: 1,000,000 customer profiles in a fresh PostgreSQL database.

Targets: selecting the customers celebrating today (the query the birthday job runs) takes <= 1 s and uses the
``journey_profile_birthday`` index on (birth_month, birth_day) (EXPLAIN printed); issuing 3,000 birthday vouchers
and mails through the outbox — the job (reward rows, Oscar vouchers, outbox rows) plus sending them all with
anymail's test backend, claimed in batches of 100 and sent by 4 threads of this process (as a worker's processes
would) — takes <= 30 s.

Needs PostgreSQL (BENCH_POSTGRES_URL, or the server of a postgres DATABASE_URL, or postgres@127.0.0.1:5432).  It
creates the database ``journey_bench_birthdays``, migrates it, bulk-loads users and profiles with COPY and drops it
at the end (``--keep`` keeps it).  Profiles 1..3,000 have their birthday today (store time zone); the others are
spread evenly over the other 365 days of the year (Feb 29 included), so today has exactly 3,000 birthdays.
"""

import argparse
import re
import time
from datetime import date, timedelta

DB_NAME = "journey_bench_birthdays"
PROFILES = 1_000_000
TODAY = 3_000
SELECT_TARGET = 1.0
ISSUE_TARGET = 30.0
INDEX = "journey_profile_birthday"
CHUNK = 100_000
BATCH = 100  # JOURNEY["SEND_BATCH_SIZE"]'s default
SENDERS = 4


def other_days(today):
    """Every (month, day) of a leap year except today's."""
    start, days = date(2000, 1, 1), []
    for n in range(366):
        day = start + timedelta(days=n)
        if (day.month, day.day) != (today.month, today.day):
            days.append((day.month, day.day))
    return days


def load(count, today):
    """COPY ``count`` users and their profiles (all opted in, birthdays known for long); returns seconds."""
    from django.db import connection

    started = time.perf_counter()
    days = other_days(today)
    joined = "2020-01-01 00:00:00+00"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor: COPY from Python
        for first in range(1, count + 1, CHUNK):
            last = min(first + CHUNK - 1, count)
            users = "".join(
                f"{i}\t!\tf\tcustomer{i}\tCustomer\t{i}\tcustomer{i}@example.com\tf\tt\t{joined}\n"
                for i in range(first, last + 1))
            with raw.copy("COPY auth_user (id, password, is_superuser, username, first_name, last_name, email, "
                          "is_staff, is_active, date_joined) FROM STDIN") as copy:
                copy.write(users)
            rows = []
            for i in range(first, last + 1):
                month, day = (today.month, today.day) if i <= TODAY else days[i % len(days)]
                year = 1950 + i % 55
                if (month, day) == (2, 29) and year % 4:
                    year -= year % 4
                rows.append(f"{i}\t{i}\t{month}\t{day}\t{year}\t\\N\tgranted\t{joined}\tYes\tbench\t\t{joined}\t"
                            f"{joined}\n")
            with raw.copy("COPY journey_customerprofile (id, user_id, birth_month, birth_day, birth_year, "
                          "birthday_changed_at, marketing_consent, consent_changed_at, consent_text, "
                          "consent_source, language, created_at, updated_at) FROM STDIN") as copy:
                copy.write("".join(rows))
        for table in ("auth_user", "journey_customerprofile"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608,E501
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def select_today(day):
    """The birthday job's candidate query for ``day``: (seconds, rows, EXPLAIN ANALYZE plan)."""
    from journey.loyalty.birthdays.services import profiles_celebrating

    queryset = (profiles_celebrating(day).exclude(user__journey_birthdays__year=day.year)
                .values_list("user_id", "user__email", "birthday_changed_at", "marketing_consent", "language"))
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        rows = list(queryset.all())  # a fresh queryset each time: no result cache
        timings.append(time.perf_counter() - started)
    return min(timings), len(rows), queryset.explain(analyze=True, buffers=True)


def issue_and_send(now):
    """Run the birthday job for today and send every mail it scheduled; returns the stage timings and counts."""
    from django.conf import settings
    from django.core import mail

    from journey.core.models import Message, PersonalVoucher
    from journey.loyalty.birthdays import services as birthdays
    from journey.loyalty.birthdays.models import BirthdayProgram

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    # The job ran yesterday: today is the only new day.
    BirthdayProgram.objects.create(is_active=True, discount_kind="percentage", discount_value=15, valid_days=30,
                                   processed_through=now.date() - timedelta(days=1))
    started = time.perf_counter()
    report = birthdays.run(now=now)
    issue_seconds = time.perf_counter() - started
    started = time.perf_counter()
    from bench.common import send_due_in_parallel

    sent = send_due_in_parallel(now + timedelta(days=1), batch=BATCH, senders=SENDERS)
    send_seconds = time.perf_counter() - started
    return {"issue": issue_seconds, "send": send_seconds, "rewarded": report.rewarded,
            "vouchers": PersonalVoucher.objects.filter(purpose="birthday").count(),
            "messages": Message.objects.filter(kind=birthdays.KIND, state=Message.State.SENT).count(),
            "delivered": len(mail.outbox), "summary": str(sent)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--profiles", type=int, default=PROFILES)
    global TODAY
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        TODAY = 20
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments

    from bench.common import (
        create_database,
        drop_database,
        machine_load,
        postgres_available,
        table,
        use_database,
        verdict,
    )

    problem = postgres_available()
    if problem:
        print(f"\nBirthday rewards: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    started = time.perf_counter()
    url = create_database(DB_NAME)
    created = time.perf_counter() - started
    try:
        use_database(url)
        from django.utils import timezone

        from journey.loyalty.birthdays.services import store_tz

        now = timezone.now().astimezone(store_tz()).replace(hour=10, minute=0, second=0, microsecond=0)
        today = now.date()
        if smoke():
            args.profiles = 2_000
        loaded = load(args.profiles, today)
        select_seconds, selected, plan = select_today(today)
        uses_index = INDEX in plan and "Seq Scan on journey_customerprofile" not in plan
        result = issue_and_send(now)
    finally:
        if not args.keep:
            drop_database(DB_NAME)
    total = result["issue"] + result["send"]
    ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
    print(f"\nBirthday rewards over {args.profiles:,} customer profiles (PostgreSQL; {load_before})")
    print(f"setup: create + migrate {created:.1f} s, COPY {args.profiles:,} users + profiles {loaded:.1f} s\n")
    print("EXPLAIN ANALYZE of today's birthdays (the job's candidate query):")
    print("\n".join("    " + line for line in plan.splitlines()))
    print()
    rows = [
        ["select today's birthdays", f"{selected:,} rows", f"{select_seconds:.3f} s",
         f"<= {SELECT_TARGET:.0f} s, index {INDEX}" + (" (used)" if uses_index else " (NOT used)"),
         verdict(select_seconds <= SELECT_TARGET and uses_index)],
        ["  EXPLAIN execution time", "", f"{float(ms[1]) / 1000 if ms else float('nan'):.3f} s", "", ""],
        ["job: rewards + vouchers + outbox rows", f"{result['rewarded']:,} rewarded", f"{result['issue']:.1f} s",
         "", ""],
        [f"send through the outbox ({SENDERS} threads)", f"{result['delivered']:,} mails",
         f"{result['send']:.1f} s", "", ""],
        ["issue + send", f"{result['vouchers']:,} vouchers, {result['messages']:,} sent", f"{total:.1f} s",
         f"<= {ISSUE_TARGET:.0f} s",
         verdict(total <= ISSUE_TARGET and result["vouchers"] == result["messages"] == result["delivered"] == TODAY)],
    ]
    print(table(["stage", "work", "time", "target", "verdict"], rows))
    print(f"(outbox: {result['summary']}; machine after: {machine_load()})")


if __name__ == "__main__":
    main()
