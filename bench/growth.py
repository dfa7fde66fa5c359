"""How availability reads grow with the bookings stored: p99 at 10 k, 100 k and 1 M bookings.

Creates a fresh PostgreSQL database with the places and machines of ``availability.py`` (the
bench place: a printer, a 12-seat pool and 18 machines; a second place with the rest of 1,000
single-unit machines), then grows its history in stages: each stage COPYs the bookings that
bring the total to the next of STAGES (bench/bulk.py; two hours every 26 hours on every
machine), earlier in time than the stage before, so the weeks the reads ask for hold the same
bookings at every stage and only the history grows, as a place's does. After each stage:
VACUUM ANALYZE, ``mutualab serve --workers 2``, and wrk on each read for SECONDS seconds at
CONNECTIONS connections (a resource's week, a place's day, the week of a different machine
at each request), each after WARMUP seconds untimed on four connections. Prints the p99 of
each read per stage, with a CPU probe and the load average beside each stage, and the ratio
of the largest p99 to the smallest (the issue's target: within 20 %, so at most 1.2; printed
as PASS/FAIL, not asserted).

Run: cd /work/main && .venv/bin/python bench/growth.py [--stages 10000,100000,1000000] [--record]
Traffic goes to 127.0.0.1 only; every wrk run stops after its seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench import wrk
from bench.availability import EVERY, Target, seed_bookings, seed_places
from bench.harness import (
    add_common_arguments,
    analyze,
    fresh_database,
    load_now,
    machine,
    record,
    served,
    tail,
    verdict,
)

STAGES = (10_000, 100_000, 1_000_000)
QUICK_STAGES = (1_000, 10_000, 100_000)
WORKERS = 2
CONNECTIONS = 32
WARMUP = 3  # seconds of untimed reads before each timed one
MAX_RATIO = 1.2  # the target: p99 flat within 20 %
# The newest stage ends this far ahead, so it covers the weeks the reads ask for (a week from
# a week ahead, availability.Target).
AHEAD = timedelta(days=16)


def reads(target: Target) -> dict[str, list[str]]:
    """The GETs of each read, as availability.py times them."""
    return {
        "resource week": [target.week()],
        "place day": [target.place_day()],
        "week, machines in turn": target.weeks(),
    }


def main() -> int:
    """Seed stage by stage, time the reads after each; non-zero exit if a read was not 200."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stages",
        default=",".join(str(n) for n in STAGES),
        help="total bookings after each stage, comma-separated, growing",
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per read and stage")
    add_common_arguments(parser)
    args = parser.parse_args()
    stages = [int(n) for n in args.stages.split(",")]
    if args.quick:
        stages, args.seconds = list(QUICK_STAGES), 3
    if stages != sorted(set(stages)) or stages[0] < 1_000 or stages[-1] > 5_000_000:
        parser.error("--stages: growing totals between 1000 and 5000000")
    if not wrk.available():
        print("growth.py needs wrk (Debian's package: apt-get install wrk)", file=sys.stderr)
        return 2
    figures: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        figures.append(line)

    ok = True
    p99s: dict[str, list[float]] = {}
    with fresh_database("mutualab_growth") as (_, url):
        context = machine(url)
        for line in context:
            print(line)
        target, units, users = asyncio.run(seed_places(url))
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        # Each stage's bookings end where the newer stage's begin: no unit is booked twice.
        end, stored = now + AHEAD, 0
        for total in stages:
            per_unit = (total - stored) // len(units)
            first = end - per_unit * EVERY
            began = time.monotonic()
            stored += asyncio.run(seed_bookings(url, units, users, per_unit, first))
            asyncio.run(analyze(url))
            end = first
            say(
                f"{stored:,} bookings (+{per_unit} per machine, COPY and ANALYZE in "
                f"{time.monotonic() - began:.0f} s); {load_now()}"
            )
            with served(url, WORKERS) as (base, _):
                for name, paths in reads(target).items():
                    # An untimed run first, on few connections: each worker's first request
                    # to a place loads its catalogue copy, and 32 at once to the far place
                    # (982 machines) all load it together (seen: no answer within 4 s).
                    wrk.start(base, wrk.get_script(paths), WORKERS * 2, WARMUP).result()
                    found = wrk.get_each(base, paths, CONNECTIONS, args.seconds)
                    say("  " + found.line(f"{name}") + f"  {tail(found.p50, found.p99)}")
                    p99s.setdefault(name, []).append(found.p99)
                    ok = ok and found.only(200)
        say(f"p99 (ms) by bookings stored, {WORKERS} workers, {CONNECTIONS} connections:")
        say(f"  {'bookings':<26}" + "".join(f"{n:>12,}" for n in stages) + "   max/min")
        for name, series in p99s.items():
            ratio = max(series) / min(series) if min(series) else float("inf")
            say(f"  {name:<26}" + "".join(f"{v:12.1f}" for v in series) + f"   {ratio:7.2f}")
        for name, series in p99s.items():
            ratio = max(series) / min(series) if min(series) else float("inf")
            say(verdict(f"{name} p99 max/min", ratio, MAX_RATIO, digits=2))
        say("result: OK (every read 200)" if ok else "result: FAILED (see statuses)")
        if args.record:
            parameters = (
                f"stages {', '.join(f'{n:,}' for n in stages)} bookings, {len(units)} machines, "
                f"{WORKERS} workers, wrk -t2 -c{CONNECTIONS} for {args.seconds} s per read "
                f"after {WARMUP} s untimed on {WORKERS * 2} connections"
            )
            record("growth.py", context, parameters, figures, args.note)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
