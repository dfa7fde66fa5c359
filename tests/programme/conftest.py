"""Programme fixtures: the booking tests' clock (Monday 1 March 2027, 09:00 in Paris), the app
on it and their furnished fablab, reused as they are."""

from __future__ import annotations

from tests.booking.conftest import api, clock, lab

__all__ = ["api", "clock", "lab"]
