"""The booking form of a resource, pure: the chosen time in the place's zone, and the words for
the services' refusals and codes (no I/O, so it is tested without a server)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from kernel.errors import AppError
from mutualab.web.forms import Errors, FieldError, parse_time
from mutualab.web.i18n import N_

SLOT_FIELDS = ["day", "start", "end", "quantity", "coupon", "method"]
# Words for the billing services' codes, given to the templates of bookings.
WORDS: dict[str, Any] = {
    "METHOD_LABELS": {
        "card": N_("By card, online"),
        "on_site": N_("On site, at the place"),
        "invoice": N_("On invoice"),
        "free": N_("Free"),
        "wallet": N_("From my wallet"),
    },
    "PAYMENT_STATUSES": {
        "pending": N_("awaiting the card payment"),
        "requires_action": N_("awaiting the card payment"),
        "processing": N_("payment in progress"),
        "failed": N_("card declined"),
        "succeeded": N_("paid"),
        "awaiting_on_site": N_("to pay at the place"),
        "invoiced": N_("invoiced, to pay"),
        "free": N_("nothing to pay"),
        "cancelled": N_("cancelled"),
        "partially_refunded": N_("partly refunded"),
        "refunded": N_("refunded"),
    },
    "DOCUMENT_KINDS": {"invoice": N_("Invoice"), "credit_note": N_("Credit note")},
}

SLOT_MESSAGES = {
    "day": FieldError(N_("Enter a date like 2027-03-03.")),
    "start": FieldError(N_("Enter a start time like 14:00.")),
    "end": FieldError(N_("Enter an end time like 15:30.")),
    "quantity": FieldError(N_("Enter how many units you need, from 1 to %(n)s.")),
    "method": FieldError(N_("Choose how you will pay.")),
}
# Refusals of the services -> (the field they concern, or None for the page; what to say).
REFUSALS: dict[str, tuple[str | None, str]] = {
    "slot_changed": (
        None,
        N_("You changed the time: here is the price for the new time. Check it, then confirm."),
    ),
    "price_changed": (
        None,
        N_("The price changed since you reviewed it: check the new price below, then confirm."),
    ),
    "coupon_changed": (
        None,
        N_("You changed the promo code: here is the price with it. Check it, then confirm."),
    ),
    "wallet_changed": (
        None,
        N_("You changed how you pay: here is the price to pay now. Check it, then confirm."),
    ),
    "coupon_unknown": ("coupon", N_("This code is not a promo code of this place.")),
    "coupon_not_started": ("coupon", N_("This code cannot be used yet.")),
    "coupon_expired": ("coupon", N_("This code has expired.")),
    "coupon_exhausted": ("coupon", N_("This code has been used as many times as it may be.")),
    "coupon_limit_reached": ("coupon", N_("You have used this code as many times as you may.")),
    "coupon_not_for_rate": ("coupon", N_("This code is not offered at your rate.")),
    "coupon_not_for_resources": ("coupon", N_("This code does not apply to this equipment.")),
    "slot_unavailable": (
        None,
        N_("This time has just been booked by someone else: choose another time."),
    ),
    "end_before_start": ("end", N_("The end must be after the start.")),
    "invalid_range": ("end", N_("The end must be after the start.")),
    "too_short": ("end", N_("This booking is too short for this equipment.")),
    "too_long": ("end", N_("This booking is too long for this equipment.")),
    "not_aligned": ("start", N_("Start and end on the steps shown on the equipment's page.")),
    "in_the_past": ("start", N_("This time has already begun: choose a later one.")),
    "over_capacity": ("quantity", N_("Not that many units exist.")),
    "invalid_quantity": ("quantity", N_("Book at least one unit.")),
    "outside_opening_hours": (
        None,
        N_("The place is not open for the whole of this time: choose a time when it is open."),
    ),
    "blackout": (None, N_("The equipment is out of service at this time: choose another time.")),
    "insufficient_notice": (None, N_("This time is too close: book further ahead.")),
    "too_far_ahead": (None, N_("This time is too far ahead: bookings are not open yet.")),
    "training_required": (
        None,
        N_("This equipment needs a training you do not hold on that day: ask the place's team."),
    ),
    "quota_exceeded": (None, N_("You have reached this place's booking limit for that period.")),
    "no_rate": (None, N_("This equipment is not offered at your rate: ask the place's team.")),
    "payment_method_not_allowed": ("method", N_("Choose one of the payment methods offered.")),
    "card_payments_unavailable": (
        "method",
        N_("Card payments are not available: choose another method."),
    ),
    "approval_required": (
        "method",
        N_("The place's team approves this booking first: pay on site or on invoice."),
    ),
}
FALLBACK_REFUSAL = N_("This booking cannot be made: choose another time or contact the place.")


@dataclass
class SlotForm:
    """The chosen time, as typed (local time of the place)."""

    day: str = ""
    start: str = ""
    end: str = ""
    quantity: str = "1"
    # A promo code, as typed.
    coupon: str = ""
    # "1": pay what the wallet holds at the place first.
    wallet: str = ""


@dataclass
class CheckoutForm:
    """The review page's one form: the time as now typed, the time and quote shown (the quote's
    fingerprint), the payment method, and what was pressed (``quote``: update the price)."""

    day: str = ""
    start: str = ""
    end: str = ""
    quantity: str = "1"
    shown_day: str = ""
    shown_start: str = ""
    shown_end: str = ""
    shown_quantity: str = ""
    coupon: str = ""
    # The code the shown quote applies ("" for none).
    shown_coupon: str = ""
    wallet: str = ""
    # "1" when the shown quote is paid from the wallet first.
    shown_wallet: str = ""
    method: str = ""
    fingerprint: str = ""
    intent: str = ""

    def typed(self) -> SlotForm:
        """The time in the visible fields."""
        return SlotForm(
            day=self.day,
            start=self.start,
            end=self.end,
            quantity=self.quantity,
            coupon=self.coupon,
            wallet=self.wallet,
        )

    def shown(self) -> SlotForm:
        """The time the shown quote was made for."""
        return SlotForm(
            day=self.shown_day,
            start=self.shown_start,
            end=self.shown_end,
            quantity=self.shown_quantity,
            coupon=self.shown_coupon,
            wallet=self.shown_wallet,
        )


@dataclass(frozen=True)
class Slot:
    """A valid choice: UTC range and quantity."""

    starts_at: datetime
    ends_at: datetime
    quantity: int


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """``day`` at ``at`` in ``tz``; None for a wall time the clock skips (spring forward)."""
    moment = datetime.combine(day, at, tzinfo=tz)
    back = moment.astimezone(UTC).astimezone(tz)
    return moment if back.replace(tzinfo=None) == moment.replace(tzinfo=None) else None


def parse_slot(form: SlotForm, tz: ZoneInfo, capacity: int) -> tuple[Slot | None, Errors]:
    """The slot a form describes, or the errors of its fields."""
    errors: Errors = {}
    try:
        day = date.fromisoformat(form.day.strip())
    except ValueError:
        day = None
        errors["day"] = SLOT_MESSAGES["day"]
    start_time, end_time = parse_time(form.start), parse_time(form.end)
    if start_time is None:
        errors["start"] = SLOT_MESSAGES["start"]
    if end_time is None:
        errors["end"] = SLOT_MESSAGES["end"]
    quantity = int(form.quantity) if form.quantity.strip().isdigit() else 0
    if not 1 <= quantity <= capacity:
        errors["quantity"] = FieldError(SLOT_MESSAGES["quantity"].message, {"n": capacity})
    if errors or day is None or start_time is None or end_time is None:
        return None, errors
    # An end at 00:00 is midnight, at the end of the day.
    end_day = day + timedelta(days=1) if end_time == time(0) else day
    start, end = local_moment(day, start_time, tz), local_moment(end_day, end_time, tz)
    if start is None:
        errors["start"] = FieldError(N_("This time does not exist that day (clock change)."))
    if end is None:
        errors["end"] = FieldError(N_("This time does not exist that day (clock change)."))
    if start is None or end is None:
        return None, errors
    if end.astimezone(UTC) <= start.astimezone(UTC):
        return None, {"end": FieldError(REFUSALS["end_before_start"][1])}
    return Slot(start.astimezone(UTC), end.astimezone(UTC), quantity), {}


def refusal(exc: AppError) -> tuple[Errors, str | None]:
    """A service's refusal as a field error, or as a message for the whole page."""
    field, message = REFUSALS.get(exc.code, (None, FALLBACK_REFUSAL))
    if field is None:
        return {}, message
    return {field: FieldError(message)}, None


GOOGLE_ADD = "https://calendar.google.com/calendar/render?cid="
OUTLOOK_ADD = "https://outlook.live.com/calendar/0/addfromweb?url="


def subscribe_links(url: str, webcal_url: str) -> dict[str, str]:
    """Links that open Google Calendar and Outlook.com on "subscribe to this feed" (link-outs:
    the calendar fetches the feed itself, from our public address)."""
    return {
        "google": GOOGLE_ADD + quote(webcal_url, safe=""),
        "outlook": OUTLOOK_ADD + quote(url, safe=""),
    }


def review_url(resource_id: int, form: SlotForm) -> str:
    """The review page of ``resource_id`` for a time as typed."""
    query = {"day": form.day, "start": form.start, "end": form.end, "quantity": form.quantity}
    if form.coupon.strip():
        query["coupon"] = form.coupon.strip()
    if form.wallet == "1":
        query["wallet"] = "1"
    return f"/resources/{resource_id}/book?{urlencode(query, safe=':')}"


def book_url(resource_id: int, start: datetime, end: datetime) -> str:
    """The review page of ``resource_id`` for a local range (from the week grid)."""
    query = {"day": start.date().isoformat(), "start": start.strftime("%H:%M")}
    query["end"] = end.strftime("%H:%M")
    return f"/resources/{resource_id}/book?{urlencode(query, safe=':')}"
