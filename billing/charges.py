"""Billing's side of the charge gate (:mod:`booking.charging`): no priced booking without a
payment.

A request whose quote is free is booked as is. A priced one is refused with
``409 payment_required`` (checkout takes the payment), unless a manager of the place makes it:
then the booking is recorded as payable on site, or on invoice where the place takes only
invoices from that user type.

Most bookings are of free resources, and the hot path must not pay for prices it does not have:
each worker keeps a view of every place's price lists per catalogue revision
(:class:`PriceViews`; migration 0014 makes price lists move the counter), so a request whose
resources the view shows as free costs no statement. Anything else is priced by the one quote
computation checkout charges (:meth:`billing.prices.PriceService.price`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.prices import ANY_TYPE
from billing.repository import BillingRepository
from booking.charging import ChargeRequest, UnpaidCharge

if TYPE_CHECKING:
    from billing.runtime import Billing

MAX_VIEWS = 2_000  # places' price views kept per worker; the oldest goes first


@dataclass(frozen=True, slots=True)
class PriceView:
    """Which user types pay for a price list's resources, by scope (``resource:<id>``,
    ``kind:<kind>``): the set of user types (``*`` included) whose rate is not free."""

    lists: dict[str, frozenset[str]]
    typed: dict[str, frozenset[str]]  # every user type with a rate of its own, by scope

    def free(self, request: ChargeRequest) -> bool:
        """Whether every item is free for the request's user type, as far as the view shows
        (False: price it, which also refuses a user type the list does not serve)."""
        for rid, _ in request.items:
            resource = request.resources[rid]
            scope = f"resource:{rid}"
            if scope not in self.lists:
                scope = f"kind:{resource.kind}"
                if scope not in self.lists:
                    continue  # no price list: free
            rated = request.user_type if request.user_type in self.typed[scope] else ANY_TYPE
            if rated not in self.typed[scope] or rated in self.lists[scope]:
                return False
        return True


class PriceViews:
    """Each place's price view as of a catalogue revision, kept by one worker."""

    def __init__(self) -> None:
        self._views: OrderedDict[tuple[int, int], PriceView] = OrderedDict()

    def find(self, place_id: int, revision: int) -> PriceView | None:
        """The view of a place at ``revision``, if kept."""
        return self._views.get((place_id, revision))

    def keep(self, place_id: int, revision: int, view: PriceView) -> None:
        """Keep a view read after ``revision`` was (so it is never labelled newer than it is)."""
        self._views[(place_id, revision)] = view
        while len(self._views) > MAX_VIEWS:
            self._views.popitem(last=False)


async def load_view(repo: BillingRepository, place_id: int) -> PriceView:
    """A place's price view, read now (two statements)."""
    rows = await repo.price_lists_of(place_id)
    rates = await repo.rates_of([r.id for r in rows if r.id is not None])
    paying: dict[str, frozenset[str]] = {}
    typed: dict[str, frozenset[str]] = {}
    for row in rows:
        assert row.id is not None
        found = rates[row.id]
        typed[row.scope] = frozenset(r.user_type_code for r in found)
        paying[row.scope] = frozenset(
            r.user_type_code
            for r in found
            if not r.free and (r.hourly_cents or r.flat_fee_cents or r.minimum_cents)
        )
    return PriceView(paying, typed)


class Charges:
    """The charge gate the booking services ask (see :mod:`booking.charging`).

    Made before the booking services, which billing books through: the composition root
    attaches billing to it once both exist (:meth:`attach`), as for the billing listener.
    """

    def __init__(self, views: PriceViews | None = None) -> None:
        self.views = views if views is not None else PriceViews()
        self._billing: Billing | None = None

    def attach(self, billing: Billing) -> None:
        """Price requests through ``billing`` from now on."""
        self._billing = billing

    async def unpaid(self, session: AsyncSession, request: ChargeRequest) -> UnpaidCharge | None:
        """None for a free request; a manager's charge to record; ``payment_required``."""
        view = (
            self.views.find(request.place_id, request.revision)
            if request.revision is not None
            else None
        )
        if view is None:
            view = await load_view(BillingRepository(session), request.place_id)
            if request.revision is not None:
                self.views.keep(request.place_id, request.revision, view)
        if view.free(request):
            return None
        if self._billing is None:
            raise RuntimeError("The charge gate is asked before its billing is attached.")
        return await self._billing.services(session).unpaid_charge(request)
