"""Series: a booking repeated by an RRULE, all-or-nothing or skipping conflicts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.admission import (
    Admission,
    Context,
    Items,
    parse_items,
    require_may_change,
)
from booking.allocation import Allocator
from booking.availability import Reason
from booking.changes import StateChanges
from booking.charging import ChargeGate, charge_request
from booking.models import (
    ACTIVE_STATUSES,
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
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from resources.hours import local_to_utc
from resources.service import CatalogueService


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


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
        results: list[OccurrenceRead] = []
        for day, start, end in occurrences:
            local_start = start.astimezone(tz)
            try:
                async with self.repo.session.begin_nested():
                    draft = await self.admission.admit(
                        ctx, booker, items, start, end, now, notes=data.notes, series_id=series.id
                    )
                    booking = (await self.allocator.book(ctx, draft, items, now)).booking
                    if charge is not None:
                        await charge.record(booking, now)
            except (ConflictError, ForbiddenError, InvalidInputError) as exc:
                results.append(
                    OccurrenceRead(
                        date=day,
                        starts_at=start,
                        ends_at=end,
                        local_starts_at=local_start,
                        status="conflict",
                        reason=exc.code,
                        detail=exc.detail,
                        resource_id=_int_or_none(exc.extra.get("resource_id")),
                    )
                )
                continue
            results.append(
                OccurrenceRead(
                    date=day,
                    starts_at=start,
                    ends_at=end,
                    local_starts_at=local_start,
                    status="booked",
                    booking_id=booking.id,
                    reference=booking.reference,
                )
            )
        conflicts = [r for r in results if r.status == "conflict"]
        booked = len(results) - len(conflicts)
        if (data.mode == "all_or_nothing" and conflicts) or booked == 0:
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
        read = await self._series_read(series)
        return SeriesCreated.model_validate({**read.model_dump(), "occurrences": results})

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
            await self.repo.add(series)
        return await self._series_read(series)
