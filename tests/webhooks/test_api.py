"""The webhook API: a manager sees and changes only their places' subscriptions (another
place's are 404), the secret is shown once and rotation replaces it, addresses are https."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks import WebhookVerificationError

from kernel.db import Database
from kernel.errors import InvalidInputError
from kernel.settings import Settings
from mutualab.composition import Runtime
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, make_fablab
from tests.support.jobs import eventually, queued_count, workers
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_registry, subscribe, url_of
from webhooks.urls import check_url


async def test_a_manager_sees_only_the_subscriptions_of_their_places(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    admin_headers: dict[str, str],
) -> None:
    other_lab = await make_fablab(api, admin_headers, slug="fablab-metz", town="Metz")
    other = await make_user(queue, "other@example.org", manages=(other_lab.place_id,))
    mine = await subscribe(api, manager, "https://hooks.example.org/a", [lab.place_id])
    theirs = await subscribe(api, other, "https://hooks.example.org/b", [other_lab.place_id])
    admin = Person(0, "", admin_headers["Authorization"].removeprefix("Bearer "))
    everywhere = await subscribe(api, admin, "https://hooks.example.org/all", None)
    assert everywhere["place_ids"] is None

    listed = await api.get("/api/webhooks", headers=manager.headers)
    assert [s["id"] for s in listed.json()] == [mine["id"]]
    everything = await api.get("/api/webhooks", headers=admin_headers)
    assert {s["id"] for s in everything.json()} == {mine["id"], theirs["id"], everywhere["id"]}
    # Another place's subscription, or the platform's, does not exist for this manager.
    for hidden in (theirs["id"], everywhere["id"]):
        base = f"/api/webhooks/{hidden}"
        for method, url in (
            ("GET", base),
            ("PATCH", base),
            ("DELETE", base),
            ("POST", f"{base}/rotate-secret"),
            ("GET", f"{base}/deliveries"),
            ("POST", f"{base}/ping"),
            ("POST", f"{base}/deliveries/1/replay"),
        ):
            body = {"description": "mine now"} if method == "PATCH" else None
            answer = await api.request(method, url, json=body, headers=manager.headers)
            assert answer.status_code == 404, (method, url, answer.text)
            assert answer.json()["code"] == "webhook_not_found"
    # Nor may they subscribe to it, widen theirs to it, or hear every place.
    refused = await api.post(
        "/api/webhooks",
        json={
            "url": "https://x.example.org",
            "event_types": ["booking.created"],
            "place_ids": [other_lab.place_id],
        },
        headers=manager.headers,
    )
    assert refused.status_code == 403, refused.text
    widened = await api.patch(
        f"/api/webhooks/{mine['id']}",
        json={"place_ids": [lab.place_id, other_lab.place_id]},
        headers=manager.headers,
    )
    assert widened.status_code == 403, widened.text
    unbounded = await api.post(
        "/api/webhooks",
        json={"url": "https://x.example.org", "event_types": ["booking.created"]},
        headers=manager.headers,
    )
    assert unbounded.status_code == 422, unbounded.text
    assert unbounded.json()["errors"][0]["field"] == "place_ids"
    # A citizen is no manager at all.
    citizen = await make_user(queue, "citizen@example.org")
    assert (await api.get("/api/webhooks", headers=citizen.headers)).status_code == 403
    # The owner changes and deletes theirs.
    changed = await api.patch(
        f"/api/webhooks/{mine['id']}",
        json={"description": "Porte", "event_types": ["booking.cancelled"]},
        headers=manager.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["description"], changed.json()["event_types"]) == (
        "Porte",
        ["booking.cancelled"],
    )
    gone = await api.delete(f"/api/webhooks/{mine['id']}", headers=manager.headers)
    assert gone.status_code == 204
    assert (
        await api.get(f"/api/webhooks/{mine['id']}", headers=manager.headers)
    ).status_code == 404


async def test_the_secret_is_shown_once_and_rotation_replaces_it(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    created = await subscribe(api, manager, receiver.url, [lab.place_id])
    old = str(created["secret"])
    assert old.startswith("whsec_")
    url = f"/api/webhooks/{created['id']}"
    for shown in (
        (await api.get(url, headers=manager.headers)).text,
        (await api.get("/api/webhooks", headers=manager.headers)).text,
    ):
        assert old not in shown and "secret" not in shown
    # Stored encrypted: the database holds no copy of it in clear.
    async with queue.read_engine.connect() as conn:
        stored = (
            await conn.exec_driver_sql("SELECT secret_encrypted FROM webhook_subscription")
        ).scalar_one()
    assert old not in stored and old.removeprefix("whsec_") not in stored

    rotated = await api.post(f"{url}/rotate-secret", headers=manager.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    pinged = await api.post(f"{url}/ping", headers=manager.headers)
    assert pinged.status_code == 202, pinged.text
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _idle(queue), "the ping was delivered")
    [ping] = receiver.requests
    payload = ping.verified(new)
    assert payload["type"] == "webhook.ping"
    with pytest.raises(WebhookVerificationError):
        ping.verified(old)


async def _idle(database: Database) -> bool:
    return await queued_count(database) == 0


async def test_addresses_must_be_https_unless_loopback_http_is_allowed(
    api: httpx.AsyncClient, manager: Person, lab: Fablab
) -> None:
    refused = await api.post(
        "/api/webhooks",
        json={
            "url": "http://hooks.example.org/x",
            "event_types": ["booking.created"],
            "place_ids": [lab.place_id],
        },
        headers=manager.headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "https_required"
    assert refused.json()["errors"][0]["field"] == "url"
    unknown = await api.post(
        "/api/webhooks",
        json={"url": "https://h.example.org", "event_types": ["booking.eaten"], "place_ids": [1]},
        headers=manager.headers,
    )
    assert unknown.status_code == 422, unknown.text
    assert check_url("https://h.example.org/x", allow_loopback_http=False)
    assert check_url("http://127.0.0.1:9/x", allow_loopback_http=True)
    refused_urls = (
        "http://127.0.0.1:9/x",
        "ftp://h.example.org",
        "https://u:p@h.example.org",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
    )
    for url in refused_urls:
        with pytest.raises(InvalidInputError):
            check_url(url, allow_loopback_http=False)
