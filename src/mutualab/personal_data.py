"""A person's data held by booking and billing: exported with the account, erased with it.

Booking: bookings (with their resources), series and waitlist entries are exported; on erasure
the person's future bookings are cancelled through the booking service (so billing refunds them
by the place's policy, as for any cancellation, even past the deadline a person must otherwise
meet), they leave their waitlists, free-text notes are blanked and calendar feeds revoked.
Billing: payments and the references of invoices and credit notes are exported; invoices are
kept on erasure: French law requires keeping them for ten years (Code de commerce, L123-22), and
they stay addressed to the buyer named when they were issued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.coupon_models import CouponRedemption
from billing.models import BillingDocument, Payment, Refund
from billing.pack_models import PackHolding, PackMovement
from billing.wallet_models import Wallet, WalletMovement, WalletTopUp
from booking.feeds.models import CalendarFeed
from booking.models import ACTIVE_STATUSES, Booking, BookingItem, BookingSeries
from booking.service import BookingServices
from booking.waitlist import LIVE_STATUSES
from booking.waitlist_repository import WaitlistRepository
from kernel.auth.actor import Actor

ERASED_REASON = "Compte supprimé"
# Never exported: secrets of the payment provider and hashed tokens are not personal data
# the person can use, and showing them would only spread them.
_SECRET_FIELDS = {"client_secret", "token_sha256"}


def _plain(row: SQLModel, *exclude: str) -> dict[str, Any]:
    return row.model_dump(mode="json", exclude=_SECRET_FIELDS | set(exclude))


class BookingData:
    """Bookings, series and calendar feeds of a person."""

    def __init__(self, services: BookingServices) -> None:
        self.services = services

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        """The person's bookings (with items), series and calendar feeds."""
        bookings = (
            await session.exec(
                select(Booking).where(Booking.booker_user_id == user_id).order_by(col(Booking.id))
            )
        ).all()
        ids = [b.id for b in bookings if b.id is not None]
        items = (
            (
                await session.exec(select(BookingItem).where(col(BookingItem.booking_id).in_(ids)))
            ).all()
            if ids
            else []
        )
        series = (
            await session.exec(
                select(BookingSeries)
                .where(BookingSeries.booker_user_id == user_id)
                .order_by(col(BookingSeries.id))
            )
        ).all()
        feeds = (
            await session.exec(
                select(CalendarFeed)
                .where(CalendarFeed.user_id == user_id)
                .order_by(col(CalendarFeed.id))
            )
        ).all()
        return {
            "bookings": [
                {
                    **_plain(b),
                    "items": [_plain(i) for i in items if i.booking_id == b.id],
                }
                for b in bookings
            ],
            "booking_series": [_plain(s) for s in series],
            "calendar_feeds": [_plain(f) for f in feeds],
            "waitlist_entries": [
                _plain(e) for e in await WaitlistRepository(session).of_user(user_id)
            ],
        }

    async def erase(self, session: AsyncSession, actor: Actor, user_id: int, now: datetime) -> None:
        """Cancel the person's own future bookings, blank their notes, revoke their feeds,
        leave their waitlists (the bookings a manager made for the place stay)."""
        future = (
            await session.exec(
                select(Booking.id)
                .where(
                    Booking.booker_user_id == user_id,
                    col(Booking.organisation_id).is_(None),
                    # A session's machines, booked by a manager for the place, are the place's.
                    col(Booking.place_use).is_(False),
                    col(Booking.status).in_(ACTIVE_STATUSES),
                    Booking.starts_at > now,
                )
                .order_by(col(Booking.id))
            )
        ).all()
        bookings = self.services.bookings(session)
        for booking_id in future:
            assert booking_id is not None
            await bookings.cancel(actor, booking_id, ERASED_REASON, enforce_deadline=False)
        waitlist = self.services.waitlist(session)
        for entry in await WaitlistRepository(session).of_user(user_id):
            if entry.status in LIVE_STATUSES and entry.id is not None:
                await waitlist.leave(actor, entry.id)
        statements: list[Any] = [
            update(Booking)
            .where(col(Booking.booker_user_id) == user_id, col(Booking.place_use).is_(False))
            .values(notes=""),
            update(BookingSeries)
            .where(col(BookingSeries.booker_user_id) == user_id)
            .values(notes=""),
            update(CalendarFeed)
            .where(col(CalendarFeed.user_id) == user_id, col(CalendarFeed.revoked_at).is_(None))
            .values(revoked_at=now),
        ]
        for statement in statements:
            await session.exec(statement)


class BillingData:
    """Payments, refunds and invoice references of a person; invoices are kept."""

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        """The person's payments (with refunds), the references of their invoices, their wallets
        (with movements and top-ups), the coupons they used and the packs of prepaid hours they
        bought (with movements)."""
        payments = (
            await session.exec(
                select(Payment).where(Payment.payer_user_id == user_id).order_by(col(Payment.id))
            )
        ).all()
        ids = [p.id for p in payments if p.id is not None]
        refunds = (
            (await session.exec(select(Refund).where(col(Refund.payment_id).in_(ids)))).all()
            if ids
            else []
        )
        wallets = (
            await session.exec(
                select(Wallet).where(Wallet.user_id == user_id).order_by(col(Wallet.id))
            )
        ).all()
        wallet_ids = [w.id for w in wallets if w.id is not None]
        movements = (
            (
                await session.exec(
                    select(WalletMovement)
                    .where(col(WalletMovement.wallet_id).in_(wallet_ids))
                    .order_by(col(WalletMovement.id))
                )
            ).all()
            if wallet_ids
            else []
        )
        top_ups = (
            await session.exec(
                select(WalletTopUp)
                .where(WalletTopUp.user_id == user_id)
                .order_by(col(WalletTopUp.id))
            )
        ).all()
        coupon_uses = (
            await session.exec(
                select(CouponRedemption)
                .where(CouponRedemption.user_id == user_id)
                .order_by(col(CouponRedemption.id))
            )
        ).all()
        packs = (
            await session.exec(
                select(PackHolding)
                .where(PackHolding.user_id == user_id)
                .order_by(col(PackHolding.id))
            )
        ).all()
        pack_ids = [h.id for h in packs if h.id is not None]
        pack_moves = (
            (
                await session.exec(
                    select(PackMovement)
                    .where(col(PackMovement.holding_id).in_(pack_ids))
                    .order_by(col(PackMovement.id))
                )
            ).all()
            if pack_ids
            else []
        )
        documents = (
            await session.exec(
                select(BillingDocument)
                .where(BillingDocument.buyer_user_id == user_id)
                .order_by(col(BillingDocument.id))
            )
        ).all()
        return {
            "payments": [
                {
                    **_plain(p, "quote"),
                    "refunds": [_plain(r) for r in refunds if r.payment_id == p.id],
                }
                for p in payments
            ],
            "invoices": [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "number": d.number,
                    "place_id": d.place_id,
                    "booking_id": d.booking_id,
                    "issued_at": d.issued_at.isoformat(),
                    "total_incl_vat_cents": d.total_incl_vat_cents,
                }
                for d in documents
            ],
            "wallets": [
                {
                    **_plain(w),
                    "movements": [_plain(m) for m in movements if m.wallet_id == w.id],
                }
                for w in wallets
            ],
            # The card payment's secret is Stripe's key to it, not the person's data.
            "wallet_top_ups": [_plain(t, "client_secret") for t in top_ups],
            "coupon_uses": [_plain(u) for u in coupon_uses],
            "packs": [
                {
                    **_plain(h),
                    "movements": [_plain(m) for m in pack_moves if m.holding_id == h.id],
                }
                for h in packs
            ],
        }

    async def erase(self, session: AsyncSession, actor: Actor, user_id: int, now: datetime) -> None:
        """Nothing: invoices and the payments they record are kept (legal retention)."""
