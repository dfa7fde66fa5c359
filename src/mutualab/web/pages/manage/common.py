"""What the back office pages share: parsing typed numbers, money and dates, place pages.

Every handler first asks a service whether the actor manages the place (or the booking's
place), then reads the form: a manager of another place learns nothing from a malformed post.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from litestar import Request
from litestar.response import Template

from mutualab.web.i18n import N_
from mutualab.web.rendering import page
from resources.schemas import PlaceRead

AnyRequest = Request[Any, Any, Any]
CENT = Decimal("0.01")
MAX_CENTS = 100_000_000  # one million euros: beyond that it is a typo
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

# The sections of a place's back office, in the order of its menu: (path, message id).
SECTIONS = [
    ("", N_("Overview")),
    ("/details", N_("Details")),
    ("/resources", N_("Equipment")),
    ("/photos", N_("Photos")),
    ("/hours", N_("Opening hours")),
    ("/closures", N_("Closures")),
    ("/prices", N_("Prices")),
    ("/payments", N_("Payment methods")),
    ("/coupons", N_("Promo codes")),
    ("/wallets", N_("Wallets")),
    ("/plans", N_("Memberships")),
    ("/packs", N_("Prepaid hours")),
    ("/policy", N_("Cancellation policy")),
    ("/grid", N_("Planning")),
    ("/desk", N_("Front desk")),
    ("/agenda", N_("Agenda")),
    ("/people", N_("People")),
    ("/trainings", N_("Trainings")),
    ("/programme", N_("Programme")),
    ("/managers", N_("Managers")),
    ("/invoices", N_("Invoices")),
    ("/accounting", N_("Accounting")),
    ("/statistics", N_("Statistics")),
    ("/webhooks", N_("Webhooks")),
]


def parse_cents(text: str) -> int | None:
    """``12,50``, ``12.5``, ``1 234,50 €`` as integer cents (half-up); None when not a price."""
    cleaned = _SPACES.sub("", text).removesuffix("€").replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        return None
    try:
        cents = int((Decimal(cleaned) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None
    return cents if cents <= MAX_CENTS else None


def cents_text(cents: int, lang: str) -> str:
    """Cents as typed back into a price field: ``12,50`` (French) or ``12.50``."""
    euros, rest = divmod(cents, 100)
    return f"{euros}{',' if lang == 'fr' else '.'}{rest:02d}"


def parse_day(text: str) -> date | None:
    """``2027-03-08`` (date inputs) or ``08/03/2027`` (typed the French way); None otherwise."""
    value = text.strip()
    match = _DMY.match(value)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_whole(text: str, low: int, high: int) -> int | None:
    """A whole number between ``low`` and ``high``; None otherwise."""
    value = text.strip()
    if not re.fullmatch(r"\d{1,7}", value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def place_page(
    request: AnyRequest,
    template: str,
    place: PlaceRead,
    section: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A page of one place's back office, with its menu (``section`` is the current one)."""
    return page(
        request,
        template,
        status_code=status_code,
        private=True,
        place=place,
        section=section,
        sections=SECTIONS,
        **context,
    )
