"""HTTP routes of series billing: quote a series, book and bill it, see how it is billed."""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.schemas import (
    SeriesBillingRead,
    SeriesCheckoutRead,
    SeriesCheckoutRequest,
    SeriesQuoteRead,
    SeriesQuoteRequest,
)
from billing.series import SeriesBillingService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import BEARER, BOOKING, USER
from kernel.clock import Clock
from kernel.routes import get, post

Me = NamedDependency[Actor]


def provide_series_billing(
    db_session: NamedDependency[AsyncSession], state: State
) -> SeriesBillingService:
    """Series billing in this request's transaction."""
    return billing_of(state).series(db_session)


SERIES_BILLING = {"series_billing": Provide(provide_series_billing, sync_to_thread=False)}
SeriesBilling = NamedDependency[SeriesBillingService]


class SeriesBillingController(Controller):
    """A school's term and the like: one quote for the series, an invoice per booked date."""

    path = "/api/series"
    tags = ["billing"]
    dependencies = SERIES_BILLING
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/quote", status_code=HTTP_200_OK, opt=USER)
    async def quote(
        self, series_billing: SeriesBilling, actor: Me, data: JSONBody[SeriesQuoteRequest]
    ) -> SeriesQuoteRead:
        """Each date of a series, free (priced at your rate) or in conflict, and the totals."""
        return await series_billing.quote(actor, data)

    @post("/checkout", status_code=HTTP_201_CREATED, opt=USER)
    async def checkout(
        self,
        series_billing: SeriesBilling,
        actor: Me,
        clock: NamedDependency[Clock],
        data: JSONBody[SeriesCheckoutRequest],
    ) -> SeriesCheckoutRead:
        """Book the quoted free dates, skip conflicts, invoice each date (409 price_changed)."""
        return await series_billing.checkout(actor, data, clock())

    @get("/{series_id:int}/billing", opt=BOOKING)
    async def billing(
        self, series_billing: SeriesBilling, actor: Me, series_id: FromPath[int]
    ) -> SeriesBillingRead:
        """The bookings of a series with their payments, invoices and credit notes."""
        return await series_billing.billing(actor, series_id)


CONTROLLERS = [SeriesBillingController]
