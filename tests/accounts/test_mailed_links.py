"""Links mailed to people: confirm an address at sign-up, reset a forgotten password.

Issue 17 item 3 and issue 16 item 14: sign-up and reset answers never tell whether an address
has an account; links are single-use, expiring, stored hashed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlmodel import col

from accounts.jobs import purge_expired_links
from accounts.models import EmailToken
from kernel.db import Database
from kernel.settings import Settings
from tests.accounts.test_sessions import STRONG, ask_sign_up, csrf, sign_up
from tests.accounts.test_throttle import app_client
from tests.support.accounts import make_user, stored_hash
from tests.support.booking import MutableClock
from tests.support.mailbox import link_in, mailed_token, messages_to, token_of

NEW_PASSWORD = "juniper-lighthouse-canvas-81"


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(path, json=body, headers=await csrf(http))


async def _verify(http: httpx.AsyncClient, token: str, password: str = STRONG) -> httpx.Response:
    return await _post(http, "/api/auth/verify-email", {"token": token, "password": password})


async def _log_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await _post(http, "/api/auth/login", {"email": email, "password": password})


async def _verify_token(database: Database, email: str) -> str:
    return await mailed_token(database, email, "account_verify", "/verify-email")


async def _reset_token(database: Database, email: str) -> str:
    return await mailed_token(database, email, "account_password_reset", "/reset-password")


async def test_sign_up_queues_one_confirmation_mail_in_the_chosen_language(
    client: httpx.AsyncClient, database: Database
) -> None:
    asked = await ask_sign_up(client, "Zoe@Example.fr", language="en")
    assert asked.status_code == 202, asked.text
    assert "mutualab_session" not in client.cookies  # nobody is logged in yet
    (mail,) = await messages_to(database, "zoe@example.fr")
    assert (mail.template, mail.language, mail.sensitive) == ("account_verify", "en", True)
    assert mail.subject == "Confirm your address to finish creating your account"
    link = link_in(mail, "/verify-email")
    assert link.startswith("https://mutualab.test/verify-email?token=")
    # Only a keyed hash of the token is stored.
    async with database.reader() as session:
        stored = (await session.execute(select(EmailToken))).scalars().one()
    token = token_of(link)
    assert token not in stored.token_hash
    assert stored.token_hash != hashlib.sha256(token.encode()).hexdigest()
    assert (stored.purpose, stored.email) == ("verify", "zoe@example.fr")


async def test_an_unconfirmed_account_logs_in_like_a_wrong_password(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert (await ask_sign_up(client)).status_code == 202
    unconfirmed = await _log_in(client, "alice@example.fr", STRONG)
    wrong = await _log_in(client, "alice@example.fr", "not-the-password")
    unknown = await _log_in(client, "nobody@example.fr", STRONG)
    assert unconfirmed.status_code == wrong.status_code == unknown.status_code == 401
    assert unconfirmed.json() == wrong.json() == unknown.json()
    confirmed = await _verify(client, await _verify_token(database, "alice@example.fr"))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email_verified"] is True
    client.cookies.clear()
    assert (await _log_in(client, "alice@example.fr", STRONG)).status_code == 200


async def test_a_confirmation_link_works_once_and_needs_the_accounts_password(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert (await ask_sign_up(client)).status_code == 202
    token = await _verify_token(database, "alice@example.fr")
    # Someone who did not make the account (whose password they do not know) cannot confirm
    # it by opening the link; the link stays usable for the one who did.
    stranger = await _verify(client, token, "a-guess-at-the-password")
    assert stranger.status_code == 422
    assert stranger.json()["code"] == "wrong_password"
    first = await _verify(client, token)
    assert first.status_code == 200, first.text
    assert (await client.get("/api/me")).json()["email_verified"] is True
    client.cookies.clear()
    second = await _verify(client, token)
    assert second.status_code == 410
    assert second.json()["code"] == "link_used"
    assert "mutualab_session" not in client.cookies


async def test_a_tampered_link_is_refused(client: httpx.AsyncClient, database: Database) -> None:
    assert (await ask_sign_up(client)).status_code == 202
    token = await _verify_token(database, "alice@example.fr")
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "x" * 100):
        refused = await _verify(client, forged)
        assert refused.status_code == 422
        assert refused.json()["code"] == "link_invalid"
        assert refused.json()["errors"][0]["field"] == "token"
    # A reset link is no confirmation link (and the other way round).
    assert (await _verify(client, token)).status_code == 200
    reset = await _post(
        client, "/api/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD}
    )
    assert reset.json()["code"] == "link_invalid"


async def test_a_confirmation_link_expires_after_48_hours(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await ask_sign_up(http)).status_code == 202
        token = await _verify_token(database, "alice@example.fr")
        clock.advance(hours=48)
        expired = await _verify(http, token)
        assert expired.status_code == 410
        assert expired.json()["code"] == "link_expired"
        # Signing up again mails a new link (the same answer as ever), which works.
        again = await ask_sign_up(http)
        assert again.status_code == 202
        new_token = await _verify_token(database, "alice@example.fr")
        assert new_token != token
        # Again within the hour: no further mail (a mailbox is not flooded), the link works.
        assert (await ask_sign_up(http)).status_code == 202
        assert len(await messages_to(database, "alice@example.fr", "account_verify")) == 2
        assert (await _verify(http, new_token)).status_code == 200


async def _tokens(database: Database, purpose: str) -> int:
    async with database.reader() as session:
        found = await session.execute(select(EmailToken).where(col(EmailToken.purpose) == purpose))
        return len(found.scalars().all())


async def test_repeated_sign_ups_within_the_hour_store_no_link_that_is_never_mailed(
    settings: Settings, database: Database
) -> None:
    async with app_client(settings, database, MutableClock()) as http:
        for _ in range(3):
            assert (await ask_sign_up(http)).status_code == 202
        # The first mail and the hour's second; the third request mails nothing, keeps nothing.
        assert len(await messages_to(database, "alice@example.fr", "account_verify")) == 2
        assert await _tokens(database, "verify") == 2


async def test_a_reset_link_is_mailed_once_per_quarter_hour_per_account(
    settings: Settings, database: Database
) -> None:
    await make_user(database, "alice@example.fr", password_hash=stored_hash(STRONG))
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        for _ in range(3):
            asked = await _post(http, "/api/auth/password-reset", {"email": "alice@example.fr"})
            assert asked.status_code == 202
        assert len(await messages_to(database, "alice@example.fr")) == 1
        assert await _tokens(database, "reset") == 1
        first = await _reset_token(database, "alice@example.fr")
        clock.advance(minutes=15)
        asked = await _post(http, "/api/auth/password-reset", {"email": "alice@example.fr"})
        assert asked.status_code == 202
        assert len(await messages_to(database, "alice@example.fr")) == 2
        assert await _tokens(database, "reset") == 2
        assert await _reset_token(database, "alice@example.fr") != first


async def test_a_taken_address_is_answered_like_a_new_one_and_its_owner_is_told(
    settings: Settings, database: Database
) -> None:
    owner = await make_user(database, "owner@example.fr", password_hash=stored_hash(STRONG))
    clock = MutableClock()
    async with app_client(settings, database, clock) as client:
        taken = await ask_sign_up(client, "Owner@Example.fr")
        taken_cookies = set(client.cookies)
        client.cookies.clear()
        new = await ask_sign_up(client, "newcomer@example.fr")
        assert taken.status_code == new.status_code == 202
        assert taken.json() == new.json()
        assert set(taken.headers) == set(new.headers)
        assert "mutualab_session" not in taken_cookies | set(client.cookies)
        (told,) = await messages_to(database, "owner@example.fr")
        assert told.template == "account_signup_taken"
        assert not told.sensitive
        assert link_in(told, "/forgot-password") and link_in(told, "/login")
        # Nothing of the account changed: its password is the owner's.
        assert (await _log_in(client, "owner@example.fr", STRONG)).status_code == 200
        assert (await client.get("/api/me")).json()["id"] == owner.user_id
        # Tried again within the hour, the owner is told once; an hour later, again.
        client.cookies.clear()
        assert (await ask_sign_up(client, "owner@example.fr")).status_code == 202
        assert len(await messages_to(database, "owner@example.fr")) == 1
        clock.advance(hours=1)
        assert (await ask_sign_up(client, "owner@example.fr")).status_code == 202
        assert len(await messages_to(database, "owner@example.fr")) == 2


async def test_a_reset_request_is_answered_the_same_for_an_unknown_address(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_user(database, "known@example.fr", password_hash=stored_hash(STRONG))
    known = await _post(client, "/api/auth/password-reset", {"email": "Known@Example.fr"})
    unknown = await _post(client, "/api/auth/password-reset", {"email": "unknown@example.fr"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert await messages_to(database, "unknown@example.fr") == []
    (mail,) = await messages_to(database, "known@example.fr")
    assert (mail.template, mail.sensitive) == ("account_password_reset", True)
    malformed = await _post(client, "/api/auth/password-reset", {"email": "not-an-address"})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "email"


async def test_a_reset_link_sets_the_password_once_ends_the_other_sessions_and_logs_in(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with (
        app_client(settings, database, clock) as elsewhere,
        app_client(settings, database, clock) as here,
    ):
        assert (await sign_up(elsewhere)).status_code == 200  # a browser left logged in
        token_value = (await _post(elsewhere, "/api/me/tokens", {"name": "script"})).json()["token"]
        assert (
            await _post(here, "/api/auth/password-reset", {"email": "alice@example.fr"})
        ).status_code == 202
        token = await _reset_token(database, "alice@example.fr")
        weak = await _post(
            here, "/api/auth/password-reset/confirm", {"token": token, "password": "password1"}
        )
        assert weak.status_code == 422
        assert weak.json()["code"] == "weak_password"  # and the link still works:
        done = await _post(
            here, "/api/auth/password-reset/confirm", {"token": token, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        assert (await here.get("/api/me")).status_code == 200  # logged in here
        assert (await elsewhere.get("/api/me")).status_code == 401  # and nowhere else
        # API tokens are the owner's programs: they keep working (the account page lists them).
        scripted = await here.get("/api/me", headers={"Authorization": f"Bearer {token_value}"})
        assert scripted.status_code == 200
        here.cookies.clear()
        assert (await _log_in(here, "alice@example.fr", STRONG)).status_code == 401
        assert (await _log_in(here, "alice@example.fr", NEW_PASSWORD)).status_code == 200
        again = await _post(
            here, "/api/auth/password-reset/confirm", {"token": token, "password": STRONG}
        )
        assert again.status_code == 410
        assert again.json()["code"] == "link_used"


async def test_a_reset_link_expires_after_an_hour_and_confirms_the_address(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await ask_sign_up(http)).status_code == 202  # never confirmed
        assert (
            await _post(http, "/api/auth/password-reset", {"email": "alice@example.fr"})
        ).status_code == 202
        late = await _reset_token(database, "alice@example.fr")
        clock.advance(minutes=60)
        body = {"token": late, "password": NEW_PASSWORD}
        expired = await _post(http, "/api/auth/password-reset/confirm", body)
        assert expired.status_code == 410
        assert expired.json()["code"] == "link_expired"
        assert (
            await _post(http, "/api/auth/password-reset", {"email": "alice@example.fr"})
        ).status_code == 202
        token = await _reset_token(database, "alice@example.fr")
        assert token != late
        clock.advance(minutes=59)
        body = {"token": token, "password": NEW_PASSWORD}
        done = await _post(http, "/api/auth/password-reset/confirm", body)
        assert done.status_code == 200, done.text
        # The link proved the address: the account is confirmed, its older links are spent.
        assert done.json()["email_verified"] is True
        assert (await _verify(http, await _verify_token(database, "alice@example.fr"))).json()[
            "code"
        ] == "link_used"


async def test_reset_requests_are_throttled_per_address_asked_for(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        statuses = [
            (await _post(http, "/api/auth/password-reset", {"email": "x@example.fr"})).status_code
            for _ in range(settings.login_max_failures + 1)
        ]
        assert statuses == [202] * settings.login_max_failures + [429]
        # Another address is not slowed by it (the client's own allowance is larger).
        other = await _post(http, "/api/auth/password-reset", {"email": "y@example.fr"})
        assert other.status_code == 202


async def test_expired_links_are_purged(database: Database, client: httpx.AsyncClient) -> None:
    assert (await ask_sign_up(client)).status_code == 202
    assert (await ask_sign_up(client, "bob@example.fr")).status_code == 202
    async with database.writer() as session, session.begin():
        await session.exec(
            text(  # type: ignore[call-overload]
                "UPDATE email_token SET expires_at = now() - interval '1 minute' "
                "WHERE email = 'bob@example.fr'"
            )
        )
    assert await purge_expired_links(database, lambda: datetime.now(UTC)) == 1
    async with database.reader() as session:
        left = (await session.execute(select(EmailToken))).scalars().all()
    assert [t.email for t in left] == ["alice@example.fr"]


async def test_in_the_demo_links_are_not_hidden_from_the_outbox(
    settings: Settings, database: Database
) -> None:
    demo = settings.model_copy(update={"mail_catcher": True})
    async with app_client(demo, database, MutableClock()) as http:
        assert (await ask_sign_up(http)).status_code == 202
    (mail,) = await messages_to(database, "alice@example.fr")
    assert not mail.sensitive  # nothing leaves the machine: the newcomer reads it there
    assert link_in(mail, "/verify-email")
