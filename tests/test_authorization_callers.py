"""The authorization matrix, continued: what one id per parameter and one token per role miss.

- A caller's own parent id with another tenant's child id, and ids carried in bodies
  (``organisation_id``, ``resource_id``, ``place_id`` of another place), for every role.
- An organisation's plain bookers against its admins.
- Credentials other than a read-write token: read-only and revoked tokens, browser sessions
  with and without their CSRF token.

Every refused unsafe call is also checked to have changed nothing in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.support.apps import leased_app
from tests.support.booking import MutableClock
from tests.support.unchanged import changed_tables, reference_rows_unchanged, table_state
from tests.support.world import LOGIN_PASSWORD, ROLES, SavedWorld, World, build_world
from tests.test_authorization import (
    EXAMPLES,
    UNSAFE,
    Operation,
    _booking,
    _outcome_problem,
    _series,
    furnish,
    operations,
)

Build = Callable[[World], Any]


@pytest.fixture
async def http(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the world's clock, over ASGI (the communes untouched, whoever calls)."""
    async with (
        reference_rows_unchanged(database),
        leased_app(settings, database, MutableClock()) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1"
        ) as client,
    ):
        yield client


async def _refused_and_unchanged(
    http: httpx.AsyncClient,
    database: Database,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any = None,
    expected: frozenset[int] = frozenset({403, 404, 422}),
) -> str | None:
    """None if the call is refused with one of ``expected`` and leaves every table as it was."""
    before = await table_state(database)
    http.cookies.clear()
    response = await http.request(method, url, json=body, headers=headers)
    # Pages send a caller without credentials to the log-in page.
    to_login = response.status_code == 303 and response.headers["location"].startswith("/login")
    if 401 in expected and not url.startswith("/api/") and to_login:
        pass
    elif response.status_code not in expected:
        return f"{method} {url}: {response.status_code} {response.text[:160]}"
    if changed := changed_tables(before, await table_state(database)):
        return f"{method} {url}: refused ({response.status_code}) yet changed {changed}"
    return None


# Mixed ids: the caller's own parent with another tenant's child, or another tenant's id in the
# body. (method, url, body) built from the world, and the roles that must be refused.
@dataclass(frozen=True)
class Mixed:
    """A call naming one object of the caller's and one of someone else's."""

    method: str
    url: Callable[[World], str]
    body: Build | None = None
    # Whose the other object is (they may): place B's manager, or organisation Y's members.
    owners: tuple[str, ...] = ("admin", "manager_other_place")


def _book(resource: Callable[[World], int], **extra: Any) -> Build:
    return lambda w: {**_booking(resource(w), 10), **extra}


Y = ("admin", "member_other_org")
MIXED = [
    # A blackout of place B reached through a resource of place A.
    Mixed("DELETE", lambda w: f"/api/resources/{w.resource_a}/blackouts/{w.blackout_b}"),
    # A price list of place A naming a resource of place B.
    Mixed(
        "PUT",
        lambda w: f"/api/places/{w.place_a}/price-lists",
        lambda w: {"resource_id": w.resource_b, "rates": [{"user_type": "*", "hourly_cents": 1}]},
    ),
    # Booking rules of place A naming a resource of place B.
    Mixed(
        "PUT",
        lambda w: f"/api/places/{w.place_a}/booking-policies",
        lambda w: {"policies": [{"resource_id": w.resource_b, "max_advance_days": 1}]},
    ),
    # Certifications of place B's training, by place A's manager.
    Mixed(
        "POST",
        lambda w: f"/api/trainings/{w.training_b}/certifications",
        lambda w: {"user_id": w.people["citizen"].user_id, "granted_on": "2026-11-01"},
    ),
    Mixed(
        "DELETE",
        lambda w: f"/api/trainings/{w.training_b}/certifications/{w.people['citizen'].user_id}",
    ),
    # A rate at place B, or everywhere, granted by place A's manager.
    Mixed(
        "PUT",
        lambda w: f"/api/users/{w.people['citizen'].user_id}/user-type",
        lambda w: {"user_type": "student", "place_id": w.place_b},
    ),
    Mixed(
        "PUT",
        lambda w: f"/api/users/{w.people['citizen'].user_id}/user-type",
        lambda w: {"user_type": "student"},
    ),
    # A user type for place B.
    Mixed(
        "POST",
        lambda w: "/api/user-types",
        lambda w: {
            "code": f"b-{w.suffix}",
            "label_fr": "B",
            "label_en": "B",
            "place_id": w.place_b,
        },
    ),
    # Place B's verification of an organisation, by place A's manager.
    Mixed(
        "PUT", lambda w: f"/api/places/{w.place_b}/organisations/{w.organisation_x}/verification"
    ),
    # A webhook subscription to place B's events, by place A's manager.
    Mixed(
        "POST",
        lambda w: "/api/webhooks",
        lambda w: {
            "url": "https://hooks.example.org/b",
            "event_types": ["booking.created"],
            "place_ids": [w.place_b],
        },
    ),
    # Bookings, quotes and series for organisation Y, which the callers do not belong to.
    Mixed("POST", lambda w: "/api/bookings", _book(lambda w: w.resource_a, organisation_id=0), Y),
    Mixed(
        "POST",
        lambda w: "/api/checkout",
        _book(lambda w: w.resource_a, organisation_id=0, method="invoice", quote_fingerprint="0"),
        Y,
    ),
    Mixed(
        "POST",
        lambda w: "/api/series",
        lambda w: {**_series(w.resource_a), "organisation_id": 0},
        Y,
    ),
    Mixed(
        "POST",
        lambda w: "/api/series/checkout",
        lambda w: {**_series(w.resource_a), "organisation_id": 0, "quote_fingerprint": "0"},
        Y,
    ),
]


def _with_organisation_y(body: Any, world: World) -> Any:
    # organisation_id 0 above stands for the organisation the callers do not belong to.
    if isinstance(body, dict) and body.get("organisation_id") == 0:
        return {**body, "organisation_id": world.organisation_y}
    return body


async def test_own_parent_with_another_tenants_child_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, database: Database
) -> None:
    failures = []
    world = await build_world(database)
    for case in MIXED:
        for role in [r for r in ROLES if r not in case.owners]:
            body = _with_organisation_y(case.body(world) if case.body else None, world)
            expected = frozenset({401}) if role == "anonymous" else frozenset({403, 404, 422})
            problem = await _refused_and_unchanged(
                http, database, case.method, case.url(world), world.headers(role), body, expected
            )
            if problem:
                failures.append(f"as {role}: {problem}")
    assert failures == [], "\n".join(failures)


# Organisation bookers and admins -------------------------------------------------------------
async def test_an_organisations_booker_books_for_it_but_does_not_administer_it(
    http: httpx.AsyncClient, database: Database
) -> None:
    world = await build_world(database)
    booker = world.callers["booker_of_x"].headers
    org = f"/api/organisations/{world.organisation_x}"
    admin_of_x = world.people["member_right_org"].user_id
    refused = [
        ("PATCH", org, {"name": "Renamed by a booker"}),
        ("POST", f"{org}/members", {"email": world.login_email, "role": "booker"}),
        ("POST", f"{org}/members", {"email": world.callers["booker_of_x"].email, "role": "admin"}),
        ("DELETE", f"{org}/members/{admin_of_x}", None),
    ]
    failures = [
        p
        for method, url, body in refused
        if (p := await _refused_and_unchanged(http, database, method, url, booker, body))
    ]
    assert failures == [], "\n".join(failures)
    assert (await http.get(org, headers=booker)).status_code == 200
    # The resource is priced: the booker checks out for the organisation, at its quote.
    request = {**_booking(world.resource_a, 10), "organisation_id": world.organisation_x}
    quote = await http.post("/api/quotes", json=request, headers=booker)
    assert quote.status_code == 200, quote.text
    order = {
        **request,
        "method": quote.json()["payment_methods"][0],
        "quote_fingerprint": quote.json()["fingerprint"],
        "purchase_order": "BC-1",
    }
    booked = await http.post("/api/checkout", json=order, headers=booker)
    assert booked.status_code == 201, booked.text
    # A booker may leave; an admin may change the organisation.
    admin = world.people["member_right_org"].headers
    assert (await http.patch(org, json={"name": "X"}, headers=admin)).status_code == 200
    me = world.callers["booker_of_x"].user_id
    assert (await http.delete(f"{org}/members/{me}", headers=booker)).status_code == 204


# Credentials -------------------------------------------------------------------------------------
def _url(op: Operation, world: World) -> tuple[str, Any]:
    example = EXAMPLES[op.key]
    return op.url(world, "admin", example), example.body(world, "admin") if example.body else None


async def _operations(http: httpx.AsyncClient) -> list[Operation]:
    app = http._transport.app  # type: ignore[attr-defined]
    return list(operations(app))


async def test_read_only_and_revoked_tokens_change_nothing(
    http: httpx.AsyncClient, database: Database
) -> None:
    failures: list[str] = []
    saved = await SavedWorld.build(database)
    for op in await _operations(http):
        if op.auth == "public":
            continue
        world = await saved.restore(database)
        await furnish(http, op, world, database)
        url, body = _url(op, world)
        revoked = world.callers["admin_revoked"].headers
        read_only = world.callers["admin_read_only"].headers
        if op.method in UNSAFE:
            expected = frozenset({403})
            if problem := await _refused_and_unchanged(
                http, database, op.method, url, read_only, body, expected
            ):
                failures.append(f"read-only token: {problem}")
        else:
            http.cookies.clear()
            response = await http.request(op.method, url, headers=read_only)
            if problem := _outcome_problem(op, "admin", True, response):
                failures.append(f"read-only token: {op.method} {url}: {problem}")
        # A revoked token is no credential: 401, as for anyone without one.
        if problem := await _refused_and_unchanged(
            http, database, op.method, url, revoked, body, frozenset({401})
        ):
            failures.append(f"revoked token: {problem}")
    assert failures == [], "\n".join(failures)


async def _session(http: httpx.AsyncClient, world: World) -> str:
    """Log the world's password user in; the CSRF token of that session."""
    http.cookies.clear()
    token = (await http.get("/api/auth/csrf")).json()["csrf_token"]
    logged_in = await http.post(
        "/api/auth/login",
        json={"email": world.login_email, "password": LOGIN_PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert logged_in.status_code == 200, logged_in.text
    return token


# What the password user (a plain user, no booking, no role) may do.
_PLAIN_USER = {("public", None), ("user", None), ("user", "self")}
# Their own objects they do not have (the world's token, feed and invitations are other
# users'): 404.
_NOT_THEIRS = {
    ("DELETE", "/api/me/tokens/{token_id}"),
    ("DELETE", "/api/me/calendar-feed"),
    ("POST", "/api/me/invitations/{invitation_id}/accept"),
    ("DELETE", "/api/me/invitations/{invitation_id}"),
    ("POST", "/account/invitations/{invitation_id}/accept"),
    ("POST", "/account/invitations/{invitation_id}/decline"),
    ("POST", "/account/tokens/{token_id}/revoke"),
}


async def test_browser_sessions_need_their_csrf_token(
    http: httpx.AsyncClient, database: Database
) -> None:
    failures: list[str] = []
    saved = await SavedWorld.build(database)
    for op in await _operations(http):
        if op.method not in UNSAFE or op.template.startswith("/api/auth/login"):
            continue
        world = await saved.restore(database)
        await furnish(http, op, world, database)
        example = EXAMPLES[op.key]
        url = op.url(world, "citizen", example)
        body = example.body(world, "citizen") if example.body else None
        token = await _session(http, world)
        cookies = dict(http.cookies)
        # Without the CSRF token: refused, nothing changed.
        before = await table_state(database)
        response = await http.request(op.method, url, json=body)
        if response.status_code != 403:
            failures.append(f"no CSRF: {op.method} {url}: {response.status_code}")
        elif changed := changed_tables(before, await table_state(database)):
            failures.append(f"no CSRF: {op.method} {url}: changed {changed}")
        # With it: the rule of a plain user decides.
        http.cookies.clear()
        http.cookies.update(cookies)
        allowed = (op.auth, op.scope) in _PLAIN_USER and op.key not in _NOT_THEIRS
        before = await table_state(database)
        response = await http.request(op.method, url, json=body, headers={"X-CSRF-Token": token})
        # Pages that refuse send a browser to a page, never a success.
        if problem := _outcome_problem(op, "citizen", allowed, response):
            failures.append(f"session: {op.method} {url}: {problem}")
        elif not allowed and (changed := changed_tables(before, await table_state(database))):
            failures.append(f"session: {op.method} {url}: refused yet changed {changed}")
    assert failures == [], "\n".join(failures)
