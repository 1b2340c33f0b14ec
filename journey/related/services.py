"""Rebuilding the related-products lists: read order lines, compute, apply the store's rules, fill, swap in.

``rebuild()`` writes a complete new build next to the live one and swaps it in with one UPDATE in a transaction,
so pages never see a half-built list; if anything fails, the build is marked failed, its rows are deleted and the
previous lists stay live.  What goes into each list, and in which order, is decided by ``lists.assemble`` — the same
function the offline evaluation measures (``evaluation.shipped_lists``).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.reporting import store_time_zone
from ..exceptions import RebuildError
from . import data, engine, lists
from .api import LIVE_BUILD_KEY, forget_live_build
from .models import ListKind, RelatedBuild, RelatedProduct, RelatedRule

logger = logging.getLogger(__name__)
REBUILD_JOB = "rebuild_related_products"  # the job's key (journey.core.jobs): its lease and its state row
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
Order = get_model("order", "Order")
ProductRecommendation = get_model("catalogue", "ProductRecommendation")
StockRecord = get_model("partner", "StockRecord")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB), or 0 where the platform does not say."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB on Linux


@dataclass
class RebuildReport:
    build: RelatedBuild | None = None
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    peak_mb: dict = field(default_factory=dict)  # the process's peak RSS at the end of each stage
    engine_seconds: dict = field(default_factory=dict)  # the compute stage's own stages (engine.build)

    def timed(self, name):
        report = self

        class Timer:
            def __enter__(self):
                self.started = time.perf_counter()

            def __exit__(self, *exc):
                report.seconds[name] = round(time.perf_counter() - self.started, 3)
                report.peak_mb[name] = round(peak_rss_mb(), 1)

        return Timer()

    def __str__(self):
        b = self.build
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        return (f"{b.products:,} products with a list, {b.rows:,} entries from {b.orders:,} orders "
                f"({b.lines:,} lines) in {b.duration:.1f} s ({stages})" + "".join(f"; {n}" for n in self.notes))


def _catalogue() -> lists.Catalogue:
    """Every public product gets a list; only buyable ones (a stock record, in stock where stock is tracked) are
    recommended.  Per product: its first category (by id), its title and its first stock record's price."""
    stock, price = {}, {}
    for product_id, in_stock, allocated, amount in StockRecord.objects.order_by("product_id", "id").values_list(
        "product_id", "num_in_stock", "num_allocated", "price"
    ).iterator(chunk_size=20000):
        free = 1 if in_stock is None else in_stock - (allocated or 0)
        stock[product_id] = max(stock.get(product_id, free), free)
        if product_id not in price and amount is not None:
            price[product_id] = float(amount)
    category_of = {}
    for product_id, category_id in ProductCategory.objects.order_by("product_id", "category_id").values_list(
        "product_id", "category_id"
    ).iterator(chunk_size=20000):
        category_of.setdefault(product_id, category_id)
    ids, buyable, titles = [], [], []
    for product_id, structure, title, parent_title, track, parent_track in Product.objects.filter(
        is_public=True
    ).order_by("pk").values_list(
        "pk", "structure", "title", "parent__title", "product_class__track_stock", "parent__product_class__track_stock"
    ).iterator(chunk_size=20000):
        if structure == Product.PARENT:
            continue
        ids.append(product_id)
        titles.append(title or parent_title or "")
        tracked = track if track is not None else parent_track
        buyable.append(product_id in stock and (not tracked or stock[product_id] > 0))
    return lists.Catalogue(
        product_ids=np.array(ids, dtype=np.int64),
        buyable=np.array(buyable, dtype=bool),
        categories=np.array([category_of.get(p, -1) for p in ids], dtype=np.int64),
        titles=titles,
        prices=np.array([price.get(p, np.nan) for p in ids], dtype=np.float64),
    )


def _rules() -> tuple[lists.Rules, int]:
    manual, pins, pairs, everywhere, broken = {}, {}, {}, set(), 0
    for primary, recommended in ProductRecommendation.objects.order_by("primary_id", "-ranking", "id").values_list(
        "primary_id", "recommendation_id"
    ):
        manual.setdefault(primary, []).append(recommended)
    for action, product_id, related_id in RelatedRule.objects.order_by("position", "id").values_list(
        "action", "product_id", "related_id"
    ):
        if related_id is None:
            broken += 1  # the product was deleted: ignored (flagged in admin)
        elif action == RelatedRule.Action.SUPPRESS_EVERYWHERE:
            everywhere.add(related_id)
        elif action == RelatedRule.Action.SUPPRESS_PAIR:
            pairs.setdefault(product_id, set()).add(related_id)
        elif action == RelatedRule.Action.PIN:
            pins.setdefault(product_id, []).append(related_id)
    return lists.Rules(manual=manual, pins=pins, pairs=pairs, everywhere=everywhere), broken


def rebuild(*, until=None, now=None, progress=None) -> RebuildReport:
    """Compute every list from the order history (orders placed before ``until``) and swap them in."""
    now = now or timezone.now()
    until = until or now
    report = RebuildReport()
    size = int(journey_settings.RELATED_LIST_SIZE)
    window = journey_settings.RELATED_WINDOW_DAYS
    # The window and the recency weights count back from the newest order before ``until`` (in a live shop that is
    # about now; in a shop whose history stopped, or the 2017 demo data, it keeps the history usable).
    newest = Order.objects.filter(date_placed__lt=until).aggregate(newest=Max("date_placed"))["newest"] or until
    since = newest - timedelta(days=window) if window else None
    build = RelatedBuild.objects.create(trained_until=until)
    report.build = build
    started = time.perf_counter()
    try:
        with report.timed("read"):
            order_ids, product_ids, epochs = data.read_order_lines(since=since, until=until)
        with report.timed("catalogue"):
            catalogue = _catalogue()
            rules, broken = _rules()
        if progress:
            progress(f"read {len(order_ids):,} order lines")
        policy = lists.ListPolicy(size=size, similar=bool(journey_settings.RELATED_SIMILAR_PRODUCTS))
        with report.timed("compute"):
            top = engine.build(
                order_ids, product_ids, epochs, now=int(newest.timestamp()),
                half_life_days=journey_settings.RELATED_HALF_LIFE_DAYS,
                min_support=int(journey_settings.RELATED_MIN_SUPPORT), k=size + lists.COMPUTE_MARGIN,
            )
        report.engine_seconds = {name: round(value, 3) for name, value in top.params.get("seconds", {}).items()}
        if progress:
            progress(f"computed pairs for {len(top.product_ids):,} products")
        with report.timed("assemble"):
            columns = lists.assemble(top, catalogue, rules, policy).columns(ListKind.BOUGHT_TOGETHER)
        with report.timed("write"):
            rows = data.write_entries(RelatedProduct, build.pk, *columns)
        with report.timed("analyse"):
            data.analyse(RelatedProduct)
        with report.timed("swap"):
            went_live = _swap_in(build)
    except Exception as exc:
        logger.exception("journey: related-products rebuild %s failed", build.pk)
        _delete_entries([build.pk])
        RelatedBuild.objects.filter(pk=build.pk).update(status=RelatedBuild.Status.FAILED, error=repr(exc)[:2000],
                                                        finished_at=timezone.now())
        raise RebuildError(f"The related-products rebuild failed ({exc}); the previous lists stay live.") from exc
    if not len(order_ids):
        report.notes.append("no orders to learn from: every list is a fallback (similar products, then the "
                            "category's and the shop's best sellers)")
    if broken:
        report.notes.append(f"{broken} rule(s) point at a deleted product and were ignored")
    if not went_live:
        report.notes.append("a newer build went live while this one was computed: it stays live and this one was "
                            "discarded")
    build.status = RelatedBuild.Status.LIVE if went_live else RelatedBuild.Status.SUPERSEDED
    build.finished_at = timezone.now()
    build.duration = round(time.perf_counter() - started, 3)
    build.orders = int(len(np.unique(order_ids))) if len(order_ids) else 0
    build.lines = int(len(order_ids))
    build.products = int(len(np.unique(columns[0]))) if rows else 0
    build.rows = rows
    build.stats = {"seconds": report.seconds, "compute_seconds": report.engine_seconds, "peak_mb": report.peak_mb,
                   "notes": report.notes, "window_days": window,
                   "half_life_days": journey_settings.RELATED_HALF_LIFE_DAYS,
                   "min_support": journey_settings.RELATED_MIN_SUPPORT,
                   "similar_products": bool(journey_settings.RELATED_SIMILAR_PRODUCTS)}
    # The figures only: the status is the swap's (a later rebuild may already have superseded this one).
    RelatedBuild.objects.filter(pk=build.pk).update(
        finished_at=build.finished_at, duration=build.duration, orders=build.orders, lines=build.lines,
        products=build.products, rows=build.rows, stats=build.stats,
    )
    with report.timed("cleanup"):
        try:
            cleanup()
        except DatabaseError:  # the new lists are live; the next rebuild cleans up again
            logger.exception("journey: cleaning up old related-products builds failed")
    return report


def _lock_swaps():
    """Serialise swaps: lock the rebuild job's state row (it always exists once created; a row lock on PostgreSQL,
    SQLite serialises writers anyway)."""
    from ..core.models import JobState

    JobState.objects.get_or_create(key=REBUILD_JOB, defaults={"next_run_at": timezone.now()})
    JobState.objects.select_for_update().filter(key=REBUILD_JOB).values_list("pk", flat=True).first()


def _swap_in(build) -> bool:
    """Make ``build`` live unless a build started after it is live already (then ``build`` is superseded at once and
    its rows deleted).  Builds are ordered by id: a later-started build has a higher id."""
    Status = RelatedBuild.Status
    with transaction.atomic():
        _lock_swaps()
        live_id = RelatedBuild.objects.filter(status=Status.LIVE).values_list("pk", flat=True).first()
        if live_id is not None and live_id > build.pk:
            if not RelatedBuild.objects.filter(pk=build.pk, status=Status.BUILDING).update(status=Status.SUPERSEDED):
                raise RebuildError(f"build {build.pk} was removed as abandoned while it was computed")
            _delete_entries([build.pk])
            return False
        RelatedBuild.objects.filter(status=Status.LIVE).update(status=Status.SUPERSEDED)
        if not RelatedBuild.objects.filter(pk=build.pk, status=Status.BUILDING).update(status=Status.LIVE):
            raise RebuildError(f"build {build.pk} was removed as abandoned while it was computed")
        # Pages switch to the new lists (cached lists are keyed by build) once this commits.
        transaction.on_commit(lambda: (cache.set(LIVE_BUILD_KEY, build.pk, 60), forget_live_build()))
    return True


def cleanup(now=None) -> int:
    """Delete the builds nobody will read again: finished ones that are not live (superseded or failed), and
    "building" ones older than RELATED_ABANDONED_AFTER_MINUTES (their process was killed).  A build still being
    computed elsewhere is left alone.  Safe to run concurrently (deleting a deleted build deletes nothing)."""
    Status = RelatedBuild.Status
    now = now or timezone.now()
    abandoned_before = now - timedelta(minutes=int(journey_settings.RELATED_ABANDONED_AFTER_MINUTES))
    finished = RelatedBuild.objects.filter(status__in=[Status.SUPERSEDED, Status.FAILED])
    abandoned = RelatedBuild.objects.filter(status=Status.BUILDING, started_at__lt=abandoned_before)
    return _delete_builds(finished) + _delete_builds(abandoned)


def _delete_entries(build_ids):
    # One DELETE statement.  QuerySet.delete() would load all the rows: receivers that listen to every model's
    # post_delete (haystack's realtime processor, in Oscar shops) defeat Django's fast delete (13 s vs 0.3 s).
    RelatedProduct.objects.filter(build_id__in=build_ids)._raw_delete(RelatedProduct.objects.db)


def _delete_builds(builds) -> int:
    ids = list(builds.values_list("pk", flat=True))
    if ids:
        _delete_entries(ids)
        RelatedBuild.objects.filter(pk__in=ids).delete()
    return len(ids)


def rebuild_job(via="tick"):
    """The nightly job: rebuild once a day, at or after RELATED_REBUILD_HOUR in the store's time zone."""


    tz = store_time_zone()
    now = timezone.now()
    local = now.astimezone(tz)
    live = RelatedBuild.objects.filter(status=RelatedBuild.Status.LIVE).first()
    due_today = local.replace(hour=int(journey_settings.RELATED_REBUILD_HOUR), minute=0, second=0, microsecond=0)
    if live and (local < due_today or live.started_at >= due_today):
        return "not due: the lists were rebuilt today"
    return str(rebuild(now=now))
