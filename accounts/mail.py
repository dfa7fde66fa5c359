"""The messages accounts sends (verify an address, reset a password, an invitation...).

Accounts sits below the notifications package, so it cannot call the outbox itself: it names
what to send through this port, and the composition root gives it the outbox
(``mutualab.account_mail``). The message is queued in the caller's transaction: a refused
request sends nothing, and ``key`` makes a retried one send once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class AccountMessage:
    """One message to one address, from a template of the outbox."""

    key: str
    to: str
    template: str
    language: str
    context: Mapping[str, Any] = field(default_factory=dict)
    # Links that log in or prove an address: not shown in the outbox, blanked once sent.
    sensitive: bool = False


class AccountMail(Protocol):
    """Queues a message in the caller's transaction; False when its key was already queued."""

    async def __call__(self, session: AsyncSession, message: AccountMessage) -> bool: ...
