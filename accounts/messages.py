"""The messages of sign-up and password reset: what is mailed to whom, and how often.

Links are made by :class:`accounts.email_tokens.EmailTokens`; the messages are queued through
the :class:`accounts.mail.AccountMail` port, in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from accounts.email_tokens import EmailTokens, Purpose
from accounts.mail import AccountMail, AccountMessage
from accounts.models import User
from accounts.repository import AccountRepository
from kernel.clock import Clock


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
        token, link_id = await self.links.issue(user, Purpose.VERIFY, now)
        # A new link again at most once an hour: repeated sign-ups are no way to flood a
        # mailbox (the hour's link, already mailed, still works; this one is never sent).
        key = (
            f"verify-email-again:{user.id}:{now:%Y-%m-%dT%H}"
            if again
            else f"verify-email:{link_id}"
        )
        await self._queue(
            user,
            key,
            "account_verify",
            {"link": f"{self.base_url}/verify-email?token={token}", "hours": 48, "again": again},
            sensitive=True,
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
        """Mail a new link to choose a password (1 hour)."""
        token, link_id = await self.links.issue(user, Purpose.RESET, self.clock())
        await self._queue(
            user,
            f"password-reset:{link_id}",
            "account_password_reset",
            {"link": f"{self.base_url}/reset-password?token={token}", "minutes": 60},
            sensitive=True,
        )

    async def _queue(
        self,
        user: User,
        key: str,
        template: str,
        context: dict[str, Any],
        *,
        sensitive: bool = False,
    ) -> None:
        await self.mail(
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
