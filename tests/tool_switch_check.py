"""Run in a child process with a settings module that switches tool packages on or off (JOURNEY["TOOLS"]):
``tests.settings_without_loyalty`` or ``tests.settings_with_host_tool``.

The shop must pass ``check``, migrate a fresh database (loyalty's models and migrations stay: one app label) and
serve the storefront, its account pages, Django admin and the journey map, take an order through Oscar's checkout
and run every job; and of each package left out (journey's loyalty, the host's own ``tests.host_tool``) nothing may be
active: no job, beat entry, Celery task, URL, admin page, signal receiver, mail kind, eraser, tool on the map or
template output, and no module loaded but its models and settings.  A package left in must be found active, so the
probe is seen to work.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_without_loyalty")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from oscar.test.factories import create_product  # noqa: E402

from journey.conf import tool_installed  # noqa: E402
from tests import tool_probe  # noqa: E402

LOYALTY = "journey.loyalty"
HOST = "tests.host_tool"
# Loyalty's programs share an abstract model base that its models modules import.
LOYALTY_MODEL_SUPPORT = ("journey.loyalty.programs",)
# What each package has (a host tool has no admin, mail kind or eraser).
PARTS = {
    LOYALTY: ("jobs", "beat schedule", "celery tasks", "urls", "admin", "receivers", "mail kinds", "erasers",
              "journey map"),
    HOST: ("jobs", "beat schedule", "celery tasks", "urls", "receivers", "journey map"),
}
failed = []


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failed.append(what)


def reverses(name):
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def main():
    setup_test_environment()
    on = {package: tool_installed(package) for package in (LOYALTY, HOST)}
    print(f"JOURNEY['TOOLS'] on: {on}", flush=True)
    call_command("check", fail_level="ERROR")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("makemigrations", "journey", "--check", "--dry-run", verbosity=0)

    # The storefront, as a shopper.
    product = create_product(title="Jamón ibérico", price=12, num_in_stock=5)
    shopper = Client()
    for name, url in (("home page", "/"), ("product page", product.get_absolute_url())):
        status = shopper.get(url, follow=True).status_code
        expect(status == 200, f"{name} {url} -> {status}")
    expect(shopper.post(f"/basket/add/{product.pk}/", {"quantity": 1}).status_code == 302, "add to basket")
    basket = shopper.get("/basket/")
    expect(basket.status_code == 200 and "Jamón ibérico" in basket.content.decode(), "basket page")

    # Oscar's checkout with the post-purchase program switched on in its row (its table stays): only loyalty's
    # order_placed receiver would schedule the thank-you mail.
    from journey.core.models import Message
    from journey.loyalty.followups.models import PostPurchaseProgram
    from journey.test.checkout import guest_checkout

    program = PostPurchaseProgram.load()
    program.is_active = True
    program.save()
    order = guest_checkout(shopper, email="ana@example.com")
    expect(order is not None, "an order placed through Oscar's checkout")
    mails = Message.objects.filter(tool="post_purchase").count()
    expect((mails > 0) == on[LOYALTY], f"post-purchase mails scheduled by the order: {mails}")

    # The customer's account pages.
    customer = get_user_model().objects.create_user(username="ana", email="ana@example.com", password="pw")
    shopper.force_login(customer)
    profile = shopper.get("/journey/account/profile/")
    expect(profile.status_code == (200 if on[LOYALTY] else 404), f"journey's profile page -> {profile.status_code}")
    account = shopper.get("/accounts/profile/")
    expect(account.status_code == 200, f"Oscar's account page -> {account.status_code}")
    nav_link = "data-journey-profile-link" in account.content.decode()
    expect(nav_link == on[LOYALTY], f"the profile link in the account menu (template output): {nav_link}")
    expect(reverses("journey:account-profile") == on[LOYALTY], "reverse('journey:account-profile')")
    host_page = shopper.get("/journey/host-points/").status_code
    expect(host_page == (200 if on[HOST] else 404), f"the host tool's page -> {host_page}")
    expect(reverses("journey:host-points") == on[HOST], "reverse('journey:host-points')")

    # Django admin and the journey map, as the owner.
    owner = get_user_model().objects.create_superuser(username="owner", email="owner@example.com", password="pw")
    staff = Client()
    staff.force_login(owner)
    index = staff.get("/admin/")
    expect(index.status_code == 200, f"admin index -> {index.status_code}")
    expect(("/admin/journey/customerprofile/" in index.content.decode()) == on[LOYALTY],
           "customer profiles in the admin index")
    expect(reverses("admin:journey_retain_report") == on[LOYALTY], "reverse('admin:journey_retain_report')")
    journey_map = staff.get("/admin/journey/journeymap/")
    content = journey_map.content.decode()
    expect(journey_map.status_code == 200, f"journey map -> {journey_map.status_code}")
    expect(("Birthday rewards" in content) == on[LOYALTY], "birthday rewards on the journey map")
    expect(("Host points" in content) == on[HOST], "the host tool on the journey map")
    call_command("journey_tick", verbosity=0)
    call_command("journey_status", verbosity=0)

    # Of each package: what is active.
    for package, installed in on.items():
        if not installed:
            allowed = LOYALTY_MODEL_SUPPORT if package == LOYALTY else ()
            loaded = tool_probe.loaded_modules(package, allowed)
            expect(not loaded, f"{package}: no module loaded but its models and settings: {loaded}")
        for part, found in tool_probe.active_parts(package).items():
            if installed:
                expect(bool(found) or part not in PARTS[package], f"{package} on: {part}: {found}")
            else:
                expect(not found, f"{package} off: no {part}: {found}")

    if failed:
        print(f"{len(failed)} failed", flush=True)
        sys.exit(1)
    print("tool switch: all good", flush=True)


if __name__ == "__main__":
    main()
