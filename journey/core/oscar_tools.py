"""Oscar features that already serve a journey phase, registered as tools so the journey map shows the whole shop.

Health and metrics here are cheap aggregate queries; each returns honest numbers from Oscar's own tables.
"""

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model

from ..phases import Phase
from .registry import Health, Metric, Tool, Touchpoint
from .reporting.series import per_day


def _installed(label):
    try:
        apps.get_app_config(label)
    except LookupError:
        return False
    return True


def _order_discounts(start, end):
    OrderDiscount = get_model("order", "OrderDiscount")
    return OrderDiscount.objects.filter(order__date_placed__gte=start, order__date_placed__lt=end)


def _discount_metrics(start, end, *, with_code, orders_label):
    """Orders of the period with a discount from a voucher code (or from an offer without one), and the amount."""
    agg = _order_discounts(start, end).filter(voucher_id__isnull=not with_code).aggregate(
        orders=Count("order", distinct=True), amount=Sum("amount"))
    return [
        Metric(orders_label, agg["orders"]),
        Metric(_("Discount given"), agg["amount"] or 0, "money"),
    ]


# Site offers ----------------------------------------------------------------------------------------------
def offers_health():
    ConditionalOffer = get_model("offer", "ConditionalOffer")
    n = ConditionalOffer.active.filter(offer_type=ConditionalOffer.SITE, status=ConditionalOffer.OPEN).count()
    if not n:
        return Health.idle(_("No site offer is running."))
    return Health.ok(ngettext("%(n)d site offer running.", "%(n)d site offers running.", n) % {"n": n})


def offers_metrics(start, end):
    return _discount_metrics(start, end, with_code=False, orders_label=_("Orders with an offer"))


def _discount_series(with_voucher):
    def series(start, end):
        """Orders with a site offer (or with a code) per store day."""
        return per_day(_order_discounts(start, end).filter(voucher_id__isnull=not with_voucher),
                       "order__date_placed", Count("order_id", distinct=True))
    return series


# Vouchers -------------------------------------------------------------------------------------------------
def vouchers_health():
    Voucher = get_model("voucher", "Voucher")
    now = timezone.now()
    n = Voucher.objects.filter(start_datetime__lte=now, end_datetime__gt=now).count()
    if not n:
        return Health.idle(_("No voucher code is valid today."))
    return Health.ok(ngettext("%(n)d voucher code valid today.", "%(n)d voucher codes valid today.", n) % {"n": n})


def vouchers_metrics(start, end):
    return _discount_metrics(start, end, with_code=True, orders_label=_("Orders with a code"))


# Manual recommendations -----------------------------------------------------------------------------------
def recommendations_health():
    ProductRecommendation = get_model("catalogue", "ProductRecommendation")
    n = ProductRecommendation.objects.count()
    if not n:
        return Health.idle(_("No product has a hand-picked recommendation."))
    return Health.ok(ngettext("%(n)d hand-picked pair.", "%(n)d hand-picked pairs.", n) % {"n": n})


# Reviews --------------------------------------------------------------------------------------------------
def reviews_health():
    if not _installed("reviews"):
        return Health.idle(_("Oscar's reviews app is not installed."))
    ProductReview = get_model("reviews", "ProductReview")
    n = ProductReview.objects.filter(status=ProductReview.APPROVED).count()
    pending = ProductReview.objects.filter(status=ProductReview.FOR_MODERATION).count()
    if pending:
        return Health.warning(
            ngettext("%(n)d review waits for moderation.", "%(n)d reviews wait for moderation.", pending)
            % {"n": pending}
        )
    if not n:
        return Health.idle(_("No approved review yet."))
    return Health.ok(ngettext("%(n)d approved review.", "%(n)d approved reviews.", n) % {"n": n})


def reviews_metrics(start, end):
    if not _installed("reviews"):
        return []
    ProductReview = get_model("reviews", "ProductReview")
    n = ProductReview.objects.filter(date_created__gte=start, date_created__lt=end).count()
    return [Metric(_("New reviews"), n)]


# Search ---------------------------------------------------------------------------------------------------
SIMPLE_ENGINE = "haystack.backends.simple_backend.SimpleEngine"


def search_health(using="default"):
    """Oscar's home and category pages list products through Haystack: with Haystack's SimpleEngine (nothing for an
    empty query) or an empty index they show "0 results", so the tool needs attention then."""
    if not getattr(settings, "HAYSTACK_CONNECTIONS", None):
        return Health.error(_("HAYSTACK_CONNECTIONS is not configured: Oscar's search cannot run."))
    Product = get_model("catalogue", "Product")
    if not Product.objects.filter(is_public=True).exists():
        return Health.idle(_("The catalogue has no public product."))
    from haystack import connections
    from haystack.query import SearchQuerySet

    if connections.connections_info.get(using, {}).get("ENGINE") == SIMPLE_ENGINE:
        return Health.warning(
            _(
                "Haystack's SimpleEngine lists no product on the home and category pages: use Whoosh, Solr or "
                "Elasticsearch (docs/install.md)."
            )
        )
    try:
        n = SearchQuerySet(using=using).models(Product).count()
    except Exception as exc:  # any backend: a missing server, a broken index folder
        return Health.error(_("The search backend fails: %(error)s") % {"error": exc})
    if not n:
        return Health.warning(
            _("The search index is empty: the home and category pages list nothing. Run manage.py rebuild_index.")
        )
    return Health.ok(
        ngettext("%(n)d product in the search index.", "%(n)d products in the search index.", n) % {"n": n}
    )


def search_series(start, end):
    UserSearch = get_model("analytics", "UserSearch")
    return per_day(UserSearch.objects.filter(date_created__gte=start, date_created__lt=end), "date_created")


def search_metrics(start, end):
    UserSearch = get_model("analytics", "UserSearch")
    n = UserSearch.objects.filter(date_created__gte=start, date_created__lt=end).count()
    return [Metric(_("Searches by signed-in customers"), n)]


# Wish lists and stock alerts ------------------------------------------------------------------------------
def wishlists_health():
    if not _installed("wishlists"):
        return Health.idle(_("Oscar's wish lists app is not installed."))
    WishList = get_model("wishlists", "WishList")
    n = WishList.objects.count()
    if not n:
        return Health.idle(_("No customer has a wish list yet."))
    return Health.ok(ngettext("%(n)d wish list.", "%(n)d wish lists.", n) % {"n": n})


def alerts_health():
    ProductAlert = get_model("customer", "ProductAlert")
    n = ProductAlert.objects.filter(status=ProductAlert.ACTIVE).count()
    if not n:
        return Health.idle(_("No customer waits for a product to be back in stock."))
    return Health.ok(ngettext("%(n)d active alert.", "%(n)d active alerts.", n) % {"n": n})


def alerts_metrics(start, end):
    ProductAlert = get_model("customer", "ProductAlert")
    n = ProductAlert.objects.filter(date_created__gte=start, date_created__lt=end).count()
    return [Metric(_("New alerts"), n)]


OSCAR_TOOLS = (
    Tool(
        key="oscar_search",
        name=_("Catalogue search"),
        description=_("Oscar's product search and category pages, where visitors arrive from search engines."),
        phases=[Phase.ATTRACT],
        touchpoints=[Touchpoint.WEB],
        health=search_health,
        metrics=search_metrics,
        series=search_series,
        series_title=_("Searches per day"),
        provider="oscar",
        order=200,
    ),
    Tool(
        key="oscar_reviews",
        name=_("Product reviews"),
        description=_("Customer reviews on product pages."),
        phases=[Phase.CONVINCE],
        touchpoints=[Touchpoint.WEB],
        health=reviews_health,
        metrics=reviews_metrics,
        admin_url_name="dashboard:reviews-list",
        provider="oscar",
        order=210,
    ),
    Tool(
        key="oscar_recommendations",
        name=_("Hand-picked recommendations"),
        description=_("Oscar's manual list of recommended products on each product page."),
        phases=[Phase.CONVINCE],
        touchpoints=[Touchpoint.WEB],
        health=recommendations_health,
        provider="oscar",
        order=220,
    ),
    Tool(
        key="oscar_offers",
        name=_("Site offers"),
        description=_("Automatic discounts from Oscar's offer engine, applied to every qualifying basket."),
        phases=[Phase.CONVINCE, Phase.SELL],
        touchpoints=[Touchpoint.WEB],
        health=offers_health,
        metrics=offers_metrics,
        series=_discount_series(False),
        series_title=_("Orders with an offer per day"),
        admin_url_name="dashboard:offer-list",
        provider="oscar",
        order=230,
    ),
    Tool(
        key="oscar_vouchers",
        name=_("Voucher codes"),
        description=_("Discount codes entered in the basket, shared in ads, mails or by hand."),
        phases=[Phase.ATTRACT, Phase.SELL],
        touchpoints=[Touchpoint.WEB, Touchpoint.EMAIL, Touchpoint.AD],
        health=vouchers_health,
        metrics=vouchers_metrics,
        series=_discount_series(True),
        series_title=_("Orders with a code per day"),
        admin_url_name="dashboard:voucher-list",
        provider="oscar",
        order=240,
    ),
    Tool(
        key="oscar_wishlists",
        name=_("Wish lists"),
        description=_("Customers keep products for later."),
        phases=[Phase.RETAIN],
        touchpoints=[Touchpoint.WEB],
        health=wishlists_health,
        provider="oscar",
        order=250,
    ),
    Tool(
        key="oscar_stock_alerts",
        name=_("Back-in-stock alerts"),
        description=_("Oscar mails customers when a product they wait for is back in stock."),
        phases=[Phase.RETAIN],
        touchpoints=[Touchpoint.EMAIL],
        health=alerts_health,
        metrics=alerts_metrics,
        provider="oscar",
        order=260,
    ),
)


def register_all(registry):
    for tool in OSCAR_TOOLS:
        registry.register(tool)
