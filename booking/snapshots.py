"""What a booking checks of a place, kept in memory while the catalogue does not change.

Every booking reads the same catalogue rows: the place, its resources and units, its booking
policies, opening hours and exceptions. They change a few times a week; bookings come many
times a second. Database triggers move one counter (:class:`resources.models.CatalogueRevision`)
in the transaction of every change to those tables, so a worker keeps a copy per place and
trusts it while the counter it reads first in its own transaction has not moved: one small
read instead of six. The counter is read *before* the rows are loaded, so a copy can only be
labelled older than what it holds (then it is reloaded once), never newer.

The copies are detached, never added to a session and never changed: the booking domain
reads them. They hold the resources' blackouts too (the triggers watch that table as well),
so a booking reads no catalogue row but the counter.

Computed availability is kept beside them (:class:`SlotMemo`), keyed by everything it is
computed from, the rows read in the request's own transaction included.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar, cast

from sqlalchemy import inspect
from sqlmodel import SQLModel

from booking.availability import SlotRules
from booking.models import BookingPolicy
from booking.rules import EffectivePolicy, effective_policy, slot_rules
from booking.schemas import SlotRead
from resources.models import Place, Resource, ResourceUnit
from resources.repository import FoundResource
from resources.schedule import DayException, Span, WeeklyOpening
from resources.service import open_spans_of

MAX_PLACES = 2_000  # copies kept per worker; the least recently used goes first
# Computed availabilities kept per worker, one resource's local day each, bounded by answers
# and by slots (about 170 bytes each, so ~40 MB): a term opening reads every place's next
# fortnight, a few thousand resource-days that weeks and places' days share; at 512 answers
# they pushed each other out and were computed again and again (bench/mixed.py).
MAX_SLOT_ANSWERS = 16_384
MAX_KEPT_SLOTS = 250_000
MAX_OPEN_RANGES = 64  # opening spans kept per copy (a few hundred bytes each)
# Searches' findings kept per worker: the towns, kinds and words people search a region for.
# Each holds at most 200 resources (MAX_SEARCH_RESOURCES), about 50 kB: 26 MB at most.
MAX_SEARCH_ANSWERS = 512

_Row = TypeVar("_Row", bound=SQLModel)


def detached(row: _Row) -> _Row:
    """A copy of a loaded row that belongs to no session.

    Built as SQLAlchemy's loader builds a row: a new instance of the class, given the loaded
    values as they are. Validating every field again (``model_validate(row.model_dump())``)
    cost about 100 µs a row, eight times this: a worker's first read of a place with a
    thousand machines stalled its event loop for a third of a second (bench/growth.py). The
    values are shared with the row, which is safe as the copied tables hold scalars only.
    """
    copy = inspect(row).mapper.class_manager.new_instance()
    copy.__dict__.update(
        (name, value) for name, value in vars(row).items() if name != "_sa_instance_state"
    )
    return cast("_Row", copy)


@dataclass(frozen=True, slots=True)
class PlaceSnapshot:
    """A place's catalogue as of one revision: active resources and their active units."""

    revision: int
    place: Place
    resources: dict[int, Resource]
    units: dict[int, list[ResourceUnit]]
    policies: list[BookingPolicy]
    weekly: list[WeeklyOpening]
    exceptions: list[DayException]
    blackouts: dict[int, list[Span]]  # by resource id, each by start
    # Opening spans already worked out, by local date range: bookings of a day ask again and
    # again, and working them out (holidays, time zone) cost a booking ~3% of its time.
    _open: dict[tuple[date, date], list[Span]] = field(default_factory=dict, compare=False)
    # Each resource's rules for a kind of booker: every read and booking asks for them, and
    # working them out (policies matched field by field) cost a place's day 17 times a read.
    _rules: dict[tuple[int, str], tuple[EffectivePolicy, SlotRules]] = field(
        default_factory=dict, compare=False
    )
    # Each resource's unit ids: a town's search asks for them for every resource it finds,
    # and reading them off the rows goes through the ORM's instrumented attributes each time.
    _unit_ids: dict[int, tuple[int, ...]] = field(default_factory=dict, compare=False)

    def open_spans(self, first: date, last: date) -> list[Span]:
        """When the place is open on local dates [first, last), as UTC spans (do not change)."""
        spans = self._open.get((first, last))
        if spans is None:
            if len(self._open) >= MAX_OPEN_RANGES:
                self._open.clear()
            spans = self._open[first, last] = open_spans_of(
                self.place, self.weekly, self.exceptions, first, last
            )
        return spans

    def rules_for(self, resource_id: int, user_type: str) -> tuple[EffectivePolicy, SlotRules]:
        """The policy in effect for a resource of this copy and a kind of booker, and its slot
        rules (do not change)."""
        key = (resource_id, user_type)
        found = self._rules.get(key)
        if found is None:
            resource = self.resources[resource_id]
            policy = effective_policy(self.policies, resource, user_type)
            found = self._rules[key] = (policy, slot_rules(resource, policy))
        return found

    def unit_ids(self, resource_id: int) -> tuple[int, ...]:
        """The ids of a resource's active units in this copy."""
        found = self._unit_ids.get(resource_id)
        if found is None:
            found = tuple(u.id for u in self.units[resource_id] if u.id is not None)
            self._unit_ids[resource_id] = found
        return found

    def blackouts_between(
        self, resource_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[Span]]:
        """The blackouts of these resources overlapping [start, end), by start."""
        return {
            rid: [b for b in self.blackouts.get(rid, ()) if b.start < end and b.end > start]
            for rid in resource_ids
        }

    @property
    def dated(self) -> bool:
        """Whether a catalogue revision labels this copy (not so without the counter row, when
        it is -1): only then can what is computed from it be kept, as a change would show."""
        return self.revision >= 0

    def covers(self, resource_ids: Sequence[int]) -> bool:
        """Whether every resource asked for is an active resource of this place."""
        return all(rid in self.resources for rid in resource_ids)


class SlotMemo:
    """Computed slots of a resource, kept while what they are computed from does not change.

    The caller's key holds every input of the computation: the catalogue revision (hours,
    units, rules), the plan (the local day, the booker's rules, duration, units), the
    resource's blackouts and busy ranges that reach into that day, as just read in the
    request's transaction (booking.service.availability.shaping). A kept answer is
    therefore the answer a new computation would give; only the cut by the current time
    (notice, horizon) is made per request, as it changes by the second.
    """

    def __init__(
        self, max_answers: int = MAX_SLOT_ANSWERS, max_slots: int = MAX_KEPT_SLOTS
    ) -> None:
        self.max_answers = max_answers
        self.max_slots = max_slots
        self._answers: OrderedDict[Hashable, tuple[SlotRead, ...]] = OrderedDict()
        self._slots = 0  # slots held by the kept answers

    def find(self, key: Hashable) -> tuple[SlotRead, ...] | None:
        """The slots computed for ``key``, if kept."""
        slots = self._answers.get(key)
        if slots is not None:
            self._answers.move_to_end(key)
        return slots

    def keep(self, key: Hashable, slots: tuple[SlotRead, ...]) -> None:
        """Remember the slots computed for ``key``; the least recently used go first."""
        replaced = self._answers.get(key)
        if replaced is not None:
            self._slots -= len(replaced)
        self._answers[key] = slots
        self._answers.move_to_end(key)
        self._slots += len(slots)
        while len(self._answers) > self.max_answers or (
            self._slots > self.max_slots and len(self._answers) > 1
        ):
            _, dropped = self._answers.popitem(last=False)
            self._slots -= len(dropped)

    def __len__(self) -> int:
        return len(self._answers)


class FoundMemo:
    """The resources searches found, by what they asked, at one catalogue revision.

    What a search finds (resources of a kind, of a word, in a town, near a point) depends on
    the catalogue and the communes only: the triggers move the counter with any change to
    them, so the findings kept at the counter a request has just read are the ones a new
    query would return. Findings of another revision are dropped as soon as it is read.
    """

    def __init__(self, max_answers: int = MAX_SEARCH_ANSWERS) -> None:
        self.max_answers = max_answers
        self.revision: int | None = None
        self._answers: OrderedDict[Hashable, tuple[FoundResource, ...]] = OrderedDict()

    def find(self, revision: int, key: Hashable) -> tuple[FoundResource, ...] | None:
        """The resources found for ``key`` at ``revision``, if kept."""
        if revision != self.revision:
            return None
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
        return found

    def keep(self, revision: int, key: Hashable, found: Sequence[FoundResource]) -> None:
        """Remember what a search read after reading ``revision``; the least recently used
        go first. A newer revision forgets the others; an older one is not kept (a slower
        request that read it before a change)."""
        if self.revision is not None and revision < self.revision:
            return
        if revision != self.revision:
            self._answers.clear()
            self.revision = revision
        self._answers[key] = tuple(found)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_answers:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


class SnapshotCache:
    """Per-worker copies of place catalogues, looked up by resource id, computed slots and
    what searches found."""

    def __init__(self, max_places: int = MAX_PLACES) -> None:
        self.max_places = max_places
        self.slots = SlotMemo()
        self.found = FoundMemo()
        self._places: OrderedDict[int, PlaceSnapshot] = OrderedDict()
        self._place_of: dict[int, int] = {}  # resource id -> place id
        # Copies being read, by (place id, revision): the requests that want one meanwhile
        # wait for it instead of reading it too.
        self._loading: dict[tuple[int, int], asyncio.Future[PlaceSnapshot]] = {}
        # Held while a request finds which place resources of no kept copy are in, and reads
        # that place's copy (booking.copies.CatalogueCopies.of_resources); one per event loop,
        # as an asyncio lock belongs to the loop it first waited in.
        self._finding: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def load_once(
        self, place_id: int, revision: int, load: Callable[[], Awaitable[PlaceSnapshot]]
    ) -> PlaceSnapshot:
        """The copy of ``place_id`` at ``revision``, read by ``load`` once however many
        requests ask for it at the same time (the first one reads and keeps it, the others
        wait for it: after a catalogue change, a term's opening morning would otherwise read a
        big place's catalogue once per waiting request). A request whose reader failed reads
        it itself."""
        # Kept meanwhile: the caller looked for a copy, then awaited another read (which place,
        # which resources) while the request that read this one kept it.
        kept = self.find_place(place_id, revision)
        if kept is not None:
            return kept
        key = (place_id, revision)
        pending = self._loading.get(key)
        if pending is not None:
            with contextlib.suppress(Exception):  # its reader failed: read it ourselves
                return await asyncio.shield(pending)
        future: asyncio.Future[PlaceSnapshot] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            snapshot = await load()
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("stopped"))
            future.exception()  # retrieved: no warning when nobody was waiting
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        future.set_result(snapshot)
        self.keep(snapshot)
        return snapshot

    def finding(self) -> asyncio.Lock:
        """The lock under which unknown resources' place is found and its copy read."""
        loop = asyncio.get_running_loop()
        lock = self._finding.get(loop)
        if lock is None:
            lock = self._finding[loop] = asyncio.Lock()
        return lock

    def find(self, resource_ids: Sequence[int], revision: int) -> PlaceSnapshot | None:
        """The copy holding all these resources, if it is of ``revision``."""
        snapshot = self.latest(resource_ids)
        return snapshot if snapshot is not None and snapshot.revision == revision else None

    def latest(self, resource_ids: Sequence[int]) -> PlaceSnapshot | None:
        """The kept copy holding all these resources, whatever its revision: the caller must
        confirm the revision later in its transaction (see Bookings.create)."""
        place_id = self._place_of.get(resource_ids[0]) if resource_ids else None
        snapshot = self._places.get(place_id) if place_id is not None else None
        if place_id is None or snapshot is None or not snapshot.covers(resource_ids):
            return None
        self._places.move_to_end(place_id)
        return snapshot

    def find_place(self, place_id: int, revision: int) -> PlaceSnapshot | None:
        """The copy of a place, if it is of ``revision``."""
        snapshot = self.latest_of_place(place_id)
        return snapshot if snapshot is not None and snapshot.revision == revision else None

    def latest_of_place(self, place_id: int) -> PlaceSnapshot | None:
        """The kept copy of a place, whatever its revision: the caller must confirm it."""
        snapshot = self._places.get(place_id)
        if snapshot is not None:
            self._places.move_to_end(place_id)
        return snapshot

    def keep(self, snapshot: PlaceSnapshot) -> None:
        """Remember a fresh copy (replacing an older one of the same place)."""
        place_id = snapshot.place.id
        assert place_id is not None
        self._places[place_id] = snapshot
        self._places.move_to_end(place_id)
        self._place_of.update(dict.fromkeys(snapshot.resources, place_id))
        while len(self._places) > self.max_places:
            _, dropped = self._places.popitem(last=False)
            for rid in dropped.resources:
                if self._place_of.get(rid) == dropped.place.id:
                    del self._place_of[rid]
