"""Stripe as the card gateway: PaymentIntents through the library's async client.

Production talks to api.stripe.com; tests point ``api_base`` at a localstripe peer started on
127.0.0.1. Every write carries an idempotency key (one per booking and attempt, one per refund),
so a retried call never charges or refunds twice. Webhooks are verified with
``stripe.Webhook.construct_event`` on the raw body, with a timestamp tolerance.
"""

from __future__ import annotations

from typing import Any

import stripe

from billing.providers.base import (
    IntentState,
    ProviderError,
    RefundState,
    WebhookEvent,
    WebhookSignatureError,
)


def _plain(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return data


def _intent(obj: Any) -> IntentState:
    data = _plain(obj)
    error = data.get("last_payment_error") or {}
    return IntentState(
        id=str(data["id"]),
        status=str(data["status"]),
        amount=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        failure_code=error.get("code") if isinstance(error, dict) else None,
        failure_message=error.get("message") if isinstance(error, dict) else None,
    )


class StripeGateway:
    """The :class:`~billing.providers.base.CardGateway` of Stripe."""

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str | None,
        *,
        api_base: str | None = None,
        tolerance_seconds: int = 300,
        timeout_seconds: float = 20,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=2,
        )
        self._webhook_secret = webhook_secret
        self._tolerance = tolerance_seconds

    async def create_intent(
        self, *, amount_cents: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> IntentState:
        """Create a card PaymentIntent (confirmed later by the card holder with Stripe.js)."""
        try:
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "metadata": metadata,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(str(exc), code=exc.code, status=exc.http_status) from exc
        return _intent(intent)

    async def retrieve_intent(self, intent_id: str) -> IntentState:
        """The PaymentIntent as Stripe has it now."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(intent_id)
        except stripe.StripeError as exc:
            raise ProviderError(str(exc), code=exc.code, status=exc.http_status) from exc
        return _intent(intent)

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> IntentState:
        """Cancel an unpaid PaymentIntent; if it can no longer be cancelled, report it as is."""
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                intent_id, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError:
            # Already succeeded or cancelled: what matters is its state now.
            return await self.retrieve_intent(intent_id)
        except stripe.StripeError as exc:
            raise ProviderError(str(exc), code=exc.code, status=exc.http_status) from exc
        return _intent(intent)

    async def refund(
        self,
        intent_id: str,
        amount_cents: int,
        *,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        """Refund part or all of a paid PaymentIntent."""
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": intent_id, "amount": amount_cents, "metadata": metadata},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(str(exc), code=exc.code, status=exc.http_status) from exc
        data = _plain(refund)
        return RefundState(
            id=str(data["id"]), status=str(data["status"]), amount=int(data["amount"])
        )

    def verify_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Verify the ``Stripe-Signature`` of a raw body and parse the event."""
        if not self._webhook_secret:
            raise WebhookSignatureError("no webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=self._tolerance
            )
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
            raise WebhookSignatureError(str(exc)) from exc
        data = _plain(event)
        obj = (data.get("data") or {}).get("object") or {}
        if not isinstance(obj, dict) or not isinstance(data.get("id"), str):
            raise WebhookSignatureError("not a Stripe event")
        object_id = obj.get("id")
        return WebhookEvent(
            id=data["id"],
            type=str(data.get("type", "")),
            object_type=obj.get("object"),
            object_id=object_id if isinstance(object_id, str) else None,
        )

    async def close(self) -> None:
        """Close the HTTP connections of this gateway."""
        await self._http.close_async()  # type: ignore[no-untyped-call]
