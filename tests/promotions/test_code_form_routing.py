"""E37: Oscar's own basket voucher form (``basket:vouchers-add``) goes through journey's throttled code form, so it
neither tells "not found" from "not yours" nor lets a client guess codes without limit."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from oscar.test.factories import create_product

from journey import checks
from journey.core import vouchers

pytestmark = pytest.mark.django_db
MIDDLEWARE = "journey.promotions.middleware.CodeFormMiddleware"


def with_line(client):
    client.post(reverse("basket:add", args=[create_product(price=Decimal("20.00"), num_in_stock=5).pk]),
                {"quantity": 1})
    client.get(reverse("basket:summary"))  # the "added to your basket" messages are shown and gone


def messages_after(client, code):
    response = client.post(reverse("basket:vouchers-add"), {"code": code}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_oscars_form_gives_one_answer_for_an_unknown_code_and_someone_elses(client, django_user_model):
    ana = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    code = vouchers.issue_personal_voucher(key="k", purpose="recovery", kind="percentage", value="10", valid_days=7,
                                           user=ana).voucher.code
    with_line(client)
    unknown, not_yours = messages_after(client, "NO-SUCH-CODE"), messages_after(client, code)
    assert unknown == not_yours == ["This code is not valid."]


def test_oscars_form_is_throttled_like_journeys(client, settings):
    settings.JOURNEY = {**settings.JOURNEY, "CODE_RATE_LIMIT": (3, 600)}
    with_line(client)
    for attempt in range(3):
        assert client.post(reverse("basket:vouchers-add"), {"code": f"GUESS{attempt}"}).status_code == 302
    assert client.post(reverse("basket:vouchers-add"), {"code": "GUESS9"}).status_code == 429
    assert client.post(reverse("journey:apply-code"), {"code": "GUESS9"}).status_code == 429  # one counter


def test_oscars_form_still_needs_the_csrf_token(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0")
    assert strict.post(reverse("basket:vouchers-add"), {"code": "X"}).status_code == 403


def test_a_system_check_warns_when_oscars_form_is_not_routed():
    assert [m.id for m in checks.check_code_form()] == []
    with override_settings(MIDDLEWARE=[m for m in __import__("django.conf").conf.settings.MIDDLEWARE
                                       if m != MIDDLEWARE]):
        assert [m.id for m in checks.check_code_form()] == ["journey.W021"]


def test_with_promotions_left_out_of_tools_oscars_form_is_oscars_again(client, settings):
    from journey.conf import BUILTIN_TOOLS

    with_line(client)
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": tuple(p for p in BUILTIN_TOOLS if p != "journey.promotions")}
    assert messages_after(client, "NO-SUCH-CODE") != ["This code is not valid."]  # Oscar's own answer
