"""How people pay at a place: the payment methods of each user type (billing settings).

Each user type either follows the place's default row or has methods of its own; a type whose
ticks equal the default's is stored as following it, so the default keeps leading it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from billing.schemas import BillingSettingsRead, BillingSettingsWrite
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import i18n_of, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

METHODS = {
    "on_site": N_("On site"),
    "invoice": N_("On invoice"),
    "card": N_("By card"),
}
# The columns' short headings (the boxes' labels are the long words above).
HEADINGS = {"on_site": N_("On site"), "invoice": N_("Invoice"), "card": N_("Card")}
# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


@dataclass
class PaymentForm:
    """The ticked boxes, each ``user type:method`` (``*`` is the default row)."""

    methods: Repeated = field(default_factory=list)


@dataclass(frozen=True)
class MethodRow:
    """One row of the form: a user type (or the default) and its ticked methods."""

    code: str
    label: str
    ticked: frozenset[str]


def ticked_of(form: PaymentForm) -> set[str]:
    """The boxes ticked, as sent."""
    return {form.methods} if isinstance(form.methods, str) else set(form.methods)


def form_of(settings: BillingSettingsRead, user_types: list[UserTypeRead]) -> PaymentForm:
    """The form as stored: a type without methods of its own shows the default's."""
    stored = settings.payment_methods
    default = stored.get(ANY_TYPE, [])
    ticks = [f"{ANY_TYPE}:{m}" for m in default]
    for user_type in user_types:
        ticks += [f"{user_type.code}:{m}" for m in stored.get(user_type.code, default)]
    return PaymentForm(methods=ticks)


def check_form(
    form: PaymentForm, user_types: list[UserTypeRead]
) -> tuple[Errors, dict[str, list[str]]]:
    """Errors (a box that is not on the form) and the methods to store per user type."""
    codes = [ANY_TYPE, *(t.code for t in user_types)]
    chosen: dict[str, list[str]] = {code: [] for code in codes}
    for tick in sorted(ticked_of(form)):
        code, _, method = tick.partition(":")
        if code not in chosen or method not in METHODS:
            return {"methods": FieldError(N_("Tick only the boxes of this form."))}, {}
        chosen[code].append(method)
    default = chosen[ANY_TYPE]
    return {}, {
        code: methods
        for code, methods in chosen.items()
        if code == ANY_TYPE or sorted(methods) != sorted(default)
    }


class PaymentPages(Controller):
    """The payment methods of the places I manage."""

    path = "/manage/places/{place_id:int}/payments"
    dependencies = {**CATALOGUE, **PRICES, **STAFF}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        settings: BillingSettingsRead,
        user_types: list[UserTypeRead],
        form: PaymentForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        place = await catalogue.place_detail(settings.place_id, include_inactive=True)
        lang = i18n_of(request).lang
        ticked = ticked_of(form)
        rows = [
            MethodRow(
                code=code,
                label=label,
                ticked=frozenset(m for m in METHODS if f"{code}:{m}" in ticked),
            )
            for code, label in [
                (ANY_TYPE, ""),
                *((t.code, t.label_fr if lang == "fr" else t.label_en) for t in user_types),
            ]
        ]
        return place_page(
            request,
            "manage/payments.html",
            place,
            "/payments",
            status_code=status_code,
            rows=rows,
            methods=METHODS,
            headings=HEADINGS,
            card_available=settings.card_payments_available,
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def payments_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The payment methods each user type may use at a place, as a form."""
        settings = await prices.get_settings(actor, place_id)
        user_types = await staff.user_types(place_id)
        form = form_of(settings, user_types)
        return await self._page(request, catalogue, settings, user_types, form, {})

    @post("/", opt=PLACE_MANAGER)
    async def save_payments(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[PaymentForm],
    ) -> Response[Any]:
        """Save the payment methods per user type, keeping the other billing settings."""
        settings = await prices.get_settings(actor, place_id)
        user_types = await staff.user_types(place_id)
        errors, chosen = check_form(data, user_types)
        if not errors:
            try:
                write = BillingSettingsWrite.model_validate(
                    {
                        **settings.model_dump(exclude={"place_id", "card_payments_available"}),
                        "payment_methods": chosen,
                    }
                )
                async with db_session.begin_nested():
                    await prices.set_settings(actor, place_id, write, clock())
            except (InvalidInputError, ValidationError):
                errors = {"methods": FieldError(N_("Tick only the boxes of this form."))}
            else:
                return see_other(f"/manage/places/{place_id}/payments", notice="payments_saved")
        return await self._page(request, catalogue, settings, user_types, data, errors, 422)
