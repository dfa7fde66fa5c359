"""Links mailed by accounts, read back from the outbox as a mail client would show them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from kernel.db import Database
from notifications.models import MESSAGES
from notifications.sealing import BodySeal

_LINK = re.compile(r"https?://\S+")
# The secret key of the tests' settings (tests/conftest.py), and the outbox's seal under it.
TEST_SECRET_KEY = "test-secret-key-not-used-anywhere-else-0123456789"
SEAL = BodySeal(TEST_SECRET_KEY.encode())


def text_of(message: Any) -> str:
    """A stored message's plain text as mailed (a sensitive one is kept encrypted)."""
    return SEAL.open(message.text) if message.sensitive else str(message.text)


async def messages_to(database: Database, to: str, template: str | None = None) -> list[Any]:
    """The outbox's messages to ``to`` (of ``template``), oldest first."""
    query = select(MESSAGES).where(MESSAGES.c.recipient == to).order_by(MESSAGES.c.id)
    if template is not None:
        query = query.where(MESSAGES.c.template == template)
    async with database.reader() as session:
        return list((await session.exec(query)).all())


def link_in(message: Any, path: str) -> str:
    """The first link of a message's plain text to ``path`` (a page of the instance)."""
    text = text_of(message)
    for found in _LINK.findall(text):
        if urlsplit(found).path == path:
            return str(found)
    raise AssertionError(f"no link to {path} in {text!r}")


def token_of(link: str) -> str:
    """The ``token`` query parameter of a mailed link."""
    return parse_qs(urlsplit(link).query)["token"][0]


async def mailed_token(database: Database, to: str, template: str, path: str) -> str:
    """The token of the latest link to ``path`` mailed to ``to`` with ``template``."""
    found = await messages_to(database, to, template)
    assert found, f"nothing mailed to {to} with {template}"
    return token_of(link_in(found[-1], path))


def database_of(client: httpx.AsyncClient) -> Database:
    """The database of the app a test client talks to (its runtime's)."""
    transport: Any = client._transport
    database: Database = transport.app.state.database
    return database


def path_of(link: str) -> str:
    """A mailed link as a path on the tests' app (the public address is another host)."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
