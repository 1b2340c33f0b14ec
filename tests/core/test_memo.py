"""Process memos: a value kept for PROCESS_CACHE_SECONDS in front of the shared cache."""

import pytest
from django.core.cache import cache

from journey.core.memo import ProcessMemo, clear_all
from journey.related import api


def test_a_memo_keeps_its_value_until_cleared_and_asks_every_time_when_turned_off(settings):
    loads = []
    memo = ProcessMemo()

    def load():
        loads.append(1)
        return len(loads)

    settings.JOURNEY = {**settings.JOURNEY, "PROCESS_CACHE_SECONDS": 60}
    assert [memo.get("k", load), memo.get("k", load)] == [1, 1]
    clear_all()
    assert memo.get("k", load) == 2
    settings.JOURNEY = {**settings.JOURNEY, "PROCESS_CACHE_SECONDS": 0}
    assert [memo.get("k", load), memo.get("k", load)] == [3, 4]


def test_the_live_build_is_read_once_per_memo_period_and_again_after_a_swap_in_this_process(settings):
    settings.JOURNEY = {**settings.JOURNEY, "PROCESS_CACHE_SECONDS": 60}
    cache.set(api.LIVE_BUILD_KEY, 7)
    assert api.live_build_id() == 7
    cache.set(api.LIVE_BUILD_KEY, 8)  # another process swapped: seen after the memo period
    assert api.live_build_id() == 7
    api.forget_live_build()  # what a swap in this process does
    assert api.live_build_id() == 8


def test_a_bounded_memo_keeps_the_newest_entries(settings):
    settings.JOURNEY = {**settings.JOURNEY, "PROCESS_CACHE_SECONDS": 60}
    memo = ProcessMemo(max_entries=2)
    for key in ("a", "b", "c"):
        memo.get(key, lambda key=key: key.upper())
    assert len(memo) == 2
    assert memo.get("a", lambda: "again") == "again"  # the oldest went first
    assert memo.get("c", lambda: "again") == "C"


@pytest.mark.django_db
def test_a_product_pages_related_list_is_read_from_the_shared_cache_once_per_memo_period(settings, client):
    """Issue 17: the rendered list (anonymous visitors) was fetched from Redis on every page view."""
    from unittest import mock

    from oscar.test.factories import create_product

    from journey.related import services

    settings.JOURNEY = {**settings.JOURNEY, "PROCESS_CACHE_SECONDS": 60}
    product = create_product(num_in_stock=5)
    create_product(num_in_stock=5)
    services.rebuild()
    with mock.patch.object(cache, "get", wraps=cache.get) as get:
        pages = [client.get(product.get_absolute_url()) for _ in range(3)]
    html_reads = [c for c in get.call_args_list if str(c.args[0]).startswith("journey:related-html:")]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert len(html_reads) == 1 and b"journey-related" in pages[2].content
