"""Where deliveries may go: never to this machine, a link-local or (unless allowed) a private
address, whatever its spelling, at creation and again when sending (a name may resolve there);
an address httpx cannot even parse is refused at creation and fails its attempt when sending."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kernel.db import Database
from kernel.errors import InvalidInputError
from kernel.settings import Settings
from mutualab.composition import Runtime
from tests.support.accounts import Person
from tests.support.booking import Fablab
from tests.support.jobs import eventually, queued_count, workers
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_registry, subscribe, url_of
from webhooks.urls import Reach, check_url, refusal

THIS_MACHINE = (
    "https://127.0.0.1/x",
    "https://127.1/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::1]/",
    "https://localhost./",
    "https://LOCALHOST/",
    "https://printer.localhost/",
    "https://0.0.0.0/",
    "https://169.254.169.254/latest",
    "https://[fe80::1]/",
    "https://224.0.0.1/",
)
PRIVATE = (
    "https://10.0.0.5/",
    "https://192.168.1.10/",
    "https://172.16.0.1/",
    "https://[fd00::1]/",
    "https://[::ffff:192.168.1.10]/",
    "https://3232235786/",  # 192.168.1.10
)
UNPARSABLE = (
    "https://xn--/",
    "https://xn--a.example/",
    "https://a..b/",
    f"https://{'a' * 64}.org/",
    "https://0177.0.0.1/",  # octal 127.0.0.1: httpx refuses to parse it
)


def _refused(url: str, **allowed: bool) -> str:
    with pytest.raises(InvalidInputError) as refused:
        check_url(url, allow_loopback_http=allowed.get("loopback", False), **_private(allowed))
    assert refused.value.extra["errors"][0]["field"] == "url", url
    return str(refused.value.code)


def _private(allowed: dict[str, bool]) -> dict[str, bool]:
    return {"allow_private_networks": allowed.get("private", False)}


@pytest.mark.parametrize("url", THIS_MACHINE + PRIVATE)
def test_this_machine_and_private_networks_are_refused_in_every_spelling(url: str) -> None:
    assert _refused(url) == "address_refused"


@pytest.mark.parametrize("url", UNPARSABLE)
def test_an_address_httpx_cannot_use_is_refused(url: str) -> None:
    assert _refused(url) == "invalid_url"


def test_public_addresses_and_names_are_accepted() -> None:
    for url in ("https://93.184.216.34/x", "https://hooks.example.org/x", "https://été.example/"):
        assert check_url(url, allow_loopback_http=False) == url


def test_private_networks_only_when_allowed_and_this_machine_only_with_loopback() -> None:
    for url in PRIVATE:
        assert check_url(url, allow_loopback_http=False, allow_private_networks=True) == url
    for url in THIS_MACHINE:
        assert _refused(url, private=True) == "address_refused"
    # Loopback (plain http too) under its own setting; never the link-local metadata service.
    for url in ("http://127.1:9/", "https://localhost./", "http://[::1]:9/"):
        assert check_url(url, allow_loopback_http=True) == url
    assert _refused("https://169.254.169.254/", loopback=True, private=True) == "address_refused"
    assert _refused("http://10.0.0.5/", private=True) == "https_required"


async def test_names_are_resolved_and_every_address_must_be_allowed() -> None:
    # localhost resolves (from /etc/hosts, no network needed) to this machine.
    assert "127.0.0.1" in (await refusal("localhost", 443, Reach()) or "")
    assert await refusal("localhost", 443, Reach(loopback=True)) is None
    assert await refusal("no-such-host.invalid", 443, Reach()) is not None
    assert Reach(private=True).allows(ip_address("::ffff:10.1.2.3"))
    assert not Reach(private=True).allows(ip_address("::ffff:127.0.0.1"))
    assert Reach().allows(ip_address("2606:4700::1111"))


async def test_unparsable_and_local_addresses_are_refused_by_the_api(
    api: httpx.AsyncClient, manager: Person, lab: Fablab
) -> None:
    for url, code in (("https://xn--/", "invalid_url"), ("https://10.0.0.5/", "address_refused")):
        body = {"url": url, "event_types": ["booking.created"], "place_ids": [lab.place_id]}
        refused = await api.post("/api/webhooks", json=body, headers=manager.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == code
        assert refused.json()["errors"][0]["field"] == "url"


async def _deliveries(database: Database) -> list[dict[str, Any]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT status, attempts, last_error FROM webhook_delivery ORDER BY id")
        )
        return [dict(row._mapping) for row in rows]


async def _settled(database: Database) -> bool:
    return await queued_count(database) == 0 and all(
        d["status"] != "pending" for d in await _deliveries(database)
    )


async def _ping(api: httpx.AsyncClient, manager: Person, subscription: dict[str, object]) -> None:
    pinged = await api.post(f"/api/webhooks/{subscription['id']}/ping", headers=manager.headers)
    assert pinged.status_code == 202, pinged.text


async def test_a_name_resolving_to_this_machine_is_refused_when_sending(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    # Made while loopback was allowed; the workers no longer allow it: nothing is sent there.
    named = receiver.url.replace("127.0.0.1", "localhost")
    subscription = await subscribe(api, manager, named, [lab.place_id])
    await _ping(api, manager, subscription)
    strict = hook_settings.model_copy(update={"webhooks_allow_http_loopback": False})
    async with workers(url_of(queue), hook_registry(runtime, strict)):
        await eventually(lambda: _settled(queue), "the delivery failed")
    [delivery] = await _deliveries(queue)
    assert delivery["status"] == "failed" and delivery["attempts"] >= 1
    assert "refused" in delivery["last_error"] and "127.0.0.1" in delivery["last_error"]
    assert receiver.requests == []


async def test_an_address_httpx_cannot_parse_fails_its_attempts_instead_of_hanging(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
    await _ping(api, manager, subscription)
    # An address stored before creation refused it.
    async with queue.engine.begin() as conn:
        await conn.execute(text("UPDATE webhook_subscription SET url = 'https://xn--/'"))
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _settled(queue), "the delivery failed")
    [delivery] = await _deliveries(queue)
    assert delivery["status"] == "failed" and delivery["attempts"] == 4  # QUICK: 4 attempts
    assert delivery["last_error"]
    assert receiver.requests == []


async def test_a_delivery_connects_to_the_address_it_checked_not_a_second_lookup(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a name that resolves to an allowed address when checked, then elsewhere
    when connecting. The system's resolver answers the first lookup of ``rebind.test`` with the
    receiver's address and fails every later one: the delivery must arrive, at the address
    checked, still naming its host."""
    subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
    port = httpx.URL(receiver.url).port
    async with queue.engine.begin() as conn:
        await conn.execute(
            text("UPDATE webhook_subscription SET url = :url"),
            {"url": f"http://rebind.test:{port}/hook"},
        )
    loop = asyncio.get_running_loop()
    system = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await system(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:
            raise socket.gaierror(socket.EAI_NONAME, "rebound elsewhere")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    await _ping(api, manager, subscription)
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _settled(queue), "the delivery ended")
    [delivery] = await _deliveries(queue)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1), delivery
    assert lookups == ["rebind.test"]  # looked up once, when checked
    [request] = receiver.requests
    assert request.headers["host"] == f"rebind.test:{port}"
