"""What statistics are counted from, read in a few plain statements: the bookings of a
period (by their local start, in each place's own zone), their payments, the resources and
their units, when each person first booked, and the programme's sessions with their seats. A
place's own bookings of the resources its sessions occupy (``booking.place_use``) are not
people's activity: left out of the bookings (the sessions are counted as sessions).

``place_ids`` None means every place (the platform's administrators).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.models import PaymentStatus

# A payment that never took money nor owes any counts for nothing.
UNBILLED = (
    PaymentStatus.PENDING,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
    PaymentStatus.FAILED,
    PaymentStatus.CANCELLED,
    PaymentStatus.FREE,
)


_BOOKINGS = text("""
SELECT b.id, b.place_id, b.booker_user_id, b.user_type_code, b.status, b.starts_at, b.ends_at,
       b.series_id, CAST(b.starts_at AT TIME ZONE p.timezone AS date) AS local_day,
       COALESCE((SELECT json_agg(json_build_array(i.resource_id, i.quantity) ORDER BY i.id)
                 FROM booking_item i WHERE i.booking_id = b.id), '[]') AS items
FROM booking b JOIN place p ON p.id = b.place_id
WHERE (CAST(:all_places AS boolean) OR b.place_id = ANY(:place_ids))
  AND NOT b.place_use
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) < :end
ORDER BY b.starts_at, b.id
""")

_PAYMENTS = text("""
SELECT pay.booking_id, pay.method, pay.user_type_code, pay.status, pay.amount_cents,
       pay.refunded_cents, pay.wallet_cents, pay.wallet_refunded_cents,
       pay.quote -> 'lines' AS lines
FROM payment pay JOIN booking b ON b.id = pay.booking_id JOIN place p ON p.id = b.place_id
WHERE (CAST(:all_places AS boolean) OR b.place_id = ANY(:place_ids))
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) < :end
  AND pay.status <> ALL(:unbilled)
ORDER BY pay.booking_id
""")

_FIRST_BOOKINGS = text("""
SELECT b.booker_user_id, MIN(CAST(b.starts_at AT TIME ZONE p.timezone AS date)) AS first_day
FROM booking b JOIN place p ON p.id = b.place_id
WHERE (CAST(:all_places AS boolean) OR b.place_id = ANY(:place_ids))
  AND b.status = 'confirmed'
  AND NOT b.place_use
  AND b.booker_user_id = ANY(:user_ids)
GROUP BY b.booker_user_id
""")

# The sessions of the programme whose local start day is in the period, with the seats
# registered (live registrations) and the seats marked present on the sign-in sheet.
_SESSIONS = text("""
SELECT s.id, s.place_id, s.kind, s.status, s.starts_at, s.ends_at, s.seats,
       COALESCE(SUM(r.seats) FILTER (WHERE r.status = 'registered'), 0) AS registered,
       COALESCE(SUM(r.seats) FILTER (WHERE r.status = 'registered'
                                       AND r.attended_at IS NOT NULL), 0) AS attended
FROM programme_session s JOIN place p ON p.id = s.place_id
LEFT JOIN programme_registration r ON r.session_id = s.id
WHERE (CAST(:all_places AS boolean) OR s.place_id = ANY(:place_ids))
  AND CAST(s.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(s.starts_at AT TIME ZONE p.timezone AS date) < :end
GROUP BY s.id
ORDER BY s.starts_at, s.id
""")

_RESOURCES = text("""
SELECT r.id, r.place_id, p.name AS place_name, r.name, r.kind, r.active,
       (SELECT count(*) FROM resource_unit u WHERE u.resource_id = r.id AND u.active) AS units
FROM resource r JOIN place p ON p.id = r.place_id
WHERE CAST(:all_places AS boolean) OR r.place_id = ANY(:place_ids)
ORDER BY r.place_id, r.id
""")


@dataclass(frozen=True, slots=True)
class BookingFact:
    """One booking of the period and what it took: (resource id, units) pairs."""

    id: int
    place_id: int
    booker_user_id: int
    user_type_code: str
    status: str
    starts_at: datetime
    ends_at: datetime
    series_id: int | None
    items: tuple[tuple[int, int], ...]
    local_day: date | None = None  # the start's day in its place's zone

    @property
    def minutes(self) -> int:
        """How long it lasts, in whole minutes."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """What a booking of the period was billed, net of refunds, and how."""

    booking_id: int
    method: str
    user_type_code: str
    status: str
    # Net of refunds, whatever paid it: the method and the wallet (a means of payment too).
    net_cents: int
    # Of ``net_cents``, what the person's wallet paid (net of what it got back).
    wallet_cents: int
    # Each quote line's total incl. VAT, in the order of the booking's items.
    line_totals: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ResourceFact:
    """A resource, its place and how many units it has in service."""

    id: int
    place_id: int
    place_name: str
    name: str
    kind: str
    active: bool
    units: int


@dataclass(frozen=True, slots=True)
class SessionFact:
    """A session of the programme in the period: its seats, those registered and present."""

    id: int
    place_id: int
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    seats: int
    registered: int
    attended: int


def _scope(place_ids: Sequence[int] | None) -> dict[str, Any]:
    return {"all_places": place_ids is None, "place_ids": list(place_ids or [])}


class Facts:
    """The reads statistics and exports are made of, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        connection = await self.session.connection()
        return (await connection.execute(statement, params)).all()

    async def bookings(
        self, place_ids: Sequence[int] | None, start: date, end: date
    ) -> list[BookingFact]:
        """Bookings whose local start day is in ``[start, end)``, every status."""
        rows = await self._rows(_BOOKINGS, {**_scope(place_ids), "start": start, "end": end})
        return [
            BookingFact(
                id=row.id,
                place_id=row.place_id,
                booker_user_id=row.booker_user_id,
                user_type_code=row.user_type_code,
                status=row.status,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                series_id=row.series_id,
                items=tuple((int(r), int(q)) for r, q in row.items),
                local_day=row.local_day,
            )
            for row in rows
        ]

    async def payments(
        self, place_ids: Sequence[int] | None, start: date, end: date
    ) -> list[PaymentFact]:
        """Billed payments of the bookings that start in ``[start, end)``."""
        params = {**_scope(place_ids), "start": start, "end": end, "unbilled": list(UNBILLED)}
        return [
            PaymentFact(
                booking_id=row.booking_id,
                method=row.method,
                user_type_code=row.user_type_code,
                status=row.status,
                net_cents=row.amount_cents
                - row.refunded_cents
                + row.wallet_cents
                - row.wallet_refunded_cents,
                wallet_cents=row.wallet_cents - row.wallet_refunded_cents,
                line_totals=tuple(int(line["total_incl_vat_cents"]) for line in row.lines or []),
            )
            for row in await self._rows(_PAYMENTS, params)
        ]

    async def first_days(
        self, place_ids: Sequence[int] | None, user_ids: Sequence[int]
    ) -> dict[int, date]:
        """The local day of each person's first confirmed booking within the scope."""
        if not user_ids:
            return {}
        params = {**_scope(place_ids), "user_ids": sorted(set(user_ids))}
        return {
            row.booker_user_id: row.first_day for row in await self._rows(_FIRST_BOOKINGS, params)
        }

    async def sessions(
        self, place_ids: Sequence[int] | None, start: date, end: date
    ) -> list[SessionFact]:
        """Sessions whose local start day is in ``[start, end)``, cancelled ones too."""
        rows = await self._rows(_SESSIONS, {**_scope(place_ids), "start": start, "end": end})
        return [
            SessionFact(
                id=row.id,
                place_id=row.place_id,
                kind=row.kind,
                status=row.status,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                seats=row.seats,
                registered=int(row.registered),
                attended=int(row.attended),
            )
            for row in rows
        ]

    async def resources(self, place_ids: Sequence[int] | None) -> list[ResourceFact]:
        """Every resource of the scope, with its units in service."""
        return [
            ResourceFact(
                row.id, row.place_id, row.place_name, row.name, row.kind, row.active, int(row.units)
            )
            for row in await self._rows(_RESOURCES, _scope(place_ids))
        ]
