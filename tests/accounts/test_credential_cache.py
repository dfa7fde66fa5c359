"""A worker remembers the API tokens it accepted for a few seconds (accounts.credential_cache):
what it changes itself it sees at once, what another process changes within those seconds."""

from __future__ import annotations

from datetime import timedelta

import httpx

from accounts.credential_cache import CredentialCache, Remembered
from accounts.models import PlaceManager
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from resources.models import Place
from tests.accounts.test_sessions import csrf, sign_up
from tests.accounts.test_throttle import app_client
from tests.accounts.test_tokens import make_token
from tests.support.booking import MutableClock
from tests.support.sql import connect


async def program_token(http: httpx.AsyncClient) -> dict[str, str]:
    """Sign up, make an API token, and go on as a program: the token, no cookies."""
    assert (await sign_up(http)).status_code == 200
    bearer = await make_token(http)
    http.cookies.clear()
    return bearer


async def revoke_elsewhere(database: Database, bearer: dict[str, str]) -> None:
    """Revoke every token, as another worker or a script would: past this process's engine."""
    url = database.engine.url.render_as_string(hide_password=False)
    connection = await connect(url)
    try:
        revoked = await connection.execute("UPDATE api_token SET revoked_at = now()")
    finally:
        await connection.close()
    assert revoked == "UPDATE 1", bearer


async def test_a_token_revoked_elsewhere_is_refused_once_the_seconds_are_over(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        bearer = await program_token(http)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        await revoke_elsewhere(database, bearer)
        # Remembered: the revocation reached this worker's database, not its memory.
        clock.advance(seconds=settings.credential_cache_seconds - 1)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        clock.advance(seconds=1)
        refused = await http.get("/api/me", headers=bearer)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"


async def test_without_the_cache_a_token_revoked_elsewhere_is_refused_at_once(
    settings: Settings, database: Database
) -> None:
    uncached = settings.model_copy(update={"credential_cache_seconds": 0})
    async with app_client(uncached, database, MutableClock()) as http:
        bearer = await program_token(http)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        await revoke_elsewhere(database, bearer)
        assert (await http.get("/api/me", headers=bearer)).status_code == 401


async def test_a_token_revoked_through_this_worker_is_refused_at_once(
    settings: Settings, database: Database
) -> None:
    async with app_client(settings, database, MutableClock()) as http:
        assert (await sign_up(http)).status_code == 200
        bearer = await make_token(http)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        token_id = (await http.get("/api/me/tokens")).json()[0]["id"]
        revoked = await http.delete(f"/api/me/tokens/{token_id}", headers=await csrf(http))
        assert revoked.status_code == 204
        http.cookies.clear()
        refused = await http.get("/api/me", headers=bearer)
        assert refused.status_code == 401


async def test_a_role_given_through_this_worker_is_seen_at_once(
    settings: Settings, database: Database
) -> None:
    async with app_client(settings, database, MutableClock()) as http:
        bearer = await program_token(http)
        user_id = (await http.get("/api/me", headers=bearer)).json()["id"]
        async with database.writer() as session, session.begin():
            place = Place(
                slug="fablab",
                name="Fablab",
                address="1 rue",
                postcode="22300",
                town="Lannion",
                operator_name="Commune",
            )
            session.add(place)
        policies = f"/api/places/{place.id}/booking-policies"
        assert (await http.get(policies, headers=bearer)).status_code == 403
        async with database.writer() as session, session.begin():
            session.add(PlaceManager(place_id=place.id, user_id=user_id))
        # The accepted token's actor is remembered, and is now a manager of the place.
        assert (await http.get(policies, headers=bearer)).status_code == 200


def test_a_read_that_began_before_a_change_is_not_remembered() -> None:
    clock = MutableClock()
    cache = CredentialCache(5)
    began = cache.generation  # a request reads the token...
    cache.forget_all()  # ...while another request changes a credential and commits
    now = clock.now
    stale = Remembered(Actor(user_id=1, via="api_token"), 1, now, now, cache.remembered_for(now))
    cache.put("digest", began, stale, None)
    assert cache.get("digest", now) is None
    cache.put("digest", cache.generation, stale, None)
    assert cache.get("digest", now) is stale


def test_a_token_is_never_remembered_past_its_expiry() -> None:
    now = MutableClock().now
    cache = CredentialCache(5)
    entry = Remembered(Actor(user_id=1, via="api_token"), 1, now, now, cache.remembered_for(now))
    cache.put("digest", cache.generation, entry, now + timedelta(seconds=2))
    assert cache.get("digest", now + timedelta(seconds=1)) is entry
    assert cache.get("digest", now + timedelta(seconds=2)) is None
