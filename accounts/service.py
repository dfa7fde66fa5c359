"""Accounts business rules: sign-up, log-in with throttling, passwords, tokens, personal data."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.models import ApiToken, LoginThrottle, User
from accounts.passwords import (
    WeakPasswordError,
    check_strength,
    passwords,
)
from accounts.personal_data import PersonalDataPart
from accounts.repository import AccountRepository
from accounts.schemas import (
    CertificationRead,
    LogIn,
    MembershipRead,
    MeRead,
    PasswordChange,
    ProfileUpdate,
    SignUp,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from kernel.auth.actor import Actor
from kernel.auth.tokens import digest, new_token
from kernel.clock import Clock
from kernel.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)
from kernel.settings import Settings


class TooManyAttemptsError(AppError):
    """Log-in refused for a while after repeated failures."""

    status_code = 429
    code = "too_many_attempts"
    title = "Too many attempts"


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a log-in attempt: a user, or why not (the caller still commits)."""

    user: User | None
    error: AppError | None


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class AccountService:
    """What a person may do with their own account."""

    def __init__(
        self,
        repository: AccountRepository,
        settings: Settings,
        clock: Clock,
        personal_data: Sequence[PersonalDataPart] = (),
    ) -> None:
        self.repo = repository
        self.settings = settings
        self.clock = clock
        # Booking's and billing's share of a person's data (the composition root gives them).
        self.personal_data = tuple(personal_data)
        self.passwords = passwords(
            settings.password_hash_time_cost, settings.password_hash_memory_kib
        )

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

    async def sign_up(self, data: SignUp) -> User:
        """Create an account at the citizen rate; a reduced type is only requested."""
        self._check_password(data.password, data.email, data.display_name)
        if await self.repo.user_by_email(data.email) is not None:
            raise ConflictError("An account already uses this e-mail.", code="email_taken")
        user = User(
            email=data.email,
            display_name=data.display_name,
            password_hash=self.passwords.hash(data.password),
            requested_user_type_code=await self._requestable(
                data.requested_user_type, "requested_user_type"
            ),
        )
        await self.repo.add(user)
        return user

    async def log_in(self, data: LogIn, client: str) -> LoginOutcome:
        """Check a password, counting failures per e-mail and per client address."""
        email = data.email.strip().lower()
        # A client address gets more slack than one e-mail: many people may share an address.
        limits = {
            _key("email", email): self.settings.login_max_failures,
            _key("client", client): self.settings.login_max_failures * 4,
        }
        keys = list(limits)
        now = self.clock()
        for key in keys:
            throttle = await self.repo.throttle(key)
            if throttle and throttle.locked_until and throttle.locked_until > now:
                wait = int((throttle.locked_until - now).total_seconds()) + 1
                return LoginOutcome(
                    None,
                    TooManyAttemptsError(
                        "Too many failed attempts; try again later.", extra={"retry_after": wait}
                    ),
                )
        user = await self.repo.user_by_email(email)
        usable = user is not None and user.active and user.deleted_at is None
        if not self.passwords.verify(
            user.password_hash if usable and user else None, data.password
        ):
            for key, limit in limits.items():
                await self._record_failure(key, limit, now)
            # Same answer whether or not the e-mail exists.
            return LoginOutcome(
                None, UnauthenticatedError("Wrong e-mail or password.", code="invalid_credentials")
            )
        assert user is not None and user.password_hash is not None
        await self.repo.clear_throttle(keys[0])
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(data.password)
            await self.repo.add(user)
        return LoginOutcome(user, None)

    async def _record_failure(self, key: str, limit: int, now: datetime) -> None:
        window = timedelta(minutes=self.settings.login_window_minutes)
        throttle = await self.repo.throttle(key)
        if throttle is None:
            throttle = LoginThrottle(key=key, failures=0, window_started_at=now)
        if now - throttle.window_started_at > window:
            throttle.failures, throttle.window_started_at = 0, now
        throttle.failures += 1
        if throttle.failures >= limit:
            throttle.locked_until = now + window
        await self.repo.add(throttle)

    async def me(self, actor: Actor) -> MeRead:
        """Everything the user sees about themselves."""
        user = await self.require_user(actor)
        assert user.id is not None
        memberships = await self.repo.memberships_of_user(user.id)
        certifications = await self.repo.certifications_of_user(user.id)
        return MeRead(
            id=user.id,
            email=user.email,
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
        )

    async def update_profile(self, actor: Actor, data: ProfileUpdate) -> MeRead:
        """Change one's display name or ask for a reduced rate."""
        user = await self.require_user(actor)
        if data.display_name is not None:
            user.display_name = data.display_name
        if "requested_user_type" in data.model_fields_set:
            user.requested_user_type_code = await self._requestable(
                data.requested_user_type, "requested_user_type"
            )
        await self.repo.add(user)
        return await self.me(actor)

    async def change_password(self, actor: Actor, data: PasswordChange) -> User:
        """Replace the password; every other session and token keeps working except sessions."""
        user = await self.require_user(actor)
        if not self.passwords.verify(user.password_hash, data.current_password):
            raise InvalidInputError(
                "The current password is wrong.",
                field="current_password",
                code="wrong_password",
            )
        self._check_password(data.new_password, user.email, user.display_name)
        user.password_hash = self.passwords.hash(data.new_password)
        user.session_version += 1  # other browsers are logged out
        await self.repo.add(user)
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
        row = ApiToken(
            user_id=user.id, name=data.name, token_sha256=digest(value), scope=data.scope
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

    async def delete_account(self, actor: Actor, password: str | None) -> None:
        """Erase personal data; the row stays as an anonymous tombstone so invoices keep a buyer."""
        user = await self.require_user(actor)
        assert user.id is not None
        if actor.via == "session" and not self.passwords.verify(user.password_hash, password or ""):
            raise InvalidInputError(
                "Confirm with your password.", field="password", code="wrong_password"
            )
        now = self.clock()
        # Future bookings cancelled (refunded by each place's policy), notes blanked, feeds
        # revoked; invoices are kept (legal retention).
        for part in self.personal_data:
            await part.erase(self.repo.session, actor, user.id, now)
        await self.repo.clear_throttle(_key("email", user.email))
        await self.repo.drop_roles(user.id)
        await self.repo.revoke_all_tokens(user.id, now)
        user.email = f"deleted-{user.id}@invalid"
        user.display_name = "Compte supprimé"
        user.password_hash = None
        user.requested_user_type_code = None
        user.active = False
        user.deleted_at = now
        user.session_version += 1
        await self.repo.add(user)
