"""Closing a month or fiscal year of a place, and the archive kept of it.

A period is closed once it has ended (in the place's zone), by a manager of the place or an
administrator; from then on nothing is issued with a date inside it
(:mod:`billing.open_periods`). Closing takes the place's closing lock alone, so the issues under
way are committed first, then builds the archive in the same transaction as the record of who
closed what and when: every invoice and credit note of the period, the FEC of the period, the
heads of the hash chains, and a manifest of SHA-256 sums (:mod:`billing.archive`). Each
document is its Factur-X (:func:`document_file`).

The archive is kept in the database (``closed_period.archive``) rather than in the file store
the photos use: it is written in the closing's own transaction (no closed period without its
archive, no orphan file after a rollback), it is saved and restored with the invoices it
vouches for by ``mutualab db backup``, and the row is refused any change by a trigger. A
month's archive is a few megabytes at most.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing.accounting import Accounting, bounds, siren_of
from billing.accounting_models import ClosedPeriod
from billing.accounting_periods import AccountingPeriod, parse
from billing.accounting_repository import AccountingRepository
from billing.accounting_schemas import ClosedPeriodRead
from billing.archive import build, sha256, verify
from billing.facturx import facturx_pdf
from billing.invoicing import Finding
from billing.models import BillingDocument, DocumentSeries
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, InvalidInputError, NotFoundError
from resources.models import Place
from resources.service import CatalogueService

CHAIN_FILE = "chaine.json"


def document_file(document: BillingDocument) -> tuple[str, bytes]:
    """An invoice or credit note as a file of the archive: its Factur-X (PDF/A-3 carrying the
    EN 16931 XML), the one place that says which."""
    return f"documents/{document.number}.pdf", facturx_pdf(document.content, document.hash)


def period_of(row: ClosedPeriod) -> AccountingPeriod:
    """The days a closed period covers."""
    return AccountingPeriod(row.kind, row.first_day, row.last_day)


def closed_read(row: ClosedPeriod, size: int) -> ClosedPeriodRead:
    """A closed period as the API shows it."""
    assert row.id is not None
    return ClosedPeriodRead(
        id=row.id,
        place_id=row.place_id,
        kind=row.kind,
        period=period_of(row).key,
        first_day=row.first_day,
        last_day=row.last_day,
        closed_at=row.closed_at,
        closed_by_user_id=row.closed_by_user_id,
        archive_name=row.archive_name,
        archive_sha256=row.archive_sha256,
        archive_size=size,
        archive_url=f"/api/places/{row.place_id}/closed-periods/{row.id}/archive",
    )


def chain_heads(
    series: list[DocumentSeries], documents: list[BillingDocument], period: AccountingPeriod
) -> bytes:
    """Per numbering series: the last document of the period and its hash, and the series'
    head when the period was closed (an anchor kept outside the chain)."""
    last: dict[int, BillingDocument] = {}
    counts: dict[int, int] = {}
    for document in documents:
        last[document.series_id] = document
        counts[document.series_id] = counts.get(document.series_id, 0) + 1
    heads: list[dict[str, Any]] = []
    for row in series:
        assert row.id is not None
        found = last.get(row.id)
        heads.append(
            {
                "kind": row.kind,
                "prefix": row.prefix,
                "year": row.year,
                "documents_in_period": counts.get(row.id, 0),
                "last_number_in_period": found.number if found else None,
                "last_hash_in_period": found.hash if found else None,
                "head_sequence": row.last_sequence,
                "head_hash": row.last_hash,
                "genesis_hash": row.genesis_hash,
            }
        )
    body = {"period": period.key, "first_day": period.first, "last_day": period.last}
    return json.dumps(
        {**body, "series": heads}, default=str, ensure_ascii=False, indent=2, sort_keys=True
    ).encode("utf-8")


class Closing:
    """Close periods of a place, list them, hand out and verify their archives."""

    def __init__(
        self, repository: AccountingRepository, accounting: Accounting, catalogue: CatalogueService
    ) -> None:
        self.repo = repository
        self.accounting = accounting
        self.catalogue = catalogue

    async def period(self, place_id: int, kind: str, key: str) -> AccountingPeriod:
        """A month or fiscal year of the place from its key (422 naming ``period``)."""
        start_month = (await self.accounting.settings_row(place_id)).fiscal_year_start_month
        try:
            return parse(kind, key, start_month)
        except ValueError as error:
            raise InvalidInputError(str(error), field="period", code="bad_period") from None

    async def close(
        self, actor: Actor, place_id: int, kind: str, key: str, now: datetime
    ) -> ClosedPeriodRead:
        """Close an ended month or fiscal year and keep its archive."""
        place = await self.catalogue.managed_place(actor, place_id)
        period = await self.period(place_id, kind, key)
        today = now.astimezone(ZoneInfo(place.timezone)).date()
        if period.last >= today:
            raise ConflictError(
                f"The period {period.key} ends on {period.last.isoformat()}: it can be closed "
                "from the next day.",
                code="period_not_ended",
            )
        siren_of(place)
        await self.repo.take_closing_lock(place_id)
        for closed in await self.repo.overlapping(place_id, period.first, period.last):
            if period_of(closed).covers(period):
                raise ConflictError(
                    f"The period {period.key} is closed already.",
                    code="period_already_closed",
                    extra={"closed_period_id": closed.id},
                )
        name, data = await self._archive(place, period, now)
        row = ClosedPeriod(
            place_id=place_id,
            kind=period.kind,
            first_day=period.first,
            last_day=period.last,
            closed_at=now,
            closed_by_user_id=actor.user_id,
            archive_name=name,
            archive=data,
            archive_sha256=sha256(data),
        )
        await self.repo.save(row)
        return closed_read(row, len(data))

    async def _archive(
        self, place: Place, period: AccountingPeriod, now: datetime
    ) -> tuple[str, bytes]:
        assert place.id is not None
        start, end = bounds(period, place.timezone)
        documents = await self.repo.documents_between(place.id, start, end)
        fec_name, fec = await self.accounting.fec(place, period)
        files = [document_file(d) for d in documents]
        files.append((fec_name, fec))
        files.append(
            (CHAIN_FILE, chain_heads(await self.repo.series_of(place.id), documents, period))
        )
        local = now.astimezone(ZoneInfo(place.timezone))
        name = f"{siren_of(place)}-cloture-{period.key}.zip"
        return name, build(files, local)

    async def closed(self, actor: Actor, place_id: int) -> list[ClosedPeriodRead]:
        """The closed periods of a place, newest first."""
        await self.catalogue.managed_place(actor, place_id)
        rows = await self.repo.closed_periods(place_id, with_archives=True)
        return [closed_read(row, len(row.archive)) for row in rows]

    async def archive(self, actor: Actor, place_id: int, period_id: int) -> ClosedPeriod:
        """A closed period with its archive (404 for another place's)."""
        await self.catalogue.managed_place(actor, place_id)
        row = await self.repo.closed_period(place_id, period_id)
        if row is None:
            raise NotFoundError(f"No closed period {period_id}.", code="closed_period_not_found")
        return row


async def verify_archives(repo: AccountingRepository, place_id: int | None = None) -> list[Finding]:
    """Every kept archive checked against its own SHA-256 and its manifest; [] when intact."""
    findings: list[Finding] = []
    for row in await repo.closed_periods(place_id, with_archives=True):
        series = f"archive {row.kind} {period_of(row).key}"
        for problem in verify(row.archive, row.archive_sha256):
            detail = f"{problem.name}: {problem.detail}" if problem.name else problem.detail
            findings.append(Finding(row.place_id, series, row.archive_name, problem.code, detail))
    return findings
