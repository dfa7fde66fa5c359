"""The request class of the app: hostile bodies are refused as bad input, never a crash."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException

# The default body limit of every route (Litestar's own is 10 MB): the largest legitimate
# answer to one of our forms, a place with a 5,000-character description sent URL-encoded,
# stays well below it. Routes that need more say so (the Stripe webhook).
MAX_BODY_BYTES = 64 * 1024


class GuardedRequest(Request[Any, Any, Any]):
    """A request whose JSON decoding turns excessive nesting into a decoding error."""

    async def json(self) -> Any:
        """The decoded JSON body; 400 when it is nested deeper than the decoder can follow."""
        try:
            return await super().json()
        except RecursionError as exc:
            # msgspec decodes recursively and gives up at the interpreter's recursion limit:
            # a body of a few thousand brackets. Litestar answers a SerializationException
            # raised while reading the arguments of a handler with 400.
            raise SerializationException("JSON is nested too deeply") from exc
