"""Booking throughput without contention: the HTTP API against raw asyncpg inserts, on PostgreSQL.

Creates a fresh PostgreSQL database, seeds a place open around the clock with MACHINES
single-unit machines, one user (API token) per client and a year of past bookings (analysed
with them, as a running instance's tables are), then for each worker count (1, 2)
and each client count (8, 32): serves the app (``mutualab serve --workers N``), warms it, and
times REQUESTS ``POST /api/bookings``, every one for a distinct (machine, hour) so no request
waits for another's locks. Every answer must be 201. Every phase (the SQL capture, each run's
warm-up and timed requests, each wrk warm-up and run) books its own hours, which no other phase
asks for: the machines may be booked HORIZON_DAYS ahead and the wrk phases, bounded in seconds
only, share what the others leave, sized for far more requests a second than they can make.

The ceiling: the same three rows per booking (booking, booking_item, booking_allocation,
under the same exclusion constraint) inserted by raw asyncpg at the same concurrency, one
transaction each. Prints req/s, p50/p95/p99 latency, statuses and API/raw ratios, and the SQL
statements one POST /api/bookings sends (captured in-process at the driver).

Run: cd /work/main && .venv/bin/python bench/throughput.py [--requests 2000] [--record]
Traffic goes to 127.0.0.1 only; each run stops after REQUESTS requests or BUDGET seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import wrk
from bench.bulk import seed_history
from bench.harness import (
    CpuUse,
    LoadResult,
    add_common_arguments,
    add_machines,
    allow_ahead,
    analyze,
    booked_and_queued,
    dsn,
    fresh_database,
    has_job_queue,
    in_process_app,
    jobs_line,
    local_socket,
    machine,
    record,
    run_load,
    served,
    sql_log,
)
from tests.support.served import seed

WORKERS = (1, 2)
CLIENTS = (8, 32)
MACHINES = 100
# Database connections per worker: one per client, so that even a single worker serving every
# client never opens and closes overflow connections (docs/deploy.md, connection pools).
POOL = max(CLIENTS)
BOOKING = timedelta(hours=1)
# How far ahead the machines may be booked: the most the API lets a manager set
# (resources.schemas), instead of the default 90 days, so that every run phase can have its
# own hours. The slots used stop two days short of it (the clock moves during a run).
HORIZON_DAYS = 730
USABLE_HOURS = (HORIZON_DAYS - 2) * 24
WRK_WARMUP = 3  # seconds of untimed wrk requests before each timed wrk run
# Each wrk phase (warm-up or timed run) gets the slots of this many requests per second of its
# duration (plus one second), or more: far above what two Python workers can serve (about 700
# a second on the 2-core machine of the records), so no phase runs out of its own slots.
MIN_WRK_RATE = 10_000
# The database holds a year of past bookings and a day of idempotency keys before the runs
# (bench.bulk.seed_history), as a running instance does, and is analysed with them.
# MUTUALAB_BENCH_PAST_DAYS=0 leaves it empty, as this script did before and as older trees'
# scripts still do (bench/compare.sh passes the environment to both sides).
PAST_DAYS = int(os.environ.get("MUTUALAB_BENCH_PAST_DAYS", "365"))
PAST_KEYS = 20_000 if PAST_DAYS else 0


class Slots:
    """Distinct one-hour slots: consecutive numbers go to different machines.

    ``count`` slots from ``first`` (whole hours of every machine), which no other phase gets.
    """

    def __init__(self, machines: list[int], first: datetime, count: int) -> None:
        self.machines = machines
        self.first = first
        self.count = count
        self.next = 0

    def take(self) -> tuple[int, datetime]:
        """A machine and a start nobody else gets."""
        if self.next >= self.count:
            raise RuntimeError(f"more than the {self.count} slots planned for this phase")
        number, self.next = self.next, self.next + 1
        hour, machine = divmod(number, len(self.machines))
        return self.machines[machine], self.first + hour * BOOKING


class Plan:
    """Hands each run phase its own whole hours (every machine's), one phase after another.

    Phases bounded by a request count get exactly what they can use; each wrk phase, bounded
    only by seconds, gets what the fastest rate the hours left allow could book in that time
    (see :func:`wrk_rate`). No two phases share a slot, so any 409 is a genuine one.
    """

    def __init__(self, machines: list[int], first: datetime) -> None:
        self.machines = machines
        self.first = first
        self.hours = 0

    def take(self, requests: int) -> Slots:
        """The next whole hours holding at least ``requests`` slots."""
        hours = -(-max(1, requests) // len(self.machines))
        if self.hours + hours > USABLE_HOURS:
            raise RuntimeError("the run phases need more hours than the booking horizon holds")
        slots = Slots(self.machines, self.first + self.hours * BOOKING, hours * len(self.machines))
        self.hours += hours
        return slots


def counted_requests(args: argparse.Namespace) -> list[int]:
    """The requests of each phase bounded by a count: the SQL captures (with and without an
    idempotency key), then the httpx runs."""
    return [2, 2] + [args.warmup + args.requests] * (len(WORKERS) * len(CLIENTS))


def wrk_phases(args: argparse.Namespace) -> list[int]:
    """The seconds of each wrk phase, in order: per configuration, a warm-up then the run."""
    return [WRK_WARMUP, args.wrk_seconds] * (len(WORKERS) * len(CLIENTS))


def wrk_rate(args: argparse.Namespace) -> int:
    """Requests per second a wrk phase may reach without leaving its own slots: the hours the
    counted phases leave, shared by the wrk phases in proportion to their seconds (plus one).
    """
    hours = sum(-(-n // MACHINES) for n in counted_requests(args))
    seconds = sum(s + 1 for s in wrk_phases(args))
    # Each wrk phase takes whole hours: up to one more than its share.
    return (USABLE_HOURS - hours - len(wrk_phases(args))) * MACHINES // seconds


def booking_body(slots: Slots) -> dict[str, object]:
    """A request for the next free slot."""
    resource, start = slots.take()
    return {
        "items": [{"resource_id": resource, "quantity": 1}],
        "starts_at": start.isoformat(),
        "ends_at": (start + BOOKING).isoformat(),
    }


def api_run(
    url: str, tokens: list[str], slots: Slots, workers: int, clients: int, args: argparse.Namespace
) -> LoadResult:
    """Serve with ``workers`` processes and time REQUESTS bookings from ``clients`` clients."""
    headers = [{"Authorization": f"Bearer {t}"} for t in tokens[:clients]]

    async def post(http: httpx.AsyncClient, _: int) -> httpx.Response:
        # A key of its own on every request, as a client that retries safely sends it.
        key = {"Idempotency-Key": uuid.uuid4().hex}
        return await http.post("/api/bookings", json=booking_body(slots), headers=key)

    with served(url, workers, args.pool) as (base, pid):
        return asyncio.run(
            run_load(
                base,
                headers,
                args.requests,
                args.budget,
                post,
                warmup=args.warmup,
                server_pid=pid,
                workers=workers,
            )
        )


async def raw_run(url: str, clients: int, total: int, budget: float, first: datetime) -> LoadResult:
    """The same rows by raw asyncpg: one transaction of three INSERTs per booking."""
    pool = await asyncpg.create_pool(dsn(local_socket(url)), min_size=clients, max_size=clients)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            place, user = await conn.fetchrow(
                "SELECT place.id, min(user_account.id) FROM place, user_account GROUP BY place.id"
            )
            units = await conn.fetch(
                "SELECT resource_id, id FROM resource_unit ORDER BY resource_id"
            )
            # Start after every booking already there (raw runs come one after another).
            latest = await conn.fetchval("SELECT max(ends_at) FROM booking")
        start = max(first, latest or first) + timedelta(days=1)
        result = LoadResult()
        numbers: Iterator[int] = iter(range(total))
        deadline = time.monotonic() + budget

        async def insert(number: int) -> None:
            resource, unit = units[number % len(units)]
            starts = start + (number // len(units)) * BOOKING
            ends = starts + BOOKING
            async with pool.acquire() as conn, conn.transaction():
                booking = await conn.fetchval(
                    "INSERT INTO booking (reference, place_id, booker_user_id, user_type_code,"
                    " status, starts_at, ends_at, sequence, notes, status_reason, created_at,"
                    " updated_at) VALUES ($1, $2, $3, 'citizen', 'confirmed', $4, $5, 0, '', '',"
                    " now(), now()) RETURNING id",
                    f"RAW{clients:03d}-{number:08d}",
                    place,
                    user,
                    starts,
                    ends,
                )
                item = await conn.fetchval(
                    "INSERT INTO booking_item (booking_id, resource_id, quantity)"
                    " VALUES ($1, $2, 1) RETURNING id",
                    booking,
                    resource,
                )
                await conn.execute(
                    "INSERT INTO booking_allocation (booking_id, item_id, resource_id, unit_id,"
                    " starts_at, blocked_until, active) VALUES ($1, $2, $3, $4, $5, $6, true)",
                    booking,
                    item,
                    resource,
                    unit,
                    starts,
                    ends,
                )

        async def drive(timed: bool) -> None:
            for number in numbers:
                if time.monotonic() > deadline:
                    return
                began = time.perf_counter()
                try:
                    await insert(number)
                    status = 201
                except asyncpg.ExclusionViolationError:
                    status = 409
                except asyncpg.PostgresError:
                    status = 500  # anything else: a defect of this script
                if timed:
                    result.latencies.append(time.perf_counter() - began)
                    result.statuses[status] += 1

        # Warm every pooled connection (statement caches) before the clock starts.
        numbers = iter(range(total, total + clients * 4))
        await asyncio.gather(*(drive(False) for _ in range(clients)))
        numbers, deadline = iter(range(total)), time.monotonic() + budget
        began = time.monotonic()
        await asyncio.gather(*(drive(True) for _ in range(clients)))
        result.seconds = time.monotonic() - began
        return result
    finally:
        await pool.close()


def statements_per_booking(url: str, token: str, slots: Slots, *, keyed: bool) -> list[str]:
    """The SQL one POST /api/bookings runs (after a first one warmed the app), in order;
    ``keyed``: sent with an Idempotency-Key, as the timed runs send it."""

    async def run() -> None:
        async with AsyncTestClient(in_process_app(url)) as client:
            for _ in range(2):
                headers = {"Authorization": f"Bearer {token}"}
                if keyed:
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                seen.clear()
                answer = await client.post(
                    "/api/bookings", json=booking_body(slots), headers=headers
                )
                assert answer.status_code == 201, answer.text

    with sql_log() as seen:
        asyncio.run(run())
    return [statement for statement, _ in seen]


def shape(statement: str) -> str:
    """A statement in a few words: its verb and the tables it names."""
    verb = statement.split(None, 1)[0].upper()
    tables = dict.fromkeys(
        re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(?!OF\b)(\w+)", statement, re.I)
    )
    if not tables and verb == "SELECT":
        # A bare call, such as the idempotency key's advisory lock: name the function.
        tables = dict.fromkeys(re.findall(r"\b(\w+)\s*\(", statement)[:1])
    return f"{verb.rstrip(';')} {', '.join(tables)}".strip()


def sql_per_booking(
    url: str, token: str, plan: Plan, say: Callable[[str], None], *, keyed: bool
) -> None:
    """Print the statements of one booking request, with or without an idempotency key."""
    statements = statements_per_booking(url, token, plan.take(2), keyed=keyed)
    verbs = Counter(statement.split(None, 1)[0].upper() for statement in statements)
    say(
        f"SQL per POST /api/bookings {'with' if keyed else 'without'} an Idempotency-Key "
        f"(in-process, as the driver sent it, BEGIN/COMMIT included): {len(statements)} "
        f"({', '.join(f'{verb} {n}' for verb, n in verbs.most_common())})"
    )
    for number, statement in enumerate(statements, 1):
        print(f"  {number:2d}. {shape(statement)}")


def wrk_runs(
    url: str,
    tokens: list[str],
    plan: Plan,
    args: argparse.Namespace,
    say: Callable[[str], None],
    raw: dict[int, LoadResult],
) -> bool:
    """The API runs again with wrk as the client (see bench/wrk.py); False if not all 201."""
    ok = True
    rate = wrk_rate(args)
    for workers, clients in ((w, c) for w in WORKERS for c in CLIENTS):
        # The warm-up and the timed run each book their own hours, sized for `rate` requests
        # a second: no slot is asked for twice, by this run or any other.
        warm = plan.take(rate * (WRK_WARMUP + 1))
        timed = plan.take(rate * (args.wrk_seconds + 1))
        with served(url, workers, args.pool) as (base, pid):
            wrk.run(
                base, plan.machines, tokens[:clients], warm.first, clients, WRK_WARMUP, warm.count
            )
            spent = CpuUse.now(pid)
            result = wrk.run(
                base,
                plan.machines,
                tokens[:clients],
                timed.first,
                clients,
                args.wrk_seconds,
                timed.count,
            )
            cpu = spent.per_request(CpuUse.now(pid), result.requests)
        label = f"API {workers} worker{'s' if workers > 1 else ''}, {clients} conns"
        say(result.line(label))
        say(f"{'':<28} API/raw: {result.rate / raw[clients].rate:.2f}, {result.tail}; {cpu}")
        if result.overflow:
            # Not a conflict of the service: the run outran the slots planned for it.
            say(
                f"WRONG: {result.overflow} requests past the {timed.count} slots planned for "
                f"this run (over {rate} req/s): shorten --wrk-seconds"
            )
        ok = ok and result.only(201) and not result.overflow
    return ok


def main() -> int:
    """Run every configuration, print the figures; non-zero exit if any request was not 201."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per run")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds cap per run")
    parser.add_argument(
        "--pool",
        type=int,
        default=POOL,
        help="database connections per worker (and as many overflow ones)",
    )
    parser.add_argument(
        "--wrk-seconds",
        type=int,
        default=15,
        help="also time the API with wrk for this long per run (0: skip; needs Debian's wrk)",
    )
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.requests, args.warmup, args.budget = 200, 32, 30.0
        args.wrk_seconds = min(args.wrk_seconds, 3)
    args.requests = max(1, min(args.requests, 50_000))
    args.warmup = max(0, args.warmup)
    args.wrk_seconds = max(0, args.wrk_seconds)
    if args.wrk_seconds and wrk_rate(args) < MIN_WRK_RATE:
        parser.error(
            f"too many requests or wrk seconds: each wrk phase would have slots for only "
            f"{wrk_rate(args)} req/s (at least {MIN_WRK_RATE}) within the "
            f"{HORIZON_DAYS}-day booking horizon"
        )
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    ok = True
    with fresh_database("mutualab_throughput") as (_, url):
        context = machine(url)
        for line in context:
            print(line)
        printer, pool, tokens = asyncio.run(seed(url, max(CLIENTS)))
        _, more = asyncio.run(add_machines(url, "stress", MACHINES - 1))
        machines = [printer, *more]
        asyncio.run(allow_ahead(url, machines, HORIZON_DAYS))
        if PAST_DAYS:
            now = datetime.now(UTC)
            past = asyncio.run(seed_history(dsn(url), PAST_DAYS, PAST_KEYS, now=now))
            print(
                f"history: {past:,} past bookings ({PAST_DAYS} days of every unit), "
                f"{PAST_KEYS:,} idempotency keys where the schema has their table"
            )
        else:
            print("history: none (MUTUALAB_BENCH_PAST_DAYS=0: the tables are analysed empty)")
        # Whole UTC hours from tomorrow: aligned on the 30-minute grid, past the 60-min notice.
        tomorrow = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        # Every phase below books its own hours from `plan`, in this order: the SQL capture,
        # the httpx runs, then each wrk warm-up and run.
        plan = Plan(machines, tomorrow)
        asyncio.run(analyze(url))
        # The timed runs send a key with every booking; the keyless path is printed beside.
        sql_per_booking(url, tokens[0], plan, say, keyed=True)
        sql_per_booking(url, tokens[0], plan, say, keyed=False)
        raw: dict[int, LoadResult] = {}
        for clients in CLIENTS:
            # Past the horizon, where no API request can book: the raw runs' own days.
            beyond = tomorrow + timedelta(days=HORIZON_DAYS + 7)
            raw[clients] = asyncio.run(raw_run(url, clients, args.requests, args.budget, beyond))
            say(raw[clients].line(f"raw asyncpg, {clients} clients"))
            ok = ok and raw[clients].only(201)
        del pool  # the 12-seat pool of the shared seed is not used here
        for workers in WORKERS:
            for clients in CLIENTS:
                slots = plan.take(args.warmup + args.requests)
                result = api_run(url, tokens, slots, workers, clients, args)
                label = f"API {workers} worker{'s' if workers > 1 else ''}, {clients} clients"
                say(result.line(label))
                say(
                    f"{'':<28} API/raw: {result.rate / raw[clients].rate:.2f}, {result.tail}; "
                    + result.cpu
                )
                ok = ok and result.only(201)
        if args.wrk_seconds > 0 and wrk.available():
            say("the same API runs with wrk (a C client) instead of httpx:")
            ok = wrk_runs(url, tokens, plan, args, say, raw) and ok
        elif args.wrk_seconds > 0:
            print("wrk not installed (apt-get install wrk): the wrk runs are skipped")
        # Counted once every timed run is over, so the count does not weigh on the timings.
        if asyncio.run(has_job_queue(url)):
            made, queued, missing, orphans = asyncio.run(booked_and_queued(url))
            say(jobs_line(made, queued, missing, orphans))
            ok = ok and made == queued and not missing and not orphans
        else:  # an older tree measured with --bench-here
            say("no job queue in this tree's schema: no booking.created jobs to count")
        say(
            "result: OK (every request 201, a job per booking)"
            if ok
            else "result: FAILED (see statuses and jobs)"
        )
        if args.record:
            parameters = (
                f"{args.requests} timed requests per run after {args.warmup} warm-up, "
                f"budget {args.budget:.0f} s, {MACHINES} single-unit machines, 1-hour bookings, "
                f"pool {args.pool}+{args.pool} connections per worker; then wrk -t2 for "
                f"{args.wrk_seconds} s per run after a {WRK_WARMUP} s warm-up; every phase "
                f"books its own slots (horizon {HORIZON_DAYS} days, each wrk phase room for "
                f"{wrk_rate(args)} req/s)"
            )
            record("throughput.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
