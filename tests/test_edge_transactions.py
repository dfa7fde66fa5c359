"""The request's transaction ends at the edge: committed for a 2xx/3xx answer, else rolled back.

Handlers registered on the real application (its middleware, dependencies and exception
handlers) write a row, flush it, then answer with a given status; what the database kept is
read afterwards on a connection of its own. No handler commits or rolls back by itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation
from kernel.db import Database
from kernel.errors import ConflictError
from kernel.routes import post
from kernel.settings import Settings
from mutualab.app import create_app


async def _write(db_session: AsyncSession, code: str) -> None:
    db_session.add(
        Organisation(
            name=code,
            user_type_code="citizen",
            billing_address="1 rue de l'Atelier",
            billing_postcode="22300",
            billing_town="Lannion",
        )
    )
    await db_session.flush()


@post("/test-edge/{status:int}", status_code=200)
async def answer_with(
    db_session: NamedDependency[AsyncSession], status: FromPath[int]
) -> Response[Any]:
    """Write, then answer ``status`` normally (a rendered 422 page is such an answer)."""
    await _write(db_session, f"edge-{status}")
    headers = {"Location": "/"} if 300 <= status < 400 else None
    body = None if status == 204 else {"status": status}
    return Response(body, status_code=status, headers=headers)


@post("/test-edge/raise", status_code=201)
async def raise_after_write(db_session: NamedDependency[AsyncSession]) -> None:
    """Write, then refuse by raising."""
    await _write(db_session, "edge-raised")
    raise ConflictError("refused after writing")


@post("/test-edge/lost", status_code=201)
async def lose_connection(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, str]:
    """Write, then lose the connection (its backend is terminated) before the commit."""
    await _write(db_session, "edge-lost")
    pid = (await db_session.exec(text("SELECT pg_backend_pid()"))).scalar_one()  # type: ignore[call-overload]
    database: Database = request.app.state.database
    async with database.engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return {"handler": "answered"}


DIE_AT_COMMIT = (
    """CREATE FUNCTION test_die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_terminate_backend(pg_backend_pid());
        RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER test_die_at_commit AFTER INSERT ON organisation
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.name = 'edge-201') EXECUTE FUNCTION test_die_at_commit()""",
)


@pytest.fixture
async def dying_commit(database: Database) -> AsyncIterator[None]:
    """The connection of a transaction that stored an 'edge-201' organisation dies at COMMIT."""
    async with database.engine.begin() as conn:
        for statement in DIE_AT_COMMIT:
            await conn.execute(text(statement))
    try:
        yield
    finally:
        await _heal(database)


async def _heal(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER IF EXISTS test_die_at_commit ON organisation"))
        await conn.execute(text("DROP FUNCTION IF EXISTS test_die_at_commit()"))


@post("/test-edge/refuse-lost", status_code=201)
async def refuse_after_losing_connection(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> None:
    """Write, lose the connection, then refuse (a business rule decided before it noticed)."""
    await _write(db_session, "edge-refused-lost")
    pid = (await db_session.exec(text("SELECT pg_backend_pid()"))).scalar_one()  # type: ignore[call-overload]
    database: Database = request.app.state.database
    async with database.engine.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    raise ConflictError("refused after the connection was lost")


@pytest.fixture
async def edge_client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The application with the handlers above."""
    app: Litestar = create_app(settings, database=database)
    for handler in (
        answer_with,
        raise_after_write,
        lose_connection,
        refuse_after_losing_connection,
    ):
        app.register(handler)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as http:
        yield http


async def _stored(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(text("SELECT name FROM organisation"))
        return {name for (name,) in rows}


@pytest.mark.parametrize("status", [200, 201, 204, 303])
async def test_a_2xx_or_3xx_answer_stores_the_writes(
    edge_client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database, status: int
) -> None:
    response = await edge_client.post(f"/test-edge/{status}", headers=admin_headers)
    assert response.status_code == status
    assert await _stored(database) == {f"edge-{status}"}


@pytest.mark.parametrize("status", [400, 409, 422, 500, 503])
async def test_a_refusal_returned_after_a_write_stores_nothing(
    edge_client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database, status: int
) -> None:
    # The handler returned normally, with a refusal: what it flushed is rolled back.
    response = await edge_client.post(f"/test-edge/{status}", headers=admin_headers)
    assert response.status_code == status
    assert await _stored(database) == set()


async def test_a_refusal_raised_after_a_write_stores_nothing(
    edge_client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    response = await edge_client.post("/test-edge/raise", headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert await _stored(database) == set()


async def test_a_commit_on_a_lost_connection_is_answered_outcome_unknown(
    edge_client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    # The commit runs before the answer starts, so its failure still decides the answer: never
    # the handler's 201, never a broken response.
    response = await edge_client.post("/test-edge/lost", headers=admin_headers)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "outcome_unknown"
    assert "handler" not in response.json()
    assert await _stored(database) == set()
    # The application recovers: the next request gets a fresh connection and commits.
    again = await edge_client.post("/test-edge/201", headers=admin_headers)
    assert again.status_code == 201
    assert await _stored(database) == {"edge-201"}


async def test_an_unknown_outcome_names_the_key_to_retry_with(
    edge_client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    database: Database,
    dying_commit: None,
) -> None:
    # The connection is lost during COMMIT itself: the client cannot know what was stored.
    headers = {**admin_headers, "Idempotency-Key": "retry-me"}
    lost = await edge_client.post("/test-edge/201", headers=headers)
    assert lost.status_code == 503
    problem = lost.json()
    assert problem["code"] == "outcome_unknown"
    assert problem["outcome"] == "unknown"
    assert problem["idempotency_key"] == "retry-me"
    await _heal(database)
    # The retry with the same key carries it out once; a second retry gets the stored answer.
    retried = await edge_client.post("/test-edge/201", headers=headers)
    assert retried.status_code == 201
    replayed = await edge_client.post("/test-edge/201", headers=headers)
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == retried.json() == {"status": 201}
    async with database.engine.connect() as conn:
        count = await conn.execute(text("SELECT count(*) FROM organisation"))
        assert count.scalar_one() == 1


async def test_a_refusal_after_the_connection_was_lost_is_still_the_refusal(
    edge_client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    # The rollback fails (the connection is gone): the answer is the refusal, never a 500.
    response = await edge_client.post("/test-edge/refuse-lost", headers=admin_headers)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    assert await _stored(database) == set()
