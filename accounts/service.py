"""Accounts business rules: sign-up, log-in with throttling, sessions, passwords, tokens, data."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from accounts.email_tokens import EmailTokens, Purpose
from accounts.guests import is_placeholder
from accounts.identity import SessionLimits
from accounts.mail import AccountMail
from accounts.messages import AccountMessages
from accounts.models import ApiToken, BrowserSession, User
from accounts.passwords import Passwords, WeakPasswordError, check_strength
from accounts.personal_data import PersonalDataPart
from accounts.repository import AccountRepository
from accounts.schemas import (
    CertificationRead,
    LogIn,
    MembershipRead,
    MeRead,
    PasswordChange,
    PasswordReset,
    PasswordResetRequest,
    ProfileUpdate,
    SignUp,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from accounts.throttle import Rule, Throttle, TooManyAttemptsError, rules
from kernel.auth.actor import Actor
from kernel.auth.tokens import digest, new_token
from kernel.clock import Clock
from kernel.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)
from kernel.net import throttling_key
from kernel.settings import Settings


class AccountService:
    """What a person may do with their own account."""

    def __init__(
        self,
        repository: AccountRepository,
        settings: Settings,
        clock: Clock,
        passwords: Passwords,
        throttle: Throttle,
        sessions: SessionLimits,
        mail: AccountMail,
        personal_data: Sequence[PersonalDataPart] = (),
    ) -> None:
        self.repo = repository
        self.settings = settings
        self.clock = clock
        self.passwords = passwords
        self.throttle = throttle
        self.sessions = sessions
        self.login_email, self.login_address, self.signup_address = rules(settings)
        self.mail = mail
        self.base_url = settings.public_base_url.rstrip("/")
        # Booking's and billing's share of a person's data (the composition root gives them).
        self.personal_data = tuple(personal_data)

    @cached_property
    def links(self) -> EmailTokens:
        """The mailed links, keyed by the instance's secret (read when a link is made or used,
        not for every request that builds this service)."""
        return EmailTokens(self.repo, self.settings.resolved_secret_key())

    @cached_property
    def messages(self) -> AccountMessages:
        """The messages of sign-up and password reset."""
        return AccountMessages(self.repo, self.mail, self.links, self.clock, self.base_url)

    async def require_user(self, actor: Actor) -> User:
        """The actor's own user row."""
        if actor.user_id is None:
            raise UnauthenticatedError("Log in first.")
        user = await self.repo.user(actor.user_id)
        if user is None or user.deleted_at is not None:
            raise UnauthenticatedError("This account no longer exists.")
        return user

    def _check_password(self, password: str, *hints: str) -> None:
        try:
            check_strength(password, hints, self.settings.password_min_score)
        except WeakPasswordError as exc:
            raise InvalidInputError(str(exc), field="password", code="weak_password") from exc

    async def _requestable(self, code: str | None, field: str) -> str | None:
        if code is None:
            return None
        user_type = await self.repo.user_type(code)
        if user_type is None or user_type.for_organisations or user_type.place_id is not None:
            raise InvalidInputError(
                f"{code!r} is not a user type a person can ask for.",
                field=field,
                code="unknown_user_type",
            )
        return None if code == "citizen" else code

    async def sign_up(self, data: SignUp, client: str) -> None:
        """Create an account at the citizen rate (a reduced type is only requested), to be
        confirmed by the link mailed to the address.

        The answer is the same whether or not the address has an account (no one learns who
        has one): an existing account's owner is told by mail instead, and nothing is changed.
        Sign-ups are counted per client address before anything costly (the strength check,
        the hash, the look-up of the e-mail): a burst from one address waits its turn.
        """
        await self.throttle.attempt(self.signup_address, throttling_key(client))
        self._check_password(data.password, data.email, data.display_name)
        requested = await self._requestable(data.requested_user_type, "requested_user_type")
        password_hash = await self.passwords.hash(data.password)
        existing = await self.repo.user_by_email(data.email)
        if existing is not None:
            await self.messages.address_taken(existing)
            return
        user = User(
            email=data.email,
            display_name=data.display_name,
            password_hash=password_hash,
            requested_user_type_code=requested,
            language=data.language,
        )
        await self.repo.add(user)
        await self.messages.verification_link(user, again=False)

    async def check_verify_link(self, token: str) -> User:
        """The account of a live verification link (its form is shown only for one)."""
        return await self.links.check(token, Purpose.VERIFY, self.clock())

    async def verify_email(self, token: str, password: str) -> User:
        """Confirm an address with the link mailed to it and the account's password.

        The password shows that whoever opens the link also made the account: someone who
        signed up with another person's address cannot have it confirmed by that person's
        click. Then the account may log in.
        """
        now = self.clock()
        user = await self.links.check(token, Purpose.VERIFY, now)
        await self._confirm(user, password, "password")
        await self.links.redeem(token, Purpose.VERIFY, now)
        await self._verified(user, now)
        return user

    async def _verified(self, user: User, now: datetime) -> None:
        assert user.id is not None
        if user.email_verified_at is None:
            user.email_verified_at = now
            await self.repo.add(user)
        await self.repo.use_all_email_tokens(user.id, Purpose.VERIFY, now)

    # password reset ----------------------------------------------------------------
    def _reset_rules(self) -> tuple[Rule, Rule]:
        # Counted like log-ins: per address asked for, and (with more slack) per client.
        return (
            Rule("reset-email", self.login_email.free, self.login_email.max_delay),
            Rule("reset-address", self.login_address.free, self.login_address.max_delay),
        )

    async def request_password_reset(self, data: PasswordResetRequest, client: str) -> None:
        """Mail a link to choose a new password (1 hour), if an account uses the address; the
        answer is the same either way."""
        per_email, per_address = self._reset_rules()
        await self.throttle.attempt(per_address, throttling_key(client))
        await self.throttle.attempt(per_email, data.email)
        user = await self.repo.user_by_email(data.email)
        if user is None or user.deleted_at is not None or not user.active:
            return
        await self.messages.reset_link(user)

    async def check_reset_link(self, token: str) -> User:
        """The account of a live reset link (the form is shown only for one)."""
        return await self.links.check(token, Purpose.RESET, self.clock())

    async def reset_password(self, data: PasswordReset) -> User:
        """Set a new password with a reset link: the link is used, every browser session of the
        account ends (the caller's browser starts a new one), and the address counts as
        verified (the link proved it). API tokens keep working: the account page lists them."""
        now = self.clock()
        user = await self.links.check(data.token, Purpose.RESET, now)
        # Checked before the link is used: a weak password does not cost the link.
        self._check_password(data.password, user.email, user.display_name)
        password_hash = await self.passwords.hash(data.password)
        await self.links.redeem(data.token, Purpose.RESET, now)
        assert user.id is not None
        user.password_hash = password_hash
        await self.repo.add(user)
        await self.repo.use_all_email_tokens(user.id, Purpose.RESET, now)
        await self._verified(user, now)
        await self.repo.end_sessions(user.id)
        await self.throttle.forget(self.login_email, user.email)
        return user

    async def log_in(self, data: LogIn, client: str) -> User:
        """Check a password; attempts are counted per client address and per e-mail first.

        Refused with 429 (Retry-After) while either must wait, 401 for a wrong password, the
        same whether or not the e-mail has an account.
        """
        email = data.email.strip().lower()
        address = throttling_key(client)
        # The address first: attempts from an address that must wait cost the e-mail nothing;
        # and one the e-mail refuses is given back to the address. Only checked ones count.
        await self.throttle.attempt(self.login_address, address)
        try:
            await self.throttle.attempt(self.login_email, email)
        except TooManyAttemptsError:
            await self.throttle.refund(self.login_address, address)
            raise
        user = await self.repo.user_by_email(email)
        usable = user is not None and user.active and user.deleted_at is None
        stored = user.password_hash if usable and user is not None else None
        if not await self.passwords.verify(stored, data.password):
            raise _wrong_credentials()
        assert user is not None and user.password_hash is not None
        if user.email_verified_at is None:
            # Answered like a wrong password, or trying the password one signed up with would
            # tell whether the address had an account. Its owner confirms it with the link (a
            # new one comes with signing up again, or a password reset).
            raise _wrong_credentials()
        await self.throttle.forget(self.login_email, email)
        await self.throttle.refund(self.login_address, address)
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(data.password)
            await self.repo.add(user)
        return user

    async def _confirm(self, user: User, password: str, field: str) -> None:
        """Check the password of a logged-in user before a grave change; the checks count as
        log-in attempts, so a session left open is no way to guess the password."""
        await self.throttle.attempt(self.login_email, user.email)
        if not await self.passwords.verify(user.password_hash, password):
            raise InvalidInputError("The password is wrong.", field=field, code="wrong_password")
        await self.throttle.forget(self.login_email, user.email)

    # browser sessions -------------------------------------------------------------------
    async def start_session(self, user: User) -> str:
        """A new browser session for ``user``: the key for its cookie (stored hashed)."""
        assert user.id is not None
        now = self.clock()
        key = secrets.token_urlsafe(32)
        await self.repo.add(
            BrowserSession(
                user_id=user.id, token_sha256=digest(key), created_at=now, last_seen_at=now
            )
        )
        return key

    async def end_session(self, key: str) -> None:
        """Log one browser out: its cookie stops working, also in a copy of it."""
        await self.repo.end_session(digest(key))

    async def end_all_sessions(self, actor: Actor) -> None:
        """Log out every browser of the user (API tokens keep working)."""
        user = await self.require_user(actor)
        assert user.id is not None
        await self.repo.end_sessions(user.id)

    async def me(self, actor: Actor) -> MeRead:
        """Everything the user sees about themselves."""
        user = await self.require_user(actor)
        assert user.id is not None
        memberships = await self.repo.memberships_of_user(user.id)
        certifications = await self.repo.certifications_of_user(user.id)
        return MeRead(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified_at is not None,
            display_name=user.display_name,
            user_type=user.user_type_code,
            rates={g.place_id: g.user_type_code for g in await self.repo.rate_grants_of(user.id)},
            requested_user_type=user.requested_user_type_code,
            is_platform_admin=user.is_platform_admin,
            managed_place_ids=await self.repo.managed_place_ids(user.id),
            organisations=[
                MembershipRead.model_validate(
                    {"organisation_id": org.id, "organisation_name": org.name, "role": m.role}
                )
                for m, org in memberships
            ],
            certifications=[
                CertificationRead(
                    id=c.id or 0,
                    training_id=t.id or 0,
                    training_name=t.name,
                    place_id=t.place_id,
                    granted_on=c.granted_on,
                    expires_on=c.expires_on,
                )
                for c, t in certifications
            ],
            created_at=user.created_at,
            language=user.language,
            reminders=user.reminders,
        )

    async def update_profile(self, actor: Actor, data: ProfileUpdate) -> MeRead:
        """Change one's display name, messages' language or reminders, or ask for a reduced
        rate."""
        user = await self.require_user(actor)
        if data.display_name is not None:
            user.display_name = data.display_name
        if data.language is not None:
            user.language = data.language
        if data.reminders is not None:
            user.reminders = data.reminders
        if "requested_user_type" in data.model_fields_set:
            user.requested_user_type_code = await self._requestable(
                data.requested_user_type, "requested_user_type"
            )
        await self.repo.add(user)
        return await self.me(actor)

    async def change_password(self, actor: Actor, data: PasswordChange) -> User:
        """Replace the password; every browser session ends (API tokens keep working)."""
        user = await self.require_user(actor)
        await self._confirm(user, data.current_password, "current_password")
        self._check_password(data.new_password, user.email, user.display_name)
        user.password_hash = await self.passwords.hash(data.new_password)
        await self.repo.add(user)
        assert user.id is not None
        await self.repo.end_sessions(user.id)  # the caller's browser gets a new one
        return user

    # tokens ---------------------------------------------------------------------------
    async def tokens(self, actor: Actor) -> list[TokenRead]:
        """The user's API tokens."""
        user = await self.require_user(actor)
        assert user.id is not None
        return [
            TokenRead.model_validate(t, from_attributes=True)
            for t in await self.repo.tokens_of(user.id)
        ]

    async def create_token(self, actor: Actor, data: TokenCreate) -> TokenCreated:
        """A new token, shown once."""
        user = await self.require_user(actor)
        assert user.id is not None
        if actor.via == "api_token" and data.scope == "read_write" and not actor.can_write:
            raise ForbiddenError(
                "A read-only token cannot make a read-write one.", code="insufficient_scope"
            )
        value = new_token()
        expires = data.expires_in_days
        row = ApiToken(
            user_id=user.id,
            name=data.name,
            token_sha256=digest(value),
            scope=data.scope,
            expires_at=self.clock() + timedelta(days=expires) if expires is not None else None,
        )
        await self.repo.add(row)
        shown = TokenRead.model_validate(row, from_attributes=True)
        return TokenCreated(**shown.model_dump(), token=value)

    async def revoke_token(self, actor: Actor, token_id: int) -> None:
        """Revoke one of the user's tokens (it stops working at once)."""
        user = await self.require_user(actor)
        assert user.id is not None
        token = await self.repo.token(user.id, token_id)
        if token is None:
            raise NotFoundError(f"No token with id {token_id}.", code="token_not_found")
        if token.revoked_at is None:
            token.revoked_at = self.clock()
            await self.repo.add(token)

    # personal data ------------------------------------------------------------------
    async def export(self, actor: Actor) -> dict[str, Any]:
        """Everything held about the user, as JSON-ready data: account, rates, organisations,
        certifications, tokens, and the other domains' parts (bookings, series, calendar
        feeds, payments, invoice references)."""
        me = await self.me(actor)
        tokens = await self.tokens(actor)
        assert actor.user_id is not None
        grants = await self.repo.rate_grants_of(actor.user_id)
        organisations = [
            {**org.model_dump(mode="json"), "role": m.role}
            for m, org in await self.repo.memberships_of_user(actor.user_id)
        ]
        data: dict[str, Any] = {
            "account": me.model_dump(mode="json"),
            "rate_grants": [g.model_dump(mode="json") for g in grants],
            "organisations": organisations,
            "api_tokens": [t.model_dump(mode="json") for t in tokens],
        }
        for part in self.personal_data:
            data.update(await part.export(self.repo.session, actor.user_id))
        data["exported_at"] = self.clock().isoformat()
        return data

    # walk-ins' personal data: they cannot log in, so the place that recorded them answers
    async def _guest(self, actor: Actor, place_id: int, user_id: int) -> User:
        """A walk-in recorded at a place ``actor`` manages (``guest_not_found`` for anyone
        else: people with an account export and erase their data themselves)."""
        if not actor.manages(place_id):
            raise ForbiddenError(
                "Only the managers of the place may do this.", code="not_a_manager"
            )
        user = await self.repo.session.get(User, user_id)
        if (
            user is None
            or user.guest_place_id != place_id
            or user.password_hash is not None
            or user.deleted_at is not None
        ):
            raise NotFoundError(
                f"No walk-in with id {user_id} recorded at this place.", code="guest_not_found"
            )
        return user

    async def export_guest(self, actor: Actor, place_id: int, user_id: int) -> dict[str, Any]:
        """Everything held about a walk-in, as :meth:`export` gives a person their own."""
        user = await self._guest(actor, place_id, user_id)
        assert user.id is not None
        data: dict[str, Any] = {
            "account": {
                "id": user.id,
                "display_name": user.display_name,
                "email": None if is_placeholder(user.email) else user.email,
                "phone": user.phone,
                "recorded_at_place_id": place_id,
                "created_at": user.created_at.isoformat(),
            }
        }
        for part in self.personal_data:
            data.update(await part.export(self.repo.session, user.id))
        data["exported_at"] = self.clock().isoformat()
        return data

    async def erase_guest(self, actor: Actor, place_id: int, user_id: int) -> None:
        """Erase a walk-in's personal data as :meth:`delete_account` erases a person's own."""
        await self._erase(actor, await self._guest(actor, place_id, user_id))

    async def delete_account(self, actor: Actor, password: str | None) -> None:
        """Erase personal data; the row stays as an anonymous tombstone so invoices keep a buyer.

        The account's password is asked for, also from an API token: a token leaked from a
        script must not be enough to erase its owner.
        """
        user = await self.require_user(actor)
        assert user.id is not None
        await self._confirm(user, password or "", "password")
        await self._erase(actor, user)

    async def _erase(self, actor: Actor, user: User) -> None:
        """Erase what is held about ``user``, ``actor`` asking; the row stays as a tombstone."""
        assert user.id is not None
        now = self.clock()
        # Future bookings cancelled (refunded by each place's policy), notes blanked, feeds
        # revoked; invoices are kept (legal retention).
        for part in self.personal_data:
            await part.erase(self.repo.session, actor, user.id, now)
        await self.throttle.forget(self.login_email, user.email)
        await self.repo.forget_idempotent_answers(user.id)
        await self.repo.drop_roles(user.id)
        await self.repo.revoke_all_tokens(user.id, now)
        await self.repo.end_sessions(user.id)
        user.email = f"deleted-{user.id}@invalid"
        user.display_name = "Compte supprimé"
        user.password_hash = None
        user.requested_user_type_code = None
        user.phone = None
        user.active = False
        user.deleted_at = now
        await self.repo.add(user)


def _wrong_credentials() -> UnauthenticatedError:
    return UnauthenticatedError(
        "Wrong e-mail or password. A new account logs in once its address is confirmed with "
        "the link we mailed; lost it? Ask for a password reset.",
        code="invalid_credentials",
    )
