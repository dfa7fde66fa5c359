"""The served app's logging: uvicorn's, with access lines that carry no credential.

A private calendar feed's address is its only credential (booking.feeds: ``/calendar/feeds/
<token>/bookings.ics``), and query strings carry e-mail addresses (``/api/users?email=``),
return addresses and Stripe's client secrets (``?payment_intent_client_secret=``): the access
log keeps the path with the token replaced, and no query string.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_FEED_TOKEN = re.compile(r"^(/calendar/feeds/)[^/]+")
# uvicorn's access line: client, method, path with query string, HTTP version, status.
_TARGET = 2


def redacted_target(target: str) -> str:
    """A request target as the access log may keep it."""
    path, query_mark, _ = target.partition("?")
    path = _FEED_TOKEN.sub(r"\1[token]", path)
    return f"{path}?[redacted]" if query_mark else path


class RedactedAccessLog(logging.Filter):
    """Rewrites the request target of uvicorn's access lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the line, with its target redacted."""
        args = record.args
        if isinstance(args, tuple) and len(args) > _TARGET:
            target = args[_TARGET]
            if isinstance(target, str):
                record.args = (*args[:_TARGET], redacted_target(target), *args[_TARGET + 1 :])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, its access lines redacted."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redacted"] = {"()": "mutualab.logs.RedactedAccessLog"}
    config["handlers"]["access"]["filters"] = ["redacted"]
    return config
