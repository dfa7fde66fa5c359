"""What every payment method declares, and the interface a card gateway implements.

The billing services only know :class:`CardGateway`; :mod:`billing.providers.stripe` is the
production implementation (tests reach a real local Stripe peer through it, never a mock).
Gateway calls leave the process: they are made after commit, never inside a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from billing.models import PaymentStatus

Method = Literal["card", "on_site", "invoice", "free", "wallet"]


@dataclass(frozen=True, slots=True)
class MethodInfo:
    """How a payment method behaves in the booking flow."""

    code: Method
    label_fr: str
    # The booking is held (with an expiry) until the money arrives.
    holds: bool
    # When the invoice is issued: on confirmation of the booking, or once paid.
    invoice_on: Literal["confirmation", "payment", "never"]
    # The payment's status right after checkout.
    initial_status: PaymentStatus


METHODS: dict[str, MethodInfo] = {
    "card": MethodInfo("card", "Carte bancaire (en ligne)", True, "payment", PaymentStatus.PENDING),
    "on_site": MethodInfo(
        "on_site", "Paiement sur place", False, "payment", PaymentStatus.AWAITING_ON_SITE
    ),
    "invoice": MethodInfo(
        "invoice", "Paiement sur facture", False, "confirmation", PaymentStatus.INVOICED
    ),
    "free": MethodInfo("free", "Gratuit", False, "never", PaymentStatus.FREE),
    # The person's wallet at the place pays the whole quote at checkout.
    "wallet": MethodInfo("wallet", "Porte-monnaie", False, "confirmation", PaymentStatus.SUCCEEDED),
}


class ProviderError(Exception):
    """The payment provider refused or could not be reached."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class WebhookSignatureError(Exception):
    """A webhook whose signature is missing, wrong or too old."""


@dataclass(frozen=True, slots=True)
class IntentState:
    """A PaymentIntent as the provider reports it (never as a browser claims it)."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class RefundState:
    """A refund as the provider reports it."""

    id: str
    status: str
    amount: int


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook event: its id, its type and the id of the object it is about."""

    id: str
    type: str
    object_type: str | None
    object_id: str | None


class CardGateway(Protocol):
    """Card payments through a provider (Stripe PaymentIntents)."""

    async def create_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> IntentState:
        """Create a PaymentIntent the card holder confirms in the browser."""

    async def retrieve_intent(self, intent_id: str) -> IntentState:
        """The PaymentIntent as the provider has it now."""

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> IntentState:
        """Cancel a PaymentIntent that was not paid."""

    async def refund(
        self,
        intent_id: str,
        amount_cents: int,
        *,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        """Give back ``amount_cents`` of a paid PaymentIntent."""

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Check a webhook's signature on its raw body and parse it."""

    async def close(self) -> None:
        """Release connections."""
