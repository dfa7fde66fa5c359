"""Faults under load against a real served instance: a worker killed, the database restarted.

Every request books a distinct slot for its own user and carries an idempotency key. As a
real client does, each one is sent again with the same key after a broken connection, a 503 or
a 409 ``idempotency_in_progress``, until its outcome is known. At the end what the clients
believe equals what the database holds: 0 phantom, 0 lost, 0 duplicated, nothing half-written,
never overlapping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from kernel.db import create_engine
from mutualab import migrate
from tests.support.net import free_port
from tests.support.postgres import PostgresServer, start_private_cluster
from tests.support.served import OVERLAPS, seed, start_server, wait_ready

# Fault injection (a worker killed, the database restarted): `make soak`, which CI runs.
pytestmark = pytest.mark.soak

PARIS = ZoneInfo("Europe/Paris")
IN_CI = os.environ.get("CI", "").lower() == "true"
DAYS_PER_USER = 3  # 24 users x 3 days stay within the 90 days one may book ahead
SLOTS_PER_USER = DAYS_PER_USER * 48


@dataclass
class Attempt:
    """One booking a client wants, the key it sends it with, and the answers it got."""

    user: int
    starts_at: datetime
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: int | None = None  # the last answer; None: no answer yet (the connection broke)
    body: dict[str, object] = field(default_factory=dict)
    sent: int = 0
    retried_after: list[str] = field(default_factory=list)  # why each resend happened

    @property
    def settled(self) -> bool:
        """Whether the client knows the outcome: booked, or refused for a reason of its own."""
        return self.status is not None and not _retry(self.status, self.body)


def _retry(status: int, body: dict[str, object]) -> bool:
    """Answers after which a real client sends the same request again, with the same key."""
    code = body.get("code")
    return status == 503 or (status == 409 and code == "idempotency_in_progress")


@dataclass
class Load:
    """Clients booking distinct slots until told to stop, each retrying as a real client does."""

    base: str
    tokens: list[str]
    printer: int
    attempts: list[Attempt] = field(default_factory=list)
    stop: bool = False
    # The printer is priced: every request checks out (quote, then checkout), every other one
    # on invoice (an invoice is issued), the others on site (a priced booking exists only with
    # its payment: no plain POST /api/bookings then).
    invoices: bool = False
    # After the stop, how long a client keeps retrying the request it has not settled.
    settle_seconds: float = 30.0

    async def client(self, user: int, first_day: datetime) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            for slot in range(SLOTS_PER_USER):
                if self.stop:
                    return
                # Days per user, half-hour per request: no two requests want the same range.
                start = first_day + timedelta(days=DAYS_PER_USER * user, minutes=30 * slot)
                attempt = Attempt(user, start)
                self.attempts.append(attempt)
                method = ("on_site", "invoice")[slot % 2] if self.invoices else None
                await self._settle(http, attempt, checkout=method)

    async def _settle(
        self, http: httpx.AsyncClient, attempt: Attempt, *, checkout: str | None
    ) -> None:
        """Send the request until its outcome is known (the same key every time)."""
        body: dict[str, object] = {
            "items": [{"resource_id": self.printer, "quantity": 1}],
            "starts_at": attempt.starts_at.isoformat(),
            "ends_at": (attempt.starts_at + timedelta(minutes=30)).isoformat(),
        }
        headers = {
            "Authorization": f"Bearer {self.tokens[attempt.user]}",
            "Idempotency-Key": attempt.key,
        }
        deadline: float | None = None
        while not attempt.settled:
            if self.stop and deadline is None:
                deadline = time.monotonic() + self.settle_seconds
            if deadline is not None and time.monotonic() > deadline:
                return  # left unsettled: the test fails on it
            attempt.sent += 1
            try:
                if checkout is not None:
                    response = await self._checkout(http, body, headers, checkout)
                else:
                    response = await http.post("/api/bookings", json=body, headers=headers)
            except httpx.TransportError as exc:
                attempt.retried_after.append(type(exc).__name__)
                await asyncio.sleep(0.05)
                continue
            attempt.status = response.status_code
            is_json = response.headers.get("content-type", "").endswith("json")
            attempt.body = response.json() if is_json else {}
            if not attempt.settled:
                attempt.retried_after.append(f"{attempt.status} {attempt.body.get('code')}")
                # Back off as a client reading Retry-After would (briefly, for the test).
                await asyncio.sleep(0.1)

    @staticmethod
    async def _checkout(
        http: httpx.AsyncClient, body: dict[str, object], headers: dict[str, str], method: str
    ) -> httpx.Response:
        # The quote is a read: no key. Its fingerprint is the same on every retry (same price).
        quote_headers = {"Authorization": headers["Authorization"]}
        quote = await http.post("/api/quotes", json=body, headers=quote_headers)
        if quote.status_code != 200:
            return quote
        order = {**body, "method": method, "quote_fingerprint": quote.json()["fingerprint"]}
        return await http.post("/api/checkout", json=order, headers=headers)


def _first_day() -> datetime:
    tomorrow = datetime.now(UTC).astimezone(PARIS).date() + timedelta(days=2)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 0, 0, tzinfo=PARIS)


async def _outcomes(url: str) -> tuple[dict[tuple[str, datetime], tuple[int, int]], int, int]:
    """Bookings by (user e-mail, start): (bookings, active allocations); overlaps; half-written."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT u.email, b.starts_at, count(DISTINCT b.id), count(a.id) "
                        "FROM booking b "
                        "JOIN user_account u ON u.id = b.booker_user_id "
                        "LEFT JOIN booking_allocation a ON a.booking_id = b.id AND a.active "
                        "WHERE b.status = 'confirmed' GROUP BY u.email, b.starts_at"
                    )
                )
            ).all()
            overlaps = (await conn.execute(OVERLAPS)).scalar_one()
            orphans = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM booking b WHERE NOT EXISTS "
                        "(SELECT 1 FROM booking_item i WHERE i.booking_id = b.id)"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    booked = {
        (email, starts.astimezone(UTC)): (bookings, allocations)
        for email, starts, bookings, allocations in rows
    }
    return booked, overlaps, orphans


def _reconcile(
    attempts: list[Attempt], booked: dict[tuple[str, datetime], tuple[int, int]]
) -> dict[str, int]:
    """What the clients believe equals what the database holds: 0 phantom, lost, duplicated.

    Every request was sent until its outcome was known (same key each time): a 201 must be
    stored exactly once and whole; a refusal must have stored nothing; nothing else is stored.
    """
    unsettled = [(a.user, a.starts_at, a.status, a.body) for a in attempts if not a.settled]
    assert unsettled == [], f"requests whose outcome the client never learned: {unsettled[:5]}"
    believed = {
        (f"stress{a.user}@example.org", a.starts_at.astimezone(UTC))
        for a in attempts
        if a.status == 201
    }
    for attempt in attempts:
        assert attempt.status is not None and attempt.status < 500, (attempt.status, attempt.body)
    lost = believed - booked.keys()
    phantom = booked.keys() - believed
    duplicated = {slot: n for slot, (n, _) in booked.items() if n != 1}
    half_written = {slot: units for slot, (_, units) in booked.items() if units != 1}
    assert not lost, f"answered 201 but not stored: {sorted(lost)[:5]}"
    assert not phantom, f"stored but the client was told otherwise: {sorted(phantom)[:5]}"
    assert not duplicated, f"stored more than once: {duplicated}"
    assert not half_written, f"stored without exactly one unit: {half_written}"
    reasons: dict[str, int] = {}
    for attempt in attempts:
        for why in attempt.retried_after:
            reasons[why] = reasons.get(why, 0) + 1
    print("resent after:", reasons)
    return {
        "created": len(believed),
        "refused": sum(1 for a in attempts if a.status != 201),
        "resent": sum(1 for a in attempts if a.sent > 1),
    }


@pytest.fixture
def cluster() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster this test may stop and start."""
    server = start_private_cluster()
    yield server
    server.stop()


def _serve(
    cluster: PostgresServer, workers: int, log: Path
) -> tuple[str, str, subprocess.Popen[bytes], int, list[str]]:
    url = cluster.create_database("mutualab_faults")
    migrate.upgrade(url)
    printer, _pool, tokens = asyncio.run(seed(url, users=24))
    port = free_port()
    process = start_server(url, port, workers=workers, log=log)
    base = f"http://127.0.0.1:{port}"
    asyncio.run(wait_ready(base))
    # /health answered from one worker; the load starts when every worker serves.
    deadline = time.monotonic() + 60
    while log.read_text().count("Application startup complete") < workers:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    return url, base, process, printer, tokens


def _bill_on_invoice(url: str, base: str, token: str) -> None:
    """Price the printer and let everyone pay on invoice or on site (user 0 becomes the admin)."""

    async def setup() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE user_account SET is_platform_admin = true WHERE email = :e"),
                    {"e": "stress0@example.org"},
                )
                place_id = (await conn.execute(text("SELECT id FROM place"))).scalar_one()
        finally:
            await engine.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            prices = await http.put(
                f"/api/places/{place_id}/price-lists",
                json={
                    "resource_kind": "machine",
                    "rates": [{"user_type": "*", "hourly_cents": 1500}],
                },
                headers=headers,
            )
            assert prices.status_code == 200, prices.text
            billing = await http.put(
                f"/api/places/{place_id}/billing-settings",
                json={
                    "invoice_prefix": "REL",
                    "payment_methods": {"*": ["invoice", "on_site"]},
                    "refund_tiers": [],
                },
                headers=headers,
            )
            assert billing.status_code == 200, billing.text

    asyncio.run(setup())


def _invoices(url: str) -> tuple[int, int]:
    """Confirmed bookings paid on invoice, and invoices issued."""

    async def count() -> tuple[int, int]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                paid = await conn.execute(
                    text(
                        "SELECT count(*) FROM payment p JOIN booking b ON b.id = p.booking_id "
                        "WHERE b.status = 'confirmed' AND p.method = 'invoice'"
                    )
                )
                issued = await conn.execute(text("SELECT count(*) FROM billing_document"))
                return paid.scalar_one(), issued.scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(count())


def _client_connections(worker: int, port: int) -> int:
    """How many established TCP connections to ``port`` the process ``worker`` holds."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                established.add(fields[9])  # the socket's inode
    held = 0
    for fd in Path(f"/proc/{worker}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and target[8:-1] in established:
            held += 1
    return held


def _workers(pid: int) -> list[int]:
    """The worker processes of a ``serve`` process (not multiprocessing's resource tracker)."""
    children = [
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    return [
        child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_worker_killed_mid_load(cluster: PostgresServer, tmp_path: Path) -> None:
    url, base, process, printer, tokens = _serve(cluster, workers=2, log=tmp_path / "serve.log")
    port = int(base.rsplit(":", 1)[1])
    try:
        load = Load(base, tokens, printer)

        async def scenario() -> None:
            clients = [asyncio.create_task(load.client(u, _first_day())) for u in range(24)]
            await asyncio.sleep(1.0)
            workers = _workers(process.pid)
            assert len(workers) == 2, workers
            # The worker serving clients (both accept from one socket: one may hold them all).
            busiest = max(workers, key=lambda worker: _client_connections(worker, port))
            assert _client_connections(busiest, port) > 0
            os.kill(busiest, signal.SIGKILL)  # mid-request: its clients are all in flight
            await asyncio.sleep(2.0)
            load.stop = True
            await asyncio.gather(*clients)

        asyncio.run(scenario())
        booked, overlaps, orphans = asyncio.run(_outcomes(url))
        counts = _reconcile(load.attempts, booked)
        print("worker killed:", counts)
        # Clients of the killed worker lost their connections mid-request and sent again.
        assert counts["resent"] > 0
        assert overlaps == 0
        assert orphans == 0
        assert counts["created"] > 0
        # The surviving (or restarted) worker still serves.
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_database_restart_gives_503_then_recovers(cluster: PostgresServer, tmp_path: Path) -> None:
    url, base, process, printer, tokens = _serve(cluster, workers=1, log=tmp_path / "serve.log")
    try:
        _bill_on_invoice(url, base, tokens[0])
        load = Load(base, tokens, printer, invoices=True)
        outage: dict[str, float] = {}

        async def scenario() -> None:
            clients = [asyncio.create_task(load.client(u, _first_day())) for u in range(12)]
            await asyncio.sleep(0.8)
            outage["down"] = time.monotonic()
            await asyncio.to_thread(cluster.pause)
            await asyncio.sleep(1.5)
            await asyncio.to_thread(cluster.resume)
            outage["up"] = time.monotonic()
            await asyncio.sleep(2.5)
            load.stop = True
            await asyncio.gather(*clients)

        asyncio.run(scenario())
        resends = [why for a in load.attempts for why in a.retried_after]
        assert any(why.startswith("503") for why in resends), "the outage was not seen"
        # A 503 says why: the database is away, or it went away as a change was made final.
        assert {why for why in resends if why.startswith("503")} <= {
            "503 database_unavailable",
            "503 outcome_unknown",
            "503 busy",
        }, resends
        booked, overlaps, orphans = asyncio.run(_outcomes(url))
        counts = _reconcile(load.attempts, booked)
        print("database restarted:", counts)
        # Recovered by itself: requests first sent after the restart are booked.
        after = [a for a in load.attempts if not a.retried_after][-12:]
        assert any(a.status == 201 for a in after), [(a.status, a.body) for a in after]
        assert counts["created"] > 0
        assert overlaps == 0
        assert orphans == 0
        # Every booking paid on invoice has its invoice, and the chain of invoices is intact.
        paid, issued = _invoices(url)
        assert paid > 0 and issued == paid, (paid, issued)
        verified = subprocess.run(
            [sys.executable, "-m", "mutualab", "invoices", "verify"],
            env={**os.environ, "MUTUALAB_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
