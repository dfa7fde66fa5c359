"""The grouped-invoice job: hourly, every place that groups its invoices or issues them on a
period's day has the invoices now due issued, each place in a transaction of its own. Run
twice, the second run issues nothing (:mod:`billing.grouped_invoices`); each invoice is mailed
with its PDF after commit (the ``invoice.issued`` event)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from billing.repository import BillingRepository
from billing.runtime import Billing, transaction
from kernel.errors import AppError

logger = logging.getLogger("mutualab.billing")


@dataclass
class GroupedReport:
    """What one run did: invoices issued (numbers), groups refused, places that failed."""

    issued: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def issue_due_invoices(billing: Billing) -> GroupedReport:
    """Issue the grouped invoices due now, place by place."""
    report = GroupedReport()
    async with transaction(billing.database, write=False) as session:
        places = await BillingRepository(session).grouping_places()
    for place_id in places:
        try:
            async with transaction(billing.database) as session:
                outcome = await billing.services(session).grouped.issue_due(
                    place_id, billing.clock()
                )
        except AppError as exc:
            logger.warning("place %s: grouped invoices not issued (%s)", place_id, exc.code)
            report.failed.append(place_id)
            continue
        report.issued += [d.number for d in outcome.issued]
        report.refused += [f"place {place_id}: {why}" for why in outcome.refused]
    return report
