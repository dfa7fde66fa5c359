"""Creating the first administrator and the demo people, outside any HTTP request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import ApiToken, Membership, Organisation, PlaceManager, User
from accounts.passwords import hash_password
from accounts.repository import AccountRepository
from kernel.auth.tokens import digest, new_token


async def ensure_admin(
    session: AsyncSession, email: str, display_name: str, password: str | None
) -> str:
    """Create (or promote) a platform administrator and return a new read-write API token.

    The operator who runs the command vouches for the address: it counts as verified.
    """
    repo = AccountRepository(session)
    email = email.strip().lower()
    user = await repo.user_by_email(email)
    if user is None:
        user = User(email=email, display_name=display_name)
    user.is_platform_admin = True
    user.active = True
    user.email_verified_at = user.email_verified_at or datetime.now(UTC)
    if password:
        user.password_hash = hash_password(password)
    await repo.add(user)
    assert user.id is not None
    token = new_token()
    await repo.add(
        ApiToken(
            user_id=user.id, name="create-admin", token_sha256=digest(token), scope="read_write"
        )
    )
    return token


@dataclass(frozen=True)
class DemoPerson:
    """A demo account and what it is for."""

    email: str
    role: str


async def ensure_demo_people(
    session: AsyncSession, place_ids: list[int], password: str
) -> list[DemoPerson]:
    """Demo accounts: a manager per place, a citizen, a student, a citizen asking for a reduced
    rate, a teacher of a school, and a platform administrator (who reads the e-mails the demo
    sent, in the outbox); their made-up addresses count as verified, so the demo shows every
    feature."""
    repo = AccountRepository(session)
    people: list[DemoPerson] = []

    async def person(email: str, name: str, role: str, **fields: object) -> User:
        user = await repo.user_by_email(email)
        if user is None:
            user = User(
                email=email,
                display_name=name,
                password_hash=hash_password(password),
                email_verified_at=datetime.now(UTC),
            )
            for key, value in fields.items():
                setattr(user, key, value)
            await repo.add(user)
            people.append(DemoPerson(email, role))
        return user

    for index, place_id in enumerate(place_ids, start=1):
        manager = await person(
            f"gestion{index}@demo.mutualab.example",
            f"Gestionnaire {index}",
            f"manager of place {place_id}",
        )
        assert manager.id is not None
        if await repo.place_manager(place_id, manager.id) is None:
            await repo.add(PlaceManager(place_id=place_id, user_id=manager.id))
    await person("camille@demo.mutualab.example", "Camille Martin", "citizen")
    await person(
        "admin@demo.mutualab.example",
        "Administration (démo)",
        "platform administrator (e-mails sent: /manage/outbox)",
        is_platform_admin=True,
    )
    await person(
        "lea@demo.mutualab.example",
        "Léa Bernard",
        "student (reduced rate granted)",
        user_type_code="student",
    )
    # Asked for the job-seeker rate at sign-up: a request to answer in the back office.
    await person(
        "yann@demo.mutualab.example",
        "Yann Le Goff",
        "citizen asking for the job-seeker rate (/manage/admin/rate-requests)",
        requested_user_type_code="job_seeker",
    )
    teacher = await person("prof@demo.mutualab.example", "M. Lefèvre", "teacher, admin of a school")
    assert teacher.id is not None
    if not await repo.memberships_of_user(teacher.id):
        # A public collège: it books at the school rate and is invoiced through Chorus Pro, its
        # purchase orders being its engagement numbers.
        school = Organisation(
            name="Collège Jean Jaurès (démo)",
            user_type_code="school",
            siret=DEMO_SCHOOL_SIRET,
            siren=DEMO_SCHOOL_SIRET[:9],
            billing_address="5 rue des Écoles",
            billing_postcode="22300",
            billing_town="Lannion",
            requires_purchase_order=True,
            public_buyer=True,
            chorus_service_code="INTENDANCE",
        )
        await repo.add(school)
        assert school.id is not None
        await repo.add(Membership(organisation_id=school.id, user_id=teacher.id, role="admin"))
    return people


DEMO_DOMAIN = "@demo.mutualab.example"
DEMO_SCHOOL_SIRET = "19220001200008"  # made up, with valid check digits


async def reset_demo_passwords(session: AsyncSession, password: str) -> list[str]:
    """Give every demo account ``password`` (a demo whose first printout was lost); returns
    their addresses. Only the demo's made-up addresses are touched."""
    repo = AccountRepository(session)
    emails = []
    for user in await repo.users_with_email_suffix(DEMO_DOMAIN):
        user.password_hash = hash_password(password)
        await repo.add(user)
        emails.append(user.email)
    return emails
