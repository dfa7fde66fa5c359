"""Nothing is issued with a date inside a closed period: the check every issue makes."""

from __future__ import annotations

from datetime import date

from billing.accounting_repository import AccountingRepository
from kernel.errors import ConflictError


class PeriodClosedError(ConflictError):
    """A document would be dated inside a period the place closed."""

    code = "period_closed"
    title = "Period closed"


async def ensure_open(repo: AccountingRepository, place_id: int, day: date) -> None:
    """Refuse to issue a document dated ``day`` at a place where that day is closed.

    Waits first while a closing of the place is under way (its lock), so a document is either
    in the archive of the period it is dated in, or refused.
    """
    await repo.share_closing_lock(place_id)
    closed = await repo.closed_on(place_id, day)
    if closed is not None:
        key = f"{closed.first_day:%Y-%m}" if closed.kind == "month" else f"{closed.first_day:%Y}"
        raise PeriodClosedError(
            f"The {'month' if closed.kind == 'month' else 'fiscal year'} {key} is closed: "
            f"nothing can be issued on {day.isoformat()}.",
            extra={"closed_period_id": closed.id, "period": key, "day": day.isoformat()},
        )
