"""The messages of money: a card hold about to lapse and lapsed, paid (confirmed with its .ics),
payment received, invoice and credit note with their PDF, a cancellation with its refund."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from billing import maintenance
from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import build_runtime
from notifications.hold_warnings import lapsing_holds, warn_lapsing_holds
from tests.billing.support import END, START, PricedLab, checkout, paid_booking
from tests.notifications.messages.support import dispatch, outbox, set_language
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import MutableClock, paris
from tests.support.stripe import LocalStripe


async def test_a_paid_card_booking_is_confirmed_invoiced_then_cancelled_with_its_refund(
    api: httpx.AsyncClient,
    lab: PricedLab,
    queue: Database,
    stripe_settings: Settings,
    stripe_peer: LocalStripe,
    clock: MutableClock,
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    await set_language(queue, ana.user_id, "en")
    paid = await paid_booking(api, stripe_peer, ana, lab.lab.printer)  # 8 March, 24 EUR
    booking_id = paid["booking"]["id"]
    await dispatch(queue, stripe_settings, clock)

    [confirmed] = await outbox(queue, "booking_confirmed")
    assert confirmed.recipient == "ana@example.fr" and confirmed.language == "en"
    assert confirmed.subject.startswith("Payment received, booking confirmed")
    [event] = confirmed.calendar().walk("VEVENT")
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == END
    [received] = await outbox(queue, "payment_received")
    assert received.recipient == "ana@example.fr" and "€24.00" in received.subject
    [invoice] = await outbox(queue, "invoice_issued")
    assert invoice.recipient == "ana@example.fr" and invoice.subject.startswith("Invoice no. ")
    [(filename, kind, pdf)] = invoice.attachments
    assert kind == "application/pdf" and pdf.startswith(b"%PDF-")
    assert filename.endswith(".pdf") and filename[:-4] in invoice.subject

    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers)
    assert cancelled.status_code == 200, cancelled.text
    await dispatch(queue, stripe_settings, clock)

    [gone] = await outbox(queue, "booking_cancelled")
    assert "Refund: €24.00" in gone.text and gone.calendar()["METHOD"] == "CANCEL"
    [refunded] = await outbox(queue, "refund_made")
    assert refunded.recipient == "ana@example.fr" and "€24.00" in refunded.subject
    first, credit_note = await outbox(queue, "invoice_issued")
    assert first == invoice
    assert credit_note.subject.startswith("Credit note no. ")
    assert credit_note.attachments[0][1] == "application/pdf"


async def test_a_hold_is_warned_once_before_it_lapses_then_told_it_lapsed(
    api: httpx.AsyncClient,
    lab: PricedLab,
    queue: Database,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    held = await checkout(api, ana, lab.lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16))
    assert held.status_code == 201, held.text
    booking = held.json()["booking"]
    assert booking["status"] == "held"
    base = stripe_settings.public_base_url

    assert await warn_lapsing_holds(queue, base, clock) == 0  # 15 minutes left: not under
    clock.advance(minutes=2)  # 13 minutes left
    assert await warn_lapsing_holds(queue, base, clock) == 1
    clock.advance(minutes=1)
    async with queue.writer() as session, session.begin():
        assert await lapsing_holds(session, clock()) == []  # skipped by the query
    assert await warn_lapsing_holds(queue, base, clock) == 0  # once per hold
    [warning] = await outbox(queue, "hold_lapsing")
    assert warning.recipient == "ana@example.fr"
    assert "13 min" in warning.subject and f"/account/bookings/{booking['id']}/pay" in warning.text

    clock.advance(minutes=14)  # lapsed: the periodic sweep expires it
    runtime = build_runtime(stripe_settings, queue, clock)
    try:
        released, _ = await maintenance.expire_holds(runtime.billing)
    finally:
        await runtime.close()
    assert released == 1
    await dispatch(queue, stripe_settings, clock)
    [lapsed] = await outbox(queue, "hold_lapsed")
    assert lapsed.recipient == "ana@example.fr" and booking["reference"] in lapsed.text
    assert await warn_lapsing_holds(queue, base, clock) == 0  # nothing held any more


async def test_a_hold_that_fails_to_render_does_not_hold_back_the_other_warnings(
    api: httpx.AsyncClient,
    lab: PricedLab,
    queue: Database,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    bob = await make_user(queue, "bob@example.fr")
    printer = lab.lab.printer
    first = await checkout(api, ana, printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16))
    second = await checkout(api, bob, printer, paris(2027, 3, 2, 16), paris(2027, 3, 2, 18))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    # Ana's row is made inconsistent: her warning (first by booking id) cannot be queued.
    async with queue.engine.begin() as conn:
        await conn.execute(
            text("UPDATE user_account SET email = 'no-address' WHERE id = :id"),
            {"id": ana.user_id},
        )
    clock.advance(minutes=2)
    assert await warn_lapsing_holds(queue, stripe_settings.public_base_url, clock) == 1
    [warning] = await outbox(queue, "hold_lapsing")
    assert warning.recipient == "bob@example.fr"


async def test_an_organisations_invoice_goes_to_its_billing_address(
    api: httpx.AsyncClient,
    lab: PricedLab,
    queue: Database,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    company = await make_organisation(
        queue, "Atelier Bois SARL", user_type="company", requires_purchase_order=False
    )
    async with queue.engine.begin() as conn:
        await conn.execute(
            text("UPDATE organisation SET billing_email = 'compta@atelier.fr' WHERE id = :id"),
            {"id": company},
        )
    max_ = await make_user(queue, "max@atelier.fr", organisation_roles=((company, "admin"),))
    booked = await checkout(api, max_, lab.lab.printer, method="invoice", organisation_id=company)
    assert booked.status_code == 201, booked.text
    await dispatch(queue, stripe_settings, clock)

    [invoice] = await outbox(queue, "invoice_issued")
    assert invoice.recipient == "compta@atelier.fr"
    assert invoice.text.startswith("Bonjour max,")  # addressed to the member who booked
    assert "Atelier Bois SARL" in invoice.text  # for the organisation
    [confirmed] = await outbox(queue, "booking_confirmed")
    assert confirmed.recipient == "max@atelier.fr"
