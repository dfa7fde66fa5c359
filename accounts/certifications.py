"""Read-only question other domains ask about trainings: is this user certified on that day?"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Certification


async def holds_valid_certification(
    session: AsyncSession, user_id: int, training_id: int, on: date
) -> bool:
    """Whether ``user_id`` holds a certification for ``training_id`` valid on ``on``.

    A certification is valid from ``granted_on`` to ``expires_on`` inclusive (no expiry when
    ``expires_on`` is unset).
    """
    rows = await session.exec(
        select(Certification.id).where(
            Certification.user_id == user_id,
            Certification.training_id == training_id,
            col(Certification.granted_on) <= on,
            or_(col(Certification.expires_on).is_(None), col(Certification.expires_on) >= on),
        )
    )
    return rows.first() is not None
