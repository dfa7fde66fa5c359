"""Availability under a million bookings: a week of one resource, a day of a whole place.

Creates a fresh PostgreSQL database, seeds the bench place (a printer, a 12-seat pool and
PLACE_MACHINES more machines, open around the clock) and a second place holding the rest of
MACHINES single-unit machines, then COPYs BOOKINGS confirmed bookings (booking, booking_item and
booking_allocation rows; see bench/bulk.py) spread over every machine, one every 26 hours from
500 days ago, so the whole history spans about three years. VACUUM ANALYZE, then for 1 and 2
worker processes and 8 and 32 clients it times (anonymous, kept-alive connections):

* ``GET /api/resources/{printer}/availability?from=D&to=D+7`` (a week of one resource);
* ``GET /api/places/{place}/availability?date=D`` (a day of the whole place);
* the week of a different machine at each request, in turn over every machine: each worker
  keeps the slots it computed while their inputs do not change (booking.snapshots.SlotMemo),
  so the two reads above are mostly served from that memo; this one never is (a worker keeps
  512 answers and there are 999 machines), and shows the cost of computing.

Every answer must be 200. Then it runs each request once in-process, captures the SQL the
service sends (an SQLAlchemy event) and prints EXPLAIN (ANALYZE, BUFFERS) of each statement
with its parameters, and the indexes used; a sequential scan of a booking table fails the run.

Run: cd /work/main && .venv/bin/python bench/availability.py [--bookings 1000000] [--record]
``--keep`` keeps the seeded database (its URL is printed) and ``--url URL`` reuses it.
Traffic goes to 127.0.0.1 only; each timed run stops after REQUESTS requests or BUDGET seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import wrk
from bench.bulk import copy_bookings, spread
from bench.harness import (
    CpuUse,
    add_common_arguments,
    add_machines,
    analyze,
    dsn,
    fresh_database,
    in_process_app,
    machine,
    record,
    run_load,
    served,
    sql_log,
)
from tests.support.served import seed

WORKERS = (1, 2)
CLIENTS = (8, 32)
MACHINES = 1000
PLACE_MACHINES = 18
EVERY = timedelta(hours=26)
LENGTH = timedelta(hours=2)
PARIS = ZoneInfo("Europe/Paris")
BOOKING_TABLES = ("booking", "booking_item", "booking_allocation")
AVAILABILITY_INDEX = "ix_booking_allocation_resource_start"


@dataclass(frozen=True)
class Target:
    """What the requests ask for."""

    resource_id: int
    place_id: int
    day: date
    machines: tuple[int, ...]

    def week(self, resource_id: int | None = None) -> str:
        """A week of one resource (the printer unless another is named)."""
        return (
            f"/api/resources/{resource_id or self.resource_id}/availability"
            f"?from={self.day.isoformat()}&to={(self.day + timedelta(days=7)).isoformat()}"
        )

    def weeks(self) -> list[str]:
        """A week of each machine, for reads that never ask for the same thing twice in a row."""
        return [self.week(machine) for machine in self.machines]

    def place_day(self) -> str:
        """A day of the whole place."""
        return f"/api/places/{self.place_id}/availability?date={self.day.isoformat()}"


async def seed_places(url: str) -> tuple[Target, list[tuple[int, int, int]], list[int]]:
    """The places and machines: what to ask for, every (place, resource, unit), the users."""
    printer, _, _ = await seed(url, 32)
    place, near = await add_machines(url, "stress", PLACE_MACHINES)
    _, far = await add_machines(url, "far", MACHINES - PLACE_MACHINES - 1, new_place=True)
    conn = await asyncpg.connect(dsn(url))
    try:
        units = await conn.fetch(
            "SELECT r.place_id, r.id, u.id FROM resource r JOIN resource_unit u"
            " ON u.resource_id = r.id WHERE r.id = ANY($1::int[]) ORDER BY r.id",
            [printer, *near, *far],
        )
        users = [r[0] for r in await conn.fetch("SELECT id FROM user_account ORDER BY id")]
    finally:
        await conn.close()
    day = (datetime.now(UTC).astimezone(PARIS) + timedelta(days=7)).date()
    target = Target(printer, place, day, (*near, *far))
    return target, [(p, r, u) for p, r, u in units], users


async def seed_bookings(
    url: str, units: list[tuple[int, int, int]], users: list[int], per_unit: int, first: datetime
) -> int:
    """``per_unit`` bookings of every unit, one every EVERY from ``first``; how many."""
    conn = await asyncpg.connect(dsn(url))
    try:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        rows = spread(units, users, max(1, per_unit), first, EVERY, LENGTH)
        return await copy_bookings(conn, rows, now=now)
    finally:
        await conn.close()


async def seed_million(url: str, bookings: int) -> tuple[Target, int]:
    """The places, machines and ``bookings`` bookings; what to ask for and how many rows."""
    target, units, users = await seed_places(url)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=500)
    written = await seed_bookings(url, units, users, bookings // len(units), first)
    return target, written


def timed_runs(
    url: str, target: Target, args: argparse.Namespace, say: Callable[[str], None]
) -> bool:
    """Every (workers, clients, request) combination; whether every answer was 200."""
    ok = True
    paths = {
        "resource week": [target.week()],
        "place day": [target.place_day()],
        "week, machines in turn": target.weeks(),
    }
    for workers in WORKERS:
        with served(url, workers) as (base, pid):
            for clients in CLIENTS:
                for label, rotation in paths.items():
                    turns = itertools.cycle(rotation)

                    async def get(
                        http: httpx.AsyncClient, _: int, turns: Iterator[str] = turns
                    ) -> httpx.Response:
                        return await http.get(next(turns))

                    result = asyncio.run(
                        run_load(
                            base,
                            [{}] * clients,
                            args.requests,
                            args.budget,
                            get,
                            warmup=args.warmup,
                            server_pid=pid,
                            workers=workers,
                        )
                    )
                    name = f"{label}, {workers}w, {clients} clients"
                    say(result.line(name))
                    say(f"{'':<28} {result.cpu}")
                    ok = ok and result.only(200)
            if args.wrk_seconds > 0 and wrk.available():
                # The same reads with a C client, which leaves the cores to the server.
                for clients in CLIENTS:
                    for label, rotation in paths.items():
                        spent = CpuUse.now(pid)
                        found = wrk.get_each(base, rotation, clients, args.wrk_seconds)
                        cpu = spent.per_request(CpuUse.now(pid), found.requests)
                        say(found.line(f"{label}, {workers}w, {clients} conns"))
                        say(f"{'':<28} {cpu}")
                        ok = ok and found.only(200)
    return ok


def captured_sql(
    url: str, paths: list[str]
) -> tuple[list[tuple[str, str, tuple[Any, ...]]], dict[str, int]]:
    """(request, statement, parameters) of each distinct SELECT each request ran, and how
    many statements each request sent in all."""
    found: list[tuple[str, str, tuple[Any, ...]]] = []
    counts: dict[str, int] = {}

    async def run() -> None:
        async with AsyncTestClient(in_process_app(url)) as client:
            for path in paths:
                await client.get(path)  # warm: the first request loads caches
            for path in paths:
                with sql_log() as seen:
                    answer = await client.get(path)
                assert answer.status_code == 200, answer.text
                counts[path] = len(seen)
                # One plan per statement (a place's day runs the same query per resource).
                distinct = {s: p for s, p in seen if s.lstrip().upper().startswith("SELECT")}
                found.extend((path, s, p) for s, p in distinct.items())

    asyncio.run(run())
    return found, counts


async def explain(url: str, statements: list[tuple[str, str, tuple[Any, ...]]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement with the parameters it ran with."""
    conn = await asyncpg.connect(dsn(url))
    lines: list[str] = []
    try:
        for path, statement, parameters in statements:
            # The statement is the one SQLAlchemy sent; its parameters stay bound.
            explained = f"EXPLAIN (ANALYZE, BUFFERS) {statement}"
            rows = await conn.fetch(explained, *parameters)
            plan = [r[0] for r in rows]
            tables = sorted(set(re.findall(r"\bFROM (\w+)", statement)))
            lines += [
                f"-- {path}: a query of {', '.join(tables)}",
                *(f"   {line}" for line in plan),
            ]
    finally:
        await conn.close()
    return lines


def plan_checks(plans: list[str]) -> tuple[list[str], list[str]]:
    """Indexes used, and sequential scans of booking tables (which must not happen)."""
    used = sorted({m for line in plans for m in re.findall(r"using (\w+)", line)})
    bitmaps = {m for line in plans for m in re.findall(r"Bitmap Index Scan on (\w+)", line)}
    used += [f"{name} (bitmap)" for name in sorted(bitmaps)]
    scanned = [(line.strip(), re.search(r"Seq Scan on (\w+)", line)) for line in plans]
    scans = [line for line, found in scanned if found and found.group(1) in BOOKING_TABLES]
    return used, scans


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """A fresh database, or the one given with --url (seeded by an earlier run)."""
    if args.url:
        yield args.url
        return
    with fresh_database("mutualab_availability", keep=args.keep) as (_, url):
        yield url


def main() -> int:
    """Seed, time, explain; non-zero exit if a request failed or a booking table was scanned."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1_000_000, help="bookings to seed")
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per run")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests first")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds cap per run")
    parser.add_argument(
        "--wrk-seconds",
        type=int,
        default=10,
        help="also time each read with wrk for this long (0: skip; needs Debian's wrk)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--url", help="reuse a database seeded by an earlier --keep run")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.bookings, args.requests, args.warmup, args.budget = 50_000, 100, 16, 20.0
        args.wrk_seconds = min(args.wrk_seconds, 2)
    args.bookings = max(MACHINES, min(args.bookings, 5_000_000))
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    with database(args) as url:
        context = machine(url)
        for line in context:
            print(line)
        if args.url:
            target, written = asyncio.run(find_target(url))
        else:
            began = time.monotonic()
            target, written = asyncio.run(seed_million(url, args.bookings))
            asyncio.run(analyze(url))
            seconds = time.monotonic() - began
            say(f"seeded {written} bookings (COPY, indexes rebuilt, ANALYZE) in {seconds:.0f} s")
        ok = timed_runs(url, target, args, say)
        statements, counts = captured_sql(url, [target.week(), target.place_day()])
        for path, count in counts.items():
            say(f"SQL statements sent by one GET {path}: {count}")
        plans = asyncio.run(explain(url, statements))
        used, scans = plan_checks(plans)
        for line in plans:
            print(line)
        say(f"indexes used: {', '.join(used)}")
        if scans:
            say(f"WRONG: sequential scans of booking tables: {scans}")
        if AVAILABILITY_INDEX not in used:
            # Worth a look, not a failure: the answers are right, only slower as rows grow.
            say(
                f"NOTE: the busy-units query does not use {AVAILABILITY_INDEX} "
                "(a partial index WHERE active: the planner cannot match it to 'active IS true')"
            )
        ok = ok and not scans
        say("result: OK" if ok else "result: FAILED")
        if args.record:
            parameters = (
                f"{written} bookings over {MACHINES} machines, {args.requests} timed requests "
                f"per run after {args.warmup} warm-up, budget {args.budget:.0f} s; then wrk -t2 "
                f"for {args.wrk_seconds} s per read"
            )
            record("availability.py", context, parameters, [*figures, *plans], args.note)
    return 0 if ok else 1


async def find_target(url: str) -> tuple[Target, int]:
    """The printer and place of a database seeded earlier, and its booking count."""
    conn = await asyncpg.connect(dsn(url))
    try:
        printer, place = await conn.fetchrow(
            "SELECT r.id, r.place_id FROM resource r JOIN place p ON p.id = r.place_id"
            " WHERE p.slug = 'stress' ORDER BY r.id LIMIT 1"
        )
        written = await conn.fetchval("SELECT count(*) FROM booking")
        machines = await conn.fetch(
            "SELECT id FROM resource WHERE name LIKE 'Machine %' ORDER BY id"
        )
    finally:
        await conn.close()
    day = (datetime.now(UTC).astimezone(PARIS) + timedelta(days=7)).date()
    return Target(printer, place, day, tuple(m[0] for m in machines)), int(written)


if __name__ == "__main__":
    sys.exit(main())
