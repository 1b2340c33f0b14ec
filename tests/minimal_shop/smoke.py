"""Run in a child process with DJANGO_SETTINGS_MODULE=tests.minimal_shop.settings: journey must load, migrate
and leave the storefront working in a shop with a custom user model and a forked Oscar app."""

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.minimal_shop.settings")

import django  # noqa: E402

django.setup()

import oscar  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from oscar.core.loading import get_model  # noqa: E402
from oscar.test.factories import create_product  # noqa: E402


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        sys.exit(1)


def main():
    setup_test_environment()
    # What a shop does once on deployment: put Oscar's placeholder image where its thumbnailer looks.
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(oscar.__file__).parent / "static/oscar/img/image_not_found.jpg",
                    media / settings.OSCAR_MISSING_IMAGE_URL)
    call_command("check", fail_level="WARNING")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("makemigrations", "journey", "--check", "--dry-run", verbosity=0)
    expect(get_model("basket", "Basket").__module__.startswith("tests.minimal_shop.basket"), "forked basket in use")

    product = create_product(title="Jamón ibérico", price=12, num_in_stock=5)
    client = Client()
    for name, url in (("home page", "/"), ("catalogue", "/catalogue/"), ("product page", product.get_absolute_url())):
        status = client.get(url, follow=True).status_code
        expect(status == 200, f"{name} {url} -> {status}")
    response = client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
    expect(response.status_code == 302, "add to basket")
    basket_page = client.get("/basket/")
    expect(basket_page.status_code == 200 and "Jamón ibérico" in basket_page.content.decode(), "basket page")

    owner = get_user_model().objects.create_superuser(
        email="owner@example.com", password="pw", loyalty_number="L-1"
    )
    client.force_login(owner)
    journey_map = client.get("/admin/journey/journeymap/")
    expect(journey_map.status_code == 200 and "Fidelizar" in journey_map.content.decode(), "journey map (es)")
    expect(client.get("/dashboard/").status_code == 200, "Oscar dashboard with the journey menu")
    call_command("journey_tick", verbosity=0)
    call_command("journey_status", verbosity=0)
    print("minimal shop: all good")


if __name__ == "__main__":
    main()
