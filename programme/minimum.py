"""Sessions below their minimum attendance, cancelled by the workers at their check time.

Each session names when its minimum is checked (``minimum_check_at``, e.g. 48 hours before the
start). The periodic task ``programme.cancel_below_minimum`` takes those whose time has come,
locked (another worker skips them), and cancels them as the place would
(:func:`programme.sessions.cancel_session`): registrations cancelled, resources released, one
``session.cancelled`` event keyed by the session, so every registrant is told once. Run twice,
or twice at once, it finds nothing more to do: they are no longer scheduled.
"""

from __future__ import annotations

from kernel.db import Database
from programme.repository import ProgrammeRepository
from programme.service import ProgrammeServices
from programme.sessions import cancel_session

BATCH = 200


async def cancel_below_minimum(database: Database, programme: ProgrammeServices) -> int:
    """Cancel the sessions below their minimum at their check time; how many."""
    now = programme.clock()
    async with database.writer() as session, session.begin():
        repo = ProgrammeRepository(session)
        occupancy = programme.booking.occupancy(session)
        cancelled = 0
        for session_id in await repo.below_minimum(now, BATCH):
            row = await repo.get(session_id, lock=True)
            if row is None or row.seats_taken >= row.min_attendance:
                continue
            if await cancel_session(repo, occupancy, row, now, "", below_minimum=True):
                cancelled += 1
        return cancelled
