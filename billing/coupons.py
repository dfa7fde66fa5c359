"""Coupons: managed by a place, entered at quote time, spent once per booking at checkout.

A code is looked up at the place of the quote. Quoting refuses a code that cannot be used now
(unknown: 422; expired, not started, used up, used up for this person, not for this rate or
these resources: 409 with its own code). Checkout applies the coupon only if it still can be
used; if not, the quote it computes differs from the one the person saw, and checkout answers
``409 price_changed``. The use itself is counted by one conditional UPDATE in the checkout's
transaction (:meth:`CouponRepository.take_use`): the last use cannot be spent twice.

A coupon naming plans (``plan_ids``) discounts the first period of a subscription to one of
them, and no booking (``coupon_only_for_plans``); one naming no plan discounts bookings only
(``coupon_not_for_plan``), so a place's welcome code for bookings does not discount memberships.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing.adjustments import CouponTerms
from billing.coupon_models import Coupon, CouponRedemption
from billing.coupon_repository import CouponRepository
from billing.coupon_schemas import CouponRead, CouponUseRead, CouponWrite
from billing.plan_repository import PlanRepository
from billing.repository import BillingRepository
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, InvalidInputError, NotFoundError
from resources.models import Place
from resources.service import CatalogueService

_REFUSALS = {
    "coupon_not_started": "This code cannot be used yet.",
    "coupon_expired": "This code has expired.",
    "coupon_exhausted": "This code has been used as many times as it may be.",
    "coupon_limit_reached": "You have used this code as many times as you may.",
    "coupon_not_for_rate": "This code is not offered at your rate.",
    "coupon_not_for_resources": "This code does not apply to what you are booking.",
    "coupon_only_for_plans": "This code is for memberships, not bookings.",
    "coupon_not_for_plan": "This code does not apply to this membership.",
}


def normalise(code: str) -> str:
    """A code as stored and compared: trimmed, upper case."""
    return code.strip().upper()


def terms_of(coupon: Coupon) -> CouponTerms:
    """The coupon as the quote applies it."""
    assert coupon.id is not None
    return CouponTerms(
        coupon_id=coupon.id,
        code=coupon.code,
        percent=Decimal(coupon.percent_bp).scaleb(-2) if coupon.percent_bp is not None else None,
        amount_cents=coupon.amount_cents,
        resource_ids=frozenset(int(r) for r in coupon.resource_ids) or None,
    )


def stored_terms(terms: CouponTerms) -> dict[str, object]:
    """The coupon kept with a payment's quote, so a move re-prices with the same discount."""
    return {
        "coupon_id": terms.coupon_id,
        "code": terms.code,
        "percent": f"{terms.percent:.2f}" if terms.percent is not None else None,
        "amount_cents": terms.amount_cents,
        "resource_ids": sorted(terms.resource_ids) if terms.resource_ids is not None else None,
    }


def terms_from(stored: object) -> CouponTerms | None:
    """The coupon a payment's quote was computed with (None: none)."""
    if not isinstance(stored, dict):
        return None
    ids = stored.get("resource_ids")
    return CouponTerms(
        coupon_id=int(stored["coupon_id"]),
        code=str(stored["code"]),
        percent=Decimal(stored["percent"]) if stored.get("percent") is not None else None,
        amount_cents=stored.get("amount_cents"),
        resource_ids=frozenset(int(i) for i in ids) if ids is not None else None,
    )


def refusal(
    coupon: Coupon,
    place: Place,
    user_type: str,
    resource_ids: Sequence[int],
    now: datetime,
    plan_id: int | None = None,
) -> str | None:
    """Why a coupon cannot be used now for this booking (or, given ``plan_id``, for
    subscribing to that plan), as a code (None: it can)."""
    today = now.astimezone(ZoneInfo(place.timezone)).date()
    if coupon.valid_from is not None and today < coupon.valid_from:
        return "coupon_not_started"
    if coupon.valid_until is not None and today > coupon.valid_until:
        return "coupon_expired"
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return "coupon_exhausted"
    if coupon.user_types and user_type not in coupon.user_types:
        return "coupon_not_for_rate"
    if plan_id is not None:
        return None if plan_id in {int(p) for p in coupon.plan_ids} else "coupon_not_for_plan"
    if coupon.plan_ids:
        return "coupon_only_for_plans"
    if coupon.resource_ids and not set(resource_ids) & {int(r) for r in coupon.resource_ids}:
        return "coupon_not_for_resources"
    return None


class Coupons:
    """A place's coupons for its managers; their use by quotes and checkout."""

    def __init__(
        self, repository: CouponRepository, billing: BillingRepository, catalogue: CatalogueService
    ) -> None:
        self.repo = repository
        self.billing = billing
        self.catalogue = catalogue

    # managers ---------------------------------------------------------------------------
    @staticmethod
    def read(coupon: Coupon) -> CouponRead:
        """A coupon as the API shows it."""
        assert coupon.id is not None
        return CouponRead(
            id=coupon.id,
            place_id=coupon.place_id,
            code=coupon.code,
            description=coupon.description,
            percent=(
                f"{Decimal(coupon.percent_bp).scaleb(-2):.2f}"
                if coupon.percent_bp is not None
                else None
            ),
            amount_cents=coupon.amount_cents,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            max_uses=coupon.max_uses,
            max_uses_per_person=coupon.max_uses_per_person,
            uses=coupon.uses,
            user_types=[str(t) for t in coupon.user_types],
            resource_ids=[int(r) for r in coupon.resource_ids],
            plan_ids=[int(p) for p in coupon.plan_ids],
            active=coupon.active,
            created_at=coupon.created_at,
            updated_at=coupon.updated_at,
        )

    async def of_place(self, actor: Actor, place_id: int) -> list[CouponRead]:
        """The coupons of a place."""
        await self.catalogue.managed_place(actor, place_id)
        return [self.read(c) for c in await self.repo.of_place(place_id)]

    async def _managed(self, actor: Actor, place_id: int, coupon_id: int) -> Coupon:
        await self.catalogue.managed_place(actor, place_id)
        coupon = await self.repo.get(place_id, coupon_id)
        if coupon is None:
            raise NotFoundError(f"No coupon with id {coupon_id}.", code="coupon_not_found")
        return coupon

    async def get(self, actor: Actor, place_id: int, coupon_id: int) -> CouponRead:
        """A coupon of a place."""
        return self.read(await self._managed(actor, place_id, coupon_id))

    async def save(
        self,
        actor: Actor,
        place_id: int,
        data: CouponWrite,
        now: datetime,
        coupon_id: int | None = None,
    ) -> CouponRead:
        """Create a coupon, or replace one (its uses stay counted)."""
        if coupon_id is None:
            await self.catalogue.managed_place(actor, place_id)
            coupon = Coupon(place_id=place_id, code="", created_at=now)
        else:
            coupon = await self._managed(actor, place_id, coupon_id)
        await self._check(place_id, data, coupon)
        code = normalise(data.code)
        if code != coupon.code and await self.repo.by_code(place_id, code) is not None:
            raise ConflictError(
                f"The code {code} is already a coupon of this place.", code="coupon_code_taken"
            )
        coupon.code = code
        coupon.description = data.description
        coupon.percent_bp = int(data.percent.scaleb(2)) if data.percent is not None else None
        coupon.amount_cents = data.amount_cents
        coupon.valid_from = data.valid_from
        coupon.valid_until = data.valid_until
        coupon.max_uses = data.max_uses
        coupon.max_uses_per_person = data.max_uses_per_person
        coupon.user_types = sorted(set(data.user_types))
        coupon.resource_ids = sorted(set(data.resource_ids))
        coupon.plan_ids = sorted(set(data.plan_ids))
        coupon.active = data.active
        coupon.updated_at = now
        await self.repo.add(coupon)
        return self.read(coupon)

    async def _check(self, place_id: int, data: CouponWrite, coupon: Coupon) -> None:
        if (data.percent is None) == (data.amount_cents is None):
            raise InvalidInputError(
                "Give either a percentage or an amount.", field="percent", code="coupon_kind"
            )
        if (
            data.valid_from is not None
            and data.valid_until is not None
            and data.valid_until < data.valid_from
        ):
            raise InvalidInputError(
                "The last day is before the first.", field="valid_until", code="invalid_dates"
            )
        if data.max_uses is not None and data.max_uses < coupon.uses:
            raise InvalidInputError(
                f"This code has been used {coupon.uses} times already.",
                field="max_uses",
                code="below_uses",
            )
        codes = await self.billing.user_type_codes()
        for index, user_type in enumerate(data.user_types):
            if user_type not in codes:
                raise InvalidInputError(
                    f"Unknown user type {user_type!r}.",
                    field=f"user_types[{index}]",
                    code="unknown_user_type",
                )
        found = await self.catalogue.resources_by_ids(data.resource_ids)
        for index, resource_id in enumerate(data.resource_ids):
            resource = found.get(resource_id)
            if resource is None or resource.place_id != place_id:
                raise InvalidInputError(
                    f"Resource {resource_id} is not a resource of this place.",
                    field=f"resource_ids[{index}]",
                    code="resource_not_found",
                )
        if data.plan_ids and data.resource_ids:
            raise InvalidInputError(
                "A code is for memberships or for equipment, not both.",
                field="plan_ids",
                code="coupon_plans_and_resources",
            )
        offered = {
            p.id
            for p in await PlanRepository(self.repo.session).plans_at(place_id, active_only=False)
        }
        for index, plan_id in enumerate(data.plan_ids):
            if plan_id not in offered:
                raise InvalidInputError(
                    f"Plan {plan_id} is not offered at this place.",
                    field=f"plan_ids[{index}]",
                    code="plan_not_found",
                )

    async def uses(self, actor: Actor, place_id: int, coupon_id: int) -> list[CouponUseRead]:
        """Who used a coupon, newest first."""
        coupon = await self._managed(actor, place_id, coupon_id)
        assert coupon.id is not None
        return [
            CouponUseRead(
                id=use.id or 0,
                user_id=use.user_id,
                display_name=user.display_name,
                email=user.email,
                booking_id=use.booking_id,
                payment_id=use.payment_id,
                plan_charge_id=use.plan_charge_id,
                discount_cents=use.discount_cents,
                created_at=use.created_at,
                released_at=use.released_at,
            )
            for use, user in await self.repo.redemptions(coupon.id)
        ]

    # quotes and checkout ------------------------------------------------------------------
    async def terms(
        self,
        code: str,
        place: Place,
        user_type: str,
        user_id: int | None,
        resource_ids: Sequence[int],
        now: datetime,
        *,
        strict: bool,
        plan_id: int | None = None,
    ) -> CouponTerms | None:
        """The coupon a code names for this booking (or subscribing to ``plan_id``); ``strict``
        refuses one that cannot be used (a quote), otherwise it is None (checkout: the price
        then changed)."""
        assert place.id is not None
        coupon = await self.repo.by_code(place.id, normalise(code))
        if coupon is None or not coupon.active:
            if not strict:
                return None
            raise InvalidInputError(
                "This code is not a coupon of this place.",
                field="coupon_code",
                code="coupon_unknown",
            )
        why = refusal(coupon, place, user_type, resource_ids, now, plan_id)
        if why is None and user_id is not None and coupon.max_uses_per_person is not None:
            assert coupon.id is not None
            if await self.repo.uses_of_person(coupon.id, user_id) >= coupon.max_uses_per_person:
                why = "coupon_limit_reached"
        if why is None:
            return terms_of(coupon)
        if not strict:
            return None
        raise ConflictError(_REFUSALS[why], code=why, extra={"coupon_code": coupon.code})

    async def redeem(
        self,
        terms: CouponTerms,
        user_id: int,
        booking_id: int | None,
        payment_id: int | None,
        discount_cents: int,
        now: datetime,
        *,
        plan_charge_id: int | None = None,
    ) -> bool:
        """Spend one use for a booking's payment (or a membership period's charge); False when
        none is left (for anyone, or for this person)."""
        taken, per_person = await self.repo.take_use(terms.coupon_id, now)
        if not taken:
            return False
        # The row lock of the UPDATE serialises this person's other checkouts behind this one.
        if (
            per_person is not None
            and await self.repo.uses_of_person(terms.coupon_id, user_id) >= per_person
        ):
            return False
        await self.repo.add(
            CouponRedemption(
                coupon_id=terms.coupon_id,
                user_id=user_id,
                booking_id=booking_id,
                payment_id=payment_id,
                plan_charge_id=plan_charge_id,
                discount_cents=discount_cents,
                created_at=now,
            )
        )
        return True

    async def release(
        self, payment_id: int | None, now: datetime, *, plan_charge_id: int | None = None
    ) -> None:
        """Give back the use of a payment whose booking (or of a membership period's charge
        that) ended with nothing paid (once)."""
        if plan_charge_id is not None:
            use = await self.repo.redemption_of_plan_charge(plan_charge_id, lock=True)
        else:
            assert payment_id is not None
            use = await self.repo.redemption_of_payment(payment_id, lock=True)
        if use is None or use.released_at is not None:
            return
        use.released_at = now
        await self.repo.add(use)
        await self.repo.give_back(use.coupon_id, now)
