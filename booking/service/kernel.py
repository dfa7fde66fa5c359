"""What the booking service's parts share: limits, request context, small helpers."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from booking.availability import Problem, SlotRules
from booking.models import (
    Booking,
)
from booking.rules import (
    EffectivePolicy,
    unit_slots,
)
from booking.schemas import (
    SlotRead,
)
from kernel.errors import (
    InvalidInputError,
)
from resources.models import Place, Resource, ResourceUnit
from resources.schedule import Span

MAX_AVAILABILITY_DAYS = 31
MAX_AGENDA_DAYS = 62
MAX_SEARCH_RESOURCES = 200
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_REFERENCE_ATTEMPTS = 5  # 32**6 references: a clash is rare, five in a row never happens
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Booker:
    """Who a booking is for: a user alone, or an organisation through one of its members."""

    user_id: int
    organisation_id: int | None
    user_type_code: str


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What the slots of one resource are computed over: its rules and the local window."""

    tz: ZoneInfo
    window: Span
    rules: SlotRules
    duration: timedelta
    quantity: int


@dataclass(slots=True)
class Context:
    """Catalogue data of one place and the requested resources over a time range."""

    place: Place
    tz: ZoneInfo
    resources: dict[int, Resource]
    units: dict[int, list[ResourceUnit]]
    policies: dict[int, EffectivePolicy]
    open_spans: list[Span]
    blackouts: dict[int, list[Span]]
    manager: bool
    # The revision of a kept catalogue copy used without reading the counter first: the unit
    # lock confirms it (then None) or the booking starts over from a fresh copy.
    unconfirmed_revision: int | None = None

    def buffer(self, resource_id: int) -> timedelta:
        """The cool-down after a booking of ``resource_id``."""
        return timedelta(minutes=self.resources[resource_id].buffer_minutes)

    def blocked_until(self, end: datetime, resource_ids: Iterable[int]) -> dict[int, datetime]:
        """Until when a booking ending at ``end`` holds each resource's units (cool-down)."""
        return {rid: end + self.buffer(rid) for rid in resource_ids}


Items = list[tuple[int, int]]  # (resource_id, quantity), sorted by resource id


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking just inserted, with what was decided for it."""

    booking: Booking
    items: Items
    units: dict[int, list[ResourceUnit]]  # units of each resource, at least those picked
    picked: dict[int, list[int]]  # resource id -> unit ids allocated


class _StaleCopy(Exception):
    """The kept catalogue copy a booking started from is older than the catalogue."""


def new_reference() -> str:
    """A short, random, human-friendly booking reference such as ``MLB-7K3Q9D``."""
    # One read of the system's randomness for the six characters (not one each): 256 is a
    # multiple of the alphabet's 32 letters, so every letter stays equally likely.
    return "MLB-" + "".join(_REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(6))


def _mixed_places() -> InvalidInputError:
    return InvalidInputError(
        "All the resources of a booking must belong to the same place.",
        field="items",
        code="mixed_places",
    )


def _problems(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [{"code": str(p.code), "detail": p.detail} for p in problems]


def _columns(row: object, model: type[BaseModel]) -> dict[str, Any]:
    # Attribute access (not model_dump) so that columns expired by a flush are loaded.
    key = (type(row), model)
    names = _SHARED_FIELDS.get(key)
    if names is None:
        # Columns are class attributes: asking each row would fail a lookup per other field.
        names = tuple(name for name in model.model_fields if hasattr(type(row), name))
        _SHARED_FIELDS[key] = names
    return {name: getattr(row, name) for name in names}


# The fields of a read model that rows of a table class have, per (class, model).
_SHARED_FIELDS: dict[tuple[type, type[BaseModel]], tuple[str, ...]] = {}


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def _slot_reads(
    units: Sequence[ResourceUnit],
    plan: SlotPlan,
    open_spans: list[Span],
    blackouts: list[Span],
    busy: Sequence[tuple[int, datetime, datetime]],
) -> tuple[SlotRead, ...]:
    """Every slot of the plan's window whatever the time, ready to be sent."""
    slots = unit_slots(
        units=[u.id for u in units if u.id is not None],
        busy=busy,
        open_spans=open_spans,
        blackouts=blackouts,
        rules=plan.rules,
        window=plan.window,
        now=None,
        tz=plan.tz,
        duration=plan.duration,
        quantity=plan.quantity,
    )
    tz = plan.tz
    reads = []
    # A slot mostly starts where the one before ended: that instant is converted once.
    ended: datetime | None = None
    ended_local: datetime | None = None
    for s in slots:
        start_local = ended_local if s.start == ended else s.start.astimezone(tz)
        ended, ended_local = s.end, s.end.astimezone(tz)
        assert start_local is not None
        reads.append(
            SlotRead(
                starts_at=s.start,
                ends_at=s.end,
                local_starts_at=start_local,
                local_ends_at=ended_local,
                free_units=s.free_units,
            )
        )
    return tuple(reads)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
