"""Membership plans and memberships: defined by a place's managers (or the platform's
administrators), subscribed, paid and invoiced period by period, renewed, lapsed, cancelled.

A period is charged once (``plan_charge``) and invoiced in the place's one chain: on invoice,
when the period is created (organisations only); on site or by card, once paid. On site and on
invoice, the benefits start at once; by card, when the PaymentIntent is paid (fetched back from
Stripe, never a browser's word). Stripe is called after commit (:mod:`billing.plan_cards`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.plans import (
    MembershipPlan,
    PeriodStatus,
    PlanAllowance,
    PlanSubscription,
    SubscriptionPeriod,
)
from billing.adjustments import COUPON, Adjustments, CouponTerms
from billing.charge_setup import INITIAL_STATUS, due_on, invoice_parties, start_card_intent
from billing.coupons import terms_from
from billing.invoicing import DocumentService
from billing.models import BillingDocument, PaymentStatus, PlanCharge
from billing.payments import summary
from billing.plan_periods import LocalPeriod, period_of
from billing.plan_quote import period_quote, plan_vat, stored_period_quote
from billing.plan_repository import PlanRepository
from billing.plan_schemas import (
    AllowanceRead,
    ChargeRead,
    MembershipRead,
    MembershipState,
    PeriodRead,
    PlanQuoteRead,
    PlanQuoteRequest,
    PlanRead,
    PlanWrite,
    SubscribeRequest,
)
from billing.prices import (
    PriceService,
    adjustment_reads,
    breakdown_reads,
    check_user_types,
    regime_of,
)
from billing.pricing import Quote, VatRegime, incl_vat_cents
from billing.providers.base import IntentState
from billing.repository import BillingRepository
from billing.schemas import VatRead
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from kernel.events import publish
from resources.models import Place
from resources.service import CatalogueService

# A renewal's period (and its charge) is made this long before the current one ends.
RENEW_AHEAD = timedelta(days=7)
# The member is reminded this long before their last period ends.
REMIND_AHEAD = timedelta(days=14)
RENEWAL_DUE = "membership.renewal_due"
# A member renews by hand (a plan that does not renew itself) this long before the end.
RENEW_WINDOW = timedelta(days=30)
# A period still unpaid by card or on site this long after it started lapses.
LAPSE_AFTER = timedelta(days=14)
_INITIAL = {
    **INITIAL_STATUS,
    # Paid as soon as the wallet's share is taken, in the same transaction.
    "wallet": PaymentStatus.PENDING,
}
PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.FREE)


def _vat_of(plan: MembershipPlan) -> VatRegime:
    return plan_vat(plan.vat_kind, plan.vat_rate_bp, plan.vat_mention)


def _local(period: SubscriptionPeriod, tz: ZoneInfo) -> tuple[date, date]:
    first = period.starts_at.astimezone(tz).date()
    last = (period.ends_at.astimezone(tz) - timedelta(days=1)).date()
    return first, last


def charge_read(charge: PlanCharge, documents: Sequence[BillingDocument]) -> ChargeRead:
    """A charge (a period's, a ticket's, a pack's) as the API shows it (the client secret
    while due)."""
    return ChargeRead(
        id=charge.id or 0,
        method=charge.method,
        status=charge.status,
        amount_cents=charge.amount_cents,
        wallet_cents=charge.wallet_cents,
        currency=charge.currency,
        due_on=charge.due_on,
        paid_at=charge.paid_at,
        client_secret=charge.client_secret if charge.status == PaymentStatus.PENDING else None,
        documents=[summary(d) for d in documents],
    )


def _not_found(plan_id: int) -> NotFoundError:
    return NotFoundError(f"No plan with id {plan_id}.", code="plan_not_found")


def _membership_not_found(membership_id: int) -> NotFoundError:
    return NotFoundError(f"No membership with id {membership_id}.", code="membership_not_found")


def _label(plan: MembershipPlan, local: LocalPeriod) -> str:
    last = local.after - timedelta(days=1)
    return f"Adhésion « {plan.name} » du {local.first:%d/%m/%Y} au {last:%d/%m/%Y}"


@dataclass(frozen=True, slots=True)
class _Subscriber:
    """Who subscribes to which plan where, once allowed to."""

    plan: MembershipPlan
    place: Place
    organisation_id: int | None
    user_type: str


@dataclass(frozen=True, slots=True)
class FirstPeriod:
    """The first period of a subscription as quoted: its days and its price after a coupon
    and the wallet (renewals are at the plan's full price)."""

    local: LocalPeriod
    quote: Quote
    coupon: CouponTerms | None

    @property
    def coupon_cents(self) -> int:
        """What the coupon takes off, VAT included."""
        return -sum(a.total_incl_vat_cents for a in self.quote.adjustments if a.kind == COUPON)


class _Moved(Exception):
    """The coupon's last use or the wallet's euros went elsewhere since the quote."""


@dataclass(frozen=True, slots=True)
class Renewals:
    """What one pass of the renewal job did."""

    renewed: int = 0
    lapsed: int = 0
    reminded: int = 0


class MembershipService:
    """Plans, memberships, their periods and charges on one session."""

    def __init__(
        self,
        repository: PlanRepository,
        prices: PriceService,
        documents: DocumentService,
        catalogue: CatalogueService,
        *,
        card_available: bool,
    ) -> None:
        self.repo = repository
        self.prices = prices
        self.documents = documents
        self.catalogue = catalogue
        self.billing = BillingRepository(repository.session)
        self.card_available = card_available

    # plans ------------------------------------------------------------------------------
    async def plan_reads(self, plans: list[MembershipPlan]) -> list[PlanRead]:
        """Plans as the API shows them."""
        allowances = await self.repo.allowances([p.id for p in plans if p.id is not None])
        reads = []
        for plan in plans:
            assert plan.id is not None
            vat = _vat_of(plan)
            reads.append(
                PlanRead(
                    id=plan.id,
                    place_id=plan.place_id,
                    name=plan.name,
                    description=plan.description,
                    user_types=list(plan.user_types),
                    for_organisations=plan.for_organisations,
                    period=plan.period,
                    school_year_month=plan.school_year_month,
                    school_year_day=plan.school_year_day,
                    price_cents=plan.price_cents,
                    price_incl_vat_cents=incl_vat_cents(plan.price_cents, vat),
                    vat=VatRead(kind=vat.kind.value, rate=f"{vat.rate:.2f}", mention=vat.mention),
                    auto_renew=plan.auto_renew,
                    discount_percent=plan.discount_percent,
                    members_access=plan.members_access,
                    extra_horizon_days=plan.extra_horizon_days,
                    allowances=[
                        AllowanceRead(
                            resource_id=a.resource_id,
                            resource_kind=a.resource_kind,
                            minutes=a.minutes,
                        )
                        for a in allowances[plan.id]
                    ],
                    active=plan.active,
                )
            )
        return reads

    async def plans_at(self, place_id: int) -> list[PlanRead]:
        """The plans offered at a place (its own and the platform's), active ones."""
        await self.catalogue.require_place(place_id)
        return await self.plan_reads(await self.repo.plans_at(place_id, active_only=True))

    async def save_plan(
        self,
        actor: Actor,
        place_id: int | None,
        data: PlanWrite,
        now: datetime,
        plan_id: int | None = None,
    ) -> PlanRead:
        """Create a plan of ``place_id`` (None: the platform's, administrators only), or
        replace plan ``plan_id``."""
        plan: MembershipPlan | None = None
        if plan_id is not None:
            plan = await self.repo.plan(plan_id, lock=True)
            if plan is None:
                raise _not_found(plan_id)
            place_id = plan.place_id
        if place_id is None:
            if not actor.is_admin:
                if plan_id is not None:
                    raise _not_found(plan_id)
                raise ForbiddenError(
                    "Only platform administrators define platform-wide plans.",
                    code="not_an_admin",
                )
        else:
            try:
                await self.catalogue.managed_place(actor, place_id)
            except NotFoundError:
                if plan_id is not None:
                    raise _not_found(plan_id) from None
                raise
        vat = regime_of(data.vat)
        await check_user_types(self.billing, data.user_types)
        allowances = await self._allowances(place_id, data)
        plan = plan or MembershipPlan(place_id=place_id, name=data.name, period=data.period)
        plan.name = data.name
        plan.description = data.description
        plan.user_types = list(dict.fromkeys(data.user_types))
        plan.for_organisations = data.for_organisations
        plan.period = data.period
        plan.school_year_month = data.school_year_month
        plan.school_year_day = data.school_year_day
        plan.price_cents = data.price_cents
        plan.vat_kind = vat.kind.value
        plan.vat_rate_bp = int(vat.rate.scaleb(2))
        plan.vat_mention = vat.mention
        plan.auto_renew = data.auto_renew
        plan.discount_percent = data.discount_percent
        plan.members_access = data.members_access
        plan.extra_horizon_days = data.extra_horizon_days
        plan.active = data.active
        plan.updated_at = now
        await self.repo.add(plan)
        assert plan.id is not None
        for row in allowances:
            row.plan_id = plan.id
        await self.repo.replace_allowances(plan.id, allowances)
        return (await self.plan_reads([plan]))[0]

    async def _allowances(self, place_id: int | None, data: PlanWrite) -> list[PlanAllowance]:
        rows = []
        for index, item in enumerate(data.allowances):
            field = f"allowances[{index}]"
            if (item.resource_id is None) == (item.resource_kind is None):
                raise InvalidInputError(
                    "Give either resource_id or resource_kind.",
                    field=f"{field}.resource_id",
                    code="allowance_target",
                )
            if item.resource_id is not None:
                resource = await self.catalogue.resources_by_ids([item.resource_id])
                found = resource.get(item.resource_id)
                if found is None or found.place_id != place_id:
                    raise InvalidInputError(
                        f"Resource {item.resource_id} is not a resource of this place.",
                        field=f"{field}.resource_id",
                        code="resource_not_found",
                    )
            rows.append(
                PlanAllowance(
                    plan_id=0,
                    resource_id=item.resource_id,
                    resource_kind=item.resource_kind,
                    minutes=item.minutes,
                )
            )
        return rows

    # memberships ------------------------------------------------------------------------
    async def _subscriber(
        self, actor: Actor, plan_id: int, data: PlanQuoteRequest
    ) -> tuple[int, _Subscriber]:
        """The caller's user id and what they subscribe to, or why they may not."""
        if actor.user_id is None:
            raise ForbiddenError(
                "Memberships are held by a user account, not an admin token.",
                code="user_account_required",
            )
        plan = await self.repo.plan(plan_id)
        if plan is None or not plan.active:
            raise _not_found(plan_id)
        place_id = plan.place_id if plan.place_id is not None else data.place_id
        if place_id is None:
            raise InvalidInputError(
                "Say at which place to hold this platform-wide plan.",
                field="place_id",
                code="place_required",
            )
        if plan.place_id is not None and data.place_id not in (None, plan.place_id):
            raise InvalidInputError(
                "This plan is held at its own place.", field="place_id", code="plan_place"
            )
        place = await self.catalogue.require_place(place_id)
        organisation_id = data.organisation_id
        user_type = actor.user_type_at(place_id)
        if organisation_id is not None:
            if not actor.administers(organisation_id):
                raise ForbiddenError(
                    "Only an administrator of the organisation subscribes for it.",
                    code="not_organisation_admin",
                )
            if not plan.for_organisations:
                raise ConflictError(
                    "This plan is for people, not organisations.", code="plan_not_for_you"
                )
            organisation = await self.billing.organisation(organisation_id)
            user_type = organisation.user_type_code if organisation is not None else user_type
        elif plan.user_types and user_type not in plan.user_types:
            raise ConflictError(
                f"This plan is for {', '.join(plan.user_types)}; your rate here is {user_type}.",
                code="plan_not_for_you",
                extra={"user_types": list(plan.user_types), "user_type": user_type},
            )
        if data.use_wallet and organisation_id is not None:
            raise InvalidInputError(
                "A wallet is a person's: it does not pay an organisation's membership.",
                field="use_wallet",
                code="wallet_not_for_organisations",
            )
        return actor.user_id, _Subscriber(plan, place, organisation_id, user_type)

    async def _first_period(
        self,
        user_id: int,
        who: _Subscriber,
        data: PlanQuoteRequest,
        now: datetime,
        *,
        strict: bool,
    ) -> FirstPeriod:
        """The first period's price through the quote pipeline (:func:`period_quote`): the
        coupon a discount line, the wallet a means of payment. ``strict`` refuses a code that
        cannot be used (a quote); otherwise it is left out (subscribing: the price changed)."""
        plan, place = who.plan, who.place
        assert plan.id is not None and place.id is not None
        tz = ZoneInfo(place.timezone)
        local = period_of(
            plan.period,
            now.astimezone(tz).date(),
            0,
            school_month=plan.school_year_month,
            school_day=plan.school_year_day,
        )
        terms = None
        if data.coupon_code is not None and data.coupon_code.strip():
            terms = await self.prices.coupons.terms(
                data.coupon_code,
                place,
                who.user_type,
                user_id,
                [],
                now,
                strict=strict,
                plan_id=plan.id,
            )
        wallet = await self.prices.wallets.balance(place.id, user_id) if data.use_wallet else 0
        quote = period_quote(
            _label(plan, local),
            plan.price_cents,
            _vat_of(plan),
            local.instants(tz)[0],
            Adjustments(coupon=terms, wallet_cents=wallet),
        )
        return FirstPeriod(local, quote, terms)

    def _quote_read(self, who: _Subscriber, first: FirstPeriod) -> PlanQuoteRead:
        quote = first.quote
        assert who.plan.id is not None and who.place.id is not None
        line = quote.lines[0]
        return PlanQuoteRead(
            plan_id=who.plan.id,
            place_id=who.place.id,
            user_type=who.user_type,
            currency=quote.currency,
            label=line.label,
            first_day=first.local.first,
            last_day=first.local.after - timedelta(days=1),
            price_excl_vat_cents=line.total_excl_vat_cents,
            price_incl_vat_cents=line.total_incl_vat_cents,
            adjustments=adjustment_reads(quote),
            coupon_code=first.coupon.code if first.coupon is not None else None,
            breakdown=breakdown_reads(quote),
            total_excl_vat_cents=quote.total_excl_vat_cents,
            total_vat_cents=quote.total_vat_cents,
            total_incl_vat_cents=quote.total_incl_vat_cents,
            wallet_cents=quote.wallet_cents,
            due_cents=quote.due_cents,
            mentions=list(quote.mentions),
            fingerprint=quote.fingerprint(),
        )

    async def quote(
        self, actor: Actor, plan_id: int, data: PlanQuoteRequest, now: datetime
    ) -> PlanQuoteRead:
        """The first period's price for the caller, after a coupon and their wallet."""
        user_id, who = await self._subscriber(actor, plan_id, data)
        return self._quote_read(who, await self._first_period(user_id, who, data, now, strict=True))

    def _price_changed(self, who: _Subscriber, first: FirstPeriod) -> ConflictError:
        """409 ``price_changed`` with the first period's price as it is now."""
        return ConflictError(
            "The price changed since it was quoted: check the new price and try again.",
            code="price_changed",
            extra={"quote": self._quote_read(who, first).model_dump(mode="json")},
        )

    async def subscribe(
        self, actor: Actor, plan_id: int, data: SubscribeRequest, now: datetime
    ) -> MembershipRead:
        """Hold a plan from today: its first period, priced as quoted (a coupon, the wallet),
        charged and (paid by the wallet, or on invoice) invoiced."""
        user_id, who = await self._subscriber(actor, plan_id, data)
        plan, organisation_id, user_type = who.plan, who.organisation_id, who.user_type
        place_id = who.place.id
        assert place_id is not None
        if (data.coupon_code or data.use_wallet) and data.quote_fingerprint is None:
            raise InvalidInputError(
                "Quote the price first (POST /api/plans/{id}/quote) and send its fingerprint.",
                field="quote_fingerprint",
                code="quote_required",
            )
        # A coupon that can no longer be used is left out, the wallet's share follows its
        # balance: either way the price then changed.
        first = await self._first_period(user_id, who, data, now, strict=False)
        if (
            data.quote_fingerprint is not None
            and first.quote.fingerprint() != data.quote_fingerprint
        ):
            raise self._price_changed(who, first)
        method = data.payment_method
        if method == "invoice" and organisation_id is None:
            raise ConflictError(
                "Paying on invoice is for organisations.",
                code="invoice_not_allowed",
            )
        if method == "card" and not self.card_available and first.quote.due_cents > 0:
            raise ConflictError(
                "Card payments are not available on this instance.",
                code="card_payments_unavailable",
            )
        holder = f"org:{organisation_id}" if organisation_id is not None else f"user:{user_id}"
        await self.repo.lock_holder(f"{plan_id}:{place_id}:{holder}")
        for held in await self.repo.holder_memberships(plan_id, place_id, user_id, organisation_id):
            assert held.id is not None
            periods = (await self.repo.periods([held.id]))[held.id]
            # A cancelled membership still runs to the end of its period: not a second one.
            if any(
                p.ends_at > now and p.status in (PeriodStatus.ACTIVE, PeriodStatus.PENDING)
                for p in periods
            ):
                raise ConflictError(
                    "You already hold this plan here.",
                    code="already_subscribed",
                    extra={"membership_id": held.id},
                )
        membership = PlanSubscription(
            plan_id=plan_id,
            place_id=place_id,
            user_id=user_id,
            organisation_id=organisation_id,
            user_type_code=user_type,
            payment_method=method,
            purchase_order=data.purchase_order,
            auto_renew=data.auto_renew and plan.auto_renew,
            created_at=now,
        )
        await self.repo.add(membership)
        try:
            await self._new_period(plan, membership, first.local.first, 0, now, first)
        except _Moved:
            # The coupon's last use or the wallet's euros went elsewhere since the quote:
            # nothing is subscribed (the request's transaction is rolled back).
            raise self._price_changed(
                who, await self._first_period(user_id, who, data, now, strict=False)
            ) from None
        return (await self._reads([membership], now))[0]

    async def _new_period(
        self,
        plan: MembershipPlan,
        membership: PlanSubscription,
        start_day: date,
        sequence: int,
        now: datetime,
        first: FirstPeriod | None = None,
    ) -> SubscriptionPeriod:
        """Period ``sequence`` of the membership begun on ``start_day``, with its charge: at the
        plan's price, or the first period as quoted (``first``: after a coupon and the wallet,
        whose use and share are taken here; a period the wallet pays whole is paid and
        invoiced at once)."""
        assert membership.id is not None
        place = await self.catalogue.require_place(membership.place_id)
        tz = ZoneInfo(place.timezone)
        local: LocalPeriod = period_of(
            plan.period,
            start_day,
            sequence,
            school_month=plan.school_year_month,
            school_day=plan.school_year_day,
        )
        starts_at, ends_at = local.instants(tz)
        if first is not None:
            quote, coupon = first.quote, first.coupon
        else:
            quote = period_quote(_label(plan, local), plan.price_cents, _vat_of(plan), starts_at)
            coupon = None
        free = quote.is_free
        method = "wallet" if not free and not quote.due_cents else membership.payment_method
        period = SubscriptionPeriod(
            subscription_id=membership.id,
            sequence=sequence,
            starts_at=starts_at,
            ends_at=ends_at,
            status=PeriodStatus.PENDING if method == "card" and not free else PeriodStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(period)
        assert period.id is not None
        settings = await self.prices.settings_of(membership.place_id)
        charged = "free" if free else method
        charge = PlanCharge(
            period_id=period.id,
            place_id=membership.place_id,
            payer_user_id=membership.user_id,
            organisation_id=membership.organisation_id,
            method=charged,
            # The wallet's share is taken by the caller, in this transaction.
            status=PaymentStatus.FREE if free else _INITIAL[method],
            amount_cents=quote.due_cents,
            wallet_cents=quote.wallet_cents,
            quote=stored_period_quote(quote, coupon),
            purchase_order=membership.purchase_order,
            due_on=due_on(charged, now.astimezone(tz).date(), settings.payment_terms_days),
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(charge)
        if first is not None:
            await self._take(first, charge, now)
        if method == "wallet":
            await self._paid(charge, PaymentStatus.SUCCEEDED, now)
        elif method == "invoice" and not free:
            await self._invoice(plan, membership, charge, local, now)
        elif method == "card" and not free:
            await start_card_intent(self.repo.session, charge.id, f"membership-intent-{charge.id}")
        return period

    async def _take(self, first: FirstPeriod, charge: PlanCharge, now: datetime) -> None:
        """Take the coupon's use and the wallet's share of the first period, each by its
        conditional UPDATE (the last use, the last euros: one taker wins); :class:`_Moved`
        when either is gone."""
        assert charge.id is not None
        if first.coupon is not None and not await self.prices.coupons.redeem(
            first.coupon,
            charge.payer_user_id,
            None,
            None,
            first.coupon_cents,
            now,
            plan_charge_id=charge.id,
        ):
            raise _Moved
        if first.quote.wallet_cents and not await self.prices.wallets.spend(
            charge.place_id,
            charge.payer_user_id,
            first.quote.wallet_cents,
            None,
            None,
            now,
            plan_charge_id=charge.id,
        ):
            raise _Moved

    async def _invoice(
        self,
        plan: MembershipPlan,
        membership: PlanSubscription,
        charge: PlanCharge,
        local: LocalPeriod,
        now: datetime,
    ) -> None:
        seller, buyer = await invoice_parties(
            self.catalogue,
            self.prices,
            self.billing,
            membership.place_id,
            membership.user_id,
            membership.organisation_id,
        )
        await self.documents.issue_plan_invoice(
            seller,
            buyer,
            charge,
            {
                "id": membership.id,
                "plan_id": plan.id,
                "plan": plan.name,
                "first_day": local.first.isoformat(),
                "last_day": (local.after - timedelta(days=1)).isoformat(),
                "timezone": seller[0].timezone,
            },
            now,
        )

    async def _paid(self, charge: PlanCharge, status: PaymentStatus, now: datetime) -> None:
        """The charge is paid: its period counts, and it is invoiced."""
        assert charge.period_id is not None
        period = await self.repo.period(charge.period_id, lock=True)
        assert period is not None
        membership = await self.repo.membership(period.subscription_id)
        assert membership is not None
        plan = await self.repo.plan(membership.plan_id)
        assert plan is not None
        charge.status = status
        charge.paid_at = now
        charge.updated_at = now
        if period.status == PeriodStatus.PENDING:
            period.status = PeriodStatus.ACTIVE
            period.updated_at = now
        await self.repo.add(charge, period)
        if charge.method != "invoice":
            place = await self.catalogue.require_place(membership.place_id)
            tz = ZoneInfo(place.timezone)
            first, last = _local(period, tz)
            await self._invoice(
                plan, membership, charge, LocalPeriod(first, last + timedelta(days=1)), now
            )

    async def _give_back(self, charge: PlanCharge, reason: str, now: datetime) -> None:
        """A period that ended with nothing paid gives back its coupon use and what the wallet
        paid (each once: the use is marked released, the wallet's share counted given back)."""
        assert charge.id is not None
        if terms_from(charge.quote.get("coupon")) is not None:
            await self.prices.coupons.release(None, now, plan_charge_id=charge.id)
        left = charge.wallet_cents - charge.wallet_refunded_cents
        if left > 0:
            await self.prices.wallets.give_back(
                charge.place_id,
                charge.payer_user_id,
                left,
                None,
                None,
                reason,
                now,
                plan_charge_id=charge.id,
            )
            charge.wallet_refunded_cents += left
            charge.updated_at = now
            await self.repo.add(charge)

    async def visible(
        self, actor: Actor, membership_id: int, *, lock: bool = False
    ) -> PlanSubscription:
        """A membership its holder, its organisation's members or its place's managers see."""
        membership = await self.repo.membership(membership_id, lock=lock)
        if membership is None or not (
            actor.manages(membership.place_id)
            or (membership.organisation_id is None and membership.user_id == actor.user_id)
            or (
                membership.organisation_id is not None
                and actor.member_of(membership.organisation_id)
            )
        ):
            raise _membership_not_found(membership_id)
        return membership

    async def receive(self, actor: Actor, membership_id: int, now: datetime) -> MembershipRead:
        """A manager records the money of the membership's period due on site."""
        membership = await self.repo.membership(membership_id, lock=True)
        if membership is None or not actor.manages(membership.place_id):
            raise _membership_not_found(membership_id)
        assert membership.id is not None
        periods = (await self.repo.periods([membership.id]))[membership.id]
        charges = await self.repo.charges([p.id for p in periods if p.id is not None])
        due = [
            charges[p.id]
            for p in periods
            if p.id in charges and charges[p.id].status == PaymentStatus.AWAITING_ON_SITE
        ]
        if not due:
            raise ConflictError("Nothing is due on site.", code="nothing_due")
        locked = await self.repo.charge(due[0].id or 0, lock=True)
        assert locked is not None
        await self._paid(locked, PaymentStatus.SUCCEEDED, now)
        return (await self._reads([membership], now))[0]

    async def cancel(self, actor: Actor, membership_id: int, now: datetime) -> MembershipRead:
        """End the membership at the end of its current period: no renewal; a renewed period
        not started, not paid and not invoiced is withdrawn."""
        membership = await self.visible(actor, membership_id, lock=True)
        if (
            membership.organisation_id is not None
            and not actor.administers(membership.organisation_id)
            and not actor.manages(membership.place_id)
        ):
            raise ForbiddenError(
                "Only an administrator of the organisation cancels its membership.",
                code="not_organisation_admin",
            )
        if membership.cancelled_at is not None:
            raise ConflictError("This membership is already cancelled.", code="already_cancelled")
        membership.cancelled_at = now
        membership.auto_renew = False
        assert membership.id is not None
        periods = (await self.repo.periods([membership.id]))[membership.id]
        charges = await self.repo.charges([p.id for p in periods if p.id is not None])
        documents = await self.repo.documents([c.id for c in charges.values() if c.id is not None])
        for period in periods:
            charge = charges.get(period.id or 0)
            if (
                period.starts_at > now
                and charge is not None
                and charge.status not in PAID
                and not documents.get(charge.id or 0)
            ):
                period.status = PeriodStatus.CANCELLED
                period.updated_at = now
                charge.status = PaymentStatus.CANCELLED
                charge.updated_at = now
                await self.repo.add(period, charge)
                await self._give_back(charge, "Adhésion annulée avant paiement", now)
        await self.repo.add(membership)
        return (await self._reads([membership], now))[0]

    async def renew(self, actor: Actor, membership_id: int, now: datetime) -> MembershipRead:
        """Take the next period now (a membership that does not renew itself), from
        :data:`RENEW_WINDOW` before the current one ends; charged as the first was."""
        membership = await self.visible(actor, membership_id, lock=True)
        if (
            membership.organisation_id is not None
            and not actor.administers(membership.organisation_id)
            and not actor.manages(membership.place_id)
        ):
            raise ForbiddenError(
                "Only an administrator of the organisation renews its membership.",
                code="not_organisation_admin",
            )
        assert membership.id is not None
        periods = (await self.repo.periods([membership.id]))[membership.id]
        last = periods[-1]
        if membership.cancelled_at is not None or last.status != PeriodStatus.ACTIVE:
            raise ConflictError(
                "This membership is cancelled or lapsed: subscribe again.",
                code="not_renewable",
            )
        if last.starts_at > now:
            raise ConflictError("The next period is already there.", code="already_renewed")
        if last.ends_at - RENEW_WINDOW > now:
            raise ConflictError(
                "It is too early to renew.",
                code="too_early_to_renew",
                extra={"renewable_from": (last.ends_at - RENEW_WINDOW).isoformat()},
            )
        plan = await self.repo.plan(membership.plan_id)
        if plan is None or not plan.active:
            raise ConflictError("The place no longer offers this plan.", code="plan_not_offered")
        place = await self.catalogue.require_place(membership.place_id)
        first = periods[0].starts_at.astimezone(ZoneInfo(place.timezone)).date()
        await self._new_period(plan, membership, first, last.sequence + 1, now)
        return (await self._reads([membership], now))[0]

    async def apply_intent(self, intent: IntentState, now: datetime) -> str:
        """A PaymentIntent as the provider reports it: a paid one pays its charge (once)."""
        charge = await self.repo.charge_of_intent(intent.id)
        if charge is None or charge.period_id is None:
            # None, or a ticket's or a pack's (billing.tickets, billing.packs apply those).
            return "unknown_payment_intent"
        if charge.status in PAID:
            return "already_paid"
        if intent.status == "succeeded" and intent.amount == charge.amount_cents:
            await self._paid(charge, PaymentStatus.SUCCEEDED, now)
            return "paid"
        return intent.status

    # reads ------------------------------------------------------------------------------
    async def mine(self, actor: Actor, now: datetime) -> list[MembershipRead]:
        """The memberships of the caller and of their organisations."""
        if actor.user_id is None:
            return []
        found = await self.repo.memberships_of(actor.user_id, list(actor.organisation_roles))
        return await self._reads(found, now)

    async def at_place(self, actor: Actor, place_id: int, now: datetime) -> list[MembershipRead]:
        """Who holds which plan at a place, for its managers."""
        await self.catalogue.managed_place(actor, place_id)
        return await self._reads(await self.repo.memberships_at(place_id), now)

    async def read(self, actor: Actor, membership_id: int, now: datetime) -> MembershipRead:
        """One membership."""
        return (await self._reads([await self.visible(actor, membership_id)], now))[0]

    async def organisation_names(self, organisation_ids: list[int]) -> dict[int, str]:
        """The names of organisations, by id."""
        return await self.billing.organisation_names(organisation_ids)

    async def place_names(self, place_ids: list[int]) -> dict[int, str]:
        """The names of places, by id."""
        return {pid: (await self.catalogue.require_place(pid)).name for pid in place_ids}

    async def _holder_name(self, membership: PlanSubscription) -> str:
        if membership.organisation_id is not None:
            organisation = await self.billing.organisation(membership.organisation_id)
            return organisation.name if organisation is not None else ""
        user = await self.billing.user(membership.user_id)
        return user.display_name if user is not None else ""

    async def _reads(
        self, memberships: list[PlanSubscription], now: datetime
    ) -> list[MembershipRead]:
        ids = [m.id for m in memberships if m.id is not None]
        periods = await self.repo.periods(ids)
        charges = await self.repo.charges([p.id for ps in periods.values() for p in ps if p.id])
        documents = await self.repo.documents([c.id for c in charges.values() if c.id])
        plans: dict[int, PlanRead] = {}
        for membership in memberships:
            if membership.plan_id not in plans:
                plan = await self.repo.plan(membership.plan_id)
                assert plan is not None
                plans[membership.plan_id] = (await self.plan_reads([plan]))[0]
        reads = []
        for membership in memberships:
            assert membership.id is not None
            holder_name = await self._holder_name(membership)
            place = await self.catalogue.require_place(membership.place_id)
            tz = ZoneInfo(place.timezone)
            own = periods[membership.id]
            period_reads = []
            for period in own:
                assert period.id is not None
                first, last = _local(period, tz)
                charge = charges.get(period.id)
                period_reads.append(
                    PeriodRead(
                        id=period.id,
                        sequence=period.sequence,
                        starts_at=period.starts_at,
                        ends_at=period.ends_at,
                        first_day=first,
                        last_day=last,
                        status=period.status,
                        charge=(
                            charge_read(charge, documents.get(charge.id or 0, []))
                            if charge is not None
                            else None
                        ),
                    )
                )
            reads.append(
                MembershipRead(
                    id=membership.id,
                    plan=plans[membership.plan_id],
                    place_id=membership.place_id,
                    user_id=membership.user_id,
                    organisation_id=membership.organisation_id,
                    holder_name=holder_name,
                    payment_method=membership.payment_method,
                    auto_renew=membership.auto_renew,
                    cancelled_at=membership.cancelled_at,
                    state=state_of(membership, own, now),
                    renewable=bool(
                        own
                        and membership.cancelled_at is None
                        and own[-1].status == PeriodStatus.ACTIVE
                        and own[-1].starts_at <= now < own[-1].ends_at
                        and own[-1].ends_at - RENEW_WINDOW <= now
                    ),
                    periods=period_reads,
                )
            )
        return reads

    # renewals ---------------------------------------------------------------------------
    async def renew_and_lapse(self, now: datetime) -> Renewals:
        """Renew the memberships whose last period ends within :data:`RENEW_AHEAD`, and lapse
        the periods still unpaid :data:`LAPSE_AFTER` after they started."""
        renewed = lapsed = reminded = 0
        for membership in await self.repo.live_memberships():
            assert membership.id is not None
            periods = (await self.repo.periods([membership.id]))[membership.id]
            charges = await self.repo.charges([p.id for p in periods if p.id is not None])
            for period in periods:
                charge = charges.get(period.id or 0)
                if (
                    charge is not None
                    and period.status in (PeriodStatus.PENDING, PeriodStatus.ACTIVE)
                    and charge.status in (PaymentStatus.PENDING, PaymentStatus.AWAITING_ON_SITE)
                    and period.starts_at + LAPSE_AFTER <= now
                ):
                    period.status = PeriodStatus.LAPSED
                    period.updated_at = now
                    charge.status = PaymentStatus.CANCELLED
                    charge.updated_at = now
                    await self.repo.add(period, charge)
                    await self._give_back(charge, "Adhésion non payée", now)
                    lapsed += 1
            last = periods[-1] if periods else None
            if await self._remind(membership, last, now):
                reminded += 1
            if (
                last is None
                or not membership.auto_renew
                or last.status != PeriodStatus.ACTIVE
                or last.ends_at - RENEW_AHEAD > now
                or last.ends_at <= now
            ):
                continue
            plan = await self.repo.plan(membership.plan_id)
            if plan is None or not plan.active:
                continue
            place = await self.catalogue.require_place(membership.place_id)
            first = periods[0].starts_at.astimezone(ZoneInfo(place.timezone)).date()
            await self._new_period(plan, membership, first, last.sequence + 1, now)
            renewed += 1
        return Renewals(renewed, lapsed, reminded)

    async def _remind(
        self, membership: PlanSubscription, last: SubscriptionPeriod | None, now: datetime
    ) -> bool:
        """Publish the renewal reminder of the last period, once, :data:`REMIND_AHEAD`
        before it ends (the message is queued by its subscriber, after commit)."""
        if (
            last is None
            or last.reminded_at is not None
            or last.status != PeriodStatus.ACTIVE
            or not now < last.ends_at <= now + REMIND_AHEAD
        ):
            return False
        plan = await self.repo.plan(membership.plan_id)
        assert plan is not None and last.id is not None
        last.reminded_at = now
        await self.repo.add(last)
        await publish(
            self.repo.session,
            RENEWAL_DUE,
            {
                "membership_id": membership.id,
                "period_id": last.id,
                "user_id": membership.user_id,
                "place_id": membership.place_id,
                "plan": plan.name,
                "ends_at": last.ends_at.isoformat(),
                "auto_renew": membership.auto_renew and plan.active,
                "price_cents": incl_vat_cents(plan.price_cents, _vat_of(plan)),
            },
            key=f"membership.renewal_due.{last.id}",
        )
        return True


def state_of(
    membership: PlanSubscription, periods: list[SubscriptionPeriod], now: datetime
) -> MembershipState:
    """A membership's state at ``now`` from its periods."""
    if not periods or periods[-1].ends_at <= now:
        return "lapsed" if periods and periods[-1].status == PeriodStatus.LAPSED else "ended"
    last = periods[-1]
    if membership.cancelled_at is not None:
        return "cancelled"
    if last.status == PeriodStatus.LAPSED:
        return "lapsed"
    if last.status == PeriodStatus.PENDING:
        return "renewing" if len(periods) > 1 else "pending"
    return "active"
