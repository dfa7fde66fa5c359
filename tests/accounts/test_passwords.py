"""Password hashing runs off the event loop, a few hashes at a time."""

from __future__ import annotations

import asyncio

from accounts.passwords import Passwords

# Heavy enough that a hash takes a noticeable while, so the loop has a chance to turn.
HEAVY = {"time_cost": 2, "memory_kib": 16384}


async def test_the_event_loop_keeps_turning_while_a_password_is_hashed() -> None:
    hasher = Passwords(**HEAVY, concurrency=1)
    turns = 0
    hashing = True

    async def other_requests() -> None:
        nonlocal turns
        while hashing:
            turns += 1
            await asyncio.sleep(0)

    others = asyncio.create_task(other_requests())
    await asyncio.sleep(0)
    before = turns
    stored = await hasher.hash("violet-harbour-compass-42")
    during_hash = turns - before
    before = turns
    assert await hasher.verify(stored, "violet-harbour-compass-42")
    during_check = turns - before
    hashing = False
    await others
    # A hash computed on the loop would let nothing else run until it is done.
    assert during_hash > 0
    assert during_check > 0


async def test_a_burst_of_hashes_runs_a_few_at_a_time() -> None:
    hasher = Passwords(**HEAVY, concurrency=2)
    seen: set[int] = set()
    hashing = True

    async def watch() -> None:
        while hashing:
            seen.add(hasher.in_progress)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    hashes = await asyncio.gather(*(hasher.hash(f"password-number-{n}") for n in range(6)))
    hashing = False
    await watcher
    assert len(set(hashes)) == 6
    assert max(seen) == 2  # the burst queued behind the limit, never more at once
