import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import create_order

MAP_URL = reverse("admin:journey_journeymap_changelist")


@pytest.mark.django_db
def test_the_journey_map_shows_four_phases_with_their_tools(client, staff_user):
    client.force_login(staff_user)
    response = client.get(MAP_URL)
    assert response.status_code == 200
    html = response.content.decode()
    phases = re.findall(r'data-phase="(\w+)"', html)
    assert phases == ["attract", "convince", "sell", "retain"]
    assert 'data-tool="oscar_offers"' in html and 'data-tool="oscar_wishlists"' in html
    assert "The scheduler has not run recently" in html


@pytest.mark.django_db
def test_the_journey_map_counts_orders_and_revenue_of_the_period(client, staff_user):
    order = create_order()
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "7"})
    headline = {str(m.label): m.value for m in response.context["journey_map"].headline}
    assert headline["Orders"] == 1
    assert headline["Revenue"] == order.total_incl_tax and isinstance(headline["Revenue"], Decimal)
    # an order outside the period is not counted
    order.date_placed = timezone.now() - timezone.timedelta(days=30)
    order.save()
    response = client.get(MAP_URL, {"period": "7"})
    assert {str(m.label): m.value for m in response.context["journey_map"].headline}["Orders"] == 0


@pytest.mark.django_db
def test_an_unknown_period_falls_back_to_the_default(client, staff_user):
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "forever'--"})
    assert response.status_code == 200
    assert response.context["journey_map"].period == "30"


@pytest.mark.django_db
def test_the_journey_map_is_in_spanish_for_spanish_speaking_owners(client, staff_user):
    client.force_login(staff_user)
    response = client.get(MAP_URL, HTTP_ACCEPT_LANGUAGE="es")
    html = response.content.decode()
    for label in ("Atraer", "Convencer", "Vender", "Fidelizar", "Mapa del recorrido"):
        assert label in html


@pytest.mark.django_db
def test_the_journey_map_is_forbidden_to_staff_without_the_permission(client, django_user_model):
    user = django_user_model.objects.create_user(username="clerk", email="c@example.com", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(MAP_URL).status_code == 403


@pytest.mark.django_db
def test_the_journey_map_sends_customers_to_the_admin_login(client, django_user_model):
    user = django_user_model.objects.create_user(username="shopper", email="s@example.com", password="pw")
    client.force_login(user)
    response = client.get(MAP_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_admin_index_has_a_journey_section(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("admin:index")).content.decode()
    assert MAP_URL in html


@pytest.mark.django_db
def test_the_oscar_dashboard_menu_links_to_the_journey_map_for_allowed_staff(client, staff_user, django_user_model):
    staff_user.is_superuser = True  # Oscar's dashboard index needs its own permissions
    staff_user.save()
    client.force_login(staff_user)
    response = client.get(reverse("dashboard:index"))
    assert response.status_code == 200
    assert MAP_URL in response.content.decode()


@pytest.mark.django_db
def test_the_dashboard_access_function_checks_the_journey_permission(staff_user, django_user_model):
    from journey.dashboard import JOURNEY_MAP_URL_NAME, journey_access_fn

    clerk = django_user_model.objects.create_user(username="clerk", email="c@example.com", password="pw", is_staff=True)
    assert journey_access_fn(staff_user, JOURNEY_MAP_URL_NAME) is True
    assert journey_access_fn(clerk, JOURNEY_MAP_URL_NAME) is False
    assert journey_access_fn(clerk, None) is True  # headings are always shown


def _run_now(client, *perms):
    from django.contrib.auth.models import Permission

    from journey.models import JobState

    user = client.staff_user
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms, content_type__app_label="journey"))
    JobState.objects.create(key="heartbeat", next_run_at=timezone.now() + timezone.timedelta(hours=1))
    client.force_login(user)
    url = reverse("admin:journey_jobstate_changelist")
    return client.post(url, {"action": "run_now", "_selected_action": [JobState.objects.get().pk]}, follow=True)


@pytest.fixture
def admin_client_of(staff_user):
    def make(**kwargs):
        from django.test import Client

        c = Client(**kwargs)
        c.staff_user = staff_user
        return c
    return make


@pytest.mark.django_db
def test_run_now_admin_action_runs_a_job_for_staff_who_may_change_jobs(admin_client_of):
    from journey.models import JobState

    response = _run_now(admin_client_of(), "view_jobstate", "change_jobstate")
    assert response.status_code == 200
    assert JobState.objects.get(key="heartbeat").runs == 1
    assert "Heartbeat ran: alive" in response.content.decode()


@pytest.mark.django_db
def test_run_now_is_not_offered_to_staff_who_may_only_view_jobs(admin_client_of):
    from journey.models import JobState

    client = admin_client_of()
    response = _run_now(client, "view_jobstate")
    assert JobState.objects.get().runs == 0
    assert "Heartbeat ran" not in response.content.decode()
    page = client.get(reverse("admin:journey_jobstate_changelist")).content.decode()
    assert "run_now" not in page


@pytest.mark.django_db
def test_run_now_needs_the_csrf_token(admin_client_of):
    from journey.models import JobState

    response = _run_now(admin_client_of(enforce_csrf_checks=True), "view_jobstate", "change_jobstate")
    assert response.status_code == 403
    assert JobState.objects.get().runs == 0
