"""What makes the demo look like a place in use: prices, payment methods, a training, bookings.

Loaded once, right after the demo places and people (``mutualab demo`` and ``seed-demo``),
through the same services the API calls, so every booking is priced, paid or due, and heard of
(its confirmation e-mail goes to the demo's mail catcher) as a real one would be:

- each place sells at a rate per user type (VAT 20 %), lets people pay on site, and lets
  schools, companies, associations and public bodies pay on invoice;
- each place has a promo code, ``BIENVENUE``: 10 % off for citizens, once each, until the end
  of the next month; Camille has 10 EUR in her wallet there (a workshop the place cancelled);
- each place sells 10 hours of the laser cutter in advance (150 EUR incl. VAT, valid a year);
  Camille holds such a pack at the first place (bought and paid at the desk);
- the laser cutter requires the place's safety training: Camille holds it, Léa does not;
- the meeting room waits for a manager's approval: Léa's request is pending;
- Camille (on site) and the school (on invoice, with a purchase order) have bookings over the
  coming weeks; the school is verified at both places, so its rate and invoices apply;
- the three months before have their activity (the statistics count it): bookings paid at
  the desk (recorded after the session), invoiced to the school, and a cancelled one. They are
  made on a clock set back to before each month, as they would have been, and their e-mails
  count as sent then (the queue forgets them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.guests import walk_in
from accounts.identity import actor_for_user
from accounts.models import OrganisationVerification
from accounts.repository import AccountRepository
from accounts.schemas import CertificationGrant, TrainingCreate
from accounts.staff import StaffService
from billing.coupon_schemas import CouponWrite
from billing.memberships import MembershipService
from billing.pack_schemas import PackWrite, PurchaseRequest
from billing.packs import PackService
from billing.payments import PaymentService
from billing.plan_schemas import PlanWrite
from billing.receipts import Receipts
from billing.schemas import (
    BillingSettingsWrite,
    CheckoutRequest,
    PriceListWrite,
)
from billing.wallet_schemas import WalletCredit
from booking.schemas import BookingCreate, ItemRequest
from kernel import jobs
from kernel.auth.actor import Actor
from mutualab.composition import Runtime, build_runtime
from mutualab.demo import RESOURCES, SYSTEM
from mutualab.demo_programme import seed_programme
from mutualab.reports.periods import containing
from resources.hours import french_public_holidays
from resources.repository import CatalogueRepository
from resources.schemas import BlackoutCreate, PlaceUpdate, ResourceUpdate
from resources.service import CatalogueService

# Rates per user type, excluding VAT, in cents per hour (seats: per seat and hour).
RATES: dict[str, list[dict[str, Any]]] = {
    "machine:Imprimante 3D Prusa MK4": [
        {"user_type": "*", "hourly_cents": 300, "flat_fee_cents": 100},
        {"user_type": "student", "hourly_cents": 150},
        {"user_type": "school", "hourly_cents": 200},
        {"user_type": "company", "hourly_cents": 900, "flat_fee_cents": 500},
    ],
    "machine:Découpeuse laser 60 W": [
        {"user_type": "*", "hourly_cents": 1000, "flat_fee_cents": 200},
        {"user_type": "student", "hourly_cents": 500, "flat_fee_cents": 200},
        {"user_type": "school", "hourly_cents": 600},
        {"user_type": "company", "hourly_cents": 2500, "flat_fee_cents": 500},
    ],
    "software_seats": [
        {"user_type": "*", "hourly_cents": 250, "per_unit": True},
        {"user_type": "school", "hourly_cents": 150, "per_unit": True},
        {"user_type": "company", "hourly_cents": 800, "per_unit": True},
    ],
    "network_access": [
        {"user_type": "*", "hourly_cents": 500},
        {"user_type": "school", "hourly_cents": 300},
        {"user_type": "company", "hourly_cents": 2000},
    ],
    # Free for people and associations; companies rent it.
    "space": [
        {"user_type": "*", "hourly_cents": 0, "free": True},
        {"user_type": "company", "hourly_cents": 1500},
    ],
}

PAYMENT_METHODS = {
    "*": ["card", "on_site"],
    "association": ["invoice", "on_site"],
    "school": ["invoice", "on_site"],
    "company": ["invoice", "card"],
    "public_body": ["invoice"],
}
REFUND_TIERS = [
    {"hours": 48, "percent": 100, "label": "48 h avant ou plus"},
    {"hours": 24, "percent": 50, "label": "entre 24 et 48 h avant"},
]
PURCHASE_ORDER = "BC-2027-014"
WELCOME_CODE = "BIENVENUE"
WALLET_REASON = "Atelier d'initiation annulé par le lieu"


@dataclass(frozen=True)
class DemoCast:
    """The demo people the activity is made by (see ``accounts.bootstrap``)."""

    citizen: Actor
    student: Actor
    teacher: Actor
    school_id: int


async def _actor(session: AsyncSession, email: str) -> Actor:
    user = await AccountRepository(session).user_by_email(email)
    assert user is not None, f"demo person {email} missing"
    return await actor_for_user(session, user, can_write=True, via="session")


async def cast_of(session: AsyncSession) -> DemoCast:
    """The demo's citizen, student and teacher (with their school)."""
    teacher = await _actor(session, "prof@demo.mutualab.example")
    (school_id,) = teacher.organisation_roles
    return DemoCast(
        citizen=await _actor(session, "camille@demo.mutualab.example"),
        student=await _actor(session, "lea@demo.mutualab.example"),
        teacher=teacher,
        school_id=school_id,
    )


def _scope(resource: dict[str, Any]) -> str:
    return f"machine:{resource['name']}" if resource["kind"] == "machine" else resource["kind"]


def next_monday(today: date) -> date:
    """The Monday of next week (the demo's bookings start there, past any notice period)."""
    return today + timedelta(days=7 - today.weekday())


@dataclass(frozen=True)
class DemoPlace:
    """A demo place and the ids of its five resources."""

    place_id: int
    zone: ZoneInfo
    resources: dict[str, int]
    holidays: frozenset[date]

    def resource(self, name: str) -> list[ItemRequest]:
        """One unit of the resource named ``name``."""
        return [ItemRequest(resource_id=self.resources[name])]


LASER = "Découpeuse laser 60 W"
PRINTER = "Imprimante 3D Prusa MK4"
SEATS = "Postes de conception (logiciels 3D et PAO)"
NETWORK = "Salle connectée fibre"
ROOM = "Salle de réunion"


async def seed_activity(
    runtime: Runtime, session: AsyncSession, place_ids: list[int], today: date
) -> int:
    """Prices, payment methods, a training, bookings and a programme at the demo places created
    just now; returns how many bookings were made (the places' own for their sessions too)."""
    cast = await cast_of(session)
    catalogue = CatalogueRepository(session)
    services = runtime.billing.services(session)
    accounts = AccountRepository(session)
    staff = StaffService(accounts, runtime.clock)
    now = runtime.clock()
    made = 0
    for index, place_id in enumerate(place_ids):
        place = await catalogue.get_place(place_id)
        assert place is not None
        rows = (await catalogue.resources_of([place_id], include_inactive=False))[place_id]
        demo = DemoPlace(
            place_id,
            ZoneInfo(place.timezone),
            {r.name: r.id for r in rows if r.id is not None},
            french_public_holidays(today, today + timedelta(days=180), place.holiday_subdivision),
        )
        await _sell(services, demo, index, now)
        await _plan(runtime.billing.memberships(session), demo, now)
        await _rules(services, staff, accounts, demo, cast, today)
        await _wallet(services, accounts, demo, cast, now)
        made += await _history(runtime, session, demo, cast, today)
        # Each place's bookings start a week after the previous place's.
        monday = next_monday(today) + timedelta(weeks=index)
        made += await _book(services, demo, cast, monday, now)
        await _arrivals_and_maintenance(CatalogueService(catalogue), demo, monday)
        # After the bookings: those were quoted without prepaid hours.
        await _pack(runtime.billing.packs(session), demo, cast, now, held=index == 0)
        # Its programme, after its bookings' three weeks (and the next place's).
        made += await seed_programme(
            runtime,
            session,
            index=index,
            place_id=place_id,
            zone=demo.zone,
            laser_id=demo.resources[LASER],
            printer_id=demo.resources[PRINTER],
            holidays=demo.holidays,
            after=next_monday(today) + timedelta(weeks=len(place_ids) + 3),
            citizen=cast.citizen,
            student=cast.student,
        )
    return made


async def _arrivals_and_maintenance(
    catalogue: CatalogueService, demo: DemoPlace, monday: date
) -> None:
    """Bookings nobody checked in are released after 15 minutes; the laser cutter has a
    maintenance morning in the third week (clear of the bookings above)."""
    await catalogue.update_place(SYSTEM, demo.place_id, PlaceUpdate(no_show_release_minutes=15))
    day = monday + timedelta(weeks=2, days=3)
    await catalogue.add_blackout(
        SYSTEM,
        demo.resources[LASER],
        BlackoutCreate(
            starts_at=datetime.combine(day, time(9), demo.zone),
            ends_at=datetime.combine(day, time(12), demo.zone),
            reason="Remplacement du tube laser",
        ),
    )


async def _sell(services: PaymentService, demo: DemoPlace, index: int, now: datetime) -> None:
    """Rates per user type on every resource; on-site and invoice payments; a promo code."""
    prices = services.prices
    await prices.set_settings(
        SYSTEM,
        demo.place_id,
        BillingSettingsWrite.model_validate(
            {
                "invoice_prefix": ("LAN", "MTZ")[index % 2] + ("" if index < 2 else str(index)),
                "seller_vat_number": ("FR40212201131", "FR83215704636")[index % 2],
                "payment_methods": PAYMENT_METHODS,
                "refund_tiers": REFUND_TIERS,
            }
        ),
        now,
    )
    for spec in RESOURCES:
        await prices.set_price_list(
            SYSTEM,
            demo.place_id,
            PriceListWrite.model_validate(
                {"resource_id": demo.resources[spec["name"]], "rates": RATES[_scope(spec)]}
            ),
            now,
        )
    await prices.coupons.save(
        SYSTEM,
        demo.place_id,
        CouponWrite(
            code=WELCOME_CODE,
            description="Bienvenue au lieu : 10 % sur votre première réservation.",
            percent=Decimal(10),
            valid_until=_end_of_next_month(now.astimezone(demo.zone).date()),
            max_uses=100,
            max_uses_per_person=1,
            user_types=["citizen"],
        ),
        now,
    )


def _end_of_next_month(today: date) -> date:
    """The last day of the month after ``today``'s."""
    first = today.replace(day=1)
    after_next = (first + timedelta(days=62)).replace(day=1)
    return after_next - timedelta(days=1)


async def _plan(memberships: MembershipService, demo: DemoPlace, now: datetime) -> None:
    """A yearly membership: 10 % off, 4 hours of the laser cutter included, access to
    members-only equipment, a month more of booking horizon; schools may join on invoice."""
    await memberships.save_plan(
        SYSTEM,
        demo.place_id,
        PlanWrite.model_validate(
            {
                "name": "Adhésion annuelle",
                "description": "Soutenez le lieu et réservez plus tôt, à prix réduit.",
                "period": "year",
                "price_cents": 2500,
                "for_organisations": True,
                "discount_percent": 10,
                "members_access": True,
                "extra_horizon_days": 30,
                "allowances": [{"resource_id": demo.resources[LASER], "minutes": 240}],
            }
        ),
        now,
    )


async def _pack(
    packs: PackService, demo: DemoPlace, cast: DemoCast, now: datetime, *, held: bool
) -> None:
    """10 hours of the laser cutter, 150 EUR incl. VAT, valid a year; Camille holds one
    (``held``), bought on site and paid at the desk (invoiced)."""
    pack = await packs.save(
        SYSTEM,
        demo.place_id,
        PackWrite.model_validate(
            {
                "name": "10 h de découpe laser",
                "description": "Dix heures de découpeuse laser, à utiliser dans l'année.",
                "minutes": 600,
                "resource_id": demo.resources[LASER],
                "price_cents": 15000,
                "validity_days": 365,
            }
        ),
        now,
    )
    if held:
        bought = await packs.purchase(
            cast.citizen, pack.id, PurchaseRequest(payment_method="on_site"), now
        )
        await packs.receive(SYSTEM, bought.id, now)


async def _rules(
    services: PaymentService,
    staff: StaffService,
    accounts: AccountRepository,
    demo: DemoPlace,
    cast: DemoCast,
    today: date,
) -> None:
    """The laser's training (Camille certified), the room's approval, the school verified."""
    catalogue = services.prices.catalogue
    training = await staff.create_training(
        SYSTEM,
        demo.place_id,
        TrainingCreate(
            name="Sécurité découpeuse laser",
            description="Une heure : réglages, matériaux interdits, arrêt d'urgence.",
            validity_days=365,
        ),
    )
    assert cast.citizen.user_id is not None
    await staff.certify(
        SYSTEM,
        training.id,
        CertificationGrant(user_id=cast.citizen.user_id, granted_on=today - timedelta(days=30)),
    )
    await catalogue.update_resource(
        SYSTEM, demo.resources[LASER], ResourceUpdate(required_training_id=training.id)
    )
    await catalogue.update_resource(
        SYSTEM, demo.resources[ROOM], ResourceUpdate(requires_approval=True)
    )
    await accounts.add(
        OrganisationVerification(organisation_id=cast.school_id, place_id=demo.place_id)
    )


async def _wallet(
    services: PaymentService,
    accounts: AccountRepository,
    demo: DemoPlace,
    cast: DemoCast,
    now: datetime,
) -> None:
    """Camille has 10 EUR in her wallet at the place: a workshop the place cancelled."""
    assert cast.citizen.user_id is not None
    camille = await accounts.user(cast.citizen.user_id)
    assert camille is not None
    await services.prices.wallets.credit(
        SYSTEM,
        demo.place_id,
        WalletCredit(email=camille.email, amount_cents=1000, reason=WALLET_REASON),
        now,
    )


async def _book(
    services: PaymentService, demo: DemoPlace, cast: DemoCast, monday: date, now: datetime
) -> int:
    """Bookings over three weeks from ``monday``: paid on site, on invoice, a walk-in's paid
    by cheque at the desk, and a request."""

    def at(week: int, weekday: int, hour: int) -> datetime:
        day = monday + timedelta(weeks=week, days=weekday)
        while day in demo.holidays:  # closed: the same day a week later
            day += timedelta(weeks=1)
        return datetime.combine(day, time(hour), demo.zone)

    async def checkout(
        actor: Actor, user_type: str, items: list[ItemRequest], start: datetime, hours: int,
        **fields: Any,
    ) -> None:  # fmt: skip
        end = start + timedelta(hours=hours)
        priced = await services.prices.price(items, start, end, user_type)
        request = CheckoutRequest(
            items=items,
            starts_at=start,
            ends_at=end,
            quote_fingerprint=priced.quote.fingerprint(),
            **fields,
        )
        await services.checkout(actor, request, now)

    school = {"method": "invoice", "organisation_id": cast.school_id}
    # Tuesday (1) to Saturday (5) are open; no Wednesday: one of them is the closure.
    await checkout(cast.citizen, "citizen", demo.resource(LASER), at(0, 3, 14), 2, method="on_site")
    await checkout(
        cast.citizen, "citizen", demo.resource(PRINTER), at(1, 1, 10), 2, method="on_site"
    )
    seats = [ItemRequest(resource_id=demo.resources[SEATS], quantity=12)]
    await checkout(
        cast.teacher, "school", seats, at(1, 1, 14), 2, **school, purchase_order=PURCHASE_ORDER
    )
    await checkout(
        cast.teacher, "school", demo.resource(NETWORK), at(2, 4, 9), 2, **school,
        purchase_order=PURCHASE_ORDER,
    )  # fmt: skip
    await checkout(
        cast.student, "student", demo.resource(PRINTER), at(2, 5, 10), 3, method="on_site"
    )
    # A walk-in booked at the front desk, who paid by cheque there.
    session = services.repo.session
    guest = await walk_in(session, demo.place_id, "Yann Le Goff", "", "06 12 34 56 78", now)
    assert guest.id is not None
    desk = await services.bookings.create(
        SYSTEM,
        BookingCreate(items=demo.resource(PRINTER), starts_at=at(0, 4, 10), ends_at=at(0, 4, 12)),
        for_user=guest.id,
        pay_by="on_site",
    )
    billing = await services.booking_billing(SYSTEM, desk.id)
    assert billing.payment is not None
    await Receipts(services).receive(
        SYSTEM,
        billing.payment.id,
        amount_cents=billing.payment.amount_cents,
        means="cheque",
        reference="0012345",
        received_on=now.astimezone(demo.zone).date(),
        now=now,
    )
    # Free, but waiting for a manager: a request.
    await services.bookings.create(
        cast.student,
        BookingCreate(
            items=demo.resource(ROOM),
            starts_at=at(1, 4, 15),
            ends_at=at(1, 4, 16),
            notes="Réunion du club de robotique",
        ),
    )
    return 7


class _SetBack:
    """A clock the demo sets back to when its past bookings were made."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# The past months' plan: (who, resource, units, open day of the month, hour, hours, how paid).
_PAST = (
    ("citizen", PRINTER, 1, 0, 10, 2, "cash"),
    ("student", PRINTER, 1, 1, 14, 3, "cheque"),
    ("teacher", SEATS, 12, 2, 9, 2, "invoice"),
    ("teacher", NETWORK, 1, 3, 14, 2, "invoice"),
    ("citizen", SEATS, 1, 4, 10, 1, "card_terminal"),
    ("student", NETWORK, 1, 5, 16, 1, "cancelled"),
)


def _open_days(demo: DemoPlace, start: date) -> list[date]:
    """Tuesdays, Thursdays and Fridays of the month's first 24 days (open, no holiday), so each
    month's payments are recorded before the next month's bookings."""
    holidays = french_public_holidays(start, start + timedelta(days=31))
    return [
        day
        for day in (start + timedelta(days=n) for n in range(1, 24))
        if day.weekday() in (1, 3, 4) and day not in holidays
    ]


async def _history(
    runtime: Runtime, session: AsyncSession, demo: DemoPlace, cast: DemoCast, today: date
) -> int:
    """The three months before ``today``: six bookings a month, each made two days before its
    month on a clock set back then, the desk payments recorded after each session."""
    clock = _SetBack()
    past = build_runtime(runtime.settings, database=runtime.database, clock=clock)
    services = past.billing.services(session)
    actors = {"citizen": cast.citizen, "student": cast.student, "teacher": cast.teacher}
    month = containing("month", today)
    made = 0
    # The past's e-mails and events went out back then: the queue forgets them, so a new
    # demo does not spend its first minutes mailing about bookings months old.
    queued_before = await jobs.last_job_id(session)
    try:
        for back in (3, 2, 1):
            start = month.start
            for _ in range(back):
                start = containing("month", start - timedelta(days=1)).start
            days = _open_days(demo, start)
            clock.now = datetime.combine(start - timedelta(days=2), time(9), demo.zone)
            to_record = []
            for who, name, units, index, hour, hours, how in _PAST:
                begin = datetime.combine(days[index % len(days)], time(hour), demo.zone)
                items = [ItemRequest(resource_id=demo.resources[name], quantity=units)]
                user_type = {"citizen": "citizen", "student": "student"}.get(who, "school")
                priced = await services.prices.price(
                    items, begin, begin + timedelta(hours=hours), user_type
                )
                school = (
                    {"organisation_id": cast.school_id, "purchase_order": PURCHASE_ORDER}
                    if who == "teacher"
                    else {}
                )
                payment, booking, _ = await services.checkout(
                    actors[who],
                    CheckoutRequest(
                        items=items,
                        starts_at=begin,
                        ends_at=begin + timedelta(hours=hours),
                        quote_fingerprint=priced.quote.fingerprint(),
                        method="invoice" if how == "invoice" else "on_site",
                        **school,
                    ),
                    clock.now,
                )
                made += 1
                if how == "cancelled":
                    await services.bookings.cancel(actors[who], booking.id, "Empêchement")
                elif how != "invoice":
                    to_record.append((booking.ends_at, payment.id, how))
            for ended, payment_id, means in sorted(to_record):
                assert payment_id is not None
                clock.now = ended + timedelta(minutes=15)
                await Receipts(services).receive_rest(SYSTEM, payment_id, means, clock.now)
        await jobs.forget_queued_since(session, queued_before)
    finally:
        await past.close()
    return made
