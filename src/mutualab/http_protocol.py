"""uvicorn's HTTP protocol (httptools), sending each answer's head and body in one write.

uvicorn writes a response's status line and headers as soon as the app sends them, and its
body with the next message: two ``write`` system calls per answer, each waking the client. On
a two-core machine shared with PostgreSQL, waking another process is what a write costs most
(py-spy --native under bench/mixed.py: the workers' writes to their clients took 7.6 % of
their time, a tenth of their work). The transport handed to uvicorn here keeps what is written
during one step of the event loop and writes it all at the end of that step: an answer whose
head and body the app sends together (every JSON answer) goes out in one write. A streamed body
still goes out chunk by chunk, each at the end of the step that made it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class StepWrites:
    """A transport whose writes of one event-loop step go out together at its end."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Keep ``data`` until the end of this step (an empty write is a no-op, as asyncio's)."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        """Keep every chunk until the end of this step."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what was kept, in one call (nothing once the connection is closing)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        """The transport's buffer and what this step kept."""
        kept = sum(len(chunk) for chunk in self._pending)
        return int(self._transport.get_write_buffer_size()) + kept

    def write_eof(self) -> None:
        """Write what was kept, then end the stream."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Write what was kept, then close (as asyncio's close sends what is buffered)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what was kept and close at once."""
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, is_closing, pause_reading, ...) is the transport's.
        return getattr(self._transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a transport that writes once per event-loop step."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Serve the connection through :class:`StepWrites`."""
        stepped = StepWrites(transport, self.loop)
        super().connection_made(stepped)  # type: ignore[arg-type]
