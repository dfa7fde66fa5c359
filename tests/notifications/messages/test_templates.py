"""Every message template renders in French and English, text and HTML, with what its
subscriber gives it (the environment fails on any name left undefined)."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.rendering import render

PLACE = {
    "name": "Fablab de Lannion",
    "address": "1 rue de la Mairie",
    "postcode": "22300",
    "town": "Lannion",
    "email": "contact@fablab.example",
    "phone": None,
    "website": None,
}
BOOKING = {
    "id": 4,
    "reference": "K7Q2M9",
    "resources": "Imprimante 3D",
    "when": "mardi 2 mars 2027, 14:00\u201315:00",
    "organisation": "École Jean Jaurès",
    "url": "https://mutualab.test/account/bookings/4",
}
# Per template: what its subscriber adds to the recipient, the place and the booking.
EXTRA: dict[str, dict[str, Any]] = {
    "booking_confirmed": {"paid": True, "has_feed": False},
    "booking_requested": {},
    "approval_requested": {
        "booker": {"name": "Alice", "email": "alice@example.org"},
        "manage_url": "https://mutualab.test/manage/bookings/4",
    },
    "booking_approved": {},
    "booking_refused": {"reason": ""},
    "booking_cancelled": {"by_place": True, "reason": "panne", "refund": "24,00 €"},
    "booking_changed": {"before": "mardi 2 mars 2027, 13:00\u201314:00", "status": "confirmed"},
    "hold_lapsing": {
        "minutes": 9,
        "deadline": "lundi 1 mars 2027, 09:15",
        "pay_url": "https://mutualab.test/account/bookings/4/pay",
    },
    "hold_lapsed": {},
    "payment_received": {"amount": "24,00 €", "booking": None},
    "refund_made": {"amount": "24,00 €"},
    "invoice_issued": {
        "document": {
            "kind": "invoice",
            "number": "FLT-2027-000001",
            "total": "216,60 €",
            "period": "mars 2027",
            "sessions": [
                "mardi 2 mars 2027, 14:00\u201316:00",
                "mardi 9 mars 2027, 14:00\u201316:00",
            ],
            "purchase_order": "BC-2027-042",
        },
        "booking": None,
    },
    "waitlist_offer": {
        "deadline": "lundi 1 mars 2027, 11:00",
        "offer_url": "https://mutualab.test/account/bookings",
    },
    "session_registered": {
        "title": "Formation découpeuse laser",
        "when": "samedi 6 mars 2027, 10:00\u201312:00",
        "below_minimum": False,
        "session_url": "https://mutualab.test/sessions/3",
    },
    "session_cancelled": {
        "title": "Formation découpeuse laser",
        "when": "samedi 6 mars 2027, 10:00\u201312:00",
        "below_minimum": True,
        "session_url": "https://mutualab.test/sessions/3",
    },
    "booking_reminder": {"unsubscribe_url": "https://mutualab.test/api/unsubscribe/reminders"},
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("template", sorted(EXTRA))
def test_every_template_renders_in_both_languages(template: str, language: str) -> None:
    context = {
        "recipient": {"name": "Alice", "email": "alice@example.org"},
        "place": PLACE,
        "booking": BOOKING,
        "unsubscribe_url": None,
        **EXTRA[template],
    }
    rendered = render(template, language, context)
    assert rendered.subject and "None" not in rendered.subject
    assert "Alice" in rendered.text and "Alice" in rendered.html
    assert "None" not in rendered.text and "\n\n\n" not in rendered.text
    assert f'<html lang="{language}">' in rendered.html and "<h1" in rendered.html
    assert "Fablab de Lannion" in rendered.text and "Fablab de Lannion" in rendered.html
    # The place's contact, a line each, in the footer.
    assert "1 rue de la Mairie, 22300 Lannion\n" in rendered.text
    assert "contact@fablab.example" in rendered.text
