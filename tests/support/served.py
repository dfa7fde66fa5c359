"""A real served instance for out-of-process tests and benchmarks.

Seeds a place open around the clock with a printer and a 12-seat pool plus users with tokens,
and runs ``mutualab serve`` (uvicorn) on a free port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from datetime import time as wall_time
from pathlib import Path

import httpx
from sqlalchemy import text

from accounts.models import ApiToken, User
from kernel.auth.tokens import digest, new_token
from kernel.db import Database
from resources.models import OpeningHour, Place, Resource
from resources.repository import CatalogueRepository

ROOT = Path(__file__).resolve().parents[2]
POOL_SIZE = 12
OVERLAPS = text(
    """
    SELECT count(*) FROM booking_allocation a
    JOIN booking_allocation b
      ON a.unit_id = b.unit_id AND a.id < b.id AND a.active AND b.active
     AND a.starts_at < b.blocked_until AND b.starts_at < a.blocked_until
    """
)


async def seed(url: str, users: int) -> tuple[int, int, list[str]]:
    """A place open around the clock, a printer, a 12-seat pool and users with tokens."""
    database = Database.connect(url, pool_size=2)
    tokens: list[str] = []
    try:
        async with database.writer() as session, session.begin():
            place = Place(
                slug="stress",
                name="Fablab de charge",
                address="1 rue du Test",
                postcode="22300",
                town="Lannion",
                timezone="Europe/Paris",
                operator_name="Commune",
                closed_on_public_holidays=False,
            )
            session.add(place)
            await session.flush()
            assert place.id is not None
            session.add_all(
                OpeningHour(place_id=place.id, weekday=d, opens=wall_time(0), closes=wall_time(0))
                for d in range(7)
            )
            printer = Resource(place_id=place.id, name="Imprimante", kind="machine")
            pool = Resource(
                place_id=place.id,
                name="Poste",
                kind="software_seats",
                capacity=POOL_SIZE,
                slot_minutes=60,
                min_minutes=60,
            )
            session.add_all([printer, pool])
            await session.flush()
            repository = CatalogueRepository(session)
            await repository.sync_units(printer)
            await repository.sync_units(pool)
            for n in range(users):
                # Verified addresses: the fault tests pay on invoice.
                user = User(
                    email=f"stress{n}@example.org",
                    display_name=f"stress{n}",
                    email_verified_at=datetime.now(UTC),
                )
                session.add(user)
                await session.flush()
                assert user.id is not None
                token = new_token()
                session.add(
                    ApiToken(
                        user_id=user.id,
                        name="bench",
                        token_sha256=digest(token),
                        scope="read_write",
                    )
                )
                tokens.append(token)
            assert printer.id is not None and pool.id is not None
            return printer.id, pool.id, tokens
    finally:
        await database.dispose()


def start_server(
    url: str,
    port: int,
    workers: int = 2,
    *,
    access_log: bool = True,
    pool_size: int = 20,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``mutualab serve`` with ``workers`` worker processes of ``pool_size`` connections.

    Its log goes to ``log``, else to ``MUTUALAB_SERVER_LOG`` when set (a run to look into).
    """
    if log is None and os.environ.get("MUTUALAB_SERVER_LOG"):
        log = Path(os.environ["MUTUALAB_SERVER_LOG"])
    env = {
        **os.environ,
        "MUTUALAB_DATABASE_URL": url,
        "MUTUALAB_DATABASE_POOL_SIZE": str(pool_size),
        "MUTUALAB_SECRET_KEY": "stress-bench-secret-key-not-used-elsewhere-0123456789",
    }
    command = [sys.executable, "-m", "mutualab", "serve", "--host", "127.0.0.1"]
    if not access_log:
        command.append("--no-access-log")
    return subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab") if log is not None else subprocess.DEVNULL,
    )


async def wait_ready(base: str) -> None:
    """Poll /health until the server answers (30 s at most)."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer /health within 30 s")
