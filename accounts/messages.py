"""The messages of sign-up and password reset: what is mailed to whom, and how often.

Links are made by :class:`accounts.email_tokens.EmailTokens`; the messages are queued through
the :class:`accounts.mail.AccountMail` port, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.email_tokens import EmailTokens, Purpose
from accounts.mail import AccountMail, AccountMessage
from accounts.models import User
from accounts.repository import AccountRepository
from kernel.clock import Clock

# One password-reset mail per account per this many minutes (a quarter of an hour).
RESET_WINDOW_MINUTES = 15
# The message key of a link mailed on its own (not in a window).
_LINK_KEYS = {Purpose.VERIFY: "verify-email", Purpose.RESET: "password-reset"}


class AccountMessages:
    """Mails links and notices to the owner of an account."""

    def __init__(
        self,
        repository: AccountRepository,
        mail: AccountMail,
        links: EmailTokens,
        clock: Clock,
        base_url: str,
    ) -> None:
        self.repo = repository
        self.mail = mail
        self.links = links
        self.clock = clock
        self.base_url = base_url

    async def verification_link(self, user: User, *, again: bool) -> None:
        """Mail a new link that confirms the address (48 hours)."""
        now = self.clock()
        # A new link again at most once an hour: repeated sign-ups are no way to flood a
        # mailbox (the hour's link, already mailed, still works; no other is made).
        key = f"verify-email-again:{user.id}:{now:%Y-%m-%dT%H}" if again else None
        await self._mail_link(
            user,
            Purpose.VERIFY,
            key,
            "account_verify",
            lambda token: {
                "link": f"{self.base_url}/verify-email?token={token}",
                "hours": 48,
                "again": again,
            },
        )

    async def address_taken(self, user: User) -> None:
        """Someone signed up with an address that has an account: tell its owner (once an hour
        at most), with a new confirmation link if the account was never confirmed."""
        if user.deleted_at is not None or not user.active:
            return
        if user.email_verified_at is None:
            await self.verification_link(user, again=True)
            return
        hour = self.clock().strftime("%Y-%m-%dT%H")
        await self._queue(
            user,
            f"signup-taken:{user.id}:{hour}",
            "account_signup_taken",
            {
                "login_link": f"{self.base_url}/login",
                "reset_link": f"{self.base_url}/forgot-password",
            },
        )

    async def reset_link(self, user: User) -> None:
        """Mail a new link to choose a password (1 hour), once a quarter of an hour at most:
        requests are no way to flood a mailbox (the quarter's link, mailed, still works)."""
        now = self.clock()
        await self._mail_link(
            user,
            Purpose.RESET,
            f"password-reset:{user.id}:{now:%Y-%m-%dT%H}:{now.minute // RESET_WINDOW_MINUTES}",
            "account_password_reset",
            lambda token: {"link": f"{self.base_url}/reset-password?token={token}", "minutes": 60},
        )

    async def _mail_link(
        self,
        user: User,
        purpose: Purpose,
        key: str | None,
        template: str,
        context: Callable[[str], dict[str, Any]],
    ) -> None:
        """Make a link and mail it under ``key`` (``None``: the link's own); when ``key`` was
        queued already, nothing is mailed and the link is not kept either."""
        session = self.repo.session
        # The message key's unique insert is the check (race-free): the link is made in a
        # savepoint, undone when its mail is not queued.
        savepoint = await session.begin_nested()
        token, link_id = await self.links.issue(user, purpose, self.clock())
        queued = await self._queue(
            user,
            key or f"{_LINK_KEYS[purpose]}:{link_id}",
            template,
            context(token),
            sensitive=True,
        )
        if queued:
            await savepoint.commit()
        else:
            await savepoint.rollback()

    async def _queue(
        self,
        user: User,
        key: str,
        template: str,
        context: dict[str, Any],
        *,
        sensitive: bool = False,
    ) -> bool:
        return await self.mail(
            self.repo.session,
            AccountMessage(
                key=key,
                to=user.email,
                template=template,
                language=user.language,
                context={"display_name": user.display_name, **context},
                sensitive=sensitive,
            ),
        )
