"""Thin HTTP controllers of a place's books: accounts, the FEC, closed periods and archives."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.accounting import Accounting
from billing.accounting_schemas import (
    AccountingSettingsRead,
    AccountingSettingsWrite,
    ClosedPeriodRead,
    ClosePeriod,
)
from billing.closing import Closing
from billing.controllers import billing_of
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, PLACE_MANAGER
from kernel.clock import Clock
from kernel.routes import get, post, put

Me = NamedDependency[Actor]
FiscalYear = Annotated[
    int, QueryParameter(ge=2000, le=2999, description="the fiscal year, by the year it starts in")
]
FEC_TYPE = "text/plain; charset=iso-8859-15"


def provide_accounting(db_session: NamedDependency[AsyncSession], state: State) -> Accounting:
    """A place's books in this request's transaction."""
    return billing_of(state).accounting(db_session)


def provide_closing(db_session: NamedDependency[AsyncSession], state: State) -> Closing:
    """Closed periods in this request's transaction."""
    return billing_of(state).closing(db_session)


DEPENDENCIES = {
    "accounting": Provide(provide_accounting, sync_to_thread=False),
    "closing": Provide(provide_closing, sync_to_thread=False),
}


def attachment(name: str) -> dict[str, str]:
    """The header that saves a download under its name."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


class AccountingController(Controller):
    """The books of a place, kept by its managers."""

    path = "/api/places/{place_id:int}"
    tags = ["accounting"]
    dependencies = DEPENDENCIES
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/accounting", opt=PLACE_MANAGER)
    async def get_accounting(
        self, accounting: NamedDependency[Accounting], actor: Me, place_id: FromPath[int]
    ) -> AccountingSettingsRead:
        """The place's fiscal year start and account numbers (defaults filled in)."""
        return await accounting.managed_settings(actor, place_id)

    @put("/accounting", opt=PLACE_MANAGER)
    async def set_accounting(
        self,
        accounting: NamedDependency[Accounting],
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[AccountingSettingsWrite],
    ) -> AccountingSettingsRead:
        """Change the fiscal year start and the account numbers the FEC books to."""
        return await accounting.change_settings(actor, place_id, data, clock())

    @get(
        "/fec",
        opt=PLACE_MANAGER,
        media_type=FEC_TYPE,
    )
    async def fec(
        self,
        accounting: NamedDependency[Accounting],
        actor: Me,
        place_id: FromPath[int],
        year: FiscalYear,
    ) -> Response[bytes]:
        """The FEC (fichier des écritures comptables) of a fiscal year of the place."""
        name, data = await accounting.year_fec(actor, place_id, year)
        return Response(data, media_type=FEC_TYPE, headers=attachment(name))

    @get("/closed-periods", opt=PLACE_MANAGER)
    async def closed_periods(
        self, closing: NamedDependency[Closing], actor: Me, place_id: FromPath[int]
    ) -> list[ClosedPeriodRead]:
        """The place's closed months and fiscal years, newest first, with their archives."""
        return await closing.closed(actor, place_id)

    @post("/closed-periods", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def close_period(
        self,
        closing: NamedDependency[Closing],
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[ClosePeriod],
    ) -> ClosedPeriodRead:
        """Close an ended month or fiscal year: nothing is issued in it any more, and its
        archive is kept."""
        return await closing.close(actor, place_id, data.kind, data.period, clock())

    @get(
        "/closed-periods/{period_id:int}/archive",
        opt=PLACE_MANAGER,
        media_type="application/zip",
    )
    async def archive(
        self,
        closing: NamedDependency[Closing],
        actor: Me,
        place_id: FromPath[int],
        period_id: FromPath[int],
    ) -> Response[bytes]:
        """The archive made when the period was closed (ZIP)."""
        row = await closing.archive(actor, place_id, period_id)
        return Response(
            row.archive, media_type="application/zip", headers=attachment(row.archive_name)
        )


CONTROLLERS = [AccountingController]
