"""The store owner sets a 20 % holdout on basket recovery in admin and reads, on the journey map, what the tool
really earns: attributed against caused revenue, with the 95 % interval drawn."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from journey.core.experiments import assign, outcomes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def people_and_orders(experiment, n=400):
    """``n`` people decided by the holdout (as the send gate does), and their orders through the order path."""
    rng = random.Random(3)
    now = timezone.now() - timedelta(days=2)
    people = [(assign.person(email=f"b{i}@example.com"), f"b{i}@example.com") for i in range(n)]
    groups = assign.decide(experiment, [p for p, _ in people], now)
    for i, (p, email) in enumerate(people):
        if rng.random() < (0.25 if groups[p.key] == "t" else 0.10):
            outcomes.record(order_id=10_000 + i, placed_at=now + timedelta(hours=3),
                            total=Decimal(rng.randint(20, 80)), email=email)


def test_the_owner_sets_a_holdout_and_sees_attributed_and_caused_revenue(browser, live_server, shot, sign_in_owner):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in_owner(page, "/admin/journey/experiment/")
    page.get_by_role("link", name="Abandoned-basket recovery").click()
    page.fill("input[name=share_percent]", "20")
    shot(page, "share-form")
    page.locator("input[name=_save]").click()
    page.wait_for_url(lambda url: url.endswith("/admin/journey/experiment/"))
    assert "A new measurement period started with 20 % held out." in page.content()
    shot(page, "periods")
    experiment = assign.current(["recovery"])["recovery"]
    assert experiment.holdout_share == Decimal("0.200")

    people_and_orders(experiment)
    page.goto(f"{live_server.url}/admin/journey/journeymap/?period=7")
    section = page.locator("#jm-incrementality")
    section.scroll_into_view_if_needed()
    assert page.locator("#jm-incrementality-svg rect.jm-inc-attributed").count() >= 1
    assert page.locator("#jm-incrementality-svg rect.jm-inc-caused").count() >= 1
    assert page.locator("#jm-incrementality-svg line.jm-inc-interval").count() >= 1
    row = page.locator('tr[data-incremental="recovery"]')
    assert "Attributed revenue" in section.inner_text() and "Caused revenue" in section.inner_text()
    assert "–" in row.inner_text() and ("Significant at 95 %" in row.inner_text()
                                        or "Not enough data yet" in row.inner_text())
    shot(page, "journey-map")
    context.close()
