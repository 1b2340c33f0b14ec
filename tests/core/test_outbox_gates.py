"""Send gates: tools decide at send time, per batch, whether a claimed message goes out, is held, or waits."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from journey.core import outbox
from journey.core.models import Message
from journey.core.outbox import gates
from tests.core.test_outbox import abandoned

pytestmark = pytest.mark.django_db
State = Message.State


@pytest.fixture
def gate_registry():
    saved = list(gates._GATES)
    yield
    gates._GATES[:] = saved


def test_a_gate_holds_a_message_back_with_its_state_and_reason(gate_registry):
    message = abandoned()
    seen = []

    def holdout(messages):
        seen.extend(m.pk for m in messages)
        return {m.pk: gates.Hold(State.HELD_OUT, "control group") for m in messages}

    gates.register_gate("test-holdout", holdout, order=10)
    report = outbox.send_claimed(outbox.claim_due(10))
    row = Message.objects.get(pk=message.pk)
    assert seen == [message.pk]
    assert row.state == State.HELD_OUT and row.close_reason == "control group" and row.closed_at
    assert row.sent_at is None and not mail.outbox
    assert report.held == 1 and report.sent == 0


def test_a_deferred_message_goes_back_to_the_schedule_without_counting_an_attempt(gate_registry):
    message = abandoned()
    later = timezone.now() + timedelta(hours=3)
    gates.register_gate("test-cap", lambda ms: {m.pk: gates.Defer(later, "cap") for m in ms})
    report = outbox.send_claimed(outbox.claim_due(10))
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.SCHEDULED and row.due_at == later and row.claimed_at is None
    assert row.attempts == 0 and row.last_error == "cap"
    assert report.deferred == 1 and not mail.outbox


def test_gates_run_in_order_and_a_later_gate_never_sees_what_an_earlier_one_held(gate_registry):
    held, other = abandoned("a@example.com"), abandoned("b@example.com")
    later_saw = []
    gates.register_gate("late", lambda ms: later_saw.extend(m.pk for m in ms) or {}, order=90)
    gates.register_gate("early", lambda ms: {held.pk: gates.Hold(State.HELD_OUT, "x")}, order=10)
    outbox.send_due()
    assert later_saw == [other.pk]
    assert [m.to for m in mail.outbox] == [["b@example.com"]]


def test_a_gate_that_fails_holds_nothing_back(gate_registry):
    abandoned()

    def broken(messages):
        raise RuntimeError("bug in a gate")

    gates.register_gate("broken", broken)
    assert outbox.send_claimed(outbox.claim_due(10)).sent == 1


def test_suppressed_messages_never_reach_a_gate(gate_registry):
    from journey.core import suppression

    message = abandoned()
    suppression.suppress(message.to_email, "unsubscribed")
    saw = []
    gates.register_gate("spy", lambda ms: saw.extend(ms) or {})
    outbox.send_due()
    assert saw == []
