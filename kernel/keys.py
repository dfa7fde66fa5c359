"""Keys for one use each, derived from the instance's secret key."""

from __future__ import annotations

import hashlib


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` (``"outbox-bodies"``) from the instance's ``secret``.

    The purpose label keeps keys apart: one leaked or misused for one job says nothing of the
    others. The form (SHA-256 of label then secret) is the one the webhook secrets' key was
    first derived with, so their stored secrets still open.
    """
    if not purpose:
        raise ValueError("a derived key needs a purpose")
    return hashlib.sha256(purpose.encode() + secret).digest()
