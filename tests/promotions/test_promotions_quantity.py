"""Quantity promotions: tiers and buy X pay Y as Oscar site offers, upsell hints, ending, deleting, numbers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_product

from journey.exceptions import PromotionInUse
from journey.promotions.quantity import hints, offers
from journey.promotions.quantity.models import QuantityPromotion, QuantityTier
from journey.promotions.quantity.numbers import promotion_numbers
from journey.test.factories import basket_with

Applicator = get_class("offer.applicator", "Applicator")
Benefit = get_model("offer", "Benefit")
Category = get_model("catalogue", "Category")
ConditionalOffer = get_model("offer", "ConditionalOffer")
Range = get_model("offer", "Range")
Order = get_model("order", "Order")

pytestmark = pytest.mark.django_db


def product_range(*products, name="Cheeses"):
    offer_range = Range.objects.create(name=name)
    for product in products:
        offer_range.add_product(product)
    return offer_range


def tiered(offer_range=None, tiers=((2, "10"), (3, "15")), categories=(), **fields):
    promotion = QuantityPromotion.objects.create(name="Cheese deal", product_range=offer_range, is_draft=False,
                                                 starts_at=timezone.now() - timedelta(hours=1), **fields)
    promotion.categories.set(categories)
    for count, pct in tiers:
        QuantityTier.objects.create(promotion=promotion, min_quantity=count, percentage=Decimal(pct))
    offers.sync_offers(promotion)
    return promotion


def buy_x_pay_y(offer_range, buy=3, pay=2):
    promotion = QuantityPromotion.objects.create(
        name="3 for 2", product_range=offer_range, is_draft=False, kind=QuantityPromotion.Kind.BUY_X_PAY_Y,
        buy_quantity=buy, pay_quantity=pay, starts_at=timezone.now() - timedelta(hours=1))
    offers.sync_offers(promotion)
    return promotion


def priced(basket):
    basket.reset_offer_applications()
    Applicator().apply(basket, None)
    return basket


@pytest.fixture
def cheese():
    return create_product(title="Manchego", price=Decimal("10.00"), num_in_stock=100)


@pytest.mark.parametrize(("items", "total"), [(1, "10.00"), (2, "18.00"), (3, "25.50"), (5, "42.50")])
def test_tiers_give_the_best_tier_reached_on_every_item_never_stacked(cheese, items, total):
    tiered(product_range(cheese))
    basket = priced(basket_with([cheese], quantity=items))
    assert basket.total_incl_tax == Decimal(total)
    assert len(basket.offer_applications) == (0 if items == 1 else 1)


def test_tiers_count_items_across_products_of_the_range_only(cheese):
    brie = create_product(title="Brie", price=Decimal("20.00"), num_in_stock=10)
    bread = create_product(title="Bread", price=Decimal("5.00"), num_in_stock=10)
    tiered(product_range(cheese, brie))
    basket = priced(basket_with([cheese, brie, bread]))
    assert basket.total_incl_tax == Decimal("32.00")  # 30.00 - 10 % + 5.00 bread at full price


def test_tiers_on_categories_use_a_range_journey_keeps(cheese):
    dairy = Category.add_root(name="Dairy")
    cheese.productcategory_set.create(category=dairy)
    promotion = tiered(categories=[dairy])
    assert promotion.own_range and not promotion.own_range.is_public
    assert priced(basket_with([cheese], quantity=3)).total_incl_tax == Decimal("25.50")


@pytest.mark.parametrize(("items", "total"), [(2, "20.00"), (3, "20.00"), (5, "40.00"), (6, "40.00")])
def test_buy_3_pay_2_makes_one_in_every_three_free(cheese, items, total):
    buy_x_pay_y(product_range(cheese))
    assert priced(basket_with([cheese], quantity=items)).total_incl_tax == Decimal(total)


def test_cheapest_is_free_across_products(cheese):
    wine = create_product(title="Rioja", price=Decimal("30.00"), num_in_stock=10)
    buy_x_pay_y(product_range(cheese, wine), buy=2, pay=1)
    assert priced(basket_with([cheese, wine])).total_incl_tax == Decimal("30.00")


def test_a_buy_x_pay_y_offer_saved_under_the_old_module_path_works_again_after_the_migration(cheese):
    """Oscar keeps the benefit's dotted path in the database; it moved with the quantity package split."""
    from importlib import import_module

    from django.apps import apps

    from journey.promotions.quantity.benefits import BUY_X_PAY_Y_CLASS, BuyXPayYBenefit

    promotion = buy_x_pay_y(product_range(cheese))
    [offer] = ConditionalOffer.objects.filter(pk__in=promotion.offer_ids)
    Benefit.objects.filter(pk=offer.benefit_id).update(proxy_class="journey.promotions.quantity.BuyXPayYBenefit")

    import_module("journey.migrations.0016_buy_x_pay_y_path").forwards(apps, None)

    assert Benefit.objects.get(pk=offer.benefit_id).proxy_class == BUY_X_PAY_Y_CLASS
    assert isinstance(Benefit.objects.get(pk=offer.benefit_id).proxy(), BuyXPayYBenefit)
    assert priced(basket_with([cheese], quantity=3)).total_incl_tax == Decimal("20.00")
    assert [o.pk for o in offers.sync_offers(promotion)] == [offer.pk]  # found again, not made twice


def test_the_offers_are_ordinary_oscar_site_offers(cheese):
    promotion = tiered(product_range(cheese))
    site_offers = ConditionalOffer.objects.filter(pk__in=promotion.offer_ids).order_by("-priority")
    assert [o.offer_type for o in site_offers] == ["Site", "Site"]
    assert [(int(o.condition.value), o.benefit.value, o.exclusive) for o in site_offers] == [
        (3, Decimal("15.00"), True), (2, Decimal("10.00"), True)]
    assert all(o.is_available() for o in site_offers)


def test_an_order_records_the_tier_discount_and_the_numbers_show_it(cheese):
    from oscar.test.factories import create_order

    promotion = tiered(product_range(cheese))
    create_order(basket=priced(basket_with([cheese], quantity=3)))
    create_order(basket=priced(basket_with([cheese], quantity=1)))
    numbers = promotion_numbers(promotion)
    assert (numbers.orders, numbers.discount, numbers.revenue) == (1, Decimal("4.50"), Decimal("25.50"))
    assert (numbers.average_with, numbers.average_without) == (Decimal("25.50"), Decimal("10.00"))
    three_plus = promotion.tiers.get(min_quantity=3).offer_id
    assert numbers.by_offer == {three_plus: 1}


def test_ending_a_promotion_suspends_its_offers(cheese):
    promotion = tiered(product_range(cheese))
    offers.end(promotion)
    assert set(ConditionalOffer.objects.filter(pk__in=promotion.offer_ids).values_list("status", flat=True)) == {
        ConditionalOffer.SUSPENDED}
    assert priced(basket_with([cheese], quantity=3)).total_incl_tax == Decimal("30.00")


def test_a_draft_gives_nothing_until_published(cheese):
    draft = QuantityPromotion.objects.create(name="Draft", product_range=product_range(cheese, name="R2"))
    QuantityTier.objects.create(promotion=draft, min_quantity=2, percentage=Decimal("50"))
    offers.sync_offers(draft)
    assert priced(basket_with([cheese], quantity=2)).total_incl_tax == Decimal("20.00")
    draft.is_draft = False
    draft.save()
    offers.sync_offers(draft)
    assert priced(basket_with([cheese], quantity=2)).total_incl_tax == Decimal("10.00")


def test_a_removed_tier_stops_applying(cheese):
    promotion = tiered(product_range(cheese))
    promotion.tiers.get(min_quantity=3).delete()
    offers.sync_offers(promotion)
    assert priced(basket_with([cheese], quantity=3)).total_incl_tax == Decimal("27.00")


def test_deleting_a_promotion_with_orders_is_refused_and_without_cleans_up(cheese):
    from oscar.test.factories import create_order

    used = tiered(product_range(cheese))
    create_order(basket=priced(basket_with([cheese], quantity=2)))
    with pytest.raises(PromotionInUse):
        offers.delete(used)
    assert QuantityPromotion.objects.filter(pk=used.pk).exists()
    offers.archive(used)

    unused = tiered(categories=[Category.add_root(name="Bakery")])
    unused.refresh_from_db()
    offer_ids, range_id = unused.offer_ids, unused.own_range_id
    offers.delete(unused)
    assert not ConditionalOffer.objects.filter(pk__in=offer_ids).exists()
    assert not Range.objects.filter(pk=range_id).exists()


# Hints -------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("items", "message"), [
    (0, "Buy 2 or more for 10 % off"), (1, "Add 1 more for 10 % off"), (2, "Add 1 more for 15 % off"),
    (3, "15 % off applied"), (5, "15 % off applied")])
def test_the_hint_says_what_the_next_item_earns(cheese, items, message):
    tiered(product_range(cheese))
    basket = basket_with([cheese], quantity=items) if items else None
    [hint] = hints.hints_for_product(cheese, basket)
    assert hint.message == message


def test_buy_x_pay_y_hints(cheese):
    buy_x_pay_y(product_range(cheese))
    assert [h.message for h in hints.hints_for_product(cheese)] == ["Buy 3, pay 2"]
    assert [h.message for h in hints.hints_for_basket(basket_with([cheese], quantity=2))] == [
        "Add 1 more and pay 2 for 3"]


def test_no_hint_without_a_live_promotion_for_the_product(cheese):
    other = create_product(title="Bread", price=Decimal("2.00"), num_in_stock=5)
    assert hints.hints_for_product(cheese) == []
    tiered(product_range(cheese))
    assert hints.hints_for_product(other) == []
    assert hints.hints_for_basket(basket_with([other])) == []


def test_a_scheduled_promotion_gives_no_hint_until_it_starts(cheese):
    promotion = tiered(product_range(cheese))
    QuantityPromotion.objects.filter(pk=promotion.pk).update(starts_at=timezone.now() + timedelta(days=1))
    hints.bump_version()
    assert hints.hints_for_product(cheese) == []
    assert hints.hints_for_product(cheese, now=timezone.now() + timedelta(days=2))


def test_saving_a_promotion_refreshes_the_hints_at_once(cheese, django_capture_on_commit_callbacks):
    promotion = tiered(product_range(cheese))
    assert hints.hints_for_product(cheese)[0].message == "Buy 2 or more for 10 % off"
    tier = promotion.tiers.get(min_quantity=2)
    tier.percentage = Decimal("12")
    tier.save()
    with django_capture_on_commit_callbacks(execute=True):
        offers.sync_offers(promotion)
    assert hints.hints_for_product(cheese)[0].message == "Buy 2 or more for 12 % off"


def test_the_product_and_basket_pages_show_the_hint_without_extra_queries(client, cheese):
    tiered(product_range(cheese))
    url = cheese.get_absolute_url()
    client.post(reverse("basket:add", args=[cheese.pk]), {"quantity": 1})
    assert "Add 1 more for 10 % off" in client.get(url).content.decode()  # warms the per-process copy
    with CaptureQueriesContext(connection) as with_hint:
        html = client.get(url).content.decode()
    assert "Add 1 more for 10 % off" in html
    assert not [q for q in with_hint.captured_queries if "journey_quantity" in q["sql"]]
    assert "Add 1 more for 10 % off" in client.get(reverse("basket:summary")).content.decode()


def test_pages_without_a_promotion_show_no_hint(client, cheese):
    client.post(reverse("basket:add", args=[cheese.pk]), {"quantity": 1})
    assert "data-journey-quantity-hint" not in client.get(cheese.get_absolute_url()).content.decode()
    assert "data-journey-quantity-hints" not in client.get(reverse("basket:summary")).content.decode()


# Admin ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def admin_client_(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(username="boss", email="boss@example.com", password="pw")
    client.force_login(admin_user)
    return client


def admin_post(client, data, tiers=(), url=None):
    start = timezone.localtime() - timedelta(minutes=1)
    payload = {"name": "Cheese deal", "kind": "tiers", "phase": "", "priority": "0",
               "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": start.strftime("%H:%M:%S"),
               "ends_at_0": "", "ends_at_1": "", "buy_quantity": "", "pay_quantity": "",
               "tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
               "tiers-MAX_NUM_FORMS": "1000"}
    for i, (count, pct) in enumerate(tiers):
        payload[f"tiers-{i}-min_quantity"] = str(count)
        payload[f"tiers-{i}-percentage"] = str(pct)
    payload.update(data)
    return client.post(url or reverse("admin:journey_quantitypromotion_add"), payload, follow=True)


def errors_of(response):
    assert response.status_code == 200
    errors = [str(e) for e in response.context["adminform"].form.errors.values()] if "adminform" in \
        response.context else []
    for formset in response.context.get("inline_admin_formsets", []):
        errors += [str(e) for e in formset.formset.non_form_errors()]
        errors += [str(e) for form_errors in formset.formset.errors for e in form_errors.values()]
    return " ".join(errors)


def test_admin_saves_a_tiered_promotion_with_its_oscar_offers(admin_client_, cheese):
    offer_range = product_range(cheese)
    response = admin_post(admin_client_, {"product_range": offer_range.pk, "is_draft": ""},
                          tiers=[(2, 10), (3, 15)])
    assert response.status_code == 200 and not errors_of(response)
    promotion = QuantityPromotion.objects.get()
    assert promotion.phase == "sell" and len(promotion.offer_ids) == 2
    assert priced(basket_with([cheese], quantity=3)).total_incl_tax == Decimal("25.50")


@pytest.mark.parametrize(("data", "tiers", "message"), [
    ({}, [(2, 0)], "greater than or equal to 0.01"),
    ({}, [(2, 101)], "less than or equal to 100"),
    ({}, [(2, 10), (2, 15)], "duplicate"),
    ({}, [(2, 15), (3, 15)], "must give more than the one before"),
    ({}, [(2, 15), (3, 10)], "must give more than the one before"),
    ({}, [], "Add at least one tier"),
    ({"ends_at_0": "2000-01-01", "ends_at_1": "00:00:00"}, [(2, 10)], "The end must be after the start"),
    ({"product_range": ""}, [(2, 10)], "Choose either an Oscar range or one or more categories"),
    ({"kind": "buy_x_pay_y", "buy_quantity": "3", "pay_quantity": "3"}, [], "Y must be less than X"),
    ({"kind": "buy_x_pay_y"}, [], "Enter how many items to buy"),
])
def test_admin_refuses_bad_promotions_with_form_errors(admin_client_, cheese, data, tiers, message):
    offer_range = product_range(cheese)
    response = admin_post(admin_client_, {"product_range": offer_range.pk, **data}, tiers=tiers)
    assert message in errors_of(response)
    assert not QuantityPromotion.objects.exists() and not ConditionalOffer.objects.exists()


def test_admin_warns_about_a_range_without_products_but_saves(admin_client_):
    empty = Range.objects.create(name="Nothing yet")
    response = admin_post(admin_client_, {"product_range": empty.pk}, tiers=[(2, 10)])
    assert "hold no product for sale yet" in response.content.decode()
    assert QuantityPromotion.objects.count() == 1


def test_admin_refuses_to_delete_a_used_promotion_and_shows_its_numbers(admin_client_, cheese):
    from oscar.test.factories import create_order

    promotion = tiered(product_range(cheese))
    create_order(basket=priced(basket_with([cheese], quantity=3)))
    change = reverse("admin:journey_quantitypromotion_change", args=[promotion.pk])
    page = admin_client_.get(change).content.decode()
    assert "Orders with it" in page and "Orders at 3+ items: 15 % off" in page
    response = admin_client_.post(reverse("admin:journey_quantitypromotion_delete", args=[promotion.pk]),
                                  {"post": "yes"}, follow=True)
    assert response.status_code == 200 and "cannot be deleted" in response.content.decode()
    assert QuantityPromotion.objects.filter(pk=promotion.pk).exists()
    admin_client_.post(reverse("admin:journey_quantitypromotion_changelist"),
                       {"action": "archive", "_selected_action": [promotion.pk]})
    promotion.refresh_from_db()
    assert promotion.archived and promotion.ended_at


def test_admin_lists_and_deletes_an_unused_promotion(admin_client_, cheese):
    promotion = tiered(product_range(cheese))
    assert admin_client_.get(reverse("admin:journey_quantitypromotion_changelist")).status_code == 200
    response = admin_client_.post(reverse("admin:journey_quantitypromotion_delete", args=[promotion.pk]),
                                  {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not QuantityPromotion.objects.exists() and not ConditionalOffer.objects.exists()


def test_the_quantity_tool_shows_the_tiers_at_work_on_the_journey_map(cheese):
    from oscar.test.factories import create_order

    from journey.registry import registry

    tool = registry.get("quantity")
    assert tool.check_health().status == "idle"
    tiered(product_range(cheese))
    create_order(basket=priced(basket_with([cheese], quantity=3)))
    assert tool.check_health().status == "ok"
    now = timezone.now()
    metrics = {str(m.label): m.value for m in tool.get_metrics(now - timedelta(days=1), now + timedelta(hours=1))}
    assert metrics["Orders with a quantity deal"] == 1 and metrics["Discount given"] == Decimal("4.50")
    assert metrics["Cheese deal · 3+ items: 15 % off"] == 1



def test_with_promotions_left_out_of_tools_the_hint_tags_render_nothing(client, cheese, settings):
    from journey.conf import BUILTIN_TOOLS

    tiered(product_range(cheese))
    client.post(reverse("basket:add", args=[cheese.pk]), {"quantity": 1})
    assert "data-journey-quantity-hint" in client.get(cheese.get_absolute_url()).content.decode()
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": tuple(p for p in BUILTIN_TOOLS if p != "journey.promotions")}
    product_page, basket_page = client.get(cheese.get_absolute_url()), client.get(reverse("basket:summary"))
    assert product_page.status_code == basket_page.status_code == 200
    assert "data-journey-quantity-hint" not in product_page.content.decode()
    assert "data-journey-quantity-hints" not in basket_page.content.decode()
