"""journey's own records are read-only in admin (one ReadOnlyAdminMixin); some may still be deleted."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from oscar.core.loading import get_model

READ_ONLY = ["Message", "PersonalVoucher", "BasketActivity", "RelatedProduct", "JourneyMap"]
DELETABLE = ["JobState", "RelatedBuild", "BirthdayReward"]


@pytest.fixture
def superuser_request(db):
    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    return request


@pytest.mark.parametrize("model_name", READ_ONLY + DELETABLE)
def test_nobody_adds_or_changes_journeys_own_records(superuser_request, model_name):
    model_admin = admin.site._registry[get_model("journey", model_name)]
    assert not model_admin.has_add_permission(superuser_request)
    assert not model_admin.has_change_permission(superuser_request)
    assert model_admin.has_delete_permission(superuser_request) is (model_name in DELETABLE)


def test_a_messages_tracking_events_are_read_only_too(superuser_request):
    from journey.core.admin import TrackingEventInline

    inline = TrackingEventInline(get_model("journey", "Message"), admin.site)
    assert not inline.has_add_permission(superuser_request, None)
    assert not inline.has_change_permission(superuser_request)
    assert not inline.has_delete_permission(superuser_request)
