"""Calling the card provider about a PaymentIntent between transactions, never inside one:
creating a row's intent once, fetching one back and applying it, and bringing a list of rows
due by card in line. Shared by memberships, tickets and packs (:mod:`billing.plan_cards`) and
wallet top-ups (:mod:`billing.wallet_top_up_cards`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.providers.base import CardGateway, IntentState, ProviderError
from billing.runtime import Billing, transaction

Apply = Callable[[AsyncSession, IntentState, datetime], Awaitable[str]]


async def create_once(
    gateway: CardGateway,
    amount_cents: int,
    currency: str,
    idempotency_key: str,
    metadata: dict[str, str],
    log: tuple[logging.Logger, str, int],
) -> IntentState | None:
    """The intent made under the row's one key (a retry never creates a second), or None
    once the failure is logged (``log``: the logger, what the row is, its id): a later
    refresh tries again."""
    try:
        return await gateway.create_intent(
            amount_cents=amount_cents,
            currency=currency,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
    except ProviderError as exc:
        logger, what, row_id = log
        logger.warning("could not create the PaymentIntent of %s %s: %s", what, row_id, exc)
        return None


async def fetch_and_apply(
    billing: Billing, intent_id: str, apply: Apply, logger: logging.Logger
) -> str:
    """Fetch a PaymentIntent back from the provider and ``apply`` it in its own transaction:
    what ``apply`` says, or why nothing was applied."""
    gateway = billing.gateway
    if gateway is None:
        return "card_payments_unavailable"
    try:
        intent = await gateway.retrieve_intent(intent_id)
    except ProviderError as exc:
        logger.warning("could not fetch PaymentIntent %s: %s", intent_id, exc)
        return "provider_unavailable"
    async with transaction(billing.database) as session:
        return await apply(session, intent, billing.clock())


async def bring_in_line(
    pending: Iterable[tuple[int, str | None]],
    start: Callable[[int], Awaitable[None]],
    sync: Callable[[str], Awaitable[str]],
) -> None:
    """Rows due by card (id, intent id): an intent created where none is, the others
    fetched back and applied."""
    for row_id, intent_id in pending:
        if intent_id is None:
            await start(row_id)
        else:
            await sync(intent_id)
