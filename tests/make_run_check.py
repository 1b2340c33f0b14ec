"""What a newcomer sees after ``make run``'s set-up steps, printed as JSON (run by tests/shop/test_make_run.py inside a
fresh clone with the demo shop's own settings: ``python -m tests.make_run_check``)."""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from oscar.core.loading import get_model  # noqa: E402

from journey.insights.journey_map import build_journey_map  # noqa: E402
from journey.registry import Status  # noqa: E402

Category = get_model("catalogue", "Category")


def listed(response):
    page = response.context["page_obj"] if response.context and "page_obj" in response.context else None
    return len(page.object_list) if page is not None else 0


setup_test_environment()  # responses carry their template context
client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0")
home = client.get("/", follow=True)
category = Category.objects.filter(depth=2, product__isnull=False).distinct().order_by("path").first()
category_page = client.get(category.get_absolute_url())

admin = get_user_model().objects.get(email="admin@example.com")
client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
map_page = client.get("/admin/journey/journeymap/")
journey_map = build_journey_map()
print(
    json.dumps(
        {
            "home": {"status": home.status_code, "products": listed(home)},
            "category": {"status": category_page.status_code, "products": listed(category_page)},
            "map_status": map_page.status_code,
            "phases": {
                str(column.phase.value): (
                    {"visits": column.step.visits, "open_visits": column.step.open_visits} if column.step else None
                )
                for column in journey_map.columns
            },
            "needs_attention": [
                f"{card.tool.key}: {card.health.message}"
                for column in journey_map.columns
                for card in column.cards
                if card.health.status in (Status.WARNING, Status.ERROR)
            ],
        }
    )
)
