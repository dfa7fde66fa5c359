"""A private iCalendar feed of 1,000 bookings: the real path against the bare ics library.

Two parts:

* served (default): a fresh PostgreSQL database with one user owning EVENTS bookings (COPY,
  bench/bulk.py), ``mutualab serve --workers 1``, a private feed created through the API
  (``POST /api/me/calendar-feed``); times ``GET /calendar/feeds/{token}/bookings.ics`` (the first
  GET, the per-event cache cold, then the best and median of RUNS more), the in-process
  generation (``FeedService.private_feed`` on a real session: query, read models, render), and
  ``render_calendar`` against serialising the same events with the ``ics`` library alone;
* render only: synthetic bookings, ``render_calendar`` cold and warm against ``ics`` alone
  (no database; ``--render-only`` runs just this part).

Run: cd /work/main && .venv/bin/python bench/bench_calendar.py [--render-only] [--record]
Traffic goes to 127.0.0.1 only; under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import ics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.bulk import copy_bookings, spread
from bench.harness import (
    add_common_arguments,
    dsn,
    fresh_database,
    machine,
    record,
    served,
    verdict,
)
from booking.calendar import CalendarEvent, EventStatus, render_calendar
from booking.feeds.repository import FeedRepository
from booking.feeds.service import FeedService
from kernel.auth.tokens import digest
from kernel.clock import system_clock
from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import build_runtime
from resources.repository import CatalogueRepository
from resources.service import CatalogueService
from tests.support.served import seed

EVENTS = 1_000
RUNS = 7
MAX_RATIO = 1.5  # the target for the feed against the ics library alone
FEED_NAME = "Mutualab — mes réservations"
PARIS = ZoneInfo("Europe/Paris")
PLACES = [
    ("Fablab du Trégor", "12 rue de la Paix, 22300 Lannion", "contact@fablab-tregor.example"),
    ("Médiathèque Les Capucins", "25 rue de Pontaniou, 29200 Brest", "accueil@capucins.example"),
    ("Tiers-lieu L'Établi", "3 place de l'Église, 35000 Rennes", "bonjour@etabli.example"),
]
RESOURCES = [
    "Découpeuse laser",
    "Imprimante 3D Prusa MK4",
    "Salle de réunion « Atelier »",
    "Poste CAO (licence Fusion 360)",
    "Brodeuse numérique",
]
CONFIRMED: EventStatus = "CONFIRMED"
STATUSES: list[EventStatus] = [*([CONFIRMED] * 8), "TENTATIVE", "CANCELLED"]


def make_events(count: int, seed: int, run: int = 0) -> list[CalendarEvent]:
    """Build `count` realistic bookings over a year; `run` makes their UIDs distinct."""
    rng = random.Random(seed)
    first_day = datetime(2026, 1, 5, tzinfo=PARIS)
    events = []
    for number in range(count):
        place, address, email = rng.choice(PLACES)
        resource = rng.choice(RESOURCES)
        start = first_day + timedelta(days=rng.randrange(365), hours=rng.randrange(8, 19))
        length = timedelta(minutes=30 * rng.randrange(1, 9))
        reference = f"R-2026-{number:05d}"
        events.append(
            CalendarEvent(
                uid=f"booking-{run}-{number}@mutualab.example",
                sequence=rng.randrange(4),
                summary=f"{resource} — {place}",
                starts_at=start,
                ends_at=start + length,
                stamp=datetime(2025, 12, 1, tzinfo=UTC) + timedelta(minutes=number),
                status=rng.choice(STATUSES),
                location=f"{place}, {address}",
                description=(
                    f"Réservation {reference} ; {resource}, {length.seconds // 60} min\n"
                    f"Gérer : https://mutualab.example/bookings/{number}"
                ),
                url=f"https://mutualab.example/bookings/{number}",
                organizer_name=place,
                organizer_email=email,
            )
        )
    return events


def as_ics_calendar(events: list[CalendarEvent]) -> str:
    """Serialise the same bookings with the ics library alone (no fixes, no folding)."""
    calendar = ics.Calendar(creator="-//Mutualab//Mutualab//FR")
    for event in events:
        calendar.events.add(
            ics.Event(
                name=event.summary,
                begin=event.starts_at,
                end=event.ends_at,
                uid=event.uid,
                created=event.stamp,
                location=event.location,
                description=event.description,
                url=event.url,
                status=event.status,
                transparent=False,
                organizer=ics.Organizer(event.organizer_email, event.organizer_name),
            )
        )
    return str(calendar.serialize())


def best_ms(action: Callable[[int], object], runs: int = RUNS) -> float:
    """Best wall time of ``runs`` calls, in milliseconds; the call gets the run index."""
    times = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


async def timed_ms(action: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """Wall times of ``runs`` awaited calls, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def render_only(say: Callable[[str], None]) -> None:
    """Cold, warm and ics-only timings for synthetic bookings (no database)."""
    # Fresh UIDs per cold run so that the per-event cache of booking.calendar never hits.
    cold_sets = [make_events(EVENTS, seed=1, run=run + 1) for run in range(RUNS)]
    events = make_events(EVENTS, seed=1)
    feed = render_calendar(events, name="Fablab du Trégor")

    cold = best_ms(lambda run: render_calendar(cold_sets[run], name="Fablab du Trégor"))
    warm = best_ms(lambda run: render_calendar(events, name="Fablab du Trégor"))
    bare = best_ms(lambda run: as_ics_calendar(events))

    identical = render_calendar(list(reversed(events)), name="Fablab du Trégor") == feed
    say(f"render only: {EVENTS} synthetic events, best of {RUNS} runs, ics {ics.__version__}")
    say(f"feed size: {len(feed.encode()) / 1024:.0f} KiB, deterministic: {identical}")
    say(f"ics library alone (Event + Calendar.serialize): {bare:8.1f} ms")
    long_lines = sum(len(line.encode()) > 75 for line in as_ics_calendar(events).split("\r\n"))
    say(f"  (its output: {long_lines} lines over 75 octets, no SEQUENCE, order not by start)")
    say(f"render_calendar, cold cache:                    {cold:8.1f} ms  ({cold / bare:.2f}x ics)")
    say(f"render_calendar, warm cache (next poll):        {warm:8.1f} ms  ({warm / bare:.2f}x ics)")
    say(f"per event: cold {cold / EVENTS * 1000:.0f} µs, warm {warm / EVENTS * 1000:.1f} µs")


async def seed_feed_owner(url: str, count: int) -> str:
    """One user owning ``count`` bookings inside the feed window; their API token."""
    printer, _, tokens = await seed(url, 1)
    conn = await asyncpg.connect(dsn(url))
    try:
        place, unit, user = await conn.fetchrow(
            "SELECT r.place_id, u.id, (SELECT min(id) FROM user_account)"
            " FROM resource r JOIN resource_unit u ON u.resource_id = r.id WHERE r.id = $1",
            printer,
        )
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        # Two-hour bookings from 30 days ago, every 8 hours (closer for big feeds), all inside
        # the feed's window (3 months back, 12 ahead).
        every = timedelta(hours=max(3, min(8, 390 * 24 // count)))
        rows = spread(
            [(place, printer, unit)],
            [user],
            count,
            now - timedelta(days=30),
            every,
            timedelta(hours=2),
        )
        await copy_bookings(conn, rows, now=now)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return tokens[0]


async def feed_over_http(base: str, token: str) -> tuple[str, str, float, list[float]]:
    """Create the private feed through the API; its token, its body, the first GET and RUNS
    more (ms)."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        created = await http.post(
            "/api/me/calendar-feed", headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        path = "/" + created.json()["url"].split("/", 3)[3]
        feed_token = path.split("/")[3]
        started = time.perf_counter()
        first = await http.get(path)
        first_ms = (time.perf_counter() - started) * 1000
        assert first.status_code == 200, first.text

        async def get() -> None:
            answer = await http.get(path)
            assert answer.status_code == 200, answer.text

        return feed_token, first.text, first_ms, await timed_ms(get, RUNS)


async def in_process(url: str, feed_token: str) -> tuple[list[float], list[CalendarEvent]]:
    """FeedService.private_feed on a real session, timed; and the events it renders."""
    database = Database.connect(url, pool_size=2)
    settings = Settings(database_url=url)
    runtime = build_runtime(settings, database, system_clock)
    try:
        async with database.reader() as session:
            catalogue = CatalogueService(CatalogueRepository(session))
            bookings = runtime.booking.bookings(session)
            feeds = FeedService(
                FeedRepository(session), bookings, catalogue, settings, system_clock
            )
            times = await timed_ms(lambda: feeds.private_feed(feed_token, None, None), RUNS)
            # The events exactly as the feed builds them (its private step, called here on
            # purpose), for the ics-alone comparison.
            feed = await feeds.repo.by_token_digest(digest(feed_token))
            assert feed is not None
            lower, upper = feeds.window(None, None)
            rows = await feeds.repo.bookings(
                start=lower, end=upper, ended_since=lower, user_id=feed.user_id
            )
            events = await feeds._events(await bookings.reads(rows), busy_only=False)
    finally:
        await runtime.close()
        await database.dispose()
    return times, events


def served_feed(args: argparse.Namespace, say: Callable[[str], None]) -> list[str]:
    """The real path: seeded database, served app, private feed; the machine context."""
    with fresh_database("mutualab_calendar") as (_, url):
        context = machine(url)
        for line in context:
            print(line)
        token = asyncio.run(seed_feed_owner(url, args.events))
        with served(url, 1) as (base, _):
            feed_token, body, first_ms, warm_ms = asyncio.run(feed_over_http(base, token))
        process_ms, events = asyncio.run(in_process(url, feed_token))
    count = body.count("BEGIN:VEVENT")
    warm, best = statistics.median(warm_ms), min(process_ms)
    say(f"served: private feed of {count} bookings ({len(body.encode()) / 1024:.0f} KiB)")
    say(f"HTTP GET, first (cold per-event cache):  {first_ms:8.1f} ms")
    say(f"HTTP GET, next {RUNS} (warm), median:        {warm:8.1f} ms (best {min(warm_ms):.1f})")
    say(f"in process, FeedService.private_feed:    {best:8.1f} ms (best of {RUNS}; query + render)")
    bare_ms = best_ms(lambda run: as_ics_calendar(events))
    mine = best_ms(lambda run: render_calendar(events, name=FEED_NAME))
    say(f"same events, ics library alone:          {bare_ms:8.1f} ms")
    say(f"same events, render_calendar (warm):     {mine:8.1f} ms")
    say(
        f"ratios to ics alone: HTTP GET {warm / bare_ms:.2f}x, in process {best / bare_ms:.2f}x, "
        f"render_calendar {mine / bare_ms:.2f}x"
    )
    # The target: a year's feed of 1,000 bookings in at most 1.5 x what ics alone
    # needs for the same events; the served GET (what a calendar client waits for) and the
    # generation in process (query, read models, render).
    say(
        verdict(
            f"feed time / ics time, {count} bookings, HTTP GET",
            warm / bare_ms,
            MAX_RATIO,
            "x",
            digits=2,
        )
    )
    say(
        verdict(
            f"feed time / ics time, {count} bookings, in process",
            best / bare_ms,
            MAX_RATIO,
            "x",
            digits=2,
        )
    )
    if count != args.events:
        say(f"WRONG: the feed holds {count} events, not {args.events}")
    return context


def main() -> int:
    """Print the figures; non-zero exit if the feed did not hold every booking."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="bookings in the feed")
    parser.add_argument("--render-only", action="store_true", help="no database, no server")
    add_common_arguments(parser)
    args = parser.parse_args()
    args.events = max(1, min(args.events, 3_000))
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    say(f"Python {sys.version.split()[0]}, ics {ics.__version__}")
    context = machine() if args.render_only else served_feed(args, say)
    if args.render_only:
        for line in context:
            print(line)
    render_only(say)
    ok = not any(line.startswith("WRONG") for line in figures)
    if args.record:
        parameters = f"{args.events} bookings in the served feed, best of {RUNS} runs"
        record("bench_calendar.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
