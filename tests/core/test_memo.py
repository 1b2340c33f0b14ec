"""Process memos: a value kept for PROCESS_CACHE_SECONDS in front of the shared cache."""

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
