"""Stress the no-double-booking guarantee across server processes, on PostgreSQL.

Creates a throwaway PostgreSQL database (the test suite's server discovery: the local server on
127.0.0.1:5432, MUTUALAB_TEST_DATABASE_URL, or a private cluster), migrates and seeds it, starts
``mutualab serve --workers 2`` (uvicorn, two processes) on a free local port, then fires rounds
of concurrent bookings from distinct users (one token each) at overlapping ranges:

* printer rounds: CLIENTS requests for one single-unit printer, four staggered two-hour ranges
  sharing half an hour: exactly 1 must win;
* pool rounds: CLIENTS requests for 1 seat of a 12-seat pool, same range: exactly 12 must win.

Prints successes, conflicts, errors, overlaps found in the database (must be 0) and requests per
second; exits non-zero if any guarantee failed. Bounded: at most ROUNDS rounds and BUDGET
seconds of firing, then the server is stopped and the database dropped (well under 2 minutes).

Run: cd /work/main && .venv/bin/python bench/stress_booking.py [--rounds 20] [--clients 50]
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the tests' helpers are used

from bench.harness import add_common_arguments, local_socket, machine, record  # noqa: E402
from kernel.db import create_engine  # noqa: E402
from mutualab import migrate  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.postgres import find_server  # noqa: E402
from tests.support.served import (  # noqa: E402
    OVERLAPS,
    POOL_SIZE,
    seed,
    start_server,
    wait_ready,
)

PARIS = ZoneInfo("Europe/Paris")
BUDGET_SECONDS = 60.0


@dataclass
class Tally:
    """What the rounds produced."""

    successes: int = 0
    conflicts: int = 0
    errors: int = 0
    requests: int = 0
    seconds: float = 0.0
    rounds: int = 0
    wrong_rounds: list[str] = field(default_factory=list)


async def fire(
    http: httpx.AsyncClient, tokens: list[str], printer: int, pool: int, rounds: int, clients: int
) -> Tally:
    """Fire the rounds; each round books a fresh day so winners are counted per round."""
    tally = Tally()
    first_day = (datetime.now(UTC).astimezone(PARIS) + timedelta(days=2)).date()
    started = time.monotonic()
    for number in range(rounds):
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        day = first_day + timedelta(days=number // 2)
        base = datetime.combine(day, wall_time(10), tzinfo=PARIS)
        on_pool = number % 2 == 1
        bodies: list[dict[str, object]] = []
        for n in range(clients):
            start = base if on_pool else base + timedelta(minutes=30 * (n % 4))
            bodies.append(
                {
                    "items": [{"resource_id": pool if on_pool else printer, "quantity": 1}],
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat(),
                }
            )

        async def post(token: str, body: dict[str, object]) -> int:
            try:
                response = await http.post(
                    "/api/bookings", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError:
                return 0
            return response.status_code

        statuses = await asyncio.gather(*(post(tokens[n], body) for n, body in enumerate(bodies)))
        wins = statuses.count(201)
        tally.successes += wins
        tally.conflicts += statuses.count(409)
        tally.errors += sum(1 for s in statuses if s not in (201, 409))
        tally.requests += len(statuses)
        tally.rounds += 1
        expected = POOL_SIZE if on_pool else 1
        if wins != min(expected, clients):
            kind = "pool" if on_pool else "printer"
            tally.wrong_rounds.append(f"round {number} ({kind}): {wins} winners")
    tally.seconds = time.monotonic() - started
    return tally


async def overlaps(url: str) -> int:
    """Pairs of active allocations of one unit with overlapping blocked ranges."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found: int = (await conn.execute(OVERLAPS)).scalar_one()
            return found
    finally:
        await engine.dispose()


def main() -> int:
    """Run the bench and print its figures; non-zero exit if a guarantee failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds (alternating kinds)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent requests per round")
    add_common_arguments(parser)
    args = parser.parse_args()
    rounds = max(1, min(4 if args.quick else args.rounds, 100))
    clients = max(1, min(args.clients, 200))
    server = find_server()
    if server is None:
        print("No PostgreSQL server found: nothing to stress.")
        return 2
    url = server.create_database("mutualab_stress")
    process: subprocess.Popen[bytes] | None = None
    try:
        migrate.upgrade(url)
        context = machine(url)
        for line in context:
            print(line)
        printer, pool, tokens = asyncio.run(seed(url, clients))
        port = free_port()
        process = start_server(local_socket(url), port)  # as the other benches serve
        base = f"http://127.0.0.1:{port}"

        async def run() -> Tally:
            await wait_ready(base)
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
                return await fire(http, tokens, printer, pool, rounds, clients)

        tally = asyncio.run(run())
        found = asyncio.run(overlaps(url))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.stop()
    rate = tally.requests / tally.seconds if tally.seconds else 0.0
    ok = found == 0 and tally.errors == 0 and not tally.wrong_rounds
    figures = [
        "server: mutualab serve --workers 2 (uvicorn) on PostgreSQL",
        f"rounds: {tally.rounds} x {clients} concurrent requests (printer and 12-seat pool)",
        f"successes: {tally.successes}",
        f"conflicts: {tally.conflicts}",
        f"errors: {tally.errors}",
        f"overlaps found: {found}",
        f"requests/second: {rate:.1f} ({tally.requests} requests in {tally.seconds:.1f} s)",
        *(f"WRONG: {problem}" for problem in tally.wrong_rounds),
        "result: OK" if ok else "result: FAILED",
    ]
    for line in figures:
        print(line)
    if args.record:
        parameters = f"{rounds} rounds of {clients} concurrent requests, budget {BUDGET_SECONDS} s"
        record("stress_booking.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
