"""Thin HTTP controllers for managers and admins: rates, manager roles, trainings."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

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
    UserTypeGrant,
    UserTypeRead,
)
from accounts.staff import StaffService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager
from kernel.auth.rules import ADMIN, BEARER, MANAGER, PLACE_MANAGER, PUBLIC
from kernel.clock import Clock
from kernel.routes import delete, get, post, put

EmailQuery = Annotated[str, QueryParameter(min_length=3, max_length=254)]


def provide_staff(
    db_session: NamedDependency[AsyncSession], clock: NamedDependency[Clock]
) -> StaffService:
    """The staff service bound to this request's transaction."""
    return StaffService(AccountRepository(db_session), clock)


STAFF = {"staff": Provide(provide_staff, sync_to_thread=False)}
Staff = NamedDependency[StaffService]
Me = NamedDependency[Actor]


class UserTypeController(Controller):
    """Rate categories and who gets which."""

    path = "/api"
    tags = ["user types"]
    dependencies = STAFF

    @get("/user-types", opt=PUBLIC)
    async def user_types(
        self, staff: Staff, place_id: FromQuery[int | None] = None
    ) -> list[UserTypeRead]:
        """The user types (rate categories) offered, everywhere or at one place."""
        return await staff.user_types(place_id)

    @post(
        "/user-types",
        status_code=HTTP_201_CREATED,
        guards=[require_manager],
        opt=PLACE_MANAGER,
        security=BEARER,
    )
    async def create_user_type(
        self, staff: Staff, actor: Me, data: JSONBody[UserTypeCreate]
    ) -> UserTypeRead:
        """Add a user type for a place (its managers) or everywhere (admins)."""
        return await staff.create_user_type(actor, data)

    @get("/users", guards=[require_manager], opt=MANAGER, security=BEARER)
    async def find_user(self, staff: Staff, actor: Me, email: EmailQuery) -> UserSummary:
        """Find a user by e-mail, to grant a rate or a certification."""
        return await staff.find_user(actor, email)

    # The place is in the body: only its managers (or, for a rate valid everywhere, admins).
    @put(
        "/users/{user_id:int}/user-type",
        guards=[require_manager],
        opt=PLACE_MANAGER,
        security=BEARER,
    )
    async def grant_user_type(
        self, staff: Staff, actor: Me, user_id: FromPath[int], data: JSONBody[UserTypeGrant]
    ) -> RateGrantRead:
        """Grant a user a rate at my place after checking proof (everywhere: admins)."""
        return await staff.grant_user_type(actor, user_id, data.user_type, data.place_id)


class PlaceStaffController(Controller):
    """Managers and trainings of a place."""

    path = "/api/places/{place_id:int}"
    tags = ["places"]
    dependencies = STAFF

    @get("/managers", guards=[require_manager], opt=PLACE_MANAGER, security=BEARER)
    async def managers(self, staff: Staff, actor: Me, place_id: FromPath[int]) -> list[ManagerRead]:
        """Managers of a place (its managers)."""
        return await staff.managers(actor, place_id)

    @post(
        "/managers",
        status_code=HTTP_201_CREATED,
        guards=[require_admin],
        opt=ADMIN,
        security=BEARER,
    )
    async def add_manager(
        self, staff: Staff, place_id: FromPath[int], data: JSONBody[ManagerAdd]
    ) -> ManagerRead:
        """Make a user a manager of a place (platform admins)."""
        return await staff.add_manager(place_id, data)

    @delete(
        "/managers/{user_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        guards=[require_admin],
        opt=ADMIN,
        security=BEARER,
    )
    async def remove_manager(
        self, staff: Staff, place_id: FromPath[int], user_id: FromPath[int]
    ) -> None:
        """Withdraw a manager role (platform admins)."""
        await staff.remove_manager(place_id, user_id)

    @get("/trainings", opt=PUBLIC)
    async def trainings(self, staff: Staff, place_id: FromPath[int]) -> list[TrainingRead]:
        """Trainings a place runs (some resources require one)."""
        return await staff.trainings(place_id)

    @post(
        "/trainings",
        status_code=HTTP_201_CREATED,
        guards=[require_manager],
        opt=PLACE_MANAGER,
        security=BEARER,
    )
    async def create_training(
        self, staff: Staff, actor: Me, place_id: FromPath[int], data: JSONBody[TrainingCreate]
    ) -> TrainingRead:
        """Add a training to a place (its managers)."""
        return await staff.create_training(actor, place_id, data)


class CertificationController(Controller):
    """Who completed which training."""

    path = "/api/trainings/{training_id:int}/certifications"
    tags = ["trainings"]
    dependencies = STAFF
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/")
    async def holders(
        self, staff: Staff, actor: Me, training_id: FromPath[int]
    ) -> list[CertificationHolder]:
        """Holders of a training's certification (the place's managers)."""
        return await staff.holders(actor, training_id)

    @post("/", status_code=HTTP_201_CREATED)
    async def certify(
        self,
        staff: Staff,
        actor: Me,
        training_id: FromPath[int],
        data: JSONBody[CertificationGrant],
    ) -> CertificationHolder:
        """Record or renew a user's certification."""
        return await staff.certify(actor, training_id, data)

    @delete("/{user_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self, staff: Staff, actor: Me, training_id: FromPath[int], user_id: FromPath[int]
    ) -> None:
        """Withdraw a user's certification."""
        await staff.revoke_certification(actor, training_id, user_id)
