"""The background prefetch: order, overlap, bounded memory, errors, early stop."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from interp.sweeps.prefetch import prefetched


class Item:
    """A stand-in for a loaded model; counts how many are alive."""

    alive = 0
    lock = threading.Lock()

    def __init__(self, key):
        self.key = key
        with Item.lock:
            Item.alive += 1
        weakref.finalize(self, Item._dead)

    @staticmethod
    def _dead():
        with Item.lock:
            Item.alive -= 1


@pytest.mark.parametrize("ahead", [0, 1, 2])
def test_items_come_in_order_and_at_most_ahead_plus_one_are_alive(ahead):
    Item.alive = 0
    peak = 0

    def load(key):
        nonlocal peak
        time.sleep(0.01)
        item = Item(key)
        with Item.lock:
            peak = max(peak, Item.alive)
        return item

    seen = []
    for item in prefetched(range(8), load, ahead=ahead):
        seen.append(item.key)
        time.sleep(0.02)  # the caller is slower than the loader: the loader would run ahead if it could
        ref = weakref.ref(item)
        del item
        assert ref() is None  # the generator kept no reference to the item it handed out
    assert seen == list(range(8))
    assert peak <= ahead + 1
    gc.collect()
    assert Item.alive == 0


def test_loading_overlaps_the_callers_work():
    def load(key):
        time.sleep(0.05)
        return key

    start = time.perf_counter()
    for _ in prefetched(range(6), load, ahead=1):
        time.sleep(0.05)
    overlapped = time.perf_counter() - start
    # sequential would take 6 * 0.1 s; overlapped about 7 * 0.05 s
    assert overlapped < 0.5


def test_a_load_error_is_raised_at_its_item_after_the_items_before():
    def load(key):
        if key == 2:
            raise ValueError("broken checkpoint 2")
        return key

    seen = []
    with pytest.raises(ValueError, match="broken checkpoint 2"):
        for key in prefetched(range(5), load, ahead=1):
            seen.append(key)
    assert seen == [0, 1]


def test_stopping_early_ends_the_loader_thread():
    loaded = []

    def load(key):
        loaded.append(key)
        return key

    before = threading.active_count()
    gen = prefetched(range(100), load, ahead=1)
    assert next(gen) == 0
    gen.close()
    time.sleep(0.3)
    assert threading.active_count() == before
    assert len(loaded) <= 3
