"""The demo's SMTP catcher: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it gets.

``mutualab demo`` starts one when no SMTP server is configured and points the mailer at it, so
a newcomer's booking sends its e-mails for real, and the outbox page shows them delivered,
without any message leaving the machine. It runs in a thread with its own event loop: it
outlives the application's loop and never slows it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP

KEEP = 500


@dataclass(frozen=True)
class Caught:
    """One message the catcher received."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


class SmtpCatcher:
    """An SMTP server on a free port of 127.0.0.1, keeping the last messages it received."""

    def __init__(self, keep: int = KEEP) -> None:
        self.received: deque[Caught] = deque(maxlen=keep)
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message."""
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        self.received.append(Caught(envelope.mail_from, tuple(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        """The mailer's setting for this catcher (MUTUALAB_SMTP_URL)."""
        if self.port is None:
            raise RuntimeError("the catcher is not started")
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> int:
        """Serve in a thread of its own; returns the port once it accepts connections."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(
                        lambda: SMTP(self, hostname="catcher.mutualab.invalid", loop=loop),
                        "127.0.0.1",
                        0,
                    )
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="mutualab-smtp-catcher", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        assert self.port is not None
        return self.port

    def stop(self) -> None:
        """Stop serving and end the thread."""
        loop, server, thread = self._loop, self._server, self._thread
        if loop is None or thread is None:
            return

        async def close() -> None:
            if server is not None:
                server.close()
                await server.wait_closed()
            loop.stop()

        asyncio.run_coroutine_threadsafe(close(), loop)
        thread.join(timeout=10)
