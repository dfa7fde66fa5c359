"""The invoices and credit notes of a place, newest first, with links to their page and PDF."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from billing.controllers import PAYMENTS
from billing.payments import PaymentService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from mutualab.web.pages.manage.common import AnyRequest, place_page
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

PER_PAGE = 50
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]


class InvoicePages(Controller):
    """Invoices of the places I manage."""

    path = "/manage/places/{place_id:int}/invoices"
    dependencies = {**CATALOGUE, **PAYMENTS}
    guards = [require_manager]

    @get("/", opt=PLACE_MANAGER)
    async def invoices(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        place_id: FromPath[int],
        page: PageNumber = 1,
    ) -> Template:
        """A page of the place's invoices and credit notes."""
        found = await payments.place_documents(actor, place_id, PER_PAGE, (page - 1) * PER_PAGE)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/invoices.html",
            place,
            "/invoices",
            documents=found.items,
            page_number=page,
            has_next=page * PER_PAGE < found.total,
            total=found.total,
            local_day=lambda moment: moment.astimezone(ZoneInfo(place.timezone)).date(),
        )
