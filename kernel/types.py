"""Validated value types shared by every domain's request models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# An instant: the offset is mandatory (naive times are refused), stored and returned in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
