"""Paid bookings: billing's fixtures (a priced fablab on the local Stripe peer), an empty queue."""

from __future__ import annotations

import pytest

from kernel.db import Database
from tests.billing.conftest import api, clock, lab, stripe_settings

__all__ = ["api", "clock", "lab", "stripe_settings"]


@pytest.fixture(autouse=True)
def _empty_queue_first(queue: Database) -> None:
    """The queue is emptied before the app and the lab exist (their events are the test's)."""
