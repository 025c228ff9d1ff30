"""Load the next item in a background thread while the caller works on the current one.

    for model in prefetched(steps, load, ahead=1):
        rows = evaluate(model)
        del model            # drop the reference (and collect it) before asking for the next item
        write(rows)

At most ``ahead + 1`` items are alive at once: the one the caller holds and ``ahead`` loaded
(or loading) after it. The thread starts loading item k+2 only once the caller has asked for
item k+1, i.e. once it is done with item k, so memory stays flat over a long sweep. The
generator itself keeps no reference to an item it has handed out. An error raised while
loading is re-raised in the caller at that item, after the items before it. ``ahead=0`` loads
each item in the caller's thread when it is asked for (no overlap).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger(__name__)

_DONE = object()
_POLL_S = 0.1  # how often a waiting loader thread checks whether the caller has stopped


def prefetched(keys: Iterable[K], load: Callable[[K], V], *, ahead: int = 1) -> Iterator[V]:
    """Yield ``load(key)`` for each key in order, loading up to ``ahead`` items in advance."""
    if ahead < 0:
        raise ValueError(f"ahead must be >= 0, got {ahead}")
    if ahead == 0:
        for key in keys:
            yield load(key)
        return
    yield from _threaded(list(keys), load, ahead)


def _threaded(keys: list[K], load: Callable[[K], V], ahead: int) -> Iterator[V]:
    slots = threading.Semaphore(ahead + 1)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()

    def loader() -> None:
        for key in keys:
            while not slots.acquire(timeout=_POLL_S):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            try:
                value = load(key)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                results.put((key, None, err))
                return
            results.put((key, value, None))
            del value
        results.put(_DONE)

    thread = threading.Thread(target=loader, name="checkpoint-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            entry = results.get()
            if entry is _DONE:
                return
            box = list(entry)  # [key, value, error]: handed out without a reference left here
            del entry
            if box[2] is not None:
                raise box[2]
            yield box.pop(1)
            slots.release()  # the caller asked for the next item: it is done with this one
    finally:
        stop.set()
        # Drop items loaded ahead that the caller will never see; a load in progress finishes
        # in its (daemon) thread and is dropped when the thread ends.
        while True:
            try:
                results.get_nowait()
            except queue.Empty:
                break
        thread.join(timeout=_POLL_S * 2)
        if thread.is_alive():
            log.debug("prefetch thread still loading; leaving it to finish in the background")
