"""Related products: rebuild from orders, rules, fallbacks, atomic swap, the one-query API, pages and clicks."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_order, create_product

from journey.exceptions import RebuildError
from journey.related import api, services
from journey.related.models import ListKind, RelatedBuild, RelatedClick, RelatedProduct, RelatedRule, Source
from journey.test.factories import basket_with

ProductRecommendation = get_model("catalogue", "ProductRecommendation")
ProductCategory = get_model("catalogue", "ProductCategory")
Category = get_model("catalogue", "Category")
pytestmark = pytest.mark.django_db


def order_of(*products, days_ago=1):
    order = create_order(basket=basket_with(list(products)))
    order.date_placed = timezone.now() - timedelta(days=days_ago)
    order.save()
    return order


@pytest.fixture
def shop():
    """Cheese goes with crackers (3 orders) and with wine (2); jam was bought with cheese once only."""
    p = {name: create_product(title=name.title(), price=Decimal("2.00"), num_in_stock=10)
         for name in ("cheese", "crackers", "wine", "jam", "bread", "soap")}
    for _ in range(3):
        order_of(p["cheese"], p["crackers"])
    for _ in range(2):
        order_of(p["cheese"], p["wine"])
    order_of(p["cheese"], p["jam"])
    order_of(p["bread"])
    order_of(p["bread"])
    return p


def live_list(product):
    return list(
        RelatedProduct.objects.filter(build__status="live", product=product, kind=ListKind.BOUGHT_TOGETHER)
        .order_by("rank").values_list("related__title", "source")
    )


def test_pairs_bought_together_come_first_and_one_odd_order_makes_no_pair(shop):
    services.rebuild()
    entries = live_list(shop["cheese"])
    assert entries[0] == ("Crackers", Source.COMPUTED) and entries[1] == ("Wine", Source.COMPUTED)
    computed = [title for title, source in entries if source == Source.COMPUTED]
    assert "Jam" not in computed  # seen together once: below RELATED_MIN_SUPPORT
    assert "Cheese" not in [title for title, _ in entries]


def test_every_public_product_gets_a_full_list_from_fallbacks(shop, settings):
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_LIST_SIZE": 4}
    services.rebuild()
    soap = live_list(shop["soap"])  # never sold
    assert len(soap) == 4
    assert {source for _, source in soap} <= {Source.FALLBACK_CATEGORY, Source.FALLBACK_BESTSELLER}
    assert soap[0][0] == "Cheese"  # the best seller


def test_fallback_prefers_the_same_category(shop, settings):
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_LIST_SIZE": 3}
    dairy = Category.add_root(name="Dairy")
    for name in ("soap", "bread"):
        ProductCategory.objects.create(product=shop[name], category=dairy)
    services.rebuild()
    assert live_list(shop["soap"])[0] == ("Bread", Source.FALLBACK_CATEGORY)


def test_similar_products_fill_before_the_category_best_sellers_unless_switched_off(shop, settings):
    dairy = Category.add_root(name="Dairy")
    goat = create_product(title="Goat cheese", price=Decimal("2.10"), num_in_stock=10)
    for product in (shop["cheese"], shop["wine"], goat):
        ProductCategory.objects.create(product=product, category=dairy)
    services.rebuild()
    assert live_list(goat)[0] == ("Cheese", Source.SIMILAR)
    assert ("Wine", Source.FALLBACK_CATEGORY) in live_list(goat)
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_SIMILAR_PRODUCTS": False}
    services.rebuild()
    assert live_list(goat)[0] == ("Cheese", Source.FALLBACK_CATEGORY)  # the category's best seller
    assert Source.SIMILAR not in {source for _, source in live_list(goat)}


def test_unavailable_and_private_products_are_never_listed(shop):
    shop["crackers"].stockrecords.update(num_in_stock=0)
    shop["wine"].is_public = False
    shop["wine"].save()
    services.rebuild()
    titles = [title for title, _ in live_list(shop["cheese"])]
    assert "Crackers" not in titles and "Wine" not in titles


def test_hand_picked_and_pinned_products_lead_and_suppressions_hold(shop):
    ProductRecommendation.objects.create(primary=shop["cheese"], recommendation=shop["bread"], ranking=5)
    RelatedRule.objects.create(action=RelatedRule.Action.PIN, product=shop["cheese"], related=shop["soap"])
    RelatedRule.objects.create(action=RelatedRule.Action.SUPPRESS_PAIR, product=shop["cheese"], related=shop["wine"])
    RelatedRule.objects.create(action=RelatedRule.Action.SUPPRESS_EVERYWHERE, related=shop["crackers"])
    services.rebuild()
    entries = live_list(shop["cheese"])
    assert entries[:2] == [("Bread", Source.MANUAL), ("Soap", Source.PINNED)]
    titles = [title for title, _ in entries]
    assert "Wine" not in titles and "Crackers" not in titles
    assert "Crackers" not in [t for t, _ in live_list(shop["bread"])]


def test_a_rule_on_a_deleted_product_is_ignored_and_reported(shop):
    RelatedRule.objects.create(action=RelatedRule.Action.PIN, product=shop["cheese"], related=shop["jam"])
    shop["jam"].delete()
    report = services.rebuild()
    assert RelatedRule.objects.get().related is None
    assert "1 rule(s) point at a deleted product" in str(report)


def test_a_rebuild_with_no_orders_yields_fallback_lists_and_says_so():
    products = [create_product(price=Decimal("1.00"), num_in_stock=5) for _ in range(3)]
    report = services.rebuild()
    assert "no orders to learn from" in str(report)
    assert len(live_list(products[0])) == 2


def test_a_failed_rebuild_keeps_the_previous_lists(shop, monkeypatch):
    services.rebuild()
    before = live_list(shop["cheese"])

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(services.engine, "build", broken)
    with pytest.raises(RebuildError, match="previous lists stay live"):
        services.rebuild()
    assert live_list(shop["cheese"]) == before
    assert RelatedBuild.objects.filter(status="failed").count() == 1
    assert not RelatedProduct.objects.filter(build__status="failed").exists()


def test_a_rebuild_replaces_the_lists_and_removes_the_old_ones(shop):
    first = services.rebuild().build
    second = services.rebuild().build
    assert RelatedBuild.objects.get(status="live").pk == second.pk
    assert not RelatedProduct.objects.filter(build_id=first.pk).exists()


def test_until_trains_only_on_earlier_orders(shop):
    services.rebuild(until=timezone.now() - timedelta(days=30))
    assert all(source != Source.COMPUTED for _, source in live_list(shop["cheese"]))


def test_the_command_reports_a_bad_or_future_date():
    with pytest.raises(CommandError, match="must be a date"):
        call_command("journey_rebuild_related", "--until", "05/11/2017")
    with pytest.raises(CommandError, match="in the future"):
        call_command("journey_rebuild_related", "--until", "2999-01-01")


def test_the_command_prints_a_summary(shop):
    out = StringIO()
    call_command("journey_rebuild_related", stdout=out, stderr=StringIO())
    assert "Related products rebuilt" in out.getvalue() and "products with a list" in out.getvalue()


def test_the_api_reads_a_list_with_one_query_and_renders_oscars_card_without_more(shop, settings):
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_CACHE_SECONDS": 0}
    services.rebuild()
    cheese = shop["cheese"]
    with CaptureQueriesContext(connection) as ctx:
        products = api.related_products(cheese, limit=2)
        [(p.get_title(), p.primary_image(), p.stockrecords.all()[0].price, p.has_options) for p in products]
    assert [p.title for p in products] == ["Crackers", "Wine"]
    assert len(ctx.captured_queries) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_the_list_query_reads_each_products_own_stock_records_even_on_stale_statistics(shop, settings):
    """Statistics that no longer describe the stock table (it was bulk-loaded after the last ANALYZE; autovacuum late
    or off): the list query must still find a product's first stock record through the product_id index.  Ordered
    by the bare id, PostgreSQL walked the stock table's whole primary key for each entry (97 ms per list, issue 17)."""
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_CACHE_SECONDS": 0}
    Product, StockRecord = get_model("catalogue", "Product"), get_model("partner", "StockRecord")
    cheese = shop["cheese"]
    stock = cheese.stockrecords.get()
    filler = Product.objects.bulk_create([
        Product(title=f"Filler {i}", slug=f"filler-{i}", product_class=cheese.product_class, structure="standalone")
        for i in range(2000)])
    StockRecord.objects.bulk_create([
        StockRecord(product=product, partner=stock.partner, partner_sku=f"filler-{product.pk}", price=Decimal("1.00"),
                    num_in_stock=5) for product in filler])
    services.rebuild()
    with connection.cursor() as cursor:  # what the planner believes: product_id takes two values in all
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (ALTER TABLE waits for no deferred check)
        cursor.execute("ALTER TABLE partner_stockrecord ALTER COLUMN product_id SET (n_distinct = 2)")
        cursor.execute("ANALYZE partner_stockrecord")
    entries = api._entries(product_id=cheese.pk, kind=ListKind.BOUGHT_TOGETHER).order_by("rank")
    plan = entries.explain()
    assert "partner_stockrecord" in plan and "partner_stockrecord_pkey" not in plan, plan
    products = api.related_products(cheese, limit=2)
    assert [p.title for p in products] == ["Crackers", "Wine"]
    assert products[0].stockrecords.all()[0].price == Decimal("2.00")


def test_a_cached_list_costs_no_query_and_a_rebuild_changes_it(shop):
    services.rebuild()
    api.related_products(shop["cheese"], limit=2)  # warms the cache
    with CaptureQueriesContext(connection) as ctx:
        titles = [p.title for p in api.related_products(shop["cheese"], limit=2)]
    assert titles == ["Crackers", "Wine"] and len(ctx.captured_queries) == 0
    for _ in range(4):
        order_of(shop["cheese"], shop["bread"])
    build = services.rebuild().build
    from django.core.cache import cache

    cache.set(api.LIVE_BUILD_KEY, build.pk)  # what the swap's on_commit does
    assert [p.title for p in api.related_products(shop["cheese"], limit=1)] == ["Bread"]


def test_the_basket_cross_sell_leaves_out_what_is_in_the_basket(shop):
    services.rebuild()
    basket = basket_with([shop["cheese"], shop["crackers"]])
    titles = [p.title for p in api.related_for_basket(basket, limit=3)]
    assert titles[0] == "Wine" and "Cheese" not in titles and "Crackers" not in titles


def test_product_and_basket_pages_show_the_lists(shop, client):
    services.rebuild()
    page = client.get(shop["cheese"].get_absolute_url()).content.decode()
    assert 'data-journey-list="1"' in page and "Crackers" in page
    client.post(reverse("basket:add", args=[shop["cheese"].pk]), {"quantity": 1})
    basket_page = client.get(reverse("basket:summary")).content.decode()
    assert "Complete your basket" in basket_page and 'data-journey-list="2"' in basket_page


def test_the_lists_show_the_whole_product_name_with_its_size(client, shop):
    """Oscar's card cuts a name after four words ("Fluid Milk — 64 …"): journey's lists show all of it."""
    milk = create_product(title="Store brand Fluid Milk — 64 OZ", price=Decimal("2.00"), num_in_stock=10)
    for _ in range(2):
        order_of(shop["cheese"], milk)
        order_of(shop["bread"], milk)
    services.rebuild()

    def link_texts(page):
        section = re.search(r'<section class="journey-related.*?</section>', page, re.S).group(0)
        return [" ".join(text.split()) for text in re.findall(r"<h3[^>]*>\s*<a [^>]*>(.*?)</a>", section, re.S)]

    product_page = client.get(shop["cheese"].get_absolute_url()).content.decode()
    assert "Store brand Fluid Milk — 64 OZ" in link_texts(product_page)
    client.post(reverse("basket:add", args=[shop["bread"].pk]), {"quantity": 1})
    assert "Store brand Fluid Milk — 64 OZ" in link_texts(client.get(reverse("basket:summary")).content.decode())


def test_the_demo_shops_product_cards_show_the_whole_name_too(rf):
    milk = create_product(title="Store brand Fluid Milk — 64 OZ", price=Decimal("2.00"), num_in_stock=10)
    request = rf.get("/")
    request.strategy = get_class("partner.strategy", "Selector")().strategy()
    request.session, request.user, request.basket = {}, AnonymousUser(), get_model("basket", "Basket")()
    card = render_to_string("oscar/catalogue/partials/product.html", {"product": milk, "request": request})
    link = re.search(r"<h3[^>]*>\s*<a [^>]*>(.*?)</a>", card, re.S).group(1)
    assert link.strip() == "Store brand Fluid Milk — 64 OZ"


def test_a_click_is_recorded_with_list_and_position(client, shop):
    response = client.post(reverse("journey:related-click"),
                           {"kind": "1", "anchor": shop["cheese"].pk, "product": shop["wine"].pk, "position": "2",
                            "source": "3"})
    assert response.status_code == 204
    click = RelatedClick.objects.get()
    assert (click.kind, click.position, click.product_id, click.anchor_id) == (1, 2, shop["wine"].pk,
                                                                                shop["cheese"].pk)


def test_a_malformed_click_is_a_400_not_a_500(client):
    url = reverse("journey:related-click")
    assert client.post(url, {"kind": "x", "product": "1"}).status_code == 400
    assert client.post(url, {"kind": "9", "product": "1", "position": "1"}).status_code == 400
    assert not RelatedClick.objects.exists()


def test_a_cached_list_carries_each_visitors_own_csrf_token(shop):
    import re

    from django.test import Client

    services.rebuild()
    from django.core.cache import cache

    cache.set(api.LIVE_BUILD_KEY, RelatedBuild.objects.get(status="live").pk)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    url = shop["cheese"].get_absolute_url()
    first.get(url)  # renders and caches the list
    html = second.get(url).content.decode()  # served from the cache
    section = html[html.index("data-journey-list"):html.index("</section>", html.index("data-journey-list"))]
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', section)
    assert tokens and "journeycsrfplaceholder" not in html
    response = second.post(reverse("basket:add", args=[shop["crackers"].pk]),
                           {"quantity": 1, "csrfmiddlewaretoken": tokens[0]})
    assert response.status_code == 302


def test_the_rebuild_stores_exactly_the_lists_the_evaluation_measures():
    """One code path: the lists in the database equal ``evaluation.shipped_lists`` on the same orders and catalogue
    (described here independently of the rebuild's own catalogue query)."""
    import numpy as np

    from journey.related.evaluation import shipped_lists
    from journey.related.lists import Catalogue

    dairy, bakery = Category.add_root(name="Dairy"), Category.add_root(name="Bakery")
    spec = [("Cheddar cheese 200 g", dairy, "3.00", 10), ("Cheddar cheese 400 g", dairy, "5.50", 10),
            ("Goat cheese", dairy, "3.20", 10), ("Milk 1 l", dairy, "1.00", 10), ("Butter", dairy, "2.10", 0),
            ("Rye bread", bakery, "2.20", 10), ("White bread", bakery, "1.90", 10), ("Crackers", bakery, "1.50", 10),
            ("Jam", None, "2.50", 10), ("Hand soap", None, "2.00", 10)]
    products = []
    for title, category, price, stock in spec:
        product = create_product(title=title, price=Decimal(price), num_in_stock=stock)
        if category is not None:
            ProductCategory.objects.create(product=product, category=category)
        products.append(product)
    cheddar, big_cheddar, goat, milk, butter, rye, white, crackers, jam, _soap = products
    baskets = [[cheddar, crackers, milk]] * 3 + [[cheddar, rye]] * 2 + [[milk, white]] * 4 + [[goat, jam]]
    baskets += [[big_cheddar, crackers, butter]] * 2 + [[milk, rye, jam]] * 2
    orders = [order_of(*basket) for basket in baskets]

    services.rebuild()
    stored = list(RelatedProduct.objects.filter(build__status="live").order_by("product_id", "rank").values_list(
        "product_id", "related_id", "rank", "source", "evidence"))

    order_ids = np.array([o.pk for o, basket in zip(orders, baskets, strict=True) for _ in basket])
    product_ids = np.array([p.pk for basket in baskets for p in basket])
    by_pk = sorted(zip(products, spec, strict=True), key=lambda pair: pair[0].pk)
    catalogue = Catalogue(
        product_ids=[p.pk for p, _ in by_pk],
        buyable=[s[3] > 0 for _, s in by_pk],
        categories=[s[1].pk if s[1] else -1 for _, s in by_pk],
        titles=[s[0] for _, s in by_pk],
        prices=[float(s[2]) for _, s in by_pk],
    )
    measured = shipped_lists(order_ids, product_ids, catalogue)
    product, related, _kind, rank, _score, evidence, source = measured.columns(kind=ListKind.BOUGHT_TOGETHER)
    expected = sorted(zip(product.tolist(), related.tolist(), rank.tolist(), source.tolist(), evidence.tolist(),
                          strict=True), key=lambda row: (row[0], row[2]))
    assert stored == expected
    assert {row[3] for row in stored} >= {Source.COMPUTED, Source.SIMILAR, Source.FALLBACK_BESTSELLER}
    assert butter.pk not in {row[1] for row in stored}  # out of stock


def test_the_heading_says_bought_together_only_when_every_product_shown_was_bought_together(shop, client):
    for name in ("bread", "bread", "soap", "soap", "jam"):
        order_of(shop["cheese"], shop[name])
    services.rebuild()
    # Cheese (11 orders): its four popular slots are all pairs seen in two or more orders.
    page = client.get(shop["cheese"].get_absolute_url()).content.decode()
    assert "Customers who bought this also bought" in page and "You may also like" not in page
    # Soap (2 orders): one pair (cheese); a best seller makes up the second popular slot.
    page = client.get(shop["soap"].get_absolute_url()).content.decode()
    assert "You may also like" in page and "Customers who bought this also bought" not in page
