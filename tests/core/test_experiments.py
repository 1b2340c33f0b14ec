"""Holdouts: deterministic keyed assignment, periods, the outbox's holdout gate, orders counted the same way for
both groups, and erasure that keeps the sums."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import UserFactory, create_order

from journey.core import outbox, privacy
from journey.core.experiments import assign, outcomes
from journey.core.experiments.models import Assignment, ErasedTally, Experiment, ExperimentOrder
from journey.core.experiments.totals import period_totals
from journey.core.models import Message
from journey.exceptions import JourneyError
from tests.core.test_outbox import abandoned
from tests.race import on_postgresql, run_at_once

pytestmark = pytest.mark.django_db
State = Message.State
Group = Assignment.Group


def control_email(experiment, want=Group.CONTROL, start=0):
    """An address whose draw puts it in ``want`` for ``experiment``."""
    for i in range(start, start + 10_000):
        email = f"p{i}@example.com"
        if assign.group_for(assign.person_key(email=email), experiment) == want:
            return email
    raise AssertionError("no address found")


def test_the_same_person_always_gets_the_same_draw_and_keys_hide_the_address():
    key = assign.person_key(email=" Ana@Example.com ")
    assert key == assign.person_key(email="ana@example.com") and "ana" not in key and len(key) == 32
    assert assign.person_key(user_id=7) != assign.person_key(email="ana@example.com")
    assert assign.draw(key, "recovery", "s1") == assign.draw(key, "recovery", "s1")
    assert assign.draw(key, "recovery", "s1") != assign.draw(key, "birthday", "s1")
    assert assign.draw(key, "recovery", "s1") != assign.draw(key, "recovery", "s2")


def test_shares_are_within_sampling_error_on_100000_people():
    experiment = Experiment(key="recovery", holdout_share=Decimal("0.2"), salt="abc")
    n = 100_000
    control = sum(assign.group_for(assign.person_key(user_id=i), experiment) == Group.CONTROL for i in range(n))
    sd = (n * 0.2 * 0.8) ** 0.5
    assert abs(control - n * 0.2) < 4 * sd  # 4 standard deviations: ±506 people


def test_a_share_is_parsed_strictly():
    assert assign.parse_share("0.2") == Decimal("0.200")
    assert assign.parse_share("20 %") == Decimal("0.200")
    assert assign.parse_share(15) == Decimal("0.150")
    for bad in ("abc", "-0.1", "95", "nan", "inf", "1e400"):
        with pytest.raises(JourneyError):
            assign.parse_share(bad)


def test_a_tool_starts_with_its_default_share_and_changing_it_opens_a_new_period(settings):
    settings.JOURNEY = {**settings.JOURNEY, "HOLDOUT_START_SHARE": None}
    first = assign.current(["recovery"])["recovery"]
    assert first.holdout_share == Decimal("0.100") and first.surface == "mail" and first.window_days == 7
    assert assign.current(["recovery", "no_such_tool"]) == {"recovery": first}
    assert assign.set_share("recovery", "0.1").pk == first.pk  # the same share: nothing changes
    second = assign.set_share("recovery", "0.2")
    first.refresh_from_db()
    assert first.ended_at == second.started_at and second.holdout_share == Decimal("0.200")
    assert second.salt != first.salt and assign.current(["recovery"])["recovery"] == second


def test_a_held_out_person_gets_no_mail_and_the_decision_is_recorded():
    experiment = assign.set_share("recovery", "0.5")
    held_out, treated = control_email(experiment), control_email(experiment, Group.TREATMENT)
    held, sent = abandoned(held_out), abandoned(treated)
    report = outbox.send_claimed(outbox.claim_due(10))
    assert [m.to for m in mail.outbox] == [[treated]]
    row = Message.objects.get(pk=held.pk)
    assert row.state == State.HELD_OUT and row.closed_at and "control group of recovery" in row.close_reason
    assert Message.objects.get(pk=sent.pk).state == State.SENT
    rows = {a.person: a for a in Assignment.objects.filter(experiment=experiment)}
    assert rows[assign.person_key(email=held_out)].group == Group.CONTROL
    assert rows[assign.person_key(email=treated)].group == Group.TREATMENT
    decided = rows[assign.person_key(email=held_out)].decided_at
    assert decided <= row.closed_at and rows[assign.person_key(email=held_out)].window_ends_at == decided + \
        timedelta(days=7)
    assert report.held == 1


def test_a_mail_the_person_asked_for_is_never_held_out():
    from journey.recovery import services
    from journey.recovery.models import BasketActivity
    from journey.test.factories import basket_with

    experiment = assign.set_share("recovery", "0.9")
    email = control_email(experiment)
    activity = services.capture_email(basket_with(), email, BasketActivity.Source.CHECKOUT)
    outbox.schedule(kind=services.SAVED_BASKET_KIND, subject_key="saved", step=0, to_email=email,
                    due_at=timezone.now(), context={"activity_id": activity.pk})
    outbox.send_claimed(outbox.claim_due(10))
    assert [m.to for m in mail.outbox] == [[email]] and not Assignment.objects.exists()


def test_with_the_holdout_off_nothing_is_held_or_recorded():
    abandoned("a@example.com")
    outbox.send_due()
    assert len(mail.outbox) == 1 and not Assignment.objects.exists()


def test_a_person_keeps_their_group_when_they_come_back_as_a_customer():
    experiment = assign.set_share("recovery", "0.5")
    email = control_email(experiment)
    user = UserFactory(email=email)
    # Their draw as a customer may differ; the group recorded for their email stands.
    assert assign.decide(experiment, [assign.person(email=email)]) == {assign.person_key(email=email): "c"}
    groups = assign.decide(experiment, [assign.person(user_id=user.pk, email=email)])
    assert groups == {assign.person_key(user_id=user.pk): "c"}
    assert Assignment.objects.filter(experiment=experiment).count() == 1


def test_decide_records_once_and_uses_the_stored_group():
    experiment = assign.set_share("recovery", "0.5")
    person = assign.person(email="x@example.com")
    Assignment.objects.create(experiment=experiment, person=person.key, group="c", decided_at=timezone.now(),
                              window_ends_at=timezone.now() + timedelta(days=7))
    assert assign.decide(experiment, [person, person]) == {person.key: "c"}
    assert Assignment.objects.count() == 1


def test_orders_count_for_both_groups_once_within_the_window(django_capture_on_commit_callbacks):
    experiment = assign.set_share("recovery", "0.5")
    treated, held = UserFactory(), UserFactory()
    now = timezone.now()
    for user, group in ((treated, "t"), (held, "c")):
        Assignment.objects.create(experiment=experiment, person=assign.person_key(user_id=user.pk), group=group,
                                  decided_at=now - timedelta(days=1), window_ends_at=now + timedelta(days=6))
    with django_capture_on_commit_callbacks(execute=True):
        order_t = create_order(user=treated)
        create_order(user=held)
    assert outcomes.record_order(order_t) == 0  # recorded once, however often it is recorded
    rows = {a.group: a for a in Assignment.objects.all()}
    assert rows["t"].orders == 1 and rows["c"].orders == 1
    assert rows["t"].revenue == order_t.total_incl_tax
    # Outside the window: not counted.
    late = now + timedelta(days=8)
    assert outcomes.record(order_id=999, placed_at=late, total=Decimal("5"), user_id=treated.pk) == 0
    early = now - timedelta(days=2)
    assert outcomes.record(order_id=998, placed_at=early, total=Decimal("5"), user_id=treated.pk) == 0
    assert ExperimentOrder.objects.count() == 2


def test_a_guest_order_by_a_customers_email_counts_for_the_customer():
    experiment = assign.set_share("recovery", "0.5")
    user = UserFactory(email="cust@example.com")
    now = timezone.now()
    Assignment.objects.create(experiment=experiment, person=assign.person_key(user_id=user.pk), group="c",
                              decided_at=now - timedelta(hours=1), window_ends_at=now + timedelta(days=6))
    assert outcomes.record(order_id=1, placed_at=now, total=Decimal("12.50"), email="Cust@example.com") == 1


def test_erasure_removes_the_assignment_but_keeps_the_periods_totals():
    experiment = assign.set_share("recovery", "0.5")
    user = UserFactory(email="gone@example.com")
    now = timezone.now()
    Assignment.objects.create(experiment=experiment, person=assign.person_key(user_id=user.pk), group="c",
                              decided_at=now, window_ends_at=now + timedelta(days=7), user=user, orders=2,
                              revenue=Decimal("30.00"), discount=Decimal("3.00"))
    Assignment.objects.create(experiment=experiment, person=assign.person_key(email="stay@example.com"), group="c",
                              decided_at=now, window_ends_at=now + timedelta(days=7))
    before = period_totals([experiment.pk])[(experiment.pk, "c", "")]
    counts = privacy.erase(email="gone@example.com")
    assert counts["holdout assignments"] == 1
    assert not Assignment.objects.filter(user=user).exists()
    assert not Assignment.objects.filter(person=assign.person_key(user_id=user.pk)).exists()
    after = period_totals([experiment.pk])[(experiment.pk, "c", "")]
    assert after == before and after.people == 2 and after.converted == 1 and after.revenue_sq == Decimal("900")
    assert ErasedTally.objects.get().people == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_never_send_to_a_held_out_person():
    experiment = assign.set_share("recovery", "0.5")
    email = control_email(experiment, Group.TREATMENT)
    # Recorded in the control group (e.g. under the email they had before): its draw now would say treatment.
    Assignment.objects.create(experiment=experiment, person=assign.person_key(email=email), group="c",
                              decided_at=timezone.now(), window_ends_at=timezone.now() + timedelta(days=7))
    first = abandoned(email)
    second = Message.objects.get(subject_key=first.subject_key, step=2)  # a second mail to the same person
    Message.objects.filter(pk=second.pk).update(due_at=timezone.now())
    ids = [[first.pk], [second.pk]]
    claimed = [outbox.claim_due(10, only_ids=i) for i in ids]
    reports = run_at_once(2, lambda i: outbox.send_claimed(claimed[i]))
    assert sum(r.held for r in reports) == 2 and not mail.outbox
    assert set(Message.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == \
        {State.HELD_OUT}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_record_one_group_per_person():
    experiment = assign.set_share("recovery", "0.5")
    people = [assign.person(email=f"r{i}@example.com") for i in range(200)]
    results = run_at_once(4, lambda i: assign.decide(experiment, people))
    assert all(r == results[0] for r in results)
    assert Assignment.objects.count() == 200


def test_the_gate_costs_a_fixed_number_of_queries_per_batch():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from journey.core.experiments.gate import holdout_gate
    from journey.recovery.services import MAIL_KIND

    assign.set_share("recovery", "0.5")
    now = timezone.now()

    def batch(n, start):
        Message.objects.bulk_create([Message(tool="recovery", kind=MAIL_KIND, subject_key=f"q{start + i}", step=1,
                                             to_email=f"q{start + i}@example.com", due_at=now) for i in range(n)])
        return list(Message.objects.filter(subject_key__in=[f"q{start + i}" for i in range(n)]))

    # 80: SQLite splits one INSERT of more rows into several (its limit on query parameters); PostgreSQL does not.
    small, big = batch(5, 0), batch(80, 100)
    with CaptureQueriesContext(connection) as few:
        holdout_gate(small)
    with CaptureQueriesContext(connection) as many:
        verdicts = holdout_gate(big)
    assert len(few) == len(many) <= 4
    assert 20 < len(verdicts) < 60  # about half held out
