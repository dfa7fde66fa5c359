"""A request's session is closed when it was used, and left as it is when it was not."""

from __future__ import annotations

from sqlalchemy import inspect, text

from kernel.db import Database, close_if_used
from resources.models import Place
from tests.factories import place_payload


async def test_a_session_inside_a_transaction_is_closed_and_its_connection_given_back(
    database: Database,
) -> None:
    session = database.writer()
    await session.execute(text("select 1"))
    assert session.in_transaction() and database.engine.pool.checkedout() == 1
    await close_if_used(session)
    assert not session.in_transaction()
    assert database.engine.pool.checkedout() == 0


async def test_a_session_holding_objects_lets_them_go(database: Database) -> None:
    pending = database.writer()
    draft = Place(**place_payload(slug="close-pending"))
    pending.add(draft)
    await close_if_used(pending)
    assert not pending.new and inspect(draft).transient  # expunged: no longer pending

    stored = database.writer()
    place = Place(**place_payload(slug="close-stored"))
    stored.add(place)
    await stored.commit()  # no transaction any more, but the place is in its identity map
    assert not stored.in_transaction() and inspect(place).persistent
    await close_if_used(stored)
    assert inspect(place).detached
    assert database.engine.pool.checkedout() == 0


async def test_a_session_never_used_holds_no_connection(database: Database) -> None:
    session = database.writer()
    await close_if_used(session)
    assert database.engine.pool.checkedout() == 0
    # Left as it was, it still works if someone uses it afterwards.
    assert (await session.execute(text("select 2"))).scalar_one() == 2
    await close_if_used(session)
    assert database.engine.pool.checkedout() == 0
