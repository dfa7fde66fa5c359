"""The served HTTP protocol: each answer leaves in one write, whole, before any close.

uvicorn is run for real on 127.0.0.1 with :class:`mutualab.http_protocol.OneWriteHttpProtocol`;
the only stand-in is a recorder around the loop's own transport (asyncio's interface, not our
code), to count the writes that reach the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from mutualab.http_protocol import HeldWrites, OneWriteHttpProtocol
from tests.support.net import free_port, serving


class RecordedTransport:
    """The loop's transport, with every write that reaches it noted."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


RECORDED: list[RecordedTransport] = []


class RecordedProtocol(OneWriteHttpProtocol):
    """The served protocol over a recorded transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        recorded = RecordedTransport(transport)
        RECORDED.append(recorded)
        super().connection_made(recorded)  # type: ignore[arg-type]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """JSON in one message, or (at /stream) a body in three chunks a loop step apart."""
    if scope["type"] != "http":
        return
    body = b'{"ok": true}'
    streamed = scope["path"] == "/stream"
    headers = [(b"content-type", b"application/json")]
    if not streamed:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if not streamed:
        await send({"type": "http.response.body", "body": body})
        return
    for chunk in (b"one,", b"two,", b"three"):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await asyncio.sleep(0.01)
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def served() -> AsyncIterator[int]:
    """uvicorn serving ``app`` with the recorded protocol; yields its port."""
    RECORDED.clear()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=RecordedProtocol, log_level="warning", lifespan="off"
    )
    async with serving(config):
        yield port


async def _ask(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, close: bool = False
) -> tuple[bytes, bytes]:
    connection = b"close" if close else b"keep-alive"
    writer.write(
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
        + connection
        + b"\r\n\r\n"
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return head, body
            body += chunk[:-2]
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head, await reader.readexactly(length)


async def test_each_answer_leaves_in_one_write(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    answers = [await _ask(reader, writer, "/") for _ in range(3)]
    last = await _ask(reader, writer, "/", close=True)
    assert await reader.read() == b""  # closed by the server once the answer was sent
    writer.close()
    for head, body in [*answers, last]:
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert body == b'{"ok": true}'
    [recorded] = RECORDED
    assert len(recorded.writes) == 4
    assert all(write.endswith(b'\r\n\r\n{"ok": true}') for write in recorded.writes)


async def test_a_streamed_body_leaves_chunk_by_chunk(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    head, body = await _ask(reader, writer, "/stream", close=True)
    writer.close()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == b"one,two,three"
    [recorded] = RECORDED
    # The head goes with the first chunk; each later chunk, sent a turn apart, on its own.
    assert len(recorded.writes) == 4
    assert recorded.writes[0].endswith(b"one,\r\n")


async def test_a_held_write_leaves_with_the_next_at_once_or_at_the_turns_end() -> None:
    loop = asyncio.get_running_loop()
    received = bytearray()
    closed = asyncio.Event()

    class Peer(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received.extend(data)

        def connection_lost(self, exc: Exception | None) -> None:
            closed.set()

    server = await loop.create_server(Peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    recorded = RecordedTransport(transport)
    held = HeldWrites(recorded, loop)  # type: ignore[arg-type]
    held.write(b"head|")
    held.write(b"")
    assert recorded.writes == []  # held back
    held.write(bytearray(b"body|"))
    assert recorded.writes == [b"head|body|"]  # at once, not at the end of the turn
    held.write(b"alone|")
    assert held.get_write_buffer_size() >= 6
    await asyncio.sleep(0)
    assert recorded.writes == [b"head|body|", b"alone|"]  # no other came: at the turn's end
    held.writelines([b"last|", b"words|"])
    held.write(b"bye")
    held.close()  # the close sends what is held first
    await asyncio.wait_for(closed.wait(), 5)
    assert recorded.writes == [b"head|body|", b"alone|", b"last|words|", b"bye"]
    assert bytes(received) == b"head|body|alone|last|words|bye"
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_an_abort_drops_what_is_held() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    recorded = RecordedTransport(transport)
    held = HeldWrites(recorded, loop)  # type: ignore[arg-type]
    held.write(b"never sent")
    held.abort()
    await asyncio.sleep(0)
    assert recorded.writes == []
    assert held.is_closing()
    server.close()
