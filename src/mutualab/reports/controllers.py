"""Statistics (JSON), exports (CSV, XLSX) and the yearly activity report (PDF) of a place, for
its managers; the platform's statistics, for administrators."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager
from kernel.auth.rules import ADMIN, BEARER, PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get
from mutualab.reports import periods
from mutualab.reports.activity_report import activity_pdf
from mutualab.reports.exports import Dataset, Exports
from mutualab.reports.figures import Statistics
from mutualab.reports.periods import Period, PeriodKind
from mutualab.reports.service import StatisticsService
from mutualab.reports.sheets import MEDIA_TYPES, ExportFormat, csv_bytes, xlsx_bytes
from mutualab.reports.stat_sheets import sheets

MAX_EXPORT_DAYS = 366 * 3 + 1  # three years at most in one file
Kind = Annotated[PeriodKind, QueryParameter(description="month, quarter or year")]
At = Annotated[
    str | None,
    QueryParameter(max_length=10, description="2027-03, 2027-Q1 or 2027; now by default"),
]
Format = Annotated[ExportFormat, QueryParameter(description="csv or xlsx")]
FromDate = Annotated[date, QueryParameter(name="from", description="first local date")]
ToDate = Annotated[date, QueryParameter(name="to", description="local date after the last one")]
Year = Annotated[int, QueryParameter(ge=2000, le=2100)]


def provide_statistics(
    db_session: NamedDependency[AsyncSession], clock: NamedDependency[Clock]
) -> StatisticsService:
    """Statistics read in this request's transaction (sessions held: ended by ``clock``)."""
    return StatisticsService(db_session, clock)


def provide_exports(db_session: NamedDependency[AsyncSession]) -> Exports:
    """Export rows read in this request's transaction."""
    return Exports(db_session)


STATISTICS = {
    "statistics": Provide(provide_statistics, sync_to_thread=False),
    "exports": Provide(provide_exports, sync_to_thread=False),
}


def period_of(kind: PeriodKind, at: str | None, today: date) -> Period:
    """The period asked for, or the one holding ``today``."""
    return periods.containing(kind, today) if at is None else periods.parse(kind, at)


def file_response(body: bytes, fmt: ExportFormat, name: str) -> Response[bytes]:
    """An attachment named ``name.fmt``."""
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def statistics_file(stats: Statistics, fmt: ExportFormat, name: str) -> Response[bytes]:
    """The statistics as a workbook, or as CSV (its summary and occupancy, one table)."""
    tables = sheets(stats)
    if fmt == "xlsx":
        return file_response(xlsx_bytes(tables), fmt, name)
    body = b"".join(csv_bytes(t).removeprefix("\ufeff".encode()) for t in tables[:1])
    for table in tables[1:]:
        body += b"\r\n" + csv_bytes(table).removeprefix("\ufeff".encode())
    return file_response("\ufeff".encode() + body, fmt, name)


def check_range(start: date, end: date) -> None:
    """An export's dates: ``to`` after ``from``, at most three years."""
    if end <= start:
        raise InvalidInputError("'to' must be after 'from'.", field="to", code="invalid_range")
    if (end - start).days > MAX_EXPORT_DAYS:
        raise InvalidInputError(
            "An export covers three years at most.", field="to", code="range_too_long"
        )


class PlaceReportController(Controller):
    """A place's statistics, exports and activity report, for its managers."""

    path = "/api/places/{place_id:int}"
    tags = ["statistics"]
    dependencies = STATISTICS
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/statistics", opt=PLACE_MANAGER)
    async def statistics(
        self,
        statistics: NamedDependency[StatisticsService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        period: Kind = "month",
        at: At = None,
    ) -> Statistics:
        """The place's figures over a month, a quarter or a year."""
        chosen = period_of(period, at, clock().date())
        return await statistics.for_place(actor, place_id, chosen)

    @get(
        "/statistics/export",
        opt=PLACE_MANAGER,
        media_type=MEDIA_TYPES["xlsx"],
    )
    async def statistics_export(
        self,
        statistics: NamedDependency[StatisticsService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        period: Kind = "month",
        at: At = None,
        format: Format = "xlsx",
    ) -> Response[bytes]:
        """The place's figures as an XLSX workbook or CSV."""
        chosen = period_of(period, at, clock().date())
        stats = await statistics.for_place(actor, place_id, chosen)
        return statistics_file(stats, format, f"statistiques-{place_id}-{chosen.key}")

    @get("/exports/{dataset:str}", opt=PLACE_MANAGER, media_type=MEDIA_TYPES["xlsx"])
    async def export(
        self,
        statistics: NamedDependency[StatisticsService],
        exports: NamedDependency[Exports],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
        dataset: FromPath[Dataset],
        start: FromDate,
        end: ToDate,
        format: Format = "xlsx",
    ) -> Response[bytes]:
        """Bookings, people, invoices and credit notes, or payments of the place, by dates."""
        place = await statistics.managed_place(actor, place_id)
        check_range(start, end)
        sheet = await exports.sheet(dataset, place_id, ZoneInfo(place.timezone), start, end)
        body = xlsx_bytes([sheet]) if format == "xlsx" else csv_bytes(sheet)
        return file_response(body, format, f"{dataset}-{place.slug}-{start}-{end}")

    @get("/activity-report", opt=PLACE_MANAGER, media_type="application/pdf")
    async def activity_report(
        self,
        statistics: NamedDependency[StatisticsService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        year: Year,
    ) -> Response[bytes]:
        """The year's activity report for funders, as a PDF."""
        place = await statistics.managed_place(actor, place_id)
        stats = await statistics.for_place(actor, place_id, periods.parse("year", str(year)))
        body = activity_pdf(place.name, place.town, stats, clock().date())
        return Response(
            body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="activite-{place.slug}-{year}.pdf"'
            },
        )


class PlatformReportController(Controller):
    """Every place's statistics together, for the platform's administrators."""

    path = "/api/statistics"
    tags = ["statistics"]
    dependencies = STATISTICS
    guards = [require_admin]
    security = BEARER
    opt = ADMIN

    @get("/", opt=ADMIN)
    async def statistics(
        self,
        statistics: NamedDependency[StatisticsService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        period: Kind = "month",
        at: At = None,
    ) -> Statistics:
        """The platform's figures over a month, a quarter or a year."""
        return await statistics.platform(actor, period_of(period, at, clock().date()))

    @get("/export", opt=ADMIN, media_type=MEDIA_TYPES["xlsx"])
    async def export(
        self,
        statistics: NamedDependency[StatisticsService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        period: Kind = "month",
        at: At = None,
        format: Format = "xlsx",
    ) -> Response[bytes]:
        """The platform's figures as an XLSX workbook or CSV."""
        chosen = period_of(period, at, clock().date())
        stats = await statistics.platform(actor, chosen)
        return statistics_file(stats, format, f"statistiques-plateforme-{chosen.key}")


CONTROLLERS = [PlaceReportController, PlatformReportController]
