"""The ``commune`` table: filled from the registry packages, and the commune a person means.

The table is reference data, replaced whole in one transaction by :func:`replace_all` (a
search during the load sees the old rows). Its comment records the packages' versions, so a
new version reloads it and an unchanged one costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, delete, func, insert, literal, or_, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from resources.commune_data import CommuneRow
from resources.models import Commune
from resources.place_search import (
    PREFIX_MIN_LENGTH,
    PREFIX_SIMILARITY,
    SIMILARITY,
    Where,
    normalised,
)

BATCH = 2000
_VERSION_PREFIX = "source: "


async def lock(session: AsyncSession) -> None:
    """Hold the table against another load until the transaction ends (searches still read)."""
    await (await session.connection()).execute(text("LOCK TABLE commune IN EXCLUSIVE MODE"))


async def loaded_version(session: AsyncSession) -> str | None:
    """The packages' versions the table was loaded from (None: never loaded)."""
    connection = await session.connection()
    comment = (
        await connection.execute(text("SELECT obj_description('commune'::regclass, 'pg_class')"))
    ).scalar_one()
    if not comment or not str(comment).startswith(_VERSION_PREFIX):
        return None
    return str(comment)[len(_VERSION_PREFIX) :]


async def replace_all(session: AsyncSession, rows: Sequence[CommuneRow], version: str) -> None:
    """Every commune, in place of those loaded before (the caller commits)."""
    connection = await session.connection()
    await connection.execute(delete(Commune))
    for start in range(0, len(rows), BATCH):
        await connection.execute(
            insert(Commune),
            [
                {
                    "code": row.code,
                    "name": row.name,
                    "search_name": "",
                    "department": row.department,
                    "postcodes": row.postcodes,
                    "population": row.population,
                    "latitude": row.latitude,
                    "longitude": row.longitude,
                    "centre_approximate": row.centre_approximate,
                }
                for row in rows[start : start + BATCH]
            ],
        )
    # The search compares names as PostgreSQL normalises them (unaccent), so it sets them.
    await connection.execute(update(Commune).values(search_name=normalised(col(Commune.name))))
    # A literal (COMMENT takes no parameter); the version is our own "name@1.2.3" text.
    quoted = (_VERSION_PREFIX + version).replace("'", "''")
    await connection.execute(text(f"COMMENT ON TABLE commune IS '{quoted}'"))


async def best_match(session: AsyncSession, where: Where) -> Commune | None:
    """The commune meant by what was typed: a whole postcode's most populous commune, else the
    name typed exactly, or its start, or the closest by trigrams (the most populous of
    namesakes)."""
    if where.postcode:
        if len(where.postcode) != 5:
            return None  # a département's start: no one centre
        query = (
            select(Commune)
            .where(col(Commune.postcodes).contains([where.postcode]))
            .order_by(col(Commune.population).desc(), col(Commune.code))
            .limit(1)
        )
        return (await session.exec(query)).first()
    typed = (where.text or "").strip()
    if not typed or not any(ch.isalnum() for ch in typed):
        return None
    name = col(Commune.search_name)
    wanted = normalised(literal(typed))
    similarity = func.similarity(name, wanted)
    conditions = [name.startswith(wanted, autoescape=False), similarity >= SIMILARITY]
    if len(typed) >= PREFIX_MIN_LENGTH:
        start = func.left(name, func.length(wanted) + 1)
        conditions.append(func.similarity(start, wanted) >= PREFIX_SIMILARITY)
    query = (
        select(Commune)
        .where(or_(*conditions))
        .order_by(
            case((name == wanted, 0), else_=1),
            case((name.startswith(wanted, autoescape=False), 0), else_=1),
            similarity.desc(),
            col(Commune.population).desc(),
            col(Commune.code),
        )
        .limit(1)
    )
    return (await session.exec(query)).first()
