"""Payment methods behind one interface: card (Stripe), on site, on invoice, free."""

from billing.providers.base import (
    METHODS,
    CardGateway,
    IntentState,
    MethodInfo,
    ProviderError,
    RefundState,
    WebhookEvent,
    WebhookSignatureError,
)

__all__ = [
    "METHODS",
    "CardGateway",
    "IntentState",
    "MethodInfo",
    "ProviderError",
    "RefundState",
    "WebhookEvent",
    "WebhookSignatureError",
]
