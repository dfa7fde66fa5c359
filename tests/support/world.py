"""A small world for authorization tests: two places, their managers, organisations, people.

Built straight in the database (fast), with a suffix so several worlds can share one. A test
that needs a new world for each of its steps builds it once and puts its rows back before each
step (:class:`SavedWorld`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import TextClause, text, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import (
    ApiToken,
    Certification,
    Invitation,
    OrganisationVerification,
    Training,
)
from billing.models import PlaceBilling, PriceList, PriceRate
from booking.feeds.models import CalendarFeed
from kernel.auth.tokens import digest, new_token
from kernel.db import Database
from mutualab.metadata import metadata
from resources.models import Blackout, OpeningHour, Place, PlaceException, Resource
from resources.repository import CatalogueRepository
from tests.support.accounts import Person, add_organisation, add_user, stored_hash
from tests.support.emptying import empty_tables, written_rows

_counter = itertools.count(1)
EXCEPTION_DAY = date(2027, 3, 2)
LOGIN_PASSWORD = "matrix-login-passphrase-31"
_login_hash = stored_hash(LOGIN_PASSWORD)

ROLES = (
    "anonymous",
    "citizen",
    "member_other_org",
    "member_right_org",
    "manager_other_place",
    "manager_right_place",
    "admin",
)


@dataclass
class World:
    """Ids of everything the matrix needs, and one person per role."""

    suffix: int
    place_a: int
    place_b: int
    resource_a: int
    room_a: int  # bookings of it wait for a manager's approval
    blackout_a: int
    training_a: int
    organisation_x: int
    organisation_y: int
    # The other place's objects, for calls that mix a caller's own ids with another tenant's.
    resource_b: int
    blackout_b: int
    training_b: int
    booker_of_x: int  # a plain member of X, target of member routes
    booker_email: str
    login_email: str  # a user with LOGIN_PASSWORD
    people: dict[str, Person] = field(default_factory=dict)
    spare_tokens: dict[str, int] = field(default_factory=dict)
    invitation_x: int = 0  # an address invited into organisation X
    invitations: dict[str, int] = field(default_factory=dict)  # each role's own, into Y
    feed_token: str = ""  # organisation X's private calendar feed
    ids: dict[str, int] = field(default_factory=dict)  # filled by domains (bookings, ...)
    # Callers beside the roles: X's plain booker, an admin's read-only token, a revoked one.
    callers: dict[str, Person] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        """Credentials of a role (none for anonymous)."""
        return {} if role == "anonymous" else self.people[role].headers


async def _place(session: AsyncSession, slug: str) -> tuple[int, int, int, int]:
    place = Place(
        slug=slug,
        name=slug,
        address="1 rue",
        postcode="22300",
        town="Lannion",
        operator_name="Commune",
    )
    session.add(place)
    await session.flush()
    assert place.id is not None
    for weekday in range(7):
        session.add(OpeningHour(place_id=place.id, weekday=weekday, opens=time(8), closes=time(20)))
    resource = Resource(place_id=place.id, name="Laser", kind="machine", capacity=2)
    room = Resource(place_id=place.id, name="Salle", kind="space", requires_approval=True)
    session.add_all([resource, room])
    await session.flush()
    await CatalogueRepository(session).sync_units(resource)
    await CatalogueRepository(session).sync_units(room)
    assert resource.id is not None
    session.add(PlaceException(place_id=place.id, day=EXCEPTION_DAY, closed=True))
    # Billing: the laser is priced; anyone may pay on invoice or on site (no Stripe here).
    prices = PriceList(place_id=place.id, scope=f"resource:{resource.id}", resource_id=resource.id)
    session.add(prices)
    await session.flush()
    assert prices.id is not None
    session.add(PriceRate(price_list_id=prices.id, user_type_code="*", hourly_cents=1500))
    session.add(
        PlaceBilling(
            place_id=place.id,
            invoice_prefix=f"W{place.id}",
            payment_methods={"*": ["card", "invoice", "on_site"]},
            refund_tiers=[{"hours": 48, "percent": 100, "label": ""}],
        )
    )
    start = datetime(2027, 6, 1, 8, tzinfo=UTC)
    blackout = Blackout(resource_id=resource.id, starts_at=start, ends_at=start.replace(hour=10))
    session.add(blackout)
    await session.flush()
    assert blackout.id is not None and room.id is not None
    return place.id, resource.id, blackout.id, room.id


async def fresh_world(database: Database) -> World:
    """A new world in a database holding nothing else: what earlier steps wrote is removed
    first (ids and the catalogue revision go on), so a step reads and fingerprints small
    tables instead of all the worlds before it."""
    await empty_tables(database, restart_counters=False)
    return await build_world(database)


@dataclass(frozen=True)
class SavedWorld:
    """A world and its rows, to start each step of a test from the same world.

    Emptying the tables and putting a world's rows back costs about 10 ms, building one
    through the ORM about 70: the authorization matrix starts a thousand steps this way. The
    tables are emptied through the app's own engine, so the app forgets the credentials it
    kept; the inserts move the catalogue revision on, so it reads its catalogue copies again.
    Rows the steps add get ids after the world's (the sequences go on).
    """

    world: World
    put_back: TextClause  # one statement inserting every saved row, parents first

    @classmethod
    async def build(cls, database: Database) -> SavedWorld:
        """Build a world in tables holding nothing else and keep its rows."""
        world = await fresh_world(database)
        inserts = []
        async with database.engine.connect() as conn:
            for table in metadata.sorted_tables:
                # The rows a test may write: not the reference rows, which stay, nor the
                # revision counter, whose triggers count every change (a put-back included).
                written = written_rows(table.name)
                if written is None:
                    continue
                found = f'SELECT jsonb_agg(t)::text FROM "{table.name}" t{written}'  # noqa: S608
                rows = (await conn.execute(text(found))).scalar_one()
                if rows is not None:
                    # The world's own rows, as PostgreSQL wrote them, between dollar quotes.
                    inserts.append(
                        f'INSERT INTO "{table.name}" SELECT * FROM jsonb_populate_recordset('  # noqa: S608
                        f'NULL::"{table.name}", $rows${rows}$rows$::jsonb);'
                    )
        body = "\n".join(inserts)
        return cls(world=world, put_back=text(f"DO $world$ BEGIN {body} END $world$"))

    async def restore(self, database: Database) -> World:
        """The world again, alone in its tables, as it was built."""
        await empty_tables(database, restart_counters=False)
        async with database.engine.begin() as conn:
            await conn.execute(self.put_back)
        return replace(self.world, ids={})


async def build_world(database: Database) -> World:
    """Create a fresh world with unique names (in one transaction)."""
    n = next(_counter)
    async with database.writer() as session, session.begin():
        place_a, resource_a, blackout_a, room_a = await _place(session, f"place-a-{n}")
        place_b, resource_b, blackout_b, _ = await _place(session, f"place-b-{n}")
        org_x = await add_organisation(session, f"Org X {n}")
        org_y = await add_organisation(session, f"Org Y {n}")
        people = {
            "citizen": await add_user(session, f"citizen-{n}@example.fr"),
            "member_other_org": await add_user(
                session, f"other-org-{n}@example.fr", organisation_roles=((org_y, "admin"),)
            ),
            "member_right_org": await add_user(
                session, f"right-org-{n}@example.fr", organisation_roles=((org_x, "admin"),)
            ),
            "manager_other_place": await add_user(
                session, f"manager-b-{n}@example.fr", manages=(place_b,)
            ),
            "manager_right_place": await add_user(
                session, f"manager-a-{n}@example.fr", manages=(place_a,)
            ),
            "admin": await add_user(session, f"admin-{n}@example.fr", admin=True),
        }
        booker = await add_user(
            session, f"booker-x-{n}@example.fr", organisation_roles=((org_x, "booker"),)
        )
        login = await add_user(session, f"login-{n}@example.fr", password_hash=_login_hash)
        callers = {
            "booker_of_x": booker,
            "admin_read_only": await add_user(
                session, f"admin-ro-{n}@example.fr", admin=True, scope="read"
            ),
            "admin_revoked": await add_user(session, f"admin-rv-{n}@example.fr", admin=True),
        }
        revoke: Any = (
            update(ApiToken)
            .where(col(ApiToken.user_id) == callers["admin_revoked"].user_id)
            .values(revoked_at=datetime(2027, 1, 1, tzinfo=UTC))
        )
        await session.exec(revoke)
        spare: dict[str, int] = {}
        session.add(OrganisationVerification(organisation_id=org_x, place_id=place_a))
        training = Training(place_id=place_a, name="Sécurité laser")
        training_b = Training(place_id=place_b, name="Sécurité fraiseuse")
        session.add_all([training, training_b])
        await session.flush()
        assert training.id is not None and training_b.id is not None
        for held in (training.id, training_b.id):
            session.add(
                Certification(
                    user_id=people["citizen"].user_id,
                    training_id=held,
                    granted_on=date(2026, 1, 5),
                )
            )
        for role, person in people.items():
            token = ApiToken(
                user_id=person.user_id, name="spare", token_sha256=digest(new_token()), scope="read"
            )
            session.add(token)
            await session.flush()
            assert token.id is not None
            spare[role] = token.id
            session.add(
                CalendarFeed(
                    user_id=person.user_id,
                    created_by_user_id=person.user_id,
                    token_sha256=digest(new_token()),
                )
            )
        invitations: dict[str, int] = {}
        for role, person in people.items():
            mine = Invitation(organisation_id=org_y, email=person.email, role="admin")
            session.add(mine)
            await session.flush()
            assert mine.id is not None
            invitations[role] = mine.id
        invited = Invitation(organisation_id=org_x, email=f"invited-{n}@example.fr", role="booker")
        session.add(invited)
        await session.flush()
        assert invited.id is not None
        feed_token = new_token()
        # Each organisation's feed, made by its admin (it works while they stay one).
        for organisation_id, creator, secret in (
            (org_x, people["member_right_org"], feed_token),
            (org_y, people["member_other_org"], new_token()),
        ):
            session.add(
                CalendarFeed(
                    organisation_id=organisation_id,
                    created_by_user_id=creator.user_id,
                    token_sha256=digest(secret),
                )
            )
    return World(
        suffix=n,
        place_a=place_a,
        place_b=place_b,
        resource_a=resource_a,
        room_a=room_a,
        blackout_a=blackout_a,
        training_a=training.id,
        organisation_x=org_x,
        organisation_y=org_y,
        resource_b=resource_b,
        blackout_b=blackout_b,
        training_b=training_b.id,
        booker_of_x=booker.user_id,
        booker_email=booker.email,
        login_email=login.email,
        people=people,
        spare_tokens=spare,
        invitation_x=invited.id,
        invitations=invitations,
        feed_token=feed_token,
        callers=callers,
    )
