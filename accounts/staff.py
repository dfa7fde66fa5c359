"""What managers and admins do about people: rates, manager roles, trainings, certifications."""

from __future__ import annotations

from datetime import timedelta

from accounts.models import Certification, PlaceManager, RateGrant, Training, User, UserType
from accounts.repository import AccountRepository
from accounts.schemas import (
    CertificationGrant,
    CertificationHolder,
    ManagerAdd,
    ManagerRead,
    RateGrantRead,
    TrainingCreate,
    TrainingRead,
    UserSummary,
    UserTypeCreate,
    UserTypeRead,
)
from kernel.auth.actor import Actor
from kernel.auth.rates import CITIZEN
from kernel.clock import Clock, system_clock
from kernel.errors import (
    ConflictError,
    EmailNotVerifiedError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)


def user_summary(user: User, rates: dict[int, str] | None = None) -> UserSummary:
    """The managers' view of a user (found by e-mail), with the rates of their places."""
    return UserSummary(
        id=user.id or 0,
        email=user.email,
        display_name=user.display_name,
        user_type=user.user_type_code,
        requested_user_type=user.requested_user_type_code,
        rates=rates or {},
    )


def _forbid_unless_manager(actor: Actor, place_id: int) -> None:
    if not actor.manages(place_id):
        raise ForbiddenError("You do not manage this place.", code="not_place_manager")


class StaffService:
    """Manager and admin operations on people."""

    def __init__(self, repository: AccountRepository, clock: Clock = system_clock) -> None:
        self.repo = repository
        self.clock = clock

    async def _live_user(self, user_id: int) -> User:
        user = await self.repo.user(user_id)
        if user is None or user.deleted_at is not None:
            raise NotFoundError(f"No user with id {user_id}.", code="user_not_found")
        return user

    # user types -----------------------------------------------------------------------
    async def user_types(self, place_id: int | None) -> list[UserTypeRead]:
        """Rate categories everywhere, plus those of a place."""
        return [
            UserTypeRead.model_validate(t, from_attributes=True)
            for t in await self.repo.user_types(place_id)
        ]

    async def create_user_type(self, actor: Actor, data: UserTypeCreate) -> UserTypeRead:
        """Add a rate category: for a place (its managers) or everywhere (admins)."""
        if data.place_id is None and not actor.is_admin:
            raise ForbiddenError(
                "Only platform administrators add user types for every place; "
                "give place_id to add one for your place.",
                code="not_an_admin",
            )
        if data.place_id is not None:
            _forbid_unless_manager(actor, data.place_id)
        if await self.repo.user_type(data.code) is not None:
            raise ConflictError(f"The code {data.code!r} is already used.", code="code_taken")
        row = UserType(**data.model_dump())
        await self.repo.add(row)
        return UserTypeRead.model_validate(row, from_attributes=True)

    async def find_user(self, actor: Actor, email: str) -> UserSummary:
        """Look a user up by e-mail (managers at the front desk), with the rates granted at
        the caller's places only."""
        user = await self.repo.user_by_email(email.strip().lower())
        if user is None or user.deleted_at is not None or not actor.is_manager:
            raise NotFoundError("No account uses this e-mail.", code="user_not_found")
        assert user.id is not None
        rates = {
            g.place_id: g.user_type_code
            for g in await self.repo.rate_grants_of(user.id)
            if actor.manages(g.place_id)
        }
        return user_summary(user, rates)

    async def grant_user_type(
        self, actor: Actor, user_id: int, code: str, place_id: int | None = None
    ) -> RateGrantRead:
        """Give a user a rate after checking proof (student card, job-seeker certificate):
        at the caller's place, or everywhere (platform admins). ``citizen`` withdraws it."""
        if place_id is None and not actor.is_admin:
            raise ForbiddenError(
                "A manager grants a rate for their own place: give place_id. Only platform "
                "administrators grant a rate valid everywhere.",
                code="not_an_admin",
            )
        if place_id is not None:
            _forbid_unless_manager(actor, place_id)
        user = await self._live_user(user_id)
        user_type = await self.repo.user_type(code)
        if (
            user_type is None
            or user_type.for_organisations
            or user_type.place_id not in (None, place_id)
        ):
            raise InvalidInputError(
                f"{code!r} is not a user type for a person here.",
                field="user_type",
                code="unknown_user_type",
            )
        if place_id is None:
            user.user_type_code = code
        else:
            await self._grant_at(actor, user_id, place_id, code)
        if user.requested_user_type_code == code:
            user.requested_user_type_code = None
        await self.repo.add(user)
        return RateGrantRead(user_id=user_id, place_id=place_id, user_type=code)

    async def rate_requests(self, actor: Actor, limit: int = 500) -> list[UserSummary]:
        """Everyone waiting for an answer to the rate they asked for (platform admins, who
        grant rates valid everywhere; a place's managers answer at the front desk)."""
        if not actor.is_admin:
            raise ForbiddenError(
                "Only platform administrators list every rate request.", code="not_an_admin"
            )
        return [user_summary(u) for u in await self.repo.users_asking_for_a_rate(limit)]

    async def refuse_rate_request(
        self, actor: Actor, user_id: int, place_id: int | None = None
    ) -> None:
        """Turn down the rate a user asked for (no proof): at the caller's place, or for every
        place (platform admins). Granting it answers the request too."""
        if place_id is None and not actor.is_admin:
            raise ForbiddenError(
                "A manager answers a rate request for their own place: give place_id.",
                code="not_an_admin",
            )
        if place_id is not None:
            _forbid_unless_manager(actor, place_id)
        user = await self._live_user(user_id)
        if user.requested_user_type_code is None:
            raise ConflictError("This user asks for no rate.", code="no_rate_request")
        user.requested_user_type_code = None
        await self.repo.add(user)

    async def _grant_at(self, actor: Actor, user_id: int, place_id: int, code: str) -> None:
        grant = await self.repo.rate_grant(user_id, place_id)
        if code == CITIZEN:
            if grant is not None:
                await self.repo.remove(grant)
            return
        grant = grant or RateGrant(user_id=user_id, place_id=place_id, user_type_code=code)
        grant.user_type_code = code
        grant.granted_by_user_id = actor.user_id
        grant.granted_at = self.clock()
        await self.repo.add(grant)

    # managers --------------------------------------------------------------------------
    async def managers(self, actor: Actor, place_id: int) -> list[ManagerRead]:
        """The managers of a place."""
        _forbid_unless_manager(actor, place_id)
        return [
            ManagerRead(user_id=u.id or 0, display_name=u.display_name, email=u.email)
            for _, u in await self.repo.managers_of(place_id)
        ]

    async def add_manager(self, place_id: int, data: ManagerAdd) -> ManagerRead:
        """Make a user a manager of a place (platform admins)."""
        user = await self.repo.user_by_email(data.email)
        if user is None or user.deleted_at is not None:
            raise NotFoundError("No account uses this e-mail.", code="user_not_found")
        assert user.id is not None
        if user.email_verified_at is None:
            raise EmailNotVerifiedError(
                "This person has not confirmed their e-mail address yet: a manager's address "
                "must be proved first."
            )
        if await self.repo.place_manager(place_id, user.id) is None:
            await self.repo.add(PlaceManager(place_id=place_id, user_id=user.id))
        return ManagerRead(user_id=user.id, display_name=user.display_name, email=user.email)

    async def remove_manager(self, place_id: int, user_id: int) -> None:
        """Withdraw a manager role (platform admins)."""
        row = await self.repo.place_manager(place_id, user_id)
        if row is None:
            raise NotFoundError("This user does not manage this place.", code="manager_not_found")
        await self.repo.remove(row)

    # trainings --------------------------------------------------------------------------
    async def trainings(self, place_id: int) -> list[TrainingRead]:
        """The trainings of a place (public: people need to know what to attend)."""
        return [
            TrainingRead.model_validate(t, from_attributes=True)
            for t in await self.repo.trainings_of(place_id)
        ]

    async def create_training(
        self, actor: Actor, place_id: int, data: TrainingCreate
    ) -> TrainingRead:
        """Add a training to a place."""
        _forbid_unless_manager(actor, place_id)
        row = Training(place_id=place_id, **data.model_dump())
        await self.repo.add(row)
        return TrainingRead.model_validate(row, from_attributes=True)

    async def _managed_training(self, actor: Actor, training_id: int) -> Training:
        training = await self.repo.training(training_id)
        if training is None:
            raise NotFoundError(f"No training with id {training_id}.", code="training_not_found")
        _forbid_unless_manager(actor, training.place_id)
        return training

    async def holders(self, actor: Actor, training_id: int) -> list[CertificationHolder]:
        """Who holds a training's certification (the place's managers)."""
        await self._managed_training(actor, training_id)
        return [
            CertificationHolder(
                id=c.id or 0,
                user_id=u.id or 0,
                display_name=u.display_name,
                granted_on=c.granted_on,
                expires_on=c.expires_on,
            )
            for c, u in await self.repo.holders(training_id)
        ]

    async def certify(
        self, actor: Actor, training_id: int, data: CertificationGrant
    ) -> CertificationHolder:
        """Record (or renew) a user's certification; the training's validity sets the expiry."""
        training = await self._managed_training(actor, training_id)
        user = await self._live_user(data.user_id)
        expires_on = data.expires_on
        if expires_on is None and training.validity_days is not None:
            expires_on = data.granted_on + timedelta(days=training.validity_days)
        row = await self.repo.certification(data.user_id, training_id)
        if row is None:
            row = Certification(
                user_id=data.user_id, training_id=training_id, granted_on=data.granted_on
            )
        row.granted_on, row.expires_on = data.granted_on, expires_on
        row.granted_by_user_id = actor.user_id
        row.source_session_id = None  # recorded by a manager now
        await self.repo.add(row)
        return CertificationHolder(
            id=row.id or 0,
            user_id=data.user_id,
            display_name=user.display_name,
            granted_on=row.granted_on,
            expires_on=row.expires_on,
        )

    async def revoke_certification(self, actor: Actor, training_id: int, user_id: int) -> None:
        """Withdraw a certification."""
        await self._managed_training(actor, training_id)
        row = await self.repo.certification(user_id, training_id)
        if row is None:
            raise NotFoundError(
                "This user holds no such certification.", code="certification_not_found"
            )
        await self.repo.remove(row)
