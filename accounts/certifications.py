"""What other domains ask of trainings: is this user certified on that day? And the
certification a training session attended grants (the programme)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Certification, Training


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


async def grant_attended(
    session: AsyncSession,
    user_id: int,
    training_id: int,
    on: date,
    *,
    source_session_id: int,
    by_user_id: int | None,
) -> Certification:
    """Certify a person who attended a training session on ``on``, for the training's
    validity from that day (a certification held already is renewed from it, never shortened).
    """
    training = await session.get(Training, training_id)
    if training is None:
        raise LookupError(f"no training {training_id}")
    expires_on = None if training.validity_days is None else on + timedelta(training.validity_days)
    row = (
        await session.exec(
            select(Certification)
            .where(Certification.user_id == user_id, Certification.training_id == training_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        row = Certification(user_id=user_id, training_id=training_id, granted_on=on)
    elif row.expires_on is None and row.granted_on <= on:
        return row  # held for good already
    row.granted_on, row.expires_on = on, expires_on
    row.granted_by_user_id = by_user_id
    row.source_session_id = source_session_id
    session.add(row)
    await session.flush()
    return row


async def withdraw_attended(
    session: AsyncSession, user_id: int, training_id: int, source_session_id: int
) -> None:
    """Withdraw the certification a session granted, its attendance unmarked (one granted
    otherwise since, by a manager or another session, stays)."""
    row = (
        await session.exec(
            select(Certification).where(
                Certification.user_id == user_id,
                Certification.training_id == training_id,
                Certification.source_session_id == source_session_id,
            )
        )
    ).first()
    if row is not None:
        await session.delete(row)
        await session.flush()
