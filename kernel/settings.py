"""Configuration read from environment variables (prefix ``MUTUALAB_``) and an optional ``.env``."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_PATH = Path("var") / "secret.key"


class Settings(BaseSettings):
    """Every knob of the service; defaults give a working local instance (embedded PostgreSQL)."""

    model_config = SettingsConfigDict(
        env_prefix="MUTUALAB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user@host/db of a PostgreSQL server (14 or newer). "
        "Unset: the commands start an embedded PostgreSQL kept in var/pgdata.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    # How long a writer waits for a row lock (a unit, an invoice counter) before the request is
    # answered 503 busy with Retry-After, instead of queueing up to the command timeout.
    database_lock_timeout_ms: int = Field(default=3000, ge=100, le=60_000)
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key for session cookies and CSRF tokens (32+ characters). Unset: a random "
        "key is created once in var/secret.key and shared by the workers of this host.",
    )
    session_max_age_days: int = Field(default=14, ge=1, le=90)
    # Log-in throttling: after this many failures in the window, the e-mail is locked out.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_window_minutes: int = Field(default=15, ge=1, le=1440)
    password_min_score: int = Field(default=3, ge=0, le=4, description="zxcvbn score, 0-4")
    # argon2id cost (RFC 9106's low-memory profile). Keep the defaults in production: the test
    # suite lowers them so that logging in does not cost it ~0.1 s each time.
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65536, ge=8, le=4_194_304)
    debug: bool = False
    # Card payments (billing). Unset: card payments are not offered. Never commit a real key.
    stripe_secret_key: SecretStr | None = Field(
        default=None, description="sk_live_... / sk_test_..."
    )
    stripe_publishable_key: str | None = Field(default=None, description="pk_..., for Stripe.js")
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_... of the webhook endpoint /api/stripe/webhook"
    )
    stripe_api_base: str | None = Field(
        default=None, description="Another Stripe API address (tests: a local peer)"
    )
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked Secure whenever the service is published over HTTPS."""
        return self.public_base_url.startswith("https://")

    def resolved_secret_key(self) -> bytes:
        """The configured key, or a random one kept in ``var/secret.key`` (created once)."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value().encode()
            if len(value) < 32:
                raise ValueError("MUTUALAB_SECRET_KEY must be at least 32 characters long")
            return value
        path = SECRET_KEY_PATH
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: when several workers start at once, exactly one writes the key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def require_database_url(self) -> str:
        """The configured database, or an error that says how to get one."""
        if self.database_url is None:
            raise RuntimeError(
                "No database configured: set MUTUALAB_DATABASE_URL, or start the service with "
                "`mutualab serve` / `mutualab demo`, which start the embedded PostgreSQL."
            )
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
