"""Term opening: reads, bookings, series and cancellations at once, on a year of bookings.

Creates a fresh PostgreSQL database and seeds PLACES places in TOWNS towns, each open around
the clock with MACHINES single-unit machines, ROOMS rooms and a pool of SEATS seats, and 64
users (one API token each); then COPYs BOOKINGS confirmed bookings (bench/bulk.py) spread over
every unit, two hours every 22 hours, from about ten months ago to SEEDED_AHEAD days ahead: a
realistic year. The seeding is timed. VACUUM ANALYZE, then ``mutualab serve --workers 2`` and
64 wrk connections for SECONDS seconds (after a short untimed warm-up of the same mix), one wrk
per kind of operation, run together, with connections in the issue's 70/20/5/5 ratio:

* 45 availability reads: 15 on a resource's week (every resource, this week and the next),
  15 on a place's day (every place, the next 14 days), 15 on a town search by time
  (``GET /api/availability/search``: every town, the next 14 days, four two-hour windows);
* 13 single bookings (``POST /api/bookings``) of distinct free one-hour slots of the machines,
  each with an Idempotency-Key of its own;
* 3 series (``POST /api/series``): a room and all SEATS seats of the place's pool, one hour
  every week for WEEKS weeks, each series on units no other asks for;
* 3 cancellations (``POST /api/bookings/{id}/cancel``) of seeded future bookings, each by its
  booker, each booking once.

wrk's Lua cannot tell which connection a response belongs to (``response()`` gets the status,
headers and body only, and there is no clock in its API), so per-operation latency comes from
one wrk per operation: each reports its own percentiles. The share of requests then follows
the connections and each operation's speed (a series books 15 dates): the printed mix says
what it was. Afterwards, in the database: overlapping active unit ranges (must be 0), and the
bookings the service made against their booking.created jobs in ``jobs.pgqueuer`` (must
match), and against what the 201 answers say. Prints throughput and p50/p95/p99 per operation
and PASS/FAIL against the issue's targets (printed, not asserted).

Run: cd /work/main && .venv/bin/python bench/mixed.py [--seconds 60] [--record]
Traffic goes to 127.0.0.1 only; every wrk run stops after its seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import wrk
from bench.bulk import copy_bookings, spread
from bench.harness import (
    add_common_arguments,
    add_resources,
    allow_ahead,
    analyze,
    booked_and_queued,
    dsn,
    fresh_database,
    in_process_app,
    jobs_line,
    load_now,
    log_problems,
    log_size,
    machine,
    overlaps,
    record,
    served,
    sql_log,
    tail,
    verdict,
)
from tests.support.served import seed

TOWNS = [
    ("Lannion", "22300"),
    ("Brest", "29200"),
    ("Rennes", "35000"),
    ("Quimper", "29000"),
    ("Vannes", "56000"),
    ("Lorient", "56100"),
    ("Saint-Brieuc", "22000"),
    ("Morlaix", "29600"),
    ("Guingamp", "22200"),
    ("Saint-Malo", "35400"),
]
PLACES = 20  # two per town
MACHINES = 12  # per place (the first place's printer is one of them)
ROOMS = 2
SEATS = 12  # the pool of each place; a series takes all of them with a room
USERS = 64
EVERY = timedelta(hours=22)
LENGTH = timedelta(hours=2)
SEEDED_AHEAD = timedelta(days=60)  # the seeded bookings reach this far ahead
WEEKS = 15  # a series' length
SERIES_HOURS = list(range(7, 21))  # local start hours of the series
HORIZON_DAYS = 730  # how far ahead the resources may be booked (the API's most)
# Database connections per worker (and as many overflow ones). Not one per wrk connection:
# 64 connections on 2 workers with 32 each (64 with overflow) ran the shared PostgreSQL out of
# connections (max_connections 100, SQLSTATE 53300: 503 answers); and two cores gain nothing
# from more backends than requests they can serve at once.
POOL = 16
WORKERS = 2
# Connections per operation: the 70/20/5/5 of 64 clients.
CONNECTIONS = {
    "resource week": 15,
    "place day": 15,
    "town search": 15,
    "booking": 13,
    "series": 3,
    "cancellation": 3,
}
READS = ("resource week", "place day", "town search")
WRITES = ("booking", "series")  # the bookings of the p99 target
# Each booking or series phase gets the slots of this many requests a second (plus a second):
# far above what two workers serve, so no phase runs out of its own.
BOOKING_RATE = 5_000
SERIES_BLOCKS = 5  # blocks of WEEKS weeks for the timed series (block 0: the warm-up's)
# The targets.
MIN_RATE = 1_000.0
READ_P99 = 50.0
BOOKING_P99 = 100.0
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Seeded:
    """What the requests ask for."""

    resources: list[int]
    places: list[int]
    machines: list[int]
    rooms_and_pools: list[tuple[int, int]]  # one (room, pool) per place
    tokens: list[str]
    cancellable: list[tuple[int, int]]  # (booking id, its booker's token index)
    written: int
    seconds: float


async def seed_year(url: str, bookings: int) -> Seeded:
    """The places, resources, users and a year of bookings; timed."""
    began = time.monotonic()
    _, first_pool, tokens = await seed(url, USERS)  # "stress" in Lannion: printer and pool
    places: list[int] = []
    machines: list[int] = []
    rooms_and_pools: list[tuple[int, int]] = []
    for number in range(PLACES):
        town, postcode = TOWNS[number % len(TOWNS)]
        # The first place is seed()'s: it has its printer and pool already.
        kinds = {"machine": (MACHINES - (number == 0), 1), "space": (ROOMS, 1)}
        if number:
            kinds["software_seats"] = (1, SEATS)
        place, made = await add_resources(
            url,
            f"lieu-{number:02d}" if number else "stress",
            kinds,
            new_place=number > 0,
            town=town,
            postcode=postcode,
        )
        places.append(place)
        machines += made["machine"]
        pool = made["software_seats"][0] if number else first_pool
        rooms_and_pools.append((made["space"][0], pool))
    conn = await asyncpg.connect(dsn(url))
    try:
        printer = await conn.fetchval(
            "SELECT min(id) FROM resource WHERE place_id = $1 AND kind = 'machine'", places[0]
        )
        machines.insert(0, printer)
        resources = [r[0] for r in await conn.fetch("SELECT id FROM resource ORDER BY id")]
        await allow_ahead(url, resources, HORIZON_DAYS)
        units = await conn.fetch(
            "SELECT r.place_id, r.id, u.id FROM resource r JOIN resource_unit u"
            " ON u.resource_id = r.id ORDER BY r.id, u.id"
        )
        users = [r[0] for r in await conn.fetch("SELECT id FROM user_account ORDER BY id")]
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        per_unit = max(1, bookings // len(units))
        first = now + SEEDED_AHEAD - per_unit * EVERY
        rows = spread([(p, r, u) for p, r, u in units], users, per_unit, first, EVERY, LENGTH)
        written = await copy_bookings(conn, rows, now=now)
        # Seeded bookings from three days ahead: past any cancellation deadline a place sets
        # by default, and each by a user with a token (seed() makes users in token order).
        token_of = {user: n for n, user in enumerate(users)}
        future = await conn.fetch(
            "SELECT id, booker_user_id FROM booking WHERE starts_at > $1 ORDER BY id",
            now + timedelta(days=3),
        )
    finally:
        await conn.close()
    await analyze(url)
    cancellable = [(row[0], token_of[row[1]]) for row in future]
    random.Random(18).shuffle(cancellable)
    return Seeded(
        resources,
        places,
        machines,
        rooms_and_pools,
        tokens,
        cancellable,
        written,
        time.monotonic() - began,
    )


def read_paths(seeded: Seeded, today: date) -> dict[str, list[str]]:
    """The GETs of each read operation, in a fixed shuffled order."""
    shuffle = random.Random(5).shuffle
    weeks = [
        f"/api/resources/{r}/availability?from={d}&to={d + timedelta(days=7)}"
        for r in seeded.resources
        for d in (today + timedelta(days=1), today + timedelta(days=8))
    ]
    days = [
        f"/api/places/{p}/availability?date={today + timedelta(days=n)}"
        for p in seeded.places
        for n in range(1, 15)
    ]
    searches = []
    for town, _ in TOWNS:
        for n in range(1, 15):
            for hour in (9, 11, 14, 16):
                local = datetime.combine(today + timedelta(days=n), datetime.min.time())
                starts = (local + timedelta(hours=hour)).replace(tzinfo=PARIS).astimezone(UTC)
                ends = starts + timedelta(hours=2)
                searches.append(
                    f"/api/availability/search?town={town}"
                    f"&starts_at={starts:%Y-%m-%dT%H:%M:%SZ}&ends_at={ends:%Y-%m-%dT%H:%M:%SZ}"
                )
    for paths in (weeks, days, searches):
        shuffle(paths)
    return {"resource week": weeks, "place day": days, "town search": searches}


@dataclass(frozen=True)
class Phase:
    """Where one run of the mix (the warm-up or the timed one) books, so none meets another."""

    booking_from: datetime
    booking_until: datetime
    booking_slots: int
    series_day: date
    series_until: date
    series_slots: int
    cancellations: list[tuple[int, int]]


def phases(seeded: Seeded, free_day: date, warmup: int, seconds: int) -> tuple[Phase, Phase]:
    """The warm-up's slots, then the timed run's: machines' hours from ``free_day`` (past the
    seeded bookings), series blocks of WEEKS weeks from the same day, seeded bookings to
    cancel split in proportion to the seconds."""
    start = datetime.combine(free_day, datetime.min.time(), UTC)
    machines = len(seeded.machines)

    def hours(secs: int) -> int:
        return -(-BOOKING_RATE * (secs + 1) // machines)

    per_block = PLACES * 7 * len(SERIES_HOURS)
    share = len(seeded.cancellable) * warmup // (warmup + seconds)
    middle = start + timedelta(hours=hours(warmup))
    warm = Phase(
        start,
        middle,
        hours(warmup) * machines,
        free_day,
        free_day + timedelta(weeks=WEEKS),
        per_block,
        seeded.cancellable[:share],
    )
    timed = Phase(
        middle,
        middle + timedelta(hours=hours(seconds)),
        hours(seconds) * machines,
        warm.series_until,
        warm.series_until + timedelta(weeks=WEEKS * SERIES_BLOCKS),
        per_block * SERIES_BLOCKS,
        seeded.cancellable[share:],
    )
    last = max(timed.booking_until.date(), timed.series_until)
    if last > datetime.now(UTC).date() + timedelta(days=HORIZON_DAYS - 2):
        raise SystemExit("the run phases need more days than the booking horizon holds")
    return warm, timed


async def stored_by(url: str, phase: Phase) -> int:
    """Bookings the service stored in ``phase``'s own slots: single bookings of its hours,
    and the dates of its series (each phase books where no other does, see :func:`phases`)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM booking WHERE reference LIKE 'MLB-%' AND ("
            " (series_id IS NULL AND starts_at >= $1 AND starts_at < $2)"
            " OR (series_id IS NOT NULL AND starts_at >= $3 AND starts_at < $4))",
            phase.booking_from,
            phase.booking_until,
            # Series start between 07:00 and 20:00 in Paris: inside their UTC days.
            datetime.combine(phase.series_day, datetime.min.time(), UTC),
            datetime.combine(phase.series_until, datetime.min.time(), UTC),
        )
    finally:
        await conn.close()
    return found


def alone(
    url: str, seeded: Seeded, paths: dict[str, list[str]], warm: Phase, timed: Phase
) -> dict[str, tuple[int, float]]:
    """Each operation once, in process, after one untimed request of its kind: the SQL
    statements it sent (``harness.sql_log``) and its wall time in ms.

    Writes use slots no run reached: the warm-up's last hour of the last two machines and its
    last two series (the last place's, 20:00 on the block's seventh day), and the last two
    bookings the timed run could have cancelled.
    """
    token = {"Authorization": f"Bearer {seeded.tokens[0]}"}
    hour = warm.booking_until - timedelta(hours=1)
    series_day = warm.series_day + timedelta(days=6)
    found: dict[str, tuple[int, float]] = {}

    def booking(n: int) -> tuple[str, dict[str, object], dict[str, str]]:
        body: dict[str, object] = {
            "items": [{"resource_id": seeded.machines[-1 - n], "quantity": 1}],
            "starts_at": hour.isoformat(),
            "ends_at": (hour + timedelta(hours=1)).isoformat(),
        }
        return "/api/bookings", body, {**token, "Idempotency-Key": uuid.uuid4().hex}

    def series(n: int) -> tuple[str, dict[str, object], dict[str, str]]:
        room, pool = seeded.rooms_and_pools[-1 - n]
        body: dict[str, object] = {
            "items": [
                {"resource_id": room, "quantity": 1},
                {"resource_id": pool, "quantity": SEATS},
            ],
            "rule": f"FREQ=WEEKLY;COUNT={WEEKS}",
            "first_date": series_day.isoformat(),
            "start_time": f"{SERIES_HOURS[-1]:02d}:00",
            "duration_minutes": 60,
        }
        return "/api/series", body, {**token, "Idempotency-Key": uuid.uuid4().hex}

    def cancellation(n: int) -> tuple[str, dict[str, object], dict[str, str]]:
        booking_id, owner = timed.cancellations[-1 - n]
        headers = {"Authorization": f"Bearer {seeded.tokens[owner]}"}
        return f"/api/bookings/{booking_id}/cancel", {"reason": "banc de charge"}, headers

    async def run() -> None:
        async with AsyncTestClient(in_process_app(url)) as client:
            for name in READS:
                await client.get(paths[name][-1])
                began = time.perf_counter()
                with sql_log() as seen:
                    answer = await client.get(paths[name][0])
                found[name] = len(seen), (time.perf_counter() - began) * 1000
                assert answer.status_code == 200, answer.text
            writes = {"booking": booking, "series": series, "cancellation": cancellation}
            for name, make in writes.items():
                path, body, headers = make(1)
                await client.post(path, json=body, headers=headers)
                path, body, headers = make(0)
                began = time.perf_counter()
                with sql_log() as seen:
                    answer = await client.post(path, json=body, headers=headers)
                found[name] = len(seen), (time.perf_counter() - began) * 1000
                assert answer.status_code in (200, 201), answer.text

    asyncio.run(run())
    return found


def start_mix(
    base: str, seeded: Seeded, paths: dict[str, list[str]], phase: Phase, seconds: int
) -> dict[str, wrk.Running]:
    """One wrk per operation, all started at once; one thread each."""
    scripts = {
        **{name: wrk.get_script(paths[name]) for name in READS},
        "booking": wrk.post_script(
            seeded.machines, seeded.tokens, phase.booking_from, phase.booking_slots, 1
        ),
        "series": wrk.series_script(
            seeded.rooms_and_pools,
            SEATS,
            seeded.tokens,
            phase.series_day,
            WEEKS,
            SERIES_HOURS,
            phase.series_slots,
            1,
        ),
        "cancellation": wrk.cancel_script(
            phase.cancellations, seeded.tokens, 1, run=f"cancel-{phase.series_day}"
        ),
    }
    return {
        name: wrk.start(base, script, CONNECTIONS[name], seconds, threads=1)
        for name, script in scripts.items()
    }


def report(
    results: dict[str, wrk.WrkResult], seconds: int, say: Callable[[str], None]
) -> tuple[bool, float, int]:
    """Print each operation's line; whether each got only 2xx, the overall rate, errors."""
    total = sum(r.requests for r in results.values())
    errors = sum(n for r in results.values() for code, n in r.statuses.items() if code // 100 != 2)
    overall = sum(r.rate for r in results.values())
    for name, result in results.items():
        share = result.requests / total * 100 if total else 0.0
        say(
            result.line(f"{name} ({CONNECTIONS[name]} conns)")
            + f"  {share:4.1f}% of requests, {tail(result.p50, result.p99)}"
        )
    say(f"overall: {overall:,.1f} req/s ({total} requests in {seconds} s), non-2xx {errors}")
    overflow = {n: r.overflow for n, r in results.items() if r.overflow}
    if overflow:
        say(f"WRONG: requests past the slots planned for the run: {overflow} (the bench's limit)")
    return errors == 0 and not overflow, overall, errors


def main() -> int:
    """Seed, run the mix, check the database; non-zero exit on an error, overlap or lost job."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200_000, help="bookings to seed")
    parser.add_argument("--seconds", type=int, default=60, help="length of the timed mix")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of untimed mix first")
    parser.add_argument(
        "--pool", type=int, default=POOL, help="database connections per worker (as many overflow)"
    )
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.bookings, args.seconds, args.warmup = 10_000, 8, 2
    args.bookings = max(1_000, min(args.bookings, 2_000_000))
    args.seconds, args.warmup = max(1, args.seconds), max(1, args.warmup)
    if not wrk.available():
        print("mixed.py needs wrk (Debian's package: apt-get install wrk)", file=sys.stderr)
        return 2
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    with fresh_database("mutualab_mixed") as (_, url):
        context = machine(url)
        for line in context:
            print(line)
        seeded = asyncio.run(seed_year(url, args.bookings))
        say(
            f"seeded {seeded.written} bookings over {PLACES} places, {len(seeded.resources)} "
            f"resources (rooms and {SEATS}-seat pools included) in {seeded.seconds:.0f} s "
            f"(places, COPY, indexes rebuilt, VACUUM ANALYZE)"
        )
        today = datetime.now(UTC).astimezone(PARIS).date()
        free_day = (datetime.now(UTC) + SEEDED_AHEAD + timedelta(days=2)).date()
        warm, timed = phases(seeded, free_day, args.warmup, args.seconds)
        paths = read_paths(seeded, today)
        say(
            f"server: mutualab serve --workers {WORKERS} (uvicorn), {args.pool} database "
            f"connections per worker (+{args.pool} overflow); wrk -t1 per operation"
        )
        with served(url, WORKERS, args.pool) as (base, _):
            for running in start_mix(base, seeded, paths, warm, args.warmup).values():
                running.result()
            time.sleep(2)  # requests wrk left in flight finish before the timed run
            say(f"after the warm-up: {load_now()}")
            logged = log_size()
            started = start_mix(base, seeded, paths, timed, args.seconds)
            results = {name: running.result() for name, running in started.items()}
        # The server is stopped: requests left in flight when wrk stopped are over.
        say(f"after the run: {load_now()}")
        ok, overall, errors = report(results, args.seconds, say)
        for problem in log_problems(logged):
            say(f"server log: {problem}")
        # After the timed run, so it weighs on no timing: what one request of each costs alone.
        costs = alone(url, seeded, paths, warm, timed)
        say(
            "one request alone, in process (SQL statements, BEGIN/COMMIT included; ms): "
            + ", ".join(f"{name} {n} ({ms:.0f} ms)" for name, (n, ms) in costs.items())
        )
        found = asyncio.run(overlaps(url))
        made, queued, missing, orphans = asyncio.run(booked_and_queued(url))
        answered = results["booking"].statuses.get(201, 0) + WEEKS * results["series"].statuses.get(
            201, 0
        )
        say(f"overlapping active unit ranges: {found} (must be 0)")
        say(jobs_line(made, queued, missing, orphans))
        # wrk stops on the clock: requests in flight then may still book, unanswered (at most
        # one per connection, a series for WEEKS).
        in_flight = CONNECTIONS["booking"] + WEEKS * CONNECTIONS["series"]
        stored = asyncio.run(stored_by(url, timed))
        say(
            f"bookings stored by the timed run {stored}, 201 answers say {answered} "
            f"(single bookings + {WEEKS} per series; more stored by at most {in_flight}: "
            "requests in flight when wrk stopped)"
        )
        say(verdict("overall throughput", overall, MIN_RATE, " req/s", most=False))
        for name, limit in [*((n, READ_P99) for n in READS), *((n, BOOKING_P99) for n in WRITES)]:
            if results[name].requests:
                say(verdict(f"{name} p99", results[name].p99, limit, " ms"))
            else:
                say(f"FAIL {name} p99: no answer within the run (target <= {limit:g} ms)")
        say(verdict("errors (non-2xx, socket errors)", errors, 0))
        say(verdict("overlaps", found, 0))
        jobs_ok = made == queued and not missing and not orphans
        say(f"{'PASS' if jobs_ok else 'FAIL'} jobs enqueued = bookings made")
        stored_ok = answered <= stored <= answered + in_flight
        say(f"{'PASS' if stored_ok else 'FAIL'} bookings stored = 201 answers (+ those in flight)")
        ok = ok and not found and jobs_ok and stored_ok
        # The exit status is about what must never happen; the targets are the PASS/FAIL lines.
        say(
            "result: OK (no error, no overlap, a job per booking)"
            if ok
            else "result: FAILED (errors, overlaps or jobs: see above)"
        )
        if args.record:
            parameters = (
                f"{seeded.written} bookings seeded, {PLACES} places, 2 workers (pool {args.pool}+"
                f"{args.pool}), "
                f"wrk -t1 per operation, connections {CONNECTIONS}, {args.warmup} s warm-up, "
                f"{args.seconds} s timed"
            )
            record("mixed.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
