"""People a manager books for at the front desk: their rates, and walk-ins recorded as guests.

A walk-in is a ``user_account`` row without a password (nobody logs in as it), marked with the
place that recorded it. Bookings, payments and invoices all name a person by that table, so a
guest goes through the same booking, billing and data-protection paths as anyone; without an
e-mail address, the account gets a placeholder under the reserved ``.invalid`` domain (RFC
6761), which the outbox never mails.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import RateGrant, User
from kernel.auth.rates import Rates
from kernel.errors import ConflictError, InvalidInputError, NotFoundError

PLACEHOLDER_DOMAIN = "guests.invalid"
MAX_NAME = 120
MAX_PHONE = 30
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{6,30}$")


def is_placeholder(email: str) -> bool:
    """Whether an address is a guest's placeholder (never mailed, never shown)."""
    return email.endswith("." + PLACEHOLDER_DOMAIN.rsplit(".", 1)[1])


async def person_rates(session: AsyncSession, user_id: int) -> Rates:
    """The rates a person books at (their own type, and the places' grants), as their own
    credentials would carry them."""
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None or not user.active:
        raise NotFoundError(f"No person with id {user_id}.", code="user_not_found")
    grants = await session.exec(select(RateGrant).where(RateGrant.user_id == user_id))
    return Rates(
        user.user_type_code,
        {g.place_id: g.user_type_code for g in grants},
        email_verified=user.email_verified_at is not None,
    )


async def walk_in(
    session: AsyncSession,
    place_id: int,
    name: str,
    email: str,
    phone: str,
    now: datetime,
) -> User:
    """The person a walk-in is: the account with the address typed if there is one (the
    manager knows the whole address, as when granting a rate), else a new guest with a name,
    and an e-mail address or a phone number if given."""
    name, email, phone = name.strip(), email.strip().lower(), phone.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInputError(
            f"Give the person's name (at most {MAX_NAME} characters).",
            field="name",
            code="invalid_name",
        )
    if email and (len(email) > 254 or not _EMAIL.match(email) or is_placeholder(email)):
        raise InvalidInputError("This is not an e-mail address.", field="email", code="bad_email")
    if phone and not _PHONE.match(phone):
        raise InvalidInputError("This is not a phone number.", field="phone", code="bad_phone")
    if email:
        found = (await session.exec(select(User).where(col(User.email) == email))).first()
        if found is not None:
            if found.deleted_at is not None or not found.active:
                raise ConflictError(
                    "This address belongs to a closed account.", code="account_closed"
                )
            return found
    user = User(
        email=email or f"walk-in-{secrets.token_hex(8)}@{PLACEHOLDER_DOMAIN}",
        password_hash=None,
        display_name=name,
        guest_place_id=place_id,
        phone=phone or None,
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user
