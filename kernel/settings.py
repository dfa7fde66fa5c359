"""Configuration read from environment variables (prefix ``MUTUALAB_``) and an optional ``.env``."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_KEY_PATH = Path("var") / "secret.key"
MIN_SECRET_KEY_LENGTH = 32
Network = IPv4Network | IPv6Network


class SecretKeyError(RuntimeError):
    """No usable key for session cookies and CSRF tokens: the service must not start."""


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
    # How long a worker remembers an API token it accepted (its user and roles with it), so
    # that an API request is one statement less; changes made through the same worker are
    # seen at once, others within this many seconds (accounts.credential_cache). 0: never.
    credential_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    database_echo: bool = False
    # How long a writer waits for a row lock (a unit, an invoice counter) before the request is
    # answered 503 busy with Retry-After, instead of queueing up to the command timeout.
    database_lock_timeout_ms: int = Field(default=3000, ge=100, le=60_000)
    # Run a background worker inside the application (`mutualab demo` and `serve` on the
    # embedded database set it); a production instance runs `mutualab worker` instead.
    in_process_worker: bool = False
    public_base_url: str = "http://127.0.0.1:8000"
    # Webhook subscriptions may name plain http:// addresses of this machine (127.0.0.1,
    # localhost): for tests and the demo only; https:// is required otherwise.
    webhooks_allow_http_loopback: bool = False
    # Webhook subscriptions may name https:// addresses of private networks (10.0.0.0/8,
    # 192.168.0.0/16, fd00::/8...): a door controller on the local network. Never link-local.
    webhooks_allow_private_networks: bool = False
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key for session cookies and CSRF tokens (32+ characters). Unset: a random "
        "key is created once in var/secret.key (one worker process on one host only).",
    )
    # A browser session ends after this long, however active (the cookie's lifetime too)...
    session_max_age_days: int = Field(default=14, ge=1, le=90)
    # ... and after this long without a request: a shared computer left logged in is logged out.
    session_idle_minutes: int = Field(default=30, ge=5, le=14 * 1440)
    # Log-in throttling, per e-mail and per client address (four times as many for an address,
    # which many people may share): this many attempts in a window go through at once, then
    # each further one waits twice as long as the one before, never a hard lock.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_window_minutes: int = Field(default=15, ge=1, le=1440)
    # The longest wait imposed on one e-mail: short, so that a stranger can slow an account
    # down but not lock its owner out. An address waits up to the whole window.
    login_max_delay_seconds: int = Field(default=60, ge=1, le=3600)
    # Sign-ups from one client address in a window before each further one waits (growing).
    signups_per_address: int = Field(default=20, ge=1, le=10_000)
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges, comma-separated).
    # Empty: the peer's address is the client's, whatever the headers say.
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)
    password_min_score: int = Field(default=3, ge=0, le=4, description="zxcvbn score, 0-4")
    # argon2id cost (RFC 9106's low-memory profile). Keep the defaults in production: the test
    # suite lowers them so that logging in does not cost it ~0.1 s each time.
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65536, ge=8, le=4_194_304)
    # Hashes computed at once by one worker process (each in a thread, memory_kib each): a burst
    # of sign-ups queues here instead of taking the memory and the cores.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
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
    # E-mail over SMTP (kernel.mail). Either one URL, or host/port/user/password/TLS. Unset: no
    # e-mail leaves (messages wait in the outbox); `mutualab demo` starts a local catcher.
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:password@host:587?starttls=1, or smtps://...:465 (implicit TLS)",
    )
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    # none | starttls | tls (implicit, port 465). Unset: tls on 465, starttls on 587, else none.
    smtp_tls: Literal["none", "starttls", "tls"] | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # The From of the instance's e-mails (a place may set its own).
    mail_from: str = "Mutualab <no-reply@localhost>"
    # Set by `mutualab demo`: the SMTP server is its in-process catcher, nothing leaves.
    mail_catcher: bool = False
    # Sent messages are kept this long in the outbox, then purged nightly.
    mail_retention_days: int = Field(default=90, ge=1, le=3650)
    # The map tiles of place and search pages ({z}/{x}/{y}); the pages' CSP allows its origin.
    map_tiles_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        pattern=r"^https?://[^/\s'\";]+/\S*\{z\}\S*\{x\}\S*\{y\}\S*$",
    )
    map_attribution: str = Field(default="© contributeurs d'OpenStreetMap", max_length=300)
    # Where uploaded photos are kept (resized copies only; the upload itself is not kept).
    photos_dir: Path = Path("var") / "photos"
    # At most 10 MiB: the upload route takes 11 MiB with its form (web.pages.manage.photos).
    photo_max_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=10 * 1024 * 1024)
    # Photos in an S3-compatible bucket instead of photos_dir (resources.photo_s3). The
    # credentials are boto3's usual ones: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a
    # profile, or the host's role.
    photos_s3_bucket: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$"
    )
    # Another provider than AWS (Scaleway, OVHcloud, MinIO, Garage...): its S3 endpoint.
    photos_s3_endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^/\s'\";]+/?$")
    photos_s3_region: str | None = None
    # Where browsers fetch the files (the bucket's public address, or a CDN in front of it);
    # unset: the endpoint's path-style address of the bucket (or AWS's virtual-hosted one).
    photos_s3_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s'\";]+$")
    # The objects' names start with this (several instances may share one bucket).
    photos_s3_prefix: str = Field(default="photos/", pattern=r"^[A-Za-z0-9_./\-]{0,100}$")

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # Refused at start-up, not at the first request that signs a cookie.
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"the secret key must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        # From the environment: "10.0.0.0/8, 2001:db8::1" rather than a JSON list.
        if isinstance(value, str):
            return [ip_network(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @property
    def photos_public_url(self) -> str | None:
        """Where browsers fetch the photos of the S3 bucket (None: from our own disk)."""
        if self.photos_s3_bucket is None:
            return None
        if self.photos_s3_public_url is not None:
            return self.photos_s3_public_url.rstrip("/")
        if self.photos_s3_endpoint_url is not None:
            return f"{self.photos_s3_endpoint_url.rstrip('/')}/{self.photos_s3_bucket}"
        region = self.photos_s3_region or "us-east-1"
        return f"https://{self.photos_s3_bucket}.s3.{region}.amazonaws.com"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked Secure whenever the service is published over HTTPS."""
        return self.public_base_url.startswith("https://")

    def resolved_secret_key(self) -> bytes:
        """The configured key, or a random one kept in ``var/secret.key`` (created once)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = SECRET_KEY_PATH
        if not path.exists():
            _create_key_file(path)
        value = path.read_text().strip()
        if len(value) < MIN_SECRET_KEY_LENGTH:
            raise SecretKeyError(
                f"{path} holds no usable key (fewer than {MIN_SECRET_KEY_LENGTH} characters): "
                "delete it to have a new one made, or set MUTUALAB_SECRET_KEY."
            )
        return value.encode()

    def require_database_url(self) -> str:
        """The configured database, or an error that says how to get one."""
        if self.database_url is None:
            raise RuntimeError(
                "No database configured: set MUTUALAB_DATABASE_URL, or start the service with "
                "`mutualab serve` / `mutualab demo`, which start the embedded PostgreSQL."
            )
        return self.database_url


def _create_key_file(path: Path) -> None:
    """Write a random key to ``path`` unless another process did: whole or not at all.

    The key is written to a temporary file first and linked into place, which fails if the
    file exists: a worker that loses the race reads the winner's complete key, never a file
    still being written (an empty key would sign every session with a public one).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp: readable by this user only (0600)
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key is in place
            os.link(temporary, path)
    finally:
        Path(temporary).unlink()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
