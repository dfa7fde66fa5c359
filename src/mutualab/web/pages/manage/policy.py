"""The cancellation policy of a place: its deadline and approval (booking policies, place-wide)
and its refund tiers (billing settings); and its booking rules and quotas, for everyone and per
user type (``rules``).

Policies for one equipment, and the other billing settings, are kept as they are.
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
from billing.prices import PriceService
from billing.schemas import BillingSettingsRead, BillingSettingsWrite
from booking.controllers import AGENDA
from booking.rules import DEFAULT_CANCEL_DEADLINE_HOURS
from booking.schemas import PoliciesUpdate, PolicyRead, PolicyWrite
from booking.service import PlaceAgenda
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_whole, place_page
from mutualab.web.pages.manage.rules import (
    RulesForm,
    check_rules,
    policies_with,
    rule_rows,
    rules_form_of,
)
from mutualab.web.rendering import i18n_of, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

TIER_ROWS = 4
MAX_DEADLINE_HOURS = 2160
MAX_TIER_HOURS = 24 * 90

# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


@dataclass
class PolicyForm:
    """The policy form, as typed: the n-th tier's hours and percent go together."""

    deadline_hours: str = ""
    requires_approval: str = ""
    tier_hours: Repeated = field(default_factory=list)
    tier_percent: Repeated = field(default_factory=list)


@dataclass
class TierRow:
    """One refund tier of the form."""

    index: int
    hours: str
    percent: str


def _values(value: Repeated) -> list[str]:
    return [value] if isinstance(value, str) else value


def place_wide(policies: list[PolicyRead]) -> PolicyRead | None:
    """The policy of the whole place (no equipment, no user type), if any."""
    return next((p for p in policies if p.resource_id is None and p.user_type_code is None), None)


def form_of(policies: list[PolicyRead], settings: BillingSettingsRead) -> PolicyForm:
    """The form filled with what is stored."""
    policy = place_wide(policies)
    deadline = policy.cancel_deadline_hours if policy else None
    tiers = sorted(settings.refund_tiers, key=lambda t: -t.hours)
    return PolicyForm(
        deadline_hours="" if deadline is None else str(deadline),
        requires_approval="on" if policy and policy.requires_approval else "",
        tier_hours=[str(t.hours) for t in tiers],
        tier_percent=[str(t.percent) for t in tiers],
    )


def rows_of(form: PolicyForm) -> list[TierRow]:
    """The tier rows to show: what is typed, completed with empty rows."""
    hours, percents = _values(form.tier_hours)[:TIER_ROWS], _values(form.tier_percent)[:TIER_ROWS]
    percents += [""] * (len(hours) - len(percents))
    rows = [TierRow(i, h, p) for i, (h, p) in enumerate(zip(hours, percents, strict=False))]
    rows += [TierRow(i, "", "") for i in range(len(rows), TIER_ROWS)]
    return rows


def check_form(form: PolicyForm) -> tuple[Errors, int | None, list[tuple[int, int]]]:
    """Errors by field, the deadline (None: the default) and the (hours, percent) tiers."""
    errors: Errors = {}
    deadline: int | None = None
    if form.deadline_hours.strip():
        deadline = parse_whole(form.deadline_hours, 0, MAX_DEADLINE_HOURS)
        if deadline is None:
            errors["deadline_hours"] = FieldError(
                N_("Enter a whole number of hours from 0 to %(n)s."), {"n": MAX_DEADLINE_HOURS}
            )
    tiers: list[tuple[int, int]] = []
    for row in rows_of(form):
        if not row.hours.strip() and not row.percent.strip():
            continue
        hours = parse_whole(row.hours, 0, MAX_TIER_HOURS)
        percent = parse_whole(row.percent, 0, 100)
        if hours is None:
            errors[f"tier-hours-{row.index}"] = FieldError(
                N_("Enter a whole number of hours from 0 to %(n)s."), {"n": MAX_TIER_HOURS}
            )
        if percent is None:
            errors[f"tier-percent-{row.index}"] = FieldError(
                N_("Enter a percentage from 0 to 100.")
            )
        if hours is not None and percent is not None:
            tiers.append((hours, percent))
    return errors, deadline, tiers


class PolicyPages(Controller):
    """The cancellation policy of the places I manage."""

    path = "/manage/places/{place_id:int}/policy"
    dependencies = {**CATALOGUE, **AGENDA, **PRICES, **STAFF}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        place_id: int,
        form: PolicyForm,
        errors: Errors,
        status_code: int = 200,
        *,
        user_types: list[UserTypeRead],
        rules: RulesForm,
        rule_errors: Errors | None = None,
    ) -> Template:
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/policy.html",
            place,
            "/policy",
            status_code=status_code,
            form=form,
            tiers=rows_of(form),
            errors=errors,
            default_deadline=DEFAULT_CANCEL_DEADLINE_HOURS,
            rules=rule_rows(rules, user_types, i18n_of(request).lang),
            rule_errors=rule_errors or {},
        )

    @get("/", opt=PLACE_MANAGER)
    async def policy_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The cancellation policy, and the booking rules and quotas per user type, as forms."""
        policies = await agenda.policies(actor, place_id)
        settings = await prices.get_settings(actor, place_id)
        user_types = await staff.user_types(place_id)
        return await self._page(
            request,
            catalogue,
            place_id,
            form_of(policies, settings),
            {},
            user_types=user_types,
            rules=rules_form_of(policies, user_types),
        )

    @post("/", opt=PLACE_MANAGER)
    async def save_policy(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[PolicyForm],
    ) -> Response[Any]:
        """Save the place-wide policy and the refund tiers together, or show what to correct."""
        policies = await agenda.policies(actor, place_id)
        settings = await prices.get_settings(actor, place_id)
        user_types = await staff.user_types(place_id)
        errors, deadline, tiers = check_form(data)
        if not errors:
            current = place_wide(policies)
            kept = [
                PolicyWrite.model_validate(p.model_dump(exclude={"id"}))
                for p in policies
                if p is not current
            ]
            base = current.model_dump(exclude={"id"}) if current else {}
            whole = PolicyWrite.model_validate(
                {
                    **base,
                    "cancel_deadline_hours": deadline,
                    # A place-wide policy may require approval; unticked, the equipment decides.
                    "requires_approval": True if data.requires_approval == "on" else None,
                }
            )
            write = BillingSettingsWrite.model_validate(
                {
                    **settings.model_dump(exclude={"place_id", "card_payments_available"}),
                    "refund_tiers": [{"hours": h, "percent": p} for h, p in tiers],
                }
            )
            try:
                async with db_session.begin_nested():
                    await agenda.set_policies(
                        actor, place_id, PoliciesUpdate(policies=[*kept, whole])
                    )
                    await prices.set_settings(actor, place_id, write, clock())
            except (InvalidInputError, ValidationError):
                errors = {
                    "tier-hours-0": FieldError(
                        N_(
                            "Two tiers have the same notice, or cancelling earlier refunds less "
                            "than cancelling later: check the tiers."
                        )
                    )
                }
            else:
                return see_other(f"/manage/places/{place_id}/policy", notice="policy_saved")
        return await self._page(
            request,
            catalogue,
            place_id,
            data,
            errors,
            422,
            user_types=user_types,
            rules=rules_form_of(policies, user_types),
        )

    @post("/rules", opt=PLACE_MANAGER)
    async def save_rules(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        prices: NamedDependency[PriceService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[RulesForm],
    ) -> Response[Any]:
        """Save how far ahead, the notice and the weekly quota, for everyone and per user type."""
        policies = await agenda.policies(actor, place_id)
        settings = await prices.get_settings(actor, place_id)
        user_types = await staff.user_types(place_id)
        errors, rules = check_rules(data, user_types)
        if not errors:
            try:
                async with db_session.begin_nested():
                    await agenda.set_policies(
                        actor, place_id, PoliciesUpdate(policies=policies_with(policies, rules))
                    )
            except (InvalidInputError, ValidationError):
                errors = {"rules": FieldError(N_("These rules cannot be saved: check them."))}
            else:
                return see_other(f"/manage/places/{place_id}/policy", notice="rules_saved")
        return await self._page(
            request,
            catalogue,
            place_id,
            form_of(policies, settings),
            {},
            422,
            user_types=user_types,
            rules=data,
            rule_errors=errors,
        )
