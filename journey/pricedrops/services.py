"""Price-drop alerts: which customers hear that a product they keep got cheaper (see docs/browse.md#price-drops).

The periodic job (``scan``) works in a few set-based statements, in one transaction under a PostgreSQL advisory
lock (safe to run twice or at once):

1. **record** — one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per source: each product a registered customer
   has in an open basket (at the price of the basket line, what they saw when they added it) or in a wish list (at
   its stock record's price when journey first sees it);
2. **forget** what is in no open basket and no wish list any more, and **re-arm** a watch whose price came back
   up to the price seen (the next fall is a new drop);
3. **select** the drops: the stock record's price now at least ``PRICE_DROP_MIN_SHARE`` below the price seen (or
   below the price of the last alert), the product public;
4. per customer, the available products among them (the shop's strategy), marketing consent, the suppression list:
   one message listing all their drops (``schedule_many``: one INSERT), and each alerted watch remembers the price
   of its alert — so a drop is told once, and a further fall of the same share is a new drop.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import audience, outbox, suppression
from .models import PriceWatch

logger = logging.getLogger(__name__)
Basket = get_model("basket", "Basket")
BasketLine = get_model("basket", "Line")
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
WishList = get_model("wishlists", "WishList")
WishListLine = get_model("wishlists", "Line")
Selector = get_class("partner.strategy", "Selector")

TOOL = "price_drop"  # the registry key, the outbox messages' tool
MAIL_KIND = "price_drop.alert"
SCAN_LOCK = 0x4A4F5001  # PostgreSQL advisory lock of the scan ("JOP" + 1)


@dataclass
class ScanReport:
    recorded: int = 0
    forgotten: int = 0
    drops: int = 0
    scheduled: int = 0

    def __str__(self):
        return (f"{self.recorded} price(s) recorded, {self.drops} drop(s) found, {self.scheduled} alert(s) "
                f"scheduled")


def min_share() -> Decimal:
    share = Decimal(str(journey_settings.PRICE_DROP_MIN_SHARE))
    return min(max(share, Decimal("0.01")), Decimal("0.99"))


def _tables():
    return {"w": PriceWatch._meta.db_table, "l": BasketLine._meta.db_table, "b": Basket._meta.db_table,
            "s": StockRecord._meta.db_table, "p": Product._meta.db_table, "wl": WishList._meta.db_table,
            "wi": WishListLine._meta.db_table}


def record_prices(now) -> int:
    """Step 1: a watch for every (customer, product) of an open basket or a wish list not watched yet."""
    t = _tables()
    now_p = connection.ops.adapt_datetimefield_value(now)
    columns = "user_id, product_id, stockrecord_id, source, recorded_price, alerted_price, alerted_at, created_at"
    from_baskets = f"""
        INSERT INTO {t['w']} ({columns})
        SELECT b.owner_id, l.product_id, MIN(l.stockrecord_id), %s, MIN(l.price_excl_tax), NULL, NULL, %s
        FROM {t['l']} l JOIN {t['b']} b ON b.id = l.basket_id
        WHERE b.status = %s AND b.owner_id IS NOT NULL AND l.product_id IS NOT NULL
          AND l.stockrecord_id IS NOT NULL AND l.price_excl_tax IS NOT NULL
        GROUP BY b.owner_id, l.product_id
        ON CONFLICT (user_id, product_id) DO NOTHING"""  # noqa: S608 - table names are ours
    from_wishlists = f"""
        INSERT INTO {t['w']} ({columns})
        SELECT wl.owner_id, i.product_id, MIN(s.id), %s, MIN(s.price), NULL, NULL, %s
        FROM {t['wi']} i JOIN {t['wl']} wl ON wl.id = i.wishlist_id
        JOIN {t['s']} s ON s.product_id = i.product_id
        WHERE i.product_id IS NOT NULL AND s.price IS NOT NULL
          AND s.id = (SELECT MIN(s2.id) FROM {t['s']} s2 WHERE s2.product_id = i.product_id)
        GROUP BY wl.owner_id, i.product_id
        ON CONFLICT (user_id, product_id) DO NOTHING"""  # noqa: S608 - table names are ours
    with connection.cursor() as cursor:
        cursor.execute(from_baskets, [PriceWatch.Source.BASKET, now_p, Basket.OPEN])
        recorded = max(cursor.rowcount, 0)
        cursor.execute(from_wishlists, [PriceWatch.Source.WISHLIST, now_p])
        recorded += max(cursor.rowcount, 0)
    return recorded


def forget_and_rearm() -> int:
    """Step 2: forget watches of products in no open basket and no wish list of their customer any more; re-arm
    those whose price came back up to the price seen.  Returns how many were forgotten."""
    t = _tables()
    forget = f"""
        DELETE FROM {t['w']}
        WHERE NOT EXISTS (SELECT 1 FROM {t['l']} l JOIN {t['b']} b ON b.id = l.basket_id
                          WHERE b.owner_id = {t['w']}.user_id AND l.product_id = {t['w']}.product_id
                            AND b.status = %s)
          AND NOT EXISTS (SELECT 1 FROM {t['wi']} i JOIN {t['wl']} wl ON wl.id = i.wishlist_id
                          WHERE wl.owner_id = {t['w']}.user_id AND i.product_id = {t['w']}.product_id)
    """  # noqa: S608 - table names are ours
    rearm = f"""
        UPDATE {t['w']} SET alerted_price = NULL
        WHERE alerted_price IS NOT NULL
          AND (SELECT s.price FROM {t['s']} s WHERE s.id = {t['w']}.stockrecord_id) >= recorded_price
    """  # noqa: S608 - table names are ours
    with connection.cursor() as cursor:
        cursor.execute(forget, [Basket.OPEN])
        forgotten = max(cursor.rowcount, 0)
        cursor.execute(rearm)
    return forgotten


def find_drops() -> list[tuple]:
    """Step 3: ``(watch id, user id, product id, price before, price now)`` of every drop, by customer."""
    t = _tables()
    sql = f"""
        SELECT w.id, w.user_id, w.product_id, COALESCE(w.alerted_price, w.recorded_price), s.price
        FROM {t['w']} w
        JOIN {t['s']} s ON s.id = w.stockrecord_id
        JOIN {t['p']} p ON p.id = w.product_id
        WHERE p.is_public AND s.price IS NOT NULL
          AND s.price <= COALESCE(w.alerted_price, w.recorded_price) * %s
        ORDER BY w.user_id, w.id"""  # noqa: S608 - table names are ours
    with connection.cursor() as cursor:
        cursor.execute(sql, [Decimal(1) - min_share()])
        return [(wid, uid, pid, Decimal(str(before)).quantize(Decimal("0.01")),
                 Decimal(str(now)).quantize(Decimal("0.01"))) for wid, uid, pid, before, now in cursor.fetchall()]


def available_ids(product_ids, strategy=None) -> set:
    """The given products that are public and available to buy (the shop's strategy)."""
    strategy = strategy or Selector().strategy()
    products = Product.objects.filter(pk__in=set(product_ids), is_public=True).prefetch_related("stockrecords")
    return {p.pk for p in products if strategy.fetch_for_product(p).availability.is_available_to_buy}


def _schedule(drops, now, report):
    """Step 4 (see the module docstring)."""
    by_user: dict[int, list[tuple]] = {}
    for drop in drops:
        by_user.setdefault(drop[1], []).append(drop)
    users = {u["id"]: u for u in get_user_model().objects.filter(id__in=by_user, is_active=True, is_staff=False)
             .exclude(email="").values("id", "email")}
    emails = {uid: suppression.normalize(u["email"]) for uid, u in users.items()}
    suppressed = suppression.suppressed_among(emails.values()) if emails else set()
    allowed = audience.marketing_allowed_users(users)
    available = available_ids({d[2] for d in drops})
    languages = audience.languages_for(users)
    limit = journey_settings.PRICE_DROP_MAX_PRODUCTS
    mails, alerted = [], []
    for user_id, rows in by_user.items():
        if user_id not in allowed or user_id not in emails or emails[user_id] in suppressed:
            continue
        rows = sorted((r for r in rows if r[2] in available), key=lambda r: (r[4] / r[3], r[0]))[:limit]
        if not rows:
            continue
        digest = hashlib.blake2b(";".join(f"{r[0]}:{r[4]}" for r in sorted(rows)).encode(), digest_size=8)
        mails.append(outbox.NewMessage(
            kind=MAIL_KIND, subject_key=f"price_drop:user:{user_id}:{digest.hexdigest()}", step=0,
            to_email=emails[user_id], due_at=now, user_id=user_id, language=languages.get(user_id, ""),
            context={"user_id": user_id, "drops": [{"product_id": r[2], "was": str(r[3]), "now": str(r[4])}
                                                   for r in rows]},
        ))
        alerted += rows
    report.scheduled += outbox.schedule_many(mails, now=now)
    by_price: dict[Decimal, list[int]] = {}
    for watch_id, _uid, _pid, _before, price in alerted:
        by_price.setdefault(price, []).append(watch_id)
    for price, watch_ids in by_price.items():  # one UPDATE per distinct new price
        PriceWatch.objects.filter(pk__in=watch_ids).update(alerted_price=price, alerted_at=now)


def scan(now=None) -> ScanReport:
    """Record prices, find drops, schedule the alerts.  Idempotent, safe to run twice or concurrently."""
    now = now or timezone.now()
    report = ScanReport()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCAN_LOCK])
        report.recorded = record_prices(now)
        report.forgotten = forget_and_rearm()
        drops = find_drops()
        report.drops = len(drops)
        if drops and journey_settings.PRICE_DROP_ALERTS:
            _schedule(drops, now, report)
        if connection.vendor == "postgresql" and report.recorded > 10000:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {PriceWatch._meta.db_table}")  # noqa: S608 - our table
    return report


def scan_job(via="tick"):
    """The ``scan_price_drops`` job."""
    return str(scan())
