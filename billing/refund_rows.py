"""The ``refund`` row of a refund decision (:mod:`billing.refunds`), for a booking's payment or
a ticket's charge alike."""

from __future__ import annotations

from datetime import datetime

from billing.models import Refund, RefundStatus
from billing.refunds import RefundDecision


def decided_refund(
    decision: RefundDecision,
    cause: str,
    method: str,
    idempotency_key: str,
    at: datetime,
    *,
    payment_id: int | None = None,
    plan_charge_id: int | None = None,
    credit_note_id: int | None = None,
) -> Refund:
    """Money to give back for ``cause`` ("cancellation", "move") by the decision's tier.

    A card's money is refunded by the provider after commit (pending); money received at the
    desk or by transfer is given back by the place itself (manual).
    """
    return Refund(
        payment_id=payment_id,
        plan_charge_id=plan_charge_id,
        amount_cents=decision.amount_cents,
        percent=decision.percent,
        reason=f"{cause}_{decision.reason.value}",
        detail=decision.tier_label,
        status=RefundStatus.PENDING if method == "card" else RefundStatus.MANUAL,
        idempotency_key=idempotency_key,
        credit_note_id=credit_note_id,
        created_at=at,
    )
