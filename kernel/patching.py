"""Partial updates (PATCH): only the fields sent change; null only where it means something."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from kernel.errors import InvalidInputError


def changes_of(data: BaseModel, nullable: Collection[str]) -> dict[str, Any]:
    """The fields the client sent; ``null`` is refused for a field that cannot be empty."""
    changes = data.model_dump(mode="json", exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in nullable:
            raise InvalidInputError(
                f"{field} cannot be null; leave it out to keep it.",
                field=field,
                code="null_not_allowed",
            )
    return changes
