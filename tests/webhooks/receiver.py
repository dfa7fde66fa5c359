"""A real HTTP receiver on 127.0.0.1 (aiohttp), for webhook tests: it keeps every request and
answers with the statuses it is told, then 204."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def id(self) -> str:
        """The webhook-id header."""
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict[str, object]:
        """The payload, if the signature is ``secret``'s (raises otherwise)."""
        payload: dict[str, object] = Webhook(secret).verify(self.body, self.headers)
        return payload


@dataclass
class Receiver:
    """What a subscriber's endpoint received; ``answers`` are used first, in order."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Keep the request, answer the next status."""
        body = await request.read()
        status = self.answers.pop(0) if self.answers else 204
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(Received(headers, body, status))
        return web.Response(status=status)

    def accepted(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]


@asynccontextmanager
async def receiving(answers: list[int] | None = None) -> AsyncIterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 for the block's duration."""
    receiver = Receiver(answers=list(answers or []))
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
