"""Time a 1,000-event iCalendar feed: booking.calendar against the bare ics library.

Run: cd /work/main && .venv/bin/python bench/bench_calendar.py
Prints figures only; a few seconds on a 2-core machine.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import ics  # type: ignore[import-untyped]

from booking.calendar import CalendarEvent, EventStatus, render_calendar

EVENTS = 1_000
RUNS = 7
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
STATUSES: list[EventStatus] = ["CONFIRMED"] * 8 + ["TENTATIVE", "CANCELLED"]


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


def best_ms(action: Callable[[int], object]) -> float:
    """Best wall time of RUNS calls, in milliseconds; the call gets the run index."""
    times = []
    for run in range(RUNS):
        started = time.perf_counter()
        action(run)
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def main() -> None:
    """Print cold, warm and ics-only timings for one feed of EVENTS bookings."""
    # Fresh UIDs per cold run so that the per-event cache of booking.calendar never hits.
    cold_sets = [make_events(EVENTS, seed=1, run=run + 1) for run in range(RUNS)]
    events = make_events(EVENTS, seed=1)
    feed = render_calendar(events, name="Fablab du Trégor")

    cold = best_ms(lambda run: render_calendar(cold_sets[run], name="Fablab du Trégor"))
    warm = best_ms(lambda run: render_calendar(events, name="Fablab du Trégor"))
    bare = best_ms(lambda run: as_ics_calendar(events))

    identical = render_calendar(list(reversed(events)), name="Fablab du Trégor") == feed
    python = sys.version.split()[0]
    print(f"{EVENTS} events, best of {RUNS} runs, Python {python}, ics {ics.__version__}")
    print(f"feed size: {len(feed.encode()) / 1024:.0f} KiB, deterministic: {identical}")
    print(f"ics library alone (Event + Calendar.serialize): {bare:8.1f} ms")
    long_lines = sum(len(line.encode()) > 75 for line in as_ics_calendar(events).split("\r\n"))
    print(f"  (its output: {long_lines} lines over 75 octets, no SEQUENCE, order not by start)")
    print(
        f"render_calendar, cold cache:                    {cold:8.1f} ms  ({cold / bare:.2f}x ics)"
    )
    print(
        f"render_calendar, warm cache (next poll):        {warm:8.1f} ms  ({warm / bare:.2f}x ics)"
    )
    print(f"per event: cold {cold / EVENTS * 1000:.0f} µs, warm {warm / EVENTS * 1000:.1f} µs")


if __name__ == "__main__":
    main()
