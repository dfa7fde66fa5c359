"""Form bodies and their errors, shown next to each field and in a summary at the top.

Form bodies accept any text (every field defaults to ""), so a mistake never becomes a bare
400: the page validates with the services' own request models and shows what went wrong,
with what was typed kept in the fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

from pydantic import ValidationError

from kernel.errors import AppError
from mutualab.web.i18n import N_


@dataclass(frozen=True)
class FieldError:
    """A message id (English, translated when shown) and its placeholders."""

    message: str
    params: Mapping[str, object] = field(default_factory=dict)


# Field name (the input's id) -> its error, in the order of the form's fields.
Errors = dict[str, FieldError]


def first_errors(exc: ValidationError, messages: Mapping[str, FieldError]) -> Errors:
    """One error per field named in ``exc``, worded by ``messages`` (a generic one otherwise)."""
    errors: Errors = {}
    for item in exc.errors():
        name = str(item["loc"][0]) if item["loc"] else "form"
        errors.setdefault(name, messages.get(name, FieldError(N_("This value is not valid."))))
    return errors


def ordered(errors: Errors, fields: list[str]) -> Errors:
    """``errors`` in the order the fields appear on the page (the summary follows it)."""
    rank = {name: index for index, name in enumerate(fields)}
    return dict(sorted(errors.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def app_error_field(exc: AppError) -> str | None:
    """The field an :class:`InvalidInputError` names, if any."""
    found = exc.extra.get("errors")
    if isinstance(found, list) and found and isinstance(found[0], dict):
        name = found[0].get("field")
        return str(name) if name else None
    return None


_TIME = re.compile(r"^\s*(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?\s*$")


def parse_time(text: str) -> time | None:
    """``14:30``, ``14h30``, ``9h`` or ``09.30`` as a time; None when not a valid time."""
    match = _TIME.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
