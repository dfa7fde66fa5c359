"""Sending e-mail over SMTP (aiosmtplib): the server's settings, and a small :class:`Mailer`.

The server is ``MUTUALAB_SMTP_URL`` (``smtp://user:password@host:port``, ``smtps://`` for
implicit TLS, ``?starttls=1`` to upgrade a plain connection), or ``MUTUALAB_SMTP_HOST``, ``_PORT``,
``_USER``, ``_PASSWORD`` and ``_TLS`` (none, starttls, tls). The mailer is only ever called by a
job, outside any database transaction: a slow or failing server never holds a lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from kernel.settings import Settings

TlsMode = Literal["none", "starttls", "tls"]
_TRUE = {"1", "true", "yes", "on"}


class SmtpSettingsError(ValueError):
    """The SMTP settings cannot be understood."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand messages over."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: TlsMode = "none"
    timeout: float = 30.0

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        return f"SmtpServer({self.host!r}, {self.port}, tls={self.tls!r}, user={self.username!r})"


def _default_tls(port: int) -> TlsMode:
    return "tls" if port == 465 else "starttls" if port == 587 else "none"


def parse_smtp_url(url: str, timeout: float = 30.0) -> SmtpServer:
    """The server of an ``smtp://`` or ``smtps://`` URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpSettingsError("the SMTP URL starts with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpSettingsError("the SMTP URL names no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise SmtpSettingsError("the SMTP URL's port is not a number from 1 to 65535") from exc
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    starttls = query.get("starttls", "").lower() in _TRUE
    if parts.scheme == "smtps":
        if starttls:
            raise SmtpSettingsError("smtps:// is TLS from the start: starttls does not apply")
        tls: TlsMode = "tls"
        port = port or 465
    else:
        port = port or (587 if starttls else 25)
        tls = "starttls" if starttls else "none"
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        timeout=timeout,
    )


def smtp_server(settings: Settings) -> SmtpServer | None:
    """The configured server; None when e-mail is not configured."""
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_url is not None:
        return parse_smtp_url(settings.smtp_url.get_secret_value(), timeout)
    if settings.smtp_host is None:
        return None
    port = settings.smtp_port or {"tls": 465, "starttls": 587}.get(settings.smtp_tls or "", 25)
    password = settings.smtp_password
    return SmtpServer(
        host=settings.smtp_host,
        port=port,
        username=settings.smtp_user,
        password=password.get_secret_value() if password is not None else None,
        tls=settings.smtp_tls or _default_tls(port),
        timeout=timeout,
    )


class MailNotConfiguredError(RuntimeError):
    """No SMTP server is configured: the message stays queued."""


class Mailer:
    """Hands one message at a time to the SMTP server."""

    def __init__(self, server: SmtpServer | None, default_sender: str, *, catcher: bool = False):
        self.server = server
        self.default_sender = default_sender
        # The server is the demo's in-process catcher: nothing reaches a real inbox.
        self.catcher = catcher

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        """The mailer of ``settings``."""
        return cls(smtp_server(settings), settings.mail_from, catcher=settings.mail_catcher)

    @property
    def configured(self) -> bool:
        """Whether an SMTP server is set."""
        return self.server is not None

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` (its From, To and headers as built); raises when refused."""
        server = self.server
        if server is None:
            raise MailNotConfiguredError("no SMTP server configured (MUTUALAB_SMTP_URL)")
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.tls == "tls",
            start_tls=server.tls == "starttls",
            timeout=server.timeout,
        )
