"""The horizon job: the dates of series beyond the booking horizon when booked are booked
and billed by the workers once the horizon reaches them (hourly), each series in a
transaction of its own, as its booker; a date that can no longer be had is dropped and
published (``series.date_lost``) for the booker to be told."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from accounts.identity import actor_for_user
from accounts.models import User
from billing.runtime import Billing, transaction
from kernel.errors import AppError

logger = logging.getLogger("mutualab.billing")


@dataclass
class HorizonReport:
    """What one run did: series looked at, dates lost, series that failed as a whole."""

    series: int = 0
    lost: list[tuple[int, date]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def book_pending_dates(billing: Billing) -> HorizonReport:
    """Book (and bill) every pending date the horizon now reaches, series by series."""
    report = HorizonReport()
    async with transaction(billing.database, write=False) as session:
        ids = await billing.booking.series(session).pending_series()
    for series_id in ids:
        report.series += 1
        try:
            async with transaction(billing.database) as session:
                service = billing.series(session)
                series = await service.series.repo.get_series(series_id)
                if series is None:
                    continue
                user = await session.get(User, series.booker_user_id)
                if user is None or not user.active:
                    continue
                actor = await actor_for_user(session, user, can_write=True, via="system")
                lost = await service.book_pending(actor, series_id, billing.clock())
                report.lost += [(series_id, day) for day in lost]
        except AppError as exc:
            # A resource withdrawn, a booker no longer in the school: tried again next run,
            # and the manager sees the dates still waiting on the series' page.
            logger.warning("series %s: pending dates not booked (%s)", series_id, exc.code)
            report.failed.append(series_id)
    return report
