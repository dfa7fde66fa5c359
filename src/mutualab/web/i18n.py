"""Languages of the pages: which one a request gets, its translations, and French formatting.

Message ids are English; ``locale/fr/LC_MESSAGES/messages.po`` translates them into French,
the default language. The ``.po`` files are compiled in memory when first used (Babel reads
them directly), so no ``.mo`` binary is kept in the repository or needs a build step.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANG_COOKIE = "mutualab_lang"
DEFAULT_LANG = "fr"
# Language code -> the locale that formats dates, times and money.
LOCALES = {"fr": "fr_FR", "en": "en_GB"}
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
_ACCEPT_ITEM = re.compile(
    r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def N_(message: str) -> str:  # the name gettext tools look for
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the cookie if valid, else Accept-Language, else French."""
    if cookie in LOCALES:
        return cookie
    best, best_q = DEFAULT_LANG, 0.0
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        match = _ACCEPT_ITEM.match(item)
        if match is None:
            continue
        lang = match.group(1).lower()
        try:
            q = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        # Earlier items win ties, as browsers list them by preference.
        q -= position * 1e-6
        if lang in LOCALES and q > best_q:
            best, best_q = lang, q
    return best


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English message ids need none)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = BytesIO()
    # Fuzzy entries are drafts: they are not shown (the English id is).
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@dataclass(frozen=True)
class I18n:
    """Translations and formats of one language, as templates and handlers use them."""

    lang: str

    @property
    def locale(self) -> Locale:
        """The Babel locale used for formatting."""
        return Locale.parse(LOCALES[self.lang])

    @property
    def other_languages(self) -> list[tuple[str, str]]:
        """(code, name in that language) of the languages one may switch to."""
        return [(code, name) for code, name in LANGUAGE_NAMES.items() if code != self.lang]

    def gettext(self, message: str, **params: object) -> str:
        """``message`` translated, with ``%(name)s`` placeholders filled from ``params``."""
        text = translations(self.lang).gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        """The singular or plural form for ``n``, translated (``%(num)s`` is ``n``)."""
        text = translations(self.lang).ngettext(singular, plural, n)
        return text % {"num": n, **params}

    # formats ------------------------------------------------------------------------
    def date_long(self, day: date) -> str:
        """``mardi 8 septembre 2026``."""
        return format_date(day, "full", locale=self.locale)

    def date_short(self, day: date) -> str:
        """``08/09/2026`` in French, ``8 Sep 2026`` in English (a column of dates)."""
        pattern = "dd/MM/yyyy" if self.lang == "fr" else "d MMM yyyy"
        return format_date(day, pattern, locale=self.locale)

    def day_short(self, day: date) -> str:
        """``mardi 8 septembre``."""
        return format_date(day, "EEEE d MMMM", locale=self.locale)

    def time_short(self, moment: time | datetime) -> str:
        """``14:00``."""
        return format_time(moment, "HH:mm", locale=self.locale)

    def datetime_long(self, moment: datetime) -> str:
        """``mardi 8 septembre 2026, 14:00`` (``moment`` already in the wanted zone)."""
        return f"{self.date_long(moment.date())}, {self.time_short(moment)}"

    def weekday(self, index: int) -> str:
        """``lundi`` for 0 ... ``dimanche`` for 6."""
        name: str = self.locale.days["format"]["wide"][index]
        return name

    def duration(self, minutes: int) -> str:
        """``1 h 30 min``, ``45 min``, ``2 h``."""
        hours, rest = divmod(minutes, 60)
        if not hours:
            return self.gettext("%(m)s min", m=rest)
        if not rest:
            return self.gettext("%(h)s h", h=hours)
        return self.gettext("%(h)s h %(m)s min", h=hours, m=rest)

    def money(self, cents: int, currency: str = "EUR") -> str:
        """``1 234,50 €`` from integer cents."""
        return format_currency(Decimal(cents) / 100, currency, locale=self.locale)

    def number(self, value: int | Decimal) -> str:
        """A number with the locale's separators."""
        return format_decimal(value, locale=self.locale)

    def zone_name(self, zone: str) -> str:
        """A person's name for a time zone, by its city: ``heure de Paris``, ``Paris time``."""
        city = get_timezone_location(ZoneInfo(zone), locale=self.locale, return_city=True)
        return self.gettext(N_("%(city)s time"), city=city)
