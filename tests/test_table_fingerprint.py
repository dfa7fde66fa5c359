"""The fingerprint that tells a refused call changed nothing (tests.support.unchanged)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from kernel.db import Database
from tests.support import communes
from tests.support.accounts import make_user
from tests.support.unchanged import changed_tables, reference_rows_unchanged, table_state


async def _run(database: Database, statement: str, **values: object) -> int:
    async with database.engine.begin() as conn:
        return (await conn.execute(text(statement), values)).rowcount


async def test_any_write_to_a_commune_shows_even_one_that_rewrites_the_same_values(
    database: Database,
) -> None:
    communes.required()
    async with reference_rows_unchanged(database):
        await _run(database, "SELECT count(*) FROM commune")
    with pytest.raises(AssertionError, match="commune"):
        async with reference_rows_unchanged(database):
            # The same name written again: a new row version, which no request may make.
            await _run(
                database,
                "UPDATE commune SET name = name WHERE code = (SELECT min(code) FROM commune)",
            )


async def test_rows_written_show_and_a_credential_s_last_use_does_not(database: Database) -> None:
    user = await make_user(database, "empreinte@example.fr")
    before = await table_state(database)
    assert await _run(database, "UPDATE api_token SET last_used_at = now()") == 1
    assert changed_tables(before, await table_state(database)) == []
    await _run(
        database,
        "UPDATE user_account SET email = 'autre@example.fr' WHERE id = :id",
        id=user.user_id,
    )
    assert changed_tables(before, await table_state(database)) == ["user_account"]
