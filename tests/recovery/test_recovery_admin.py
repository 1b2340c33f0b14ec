"""Basket recovery in Django admin: the sequence form, previews and test mails, the basket timeline, the report and its
numbers, the message log and the suppression list."""

import copy
import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import VoucherFactory, create_basket, create_order, create_product

from journey.core.models import Message, PersonalVoucher, Suppression
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.recovery.numbers import daily_series, recovery_numbers
from journey.related import services as related_services
from journey.test.factories import basket_with

Basket = get_model("basket", "Basket")
OrderDiscount = get_model("order", "OrderDiscount")
Voucher = get_model("voucher", "Voucher")
State = BasketActivity.State
REPORT_URL = "admin:journey_basketactivity_report"
STAND_IN = "journey_test/recovery"


@pytest.fixture
def stand_in_templates(settings, tmp_path):
    """Mail templates of our own (under a prefix no one else uses), so these tests do not depend on the real ones."""
    folder = tmp_path / "journey_test"
    folder.mkdir()
    (folder / "recovery_subject.txt").write_text(
        "{{ shop_name }}: your basket{% if voucher %} with {{ voucher.code }}{% endif %}\n"
    )
    (folder / "recovery_body.txt").write_text(
        "{% for line in lines %}{{ line.title }} x {{ line.quantity }}\n{% endfor %}"
        "Back: {{ restore_url }}\nUnsubscribe: {{ unsubscribe_url }}\n<text & more>\n"
    )
    (folder / "recovery_body.html").write_text(
        '<p class="mail">{% for line in lines %}<b>{{ line.title }}</b>{% endfor %}</p>'
        '<a href="{{ restore_url }}">Back</a>{% if voucher %}<i>{{ voucher.code }}</i>{% endif %}'
    )
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    RecoveryStep.objects.update(template=STAND_IN)
    return STAND_IN


def step_data(**overrides):
    data = {"position": "9", "delay_hours": "12", "is_active": "on", "incentive": "", "incentive_value": "",
            "incentive_valid_days": "7", "incentive_min_basket": "0.00", "template": STAND_IN}
    data.update(overrides)
    return data


def make_activity(state=State.IN_SEQUENCE, **fields):
    basket = Basket.objects.create()
    fields.setdefault("last_activity_at", timezone.now() - timedelta(days=3))
    return BasketActivity.objects.create(basket=basket, email=fields.pop("email", "shopper@example.com"),
                                         state=state, **fields)


def make_mail(activity, step, **fields):
    fields.setdefault("due_at", fields.get("sent_at") or timezone.now())
    return Message.objects.create(
        tool="recovery", kind="recovery.step", subject_key=f"recovery:basket:{activity.basket_id}:cycle:1",
        step=step, to_email=activity.email, context={"activity_id": activity.pk, "cycle": 1},
        state=Message.State.SENT if fields.get("sent_at") else Message.State.SCHEDULED, **fields,
    )


# The sequence form ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field", "text"), [
    ({"delay_hours": "0"}, "delay_hours", "above zero"),
    ({"delay_hours": "-3"}, "delay_hours", "above zero"),
    ({"incentive": "fixed", "incentive_value": "-5"}, "incentive_value", "above zero"),
    ({"incentive": "fixed", "incentive_value": "0"}, "incentive_value", "above zero"),
    ({"incentive": "percentage", "incentive_value": "150"}, "incentive_value", "cannot be over 100"),
    ({"incentive": "", "incentive_value": "10"}, "incentive", "Choose the kind of incentive"),
    ({"template": "journey_test/nowhere"}, "template", "Template not found"),
])
def test_the_step_form_shows_clear_field_errors_and_saves_nothing(admin_client, stand_in_templates, overrides,
                                                                  field, text):
    before = RecoveryStep.objects.count()
    response = admin_client.post(reverse("admin:journey_recoverystep_add"), step_data(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and text in " ".join(errors[field])
    assert text in response.content.decode()
    assert RecoveryStep.objects.count() == before


@pytest.mark.django_db
def test_the_step_form_takes_the_delay_in_hours(admin_client, stand_in_templates):
    data = step_data(delay_hours="1.5", incentive="percentage", incentive_value="10")
    response = admin_client.post(reverse("admin:journey_recoverystep_add"), data)
    assert response.status_code == 302
    step = RecoveryStep.objects.get(position=9)
    assert step.delay_minutes == 90 and step.incentive_value == Decimal("10")
    change = admin_client.get(reverse("admin:journey_recoverystep_change", args=[step.pk]))
    assert change.context["adminform"].form.initial["delay_hours"] == Decimal("1.50")
    listing = admin_client.get(reverse("admin:journey_recoverystep_changelist")).content.decode()
    assert "1.5 h" in listing and reverse("admin:journey_recoverystep_preview", args=[step.pk]) in listing


@pytest.mark.django_db
def test_staff_who_may_only_view_the_sequence_see_it_read_only(client, django_user_model, stand_in_templates):
    viewer = django_user_model.objects.create_user(username="viewer", email="v@example.com", password="pw",
                                                   is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_recoverystep",
                                                       content_type__app_label="journey"))
    client.force_login(viewer)
    step = RecoveryStep.objects.get(position=2)
    response = client.get(reverse("admin:journey_recoverystep_change", args=[step.pk]))
    assert response.status_code == 200
    assert "24 h" in response.content.decode() and 'name="delay_hours"' not in response.content.decode()
    assert client.post(reverse("admin:journey_recoverystep_change", args=[step.pk]),
                       step_data(position="2", delay_hours="1")).status_code == 403
    assert client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk])).status_code == 200


# Preview and test mail -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_preview_shows_subject_html_in_a_sandboxed_frame_and_text(admin_client, stand_in_templates):
    basket = create_basket()
    title = basket.all_lines()[0].product.get_title()
    step = RecoveryStep.objects.get(position=1)
    response = admin_client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "your basket" in re.search(r'id="preview-subject">([^<]*)<', html).group(1)
    srcdoc = re.search(r'<iframe [^>]*srcdoc="([^"]*)"', html).group(1)
    assert "&lt;b&gt;" in srcdoc and "<b>" not in srcdoc and "&quot;" in srcdoc  # escaped as an attribute
    assert 'sandbox=""' in html
    text = re.search(r'<pre [^>]*id="preview-text">(.*?)</pre>', html, re.S).group(1)
    assert f"{title} x 1" in text and "Unsubscribe: #" in text and "&lt;text &amp; more&gt;" in text
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_the_preview_says_so_when_there_is_no_sample_basket(admin_client, stand_in_templates):
    step = RecoveryStep.objects.get(position=1)
    response = admin_client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk]))
    assert response.status_code == 200
    assert "no open basket with products" in response.content.decode()


@pytest.mark.django_db
def test_send_a_test_mail_to_me_sends_now_without_outbox_rows_or_vouchers(admin_client, admin_user, mailoutbox,
                                                                         stand_in_templates):
    create_basket()
    own = create_basket()
    own.owner = admin_user
    own.save()
    step = RecoveryStep.objects.get(position=3)
    step.incentive, step.incentive_value = RecoveryStep.Incentive.PERCENTAGE, Decimal("10")
    step.save()
    vouchers_before = Voucher.objects.count()
    response = admin_client.post(reverse("admin:journey_recoverystep_changelist"),
                                 {"action": "send_test_mail_to_me", "_selected_action": [step.pk]}, follow=True)
    assert response.status_code == 200
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.subject.startswith("[TEST] ") and "SAMPLE-CODE" in mail.subject
    assert mail.to == [admin_user.email]
    assert mail.tags == ["journey", "recovery", "test"]
    assert own.all_lines()[0].product.get_title() in mail.body  # the admin's own basket first
    assert mail.alternatives and "<i>SAMPLE-CODE</i>" in mail.alternatives[0][0]
    assert Message.objects.count() == 0 and Voucher.objects.count() == vouchers_before
    assert PersonalVoucher.objects.count() == 0
    assert f"sent to {admin_user.email}" in response.content.decode()


@pytest.mark.django_db
def test_a_test_mail_needs_an_email_on_the_account(admin_client, admin_user, mailoutbox, stand_in_templates):
    admin_user.email = ""
    admin_user.save()
    create_basket()
    step = RecoveryStep.objects.get(position=1)
    response = admin_client.post(reverse("admin:journey_recoverystep_changelist"),
                                 {"action": "send_test_mail_to_me", "_selected_action": [step.pk]}, follow=True)
    assert mailoutbox == []
    assert "Your account has no email address" in response.content.decode()


@pytest.mark.django_db
def test_the_shipped_mail_templates_render_in_the_preview(admin_client):
    try:
        for part in ("_subject.txt", "_body.txt", "_body.html"):
            get_template(f"journey/mail/recovery{part}")
    except TemplateDoesNotExist:
        pytest.skip("the recovery mail templates are not there yet")
    create_basket()
    step = RecoveryStep.objects.get(position=3)
    step.incentive, step.incentive_value = RecoveryStep.Incentive.FIXED, Decimal("5")
    step.save()
    response = admin_client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk]))
    assert response.status_code == 200
    assert response.context["error"] == "" and "SAMPLE-CODE" in response.context["mail"].text


@pytest.mark.django_db
def test_the_preview_shows_the_related_products_and_logs_no_error(admin_client, caplog):
    """The sample basket comes from the database without a strategy: the preview gives it one, so the "you may also
    like" block is filled (it used to log "No strategy class has been assigned to this basket" and stay empty)."""
    cheese, crackers = (create_product(title=t, price=Decimal("2.00"), num_in_stock=10)
                        for t in ("Store brand Cheddar Cheese — 8 OZ", "Store brand Saltine Crackers — 16 OZ"))
    for _ in range(2):
        create_order(basket=basket_with([cheese, crackers]))
    related_services.rebuild()
    basket_with([cheese])
    step = RecoveryStep.objects.get(position=1)
    with caplog.at_level(logging.WARNING):
        response = admin_client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk]))
    assert response.status_code == 200 and response.context["error"] == ""
    # Whole names, the size included, in both parts (the basket line and the related product).
    mail = response.context["mail"]
    for part in (mail.html, mail.text):
        assert "Store brand Saltine Crackers — 16 OZ" in part and "Store brand Cheddar Cheese — 8 OZ" in part
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


# The report ----------------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_shop(db):
    """2 sequences started, 3 mails sent (2 delivered, 1 opened, 1 clicked), 1 recovered for 12.34, 1 not chased,
    2.50 of recovery vouchers used; plus rows outside the period or of another kind, which must not count."""
    now = timezone.now()
    recovered = make_activity(State.RECOVERED, sequence_started_at=now - timedelta(days=2), cycle=1,
                              first_clicked_at=now - timedelta(days=1, hours=2), order_number="100042",
                              ordered_at=now - timedelta(days=1), recovered_revenue=Decimal("12.34"))
    running = make_activity(State.IN_SEQUENCE, sequence_started_at=now - timedelta(days=2), cycle=1)
    make_activity(State.STOPPED, stop_reason="basket is empty")
    make_activity(State.IN_SEQUENCE, sequence_started_at=now - timedelta(days=60), cycle=1)  # long ago
    make_mail(recovered, 1, sent_at=now - timedelta(days=2), delivered_at=now - timedelta(days=2),
              opened_at=now - timedelta(days=1, hours=3), clicked_at=now - timedelta(days=1, hours=2))
    make_mail(recovered, 2, sent_at=now - timedelta(days=1, hours=1), delivered_at=now - timedelta(days=1))
    make_mail(running, 1, sent_at=now - timedelta(days=2))
    make_mail(running, 2)  # scheduled, not sent
    old = make_activity(State.IN_SEQUENCE)
    make_mail(old, 1, sent_at=now - timedelta(days=40), clicked_at=now - timedelta(days=40))
    Message.objects.create(tool="recovery", kind="recovery.saved_basket", subject_key="recovery:saved:1:x", step=0,
                           to_email="x@example.com", due_at=now, sent_at=now - timedelta(hours=1),
                           state=Message.State.SENT, context={"activity_id": running.pk})
    order = create_order()
    recovery_voucher, other_voucher = (VoucherFactory(name="Recovery 1", code="RECOVER-1"),
                                         VoucherFactory(name="Summer", code="SUMMER"))
    PersonalVoucher.objects.create(key="recovery:1", purpose="recovery", voucher=recovery_voucher)
    OrderDiscount.objects.create(order=order, voucher_id=recovery_voucher.pk, voucher_code="RECOVER-1",
                                 amount=Decimal("2.50"))
    OrderDiscount.objects.create(order=order, voucher_id=other_voucher.pk, voucher_code="SUMMER",
                                 amount=Decimal("7.00"))
    return {"recovered": recovered, "running": running}


@pytest.mark.django_db
def test_recovery_numbers_are_counted_with_a_handful_of_queries(tiny_shop, django_assert_max_num_queries):
    now = timezone.now()
    with django_assert_max_num_queries(5):
        numbers = recovery_numbers(now - timedelta(days=30), now + timedelta(seconds=1))
    assert (numbers.started, numbers.sent, numbers.delivered, numbers.opened, numbers.clicked) == (2, 3, 2, 1, 1)
    assert numbers.recovered == 1 and numbers.recovered_revenue == Decimal("12.34")
    assert numbers.recovery_rate == Decimal("50.0")
    assert numbers.not_chased == 1 and numbers.not_chased_reasons == [("basket is empty", 1)]
    assert numbers.voucher_cost == Decimal("2.50")
    rows = [(r.step, r.sent, r.delivered, r.opened, r.clicked, r.recovered) for r in numbers.per_step]
    assert rows == [(1, 2, 1, 1, 1, 1), (2, 1, 1, 0, 0, 0)]


@pytest.mark.django_db
def test_an_empty_period_has_no_rate():
    now = timezone.now()
    numbers = recovery_numbers(now - timedelta(days=7), now)
    assert numbers.started == 0 and numbers.recovery_rate is None and numbers.voucher_cost == Decimal("0.00")


@pytest.mark.django_db
def test_the_daily_series_counts_days_in_the_store_time_zone(settings):
    settings.JOURNEY = {**settings.JOURNEY, "STORE_TIME_ZONE": "America/New_York"}
    activity = make_activity(State.RECOVERED, ordered_at=datetime(2024, 3, 10, 3, 0, tzinfo=UTC),
                             recovered_revenue=Decimal("9.99"))
    make_mail(activity, 1, sent_at=datetime(2024, 3, 9, 23, 0, tzinfo=UTC),
              clicked_at=datetime(2024, 3, 10, 2, 0, tzinfo=UTC))
    days = daily_series(datetime(2024, 3, 8, 5, 0, tzinfo=UTC), datetime(2024, 3, 11, 4, 0, tzinfo=UTC))
    assert [d.day.isoformat() for d in days] == ["2024-03-08", "2024-03-09", "2024-03-10"]
    # 02:00 and 03:00 UTC on the 10th are still the 9th in New York
    assert tuple(days[1]) == (days[1].day, 1, 1, 1, Decimal("9.99"))
    assert days[0].sent == days[2].sent == 0


@pytest.mark.django_db
def test_the_report_shows_the_numbers_and_a_chart(admin_client, tiny_shop):
    response = admin_client.get(reverse(REPORT_URL))
    assert response.status_code == 200
    assert response.context["period"] == "30"
    html = response.content.decode()
    headline = {str(m.label): m.value for m in response.context["headline"]}
    assert headline["Abandoned & chased"] == 2 and headline["Mailed"] == 3 and headline["Clicked"] == 1
    assert headline["Recovered"] == 1 and headline["Recovered revenue"] == Decimal("12.34")
    assert "50.0 %" in html and "12.34" in html and "2.50" in html
    assert "basket is empty" in html
    svg = re.search(r'<svg id="rr-chart-svg".*?</svg>', html, re.S).group(0)
    assert "<title" in svg and 'class="rr-sent"' in svg and 'class="rr-clicked"' in svg
    assert 'class="rr-revenue"' in svg
    step_rows = re.findall(r'<tr data-step="(\d+)">', html)
    assert step_rows == ["1", "2"]


@pytest.mark.django_db
def test_the_report_renders_a_chart_with_nothing_to_show(admin_client):
    response = admin_client.get(reverse(REPORT_URL), {"period": "7"})
    assert response.status_code == 200
    svg = re.search(r'<svg id="rr-chart-svg".*?</svg>', response.content.decode(), re.S).group(0)
    assert "<title" in svg and "<line" in svg and "No recovery mail" in svg
    assert "—" in response.content.decode()  # no recovery rate


@pytest.mark.django_db
def test_the_report_takes_a_custom_period(admin_client, tiny_shop):
    today = timezone.localdate()
    response = admin_client.get(reverse(REPORT_URL), {"start": (today - timedelta(days=3)).isoformat(),
                                                      "end": today.isoformat()})
    assert response.status_code == 200 and response.context["period"] == "custom"
    assert response.context["numbers"].started == 2


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"start": "yesterday"}, {"start": "2024-02-30"}, {"start": "2024-05-01", "end":
                                   "2024-04-01"}, {"start": "9999-12-31", "end": "9999-12-31"}])
def test_a_bad_period_gives_a_message_not_an_error(admin_client, query):
    response = admin_client.get(reverse(REPORT_URL), query)
    assert response.status_code == 200
    assert response.context["period"] == "30"
    assert "is not a period this report understands" in response.content.decode()


@pytest.mark.django_db
def test_the_report_is_forbidden_to_staff_without_the_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user(username="clerk", email="c@example.com", password="pw",
                                                  is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse(REPORT_URL)).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_basketactivity",
                                                      content_type__app_label="journey"))
    client.force_login(django_user_model.objects.get(pk=clerk.pk))
    assert client.get(reverse(REPORT_URL)).status_code == 200


@pytest.mark.django_db
def test_the_basket_list_links_to_the_report_and_is_read_only(admin_client, tiny_shop):
    response = admin_client.get(reverse("admin:journey_basketactivity_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse(REPORT_URL) in html and "shopper@example.com" in html
    assert reverse("admin:journey_basketactivity_add") not in html


# The timeline --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_timeline_tells_a_basket_story_in_order(admin_client, tiny_shop):
    activity = tiny_shop["recovered"]
    response = admin_client.get(reverse("admin:journey_basketactivity_change", args=[activity.pk]))
    assert response.status_code == 200
    events = response.context["timeline"]
    assert [e.at for e in events] == sorted(e.at for e in events)
    labels = [e.label for e in events]
    assert labels.index("Mail 1 sent") < labels.index("Mail 1 clicked") < labels.index("Ordered: recovered")
    assert "Recovery sequence started (cycle 1)" in labels and "First click: back to the basket" in labels
    mail = Message.objects.get(subject_key=f"recovery:basket:{activity.basket_id}:cycle:1", step=1)
    html = response.content.decode()
    kinds = re.findall(r'data-kind="(\w+)"', html)
    assert kinds.index("sent") < kinds.index("clicked") < kinds.index("order")
    assert reverse("admin:journey_message_change", args=[mail.pk]) in html


# The message log -----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_message_page_escapes_what_the_mail_contains(admin_client):
    activity = make_activity()
    message = make_mail(activity, 1, sent_at=timezone.now())
    Message.objects.filter(pk=message.pk).update(
        subject="<script>alert(1)</script> Hola", body_text="Hi <script>x()</script>",
        body_html='<p>Hi</p><a href="https://shop.example.com/journey/r/secret/">Back</a><script>alert(2)</script>',
    )
    response = admin_client.get(reverse("admin:journey_message_change", args=[message.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(" not in html and "<script>x()" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hola" in html
    srcdoc = re.search(r'<iframe [^>]*srcdoc="([^"]*)"', html).group(1)
    assert "data-href=" in srcdoc and " href=" not in srcdoc  # the customer's links are switched off
    assert reverse("admin:journey_basketactivity_change", args=[activity.pk]) in html


@pytest.mark.django_db
def test_cancel_selected_scheduled_messages(admin_client):
    activity = make_activity()
    scheduled = make_mail(activity, 2)
    sent = make_mail(activity, 1, sent_at=timezone.now())
    response = admin_client.post(reverse("admin:journey_message_changelist"),
                                 {"action": "cancel_scheduled", "_selected_action": [scheduled.pk, sent.pk]},
                                 follow=True)
    assert response.status_code == 200
    scheduled.refresh_from_db()
    sent.refresh_from_db()
    assert scheduled.state == Message.State.CANCELLED and "admin" in scheduled.close_reason
    assert sent.state == Message.State.SENT
    assert "1 scheduled message cancelled" in response.content.decode()


@pytest.mark.django_db
def test_the_message_log_is_read_only(admin_client):
    message = make_mail(make_activity(), 1)
    assert admin_client.get(reverse("admin:journey_message_add")).status_code == 403
    response = admin_client.post(reverse("admin:journey_message_change", args=[message.pk]), {"to_email": "a@b.c"})
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:journey_message_changelist"), {"q": "shopper"}).status_code == 200


# The suppression list ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_staff_add_an_address_to_the_suppression_list(admin_client):
    scheduled = make_mail(make_activity(email="someone@example.com"), 1)
    response = admin_client.get(reverse("admin:journey_suppression_add"))
    assert response.context["adminform"].form.fields["reason"].initial == Suppression.Reason.MANUAL
    response = admin_client.post(reverse("admin:journey_suppression_add"),
                                 {"email": "  SomeOne@Example.com ", "reason": "manual", "note": "asked by phone"})
    assert response.status_code == 302
    entry = Suppression.objects.get()
    assert entry.email == "someone@example.com" and entry.reason == "manual"
    scheduled.refresh_from_db()
    assert scheduled.state == Message.State.CANCELLED  # nothing more goes out to that address
    response = admin_client.post(reverse("admin:journey_suppression_add"),
                                 {"email": "someone@EXAMPLE.com", "reason": "manual", "note": ""})
    assert response.status_code == 200
    assert "already on the suppression list" in " ".join(response.context["adminform"].form.errors["email"])
    assert Suppression.objects.count() == 1
    response = admin_client.post(reverse("admin:journey_suppression_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Suppression.objects.exists()
