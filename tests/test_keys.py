"""Keys derived from the instance's secret: one per purpose, stable across releases."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from kernel.keys import derive_key
from notifications.sealing import BodySeal
from webhooks.keys import SecretBox

INSTANCE = b"an-instance-secret-key-0123456789-0123456789"


def test_each_purpose_has_its_own_key_of_fernet_size() -> None:
    bodies, hooks = derive_key(INSTANCE, "outbox-bodies"), derive_key(INSTANCE, "webhook-secrets")
    assert len(bodies) == len(hooks) == 32 and bodies != hooks
    assert derive_key(INSTANCE, "outbox-bodies") == bodies  # the same on every run
    assert derive_key(b"another-instance-key-0123456789-0123456789", "outbox-bodies") != bodies
    with pytest.raises(ValueError, match="purpose"):
        derive_key(INSTANCE, "")


def test_a_webhook_secret_sealed_before_the_shared_helper_still_opens() -> None:
    # The form webhooks/keys.py derived its key with before kernel.keys existed.
    import hashlib

    old_key = hashlib.sha256(b"webhook-secrets" + INSTANCE).digest()
    sealed = Fernet(base64.urlsafe_b64encode(old_key)).encrypt(b"whsec_abc").decode()
    assert SecretBox(INSTANCE).open(sealed) == "whsec_abc"


def test_outbox_bodies_do_not_open_with_the_webhook_key() -> None:
    sealed = BodySeal(INSTANCE).seal("https://mutualab.test/reset-password?token=abc")
    assert "token=abc" not in sealed
    with pytest.raises(ValueError, match="another instance key"):
        SecretBox(INSTANCE).open(sealed)
    assert BodySeal(INSTANCE).open(sealed).endswith("token=abc")
