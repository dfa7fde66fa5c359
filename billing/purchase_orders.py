"""An organisation that pays on purchase orders names one whenever it pays on invoice."""

from __future__ import annotations

from billing.repository import BillingRepository
from kernel.errors import InvalidInputError


async def require_purchase_order(
    repo: BillingRepository, organisation_id: int | None, method: str, purchase_order: str | None
) -> None:
    """422 ``purchase_order_required`` when ``organisation_id`` pays on invoice without the
    reference its own rules ask for."""
    if method != "invoice" or purchase_order or organisation_id is None:
        return
    organisation = await repo.organisation(organisation_id)
    if organisation is not None and organisation.requires_purchase_order:
        raise InvalidInputError(
            f"{organisation.name} pays on a purchase order: give its reference.",
            field="purchase_order",
            code="purchase_order_required",
        )
