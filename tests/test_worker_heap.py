"""A serving worker's heap: what startup built is frozen, and the garbage collector runs when
garbage piles up rather than every few requests (mutualab.app.freeze_startup_heap)."""

from __future__ import annotations

import gc
import weakref

from litestar.testing import AsyncTestClient

from kernel.db import Database
from kernel.settings import Settings
from mutualab.app import SERVING_GC_THRESHOLD, create_app
from mutualab.composition import build_runtime


class Node:
    """An object that can be part of a reference cycle and be watched by a weak reference."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    """Two nodes that refer to each other: garbage only the collector frees."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first


async def test_a_serving_app_collects_garbage_when_it_piles_up(
    settings: Settings, database: Database
) -> None:
    app = create_app(runtime=build_runtime(settings, database))
    before = gc.get_threshold()
    async with AsyncTestClient(app, base_url="http://127.0.0.1"):  # its startup and shutdown
        assert gc.get_freeze_count() > 0  # startup's heap is out of the collector's rounds
        assert gc.get_threshold() == (SERVING_GC_THRESHOLD, *before[1:])
        # Cycles are still freed without anybody calling gc.collect(), once enough pile up.
        watched = weakref.ref(cycle())
        for _ in range(SERVING_GC_THRESHOLD):
            cycle()
        assert watched() is None
    # Stopped inside a longer-lived process, the app leaves the collector as it found it.
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
