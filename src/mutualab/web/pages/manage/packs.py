"""Packs of prepaid hours of a place: those it sells (withdraw or restore one), a form to add
one, and who holds what, with the money of a pack bought on site received at the desk.

The rules (prices, VAT, validity, who may buy, receiving) are billing's (:mod:`billing.packs`);
this page only reads the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.pack_controllers import DEPENDENCIES as PACKS
from billing.pack_schemas import PackRead, PackWrite
from billing.packs import PackService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import NotFoundError
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
from mutualab.web.pages.manage.plans import CHARGES
from mutualab.web.pages.manage.prices import VAT_CHOICES, VAT_LABELS
from mutualab.web.pages.packs import MOVEMENTS, STATES
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

FIELDS = ["name", "hours", "target", "price", "vat", "days"]


@dataclass
class PackForm:
    """A pack, as typed: the price includes VAT, as people pay it."""

    name: str = ""
    hours: str = ""
    target: str = ""
    price: str = ""
    vat: str = "20"
    days: str = "365"


def check_form(form: PackForm, place: PlaceRead) -> tuple[Errors, PackWrite | None]:
    """Errors by field, or the pack to store."""
    errors: Errors = {}
    if not 1 <= len(form.name.strip()) <= 120:
        errors["name"] = FieldError(N_("Name the pack (120 characters at most)."))
    hours = parse_whole(form.hours, 1, 8784)
    if hours is None:
        errors["hours"] = FieldError(N_("Enter a whole number of hours, at least 1."))
    if form.target not in equipment_targets(place):
        errors["target"] = FieldError(N_("Choose equipment or a kind of equipment."))
    price = checked_price(form.price, form.vat, errors)
    days = parse_whole(form.days, 1, 3660)
    if days is None:
        errors["days"] = FieldError(N_("Enter a whole number of days from 1 to 3660."))
    if errors or price is None or hours is None:
        return ordered(errors, FIELDS), None
    write = PackWrite.model_validate(
        {
            "name": form.name.strip(),
            "minutes": hours * 60,
            **equipment_of(form.target),
            "price_cents": price,
            "amounts_include_vat": True,
            "vat": vat_of(form.vat),
            "validity_days": days,
        }
    )
    return {}, write


def _as_write(pack: PackRead, active: bool) -> PackWrite:
    """A pack's terms as its replacement, only ``active`` changed."""
    return PackWrite.model_validate(
        {
            "name": pack.name,
            "description": pack.description,
            "minutes": pack.minutes,
            "resource_id": pack.resource_id,
            "resource_kind": pack.resource_kind,
            "price_cents": pack.price_cents,
            "amounts_include_vat": False,
            "vat": {
                "kind": pack.vat.kind,
                "rate": pack.vat.rate if pack.vat.kind == "taxable" else None,
                "mention": pack.vat.mention,
            },
            "validity_days": pack.validity_days,
            "valid_until": pack.valid_until,
            "user_types": pack.user_types,
            "active": active,
        }
    )


class PackPages(Controller):
    """The packs of prepaid hours of the places I manage, and who holds them."""

    path = "/manage/places/{place_id:int}/packs"
    dependencies = {**CATALOGUE, **PACKS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        packs: PackService,
        place_id: int,
        form: PackForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        holders = await packs.holders(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/packs.html",
            place,
            "/packs",
            status_code=status_code,
            packs=await packs.offered(actor, place_id),
            holders=holders,
            names={r.id: r.name for r in place.resources},
            states=STATES,
            charges=CHARGES,
            movements=MOVEMENTS,
            vat_choices=VAT_CHOICES,
            vat_labels=VAT_LABELS,
            form=form,
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def packs_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        packs: NamedDependency[PackService],
        place_id: FromPath[int],
    ) -> Template:
        """The packs of a place, who holds them, and a form to add a pack."""
        return await self._page(request, actor, catalogue, packs, place_id, PackForm(), {})

    @post("/", opt=PLACE_MANAGER)
    async def add_pack(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        packs: NamedDependency[PackService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[PackForm],
    ) -> Response[Any]:
        """Add a pack, or show what to correct."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        errors = await save_checked(
            db_session,
            lambda: check_form(data, place),
            lambda write: packs.save(actor, place_id, write, clock()),
        )
        if errors is None:
            return see_other(f"/manage/places/{place_id}/packs", notice="pack_saved")
        return await self._page(request, actor, catalogue, packs, place_id, data, errors, 422)

    @post("/{pack_id:int}/active", opt=PLACE_MANAGER)
    async def toggle(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        packs: NamedDependency[PackService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        pack_id: FromPath[int],
    ) -> Response[Any]:
        """Withdraw a pack from sale, or offer it again (packs held are unchanged)."""
        await catalogue.managed_place(actor, place_id)
        found = {p.id: p for p in await packs.offered(actor, place_id)}.get(pack_id)
        if found is None:
            raise NotFoundError(f"No pack with id {pack_id}.", code="pack_not_found")
        await packs.save(actor, place_id, _as_write(found, not found.active), clock(), pack_id)
        return see_other(f"/manage/places/{place_id}/packs", notice="pack_saved")

    @post("/holdings/{holding_id:int}/receive", opt=PLACE_MANAGER)
    async def receive(
        self,
        actor: NamedDependency[Actor],
        packs: NamedDependency[PackService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        holding_id: FromPath[int],
    ) -> Response[Any]:
        """Record the money of a pack bought on site (the invoice follows)."""
        read = await packs.read(actor, holding_id)
        if read.place_id != place_id or not actor.manages(place_id):
            return see_other(f"/manage/places/{place_id}/packs")
        await packs.receive(actor, holding_id, clock())
        return see_other(f"/manage/places/{place_id}/packs", notice="pack_received")
