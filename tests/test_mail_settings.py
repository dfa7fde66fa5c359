"""SMTP settings: one URL or separate host/port/user/password/TLS settings."""

from __future__ import annotations

import pytest

from kernel.mail import Mailer, SmtpServer, SmtpSettingsError, parse_smtp_url, smtp_server
from kernel.settings import Settings


def test_a_url_with_credentials_and_starttls() -> None:
    server = parse_smtp_url(
        "smtp://mailer%40fablab.example:p%2Fss%3Aword@smtp.example:2525?starttls=1"
    )
    assert server == SmtpServer(
        host="smtp.example",
        port=2525,
        username="mailer@fablab.example",
        password="p/ss:word",
        tls="starttls",
    )
    assert "p/ss:word" not in repr(server)


@pytest.mark.parametrize(
    ("url", "port", "tls"),
    [
        ("smtps://smtp.example", 465, "tls"),
        ("smtps://smtp.example:4650", 4650, "tls"),
        ("smtp://smtp.example", 25, "none"),
        ("smtp://smtp.example?starttls=true", 587, "starttls"),
        ("smtp://127.0.0.1:1025", 1025, "none"),
    ],
)
def test_url_defaults(url: str, port: int, tls: str) -> None:
    server = parse_smtp_url(url)
    assert (server.port, server.tls, server.username, server.password) == (port, tls, None, None)


@pytest.mark.parametrize(
    "url",
    [
        "http://smtp.example",
        "smtp://",
        "smtp://smtp.example:99999",
        "smtps://smtp.example?starttls=1",
    ],
)
def test_urls_that_cannot_be_used(url: str) -> None:
    with pytest.raises(SmtpSettingsError):
        parse_smtp_url(url)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUTUALAB_SMTP_HOST", "smtp.example")
    monkeypatch.setenv("MUTUALAB_SMTP_PORT", "587")
    monkeypatch.setenv("MUTUALAB_SMTP_USER", "mailer")
    monkeypatch.setenv("MUTUALAB_SMTP_PASSWORD", "secret")
    monkeypatch.setenv("MUTUALAB_MAIL_FROM", "Fablab <hello@fablab.example>")
    monkeypatch.setenv("MUTUALAB_SMTP_TIMEOUT_SECONDS", "12.5")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert smtp_server(settings) == SmtpServer(
        "smtp.example", 587, "mailer", "secret", tls="starttls", timeout=12.5
    )
    mailer = Mailer.from_settings(settings)
    assert mailer.configured
    assert mailer.default_sender == "Fablab <hello@fablab.example>"

    monkeypatch.setenv("MUTUALAB_SMTP_TLS", "none")
    assert smtp_server(Settings(_env_file=None)).tls == "none"  # type: ignore[call-arg,union-attr]


def test_the_url_wins_and_nothing_configured_means_no_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HOST", "PORT", "USER", "PASSWORD", "TLS", "URL"):
        monkeypatch.delenv(f"MUTUALAB_SMTP_{name}", raising=False)
    assert smtp_server(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    assert not Mailer.from_settings(Settings(_env_file=None)).configured  # type: ignore[call-arg]
    assert Settings(_env_file=None).mail_from == "Mutualab <no-reply@localhost>"  # type: ignore[call-arg]
    monkeypatch.setenv("MUTUALAB_SMTP_HOST", "ignored.example")
    monkeypatch.setenv("MUTUALAB_SMTP_URL", "smtps://u:p@smtp.example")
    server = smtp_server(Settings(_env_file=None))  # type: ignore[call-arg]
    assert server is not None
    assert (server.host, server.port, server.tls) == ("smtp.example", 465, "tls")
