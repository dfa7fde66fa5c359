"""The promo codes of a place: add one (a percentage or an amount off, dates, limits, the
equipment or the memberships it is for), withdraw or restore it, and see who used it.

Coupons are billing's (``billing.coupons.Coupons``); the page only turns the form into its
request model and its refusals into field errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Controller, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.coupon_schemas import CouponRead, CouponUseRead, CouponWrite
from billing.coupons import Coupons
from billing.plan_repository import PlanRepository
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, app_error_field, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_cents, place_page
from mutualab.web.pages.manage.trainings import Repeated, chosen_resources
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

FIELDS = [
    "code",
    "kind",
    "value",
    "valid_from",
    "valid_until",
    "max_uses",
    "max_uses_per_person",
    "resource_ids",
    "plan_ids",
]
MESSAGES = {
    "code": FieldError(N_("Enter 3 to 32 letters, digits, dashes or underscores.")),
    "kind": FieldError(N_("Choose a percentage or an amount.")),
    "value": FieldError(N_("Enter a percentage from 0,01 to 100, or an amount like 5,00.")),
    "percent": FieldError(N_("Enter a percentage from 0,01 to 100, or an amount like 5,00.")),
    "amount_cents": FieldError(N_("Enter a percentage from 0,01 to 100, or an amount like 5,00.")),
    "valid_from": FieldError(N_("Enter a date like 2027-03-03, or leave it empty.")),
    "valid_until": FieldError(N_("Enter a date on or after the first day, or leave it empty.")),
    "max_uses": FieldError(N_("Enter a whole number from 1, at least the uses so far, or none.")),
    "max_uses_per_person": FieldError(N_("Enter a whole number from 1, or leave it empty.")),
    "resource_ids": FieldError(N_("Choose equipment of this place.")),
    "plan_ids": FieldError(N_("Choose memberships of this place, or equipment, not both.")),
    "coupon_code_taken": FieldError(N_("This place already has this code.")),
}
# The request model's names of the form's fields.
_FIELD_OF = {"percent": "value", "amount_cents": "value"}


@dataclass
class CouponForm:
    """A promo code to add, as typed."""

    code: str = ""
    kind: str = "percent"
    value: str = ""
    valid_from: str = ""
    valid_until: str = ""
    max_uses: str = ""
    max_uses_per_person: str = ""
    resource_ids: Repeated = field(default_factory=list)
    plan_ids: Repeated = field(default_factory=list)


@dataclass
class ActiveForm:
    """Withdraw (``0``) or restore (``1``) a code."""

    active: str = ""


def provide_coupons(db_session: NamedDependency[AsyncSession], state: State) -> Coupons:
    """Coupons in this request's transaction."""
    return billing_of(state).prices(db_session).coupons


def _plan_ids(data: CouponForm) -> list[int] | None:
    """The memberships ticked (None: something that is not an id)."""
    raw = [data.plan_ids] if isinstance(data.plan_ids, str) else data.plan_ids
    if not all(str(v).strip().isdigit() for v in raw):
        return None
    return sorted({int(v) for v in raw})


def _write(data: CouponForm, ids: set[int], errors: Errors) -> CouponWrite | None:
    """The request model of a form, or None with ``errors`` filled."""
    value = data.value.strip()
    body: dict[str, Any] = {
        "code": data.code.strip(),
        "valid_from": data.valid_from.strip() or None,
        "valid_until": data.valid_until.strip() or None,
        "max_uses": data.max_uses.strip() or None,
        "max_uses_per_person": data.max_uses_per_person.strip() or None,
        "resource_ids": sorted(ids),
        "plan_ids": _plan_ids(data) or [],
    }
    if _plan_ids(data) is None:
        errors["plan_ids"] = MESSAGES["plan_ids"]
    if data.kind == "percent":
        try:
            body["percent"] = Decimal(value.replace(",", ".").removesuffix("%").strip())
        except InvalidOperation:
            errors["value"] = MESSAGES["value"]
    elif data.kind == "amount":
        cents = parse_cents(value)
        if cents is None:
            errors["value"] = MESSAGES["value"]
        body["amount_cents"] = cents
    else:
        errors["kind"] = MESSAGES["kind"]
    try:
        made = CouponWrite.model_validate(body)
    except ValidationError as exc:
        for name, message in first_errors(exc, MESSAGES).items():
            errors.setdefault(_FIELD_OF.get(name, name), message)
        return None
    return None if errors else made


class CouponPages(Controller):
    """The promo codes of the places I manage."""

    path = "/manage/places/{place_id:int}/coupons"
    dependencies = {**CATALOGUE, "coupons": Provide(provide_coupons, sync_to_thread=False)}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        coupons: Coupons,
        place: PlaceRead,
        *,
        form: CouponForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        found: list[CouponRead] = await coupons.of_place(actor, place.id)
        plans = await PlanRepository(coupons.repo.session).plans_at(place.id, active_only=False)
        uses: dict[int, list[CouponUseRead]] = {
            c.id: await coupons.uses(actor, place.id, c.id) for c in found if c.uses
        }
        return place_page(
            request,
            "manage/coupons.html",
            place,
            "/coupons",
            status_code=status_code,
            coupons=found,
            uses=uses,
            names={r.id: r.name for r in place.resources},
            plans=[p for p in plans if p.active],
            plan_names={p.id: p.name for p in plans},
            form=form or CouponForm(),
            errors=errors or {},
        )

    async def _place(self, actor: Actor, catalogue: CatalogueService, place_id: int) -> PlaceRead:
        await catalogue.managed_place(actor, place_id)
        return await catalogue.place_detail(place_id, include_inactive=True)

    @get("/", opt=PLACE_MANAGER)
    async def coupons_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        coupons: NamedDependency[Coupons],
        place_id: FromPath[int],
    ) -> Template:
        """The promo codes of a place, their uses, and a form to add one."""
        place = await self._place(actor, catalogue, place_id)
        return await self._page(request, actor, coupons, place)

    @post("/", opt=PLACE_MANAGER)
    async def add_coupon(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        coupons: NamedDependency[Coupons],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[CouponForm],
    ) -> Response[Any]:
        """Add a promo code."""
        place = await self._place(actor, catalogue, place_id)
        errors: Errors = {}
        ids = chosen_resources(place, data.resource_ids)
        if ids is None:
            errors["resource_ids"] = MESSAGES["resource_ids"]
        made = _write(data, ids or set(), errors)
        if made is not None:
            try:
                await coupons.save(actor, place_id, made, clock())
            except AppError as exc:
                if isinstance(exc, NotFoundError):
                    raise
                name = app_error_field(exc) or "code"
                name = _FIELD_OF.get(name, name.split("[")[0])
                errors[name] = MESSAGES.get(exc.code, MESSAGES.get(name, MESSAGES["code"]))
        if made is None or errors:
            return await self._page(
                request,
                actor,
                coupons,
                place,
                form=data,
                errors=ordered(errors, FIELDS),
                status_code=422,
            )
        return see_other(f"/manage/places/{place_id}/coupons", notice="coupon_created")

    @post("/{coupon_id:int}/active", opt=PLACE_MANAGER)
    async def set_active(
        self,
        actor: NamedDependency[Actor],
        coupons: NamedDependency[Coupons],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        coupon_id: FromPath[int],
        data: URLEncodedBody[ActiveForm],
    ) -> Response[Any]:
        """Withdraw a promo code (it can no longer be entered) or restore it."""
        current = await coupons.get(actor, place_id, coupon_id)
        write = CouponWrite.model_validate(
            {
                **current.model_dump(
                    include={
                        "code",
                        "description",
                        "amount_cents",
                        "valid_from",
                        "valid_until",
                        "max_uses",
                        "max_uses_per_person",
                        "user_types",
                        "resource_ids",
                        "plan_ids",
                    }
                ),
                "percent": current.percent,
                "active": data.active == "1",
            }
        )
        await coupons.save(actor, place_id, write, clock(), coupon_id)
        notice = "coupon_restored" if write.active else "coupon_withdrawn"
        return see_other(f"/manage/places/{place_id}/coupons", notice=notice)
