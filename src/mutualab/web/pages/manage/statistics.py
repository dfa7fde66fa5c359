"""Statistics pages: a place's (its managers) and the platform's (administrators), per month,
quarter or year, each chart with its data table, and the exports of the place."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from litestar import Controller
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager
from kernel.auth.rules import ADMIN, PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get
from mutualab.reports import periods
from mutualab.reports.controllers import STATISTICS
from mutualab.reports.figures import ResourceOccupancy, Statistics
from mutualab.reports.periods import Period, PeriodKind
from mutualab.reports.service import StatisticsService
from mutualab.web.charts import bar_chart
from mutualab.web.i18n import N_, I18n
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import i18n_of, page
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

KindQuery = Annotated[str, QueryParameter(max_length=10)]
AtQuery = Annotated[str | None, QueryParameter(max_length=10)]
METHODS = {
    "card": N_("Card"),
    "on_site": N_("On site"),
    "invoice": N_("On invoice"),
    "free": N_("Free"),
    "wallet": N_("Wallet"),
}
KIND_LABELS = {"month": N_("month"), "quarter": N_("quarter"), "year": N_("year")}
SESSION_KINDS = {"workshop": N_("Workshop"), "training": N_("Training"), "event": N_("Event")}


def _period(kind: str, at: str | None, today: date) -> tuple[Period, str | None]:
    """The period asked for, or this month with the reason the asked one was not read."""
    try:
        if kind not in periods.PERIOD_KINDS:
            raise InvalidInputError("bad kind", field="period")
        chosen: PeriodKind = kind
        return (periods.containing(chosen, today) if not at else periods.parse(chosen, at)), None
    except InvalidInputError:
        return periods.containing("month", today), "period"


def _hours(i18n: I18n, minutes: int) -> str:
    """Minutes as hours to a tenth, the locale's way: ``12,5 h``."""
    tenths = (Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return i18n.gettext(N_("%(hours)s h"), hours=i18n.number(tenths))


def period_label(i18n: I18n, period: Period) -> str:
    """``novembre 2026``, ``T1 2027`` or ``2027``."""
    if period.kind == "month":
        return format_date(period.start, "LLLL y", locale=i18n.locale)
    if period.kind == "quarter":
        number = (period.start.month - 1) // 3 + 1
        return i18n.gettext(N_("Q%(number)s %(year)s"), number=number, year=period.start.year)
    return str(period.start.year)


def resource_name(stats: Statistics, row: ResourceOccupancy) -> str:
    """A resource's name, with its place's on the platform's page (names repeat there)."""
    return row.name if stats.scope == "place" else f"{row.name} ({row.place_name})"


def charts(stats: Statistics, i18n: I18n) -> dict[str, Any]:
    """The charts of the page, from the figures."""

    def pct(value: Any) -> str:
        return "\N{EN DASH}" if value is None else f"{i18n.number(value)} %"

    return {
        "occupancy": bar_chart(
            [
                (resource_name(stats, r), r.occupancy_percent, pct(r.occupancy_percent))
                for r in stats.occupancy
            ]
        ),
        "by_month": bar_chart(
            [
                (
                    period_label(i18n, periods.parse("month", m.month)),
                    m.booked_minutes,
                    _hours(i18n, m.booked_minutes),
                )
                for m in stats.by_month
            ]
        ),
        "hours_by_type": bar_chart(
            [
                (t.label, t.booked_minutes, _hours(i18n, t.booked_minutes))
                for t in stats.by_user_type
            ]
        ),
        "revenue_by_resource": bar_chart(
            [(a.label, a.cents, i18n.money(a.cents)) for a in stats.revenue_by_resource]
        ),
        "revenue_by_type": bar_chart(
            [(a.label, a.cents, i18n.money(a.cents)) for a in stats.revenue_by_user_type]
        ),
        "revenue_by_method": bar_chart(
            [
                (i18n.gettext(METHODS.get(a.key, a.key)), a.cents, i18n.money(a.cents))
                for a in stats.revenue_by_method
            ]
        ),
    }


def _context(stats: Statistics, chosen: Period, i18n: I18n, today: date) -> dict[str, Any]:
    last_month = periods.containing("month", today).previous()
    return {
        "stats": stats,
        "chosen": chosen,
        "previous": chosen.previous(),
        "following": chosen.following(),
        "kinds": periods.PERIOD_KINDS,
        "kind_labels": KIND_LABELS,
        "charts": charts(stats, i18n),
        "hours": lambda minutes: _hours(i18n, minutes),
        "resource_name": lambda row: resource_name(stats, row),
        "methods": METHODS,
        "session_kinds": SESSION_KINDS,
        "last_month": last_month,
        "period_last_day": chosen.end - timedelta(days=1),
        "label_of": lambda period: period_label(i18n, period),
        "month_label": lambda key: period_label(i18n, periods.parse("month", key)),
    }


class StatisticsPages(Controller):
    """The statistics of a place, and of the whole platform."""

    dependencies = {**STATISTICS, **CATALOGUE}
    guards = [require_manager]

    @get("/manage/places/{place_id:int}/statistics", opt=PLACE_MANAGER)
    async def place_statistics(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        statistics: NamedDependency[StatisticsService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        period: KindQuery = "month",
        at: AtQuery = None,
    ) -> Template:
        """A place's figures over a month, a quarter or a year, with its exports."""
        managed = await catalogue.managed_place(actor, place_id)
        today = clock().astimezone(ZoneInfo(managed.timezone)).date()
        chosen, invalid = _period(period, at, today)
        stats = await statistics.for_place(actor, place_id, chosen)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/statistics.html",
            place,
            "/statistics",
            status_code=422 if invalid else 200,
            invalid=invalid,
            **_context(stats, chosen, i18n_of(request), today),
        )

    @get("/manage/statistics", opt=ADMIN, guards=[require_admin])
    async def platform_statistics(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        statistics: NamedDependency[StatisticsService],
        clock: NamedDependency[Clock],
        period: KindQuery = "month",
        at: AtQuery = None,
    ) -> Template:
        """Every place's figures together, for the platform's administrators."""
        # Places may lie in several zones; the platform's "this month" is France's.
        today = clock().astimezone(ZoneInfo("Europe/Paris")).date()
        chosen, invalid = _period(period, at, today)
        stats = await statistics.platform(actor, chosen)
        return page(
            request,
            "manage/platform_statistics.html",
            status_code=422 if invalid else 200,
            private=True,
            invalid=invalid,
            **_context(stats, chosen, i18n_of(request), today),
        )
