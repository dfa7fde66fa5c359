"""What the error log says about a refused change: the constraint, never the values it held."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from accounts.models import User
from kernel.db import Database

EMAIL = "lea.martin@example.fr"


async def _wait_for_a_lock_wait(database: Database, signup: asyncio.Task[httpx.Response]) -> None:
    async with database.engine.connect() as watcher:
        for _ in range(200):
            if signup.done():
                pytest.fail(f"the sign-up ended without waiting: {signup.result().text}")
            waiting = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting:
                return
            await watcher.rollback()  # pg_stat_activity is read once per transaction
            await asyncio.sleep(0.02)
    pytest.fail("the sign-up never waited for the other transaction")


async def test_an_unforeseen_unique_violation_is_logged_without_the_email(
    client: httpx.AsyncClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    token = (await client.get("/api/auth/csrf")).json()["csrf_token"]
    body = {"email": EMAIL, "password": "violet-harbour-compass-42", "display_name": "Léa"}
    # Another transaction takes the address between the sign-up's check and its insert: the
    # insert waits for it, then breaks the unique constraint the check could not see coming.
    async with database.writer() as rival:
        rival.add(User(email=EMAIL, display_name="Léa"))
        await rival.flush()
        signup = asyncio.create_task(
            client.post("/api/auth/signup", json=body, headers={"X-CSRF-Token": token})
        )
        await _wait_for_a_lock_wait(database, signup)
        await rival.commit()
    response = await signup
    assert response.status_code == 409
    assert response.json()["code"] == "constraint_violation"
    # The server's message names the values (DETAIL: Key (email)=(...)); how much of it the
    # driver's exception repeats depends on versions: the log names the constraint only.
    logged = [r.getMessage() for r in caplog.records if r.name == "kernel.errors"]
    assert logged == [
        "integrity error on /api/auth/signup: SQLSTATE 23505 on user_account.ix_user_account_email"
    ]
    assert EMAIL not in caplog.text
