"""Subscription secrets: Standard Webhooks ``whsec_`` keys, kept encrypted at rest.

A secret must be read back to sign each delivery, so it cannot be kept as a digest like API
tokens. It is encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key derived from the
instance's secret key, so a copy of the database alone does not reveal it.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken

from kernel.keys import derive_key

SECRET_PREFIX = "whsec_"  # noqa: S105  (a public prefix, not a secret)
# 24 random bytes, as the specification suggests (between 24 and 64).
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh ``whsec_`` secret (base64 of random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Encrypts and decrypts subscription secrets with a key of their own."""

    def __init__(self, instance_key: bytes) -> None:
        # A key for this use only, derived from the instance's secret (as the cookies' are).
        derived = derive_key(instance_key, "webhook-secrets")
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        """The stored form of ``secret``."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret back; ValueError if it was sealed under another instance key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("this secret was encrypted with another instance key") from exc
