"""The holdout numbers: the interval methods against known values, one tool measured end to end through the real
send and order paths, and the verdicts."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import UserFactory, create_order
from scipy import stats

from journey.core import outbox
from journey.core.experiments import assign
from journey.core.experiments.models import Assignment
from journey.core.experiments.totals import GroupTotals
from journey.insights import incrementality as inc
from tests.core.test_outbox import abandoned

pytestmark = pytest.mark.django_db


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10: 56/70 − 48/80 and 9/10 − 3/10.
    d, low, high = inc.newcombe(56, 70, 48, 80)
    assert round(d, 4) == 0.2 and round(low, 4) == 0.0524 and round(high, 4) == 0.3339
    assert [round(v, 4) for v in inc.newcombe(9, 10, 3, 10)] == [0.6, 0.1705, 0.8090]


def test_welch_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.exponential(40, 300), rng.exponential(30, 500)
    d, low, high = inc.welch(a.sum(), (a * a).sum(), len(a), b.sum(), (b * b).sum(), len(b))
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d == pytest.approx(a.mean() - b.mean()) and low == pytest.approx(ci.low) and high == pytest.approx(ci.high)


def test_people_needed_grows_as_the_lift_shrinks():
    assert inc.people_needed(0.10, 0.02, 0.5) > inc.people_needed(0.10, 0.05, 0.5) > 0
    # A 10 % holdout needs more people than an even split for the same lift.
    assert inc.people_needed(0.10, 0.02, 0.1) > inc.people_needed(0.10, 0.02, 0.5)


def totals(people, converted, revenue=0, revenue_sq=0, discount=0):
    return GroupTotals(people, converted, converted, Decimal(revenue), Decimal(revenue_sq), Decimal(discount))


def test_verdicts(settings):
    experiment = assign.set_share("recovery", "0.5")
    empty = inc.analyse(experiment, GroupTotals(), GroupTotals())
    assert empty.verdict == "No one measured yet." and empty.lift is None
    small = inc.analyse(experiment, totals(50, 6, 300, 9000), totals(50, 5, 250, 7500))
    assert small.verdict.startswith("Not enough data yet: about ") and "2-point lift" in small.verdict
    assert small.more_people > 0 and not small.significant
    big = inc.analyse(experiment, totals(5000, 1000, 40000, 2_000_000, 900), totals(5000, 500, 20000, 1_000_000))
    assert big.significant and big.verdict.startswith("Significant at 95 %: the tool brings +10.0 more points")
    assert big.incremental_orders.value == pytest.approx(500) and big.relative_lift == pytest.approx(1.0)
    assert big.incremental_revenue.value == pytest.approx(20000)
    assert big.voucher_cost == Decimal("900.00") and big.incremental_margin == pytest.approx(6000)


def test_a_tool_measured_end_to_end_through_the_send_and_order_paths(django_capture_on_commit_callbacks):
    experiment = assign.set_share("recovery", "0.5")
    users = [UserFactory(email=f"m{i}@example.com") for i in range(12)]
    for user in users:
        abandoned(user.email)
    outbox.send_claimed(outbox.claim_due(100))
    groups = dict(Assignment.objects.values_list("person", "group"))
    held = [u for u in users if groups[assign.person_key(email=u.email)] == "c"]
    treated = [u for u in users if groups[assign.person_key(email=u.email)] == "t"]
    assert held and treated and len(mail.outbox) == len(treated)
    # The first treated person and the first held-out person order (as customers, by the same email).
    with django_capture_on_commit_callbacks(execute=True):
        create_order(user=treated[0])
        create_order(user=held[0])
    [result] = inc.results(["recovery"])
    assert result.experiment == experiment
    assert (result.treatment.people, result.control.people) == (len(treated), len(held))
    assert result.treatment.converted == result.control.converted == 1
    assert result.lift.low < result.lift.value < result.lift.high


def test_periods_never_mix(settings):
    first = assign.set_share("recovery", "0.5")
    now = timezone.now()
    Assignment.objects.create(experiment=first, person="a" * 32, group="c", decided_at=now,
                              window_ends_at=now + timedelta(days=7))
    second = assign.set_share("recovery", "0.2")
    Assignment.objects.create(experiment=second, person="a" * 32, group="t", decided_at=now,
                              window_ends_at=now + timedelta(days=7), orders=1, revenue=Decimal("10"))
    by_period = {r.experiment.pk: r for r in inc.results(["recovery"])}
    assert by_period[first.pk].control.people == 1 and by_period[first.pk].treatment.people == 0
    assert by_period[second.pk].treatment.people == 1 and by_period[second.pk].control.people == 0


# Admin and the journey map ----------------------------------------------------------------------------------
@pytest.fixture
def owner(client, staff_user):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(*Permission.objects.filter(content_type__app_label="journey",
                                                               codename__endswith="_experiment"))
    client.force_login(staff_user)
    return staff_user


def test_the_owner_sets_a_share_in_admin_and_a_new_period_starts(client, owner):
    from django.urls import reverse

    response = client.get(reverse("admin:journey_experiment_changelist"))
    assert response.status_code == 200
    current = assign.current(["recovery"])["recovery"]
    url = reverse("admin:journey_experiment_change", args=[current.pk])
    response = client.post(url, {"share_percent": "20"})
    assert response.status_code == 302
    new = assign.current(["recovery"])["recovery"]
    assert new.pk != current.pk and new.holdout_share == Decimal("0.200")
    # A closed period is a record: it cannot be edited.
    assert client.post(url, {"share_percent": "30"}).status_code == 403


@pytest.mark.parametrize("bad", ["95", "-1", "abc", "1e9", ""])
def test_a_bad_share_is_a_form_error(client, owner, bad):
    from django.urls import reverse

    current = assign.set_share("recovery", "0.1")
    response = client.post(reverse("admin:journey_experiment_change", args=[current.pk]), {"share_percent": bad})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert assign.current(["recovery"])["recovery"].pk == current.pk


def test_the_map_shows_attributed_and_caused_revenue_with_the_interval(client, staff_user):
    from django.urls import reverse

    experiment = assign.set_share("recovery", "0.2")
    now = timezone.now()
    for i in range(40):
        Assignment.objects.create(experiment=experiment, person=f"{i:032d}", group="c" if i % 5 == 0 else "t",
                                  decided_at=now - timedelta(days=1), window_ends_at=now + timedelta(days=6),
                                  orders=1 if i % 3 == 0 else 0, revenue=Decimal("30") if i % 3 == 0 else 0)
    client.force_login(staff_user)
    response = client.get(reverse("admin:journey_journeymap_changelist"), {"period": "7"})
    [row] = response.context["journey_map"].incrementality
    assert row.key == "recovery" and row.result.treatment.people == 32 and row.result.control.people == 8
    html = response.content.decode()
    assert 'id="jm-incrementality-svg"' in html and 'class="jm-inc-interval"' in html
    assert 'data-incremental="recovery"' in html and "Not enough data yet" in html
