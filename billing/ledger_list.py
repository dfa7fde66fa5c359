"""A place's invoices and credit notes as a treasurer reads them: who each one bills, its purchase
order and where its payment stands (paid, due, late, cancelled by a credit note), found by
words (client, e-mail, number, purchase order), by the month of issue and by that state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.models import PAID, PaymentStatus

InvoiceState = Literal["paid", "unpaid", "overdue", "credited", "credit_note"]
INVOICE_STATES: tuple[str, ...] = get_args(InvoiceState)
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# An invoice is paid when every payment it bills is (a grouped invoice's sessions), late when
# its sealed due date has passed on the place's calendar, credited when its payment was
# cancelled (a credit note cancelled the debt).
_LISTED = """
WITH listed AS (
  SELECT d.id, d.issued_at, COALESCE(o.name, u.display_name) AS client, u.email,
         pay.purchase_order,
         CASE
           WHEN d.kind = 'credit_note' THEN 'credit_note'
           WHEN COALESCE(
                  (SELECT bool_and(lp.status = ANY(CAST(:paid AS text[])))
                   FROM invoice_line l JOIN payment lp ON lp.id = l.payment_id
                   WHERE l.document_id = d.id),
                  pay.status = ANY(CAST(:paid AS text[])))
             THEN 'paid'
           WHEN pay.status = CAST(:cancelled AS text) THEN 'credited'
           WHEN CAST(d.content -> 'payment' ->> 'due_on' AS date)
                < CAST(CAST(:now AS timestamptz) AT TIME ZONE p.timezone AS date)
             THEN 'overdue'
           ELSE 'unpaid'
         END AS state,
         unaccent(lower(concat_ws(' ', o.name, u.display_name, u.email, d.number,
                                  pay.purchase_order))) AS haystack,
         date_trunc('month', d.issued_at AT TIME ZONE p.timezone) AS issued_month
  FROM billing_document d
  JOIN place p ON p.id = d.place_id
  LEFT JOIN payment bp ON bp.id = d.payment_id
  LEFT JOIN plan_charge pc ON pc.id = d.plan_charge_id
  -- A document bills a booking's payment or a membership period's charge (migration 0038).
  CROSS JOIN LATERAL (
    SELECT COALESCE(bp.purchase_order, pc.purchase_order) AS purchase_order,
           COALESCE(bp.status, pc.status) AS status
  ) pay
  JOIN user_account u ON u.id = d.buyer_user_id
  LEFT JOIN organisation o ON o.id = d.organisation_id
  WHERE d.place_id = :place_id
)
"""
_WHERE = """
WHERE (CAST(:pattern AS text) IS NULL
       OR haystack LIKE '%' || unaccent(CAST(:pattern AS text)) || '%' ESCAPE '\\')
  AND (CAST(:month AS timestamp) IS NULL OR issued_month = CAST(:month AS timestamp))
  AND (CAST(:state AS text) IS NULL OR state = CAST(:state AS text)
       OR (CAST(:state AS text) = 'unpaid' AND state = 'overdue'))
"""
# Constant fragments joined, every value a bound parameter.
_PAGE = text(
    _LISTED  # noqa: S608
    + "SELECT id, client, email, purchase_order, state FROM listed"
    + _WHERE
    + "ORDER BY issued_at DESC, id DESC LIMIT :limit OFFSET :offset"
)
_COUNT = text(_LISTED + "SELECT count(*) FROM listed" + _WHERE)  # noqa: S608


@dataclass(frozen=True)
class LedgerFilter:
    """What the list is narrowed to (empty: everything)."""

    words: str = ""
    month: date | None = None  # its first day
    state: InvoiceState | None = None  # "unpaid" includes the late ones


@dataclass(frozen=True)
class LedgerRow:
    """What the list adds to a document."""

    document_id: int
    client: str
    email: str
    purchase_order: str | None
    state: InvoiceState


def month_of(typed: str) -> date | None:
    """``2027-03`` as its first day; None when it is not a month (an empty one included)."""
    found = MONTH.match(typed.strip())
    return date(int(found.group(1)), int(found.group(2)), 1) if found else None


def _pattern(words: str) -> str | None:
    """The words as a LIKE pattern's middle, its wildcards escaped (None: no words)."""
    cleaned = " ".join(words.split()).lower()
    if not cleaned:
        return None
    return cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def ledger(
    session: AsyncSession,
    place_id: int,
    narrowed: LedgerFilter,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[LedgerRow], int]:
    """A page of the place's documents, newest first, and how many match in all."""
    params: dict[str, Any] = {
        "place_id": place_id,
        "now": now,
        "pattern": _pattern(narrowed.words),
        "month": narrowed.month,
        "state": narrowed.state,
        "paid": [str(status) for status in PAID],
        "cancelled": str(PaymentStatus.CANCELLED),
    }
    total = (await session.execute(_COUNT, params)).scalar_one()
    rows = await session.execute(_PAGE, {**params, "limit": limit, "offset": offset})
    return [LedgerRow(r.id, r.client, r.email, r.purchase_order, r.state) for r in rows], int(total)
