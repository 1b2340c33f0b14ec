"""What sending a batch costs the database: one commit per mail (its "provider call started" mark carries the previous
mail's "sent" mark), and what a worker dying in the middle of a batch leaves behind."""

from contextlib import contextmanager

import pytest
from django.core import mail
from django.db import connection

from journey.core import outbox
from journey.core.models import Message
from tests.core.test_outbox import abandoned

State = Message.State
WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def counting_commits():
    """Counts the commits on this connection: every write outside a transaction (it commits by itself) and every
    outermost transaction Django commits."""
    counts = {"commits": 0}

    def count_autocommitted(execute, sql, params, many, context):
        if not connection.in_atomic_block and sql.lstrip()[:6].upper() in WRITES:
            counts["commits"] += 1
        return execute(sql, params, many, context)

    commit = connection.commit

    def counted_commit():
        counts["commits"] += 1
        return commit()

    connection.commit = counted_commit
    try:
        with connection.execute_wrapper(count_autocommitted):
            yield counts
    finally:
        del connection.commit  # the instance attribute goes: the method is back


def send_counting_commits(emails):
    for email in emails:
        abandoned(email)
    ids = outbox.claim_due(100)
    assert len(ids) == len(emails)
    with counting_commits() as counts:
        report = outbox.send_claimed(ids)
    assert report.sent == len(emails)
    assert set(Message.objects.filter(pk__in=ids).values_list("state", flat=True)) == {State.SENT}
    return counts["commits"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_mails_commits_once_per_mail():
    send_counting_commits(["warm-up@example.com"])  # what happens once (e.g. the tools' holdout periods opening)
    four = send_counting_commits([f"four{i}@example.com" for i in range(4)])
    twelve = send_counting_commits([f"twelve{i}@example.com" for i in range(12)])
    assert len(mail.outbox) == 17
    # One commit per mail (its mark, with the previous mail's "sent"), and a few per batch whatever its size (the
    # last "sent", the link tokens, the batch's events): eight more mails cost eight more commits, not sixteen.
    assert twelve - four <= 8, (four, twelve)
    assert four <= 4 + 5, four


class WorkerDied(BaseException):
    """What a worker killed during the provider call looks like to the send loop: nothing catches it."""


@pytest.mark.django_db(transaction=True)
def test_a_worker_dying_mid_batch_keeps_the_mails_already_sent_recorded_as_sent(scripted_esp):
    messages = [abandoned(f"shopper{i}@example.com") for i in range(5)]

    def die():
        raise WorkerDied

    scripted_esp["shopper2@example.com"] = [die]
    ids = outbox.claim_due(100)
    assert sorted(ids) == sorted(m.pk for m in messages)
    with pytest.raises(WorkerDied):
        outbox.send_claimed(ids)
    states = {m.to_email: (m.state, m.esp_call_started_at is not None) for m in Message.objects.filter(pk__in=ids)}
    # Sent before the death: recorded as sent.  The one whose call was under way: left for the sweeper to fail (never
    # sent twice).  The rest: untouched, the sweeper puts them back.
    assert states["shopper0@example.com"] == (State.SENT, True)
    assert states["shopper1@example.com"] == (State.SENT, True)
    assert states["shopper2@example.com"] == (State.SENDING, True)
    assert states["shopper3@example.com"] == (State.SENDING, False)
    assert states["shopper4@example.com"] == (State.SENDING, False)
