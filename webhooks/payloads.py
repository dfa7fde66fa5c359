"""What a delivery carries: the event's resource as the public API shows it to the place's
managers (a subscriber sees no more than they would through the API), in a versioned envelope.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.payments import summary
from billing.runtime import Billing
from billing.schemas import DocumentRead
from booking.service import BookingServices
from kernel.auth.actor import Actor
from kernel.errors import NotFoundError
from kernel.events import Event
from webhooks.events import PAYLOAD_VERSION

# What a booking change adds to the booking (see booking.events.BookingEvent.published).
CHANGE_FACTS = ("previous", "reason", "by_place", "moved_from")


def envelope(event_type: str, key: str, at: datetime, data: dict[str, Any]) -> str:
    """The JSON body of a delivery, exactly as it is signed and sent on every attempt."""
    return json.dumps(
        {
            "type": event_type,
            "version": PAYLOAD_VERSION,
            "id": key,
            "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _viewer(place_id: int) -> Actor:
    # A manager of the event's place and of nothing else: what every subscriber may see.
    return Actor(managed_place_ids=frozenset({place_id}), via="webhook")


class Payloads:
    """Reads the resource of each event, as the API shows it to the place's managers."""

    def __init__(self, booking: BookingServices, billing: Billing) -> None:
        self.booking = booking
        self.billing = billing

    async def place_of(self, session: AsyncSession, event: Event) -> int | None:
        """The event's place: named in its data, or the booking's (a bulk expiry names none)."""
        place_id = event.data.get("place_id")
        if isinstance(place_id, int):
            return place_id
        booking_id = event.data.get("booking_id")
        if isinstance(booking_id, int):
            booking = await self.booking.parts(session).repository.get(booking_id)
            return booking.place_id if booking is not None else None
        return None

    async def data(self, session: AsyncSession, event: Event, place_id: int) -> dict[str, Any]:
        """The ``data`` of the event's payload; NotFoundError if its resource is gone."""
        viewer = _viewer(place_id)
        kind = event.name.split(".")[0]
        if kind == "booking":
            booking = await self.booking.bookings(session).get(
                viewer, int(event.data["booking_id"])
            )
            facts = {name: event.data[name] for name in CHANGE_FACTS if name in event.data}
            return {"booking": booking.model_dump(mode="json"), **facts}
        payments = self.billing.services(session)
        if kind == "payment":
            payment = await payments.repo.payment(int(event.data["payment_id"]))
            if payment is None or payment.place_id != place_id:
                raise NotFoundError("The payment is gone.")
            data: dict[str, Any] = {
                "payment": (await payments.read(payment, viewer)).model_dump(mode="json")
            }
            if "refund_id" in event.data:
                data["refund_id"] = event.data["refund_id"]
            return data
        document = await payments.repo.document(int(event.data["invoice_id"]))
        if document is None or document.place_id != place_id:
            raise NotFoundError("The document is gone.")
        invoice = DocumentRead(
            **summary(document).model_dump(),
            place_id=document.place_id,
            previous_hash=document.previous_hash,
            hash=document.hash,
            content=document.content,
        )
        return {"invoice": invoice.model_dump(mode="json")}
