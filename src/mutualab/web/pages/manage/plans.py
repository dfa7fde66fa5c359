"""Membership plans of a place: those it offers (and the platform's), a form to add one, and
who holds what, with the money of a period due on site received at the desk.

The rules (who may subscribe, prices, VAT, periods, receiving) are billing's
(:mod:`billing.memberships`); this page only reads the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.memberships import MembershipService
from billing.plan_controllers import DEPENDENCIES as MEMBERSHIPS
from billing.plan_schemas import MembershipRead, PlanRead, PlanWrite
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_whole, place_page
from mutualab.web.pages.manage.offers import (
    checked_price,
    equipment_of,
    equipment_targets,
    save_checked,
    vat_of,
)
from mutualab.web.pages.manage.prices import VAT_CHOICES, VAT_LABELS
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

FIELDS = ["name", "period", "price", "vat", "discount", "horizon", "hours", "target"]
PERIODS = {
    "month": N_("A month from the day of subscribing"),
    "year": N_("A year from the day of subscribing"),
    "school_year": N_("A school year (1 September to 31 August)"),
}
STATES = {
    "pending": N_("awaiting payment by card"),
    "active": N_("active"),
    "renewing": N_("renewal awaiting payment"),
    "ended": N_("ended"),
    "lapsed": N_("lapsed (not paid)"),
    "cancelled": N_("cancelled (ends with its period)"),
}
CHARGES = {
    "pending": N_("to pay by card"),
    "awaiting_on_site": N_("to pay on site"),
    "invoiced": N_("invoiced"),
    "succeeded": N_("paid"),
    "free": N_("free"),
    "cancelled": N_("cancelled"),
}


@dataclass
class PlanForm:
    """A plan, as typed (checkboxes send "on" when ticked)."""

    name: str = ""
    period: str = "year"
    price: str = ""
    vat: str = "20"
    discount: str = "0"
    horizon: str = "0"
    hours: str = ""
    target: str = ""
    members_access: str = ""
    for_organisations: str = ""
    auto_renew: str = "on"


def check_form(form: PlanForm, place: PlaceRead) -> tuple[Errors, PlanWrite | None]:
    """Errors by field, or the plan to store."""
    errors: Errors = {}
    if not 1 <= len(form.name.strip()) <= 120:
        errors["name"] = FieldError(N_("Name the plan (120 characters at most)."))
    if form.period not in PERIODS:
        errors["period"] = FieldError(N_("Choose a period from the list."))
    price = checked_price(form.price, form.vat, errors)
    discount = parse_whole(form.discount or "0", 0, 100)
    if discount is None:
        errors["discount"] = FieldError(N_("Enter a whole percentage from 0 to 100."))
    horizon = parse_whole(form.horizon or "0", 0, 366)
    if horizon is None:
        errors["horizon"] = FieldError(N_("Enter a whole number of days from 0 to 366."))
    hours = parse_whole(form.hours, 1, 8784) if form.hours.strip() else 0
    if hours is None:
        errors["hours"] = FieldError(N_("Enter a whole number of hours, or leave it empty."))
    if hours and form.target not in equipment_targets(place):
        errors["target"] = FieldError(N_("Choose equipment or a kind of equipment."))
    if errors or price is None:
        return ordered(errors, FIELDS), None
    allowances = [{**equipment_of(form.target), "minutes": hours * 60}] if hours else []
    write = PlanWrite.model_validate(
        {
            "name": form.name.strip(),
            "period": form.period,
            "price_cents": price,
            "vat": vat_of(form.vat),
            "discount_percent": discount,
            "extra_horizon_days": horizon,
            "members_access": form.members_access == "on",
            "for_organisations": form.for_organisations == "on",
            "auto_renew": form.auto_renew == "on",
            "allowances": allowances,
        }
    )
    return {}, write


class PlanPages(Controller):
    """The membership plans of the places I manage, and their members."""

    path = "/manage/places/{place_id:int}/plans"
    dependencies = {**CATALOGUE, **MEMBERSHIPS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        place: PlaceRead,
        plans: list[PlanRead],
        holders: list[MembershipRead],
        form: PlanForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        names = {f"resource:{r.id}": r.name for r in place.resources}
        return place_page(
            request,
            "manage/plans.html",
            place,
            "/plans",
            status_code=status_code,
            plans=plans,
            holders=holders,
            names=names,
            periods=PERIODS,
            states=STATES,
            charges=CHARGES,
            vat_choices=VAT_CHOICES,
            vat_labels=VAT_LABELS,
            form=form,
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def plans_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        memberships: NamedDependency[MembershipService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
    ) -> Template:
        """The plans of a place, who holds them, and a form to add a plan."""
        holders = await memberships.at_place(actor, place_id, clock())
        place = await catalogue.place_detail(place_id, include_inactive=True)
        plans = await memberships.plans_at(place_id)
        return await self._page(request, place, plans, holders, PlanForm(), {})

    @post("/", opt=PLACE_MANAGER)
    async def add_plan(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        memberships: NamedDependency[MembershipService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[PlanForm],
    ) -> Response[Any]:
        """Add a plan, or show what to correct."""
        holders = await memberships.at_place(actor, place_id, clock())
        place = await catalogue.place_detail(place_id, include_inactive=True)
        errors = await save_checked(
            db_session,
            lambda: check_form(data, place),
            lambda write: memberships.save_plan(actor, place_id, write, clock()),
        )
        if errors is None:
            return see_other(f"/manage/places/{place_id}/plans", notice="plan_saved")
        plans = await memberships.plans_at(place_id)
        return await self._page(request, place, plans, holders, data, errors, 422)

    @post("/memberships/{membership_id:int}/receive", opt=PLACE_MANAGER)
    async def receive(
        self,
        actor: NamedDependency[Actor],
        memberships: NamedDependency[MembershipService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        membership_id: FromPath[int],
    ) -> Response[Any]:
        """Record the money of the period due on site (the invoice follows)."""
        read = await memberships.read(actor, membership_id, clock())
        if read.place_id != place_id or not actor.manages(place_id):
            return see_other(f"/manage/places/{place_id}/plans")
        await memberships.receive(actor, membership_id, clock())
        return see_other(f"/manage/places/{place_id}/plans", notice="membership_paid")
