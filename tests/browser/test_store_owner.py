"""The store owner's path in one go, in a real browser: sign in to Django admin → the journey map's four phases with
their numbers and charts → a campaign discount refused for a bad percentage, fixed → its link copied to the clipboard
and pasted into a shopper's browser, where it gives the discount."""

import re
from decimal import Decimal

import pytest

from journey.promotions.campaigns.models import Campaign

from .conftest import PHONE
from .test_journey_map_charts import shop_with_traffic

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def drawn(locator):
    """The SVG element has a real size on the page and something drawn in it."""
    box = locator.bounding_box()
    shapes = locator.locator("rect, path, polyline, line, circle").count()
    return box is not None and box["width"] > 50 and box["height"] > 10 and shapes > 0


def test_the_owner_reads_the_map_creates_a_campaign_and_copies_its_link(browser, live_server, shot, sign_in_owner):
    shop_with_traffic()
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()

    # Sign in, then find the journey map from the admin's index.
    sign_in_owner(page, "/admin/")
    page.locator("#content-main").get_by_role("link", name="Journey map", exact=True).first.click()
    page.wait_for_url(re.compile(r".*/admin/journey/journeymap/$"))

    # The four phases, in order, each with its step's number of visits.
    phases = page.locator("section[data-phase]")
    assert phases.evaluate_all("els => els.map(e => e.dataset.phase)") == ["attract", "convince", "sell", "retain"]
    assert [t.split()[0] for t in phases.locator("h2").all_inner_texts()] == ["Attract", "Convince", "Sell", "Retain"]
    visits = {}
    for phase in ("attract", "convince", "sell", "retain"):
        step = page.locator(f"section[data-phase={phase}] .jm-step strong").inner_text()
        assert re.fullmatch(r"[\d,]+", step), step
        visits[phase] = int(step.replace(",", ""))
    assert visits["attract"] == 40 and visits["attract"] >= visits["convince"] >= visits["sell"] > 0
    assert visits["retain"] == 0  # ordered again: nobody yet
    headline = page.locator(".jm-headline strong").all_inner_texts()
    assert headline and all(re.search(r"\d", value) for value in headline)

    # The charts are drawn (SVG present with shapes in it and a real size), sparklines too.
    assert drawn(page.locator("#jm-funnel-svg")) and drawn(page.locator("#jm-series-svg"))
    sparklines = page.locator("svg.jm-spark")
    assert sparklines.count() >= 3 and all(drawn(sparklines.nth(i)) for i in range(sparklines.count()))
    shot(page, "journey-map")

    # A campaign discount: a bad percentage is refused with a readable error, nothing saved.
    page.goto(live_server.url + "/admin/journey/campaign/add/")
    page.fill("#id_name", "Spring on Instagram")
    page.select_option("#id_channel", "instagram")
    page.fill("#id_discount_value", "-5")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    errors = " ".join(page.locator(".errorlist").all_inner_texts())
    assert errors.strip() and "Traceback" not in page.content()
    assert not Campaign.objects.exists()
    shot(page, "negative-percentage-refused")

    page.fill("#id_discount_value", "120")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    assert "A percentage cannot be more than 100." in " ".join(page.locator(".errorlist").all_inner_texts())
    assert not Campaign.objects.exists()

    # Fixed and published: the link is shown; a click selects all of it, Ctrl+C copies it.
    page.fill("#id_discount_value", "15")
    page.uncheck("#id_is_draft")
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(r".*/admin/journey/campaign/\d+/change/"))
    share = page.locator("[data-journey-share-link]")
    link = share.input_value()
    share.click()
    assert share.evaluate("el => [el.selectionStart, el.selectionEnd]") == [0, len(link)]
    page.keyboard.press("ControlOrMeta+KeyC")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == link
    assert copied.startswith(f"{live_server.url}/journey/c/spring-on-instagram/?utm_source=instagram")
    shot(page, "campaign-link")
    context.close()

    # The copied link, pasted into a shopper's phone: the discount waits in the basket.
    phone = browser.new_context(**PHONE)
    shopper = phone.new_page()
    shopper.goto(copied)
    assert "15 % off is waiting in your basket" in shopper.inner_text("body")
    shot(shopper, "shopper-follows-the-copied-link")
    phone.close()
    campaign = Campaign.objects.get()
    assert campaign.offer.benefit.value == Decimal("15.00") and not campaign.is_draft
