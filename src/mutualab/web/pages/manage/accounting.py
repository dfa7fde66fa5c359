"""A place's books in its back office: download the FEC of a fiscal year, choose the first month
of the fiscal year and the account numbers, close an ended month or fiscal year, and list the
closed periods with their archives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from billing.accounting import Accounting
from billing.accounting_controllers import DEPENDENCIES
from billing.accounting_schemas import AccountingSettingsRead, AccountingSettingsWrite
from billing.closing import Closing
from billing.fec import ACCOUNT_KEYS, ACCOUNT_RE
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import ConflictError, InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_whole, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)
ACCOUNT_LABELS = {
    "sales": N_("Sales"),
    "customers": N_("Customers"),
    "bank": N_("Bank (card and transfer)"),
    "cash": N_("Cash"),
    "cheque": N_("Cheques"),
    "vat": N_("VAT collected (rates without their own account)"),
    "wallet": N_("Customers' advances (wallets)"),
    "wallet_gifts": N_("Wallet credits the place gives"),
}
CLOSING_REFUSALS = {
    "period_not_ended": N_("This period has not ended yet: close it from the day after."),
    "period_already_closed": N_("This period is closed already."),
    "siren_required": N_("Enter the SIRET of the place's operator first (Details)."),
}


@dataclass
class AccountsForm:
    """The fiscal year's first month and the account numbers, as typed."""

    fiscal_year_start_month: str = "1"
    sales: str = ""
    customers: str = ""
    bank: str = ""
    cash: str = ""
    cheque: str = ""
    vat: str = ""
    wallet: str = ""
    wallet_gifts: str = ""


@dataclass
class CloseForm:
    """A month (``YYYY-MM``) or a fiscal year (``YYYY``) to close."""

    kind: str = ""
    month: str = ""
    year: str = ""


def accounts_form(settings: AccountingSettingsRead) -> AccountsForm:
    """The form filled with what is stored."""
    return AccountsForm(
        fiscal_year_start_month=str(settings.fiscal_year_start_month),
        **{key: settings.accounts[key] for key in ACCOUNT_KEYS},
    )


def check_accounts(form: AccountsForm) -> tuple[Errors, int | None, dict[str, str]]:
    """Errors by field, the first month and the account numbers."""
    errors: Errors = {}
    start = parse_whole(form.fiscal_year_start_month, 1, 12)
    if start is None:
        errors["fiscal_year_start_month"] = FieldError(N_("Choose a month from the list."))
    accounts: dict[str, str] = {}
    for key in ACCOUNT_KEYS:
        number = "".join(str(getattr(form, key)).split()).upper()
        if ACCOUNT_RE.fullmatch(number) is None:
            errors[key] = FieldError(
                N_("Enter an account number: a digit, then 2 to 19 digits or capital letters.")
            )
        accounts[key] = number
    return errors, start, accounts


class AccountingPages(Controller):
    """The books of the places I manage."""

    path = "/manage/places/{place_id:int}/accounting"
    dependencies = {**CATALOGUE, **DEPENDENCIES}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        accounting: Accounting,
        closing: Closing,
        place_id: int,
        clock: Clock,
        *,
        form: AccountsForm | None = None,
        close: CloseForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        settings = await accounting.managed_settings(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        today = clock().date()
        return place_page(
            request,
            "manage/accounting.html",
            place,
            "/accounting",
            status_code=status_code,
            settings=settings,
            form=form or accounts_form(settings),
            close=close or CloseForm(),
            errors=errors or {},
            months=MONTHS,
            account_labels=ACCOUNT_LABELS,
            closed=await closing.closed(actor, place_id),
            this_year=today.year,
        )

    @get("/", opt=PLACE_MANAGER)
    async def books(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        accounting: NamedDependency[Accounting],
        closing: NamedDependency[Closing],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
    ) -> Template:
        """The FEC to download, the accounts, and the closed periods with their archives."""
        return await self._page(request, actor, catalogue, accounting, closing, place_id, clock)

    @post("/settings", opt=PLACE_MANAGER)
    async def save_accounts(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        accounting: NamedDependency[Accounting],
        closing: NamedDependency[Closing],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[AccountsForm],
    ) -> Response[Any]:
        """Save the fiscal year's first month and the account numbers, or show what to
        correct."""
        settings = await accounting.managed_settings(actor, place_id)
        errors, start, accounts = check_accounts(data)
        status = 422
        if not errors and start is not None:
            write = AccountingSettingsWrite(
                fiscal_year_start_month=start,
                accounts=accounts,
                vat_rates=settings.vat_rates,
            )
            try:
                await accounting.change_settings(actor, place_id, write, clock())
            except ConflictError:
                errors = {
                    "fiscal_year_start_month": FieldError(
                        N_("A fiscal year is closed: its first month can no longer change.")
                    )
                }
                status = 409
            else:
                return see_other(f"/manage/places/{place_id}/accounting", notice="accounting_saved")
        return await self._page(
            request,
            actor,
            catalogue,
            accounting,
            closing,
            place_id,
            clock,
            form=data,
            errors=errors,
            status_code=status,
        )

    @post("/close", opt=PLACE_MANAGER)
    async def close_period(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        accounting: NamedDependency[Accounting],
        closing: NamedDependency[Closing],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[CloseForm],
    ) -> Response[Any]:
        """Close an ended month or fiscal year, or say why not."""
        field = "year" if data.kind == "year" else "month"
        key = data.year.strip() if field == "year" else data.month.strip()
        errors: Errors = {}
        status = 422
        try:
            await closing.close(actor, place_id, field, key, clock())
        except InvalidInputError:
            errors[field] = FieldError(
                N_("Enter a fiscal year such as 2026.")
                if field == "year"
                else N_("Choose a month.")
            )
        except ConflictError as exc:
            if exc.code not in CLOSING_REFUSALS:
                raise
            errors[field] = FieldError(CLOSING_REFUSALS[exc.code])
            status = 409
        else:
            return see_other(f"/manage/places/{place_id}/accounting", notice="period_closed")
        return await self._page(
            request,
            actor,
            catalogue,
            accounting,
            closing,
            place_id,
            clock,
            close=data,
            errors=errors,
            status_code=status,
        )
