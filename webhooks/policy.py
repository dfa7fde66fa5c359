"""When deliveries are tried again, and when a subscription that keeps failing is disabled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

# The first retry after this long, each wait twice the one before, none longer than the cap,
# and no attempt later than the horizon after the first one.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=12)
HORIZON = timedelta(days=3)


def backoff(
    first: timedelta = FIRST_RETRY,
    longest: timedelta = LONGEST_WAIT,
    horizon: timedelta = HORIZON,
) -> tuple[timedelta, ...]:
    """The waits before the second, third, ... attempts: doubling from ``first``, capped at
    ``longest``; the last attempt comes ``horizon`` after the first."""
    waits: list[timedelta] = []
    total = timedelta(0)
    wait = first
    while total + wait <= horizon:
        waits.append(wait)
        total += wait
        wait = min(wait * 2, longest)
    if total < horizon:
        waits.append(horizon - total)
    return tuple(waits)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are sent and retried (tests shorten the waits)."""

    retry_waits: tuple[timedelta, ...] = field(default_factory=backoff)
    # One HTTP attempt: connecting, sending and the answer's headers.
    timeout: timedelta = timedelta(seconds=10)
    # A delivery that fails for good disables its subscription when no attempt to it has
    # succeeded for this long (a delivery failing all its attempts takes the whole horizon).
    disable_after: timedelta = HORIZON

    @property
    def attempts(self) -> int:
        """How many times a delivery is tried in all."""
        return len(self.retry_waits) + 1

    def wait_after(self, attempt: int) -> timedelta | None:
        """The wait before the attempt after ``attempt`` (1-based); None after the last."""
        return self.retry_waits[attempt - 1] if attempt <= len(self.retry_waits) else None
