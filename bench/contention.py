"""Contention: many users book the same slot at the same instant; exactly the free units win.

Creates a fresh PostgreSQL database, seeds a place open around the clock with a single-unit
printer, a 12-seat pool and one user (API token) per client, serves the app with two worker
processes (``mutualab serve --workers 2``), and opens every client's connection first (one
kept-alive connection per client, warmed with a request, spread evenly over the two processes).
Then, for each round, every connection is touched again (the server drops connections idle for
5 s), every client waits at one asyncio.Barrier and all are released together:

* printer rounds: PRINTER_CLIENTS users ask for the printer over the same hour: exactly 1 wins;
* pool rounds: POOL_CLIENTS users ask for 1 seat of the pool over the same hour: exactly 12 win.

Afterwards it counts, in the database, active allocations of one unit whose blocked ranges
overlap (must be 0) and bookings stored (must equal the 201 answers). Exit status 1 if any
guarantee failed: a round with the wrong number of winners, a loser without a 409, a round
whose clients did not reach both processes, an overlap, a lost booking. Bounded: ROUNDS rounds
of each kind, a BUDGET-second cap.

Run: cd /work/main && .venv/bin/python bench/contention.py [--rounds 10] [--record]
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.harness import (
    add_common_arguments,
    dsn,
    fresh_database,
    machine,
    open_clients,
    record,
    served,
)
from tests.support.served import OVERLAPS, POOL_SIZE, seed

PRINTER_CLIENTS = 20
POOL_CLIENTS = 30
WORKERS = 2
BUDGET_SECONDS = 120.0


@dataclass
class Round:
    """One release of simultaneous requests."""

    kind: str
    clients: int
    expected: int
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    # Connections of the round's clients held by each worker process, at release.
    split: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Exactly the expected winners, every loser a 409, clients on every worker."""
        losers = self.clients - self.expected
        return (
            sum(self.statuses.values()) == self.clients
            and self.statuses[201] == self.expected
            and self.statuses[409] == losers
            and len(self.split) == WORKERS
        )


async def release_together(
    clients: list[httpx.AsyncClient], body: dict[str, object]
) -> tuple[Counter[int], float]:
    """Every client waits at one barrier, then all post ``body`` at once; statuses, time."""
    barrier = asyncio.Barrier(len(clients) + 1)

    async def post(http: httpx.AsyncClient) -> int:
        await barrier.wait()
        try:
            return (await http.post("/api/bookings", json=body)).status_code
        except httpx.HTTPError:
            return 0

    tasks = [asyncio.create_task(post(http)) for http in clients]
    await barrier.wait()  # the last party: every client is waiting, release them all
    started = time.perf_counter()
    statuses = Counter(await asyncio.gather(*tasks))
    return statuses, time.perf_counter() - started


async def fire(
    base: str, pid: int, tokens: list[str], printer: int, pool: int, rounds: int
) -> list[Round]:
    """Open and warm every client, then run the rounds."""
    # Each connection is opened with the authenticated path, and spread over the workers.
    clients = await open_clients(
        base,
        [{"Authorization": f"Bearer {t}"} for t in tokens[:POOL_CLIENTS]],
        server_pid=pid,
        workers=WORKERS,
        warm_path="/api/me/bookings",
    )
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    done: list[Round] = []
    try:
        deadline = time.monotonic() + BUDGET_SECONDS
        plan = [("printer", printer, PRINTER_CLIENTS, 1)] * rounds
        plan += [("12-seat pool", pool, POOL_CLIENTS, POOL_SIZE)] * rounds
        for number, (kind, resource, count, expected) in enumerate(plan):
            if time.monotonic() > deadline:
                break
            start = first + timedelta(hours=2 * number)
            body: dict[str, object] = {
                "items": [{"resource_id": resource, "quantity": 1}],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
            }
            # Idle connections are closed by the server after 5 s: touch them all first.
            await clients.refresh()
            split = clients.split(count)
            statuses, seconds = await release_together(clients.http[:count], body)
            done.append(Round(kind, count, expected, statuses, seconds, split))
    finally:
        await clients.aclose()
    return done


async def database_checks(url: str) -> tuple[int, int]:
    """Overlapping active unit ranges, and bookings stored."""
    conn = await asyncpg.connect(dsn(url))
    try:
        overlaps = await conn.fetchval(str(OVERLAPS))
        stored = await conn.fetchval("SELECT count(*) FROM booking")
        return int(overlaps), int(stored)
    finally:
        await conn.close()


def main() -> int:
    """Run the rounds, print the figures; non-zero exit if a guarantee failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each kind")
    add_common_arguments(parser)
    args = parser.parse_args()
    rounds = max(1, min(3 if args.quick else args.rounds, 100))
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    with fresh_database("mutualab_contention") as (_, url):
        context = machine(url)
        for line in context:
            print(line)
        printer, pool, tokens = asyncio.run(seed(url, POOL_CLIENTS))
        with served(url, WORKERS) as (base, pid):
            results = asyncio.run(fire(base, pid, tokens, printer, pool, rounds))
        overlaps, stored = asyncio.run(database_checks(url))
    say(f"server: mutualab serve --workers {WORKERS} (uvicorn); connections per worker at release")
    for number, result in enumerate(results, 1):
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(result.statuses.items()))
        say(
            f"round {number:2d} {result.kind:<12} {result.clients} at once: "
            f"accepted {result.statuses[201]:2d} (must be {result.expected}), {statuses}, "
            f"{result.seconds * 1000:.0f} ms, workers {'/'.join(map(str, result.split))}"
            + ("" if result.ok else "  WRONG")
        )
    accepted = sum(r.statuses[201] for r in results)
    say(f"overlapping active unit ranges in the database: {overlaps} (must be 0)")
    say(f"bookings stored: {stored}, 201 answers: {accepted} (must be equal)")
    ok = (
        len(results) == 2 * rounds
        and all(r.ok for r in results)
        and overlaps == 0
        and stored == accepted
    )
    say("result: OK" if ok else "result: FAILED")
    if args.record:
        parameters = (
            f"{rounds} printer rounds x {PRINTER_CLIENTS} users, {rounds} pool rounds x "
            f"{POOL_CLIENTS} users, pre-opened connections released by one asyncio.Barrier"
        )
        record("contention.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
