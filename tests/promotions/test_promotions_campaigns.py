"""Campaign discounts: the shareable link, its landing records, codes, ending and deleting, on Oscar's offers."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_offer, create_order, create_product

from journey import signals
from journey.core.models import JourneyEvent
from journey.exceptions import CampaignError, HasRedemptions
from journey.promotions.campaigns import codes as campaign_codes
from journey.promotions.campaigns.batches import batch_codes, generate_codes
from journey.promotions.campaigns.landing import attach_to_basket, share_url
from journey.promotions.campaigns.lifecycle import archive_campaign, create_campaign, delete_campaign, end_campaign
from journey.promotions.campaigns.models import CODE_RE, Campaign, CampaignTouch
from journey.promotions.campaigns.numbers import campaign_numbers
from journey.promotions.campaigns.offers import range_matches_products, sync
from journey.test.factories import basket_with

pytestmark = pytest.mark.django_db

Basket = get_model("basket", "Basket")
ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
Voucher = get_model("voucher", "Voucher")
Applicator = get_class("offer.applicator", "Applicator")
Selector = get_class("partner.strategy", "Selector")


def make_campaign(**kwargs):
    defaults = {"name": "Summer sale", "slug": "summer", "kind": "percentage", "value": 10, "channel": "facebook"}
    return create_campaign(**{**defaults, **kwargs})


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def basket_page(client):
    response = client.get("/basket/")
    assert response.status_code == 200
    return response.context["basket"]


def voucher_discount(basket):
    return sum((d["discount"] for d in basket.grouped_voucher_discounts), Decimal("0.00"))


def add(client, product):
    response = client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
    assert response.status_code == 302


# The link ------------------------------------------------------------------------------------------------------------
def test_the_link_applies_the_discount_for_an_anonymous_visitor(client):
    campaign = make_campaign()
    product = create_product(title="Honey", price=Decimal("20.00"), num_in_stock=10)

    response = client.get(f"/journey/c/summer/?next={product.get_absolute_url()}")

    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert "oscar_open_basket" not in response.cookies and not Basket.objects.exists()  # held, no basket yet
    assert texts(response) == ["10 % off is waiting in your basket: it applies as soon as you add a product on offer."]
    add(client, product)
    basket = basket_page(client)
    assert basket.contains_voucher(campaign.voucher.code)
    assert voucher_discount(basket) == Decimal("2.00")


def test_the_link_applies_to_a_signed_in_customers_basket(client, django_user_model):
    user = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    product = create_product(price=Decimal("30.00"), num_in_stock=10)
    basket_with([product], owner=user)
    make_campaign(kind="fixed", value="5.00")
    client.force_login(user)

    response = client.get("/journey/c/summer/")

    assert texts(response) == ["$5.00 off applied."]
    assert "oscar_open_basket" not in response.cookies
    assert voucher_discount(basket_page(client)) == Decimal("5.00")


def test_the_discount_survives_signing_in(client, django_user_model):
    user = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    campaign = make_campaign()
    product = create_product(price=Decimal("20.00"), num_in_stock=10)
    client.get("/journey/c/summer/")
    add(client, product)
    guest_basket = Basket.objects.get(owner=None)

    assert client.login(username="ana", password="pw")
    basket = basket_page(client)  # Oscar's middleware merges the cookie basket into the account's basket

    assert basket.owner_id == user.pk and basket.contains_voucher(campaign.voucher.code)
    assert voucher_discount(basket) == Decimal("2.00")
    guest_basket.refresh_from_db()
    assert guest_basket.status == Basket.MERGED and not guest_basket.vouchers.exists()


def test_the_landing_is_recorded_with_its_utm_values_and_click_ids(client):
    campaign = make_campaign()
    seen = []

    @receiver(signals.campaign_landed)
    def landed(sender, campaign, request, utm, **kwargs):
        seen.append((sender, campaign.pk, utm))

    try:
        client.get("/journey/c/summer/?utm_source=fb&utm_medium=paid_social&utm_campaign=june&utm_content=red"
                   "&utm_term=tea&fbclid=abc123&other=x")
    finally:
        signals.campaign_landed.disconnect(landed)

    event = JourneyEvent.objects.get()
    assert (event.kind, event.tool, event.ref, event.phase) == ("landing", "campaigns", str(campaign.pk), "attract")
    assert (event.source, event.medium, event.campaign) == ("fb", "paid_social", "june")
    assert event.data == {"utm_source": "fb", "utm_medium": "paid_social", "utm_campaign": "june",
                          "utm_content": "red", "utm_term": "tea", "fbclid": "abc123"}
    assert event.basket_id is None and not Basket.objects.exists()  # the discount waits for a first addition
    assert seen == [(Campaign, campaign.pk, event.data)]


def test_a_link_without_utm_values_records_the_campaigns_own(client):
    make_campaign(channel="google", utm={"utm_content": "banner"})
    client.get("/journey/c/summer/")
    event = JourneyEvent.objects.get()
    assert (event.source, event.medium, event.campaign) == ("google", "cpc", "summer")
    assert event.data == {}


def test_first_touch_is_kept_and_last_touch_follows_the_latest_landing(client):
    make_campaign()
    make_campaign(name="Autumn", slug="autumn", channel="google")
    client.get("/journey/c/summer/?utm_source=fb&gclid=zzz")
    client.get("/journey/c/autumn/?utm_source=google")
    client.get("/journey/c/autumn/")

    touch = CampaignTouch.objects.get()
    assert touch.first_campaign.slug == "summer" and touch.first_utm["utm_source"] == "fb"
    assert touch.first_utm["gclid"] == "zzz"
    assert touch.last_campaign.slug == "autumn" and touch.last_utm["utm_source"] == "google"
    assert touch.landings == 3 and touch.first_at < touch.last_at
    landing = JourneyEvent.objects.filter(kind="landing").latest("pk")
    assert touch.visitor_id and touch.visitor_id == landing.visitor_id
    assert "journey_visitor" not in client.cookies  # no tracking cookie of the link's own


def test_a_signed_in_visitor_touch_is_linked_to_the_account(client, django_user_model):
    user = django_user_model.objects.create_user(username="ana", password="pw")
    make_campaign()
    client.force_login(user)
    client.get("/journey/c/summer/")
    assert CampaignTouch.objects.get().user_id == user.pk


def test_an_ended_campaign_says_so_and_still_lands_the_visitor(client):
    campaign = make_campaign(landing_path="/catalogue/")
    end_campaign(campaign)

    response = client.get("/journey/c/summer/")

    assert response.status_code == 302 and response["Location"] == "/catalogue/"
    assert texts(response) == ["This promotion has ended."]
    assert not Basket.objects.filter(vouchers__isnull=False).exists()
    assert JourneyEvent.objects.filter(kind="landing").count() == 1


def test_an_expired_campaign_says_it_has_ended(client):
    now = timezone.now()
    make_campaign(starts_at=now - timedelta(days=10), ends_at=now - timedelta(days=1))
    response = client.get("/journey/c/summer/")
    assert response.status_code == 302 and texts(response) == ["This promotion has ended."]


def test_a_draft_or_scheduled_campaign_has_not_started(client):
    from django.test import Client

    from tests.conftest import BROWSER_USER_AGENT

    make_campaign(publish=False)
    make_campaign(name="Later", slug="later", starts_at=timezone.now() + timedelta(days=3))
    assert texts(client.get("/journey/c/summer/")) == ["This promotion has not started yet."]
    later = texts(Client(HTTP_USER_AGENT=BROWSER_USER_AGENT).get("/journey/c/later/"))
    assert len(later) == 1 and later[0].startswith("This promotion has not started yet (it starts on")
    assert not Basket.objects.filter(vouchers__isnull=False).exists()


def test_a_used_up_campaign_says_so(client):
    campaign = make_campaign(max_total_uses=1)
    ConditionalOffer.objects.filter(pk=campaign.offer_id).update(num_applications=1)
    assert texts(client.get("/journey/c/summer/")) == ["This promotion has ended: all its discounts have been used."]


def test_an_unknown_link_is_not_found(client):
    assert client.get("/journey/c/nothing-here/").status_code == 404


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)",
                                    "http://testserver.evil.com/"])
def test_an_off_site_next_is_refused(client, target):
    make_campaign()
    response = client.get("/journey/c/summer/", {"next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_exclusive_site_offer_does_not_swallow_the_campaign_discount(client, django_user_model):
    user = django_user_model.objects.create_user(username="ana", password="pw")
    site_range = Range.objects.create(name="Everything", includes_all_products=True)
    create_offer(name="Site 5 %", offer_type=ConditionalOffer.SITE, product_range=site_range,
                 benefit=Benefit.objects.create(range=site_range, type=Benefit.PERCENTAGE, value=5))
    assert ConditionalOffer.objects.get(name="Site 5 %").exclusive
    product = create_product(price=Decimal("40.00"), num_in_stock=10)
    basket = basket_with([product], owner=user)
    Applicator().apply(basket, user)  # the site offer holds the line, as on every page before the link
    assert basket.offer_discounts and basket.offer_discounts[0]["discount"] == Decimal("2.00")
    make_campaign(value=25)
    client.force_login(user)

    response = client.get("/journey/c/summer/")

    assert texts(response) == ["25 % off applied."]
    assert voucher_discount(basket_page(client)) == Decimal("10.00")


def test_a_minimum_basket_value_is_explained_and_then_applies(client):
    make_campaign(min_basket="50.00")
    product = create_product(price=Decimal("30.00"), num_in_stock=10)
    response = client.get("/journey/c/summer/")
    assert texts(response) == ["10 % off is waiting in your basket: it applies to orders over $50.00."]
    add(client, product)
    assert voucher_discount(basket_page(client)) == Decimal("0.00")
    add(client, product)
    assert voucher_discount(basket_page(client)) == Decimal("6.00")


def test_categories_limit_the_discount_to_their_products(client):
    Category = get_model("catalogue", "Category")
    tea = Category.add_root(name="Tea")
    green = create_product(title="Green tea", price=Decimal("10.00"), num_in_stock=5)
    mug = create_product(title="Mug", price=Decimal("10.00"), num_in_stock=5)
    get_model("catalogue", "ProductCategory").objects.create(product=green, category=tea)
    campaign = make_campaign(categories=[tea])
    assert range_matches_products(campaign)
    client.get("/journey/c/summer/")
    add(client, mug)
    assert voucher_discount(basket_page(client)) == Decimal("0.00")
    add(client, green)
    assert voucher_discount(basket_page(client)) == Decimal("1.00")


# Oscar objects -------------------------------------------------------------------------------------------------------
def test_the_generated_link_code_is_well_formed():
    campaign = make_campaign(name="Summer on Facebook", slug="summer-on-facebook")
    assert CODE_RE.match(campaign.voucher.code) and campaign.voucher.code.startswith("SUMMER-ON-")


def test_saving_creates_ordinary_oscar_objects():
    campaign = make_campaign(value=15, max_total_uses=100, max_uses_per_customer=2, code="summer-15")
    offer = campaign.offer
    assert offer.offer_type == ConditionalOffer.VOUCHER and offer.status == ConditionalOffer.OPEN
    assert (offer.benefit.type, offer.benefit.value) == (Benefit.PERCENTAGE, Decimal("15.00"))
    assert (offer.max_global_applications, offer.max_user_applications, offer.max_basket_applications) == (100, 2, 1)
    assert list(campaign.voucher.offers.all()) == [offer]
    assert campaign.voucher.code == "SUMMER-15" and campaign.voucher.usage == Voucher.MULTI_USE
    assert campaign.voucher.is_active()


def test_a_shared_code_works_in_oscars_own_voucher_form(client):
    make_campaign(code="SUMMER10")
    product = create_product(price=Decimal("10.00"), num_in_stock=5)
    add(client, product)
    client.post("/basket/vouchers/add/", {"code": "SUMMER10"})
    assert voucher_discount(basket_page(client)) == Decimal("1.00")


def test_ending_suspends_the_offer_and_the_vouchers_stop_working():
    campaign = make_campaign()
    basket = basket_with([create_product(price=Decimal("10.00"), num_in_stock=5)])
    attach_to_basket(basket, campaign)
    assert voucher_discount(basket) == Decimal("1.00")

    campaign = end_campaign(campaign)

    campaign.offer.refresh_from_db()
    campaign.voucher.refresh_from_db()
    assert campaign.offer.status == ConditionalOffer.SUSPENDED
    assert not campaign.voucher.is_active()
    basket = Basket.objects.get(pk=basket.pk)
    basket.strategy = Selector().strategy()
    Applicator().apply(basket)
    assert voucher_discount(basket) == Decimal("0.00")


def test_publishing_a_draft_opens_its_offer():
    campaign = make_campaign(publish=False)
    assert campaign.offer.status == ConditionalOffer.SUSPENDED and not campaign.voucher.is_active()
    Campaign.objects.filter(pk=campaign.pk).update(is_draft=False)
    campaign = sync(Campaign.objects.get(pk=campaign.pk))
    assert campaign.offer.status == ConditionalOffer.OPEN and campaign.voucher.is_active()


def test_a_campaign_with_redemptions_cannot_be_deleted_but_can_be_archived():
    campaign = make_campaign()
    basket = basket_with([create_product(price=Decimal("10.00"), num_in_stock=5)])
    attach_to_basket(basket, campaign)
    order = create_order(basket=basket, user=AnonymousUser())
    assert order.discounts.get().offer_id == campaign.offer_id

    with pytest.raises(HasRedemptions):
        delete_campaign(campaign)
    assert ConditionalOffer.objects.filter(pk=campaign.offer_id).exists()

    campaign = archive_campaign(campaign)
    assert campaign.archived and campaign.ended_at
    numbers = campaign_numbers(campaign)
    assert (numbers.orders, numbers.discount, numbers.revenue) == (1, Decimal("1.00"), order.total_incl_tax)


def test_an_unused_campaign_is_deleted_with_its_oscar_objects():
    campaign = make_campaign()
    generate_codes(campaign, 20, prefix="X")
    offer_id, voucher_id = campaign.offer_id, campaign.voucher_id
    delete_campaign(campaign)
    assert not ConditionalOffer.objects.filter(pk=offer_id).exists()
    assert not Voucher.objects.filter(pk=voucher_id).exists() and not Voucher.objects.exists()


@pytest.mark.parametrize(("kind", "value", "field"), [("percentage", 0, "discount_value"),
                                                       ("percentage", "100.01", "discount_value"),
                                                       ("fixed", "-1", "discount_value")])
def test_bad_terms_are_refused(kind, value, field):
    with pytest.raises(ValidationError) as error:
        make_campaign(kind=kind, value=value)
    assert field in error.value.message_dict
    assert not ConditionalOffer.objects.exists()


def test_the_end_must_be_after_the_start_and_codes_well_formed_and_unique():
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        make_campaign(starts_at=now, ends_at=now - timedelta(hours=1), code="BAD CODE!")
    assert set(error.value.message_dict) == {"ends_at", "code"}
    make_campaign(code="TAKEN")
    with pytest.raises(ValidationError) as error:
        make_campaign(slug="other", code="taken")
    assert error.value.message_dict["code"] == ["The code TAKEN is already in use."]


# Codes ---------------------------------------------------------------------------------------------------------------
def test_unique_codes_are_generated_in_bulk_well_formed_and_linked_to_the_offer():
    campaign = make_campaign()
    Voucher.objects.create(name="old", code="OLD-CODE", start_datetime=timezone.now(),
                           end_datetime=timezone.now() + timedelta(days=1))

    batch = generate_codes(campaign, 2500, prefix="fb-june", length=8)

    codes = [code for code, _used in batch_codes(batch)]
    assert len(codes) == len(set(codes)) == 2500
    assert all(CODE_RE.match(c) and c.startswith("FB-JUNE-") and len(c) == len("FB-JUNE-XXXX-XXXX") for c in codes)
    assert not set("01IO") & set("".join(c.removeprefix("FB-JUNE-") for c in codes))
    vouchers = Voucher.objects.filter(voucher_set=batch.voucher_set)
    assert vouchers.count() == 2500 and not vouchers.filter(usage=Voucher.MULTI_USE).exists()
    assert vouchers.filter(offers=campaign.offer).count() == 2500


def test_a_unique_code_gives_the_discount_once(client):
    campaign = make_campaign()
    batch = generate_codes(campaign, 3)
    code = next(batch_codes(batch))[0]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    add(client, create_product(price=Decimal("10.00"), num_in_stock=5))
    client.post("/basket/vouchers/add/", {"code": code})
    assert voucher_discount(basket_page(client)) == Decimal("1.00")


@pytest.mark.parametrize(("count", "prefix", "length"), [(0, "", 8), (10, "BAD PREFIX!", 8), (10, "", 3),
                                                          (10**6, "", 6)])
def test_bad_batches_are_refused(count, prefix, length):
    campaign = make_campaign()
    with pytest.raises(CampaignError):
        generate_codes(campaign, count, prefix=prefix, length=length)


# Sharing -------------------------------------------------------------------------------------------------------------
def test_the_share_link_carries_the_utm_values():
    campaign = make_campaign(utm={"utm_content": "carousel"})
    assert share_url(campaign) == ("http://testserver/journey/c/summer/?utm_source=facebook"
                                            "&utm_medium=paid_social&utm_campaign=summer&utm_content=carousel")


# Admin ---------------------------------------------------------------------------------------------------------------
ADD_URL = "/admin/journey/campaign/add/"


def form_data(**overrides):
    now = timezone.localtime()
    data = {
        "name": "Spring", "slug": "spring", "phase": "attract", "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": now.strftime("%H:%M:%S"), "ends_at_0": "", "ends_at_1": "", "discount_kind": "percentage",
        "discount_value": "10", "min_basket": "", "product_range": "", "max_total_uses": "",
        "max_uses_per_customer": "", "code": "", "channel": "instagram", "landing_path": "/", "utm_source": "",
        "utm_medium": "", "utm_campaign": "", "utm_content": "", "utm_term": "", "generate_count": "",
        "code_prefix": "", "code_length": "8",
        "code_batches-TOTAL_FORMS": "0", "code_batches-INITIAL_FORMS": "0", "code_batches-MIN_NUM_FORMS": "0",
        "code_batches-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"discount_value": "0"}, "discount_value", "Enter a discount above zero."),
    ({"discount_value": "150"}, "discount_value", "A percentage cannot be more than 100."),
    ({"discount_kind": "fixed", "discount_value": "-5"}, "discount_value", "Enter a discount above zero."),
    ({"ends_at_0": "2020-01-01", "ends_at_1": "00:00:00"}, "ends_at", "The end must be after the start."),
    ({"code": "SUMMER 10%"}, "code", "Use capital letters A–Z, digits and single dashes between them"),
    ({"code": "TAKEN"}, "code", "The code TAKEN is already in use."),
    ({"landing_path": "https://evil.example.com/"}, "landing_path", "Enter a page of this shop"),
    ({"generate_count": "10", "code_prefix": "NO WAY!"}, "generate_count", "A prefix may only hold"),
    ({"generate_count": "100001"}, "generate_count", "less than or equal to 100000"),
])
def test_the_admin_form_shows_errors_on_bad_input(admin_client, overrides, field, message):
    Voucher.objects.create(name="taken", code="TAKEN", start_datetime=timezone.now(),
                           end_datetime=timezone.now() + timedelta(days=1))
    response = admin_client.post(ADD_URL, form_data(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in " ".join(errors[field])
    assert not Campaign.objects.exists() and not ConditionalOffer.objects.exists()


def test_the_admin_refuses_a_range_and_categories_together(admin_client):
    Category = get_model("catalogue", "Category")
    tea = Category.add_root(name="Tea")
    everything = Range.objects.create(name="Everything", includes_all_products=True)
    response = admin_client.post(ADD_URL, form_data(product_range=str(everything.pk), categories=[str(tea.pk)]))
    assert response.status_code == 200
    assert "Choose a product range or categories, not both." in response.context["adminform"].form.errors["categories"]


def test_saving_in_the_admin_creates_the_offer_and_shows_the_link_qr_code_and_numbers(admin_client):
    response = admin_client.post(ADD_URL, form_data(utm_content="story"))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/journey/campaign/{campaign.pk}/change/"
    assert campaign.offer.status == ConditionalOffer.OPEN and campaign.voucher.is_active()

    page = admin_client.get(response["Location"]).content.decode()
    assert ("http://testserver/journey/c/spring/?utm_source=instagram&amp;utm_medium=paid_social"
            "&amp;utm_campaign=spring&amp;utm_content=story") in page
    assert "<svg" in page and "data-journey-qr" in page and "data-journey-numbers" in page
    assert campaign.voucher.code in page
    png = admin_client.get(f"/admin/journey/campaign/{campaign.pk}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_a_range_without_products_is_a_warning_not_an_error(admin_client):
    empty = Range.objects.create(name="Nothing yet")
    response = admin_client.post(ADD_URL, form_data(product_range=str(empty.pk)), follow=True)
    assert Campaign.objects.get().offer.benefit.range_id == empty.pk
    assert any("No product is in the chosen range" in str(m) for m in response.context["messages"])


def test_the_admin_generates_unique_codes_and_offers_them_as_csv(admin_client):
    response = admin_client.post(ADD_URL, form_data(generate_count="300", code_prefix="ig"), follow=True)
    campaign = Campaign.objects.get()
    batch = campaign.code_batches.get()
    assert any("300 unique codes generated" in str(m) for m in response.context["messages"])
    csv_response = admin_client.get(f"/admin/journey/campaign/{campaign.pk}/codes/{batch.pk}.csv")
    lines = b"".join(csv_response.streaming_content).decode().splitlines()
    assert lines[0] == "code,used" and len(lines) == 301
    assert len({line.split(",")[0] for line in lines[1:]}) == 300
    assert all(line.startswith("IG-") and line.endswith(",no") for line in lines[1:])


def test_deleting_a_used_campaign_in_the_admin_is_refused_with_a_message(admin_client):
    campaign = make_campaign()
    basket = basket_with([create_product(price=Decimal("10.00"), num_in_stock=5)])
    attach_to_basket(basket, campaign)
    create_order(basket=basket, user=AnonymousUser())

    response = admin_client.post(f"/admin/journey/campaign/{campaign.pk}/delete/", {"post": "yes"}, follow=True)

    assert response.status_code == 200 and Campaign.objects.filter(pk=campaign.pk).exists()
    assert any("cannot be deleted" in str(m) for m in response.context["messages"])
    response = admin_client.post("/admin/journey/campaign/", {"action": "delete_unused",
                                                              "_selected_action": [campaign.pk]}, follow=True)
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    admin_client.post("/admin/journey/campaign/", {"action": "archive", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.archived and campaign.offer.status == ConditionalOffer.SUSPENDED


def test_an_unused_campaign_is_deleted_in_the_admin(admin_client):
    campaign = make_campaign()
    response = admin_client.post(f"/admin/journey/campaign/{campaign.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Campaign.objects.exists() and not ConditionalOffer.objects.exists()


def test_ending_in_the_admin_suspends_oscars_offer(admin_client):
    campaign = make_campaign()
    admin_client.post("/admin/journey/campaign/", {"action": "end_now", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    campaign.offer.refresh_from_db()
    assert campaign.ended_at and campaign.offer.status == ConditionalOffer.SUSPENDED


# Numbers -------------------------------------------------------------------------------------------------------------
def test_numbers_count_landings_baskets_orders_discount_and_compare_order_values(client):
    campaign = make_campaign()
    other = make_campaign(name="Autumn", slug="autumn", channel="google")
    from django.test import Client

    from tests.conftest import BROWSER_USER_AGENT

    for _i in range(3):
        Client(HTTP_USER_AGENT=BROWSER_USER_AGENT).get("/journey/c/summer/")
    client.get("/journey/c/autumn/")
    basket = basket_with([create_product(price=Decimal("50.00"), num_in_stock=5)])
    attach_to_basket(basket, campaign)
    order = create_order(basket=basket, user=AnonymousUser())
    plain = create_order(basket=basket_with([create_product(price=Decimal("20.00"), num_in_stock=5)]),
                         user=AnonymousUser())

    numbers = campaign_numbers(campaign)

    assert (numbers.landings, numbers.orders, numbers.discount) == (3, 1, Decimal("5.00"))
    assert numbers.baskets == 1  # landings alone hold the discount without a basket: only the one that ordered
    assert numbers.revenue == numbers.average_order == order.total_incl_tax
    assert numbers.average_order_without == plain.total_incl_tax
    assert campaign_numbers(other).orders == 0

    from journey.registry import registry

    tool = registry.get("campaigns")
    assert tool.phases == ("attract",) and set(tool.touchpoints) == {"ad", "web"}
    now = timezone.now()
    metrics = {str(m.label): m.value for m in tool.get_metrics(now - timedelta(days=1), now + timedelta(minutes=1))}
    assert metrics["Live campaigns"] == 2
    assert metrics["Facebook: landings / orders"] == "3 / 1"
    assert metrics["Google: landings / orders"] == "1 / 0"
    assert metrics["Campaign discounts given"] == Decimal("5.00")
    assert tool.check_health().status == "ok"


def test_a_code_that_is_already_taken_is_drawn_again(monkeypatch):
    campaign = make_campaign()
    Voucher.objects.create(name="old", code="AAAA-AAAA", start_datetime=timezone.now(),
                           end_datetime=timezone.now() + timedelta(days=1))
    draws = iter([["AAAA-AAAA", "BBBB-BBBB"], ["CCCC-CCCC"]])
    monkeypatch.setattr(campaign_codes, "random_codes", lambda prefix, length, n: next(draws)[:n])

    batch = generate_codes(campaign, 2)

    assert sorted(code for code, _used in batch_codes(batch)) == ["BBBB-BBBB", "CCCC-CCCC"]
    assert Voucher.objects.get(code="AAAA-AAAA").voucher_set_id is None


def test_the_codes_download_escapes_a_code_a_spreadsheet_would_run_as_a_formula(admin_client):
    # Codes journey makes are letters and digits, but Oscar's dashboard lets staff edit a voucher's code.
    campaign = make_campaign()
    batch = generate_codes(campaign, 2, prefix="ig")
    first = Voucher.objects.filter(voucher_set_id=batch.voucher_set_id).order_by("pk").first()
    Voucher.objects.filter(pk=first.pk).update(code='=HYPERLINK("http://evil.example","x")')
    response = admin_client.get(f"/admin/journey/campaign/{campaign.pk}/codes/{batch.pk}.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["code", "used"]
    assert rows[1] == ['\'=HYPERLINK("http://evil.example","x")', "no"]
    assert rows[2][0].startswith("IG-")
