"""The background prefetch: order, overlap, bounded memory, errors, early stop."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from interp.checkpoint_sweeps.prefetch import prefetched

#: How long a test waits for an event that should happen at once before it gives up (and fails).
WAIT_S = 10.0


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


class EventLog:
    """A fake checkpoint source and evaluation that record, in order, when each load and each
    evaluation starts and ends (no clocks: only the order of events is checked)."""

    def __init__(self):
        self.events: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def record(self, what: str, key: int) -> None:
        with self.changed:
            self.events.append((what, key))
            self.changed.notify_all()

    def wait_for(self, event: tuple[str, int], timeout: float = WAIT_S) -> bool:
        """Block until ``event`` was recorded (True) or ``timeout`` seconds passed (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: event in self.events, timeout=timeout)

    def at(self, event: tuple[str, int]) -> int:
        return self.events.index(event)

    def load(self, key: int) -> int:
        self.record("load_start", key)
        self.record("load_end", key)
        return key


def test_loading_the_next_item_overlaps_the_callers_work_on_this_one():
    log = EventLog()
    n = 6
    for key in prefetched(range(n), log.load, ahead=1):
        log.record("eval_start", key)
        if key + 1 < n:
            # The evaluation of this item holds on until the next load has started. With the
            # background loader that happens at once; a loader that waited for the caller would
            # never start it, and the wait would give up after WAIT_S (and the test fail below).
            log.wait_for(("load_start", key + 1))
        log.record("eval_end", key)
    for key in range(n - 1):
        assert log.at(("load_start", key + 1)) < log.at(("eval_end", key)), log.events
        # ... but no further ahead: item k+2 is loaded only once the caller is done with item k.
        if key + 2 < n:
            assert log.at(("load_start", key + 2)) > log.at(("eval_end", key)), log.events
    assert [k for what, k in log.events if what == "eval_start"] == list(range(n))


def test_ahead_zero_loads_each_item_when_asked_for():
    log = EventLog()
    for key in prefetched(range(4), log.load, ahead=0):
        log.record("eval_start", key)
        log.record("eval_end", key)
    assert log.events == [(what, k) for k in range(4) for what in ("load_start", "load_end", "eval_start", "eval_end")]


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

    before = set(threading.enumerate())
    gen = prefetched(range(100), load, ahead=1)
    assert next(gen) == 0
    started = set(threading.enumerate()) - before
    assert len(started) == 1  # the loader thread
    gen.close()
    for thread in started:
        thread.join(timeout=WAIT_S)
        assert not thread.is_alive()
    assert len(loaded) <= 3
