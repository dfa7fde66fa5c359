"""A place's books: its fiscal year and account numbers, and its FEC over a period.

The FEC is read from what billing stored and never changes: the issued invoices and credit
notes (sales), the receipts recorded at the desk and the payments paid at once (by card, or
recorded in one go), the refunds that moved money (by Stripe, or given back by the place), and
the wallets' movements (a top-up by card is money received; the others move no money).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from billing.accounting_models import AccountingSettings
from billing.accounting_periods import AccountingPeriod, fiscal_year
from billing.accounting_repository import AccountingRepository
from billing.accounting_schemas import AccountingSettingsRead, AccountingSettingsWrite
from billing.fec import (
    AccountPlan,
    Customer,
    MoneyMove,
    SaleDocument,
    Transfer,
    VatShare,
    customer,
    entries,
    file_name,
    render,
)
from billing.models import BillingDocument
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, InvalidInputError
from resources.models import Place
from resources.service import CatalogueService

MAX_VAT_RATES = 20
# A wallet movement that moves no money: the accounts debited and credited, and its label.
WALLET_ENTRIES = {
    "spend": ("wallet", "customers", "Porte-monnaie utilisé, réservation"),
    "give_back": ("customers", "wallet", "Porte-monnaie rendu, réservation"),
    "refund_credit": ("customers", "wallet", "Remboursement au porte-monnaie, réservation"),
    "manager_credit": ("wallet_gifts", "wallet", "Crédit offert au porte-monnaie :"),
}


def bounds(period: AccountingPeriod, zone: str) -> tuple[datetime, datetime]:
    """The instants a period's days span in the place's zone (the end excluded)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(period.first, time(), tz).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(), tz).astimezone(UTC)
    return start, end


def siren_of(place: Place) -> str:
    """The SIREN the FEC's name carries; a place without one cannot export."""
    siret = place.operator_siret or ""
    if len(siret) < 9 or not siret[:9].isdigit():
        raise ConflictError(
            "The place's SIRET is needed to name the FEC: set the operator's SIRET first.",
            code="siren_required",
        )
    return siret[:9]


def sale_document(document: BillingDocument) -> SaleDocument:
    """An issued document as the sales journal books it."""
    content: dict[str, Any] = document.content
    buyer = content.get("buyer") or {}
    return SaleDocument(
        number=document.number,
        kind=document.kind,
        issued_on=date.fromisoformat(str(content["issued_on"])),
        customer=customer(
            document.organisation_id, document.buyer_user_id, str(buyer.get("name") or "")
        ),
        shares=tuple(
            VatShare(str(b["rate"]), int(b["base_cents"]), int(b["vat_cents"]))
            for b in content["vat_breakdown"]
        ),
        total_incl_vat_cents=document.total_incl_vat_cents,
    )


class Accounting:
    """A place's accounting settings and its FEC."""

    def __init__(self, repository: AccountingRepository, catalogue: CatalogueService) -> None:
        self.repo = repository
        self.catalogue = catalogue

    async def managed_settings(self, actor: Actor, place_id: int) -> AccountingSettingsRead:
        """The settings of a place its managers see."""
        await self.catalogue.managed_place(actor, place_id)
        return await self.settings(place_id)

    async def change_settings(
        self, actor: Actor, place_id: int, data: AccountingSettingsWrite, now: datetime
    ) -> AccountingSettingsRead:
        """Change the settings of a place its managers keep."""
        await self.catalogue.managed_place(actor, place_id)
        return await self.save_settings(place_id, data, now)

    async def year_fec(self, actor: Actor, place_id: int, year: int) -> tuple[str, bytes]:
        """The FEC of a place's fiscal year starting in ``year``, for its managers."""
        place = await self.catalogue.managed_place(actor, place_id)
        return await self.fec(place, await self.fiscal_year(place_id, year))

    async def settings_row(self, place_id: int) -> AccountingSettings:
        """The saved settings, or the defaults."""
        return await self.repo.settings(place_id) or AccountingSettings(place_id=place_id)

    async def settings(self, place_id: int) -> AccountingSettingsRead:
        """The settings with every default filled in."""
        row = await self.settings_row(place_id)
        plan = AccountPlan.of(row.accounts)
        return AccountingSettingsRead(
            place_id=place_id,
            fiscal_year_start_month=row.fiscal_year_start_month,
            accounts=dict(plan.accounts),
            vat_rates=dict(plan.vat_rates),
        )

    async def save_settings(
        self, place_id: int, data: AccountingSettingsWrite, now: datetime
    ) -> AccountingSettingsRead:
        """Change the account numbers and the fiscal year's start (not once a year is closed:
        its days would no longer be a fiscal year)."""
        row = await self.settings_row(place_id)
        if data.fiscal_year_start_month != row.fiscal_year_start_month and any(
            p.kind == "year" for p in await self.repo.closed_periods(place_id)
        ):
            raise ConflictError(
                "A fiscal year is closed: its first month can no longer change.",
                code="fiscal_year_closed",
            )
        if len(data.vat_rates) > MAX_VAT_RATES:
            raise InvalidInputError(
                f"At most {MAX_VAT_RATES} VAT rates.", field="vat_rates", code="too_many"
            )
        row.fiscal_year_start_month = data.fiscal_year_start_month
        row.accounts = {"accounts": dict(data.accounts), "vat_rates": dict(data.vat_rates)}
        row.updated_at = now
        await self.repo.save(row)
        return await self.settings(place_id)

    async def fiscal_year(self, place_id: int, year: int) -> AccountingPeriod:
        """The place's fiscal year starting in ``year``."""
        row = await self.settings_row(place_id)
        return fiscal_year(year, row.fiscal_year_start_month)

    async def fec(self, place: Place, period: AccountingPeriod) -> tuple[str, bytes]:
        """The FEC of a place over a period: its file name and bytes."""
        assert place.id is not None
        siren = siren_of(place)
        plan = AccountPlan.of((await self.settings_row(place.id)).accounts)
        start, end = bounds(period, place.timezone)
        documents = [
            sale_document(d) for d in await self.repo.documents_between(place.id, start, end)
        ]
        moves = await self._moves(place, period, start, end)
        top_ups, transfers = await self._wallet_moves(place, start, end)
        lines = entries(documents, moves + top_ups, plan, transfers)
        return file_name(siren, period.last), render(lines)

    async def _wallet_moves(
        self, place: Place, start: datetime, end: datetime
    ) -> tuple[list[MoneyMove], list[Transfer]]:
        """The wallets' movements: top-ups as bank receipts to customers' advances, the rest as
        miscellaneous entries (what the wallet holds is owed to its holder: 4191)."""
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        found = await self.repo.wallet_movements_between(place.id, start, end)
        _, people = await self.repo.buyer_names([], [user_id for _, user_id in found])
        top_ups: list[MoneyMove] = []
        transfers: list[Transfer] = []
        for movement, user_id in found:
            day = movement.created_at.astimezone(tz).date()
            holder = customer(None, user_id, people.get(user_id, ""))
            reference = f"PM-{movement.id}"
            order = int(movement.created_at.timestamp())
            cents = abs(movement.amount_cents)
            if movement.kind == "top_up":
                top_ups.append(
                    MoneyMove(
                        means="card",
                        day=day,
                        amount_cents=cents,
                        customer=holder,
                        reference=reference,
                        label=f"Rechargement du porte-monnaie {movement.top_up_id}",
                        order=order,
                        counter="wallet",
                    )
                )
                continue
            debit, credit, label = WALLET_ENTRIES[movement.kind]
            transfers.append(
                Transfer(
                    day=day,
                    debit=debit,
                    credit=credit,
                    amount_cents=cents,
                    customer=holder,
                    reference=reference,
                    label=f"{label} {movement.booking_id or movement.reason}".strip(),
                    order=order,
                )
            )
        return top_ups, transfers

    async def _moves(
        self, place: Place, period: AccountingPeriod, start: datetime, end: datetime
    ) -> list[MoneyMove]:
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        receipts = await self.repo.receipts_between(place.id, period.first, period.last)
        paid = await self.repo.paid_without_receipts(place.id, start, end)
        refunds = await self.repo.refunds_between(place.id, start, end)
        organisations, people = await self.repo.buyer_names(
            [r.organisation_id for r in receipts if r.organisation_id is not None]
            + [p.organisation_id for p in paid if p.organisation_id is not None]
            + [r.payment.organisation_id for r in refunds if r.payment.organisation_id],
            [r.payer_user_id for r in receipts]
            + [p.payer_user_id for p in paid]
            + [r.payment.payer_user_id for r in refunds],
        )

        def buyer(organisation_id: int | None, user_id: int) -> Customer:
            name = (
                organisations.get(organisation_id, "")
                if organisation_id is not None
                else people.get(user_id, "")
            )
            return customer(organisation_id, user_id, name)

        moves: list[MoneyMove] = []
        for row in receipts:
            receipt = row.receipt
            reversal = receipt.reverses_id is not None
            moves.append(
                MoneyMove(
                    means=receipt.means,
                    day=receipt.received_on,
                    amount_cents=receipt.amount_cents,
                    customer=buyer(row.organisation_id, row.payer_user_id),
                    reference=receipt.reference or f"ENC-{receipt.id}",
                    label=(
                        f"Annulation de l'encaissement {receipt.reverses_id}"
                        if reversal
                        else f"Encaissement {receipt.id} paiement {receipt.payment_id}"
                    ),
                    order=int(receipt.created_at.timestamp()),
                )
            )
        for payment in paid:
            assert payment.paid_at is not None
            moves.append(
                MoneyMove(
                    means="card" if payment.method == "card" else payment.on_site_means or "cash",
                    day=payment.paid_at.astimezone(tz).date(),
                    amount_cents=payment.amount_cents,
                    customer=buyer(payment.organisation_id, payment.payer_user_id),
                    reference=f"PAI-{payment.id}",
                    label=f"Paiement {payment.id}",
                    order=int(payment.paid_at.timestamp()),
                )
            )
        for given in refunds:
            refund, payment = given.refund, given.payment
            moved = refund.completed_at or refund.created_at
            moves.append(
                MoneyMove(
                    means="card" if payment.method == "card" else payment.on_site_means or "cash",
                    day=moved.astimezone(tz).date(),
                    amount_cents=-refund.amount_cents,
                    customer=buyer(payment.organisation_id, payment.payer_user_id),
                    reference=f"REM-{refund.id}",
                    label=f"Remboursement {refund.id} paiement {payment.id}",
                    order=int(moved.timestamp()),
                )
            )
        return moves
