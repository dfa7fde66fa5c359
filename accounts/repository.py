"""Every query of the accounts domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import (
    ApiToken,
    BrowserSession,
    Certification,
    EmailToken,
    Invitation,
    Membership,
    Organisation,
    OrganisationVerification,
    PlaceManager,
    RateGrant,
    Training,
    User,
    UserType,
)
from kernel.idempotency import IdempotencyRecord, caller_of


class AccountRepository:
    """Reads and writes of users, organisations, roles, trainings and tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: SQLModel) -> None:
        """Insert or update a row and learn its id."""
        self.session.add(row)
        await self.session.flush()

    async def remove(self, row: SQLModel) -> None:
        """Delete a row."""
        await self.session.delete(row)
        await self.session.flush()

    # users ------------------------------------------------------------------
    async def user(self, user_id: int) -> User | None:
        """A user by id (deleted accounts included)."""
        return await self.session.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        """A user by normalised e-mail."""
        rows = await self.session.exec(select(User).where(User.email == email))
        return rows.first()

    async def users_asking_for_a_rate(self, limit: int) -> Sequence[User]:
        """Live users who asked for a rate at sign-up (or since), by name."""
        rows = await self.session.exec(
            select(User)
            .where(col(User.requested_user_type_code).is_not(None), col(User.deleted_at).is_(None))
            .order_by(col(User.display_name), col(User.id))
            .limit(limit)
        )
        return rows.all()

    async def users_with_email_suffix(self, suffix: str) -> Sequence[User]:
        """The users whose address ends with ``suffix`` (e.g. the demo's domain), by address."""
        rows = await self.session.exec(
            select(User).where(col(User.email).endswith(suffix)).order_by(col(User.email))
        )
        return rows.all()

    async def user_type(self, code: str) -> UserType | None:
        """A user type by code."""
        return await self.session.get(UserType, code)

    async def user_types(self, place_id: int | None = None) -> Sequence[UserType]:
        """Platform-wide user types, plus those of one place when given."""
        query = select(UserType).where(col(UserType.place_id).is_(None))
        if place_id is not None:
            query = select(UserType).where(
                (col(UserType.place_id).is_(None)) | (col(UserType.place_id) == place_id)
            )
        rows = await self.session.exec(query.order_by(col(UserType.position), col(UserType.code)))
        return rows.all()

    # roles --------------------------------------------------------------------
    async def memberships_of_user(self, user_id: int) -> Sequence[tuple[Membership, Organisation]]:
        """A user's organisations with their role."""
        rows = await self.session.exec(
            select(Membership, Organisation)
            .join(Organisation, col(Organisation.id) == col(Membership.organisation_id))
            .where(Membership.user_id == user_id)
            .order_by(col(Organisation.name))
        )
        return rows.all()

    async def managed_place_ids(self, user_id: int) -> list[int]:
        """Places a user manages."""
        rows = await self.session.exec(
            select(PlaceManager.place_id)
            .where(PlaceManager.user_id == user_id)
            .order_by(col(PlaceManager.place_id))
        )
        return list(rows.all())

    async def managers_of(self, place_id: int) -> Sequence[tuple[PlaceManager, User]]:
        """Managers of a place."""
        rows = await self.session.exec(
            select(PlaceManager, User)
            .join(User, col(User.id) == col(PlaceManager.user_id))
            .where(PlaceManager.place_id == place_id)
            .order_by(col(User.display_name))
        )
        return rows.all()

    async def place_manager(self, place_id: int, user_id: int) -> PlaceManager | None:
        """The manager row of a user at a place."""
        rows = await self.session.exec(
            select(PlaceManager).where(
                PlaceManager.place_id == place_id, PlaceManager.user_id == user_id
            )
        )
        return rows.first()

    async def organisation(self, organisation_id: int) -> Organisation | None:
        """An organisation by id."""
        return await self.session.get(Organisation, organisation_id)

    async def all_organisations(self, limit: int) -> Sequence[Organisation]:
        """Organisations by name, the first ``limit`` of them."""
        rows = await self.session.exec(
            select(Organisation).order_by(col(Organisation.name), col(Organisation.id)).limit(limit)
        )
        return rows.all()

    async def members(self, organisation_id: int) -> Sequence[tuple[Membership, User]]:
        """Members of an organisation."""
        rows = await self.session.exec(
            select(Membership, User)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(Membership.organisation_id == organisation_id)
            .order_by(col(User.display_name))
        )
        return rows.all()

    async def membership(self, organisation_id: int, user_id: int) -> Membership | None:
        """The membership of a user in an organisation."""
        rows = await self.session.exec(
            select(Membership).where(
                Membership.organisation_id == organisation_id, Membership.user_id == user_id
            )
        )
        return rows.first()

    async def member_by_email(self, organisation_id: int, email: str) -> Membership | None:
        """The membership of the member of an organisation with this e-mail."""
        rows = await self.session.exec(
            select(Membership)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(Membership.organisation_id == organisation_id, User.email == email)
        )
        return rows.first()

    async def invitation(self, invitation_id: int) -> Invitation | None:
        """An invitation by id."""
        return await self.session.get(Invitation, invitation_id)

    async def invitation_to(self, organisation_id: int, email: str) -> Invitation | None:
        """The invitation of an e-mail address into an organisation."""
        rows = await self.session.exec(
            select(Invitation).where(
                Invitation.organisation_id == organisation_id, Invitation.email == email
            )
        )
        return rows.first()

    async def invitations_of(self, organisation_id: int) -> Sequence[Invitation]:
        """An organisation's pending invitations, newest first."""
        rows = await self.session.exec(
            select(Invitation)
            .where(Invitation.organisation_id == organisation_id)
            .order_by(col(Invitation.id).desc())
        )
        return rows.all()

    async def invitations_for(self, email: str) -> Sequence[tuple[Invitation, Organisation]]:
        """The invitations addressed to an e-mail, with their organisations."""
        rows = await self.session.exec(
            select(Invitation, Organisation)
            .join(Organisation, col(Organisation.id) == col(Invitation.organisation_id))
            .where(Invitation.email == email)
            .order_by(col(Invitation.id).desc())
        )
        return rows.all()

    async def count_admins(self, organisation_id: int) -> int:
        """How many admins an organisation has."""
        rows = await self.session.exec(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == organisation_id, Membership.role == "admin")
        )
        return rows.one()

    # rates granted per place ---------------------------------------------------------
    async def rate_grant(self, user_id: int, place_id: int) -> RateGrant | None:
        """The rate a place granted a user."""
        rows = await self.session.exec(
            select(RateGrant).where(RateGrant.user_id == user_id, RateGrant.place_id == place_id)
        )
        return rows.first()

    async def rate_grants_of(self, user_id: int) -> Sequence[RateGrant]:
        """Every rate granted to a user, by place."""
        rows = await self.session.exec(
            select(RateGrant).where(RateGrant.user_id == user_id).order_by(col(RateGrant.place_id))
        )
        return rows.all()

    # organisation verification ------------------------------------------------------------
    async def place_verification(
        self, organisation_id: int, place_id: int
    ) -> OrganisationVerification | None:
        """A place's verification of an organisation."""
        rows = await self.session.exec(
            select(OrganisationVerification).where(
                OrganisationVerification.organisation_id == organisation_id,
                OrganisationVerification.place_id == place_id,
            )
        )
        return rows.first()

    async def verified_place_ids(self, organisation_id: int) -> list[int]:
        """The places that verified an organisation."""
        rows = await self.session.exec(
            select(OrganisationVerification.place_id)
            .where(OrganisationVerification.organisation_id == organisation_id)
            .order_by(col(OrganisationVerification.place_id))
        )
        return list(rows.all())

    async def forget_verifications(self, organisation_id: int) -> None:
        """Drop every place's verification of an organisation (its identity changed)."""
        statement: Any = delete(OrganisationVerification).where(
            col(OrganisationVerification.organisation_id) == organisation_id
        )
        await self.session.exec(statement)

    # trainings -------------------------------------------------------------------
    async def training(self, training_id: int) -> Training | None:
        """A training by id."""
        return await self.session.get(Training, training_id)

    async def trainings_of(self, place_id: int) -> Sequence[Training]:
        """Trainings of a place."""
        rows = await self.session.exec(
            select(Training).where(Training.place_id == place_id).order_by(col(Training.name))
        )
        return rows.all()

    async def certification(self, user_id: int, training_id: int) -> Certification | None:
        """A user's certification for a training."""
        rows = await self.session.exec(
            select(Certification).where(
                Certification.user_id == user_id, Certification.training_id == training_id
            )
        )
        return rows.first()

    async def certifications_of_user(
        self, user_id: int
    ) -> Sequence[tuple[Certification, Training]]:
        """A user's certifications with their trainings."""
        rows = await self.session.exec(
            select(Certification, Training)
            .join(Training, col(Training.id) == col(Certification.training_id))
            .where(Certification.user_id == user_id)
            .order_by(col(Training.name))
        )
        return rows.all()

    async def holders(self, training_id: int) -> Sequence[tuple[Certification, User]]:
        """Who holds a training's certification."""
        rows = await self.session.exec(
            select(Certification, User)
            .join(User, col(User.id) == col(Certification.user_id))
            .where(Certification.training_id == training_id)
            .order_by(col(User.display_name))
        )
        return rows.all()

    # tokens ------------------------------------------------------------------------
    async def tokens_of(self, user_id: int) -> Sequence[ApiToken]:
        """A user's API tokens, newest first."""
        rows = await self.session.exec(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(col(ApiToken.id).desc())
        )
        return rows.all()

    async def token(self, user_id: int, token_id: int) -> ApiToken | None:
        """One of a user's tokens."""
        row = await self.session.get(ApiToken, token_id)
        return row if row is not None and row.user_id == user_id else None

    async def revoke_all_tokens(self, user_id: int, at: datetime) -> None:
        """Revoke every live token of a user."""
        await self.session.exec(
            update(ApiToken)
            .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
            .values(revoked_at=at)
        )

    # deletion -------------------------------------------------------------------------
    async def drop_roles(self, user_id: int) -> None:
        """Remove memberships, manager roles, rates granted and certifications of a user."""
        for table in (Membership, PlaceManager, RateGrant, Certification):
            statement: Any = delete(table).where(col(table.user_id) == user_id)
            await self.session.exec(statement)

    # browser sessions -------------------------------------------------------------------
    async def end_session(self, token_sha256: str) -> None:
        """Delete one browser session (its cookie stops working at once)."""
        await self.session.exec(
            delete(BrowserSession).where(col(BrowserSession.token_sha256) == token_sha256)
        )

    async def forget_idempotent_answers(self, user_id: int) -> None:
        """Delete the answers kept for a user's idempotency keys (they may hold their data)."""
        await self.session.exec(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.caller) == caller_of(user_id))
        )

    async def end_sessions(self, user_id: int) -> None:
        """Delete every browser session of a user."""
        await self.session.exec(
            delete(BrowserSession).where(col(BrowserSession.user_id) == user_id)
        )

    async def drop_stale_sessions(self, idle_since: datetime, opened_since: datetime) -> None:
        """Delete the sessions that can no longer be used (idle or too old)."""
        await self.session.exec(
            delete(BrowserSession).where(
                (col(BrowserSession.last_seen_at) <= idle_since)
                | (col(BrowserSession.created_at) <= opened_since)
            )
        )

    # links mailed to people ---------------------------------------------------------
    async def use_email_token(
        self, token_hash: str, purpose: str, now: datetime
    ) -> EmailToken | None:
        """Mark a live link used and return it; None if it is unknown, used or expired. One
        statement, so two clicks at once use it once."""
        statement: Any = (
            update(EmailToken)
            .where(
                col(EmailToken.token_hash) == token_hash,
                col(EmailToken.purpose) == purpose,
                col(EmailToken.used_at).is_(None),
                col(EmailToken.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(EmailToken.id))
        )
        used_id = (await self.session.exec(statement)).scalar_one_or_none()
        if used_id is None:
            return None
        return await self.session.get(EmailToken, used_id, populate_existing=True)

    async def email_token(self, token_hash: str, purpose: str) -> EmailToken | None:
        """A link by the hash of its token, whatever its state."""
        rows = await self.session.exec(
            select(EmailToken).where(
                EmailToken.token_hash == token_hash, EmailToken.purpose == purpose
            )
        )
        return rows.first()

    async def use_all_email_tokens(self, user_id: int, purpose: str, now: datetime) -> None:
        """Mark every live link of a user for ``purpose`` used (a newer one did the job)."""
        statement: Any = (
            update(EmailToken)
            .where(
                col(EmailToken.user_id) == user_id,
                col(EmailToken.purpose) == purpose,
                col(EmailToken.used_at).is_(None),
            )
            .values(used_at=now)
        )
        await self.session.exec(statement)

    async def purge_email_tokens(self, expired_before: datetime) -> int:
        """Delete the links that expired before ``expired_before``; how many."""
        statement: Any = delete(EmailToken).where(col(EmailToken.expires_at) < expired_before)
        result = await self.session.exec(statement)
        return int(getattr(result, "rowcount", 0) or 0)
