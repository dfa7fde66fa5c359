"""Series: a booking repeated by an RRULE, all-or-nothing or skipping conflicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.admission import (
    Admission,
    Booker,
    Context,
    Items,
    parse_items,
    require_may_change,
)
from booking.allocation import Allocator, NewBooking
from booking.availability import Reason
from booking.changes import StateChanges
from booking.charging import ChargeGate, UnpaidCharge, charge_request
from booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingSeries,
)
from booking.reads import BookingReader, columns
from booking.repository import BookingRepository
from booking.rules import (
    problem_error,
)
from booking.schemas import (
    OccurrenceRead,
    SeriesCreate,
    SeriesCreated,
    SeriesRead,
)
from booking.series import RuleError, expand, parse_rule
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from kernel.events import publish
from resources.hours import local_to_utc
from resources.service import CatalogueService

# What stops one date of a series without stopping the others: it is listed with its reason.
REFUSALS = (ConflictError, ForbiddenError, InvalidInputError)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class PendingOutcome:
    """What booking a series' pending dates did: the series, and each date booked or lost."""

    series: BookingSeries | None
    dates: list[OccurrenceRead]


class Series:
    """Bookings repeated by a rule."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        admission: Admission,
        allocator: Allocator,
        changes: StateChanges,
        reader: BookingReader,
        clock: Clock,
        charges: ChargeGate,
    ) -> None:
        self.repo = repository
        self.charges = charges
        self.catalogue = catalogue
        self.admission = admission
        self.allocator = allocator
        self.changes = changes
        self.reader = reader
        self.clock = clock

    async def _series_read(self, series: BookingSeries) -> SeriesRead:
        assert series.id is not None
        rows, _ = await self.repo.page(series_id=series.id, limit=1000)
        return SeriesRead.model_validate(
            {
                **columns(series, SeriesRead),
                "start_time": series.local_start,
                "exdates": [date.fromisoformat(d) for d in series.exdates],
                "pending_dates": [date.fromisoformat(d) for d in series.pending_dates],
                "bookings": await self.reader.reads(rows),
            }
        )

    async def create(
        self, actor: Actor, data: SeriesCreate, *, checkout: bool = False
    ) -> SeriesCreated:
        """Book every occurrence of a rule, all or nothing or skipping conflicts.

        ``checkout``: billing's series checkout books, and bills each date itself; any other
        priced series is refused (``payment_required``) unless a manager of the place books it
        (then each date is recorded as due, on site or on invoice).
        """
        now = self.clock()
        items = parse_items(data.items)
        try:
            rule = parse_rule(data.rule)
        except RuleError as exc:
            raise InvalidInputError(str(exc), field="rule", code=exc.code) from exc
        booker = await self.admission.booker(actor, data.organisation_id)
        resources = await self.catalogue.bookable_resources([rid for rid, _ in items])
        place = await self.catalogue.active_place(resources[0].place_id)
        tz = ZoneInfo(place.timezone)
        try:
            days = expand(rule, data.first_date, data.start_time, tz, exdates=data.exdates)
        except RuleError as exc:
            raise InvalidInputError(str(exc), field="rule", code=exc.code) from exc
        if not days:
            raise InvalidInputError(
                "The rule gives no occurrence.", field="rule", code="series_empty"
            )
        length = timedelta(minutes=data.duration_minutes)
        # The end is a wall-clock time too: "14:00-16:00" on every date.
        occurrences = [
            (
                day,
                local_to_utc(datetime.combine(day, data.start_time), tz),
                local_to_utc(datetime.combine(day, data.start_time) + length, tz),
            )
            for day in days
        ]
        ctx = await self.admission.context(
            actor,
            [rid for rid, _ in items],
            booker.rates,
            occurrences[0][1],
            occurrences[-1][2],
        )
        self._check_series_shape(ctx, items, occurrences[0][1], occurrences[0][2], now)
        assert ctx.place.id is not None
        # Every date lasts as long, so one date's quote is every date's (the charge is priced
        # per date again when recorded).
        charge = (
            None
            if checkout
            else await self.charges.unpaid(
                self.repo.session,
                charge_request(ctx, actor, booker, items, occurrences[0][1], occurrences[0][2]),
            )
        )
        series = BookingSeries(
            place_id=ctx.place.id,
            booker_user_id=booker.user_id,
            organisation_id=booker.organisation_id,
            user_type_code=ctx.user_type,
            rule=data.rule.strip(),
            first_date=data.first_date,
            local_start=data.start_time,
            duration_minutes=data.duration_minutes,
            timezone=tz.key,
            exdates=sorted(d.isoformat() for d in data.exdates),
            items=[{"resource_id": r, "quantity": q} for r, q in items],
            mode=data.mode,
            notes=data.notes,
            created_at=now,
        )
        await self.repo.add(series)
        results = await self._book_dates(ctx, booker, items, occurrences, series, charge, now)
        series.pending_dates = [r.date.isoformat() for r in results if r.status == "pending"]
        await self.repo.add(series)
        conflicts = [r for r in results if r.status == "conflict"]
        # Dates beyond the horizon are not conflicts: they wait for it (the workers book them).
        waiting = len(results) - len(conflicts)
        if (data.mode == "all_or_nothing" and conflicts) or waiting == 0:
            # Nothing is written: the transaction rolls back with this error.
            listed = [
                r.model_copy(update={"status": "free", "booking_id": None, "reference": None})
                if r.status == "booked"
                else r
                for r in results
            ]
            raise ConflictError(
                f"{len(conflicts)} of {len(results)} occurrences cannot be booked; "
                "nothing was booked.",
                code="series_conflict",
                extra={"occurrences": [o.model_dump(mode="json") for o in listed]},
            )
        await self._publish_booked(series, results)
        read = await self._series_read(series)
        return SeriesCreated.model_validate({**read.model_dump(), "occurrences": results})

    async def _publish_booked(self, series: BookingSeries, results: list[OccurrenceRead]) -> None:
        """``series.booked``, for one message telling every date (the dates booked with the
        series are not told one by one)."""
        assert series.id is not None

        def dates(status: str) -> list[str]:
            return [r.date.isoformat() for r in results if r.status == status]

        await publish(
            self.repo.session,
            "series.booked",
            {
                "series_id": series.id,
                "place_id": series.place_id,
                "user_id": series.booker_user_id,
                "booking_ids": [r.booking_id for r in results if r.booking_id is not None],
                "pending_dates": dates("pending"),
                "conflict_dates": dates("conflict"),
            },
            key=f"series.{series.id}.booked",
        )

    async def _book_dates(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        occurrences: list[tuple[date, datetime, datetime]],
        series: BookingSeries,
        charge: UnpaidCharge | None,
        now: datetime,
    ) -> list[OccurrenceRead]:
        """Book each date: booked, pending (beyond the horizon) or in conflict (with the
        engine's reason). Together in one call when no date's booking depends on another's
        (no weekly quota counts them, no charge is recorded with them), else each in a
        savepoint of its own."""
        tz = ZoneInfo(series.timezone)
        ahead = min(ctx.policies[rid].max_advance_days for rid, _ in items)
        if charge is None and not self.admission.counts_quota(ctx, items):
            answers = await self._book_together(ctx, booker, items, occurrences, series, now)
        else:
            answers = [None] * len(occurrences)
        results: list[OccurrenceRead] = []
        for (day, start, end), answer in zip(occurrences, answers, strict=True):
            if answer is None:
                answer = await self._book_one(ctx, booker, items, start, end, series, charge, now)
            local_start = start.astimezone(tz)
            if isinstance(answer, Booking):
                results.append(
                    OccurrenceRead(
                        date=day,
                        starts_at=start,
                        ends_at=end,
                        local_starts_at=local_start,
                        status="booked",
                        booking_id=answer.id,
                        reference=answer.reference,
                    )
                )
                continue
            pending = answer.code == Reason.TOO_FAR_AHEAD
            results.append(
                OccurrenceRead(
                    date=day,
                    starts_at=start,
                    ends_at=end,
                    local_starts_at=local_start,
                    status="pending" if pending else "conflict",
                    reason=answer.code,
                    detail=answer.detail,
                    resource_id=_int_or_none(answer.extra.get("resource_id")),
                    bookable_from=(
                        (start - timedelta(days=ahead)).astimezone(tz).date() if pending else None
                    ),
                )
            )
        return results

    async def _book_together(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        occurrences: list[tuple[date, datetime, datetime]],
        series: BookingSeries,
        now: datetime,
    ) -> list[Booking | AppError | None]:
        """Admit every date, then store those admitted in one round trip
        (:meth:`booking.allocation.Allocator.book_each`) instead of a savepoint and a call
        each: a 15-week series took 63 statements, each waiting its turn on a busy worker
        (issue 18's term-opening mix). None: that date is to be booked on its own."""
        answers: list[Booking | AppError | None] = []
        admitted: list[tuple[int, Booking]] = []
        for _, start, end in occurrences:
            try:
                draft = await self.admission.admit(
                    ctx, booker, items, start, end, now, notes=series.notes, series_id=series.id
                )
            except REFUSALS as refusal:
                answers.append(refusal)
                continue
            admitted.append((len(answers), draft))
            answers.append(None)
        if not admitted:
            return answers
        stored = await self.allocator.book_each(ctx, [draft for _, draft in admitted], items, now)
        if stored is None:  # refused as a whole, nothing stored: each on its own
            return answers
        for (position, _), outcome in zip(admitted, stored, strict=True):
            answers[position] = outcome.booking if isinstance(outcome, NewBooking) else outcome
        return answers

    async def _book_one(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        series: BookingSeries,
        charge: UnpaidCharge | None,
        now: datetime,
    ) -> Booking | AppError:
        """Book one date in a savepoint of its own: a refusal undoes that date only."""
        try:
            async with self.repo.session.begin_nested():
                draft = await self.admission.admit(
                    ctx, booker, items, start, end, now, notes=series.notes, series_id=series.id
                )
                booking = (await self.allocator.book(ctx, draft, items, now)).booking
                if charge is not None:
                    await charge.record(booking, now)
        except REFUSALS as refusal:
            return refusal
        return booking

    async def horizon_days(
        self, actor: Actor, resource_ids: list[int], organisation_id: int | None
    ) -> int:
        """How many days ahead this person (for this organisation) may book all these
        resources: the horizon the series form states."""
        now = self.clock()
        booker = await self.admission.booker(actor, organisation_id)
        ctx = await self.admission.context(
            actor, resource_ids, booker.rates, now, now + timedelta(hours=1)
        )
        return min(ctx.policies[rid].max_advance_days for rid in resource_ids)

    async def remember_billing(
        self, series_id: int, method: str, purchase_order: str | None
    ) -> None:
        """How the series' later dates are billed: as its first ones (billing's checkout)."""
        series = await self.repo.get_series(series_id)
        assert series is not None
        series.payment_method = method
        series.purchase_order = purchase_order
        await self.repo.add(series)

    async def pending_series(self, limit: int = 500) -> list[int]:
        """The series that have dates waiting for the horizon, oldest first."""
        return await self.repo.series_with_pending_dates(limit)

    async def book_pending(self, actor: Actor, series_id: int) -> PendingOutcome:
        """Book the series' pending dates the horizon now reaches; drop those that can no
        longer be had (listed among the skipped dates, for the booker to be told)."""
        now = self.clock()
        series = await self.repo.get_series(series_id, lock=True)
        if series is None or not series.pending_dates:
            return PendingOutcome(series, [])
        assert series.id is not None
        tz = ZoneInfo(series.timezone)
        length = timedelta(minutes=series.duration_minutes)
        days = [date.fromisoformat(d) for d in series.pending_dates]
        if series.cancelled_from is not None:
            days = [d for d in days if d < series.cancelled_from]
        occurrences = [
            (
                day,
                local_to_utc(datetime.combine(day, series.local_start), tz),
                local_to_utc(datetime.combine(day, series.local_start) + length, tz),
            )
            for day in days
        ]
        results: list[OccurrenceRead] = []
        if occurrences:
            items: Items = sorted((int(i["resource_id"]), int(i["quantity"])) for i in series.items)
            booker = await self.admission.booker(actor, series.organisation_id)
            await self.catalogue.bookable_resources([rid for rid, _ in items])
            ctx = await self.admission.context(
                actor,
                [rid for rid, _ in items],
                booker.rates,
                occurrences[0][1],
                occurrences[-1][2],
            )
            results = await self._book_dates(ctx, booker, items, occurrences, series, None, now)
        lost = [r.date.isoformat() for r in results if r.status == "conflict"]
        series.pending_dates = [r.date.isoformat() for r in results if r.status == "pending"]
        series.exdates = sorted({*series.exdates, *lost})
        await self.repo.add(series)
        return PendingOutcome(series, [r for r in results if r.status != "pending"])

    async def preview(self, actor: Actor, data: SeriesCreate) -> list[OccurrenceRead]:
        """Each occurrence of a series, free or in conflict, as booking it would find it.

        The engine's own checks decide: the series is booked in a savepoint, which is then
        rolled back, so nothing is written and nothing stays locked.
        """
        savepoint = await self.repo.session.begin_nested()
        try:
            # Nothing is stored: the caller prices the dates (billing's series quote).
            created = await self.create(
                actor, data.model_copy(update={"mode": "skip_conflicts"}), checkout=True
            )
        except ConflictError as exc:
            await savepoint.rollback()
            if exc.code != "series_conflict":
                raise
            found = exc.extra.get("occurrences", [])
            return [OccurrenceRead.model_validate(o) for o in found]
        except BaseException:
            await savepoint.rollback()
            raise
        await savepoint.rollback()
        return [
            o.model_copy(update={"status": "free", "booking_id": None, "reference": None})
            if o.status == "booked"
            else o
            for o in created.occurrences
        ]

    def _check_series_shape(
        self, ctx: Context, items: Items, start: datetime, end: datetime, now: datetime
    ) -> None:
        """Problems every occurrence would share (alignment, length, capacity): 422 at once."""
        for _, rid, problems in self.admission.problems(ctx, items, start, end, now):
            for problem in problems:
                if problem.code in (Reason.NOT_ALIGNED, Reason.TOO_SHORT, Reason.TOO_LONG):
                    field = (
                        "start_time" if problem.code == Reason.NOT_ALIGNED else "duration_minutes"
                    )
                    raise problem_error(problem, field=field, extra={"resource_id": rid})

    async def _visible_series(self, actor: Actor, series_id: int) -> BookingSeries:
        series = await self.repo.get_series(series_id)
        if series is None or not (
            actor.is_admin
            or series.booker_user_id == actor.user_id
            or actor.manages(series.place_id)
            or (
                series.organisation_id is not None
                and series.organisation_id in actor.organisation_roles
            )
        ):
            raise NotFoundError(f"No series with id {series_id}.", code="series_not_found")
        return series

    async def get(self, actor: Actor, series_id: int) -> SeriesRead:
        """A series with its bookings."""
        return await self._series_read(await self._visible_series(actor, series_id))

    async def cancel(self, actor: Actor, series_id: int, from_date: date) -> SeriesRead:
        """Cancel every live booking of a series from a local date on."""
        now = self.clock()
        series = await self._visible_series(actor, series_id)
        assert series.id is not None
        tz = ZoneInfo(series.timezone)
        since = local_to_utc(datetime.combine(from_date, time()), tz)
        rows, _ = await self.repo.page(
            series_id=series.id, start=since, statuses=list(ACTIVE_STATUSES), limit=1000
        )
        targets = []
        for row in rows:
            if row.starts_at < since:
                continue
            require_may_change(actor, row)
            assert row.id is not None
            booking = await self.reader.visible(actor, row.id, lock=True)
            await self.changes.expire_if_lapsed(booking, now)
            if booking.status in ACTIVE_STATUSES:
                await self.admission.check_deadline(actor, booking, now)
                targets.append(booking)
        for booking in targets:
            await self.changes.cancel(actor, booking, now, "series cancelled")
        if series.cancelled_from is None or from_date < series.cancelled_from:
            series.cancelled_from = from_date
        # Dates still waiting for the horizon are not booked later either.
        series.pending_dates = [
            d for d in series.pending_dates if date.fromisoformat(d) < from_date
        ]
        await self.repo.add(series)
        return await self._series_read(series)
