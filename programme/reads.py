"""Sessions as the API shows them (with their place's name, town and zone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from programme.models import ProgrammeSession, SessionStatus
from programme.repository import ProgrammeRepository
from programme.schemas import Kind, ResourceUse, SessionRead, TicketPrice
from resources.models import Place


def session_read(row: ProgrammeSession, place: Place, now: datetime) -> SessionRead:
    """One session, read at ``now``."""
    assert row.id is not None
    scheduled = row.status == SessionStatus.SCHEDULED
    return SessionRead(
        id=row.id,
        place_id=row.place_id,
        place_name=place.name,
        town=place.town,
        series_key=row.series_key,
        title=row.title,
        description=row.description,
        kind=cast(Kind, row.kind),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=place.timezone,
        seats=row.seats,
        seats_left=row.seats - row.seats_taken if scheduled else 0,
        min_attendance=row.min_attendance,
        registration_deadline=row.registration_deadline,
        minimum_check_at=row.minimum_check_at,
        registration_open=scheduled and now < row.registration_deadline,
        training_id=row.training_id,
        resources=[ResourceUse.model_validate(r) for r in row.resources],
        status="scheduled" if scheduled else "cancelled",
        status_reason=row.status_reason,
        free=not row.priced,
        prices=[TicketPrice.model_validate(p) for p in row.ticket_prices],
    )


async def session_reads(
    repo: ProgrammeRepository, rows: Sequence[ProgrammeSession], now: datetime
) -> list[SessionRead]:
    """Sessions, their places read once."""
    places = await repo.places([r.place_id for r in rows])
    return [session_read(r, places[r.place_id], now) for r in rows]
