"""Statistics of a period as plain figures, computed from the period's facts (no I/O).

What counts (docs/architecture.md, "Statistics and exports", says the same):

- a *booking* is a confirmed one, attributed to the period of its local start; held,
  pending, refused and expired ones are not bookings;
- *hours* are the bookings' lengths; *occupancy* of a resource is its booked unit-hours (a
  pool's seats each count) over its open unit-hours: the place's opening hours in its zone,
  exceptions and public holidays applied, less the resource's blackouts, times its units;
- *unique people* booked in the period; *new* ones had their first confirmed booking (at the
  place, or anywhere for the platform) in it;
- the *cancellation rate* is cancelled ÷ (confirmed + cancelled + no-show) bookings of the
  period; the *no-show rate*, no-show ÷ (confirmed + no-show), once bookings can be released
  for want of a check-in (the status ``no_show``; until then the figure is ``None``);
- a *session* of the programme counts in the period of its local start: *held* once it has
  ended and was not cancelled, *to come* before its end, *cancelled* (by the place, a
  closure, or below its minimum); *seats offered* and *taken* are a held session's seats and
  those registered; the *attendance rate* is the seats marked present ÷ those taken, the
  *fill rate* taken ÷ offered, both over held sessions, in all and per kind;
- *revenue* is what the period's bookings were billed, net of refunds (integer cents incl.
  VAT): paid, invoiced or due on site, whether by the method or from the person's wallet (a
  means of payment, counted under "wallet" by method); a booking of several resources shares
  it out by its quote's lines.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel

from booking.models import BOOKING_STATUSES, BookingStatus
from mutualab.reports.facts import BookingFact, PaymentFact, ResourceFact, SessionFact
from mutualab.reports.periods import Period, containing

TENTH = Decimal("0.1")
# Released for want of a check-in: a status this instance may not know yet.
NO_SHOW = "no_show"
RECORDS_NO_SHOWS = NO_SHOW in BOOKING_STATUSES


class ResourceOccupancy(BaseModel):
    """Booked over open unit-minutes of one resource in the period."""

    resource_id: int
    place_id: int
    place_name: str
    name: str
    kind: str
    units: int
    open_minutes: int  # unit-minutes: open minutes times units in service
    booked_minutes: int  # unit-minutes booked (confirmed bookings)
    occupancy_percent: Decimal | None  # None when it was never open


class UserTypeFigures(BaseModel):
    """Bookings, hours and people of one user type."""

    user_type: str
    label: str
    bookings: int
    booked_minutes: int
    people: int


class MonthFigures(BaseModel):
    """Bookings, hours and people of one month of a quarter or a year."""

    month: str  # 2027-03
    bookings: int
    booked_minutes: int
    people: int


class SessionKindFigures(BaseModel):
    """The sessions of one kind (workshop, training, event) in the period."""

    kind: str
    held: int
    cancelled: int
    to_come: int
    seats_offered: int  # by the held sessions
    seats_taken: int  # registered at the held sessions
    attendees: int  # marked present at the held sessions
    attendance_percent: Decimal | None  # attendees ÷ seats taken
    fill_percent: Decimal | None  # seats taken ÷ offered


class Amount(BaseModel):
    """A share of the revenue: by resource, user type or payment method."""

    key: str
    label: str
    cents: int


class Statistics(BaseModel):
    """A place's (or the platform's) activity over a month, a quarter or a year."""

    scope: Literal["place", "platform"]
    place_id: int | None
    period: str  # 2027-03, 2027-Q1 or 2027
    kind: Literal["month", "quarter", "year"]
    first_day: date
    last_day: date
    bookings: int
    booked_minutes: int
    unique_people: int
    new_people: int
    cancelled: int
    cancellation_percent: Decimal | None
    # None where no-shows are not recorded (no check-in on this instance).
    no_shows: int | None
    no_show_percent: Decimal | None
    # The programme's sessions: held (ended, not cancelled), and those present at them.
    sessions: int
    attendees: int
    sessions_cancelled: int
    sessions_to_come: int
    session_seats_offered: int
    session_seats_taken: int
    attendance_percent: Decimal | None
    fill_percent: Decimal | None
    sessions_by_kind: list[SessionKindFigures]
    occupancy: list[ResourceOccupancy]
    by_user_type: list[UserTypeFigures]
    by_month: list[MonthFigures]  # every month of a quarter or a year; empty for a month
    revenue_cents: int
    revenue_by_resource: list[Amount]
    revenue_by_user_type: list[Amount]
    revenue_by_method: list[Amount]


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, to a tenth (half up); None for an empty whole."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def share_out(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` cents shared by ``weights``, whole cents adding up to ``total`` exactly."""
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1] * len(weights), len(weights)
    shares, given, running = [], 0, 0
    for weight in weights:
        running += weight
        upto = total * running // whole
        shares.append(upto - given)
        given = upto
    return shares


def compute(
    *,
    scope: Literal["place", "platform"],
    place_id: int | None,
    period: Period,
    bookings: Sequence[BookingFact],
    payments: Sequence[PaymentFact],
    resources: Sequence[ResourceFact],
    open_minutes: Mapping[int, int],
    first_days: Mapping[int, date],
    user_type_labels: Mapping[str, str],
    method_labels: Mapping[str, str],
    records_no_shows: bool = RECORDS_NO_SHOWS,
    sessions: Sequence[SessionFact] = (),
    now: datetime | None = None,
) -> Statistics:
    """The figures of ``period`` from its facts (``open_minutes``: per resource, one unit)."""
    confirmed = [b for b in bookings if b.status == BookingStatus.CONFIRMED]
    cancelled = sum(1 for b in bookings if b.status == BookingStatus.CANCELLED)
    no_shows = sum(1 for b in bookings if b.status == NO_SHOW)
    people = {b.booker_user_id for b in confirmed}
    new_people = {
        person
        for person in people
        if person in first_days and period.start <= first_days[person] < period.end
    }
    booked: Counter[int] = Counter()
    for booking in confirmed:
        for resource_id, quantity in booking.items:
            booked[resource_id] += quantity * booking.minutes
    occupancy = [
        ResourceOccupancy(
            resource_id=r.id,
            place_id=r.place_id,
            place_name=r.place_name,
            name=r.name,
            kind=r.kind,
            units=r.units,
            open_minutes=open_minutes.get(r.id, 0) * r.units,
            booked_minutes=booked[r.id],
            occupancy_percent=percent(booked[r.id], open_minutes.get(r.id, 0) * r.units),
        )
        for r in resources
        if r.active or booked[r.id]
    ]
    return Statistics(
        scope=scope,
        place_id=place_id,
        period=period.key,
        kind=period.kind,
        first_day=period.start,
        last_day=date.fromordinal(period.end.toordinal() - 1),
        bookings=len(confirmed),
        booked_minutes=sum(b.minutes for b in confirmed),
        unique_people=len(people),
        new_people=len(new_people),
        cancelled=cancelled,
        cancellation_percent=percent(cancelled, len(confirmed) + cancelled + no_shows),
        no_shows=no_shows if records_no_shows else None,
        no_show_percent=percent(no_shows, len(confirmed) + no_shows) if records_no_shows else None,
        **_session_totals(sessions, now),
        occupancy=occupancy,
        by_user_type=_by_user_type(confirmed, user_type_labels),
        by_month=_by_month(confirmed, period),
        **_revenue(bookings, payments, resources, user_type_labels, method_labels, scope),
    )


SESSION_KINDS = ("workshop", "training", "event")


def _kind_figures(kind: str, sessions: Sequence[SessionFact], now: datetime) -> SessionKindFigures:
    held = [s for s in sessions if s.status != "cancelled" and s.ends_at <= now]
    offered = sum(s.seats for s in held)
    taken = sum(s.registered for s in held)
    attendees = sum(s.attended for s in held)
    return SessionKindFigures(
        kind=kind,
        held=len(held),
        cancelled=sum(1 for s in sessions if s.status == "cancelled"),
        to_come=sum(1 for s in sessions if s.status != "cancelled" and s.ends_at > now),
        seats_offered=offered,
        seats_taken=taken,
        attendees=attendees,
        attendance_percent=percent(attendees, taken),
        fill_percent=percent(taken, offered),
    )


def _session_totals(sessions: Sequence[SessionFact], now: datetime | None) -> dict[str, object]:
    """The period's session figures, in all and per kind (kinds with no session left out)."""
    at = now or datetime.max.replace(tzinfo=UTC)
    total = _kind_figures("all", sessions, at)
    return {
        "sessions": total.held,
        "attendees": total.attendees,
        "sessions_cancelled": total.cancelled,
        "sessions_to_come": total.to_come,
        "session_seats_offered": total.seats_offered,
        "session_seats_taken": total.seats_taken,
        "attendance_percent": total.attendance_percent,
        "fill_percent": total.fill_percent,
        "sessions_by_kind": [
            _kind_figures(kind, [s for s in sessions if s.kind == kind], at)
            for kind in SESSION_KINDS
            if any(s.kind == kind for s in sessions)
        ],
    }


def _by_user_type(
    confirmed: Sequence[BookingFact], labels: Mapping[str, str]
) -> list[UserTypeFigures]:
    grouped: dict[str, list[BookingFact]] = defaultdict(list)
    for booking in confirmed:
        grouped[booking.user_type_code].append(booking)
    return [
        UserTypeFigures(
            user_type=code,
            label=labels.get(code, code),
            bookings=len(rows),
            booked_minutes=sum(b.minutes for b in rows),
            people=len({b.booker_user_id for b in rows}),
        )
        for code, rows in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))
    ]


def _by_month(confirmed: Sequence[BookingFact], period: Period) -> list[MonthFigures]:
    if period.kind == "month":
        return []
    months: list[MonthFigures] = []
    month = containing("month", period.start)
    while month.start < period.end:
        rows = [b for b in confirmed if b.local_day and month.start <= b.local_day < month.end]
        months.append(
            MonthFigures(
                month=month.key,
                bookings=len(rows),
                booked_minutes=sum(b.minutes for b in rows),
                people=len({b.booker_user_id for b in rows}),
            )
        )
        month = month.following()
    return months


def _amounts(totals: Mapping[str, int], labels: Mapping[str, str]) -> list[Amount]:
    return [
        Amount(key=key, label=labels.get(key, key), cents=cents)
        for key, cents in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def _revenue(
    bookings: Sequence[BookingFact],
    payments: Sequence[PaymentFact],
    resources: Sequence[ResourceFact],
    user_type_labels: Mapping[str, str],
    method_labels: Mapping[str, str],
    scope: str,
) -> dict[str, object]:
    items = {b.id: b.items for b in bookings}
    by_resource: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_method: Counter[str] = Counter()
    for payment in payments:
        by_type[payment.user_type_code] += payment.net_cents
        # The wallet is a means of payment of its own; a method paid the rest.
        if payment.net_cents - payment.wallet_cents:
            by_method[payment.method] += payment.net_cents - payment.wallet_cents
        if payment.wallet_cents:
            by_method["wallet"] += payment.wallet_cents
        taken = items.get(payment.booking_id, ())
        weights = (
            list(payment.line_totals)
            if len(payment.line_totals) == len(taken)
            else [quantity for _, quantity in taken]
        )
        for (resource_id, _), cents in zip(
            taken, share_out(payment.net_cents, weights), strict=True
        ):
            by_resource[str(resource_id)] += cents
    # Names repeat across places: the platform's figures name the place too.
    names = {
        str(r.id): r.name if scope == "place" else f"{r.name} ({r.place_name})" for r in resources
    }
    return {
        "revenue_cents": sum(p.net_cents for p in payments),
        "revenue_by_resource": _amounts(by_resource, names),
        "revenue_by_user_type": _amounts(by_type, user_type_labels),
        "revenue_by_method": _amounts(by_method, method_labels),
    }
