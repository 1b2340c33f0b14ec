"""The frequency cap across every tool: at most N marketing messages per person in any rolling window, decided once
at send time (a send gate), in priority order; transactional mail never capped; safe under concurrent senders."""

from datetime import timedelta
from itertools import count

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journey.core import outbox
from journey.core.models import Message
from journey.core.outbox import cap, gates, kinds
from journey.core.outbox.kinds import MessageKind
from tests.core.test_outbox import abandoned
from tests.race import on_postgresql, run_at_once

pytestmark = pytest.mark.django_db
State = Message.State
HOUR = timedelta(hours=1)
_subjects = count()


def _context(message):
    return {"label": message.subject_key}


URGENT = MessageKind(key="captest.urgent", tool="captest", template="tests/cap/note", build_context=_context,
                     priority=10)
LATER = MessageKind(key="captest.later", tool="captest", template="tests/cap/note", build_context=_context,
                    priority=60)
RECEIPT = MessageKind(key="captest.receipt", tool="captest", template="tests/cap/note", build_context=_context,
                      marketing=False)


@pytest.fixture(autouse=True)
def test_kinds():
    for kind in (URGENT, LATER, RECEIPT):
        kinds.register_kind(kind)
    yield
    for kind in (URGENT, LATER, RECEIPT):
        kinds._KINDS.pop(kind.key, None)


class Clock:
    """A controlled clock: django.utils.timezone.now (what the outbox, the cap and auto_now read) returns ``now``."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, delta):
        self.now += delta


@pytest.fixture
def clock(monkeypatch):
    moment = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", moment)
    return moment


@pytest.fixture
def capped(settings):
    def set_cap(messages=2, hours=24, **extra):
        settings.JOURNEY = {**settings.JOURNEY, "FREQUENCY_CAP": {"messages": messages, "hours": hours, **extra}}

    set_cap()
    return set_cap


def note(kind=LATER, to="person@example.com", due=None, user=None, channel="email"):
    message, _created = outbox.schedule(kind=kind.key, subject_key=f"captest:{next(_subjects)}", step=0, to_email=to,
                                        due_at=due or timezone.now(), user=user, channel=channel)
    return message


def states(*messages):
    return [Message.objects.get(pk=m.pk).state for m in messages]


def test_the_cap_is_a_send_gate_registered_by_the_core_after_the_control_groups():
    assert cap.GATE_KEY in gates.registered_gates()
    assert cap.GATE_ORDER > 10  # a held-out person (control group, order 10) never uses up a slot


def test_without_a_cap_everything_goes_out():
    messages = [note() for _ in range(4)]
    outbox.send_due()
    assert states(*messages) == [State.SENT] * 4


def test_at_most_n_marketing_messages_per_person_in_the_window_the_rest_wait_for_room(capped, clock):
    first, second, third = note(), note(), note(to="PERSON@example.com ")
    other = note(to="someone.else@example.com")
    report = outbox.send_claimed(outbox.claim_due(10))
    assert states(first, second, other) == [State.SENT] * 3
    waiting = Message.objects.get(pk=third.pk)
    assert waiting.state == State.SCHEDULED and waiting.attempts == 0
    assert waiting.due_at == clock.now + timedelta(hours=24)  # when the first of the two slots ages out
    assert waiting.last_error.startswith("frequency cap") and waiting.cap_waiting_since == clock.now
    assert report.sent == 3 and report.deferred == 1
    assert cap.waiting_for_room() == 1

    clock.advance(timedelta(hours=23))
    outbox.send_due()
    assert states(third) == [State.SCHEDULED]  # not due yet: nothing was claimed
    clock.advance(HOUR + timedelta(seconds=1))
    outbox.send_due()
    assert states(third) == [State.SENT] and len(mail.outbox) == 4


def test_the_window_rolls_a_slot_frees_when_its_mail_is_older_than_the_window(capped, clock):
    capped(messages=2, hours=24)
    early = note()
    outbox.send_due()
    clock.advance(timedelta(hours=10))
    late = note()
    outbox.send_due()
    clock.advance(timedelta(hours=1))
    third = note()
    outbox.send_due()
    row = Message.objects.get(pk=third.pk)
    assert states(early, late) == [State.SENT, State.SENT]
    assert row.state == State.SCHEDULED and row.due_at == Message.objects.get(pk=early.pk).sent_at + 24 * HOUR


def test_transactional_mail_is_never_capped_nor_counted(capped, clock):
    capped(messages=1)
    receipts = [note(RECEIPT) for _ in range(3)]
    marketing = note()
    outbox.send_due()
    assert states(*receipts, marketing) == [State.SENT] * 4
    assert all(m.cap_slot_at is None for m in Message.objects.filter(kind=RECEIPT.key))


def test_a_person_is_their_address_and_their_account(capped, clock, django_user_model):
    capped(messages=1)
    user = django_user_model.objects.create_user(username="p", email="new@example.com", password="x")
    by_account = note(to="old@example.com", user=user)
    outbox.send_due()
    clock.advance(HOUR)
    same_account = note(to="new@example.com", user=user)
    same_address = note(to="old@example.com")
    outbox.send_due()
    assert states(by_account, same_account, same_address) == [State.SENT, State.SCHEDULED, State.SCHEDULED]


def test_in_one_batch_the_more_important_message_goes_first(capped, clock):
    capped(messages=1)
    winback = note(LATER, due=clock.now - HOUR)  # due first, but less important
    recovery = note(URGENT)
    outbox.send_due()
    assert states(recovery, winback) == [State.SENT, State.SCHEDULED]


def test_a_less_important_message_yields_to_a_more_important_one_already_due(capped, clock):
    capped(messages=2)
    note(LATER)
    outbox.send_due()  # one slot used
    clock.advance(HOUR)
    winback, recovery = note(LATER), note(URGENT)
    report = outbox.send_claimed(outbox.claim_due(10, only_ids=[winback.pk]))  # the winback alone in its batch
    assert report.deferred == 1 and states(winback) == [State.SCHEDULED]
    outbox.send_due()
    assert states(recovery) == [State.SENT]
    assert Message.objects.get(pk=winback.pk).due_at == clock.now - HOUR + 24 * HOUR


def test_a_message_that_would_wait_longer_than_the_maximum_is_dropped_and_counted(capped, clock):
    capped(messages=1, hours=24, max_wait_hours=30)
    note(URGENT)
    outbox.send_due()
    clock.advance(HOUR)
    winback = note(LATER)
    outbox.send_due()
    row = Message.objects.get(pk=winback.pk)
    assert row.state == State.SCHEDULED and row.cap_waiting_since == clock.now  # waits 23 h: within 30 h
    clock.advance(23 * HOUR)
    note(URGENT)  # a more important mail takes the freed slot: the winback would now wait 24 h more
    report = outbox.send_due()
    row.refresh_from_db()
    assert row.state == State.CAPPED and row.close_reason.startswith("frequency cap") and row.sent_at is None
    assert "held 1" in report
    assert cap.held_back_by_tool(clock.now - HOUR, clock.now + HOUR) == {"captest": 1}
    assert cap.held_back("captest", clock.now - HOUR, clock.now + HOUR) == 1


def test_only_the_configured_channels_are_capped(capped, clock):
    capped(messages=1)
    first = note()
    onsite, _created = outbox.schedule(kind=LATER.key, subject_key="captest:onsite", step=0,
                                       to_email="person@example.com", due_at=clock.now, channel="onsite",
                                       address="basket:1")
    outbox.send_due()
    assert states(first, onsite) == [State.SENT, State.SENT]


def test_priorities_are_the_kinds_own_unless_the_shop_overrides_them(settings):
    assert kinds.priority_of(URGENT.key) == 10 and kinds.priority_of(LATER.key) == 60
    assert kinds.priority_of("recovery.step") < kinds.priority_of("post_purchase") < kinds.priority_of("winback")
    settings.JOURNEY = {**settings.JOURNEY, "MESSAGE_PRIORITIES": {"captest": 5, "captest.urgent": 90}}
    assert kinds.priority_of(URGENT.key) == 90 and kinds.priority_of(LATER.key) == 5
    assert kinds.priority_of("no.such.kind") == kinds.DEFAULT_PRIORITY


def test_the_real_recovery_mail_goes_before_a_winback_through_the_real_send_path(capped, clock):
    capped(messages=1)
    winback = note(LATER, to="shopper@example.com", due=clock.now - 2 * HOUR)
    recovery = abandoned("shopper@example.com")
    outbox.send_due()
    assert states(recovery, winback) == [State.SENT, State.SCHEDULED]
    assert [m.to for m in mail.outbox] == [["shopper@example.com"]]


def test_a_misconfigured_cap_holds_nothing_back(settings):
    settings.JOURNEY = {**settings.JOURNEY, "FREQUENCY_CAP": {"messages": 1, "hours": -1}}
    messages = [note() for _ in range(2)]
    outbox.send_due()
    assert states(*messages) == [State.SENT, State.SENT]


@pytest.mark.parametrize("size", [15, 90])
def test_the_cap_costs_a_fixed_number_of_queries_per_batch_not_per_mail(capped, size):
    capped(messages=2)
    for i in range(size):
        note(to=f"p{i % 5}@example.com")
    claimed = outbox.claim_due(100)
    batch = list(Message.objects.filter(pk__in=claimed))
    with CaptureQueriesContext(connection) as queries:
        verdicts = cap.cap_gate(batch)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # PostgreSQL: the person locks, then the count with the marks; and one more to give back the marks of the
    # messages that do not fit.  SQLite (no lock): the count, the marks, the give-back.
    assert len(statements) == 3
    assert len(verdicts) == size - 10  # two for each of the five people


def test_a_batch_where_everyone_fits_costs_two_statements(capped):
    capped(messages=2)
    batch = [note(to=f"p{i}@example.com") for i in range(20)]
    claimed = list(Message.objects.filter(pk__in=outbox.claim_due(100)))
    with CaptureQueriesContext(connection) as queries:
        assert cap.cap_gate(claimed) == {}
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == 2
    assert all(m.cap_slot_at for m in Message.objects.filter(pk__in=[m.pk for m in batch]))


def test_no_query_at_all_when_the_cap_is_off_or_nothing_in_the_batch_is_capped(capped, django_assert_num_queries):
    receipt = note(RECEIPT)
    batch = list(Message.objects.filter(pk=receipt.pk))
    with django_assert_num_queries(0):
        assert cap.cap_gate(batch) == {}


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_concurrent_senders_never_send_more_than_n_in_the_window(capped):
    capped(messages=2)
    for _round in range(3):
        Message.objects.all().delete()
        people = ["a@example.com", "b@example.com", "c@example.com"]
        for i in range(24):
            note(URGENT if i % 3 else LATER, to=people[i % 3])
        batches = [outbox.claim_due(12), outbox.claim_due(12)]
        assert len(batches[0]) == len(batches[1]) == 12
        run_at_once(2, lambda i, batches=batches: outbox.send_claimed(batches[i]))
        for person in people:
            assert Message.objects.filter(to_email=person, state=State.SENT).count() == 2
            assert Message.objects.filter(to_email=person, state=State.SCHEDULED).count() == 6
    assert len(mail.outbox) == 18


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_many_concurrent_senders_one_at_a_time_each(capped):
    capped(messages=3)
    for _i in range(40):
        note(to="busy@example.com")
    batches = [outbox.claim_due(5) for _ in range(8)]
    run_at_once(8, lambda i: outbox.send_claimed(batches[i]))
    found = sorted(Message.objects.values_list("state", "last_error", "close_reason"))
    assert Message.objects.filter(state=State.SENT).count() == 3, found
    assert Message.objects.filter(state=State.SCHEDULED).count() == 37, found


def test_the_message_log_shows_the_cap_and_every_kind_s_priority(capped, admin_client):
    note()
    response = admin_client.get("/admin/journey/message/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "at most 2 marketing messages per person in any 24 hours" in page
    assert "recovery.step" in page and "winback" in page and "captest.later" in page
    assert "captest.receipt" not in page.split('id="frequency-cap"')[1].split("</details>")[0]  # transactional


def test_the_map_and_the_tools_reports_count_what_the_cap_held_back(capped, clock, admin_client):
    from journey.insights.journey_map.build import build_journey_map
    from journey.loyalty import numbers as retain_numbers
    from journey.recovery.numbers import recovery_numbers

    capped(messages=1, max_wait_hours=0)
    note(URGENT, to="shopper@example.com")
    outbox.send_due()
    held = [note(LATER, to="shopper@example.com"), abandoned("shopper@example.com")]
    Message.objects.filter(pk=held[0].pk).update(tool="winback")
    outbox.send_due()
    assert states(*held) == [State.CAPPED, State.CAPPED]
    start, end = clock.now - HOUR, clock.now + HOUR
    assert recovery_numbers(start, end).held_back == 1
    assert retain_numbers.program_numbers("winback", start, end).held_back == 1
    clock.advance(timedelta(minutes=1))
    journey_map = build_journey_map("7d")
    cards = {card.tool.key: card for column in journey_map.columns for card in column.cards}
    label = "Held back by the frequency cap"
    assert [m.value for m in cards["recovery"].metrics if str(m.label) == label] == [1]
    assert [m.value for m in cards["winback"].metrics if str(m.label) == label] == [1]
    report = admin_client.get("/admin/journey/basketactivity/report/").content.decode()
    assert label in report and "Incentives withheld" in report
