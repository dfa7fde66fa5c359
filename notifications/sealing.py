"""The bodies of sensitive messages (links that log in or prove an address) are kept
encrypted in the outbox until sent, so a copy of the database alone does not give them away.

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from the instance's secret key for
this use only (:func:`kernel.keys.derive_key`). The sender opens them right before building
the MIME message.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken

from kernel.keys import derive_key

PURPOSE = "outbox-bodies"


class BodySeal:
    """Encrypts and decrypts message bodies with the instance's key for them."""

    def __init__(self, instance_key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(instance_key, PURPOSE)))

    def seal(self, body: str) -> str:
        """The stored form of ``body``."""
        return self._fernet.encrypt(body.encode()).decode()

    def open(self, sealed: str) -> str:
        """The body back; ValueError if it was sealed under another instance key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("this body was encrypted with another instance key") from exc
