"""The ``commune`` table: filled from the registry packages, and the commune a person means.

The table is reference data, replaced whole in one transaction by :func:`replace_all` (a
search during the load sees the old rows). Its comment records the packages' versions, so a
new version reloads it and an unchanged one costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    literal,
    or_,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from resources.commune_data import CommuneRow
from resources.models import Commune
from resources.place_search import SIMILARITY, Where, normalised

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
    # One statement: the rows as arrays, unnested; the search name set as PostgreSQL
    # normalises names (unaccent), the way the search compares them.
    source = (
        func.unnest(
            bindparam("codes", [r.code for r in rows], type_=ARRAY(String)),
            bindparam("names", [r.name for r in rows], type_=ARRAY(String)),
            bindparam("departments", [r.department for r in rows], type_=ARRAY(String)),
            bindparam("postcodes", [" ".join(r.postcodes) for r in rows], type_=ARRAY(String)),
            bindparam("populations", [r.population for r in rows], type_=ARRAY(Integer)),
            bindparam("latitudes", [r.latitude for r in rows], type_=ARRAY(Float)),
            bindparam("longitudes", [r.longitude for r in rows], type_=ARRAY(Float)),
            bindparam("approximate", [r.centre_approximate for r in rows], type_=ARRAY(Boolean)),
        )
        .table_valued(
            column("code", String),
            column("name", String),
            column("department", String),
            column("postcodes", String),
            column("population", Integer),
            column("latitude", Float),
            column("longitude", Float),
            column("approximate", Boolean),
        )
        .render_derived()
    )
    await connection.execute(
        insert(Commune).from_select(
            [
                "code",
                "name",
                "search_name",
                "department",
                "postcodes",
                "population",
                "latitude",
                "longitude",
                "centre_approximate",
            ],
            sa_select(
                source.c.code,
                source.c.name,
                normalised(source.c.name),
                source.c.department,
                func.string_to_array(source.c.postcodes, " "),
                source.c.population,
                source.c.latitude,
                source.c.longitude,
                source.c.approximate,
            ),
        )
    )
    # Fresh rows wait in the GIN indexes' pending lists, which every search would scan whole
    # until a vacuum: merged now, and the planner told what the table holds.
    for index in ("ix_commune_search_name", "ix_commune_postcodes"):
        await connection.execute(
            text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": index}
        )
    await connection.execute(text("ANALYZE commune"))
    # A literal (COMMENT takes no parameter); the version is our own "name@1.2.3" text.
    quoted = (_VERSION_PREFIX + version).replace("'", "''")
    await connection.execute(text(f"COMMENT ON TABLE commune IS '{quoted}'"))


async def best_match(session: AsyncSession, where: Where) -> Commune | None:
    """The commune meant by what was typed: a whole postcode's most populous commune, else the
    name typed exactly, or the largest whose name it starts, or the closest by trigrams."""
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
    prefix = name.startswith(wanted, autoescape=False)
    # Both conditions can use the trigram index (`%` finds candidates at pg_trgm's threshold,
    # 0.3, the similarity then holds them to ours): a few milliseconds among 35,000 names.
    close = and_(name.op("%")(wanted), similarity >= SIMILARITY)
    query = (
        select(Commune)
        .where(or_(prefix, close))
        .order_by(
            case((name == wanted, 0), else_=1),
            # Of namesakes, one with a centre (a commune overseas may have none).
            case((col(Commune.latitude).is_(None), 1), else_=0),
            # The start of a name: the largest town it starts ("Lann": Lannion); a misspelt
            # name: the closest.
            case((prefix, 0), else_=1),
            case((prefix, -col(Commune.population)), else_=0),
            similarity.desc(),
            col(Commune.population).desc(),
            col(Commune.code),
        )
        .limit(1)
    )
    return (await session.exec(query)).first()
