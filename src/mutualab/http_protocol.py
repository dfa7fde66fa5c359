"""uvicorn's HTTP protocol (httptools), sending each answer's head and body in one write.

uvicorn writes a response's status line and headers as soon as the app sends them, and its
body with the next message: two ``write`` system calls per answer, each waking the client. On
a two-core machine shared with PostgreSQL, waking another process is what a write costs most
(py-spy --native under bench/mixed.py: the workers' writes to their clients took 7.6 % of
their time). The transport handed to uvicorn here holds a write back, and sends it with the
next one the moment that one comes: the head of an answer leaves with its body, when the body
would have left anyway. A write that no other follows in the same turn of the event loop
leaves at the end of that turn.

Holding every write to the end of the turn instead (the first form of this) made answers wait
behind every request's work ready in that turn: keyed bookings 671 → 537 per second with wrk
(bench/RESULTS.md, 7 December 13:12).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeldWrites:
    """A transport that holds a write back until the next one, or the end of the loop's turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold ``data``, or send it at once after what was held (an empty write: a no-op)."""
        if not data:
            return
        if self._held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        held, self._held = self._held, None
        if not self._transport.is_closing():
            self._transport.write(held + data)

    def writelines(self, chunks: Any) -> None:
        """Write each chunk in turn."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is held (nothing once the connection is closing)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def get_write_buffer_size(self) -> int:
        """The transport's buffer and what is held."""
        held = 0 if self._held is None else len(self._held)
        return int(self._transport.get_write_buffer_size()) + held

    def write_eof(self) -> None:
        """Send what is held, then end the stream."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Send what is held, then close (as asyncio's close sends what is buffered)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is held and close at once."""
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, is_closing, pause_reading, ...) is the transport's.
        return getattr(self._transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a transport that sends an answer's head with its body."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Serve the connection through :class:`HeldWrites`."""
        held = HeldWrites(transport, self.loop)
        super().connection_made(held)  # type: ignore[arg-type]
