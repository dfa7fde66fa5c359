"""Packs of prepaid hours: defined by a place's managers, bought (card, on site, on invoice for
an organisation), held, and their history.

A purchase is charged as a membership period is (a ``plan_charge`` naming the pack held) and
invoiced in the place's one chain: on invoice at once, on site or by card once paid. On site
and on invoice the minutes are credited at once; by card when the PaymentIntent is paid
(fetched back from Stripe, never a browser's word; :mod:`billing.plan_cards` creates it after
commit). How the minutes are used, given back and expired: :mod:`billing.pack_holdings`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from billing.charge_setup import INITIAL_STATUS, due_on, invoice_parties, start_card_intent
from billing.invoicing import DocumentService
from billing.memberships import charge_read
from billing.models import PaymentStatus, PlanCharge
from billing.pack_holdings import PackLedger
from billing.pack_models import HoldingStatus, Pack, PackHolding, PackMovement
from billing.pack_repository import PackRepository
from billing.pack_schemas import (
    HoldingRead,
    PackMovementRead,
    PackRead,
    PackWrite,
    PurchaseRequest,
)
from billing.plan_periods import LocalPeriod
from billing.plan_quote import plan_quote, plan_vat
from billing.plan_repository import PlanRepository
from billing.prices import PriceService, check_user_types, regime_of
from billing.pricing import VatRegime, excl_vat_cents, incl_vat_cents
from billing.providers.base import IntentState
from billing.repository import BillingRepository
from billing.schemas import VatRead
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from resources.service import CatalogueService

PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.FREE)


def _vat_of(pack: Pack) -> VatRegime:
    return plan_vat(pack.vat_kind, pack.vat_rate_bp, pack.vat_mention)


def _hours(minutes: int) -> str:
    """Minutes as French hours: ``10``, ``1,5``."""
    whole, rest = divmod(minutes, 60)
    return str(whole) if not rest else f"{minutes / 60:.2f}".rstrip("0").replace(".", ",")


def _not_found(pack_id: int) -> NotFoundError:
    return NotFoundError(f"No pack with id {pack_id}.", code="pack_not_found")


def _holding_not_found(holding_id: int) -> NotFoundError:
    return NotFoundError(f"No pack held with id {holding_id}.", code="pack_holding_not_found")


def _last_day(holding: PackHolding, tz: ZoneInfo) -> date:
    return (holding.expires_at.astimezone(tz) - timedelta(days=1)).date()


class PackService:
    """Packs sold by places and the packs people hold, on one session."""

    def __init__(
        self,
        repository: PackRepository,
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
        self.ledger = PackLedger(repository)
        self.billing = BillingRepository(repository.session)
        self.card_available = card_available

    # products ---------------------------------------------------------------------------
    def pack_read(self, pack: Pack) -> PackRead:
        """A pack as the API shows it."""
        assert pack.id is not None
        vat = _vat_of(pack)
        return PackRead(
            id=pack.id,
            place_id=pack.place_id,
            name=pack.name,
            description=pack.description,
            minutes=pack.minutes,
            resource_id=pack.resource_id,
            resource_kind=pack.resource_kind,
            price_cents=pack.price_cents,
            price_incl_vat_cents=incl_vat_cents(pack.price_cents, vat),
            vat=VatRead(kind=vat.kind.value, rate=f"{vat.rate:.2f}", mention=vat.mention),
            validity_days=pack.validity_days,
            valid_until=pack.valid_until,
            user_types=list(pack.user_types),
            active=pack.active,
        )

    async def offered(self, actor: Actor, place_id: int) -> list[PackRead]:
        """The packs a place sells (its managers also see those withdrawn)."""
        await self.catalogue.require_place(place_id)
        rows = await self.repo.packs_of(place_id, active_only=not actor.manages(place_id))
        return [self.pack_read(p) for p in rows]

    async def save(
        self,
        actor: Actor,
        place_id: int,
        data: PackWrite,
        now: datetime,
        pack_id: int | None = None,
    ) -> PackRead:
        """Define a pack of the place, or replace pack ``pack_id`` (packs held keep the terms
        they were bought with)."""
        await self.catalogue.managed_place(actor, place_id)
        pack: Pack | None = None
        if pack_id is not None:
            pack = await self.repo.pack(pack_id, lock=True)
            if pack is None or pack.place_id != place_id:
                raise _not_found(pack_id)
        if (data.resource_id is None) == (data.resource_kind is None):
            raise InvalidInputError(
                "Give either resource_id or resource_kind.",
                field="resource_id",
                code="pack_target",
            )
        if data.resource_id is not None:
            found = (await self.catalogue.resources_by_ids([data.resource_id])).get(
                data.resource_id
            )
            if found is None or found.place_id != place_id:
                raise InvalidInputError(
                    f"Resource {data.resource_id} is not a resource of this place.",
                    field="resource_id",
                    code="resource_not_found",
                )
        if (data.validity_days is None) == (data.valid_until is None):
            raise InvalidInputError(
                "Give either validity_days or valid_until.",
                field="validity_days",
                code="pack_validity",
            )
        vat = regime_of(data.vat)
        await check_user_types(self.billing, data.user_types)
        pack = pack or Pack(place_id=place_id, name=data.name, minutes=data.minutes)
        pack.name = data.name
        pack.description = data.description
        pack.minutes = data.minutes
        pack.resource_id = data.resource_id
        pack.resource_kind = data.resource_kind
        pack.price_cents = (
            excl_vat_cents(data.price_cents, vat) if data.amounts_include_vat else data.price_cents
        )
        pack.vat_kind = vat.kind.value
        pack.vat_rate_bp = int(vat.rate.scaleb(2))
        pack.vat_mention = vat.mention
        pack.validity_days = data.validity_days
        pack.valid_until = data.valid_until
        pack.user_types = list(dict.fromkeys(data.user_types))
        pack.active = data.active
        pack.updated_at = now
        await self.repo.add(pack)
        return self.pack_read(pack)

    # buying -----------------------------------------------------------------------------
    async def purchase(
        self, actor: Actor, pack_id: int, data: PurchaseRequest, now: datetime
    ) -> HoldingRead:
        """Buy a pack: credited at once on site or on invoice, once paid by card."""
        if actor.user_id is None:
            raise ForbiddenError(
                "Packs are bought by a user account, not an admin token.",
                code="user_account_required",
            )
        pack = await self.repo.pack(pack_id)
        if pack is None or not pack.active:
            raise _not_found(pack_id)
        place = await self.catalogue.active_place(pack.place_id)
        tz = ZoneInfo(place.timezone)
        today = now.astimezone(tz).date()
        organisation_id = data.organisation_id
        user_type = actor.user_type_at(pack.place_id)
        if organisation_id is not None:
            if not actor.administers(organisation_id):
                raise ForbiddenError(
                    "Only an administrator of the organisation buys for it.",
                    code="not_organisation_admin",
                )
            organisation = await self.billing.organisation(organisation_id)
            user_type = organisation.user_type_code if organisation is not None else user_type
        if pack.user_types and user_type not in pack.user_types:
            raise ConflictError(
                f"This pack is for {', '.join(pack.user_types)}; your rate here is {user_type}.",
                code="pack_not_for_you",
                extra={"user_types": list(pack.user_types), "user_type": user_type},
            )
        if pack.valid_until is not None and pack.valid_until < today:
            raise ConflictError("This pack's validity is over.", code="pack_expired")
        method = data.payment_method
        if method == "invoice" and organisation_id is None:
            raise ConflictError(
                "Paying on invoice is for organisations.", code="invoice_not_allowed"
            )
        free = pack.price_cents == 0
        if method == "card" and not self.card_available and not free:
            raise ConflictError(
                "Card payments are not available on this instance.",
                code="card_payments_unavailable",
            )
        after = (
            today + timedelta(days=pack.validity_days)
            if pack.validity_days is not None
            else (pack.valid_until or today) + timedelta(days=1)
        )
        _, expires_at = LocalPeriod(today, after).instants(tz)
        credited = free or method != "card"
        holding = PackHolding(
            pack_id=pack_id,
            place_id=pack.place_id,
            user_id=actor.user_id,
            organisation_id=organisation_id,
            name=pack.name,
            minutes=pack.minutes,
            resource_id=pack.resource_id,
            resource_kind=pack.resource_kind,
            balance_minutes=0,
            status=HoldingStatus.PENDING,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(holding)
        assert holding.id is not None
        if credited:
            await self._credit(holding, now)
        settings = await self.prices.settings_of(pack.place_id)
        label = f"Heures prépayées « {pack.name} » ({_hours(pack.minutes)} h)"
        quote = plan_quote(label, pack.price_cents, _vat_of(pack), now)
        charged = "free" if free else method
        charge = PlanCharge(
            pack_holding_id=holding.id,
            place_id=pack.place_id,
            payer_user_id=actor.user_id,
            organisation_id=organisation_id,
            method=charged,
            status=PaymentStatus.FREE if free else INITIAL_STATUS[method],
            amount_cents=int(quote["total_incl_vat_cents"]),
            quote=quote,
            purchase_order=data.purchase_order,
            due_on=due_on(charged, today, settings.payment_terms_days),
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(charge)
        if method == "invoice" and not free:
            await self._invoice(holding, charge, now)
        elif method == "card" and not free:
            await start_card_intent(self.repo.session, charge.id, f"pack-intent-{charge.id}")
        return (await self._reads([holding]))[0]

    async def _credit(self, holding: PackHolding, now: datetime) -> None:
        """The pack's minutes are there to use: status active, a ``bought`` movement."""
        assert holding.id is not None
        holding.status = HoldingStatus.ACTIVE
        holding.updated_at = now
        await self.repo.add(holding)
        balance = await self.repo.credit(holding.id, holding.minutes, now)
        await self.repo.add(
            PackMovement(
                holding_id=holding.id,
                kind="bought",
                minutes=holding.minutes,
                balance_after_minutes=balance,
                created_at=now,
            )
        )
        await self.repo.session.refresh(holding)

    async def _invoice(self, holding: PackHolding, charge: PlanCharge, now: datetime) -> None:
        seller, buyer = await invoice_parties(
            self.catalogue,
            self.prices,
            self.billing,
            holding.place_id,
            holding.user_id,
            holding.organisation_id,
        )
        place = seller[0]
        tz = ZoneInfo(place.timezone)
        await self.documents.issue_plan_invoice(
            seller,
            buyer,
            charge,
            {
                "id": holding.id,
                "pack_id": holding.pack_id,
                "name": holding.name,
                "minutes": holding.minutes,
                "hours": _hours(holding.minutes),
                "first_day": holding.created_at.astimezone(tz).date().isoformat(),
                "last_day": _last_day(holding, tz).isoformat(),
                "timezone": place.timezone,
            },
            now,
            what="pack",
        )

    async def _paid(self, charge: PlanCharge, now: datetime) -> None:
        """The charge is paid: a card purchase's minutes are credited, and it is invoiced."""
        assert charge.pack_holding_id is not None
        holding = await self.repo.holding(charge.pack_holding_id, lock=True)
        assert holding is not None
        charge.status = PaymentStatus.SUCCEEDED
        charge.paid_at = now
        charge.updated_at = now
        await self.repo.add(charge)
        if holding.status == HoldingStatus.PENDING:
            await self._credit(holding, now)
        await self._invoice(holding, charge, now)

    async def receive(self, actor: Actor, holding_id: int, now: datetime) -> HoldingRead:
        """A manager records the money of a pack bought on site (the invoice follows)."""
        holding = await self.repo.holding(holding_id)
        if holding is None or not actor.manages(holding.place_id):
            raise _holding_not_found(holding_id)
        charge = (await self.repo.charges([holding_id])).get(holding_id)
        if charge is None or charge.status != PaymentStatus.AWAITING_ON_SITE:
            raise ConflictError("Nothing is due on site.", code="nothing_due")
        locked = await PlanRepository(self.repo.session).charge(charge.id or 0, lock=True)
        assert locked is not None
        if locked.status != PaymentStatus.AWAITING_ON_SITE:
            raise ConflictError("Nothing is due on site.", code="nothing_due")
        await self._paid(locked, now)
        return (await self._reads([holding]))[0]

    async def apply_intent(self, intent: IntentState, now: datetime) -> str:
        """A PaymentIntent as the provider reports it: a paid one pays its pack (once)."""
        charge = await self.repo.charge_of_intent(intent.id)
        if charge is None:
            return "unknown_payment_intent"
        if charge.status in PAID:
            return "already_paid"
        if charge.status != PaymentStatus.PENDING:
            return str(charge.status)
        if intent.status == "succeeded" and intent.amount == charge.amount_cents:
            await self._paid(charge, now)
            return "paid"
        return intent.status

    # reads ------------------------------------------------------------------------------
    async def visible(self, actor: Actor, holding_id: int) -> PackHolding:
        """A pack its buyer, its organisation's members or its place's managers see."""
        holding = await self.repo.holding(holding_id)
        if holding is None or not (
            actor.manages(holding.place_id)
            or (holding.organisation_id is None and holding.user_id == actor.user_id)
            or (holding.organisation_id is not None and actor.member_of(holding.organisation_id))
        ):
            raise _holding_not_found(holding_id)
        return holding

    async def read(self, actor: Actor, holding_id: int) -> HoldingRead:
        """One pack held, with its history."""
        return (await self._reads([await self.visible(actor, holding_id)]))[0]

    async def mine(self, actor: Actor) -> list[HoldingRead]:
        """My packs and my organisations', with their history."""
        if actor.user_id is None:
            return []
        found = await self.repo.of_holder(actor.user_id, list(actor.organisation_roles))
        return await self._reads(found)

    async def holders(self, actor: Actor, place_id: int) -> list[HoldingRead]:
        """Who holds which pack at the place, and how much is left."""
        await self.catalogue.managed_place(actor, place_id)
        return await self._reads([h for h, _ in await self.repo.of_place(place_id)])

    async def _reads(self, holdings: list[PackHolding]) -> list[HoldingRead]:
        ids = [h.id for h in holdings if h.id is not None]
        moves = await self.repo.movements(ids)
        charges = await self.repo.charges(ids)
        documents = await PlanRepository(self.repo.session).documents(
            [c.id for c in charges.values() if c.id is not None]
        )
        places = await self.catalogue.places_by_ids(sorted({h.place_id for h in holdings}))
        reads = []
        for holding in holdings:
            assert holding.id is not None
            place = places[holding.place_id]
            user = await self.billing.user(holding.user_id)
            name = user.display_name if user is not None else ""
            if holding.organisation_id is not None:
                organisation = await self.billing.organisation(holding.organisation_id)
                name = organisation.name if organisation is not None else name
            charge = charges.get(holding.id)
            reads.append(
                HoldingRead(
                    id=holding.id,
                    pack_id=holding.pack_id,
                    place_id=holding.place_id,
                    place_name=place.name,
                    user_id=holding.user_id,
                    organisation_id=holding.organisation_id,
                    holder_name=name,
                    email=user.email if user is not None else "",
                    name=holding.name,
                    minutes=holding.minutes,
                    resource_id=holding.resource_id,
                    resource_kind=holding.resource_kind,
                    balance_minutes=holding.balance_minutes,
                    state=HoldingStatus(holding.status).value,
                    expires_at=holding.expires_at,
                    last_day=_last_day(holding, ZoneInfo(place.timezone)),
                    created_at=holding.created_at,
                    charge=(
                        charge_read(charge, documents.get(charge.id or 0, []))
                        if charge is not None
                        else None
                    ),
                    movements=[
                        PackMovementRead(
                            id=m.id or 0,
                            kind=m.kind,
                            minutes=m.minutes,
                            balance_after_minutes=m.balance_after_minutes,
                            booking_id=m.booking_id,
                            reason=m.reason,
                            created_at=m.created_at,
                        )
                        for m in moves
                        if m.holding_id == holding.id
                    ],
                )
            )
        return reads

    # expiry -----------------------------------------------------------------------------
    async def expire(self, now: datetime) -> int:
        """Expire the packs past their validity (the hourly job)."""
        return await self.ledger.expire(now)
