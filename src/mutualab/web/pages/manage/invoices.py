"""The invoices and credit notes of a place, newest first, as a treasurer reads them (whom each
bills, its purchase order, its due date, paid or not; found by words, month of issue and state),
with links to their page and PDF; and how the place invoices what is paid on invoice (per
booking, or grouped per purchase order and month or quarter; when; the payment terms; its VAT
number), the rest of its billing settings kept as they are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import PAYMENTS
from billing.invoice_periods import InvoiceIssue, InvoicePeriod
from billing.ledger_list import InvoiceState, LedgerFilter, month_of
from billing.payments import PaymentService
from billing.schemas import BillingSettingsRead, BillingSettingsWrite
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_whole, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

PER_PAGE = 50
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]
Words = Annotated[str, QueryParameter(max_length=100)]
Typed = Annotated[str, QueryParameter(max_length=20)]
STATES = {
    "unpaid": N_("To be paid"),
    "overdue": N_("Late"),
    "paid": N_("Paid in full"),
    "credited": N_("Cancelled by a credit note"),
    "credit_note": N_("Credit note"),
}
MAX_TERMS_DAYS = 60
VAT_NUMBER = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")
PERIODS = {
    "booking": N_("Per booking"),
    "month": N_("Per purchase order and month"),
    "quarter": N_("Per purchase order and quarter"),
}
ISSUES = {
    "at_booking": N_("At booking"),
    "period_start": N_("On the first day of the period"),
    "period_end": N_("On the first day after the period"),
}


@dataclass
class InvoicingForm:
    """How the place invoices, as typed."""

    invoice_period: str = "booking"
    invoice_issue: str = "at_booking"
    payment_terms_days: str = "30"
    seller_vat_number: str = ""


def form_of(settings: BillingSettingsRead) -> InvoicingForm:
    """The form filled with what is stored."""
    return InvoicingForm(
        invoice_period=settings.invoice_period,
        invoice_issue=settings.invoice_issue,
        payment_terms_days=str(settings.payment_terms_days),
        seller_vat_number=settings.seller_vat_number or "",
    )


def check_form(form: InvoicingForm) -> tuple[Errors, int | None, str | None]:
    """Errors by field, the payment terms and the VAT number (None: none)."""
    errors: Errors = {}
    if form.invoice_period not in set(InvoicePeriod):
        errors["invoice_period"] = FieldError(N_("Choose what one invoice covers from the list."))
    if form.invoice_issue not in set(InvoiceIssue):
        errors["invoice_issue"] = FieldError(N_("Choose when invoices are issued from the list."))
    days = parse_whole(form.payment_terms_days, 0, MAX_TERMS_DAYS)
    if days is None:
        errors["payment_terms_days"] = FieldError(
            N_("Enter a whole number of days from 0 to %(n)s."), {"n": MAX_TERMS_DAYS}
        )
    number = re.sub(r"\s", "", form.seller_vat_number).upper() or None
    if number is not None and not VAT_NUMBER.match(number):
        errors["seller_vat_number"] = FieldError(
            N_("Enter a VAT number such as FR40123456789 (country code, then 2 to 13 characters).")
        )
    return errors, days, number


class InvoicePages(Controller):
    """Invoices of the places I manage."""

    path = "/manage/places/{place_id:int}/invoices"
    dependencies = {**CATALOGUE, **PAYMENTS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        payments: PaymentService,
        place_id: int,
        page: int,
        form: InvoicingForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
        search: dict[str, str] | None = None,
    ) -> Template:
        search = search or {"q": "", "month": "", "status": ""}
        errors = dict(errors or {})
        month = month_of(search["month"])
        if search["month"] and month is None:
            errors["month"] = FieldError(N_("Choose a month."))
            status_code = 422
        state = search["status"] if search["status"] in STATES else None
        if search["status"] and state is None:
            errors["status"] = FieldError(N_("Choose a state from the list."))
            status_code = 422
        narrowed = LedgerFilter(search["q"], month, cast("InvoiceState | None", state))
        found = await payments.place_documents(
            actor, place_id, PER_PAGE, (page - 1) * PER_PAGE, narrowed
        )
        place = await catalogue.place_detail(place_id, include_inactive=True)
        if form is None:
            form = form_of(await payments.prices.get_settings(actor, place_id))
        return place_page(
            request,
            "manage/invoices.html",
            place,
            "/invoices",
            status_code=status_code,
            form=form,
            errors=errors,
            search=search,
            states=STATES,
            periods=PERIODS,
            issues=ISSUES,
            documents=found.items,
            page_number=page,
            has_next=page * PER_PAGE < found.total,
            filtered=any(search.values()),
            page_query=lambda number: urlencode({**search, "page": number}),
            total=found.total,
            local_day=lambda moment: moment.astimezone(ZoneInfo(place.timezone)).date(),
        )

    @get("/", opt=PLACE_MANAGER)
    async def invoices(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        place_id: FromPath[int],
        page: PageNumber = 1,
        q: Words = "",
        month: Typed = "",
        status: Typed = "",
    ) -> Template:
        """How the place invoices, and a page of its invoices and credit notes, found by
        client, number or purchase order, month of issue and state."""
        search = {"q": q.strip(), "month": month.strip(), "status": status}
        return await self._page(request, actor, catalogue, payments, place_id, page, search=search)

    @post("/settings", opt=PLACE_MANAGER)
    async def save_invoicing(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[InvoicingForm],
    ) -> Response[Any]:
        """Save how the place invoices, or show what to correct."""
        settings = await payments.prices.get_settings(actor, place_id)
        errors, days, number = check_form(data)
        if not errors:
            write = BillingSettingsWrite.model_validate(
                {
                    **settings.model_dump(exclude={"place_id", "card_payments_available"}),
                    "invoice_period": data.invoice_period,
                    "invoice_issue": data.invoice_issue,
                    "payment_terms_days": days,
                    "seller_vat_number": number,
                }
            )
            try:
                async with db_session.begin_nested():
                    await payments.prices.set_settings(actor, place_id, write, clock())
            except InvalidInputError as exc:
                if exc.code != "seller_vat_number_required":
                    raise
                errors = {
                    "seller_vat_number": FieldError(
                        N_(
                            "This place charges VAT: enter its VAT number to group its "
                            "invoices (every invoice charging VAT must state it)."
                        )
                    )
                }
            else:
                return see_other(f"/manage/places/{place_id}/invoices", notice="invoicing_saved")
        return await self._page(request, actor, catalogue, payments, place_id, 1, data, errors, 422)
