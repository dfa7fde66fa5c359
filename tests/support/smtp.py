"""A real SMTP server (aiosmtpd) on 127.0.0.1 in the test's event loop, keeping what it gets."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any, cast

from aiosmtpd.smtp import SMTP


@dataclass
class Delivery:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the server received; it answers 451 (try later) to the first ``refusals`` messages."""

    refusals: int = 0
    received: list[Delivery] = field(default_factory=list)
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 Try again later"
        parsed = cast(EmailMessage, email.message_from_bytes(envelope.content, policy=default))
        self.received.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for ``address``."""
        return [d.message for d in self.received if address in d.rcpt_tos]


@asynccontextmanager
async def smtp_server(inbox: Inbox) -> AsyncIterator[int]:
    """Serve ``inbox`` on a free port of 127.0.0.1 for the block; yields the port."""
    import asyncio

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="smtp.test", loop=loop), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
