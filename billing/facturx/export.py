"""A place's invoices and credit notes to public buyers over a period, as Factur-X files handed
to a sender (:mod:`billing.facturx.senders`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import anyio.to_thread

from billing.facturx.document import facturx_pdf
from billing.facturx.senders import Delivery, EInvoice, EInvoiceSender
from billing.models import BillingDocument
from billing.repository import BillingRepository
from kernel.errors import InvalidInputError
from resources.models import Place

MAX_DAYS = 366


def check_period(first: date, after: date) -> None:
    """A period of local dates [first, after): not empty, a year at most."""
    if after <= first:
        raise InvalidInputError(
            "The period ends before it starts.", field="to", code="invalid_period"
        )
    if (after - first).days > MAX_DAYS:
        raise InvalidInputError(
            f"Export {MAX_DAYS} days at most at once.", field="to", code="period_too_long"
        )


def _einvoices(documents: Sequence[BillingDocument]) -> list[EInvoice]:
    batch = []
    for document in documents:
        content = document.content
        buyer = content["buyer"]
        batch.append(
            EInvoice(
                number=document.number,
                kind=document.kind,
                issued_on=str(content["issued_on"]),
                buyer=str(buyer["name"]),
                buyer_siret=buyer.get("siret"),
                service_code=buyer.get("service_code"),
                engagement=content["payment"].get("purchase_order"),
                total_incl_vat_cents=document.total_incl_vat_cents,
                pdf=facturx_pdf(content, document.hash),
            )
        )
    return batch


async def export_public_buyers(
    repository: BillingRepository,
    place: Place,
    first: date,
    after: date,
    sender: EInvoiceSender,
) -> Delivery:
    """The documents to public bodies issued from ``first`` to the day before ``after`` (the
    place's local dates), given to ``sender``."""
    check_period(first, after)
    assert place.id is not None
    zone = ZoneInfo(place.timezone)
    documents = await repository.public_buyer_documents(
        place.id,
        datetime.combine(first, time(), zone),
        datetime.combine(after, time(), zone),
    )
    # Rendering PDFs is CPU work: off the event loop. The request's transaction only read.
    batch = await anyio.to_thread.run_sync(_einvoices, documents)
    label = f"facturx-{place.slug}-{first.isoformat()}-{after.isoformat()}"
    return await anyio.to_thread.run_sync(sender.send, batch, label)
