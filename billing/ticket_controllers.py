"""HTTP routes of session tickets: prices, quotes, paid registrations, money received."""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.plan_cards import refresh_ticket
from billing.plan_schemas import ReceiveRequest
from billing.schemas import QuoteRead
from billing.ticket_schemas import (
    TicketOrder,
    TicketPricesWrite,
    TicketQuoteRequest,
    TicketRead,
    TicketsSet,
)
from billing.tickets import TicketService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, BOOKING, PLACE_MANAGER, USER
from kernel.routes import post, put
from programme.schemas import SessionRead

Me = NamedDependency[Actor]


def provide_tickets(db_session: NamedDependency[AsyncSession], state: State) -> TicketService:
    """Tickets in this request's transaction."""
    return billing_of(state).tickets(db_session)


DEPENDENCIES = {"tickets": Provide(provide_tickets, sync_to_thread=False)}
Tickets = NamedDependency[TicketService]


class TicketPriceController(Controller):
    """A place's managers price its sessions' tickets and receive their money at the desk."""

    path = "/api"
    tags = ["programme"]
    dependencies = DEPENDENCIES
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @put("/sessions/{session_id:int}/prices", opt=PLACE_MANAGER)
    async def set_prices(
        self,
        tickets: Tickets,
        actor: Me,
        session_id: FromPath[int],
        data: JSONBody[TicketPricesWrite],
    ) -> TicketsSet:
        """Set the ticket prices per user type (and of the series' later sessions)."""
        sessions: list[SessionRead] = await tickets.set_prices(actor, session_id, data)
        return TicketsSet(sessions=sessions)

    @post(
        "/registrations/{registration_id:int}/receive",
        status_code=HTTP_200_OK,
        opt=PLACE_MANAGER,
    )
    async def receive(
        self,
        tickets: Tickets,
        actor: Me,
        registration_id: FromPath[int],
        data: JSONBody[ReceiveRequest],
    ) -> TicketRead:
        """Record the ticket's money received at the desk (the invoice follows)."""
        del data  # asked so the desk says it; printed nowhere yet (as for memberships)
        return await tickets.receive(actor, registration_id)


class TicketController(Controller):
    """People quote, register and pay for a priced session, and read their ticket."""

    path = "/api"
    tags = ["programme"]
    dependencies = DEPENDENCIES
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/sessions/{session_id:int}/quote", status_code=HTTP_200_OK, opt=USER)
    async def quote(
        self,
        tickets: Tickets,
        actor: Me,
        session_id: FromPath[int],
        data: JSONBody[TicketQuoteRequest],
    ) -> QuoteRead:
        """What registering costs me (or my organisation): lines, VAT, fingerprint."""
        return await tickets.quote(actor, session_id, data.seats, data.organisation_id)

    @post("/sessions/{session_id:int}/tickets", status_code=HTTP_201_CREATED, opt=USER)
    async def order(
        self,
        tickets: Tickets,
        actor: Me,
        session_id: FromPath[int],
        data: JSONBody[TicketOrder],
    ) -> TicketRead:
        """Register at the quoted price (409 price_changed when it moved) and pay: on site,
        on invoice (organisations) or by card (the seats held while paying)."""
        return await tickets.order(actor, session_id, data)

    # "booking" scope: the registration's person, or a manager of its session's place.
    @post("/registrations/{registration_id:int}/ticket", status_code=HTTP_200_OK, opt=BOOKING)
    async def ticket(self, state: State, actor: Me, registration_id: FromPath[int]) -> TicketRead:
        """A registration's ticket: create its PaymentIntent when due by card, or fetch it
        back from Stripe and apply it (paid: invoiced, confirmed)."""
        return await refresh_ticket(billing_of(state), actor, registration_id)


CONTROLLERS = [TicketPriceController, TicketController]
