"""The port through which other domains add their share of a person's data (GDPR).

Accounts sits below booking and billing, so it cannot read their tables. The composition root
gives the account service the parts that can (``mutualab.personal_data``): each exports what its
domain holds about a user and erases it when the account is deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor


class PersonalDataPart(Protocol):
    """One domain's share of a person's data."""

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        """What the domain holds about the user, JSON-ready, by section name."""
        ...

    async def erase(self, session: AsyncSession, actor: Actor, user_id: int, now: datetime) -> None:
        """Erase (or end) what the domain holds about the user, in the caller's transaction."""
        ...
