"""The messages booking events cause: confirmed, requested, approved, refused, cancelled,
changed, hold lapsed (:class:`BookingMessages`, a subscriber to ``booking.*``).

Each runs in the worker after the change committed, in a transaction of its own, and queues
its messages in the outbox under keys made of the event's key: a re-run of the same event
queues nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models import BookingStatus
from kernel.db import Database
from kernel.events import Event
from notifications.booking_files import booking_attachment
from notifications.letters import Letter, booking_context, post
from notifications.message_facts import (
    BookingFacts,
    booked_with_series,
    booking_facts,
    has_feed,
    managers_of,
    paid_by_card,
    refunded_for,
)
from notifications.outbox import Attachment
from notifications.wording import money, span

CREATED = "booking.created"
CHANGED = "booking.rescheduled"


@dataclass(frozen=True)
class BookingMessages:
    """Writes the messages of one booking event (subscribed to ``booking.*``)."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the event's messages (none for an event no one is told about)."""
        booking_id = event.data.get("booking_id")
        if not isinstance(booking_id, int):
            return
        async with self.database.writer() as session, session.begin():
            booking = await booking_facts(session, booking_id)
            if booking is None:
                return
            for letter in await self.letters(session, event, booking):
                await post(session, event.key, letter, booking.place)

    async def letters(
        self, session: AsyncSession, event: Event, booking: BookingFacts
    ) -> list[Letter]:
        """What ``event`` tells whom."""
        data = event.data
        previous = data.get("previous")
        if event.name == CREATED:
            status = data.get("status")
            # The dates of a series booked at once are told in one message (series.booked);
            # the managers still get each request to approve.
            alone = not await booked_with_series(session, booking.id)
            if status == BookingStatus.CONFIRMED:
                return [await self._confirmed(session, booking, paid=False)] if alone else []
            if status == BookingStatus.PENDING_APPROVAL:
                managers = await self._managers(session, booking)
                return await self._requested(session, booking) if alone else managers
            return []  # a hold: told when it is paid or lapses
        if event.name == f"booking.{BookingStatus.PENDING_APPROVAL}":
            return await self._requested(session, booking)
        if event.name == f"booking.{BookingStatus.CONFIRMED}":
            if previous == BookingStatus.PENDING_APPROVAL:
                return [self._simple(booking, "booking_approved", ics=True)]
            # From a hold: paid by card, or a waitlist offer taken (paid at the place).
            paid = previous == BookingStatus.HELD and await paid_by_card(session, booking.id)
            return [await self._confirmed(session, booking, paid=paid)]
        if event.name == f"booking.{BookingStatus.REFUSED}":
            return [self._simple(booking, "booking_refused", reason=data.get("reason") or "")]
        if event.name == f"booking.{BookingStatus.CANCELLED}":
            return [await self._cancelled(session, booking, data)]
        if event.name == CHANGED:
            # A move to a range that needs approval is published as a move: ask the managers.
            asked = data.get("status") == BookingStatus.PENDING_APPROVAL
            managers = await self._managers(session, booking) if asked else []
            return [self._changed(booking, data), *managers]
        # A card hold unpaid; a waitlist offer left unanswered is held too, and says nothing.
        if (
            event.name == f"booking.{BookingStatus.EXPIRED}"
            and previous == BookingStatus.HELD
            and await paid_by_card(session, booking.id)
        ):
            return [self._simple(booking, "hold_lapsed")]
        return []

    def _context(self, booking: BookingFacts, language: str, **extra: Any) -> dict[str, Any]:
        return {**booking_context(booking, language, self.base_url), **extra}

    def _request(self, booking: BookingFacts) -> list[Attachment]:
        # Messages are written after the fact: a booking cancelled since is not put back in
        # the calendar (its own message removes it).
        if booking.status != BookingStatus.CONFIRMED:
            return []
        return [booking_attachment(booking, self.base_url, "REQUEST", booking.booker.language)]

    def _simple(
        self, booking: BookingFacts, template: str, *, ics: bool = False, **extra: Any
    ) -> Letter:
        to = booking.booker
        files = self._request(booking) if ics else []
        return Letter(to, template, self._context(booking, to.language, **extra), files)

    async def _confirmed(
        self, session: AsyncSession, booking: BookingFacts, *, paid: bool
    ) -> Letter:
        to = booking.booker
        feed = await has_feed(session, to.user_id)
        return Letter(
            to,
            "booking_confirmed",
            self._context(booking, to.language, paid=paid, has_feed=feed),
            self._request(booking),
        )

    async def _requested(self, session: AsyncSession, booking: BookingFacts) -> list[Letter]:
        return [self._simple(booking, "booking_requested"), *await self._managers(session, booking)]

    async def _managers(self, session: AsyncSession, booking: BookingFacts) -> list[Letter]:
        letters = []
        base = self.base_url.rstrip("/")
        for manager in await managers_of(session, booking.place.id):
            context = self._context(
                booking,
                manager.language,
                booker={"name": booking.booker.name, "email": booking.booker.email},
                manage_url=f"{base}/manage/bookings/{booking.id}",
            )
            letters.append(Letter(manager, "approval_requested", context))
        return letters

    async def _cancelled(
        self, session: AsyncSession, booking: BookingFacts, data: dict[str, Any]
    ) -> Letter:
        to = booking.booker
        refund = await refunded_for(session, booking.id)
        context = self._context(
            booking,
            to.language,
            by_place=bool(data.get("by_place")),
            reason=data.get("reason") or "",
            refund=money(refund[0], refund[1], to.language) if refund else None,
        )
        return Letter(
            to,
            "booking_cancelled",
            context,
            [booking_attachment(booking, self.base_url, "CANCEL", to.language)],
        )

    def _changed(self, booking: BookingFacts, data: dict[str, Any]) -> Letter:
        to = booking.booker
        before = None
        moved_from = data.get("moved_from")
        if isinstance(moved_from, list | tuple) and len(moved_from) == 2:
            start, end = (datetime.fromisoformat(str(value)) for value in moved_from)
            before = span(start, end, booking.place.timezone, to.language)
        # Only a booking that stands goes into the calendar (a move may await approval).
        return Letter(
            to,
            "booking_changed",
            self._context(booking, to.language, before=before, status=booking.status),
            self._request(booking),
        )
