"""The current instant, injectable so tests can fix or advance time instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from litestar.datastructures import State

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real current instant, in UTC."""
    return datetime.now(UTC)


def provide_clock(state: State) -> Clock:
    """Dependency: the application's clock (``app.state.clock``)."""
    clock: Clock = state.clock
    return clock
