"""The demo's SMTP catcher: a real server on 127.0.0.1 that keeps what the mailer sends."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default

import pytest

from kernel.mail import Mailer
from kernel.settings import Settings, get_settings
from mutualab.cli import demo_mail
from notifications.catcher import SmtpCatcher


@pytest.fixture
def catcher() -> Iterator[SmtpCatcher]:
    """A started catcher, stopped afterwards."""
    started = SmtpCatcher()
    started.start()
    yield started
    started.stop()


async def test_the_catcher_keeps_what_the_mailer_sends(catcher: SmtpCatcher) -> None:
    mailer = Mailer.from_settings(Settings(smtp_url=catcher.url, _env_file=None))  # type: ignore[call-arg]
    message = EmailMessage()
    message["From"] = "Mutualab <no-reply@localhost>"
    message["To"] = "ana@example.org"
    message["Subject"] = "Réservation confirmée"
    message.set_content("Bonjour Ana")
    await mailer.send(message)
    [caught] = catcher.received
    assert caught.rcpt_tos == ("ana@example.org",)
    parsed = email.message_from_bytes(caught.content, policy=default)
    assert parsed["Subject"] == "Réservation confirmée"


def test_the_demo_starts_a_catcher_only_without_an_smtp_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SMTP_URL", "SMTP_HOST", "MAIL_CATCHER"):
        # Set first: the variables demo_mail() writes are removed again after the test.
        monkeypatch.setenv(f"MUTUALAB_{name}", "")
        monkeypatch.delenv(f"MUTUALAB_{name}")
    configured = Settings(smtp_host="smtp.example", _env_file=None)  # type: ignore[call-arg]
    assert demo_mail(configured) is None
    catcher = demo_mail(Settings(_env_file=None))  # type: ignore[call-arg]
    assert catcher is not None
    try:
        settings = get_settings()
        assert settings.mail_catcher
        mailer = Mailer.from_settings(settings)
        assert mailer.catcher and mailer.server is not None
        assert mailer.server.port == catcher.port
    finally:
        catcher.stop()
        get_settings.cache_clear()
