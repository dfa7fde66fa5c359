"""One-click unsubscribe from reminders (RFC 8058): a link signed with the instance's secret.

The link names the user and carries an HMAC of their id under a key derived for this one use,
so it cannot be forged or turned to another account; it does not expire (an unsubscribe link
must keep working). Following it (GET) shows a button, never unsubscribes by itself (link
scanners follow links); the mail client's one-click POST, or the button, turns reminders off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

from kernel.settings import Settings

PATH = "/api/unsubscribe/reminders"
_PURPOSE = b"unsubscribe-reminders"


def _key(settings: Settings) -> bytes:
    return hashlib.sha256(_PURPOSE + settings.resolved_secret_key()).digest()


def _signature(settings: Settings, user_id: int) -> str:
    mac = hmac.new(_key(settings), f"reminders:{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def unsubscribe_token(settings: Settings, user_id: int) -> str:
    """The signed token of ``user_id``'s unsubscribe link."""
    return f"{user_id}.{_signature(settings, user_id)}"


def unsubscribe_url(settings: Settings, user_id: int) -> str:
    """The absolute one-click unsubscribe address for ``user_id``'s reminders."""
    query = urlencode({"token": unsubscribe_token(settings, user_id)})
    return f"{settings.public_base_url.rstrip('/')}{PATH}?{query}"


def user_of(settings: Settings, token: str) -> int | None:
    """The user a token was signed for, or None when it is malformed or tampered with."""
    user_text, _, signature = token.partition(".")
    if not (user_text.isascii() and user_text.isdigit()) or len(user_text) > 18:
        return None
    user_id = int(user_text)
    if not hmac.compare_digest(signature, _signature(settings, user_id)):
        return None
    return user_id
