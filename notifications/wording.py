"""How messages word times and money: the place's zone, the recipient's language (babel)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# Language -> the locale that formats dates, times and money (as the pages do).
LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def language_of(language: str | None) -> str:
    """The language a message is written in: the one asked for when we have it (``en-GB``:
    English), else French."""
    if language is None:
        return DEFAULT_LANGUAGE
    short = language.strip().lower().replace("_", "-").split("-")[0]
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def local(moment: datetime, timezone: str) -> datetime:
    """``moment`` on the place's wall clock."""
    return moment.astimezone(ZoneInfo(timezone))


def day(moment: datetime, timezone: str, language: str) -> str:
    """``lundi 1 mars 2027`` / ``Monday, 1 March 2027``."""
    return format_date(local(moment, timezone), format="full", locale=LOCALES[language])


def clock(moment: datetime, timezone: str, language: str) -> str:
    """``10:00`` in the place's zone."""
    return format_time(local(moment, timezone), format="short", locale=LOCALES[language])


def span(starts_at: datetime, ends_at: datetime, timezone: str, language: str) -> str:
    """A booking's range in words, its end's day named only when it differs."""
    start, end = local(starts_at, timezone), local(ends_at, timezone)
    first = f"{day(start, timezone, language)}, {clock(start, timezone, language)}"
    if start.date() == end.date():
        return f"{first}\u2013{clock(end, timezone, language)}"
    return f"{first} \u2013 {day(end, timezone, language)}, {clock(end, timezone, language)}"


def moment(at: datetime, timezone: str, language: str) -> str:
    """One instant in words (a deadline)."""
    return f"{day(at, timezone, language)}, {clock(at, timezone, language)}"


def money(cents: int, currency: str, language: str) -> str:
    """``12,50 €`` / ``€12.50``."""
    amount = Decimal(cents).scaleb(-2)
    return format_currency(amount, currency, locale=LOCALES[language])
