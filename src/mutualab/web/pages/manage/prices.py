"""Prices of a place: its price lists (per equipment or kind), and a form to set one rate.

A price list holds one rate per user type; the form changes the rate of one user type and
keeps the others of the same list (the billing service replaces a list as a whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.schemas import UserTypeRead
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from billing.controllers import PRICES
from billing.prices import ANY_TYPE, PriceService
from billing.schemas import PriceListRead, PriceListWrite
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web import messages
from mutualab.web.forms import Errors, FieldError, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_cents, place_page
from mutualab.web.rendering import i18n_of, see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

FIELDS = ["target", "user_type", "hourly", "flat_fee", "vat"]
# The VAT choices of the form: value -> (kind, rate in percent for taxable regimes).
VAT_CHOICES: dict[str, tuple[str, Decimal | None]] = {
    "20": ("taxable", Decimal(20)),
    "10": ("taxable", Decimal(10)),
    "5.5": ("taxable", Decimal("5.5")),
    "exempt": ("exempt", None),
    "out_of_scope": ("out_of_scope", None),
    "franchise": ("franchise", None),
}
VAT_LABELS = {
    "taxable": N_("VAT %(rate)s %%"),
    "exempt": N_("Exempt from VAT (bare room hire)"),
    "out_of_scope": N_("Outside the scope of VAT (public body)"),
    "franchise": N_("VAT franchise (small business)"),
}


@dataclass
class RateForm:
    """One rate of one price list, as typed (amounts excluding VAT)."""

    target: str = ""
    user_type: str = ""
    hourly: str = ""
    flat_fee: str = ""
    vat: str = "20"


def target_of(price_list: PriceListRead) -> str:
    """The form's value naming a price list's equipment or kind."""
    if price_list.resource_id is not None:
        return f"resource:{price_list.resource_id}"
    return f"kind:{price_list.resource_kind}"


def check_form(
    form: RateForm, place: PlaceRead, user_types: list[UserTypeRead]
) -> tuple[Errors, int | None, int | None]:
    """Errors by field, and the hourly and flat amounts in cents when valid."""
    errors: Errors = {}
    targets = {f"resource:{r.id}" for r in place.resources} | {
        f"kind:{k}" for k in messages.KIND_SHORT
    }
    if form.target not in targets:
        errors["target"] = FieldError(N_("Choose equipment or a kind of equipment."))
    if form.user_type not in {t.code for t in user_types} | {ANY_TYPE}:
        errors["user_type"] = FieldError(N_("Choose a rate from the list."))
    hourly = parse_cents(form.hourly)
    if hourly is None:
        errors["hourly"] = FieldError(N_("Enter an amount in euros, like 12,50."))
    flat = parse_cents(form.flat_fee) if form.flat_fee.strip() else 0
    if flat is None:
        errors["flat_fee"] = FieldError(N_("Enter an amount in euros, like 12,50."))
    if form.vat not in VAT_CHOICES:
        errors["vat"] = FieldError(N_("Choose a VAT regime from the list."))
    return ordered(errors, FIELDS), hourly, flat


def price_list_write(
    form: RateForm, hourly: int, flat: int, existing: PriceListRead | None
) -> PriceListWrite:
    """The whole list to store: the other user types' rates kept, this one's set."""
    kind, rate = VAT_CHOICES[form.vat]
    scope, _, value = form.target.partition(":")
    kept = [
        {
            "user_type": r.user_type,
            "hourly_cents": r.hourly_cents,
            "per_unit": r.per_unit,
            "flat_fee_cents": r.flat_fee_cents,
            "minimum_cents": r.minimum_cents,
            "free": r.free,
        }
        for r in (existing.rates if existing else [])
        if r.user_type != form.user_type
    ]
    return PriceListWrite.model_validate(
        {
            "resource_id": int(value) if scope == "resource" else None,
            "resource_kind": value if scope == "kind" else None,
            "vat": {"kind": kind, "rate": rate},
            "rates": [
                *kept,
                {"user_type": form.user_type, "hourly_cents": hourly, "flat_fee_cents": flat},
            ],
        }
    )


class PricePages(Controller):
    """Prices of the places I manage."""

    path = "/manage/places/{place_id:int}/prices"
    dependencies = {**CATALOGUE, **PRICES, **STAFF}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        place: PlaceRead,
        price_lists: list[PriceListRead],
        user_types: list[UserTypeRead],
        form: RateForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        lang = i18n_of(request).lang
        labels = {t.code: (t.label_fr if lang == "fr" else t.label_en) for t in user_types}
        names = {f"resource:{r.id}": r.name for r in place.resources}
        return place_page(
            request,
            "manage/prices.html",
            place,
            "/prices",
            status_code=status_code,
            price_lists=price_lists,
            target_of=target_of,
            target_names=names,
            type_label=lambda code: labels.get(code, code),
            user_types=[(t.code, labels[t.code]) for t in user_types],
            vat_choices=VAT_CHOICES,
            vat_labels=VAT_LABELS,
            # "20.00" -> "20", "5.50" -> "5,5": rates as people write them.
            vat_rate=lambda rate: i18n_of(request).number(Decimal(rate).normalize()),
            form=form,
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def prices_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The price lists of a place, and a form to set a rate."""
        price_lists = await prices.managed_price_lists(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        user_types = await staff.user_types(place_id)
        return await self._page(request, place, price_lists, user_types, RateForm(), {})

    @post("/", opt=PLACE_MANAGER)
    async def set_rate(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[RateForm],
    ) -> Response[Any]:
        """Set the rate of one user type in one price list, or show what to correct."""
        price_lists = await prices.managed_price_lists(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        user_types = await staff.user_types(place_id)
        errors, hourly, flat = check_form(data, place, user_types)
        if not errors and hourly is not None and flat is not None:
            existing = next((p for p in price_lists if target_of(p) == data.target), None)
            try:
                write = price_list_write(data, hourly, flat, existing)
                async with db_session.begin_nested():
                    await prices.set_price_list(actor, place_id, write, clock())
            except (ValidationError, InvalidInputError):
                errors = {"hourly": FieldError(N_("This price cannot be saved: check it."))}
            else:
                return see_other(f"/manage/places/{place_id}/prices", notice="price_saved")
        return await self._page(request, place, price_lists, user_types, data, errors, 422)
