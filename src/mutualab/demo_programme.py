"""The demo's programme at each place: the laser cutter's safety training on a Saturday morning
each month (it grants the certification Léa lacks; she is registered for the first one), a 3-D
printing workshop for teenagers (15 EUR a seat, free for schools: Camille registered two and
paid at the desk), and an open evening. The training and
the workshop occupy their machines through the booking engine, as any session does."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.identity import actor_for_user
from accounts.models import Training
from accounts.repository import AccountRepository
from billing.ticket_schemas import TicketOrder, TicketPricesWrite
from kernel.auth.actor import Actor
from mutualab.composition import Runtime
from programme.dates import monthly
from programme.schemas import RegistrationCreate, ResourceUse, SessionCreate, SessionDate

LASER_TRAINING = "Sécurité découpeuse laser"
# How many dated sessions of each place occupy machines (one booking of the place each).
OCCUPYING_SESSIONS = 4


async def _manager(session: AsyncSession, index: int) -> Actor:
    user = await AccountRepository(session).user_by_email(
        f"gestion{index + 1}@demo.mutualab.example"
    )
    assert user is not None, "demo managers first (accounts.bootstrap.ensure_demo_people)"
    return await actor_for_user(session, user, can_write=True, via="session")


def _date(day: date, start: int, end: int, zone: ZoneInfo) -> SessionDate:
    return SessionDate(
        starts_at=datetime.combine(day, time(start), zone),
        ends_at=datetime.combine(day, time(end), zone),
    )


async def seed_programme(
    runtime: Runtime,
    session: AsyncSession,
    *,
    index: int,
    place_id: int,
    zone: ZoneInfo,
    laser_id: int,
    printer_id: int,
    holidays: frozenset[date],
    after: date,
    citizen: Actor,
    student: Actor,
) -> int:
    """A place's programme from ``after`` on (clear of its demo bookings); how many of the
    place's own bookings its sessions made."""
    manager = await _manager(session, index)
    sessions = runtime.programme.sessions(session)
    registrations = runtime.programme.registrations(session)
    training = (
        await session.exec(
            select(Training).where(Training.place_id == place_id, Training.name == LASER_TRAINING)
        )
    ).one()
    first_month = (after.replace(day=1) + timedelta(days=32)).replace(day=1)
    saturdays = [
        day if day not in holidays else day + timedelta(weeks=1)
        for day in monthly(first_month, weekday=5, nth=1, count=3)
    ]
    [first, *_] = await sessions.publish(
        manager,
        place_id,
        SessionCreate(
            title="Formation sécurité découpeuse laser",
            description="Réglages, matériaux interdits, arrêt d'urgence : la formation donne "
            "l'habilitation pour réserver la découpeuse laser, valable un an.",
            kind="training",
            dates=[_date(day, 10, 12, zone) for day in saturdays],
            seats=6,
            min_attendance=2,
            minimum_check_hours=48,
            training_id=training.id,
            resources=[ResourceUse(resource_id=laser_id)],
        ),
    )
    workshop_day = after + timedelta(days=(5 - after.weekday()) % 7 + 7)
    while workshop_day in holidays:
        workshop_day += timedelta(weeks=1)
    [workshop] = await sessions.publish(
        manager,
        place_id,
        SessionCreate(
            title="Initiation à l'impression 3D (11-15 ans)",
            description="Modéliser un porte-clés et l'imprimer. Un adulte accompagne le groupe.",
            kind="workshop",
            dates=[_date(workshop_day, 14, 16, zone)],
            seats=8,
            min_attendance=3,
            registration_closes_hours=24,
            resources=[ResourceUse(resource_id=printer_id)],
        ),
    )
    await sessions.publish(
        manager,
        place_id,
        SessionCreate(
            title="Portes ouvertes",
            description="Visite, démonstrations, et le programme des mois à venir.",
            kind="event",
            dates=[_date(workshop_day - timedelta(days=1), 17, 19, zone)],
            seats=40,
        ),
    )
    await registrations.register(student, first.id, RegistrationCreate())
    # The workshop is paid: 15 EUR a seat VAT included, free for schools; Camille's two seats
    # are paid at the desk (and so invoiced).
    tickets = runtime.billing.tickets(session)
    await tickets.set_prices(
        manager,
        workshop.id,
        TicketPricesWrite.model_validate(
            {
                "amounts_include_vat": True,
                "prices": [
                    {"user_type": "school", "price_cents": 0},
                    {"user_type": "*", "price_cents": 1500},
                ],
            }
        ),
    )
    quote = await tickets.quote(citizen, workshop.id, 2, None)
    ticket = await tickets.order(
        citizen,
        workshop.id,
        TicketOrder(seats=2, fingerprint=quote.fingerprint, payment_method="on_site"),
    )
    await tickets.receive(manager, ticket.registration.id)
    return OCCUPYING_SESSIONS
