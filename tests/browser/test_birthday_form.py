"""A signed-in shopper sets a birthday and marketing consent from the account menu (headless Chromium)."""

import re

import pytest

from journey.loyalty.profiles.models import CustomerProfile
from journey.loyalty.profiles.services import consent_wording

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_shopper_sets_a_birthday_from_the_account_menu(browser, live_server, shot, django_user_model):
    shopper = django_user_model.objects.create_user(username="lucia", email="lucia@example.com",
                                                    password="pw-lucia-1")
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login-username]", "lucia@example.com")
    page.fill("input[name=login-password]", "pw-lucia-1")
    page.locator("button[name=login_submit]").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/accounts/profile/")
    page.locator("[data-journey-profile-link]").click()
    page.wait_for_url(re.compile(r".*/journey/account/profile/$"))
    assert consent_wording() in page.inner_text("body")
    shot(page, "profile-page")

    page.select_option("select[name=birth_day]", "30")
    page.select_option("select[name=birth_month]", "2")
    page.check("input[name=marketing_consent][value=granted]")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "February has no day 30." in page.locator("[data-journey-error]").inner_text()
    assert not CustomerProfile.objects.filter(user=shopper).exists()
    shot(page, "feb-30-refused")

    page.select_option("select[name=birth_day]", "28")
    page.select_option("select[name=birth_month]", "2")
    page.check("input[name=marketing_consent][value=granted]")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "Your preferences are saved." in page.inner_text("body")
    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.birth_month, profile.birth_day, profile.marketing_consent) == (2, 28, "granted")
    assert profile.consent_text == consent_wording() and profile.consent_source == "account page"
    assert page.locator("select[name=birth_day]").input_value() == "28"
    shot(page, "saved")
    context.close()
