"""Check-in and no-shows: staff mark arrivals, people check in at the place's kiosk, managers
read the no-shows per person."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.attendance_schemas import KioskCheckedIn, KioskCheckIn, NoShowCount
from booking.controllers import booking_services
from booking.schemas import BookingRead
from booking.service import Attendance
from kernel.auth.actor import actor_of
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, PLACE_MANAGER, PUBLIC
from kernel.routes import get, post


def provide_attendance(db_session: NamedDependency[AsyncSession], state: State) -> Attendance:
    """Check-ins and no-shows in this request's transaction."""
    return booking_services(state).attendance(db_session)


ATTENDANCE = {"attendance": Provide(provide_attendance, sync_to_thread=False)}
AttendanceDep = NamedDependency[Attendance]
Caller = Request[Any, Any, Any]


class AttendanceController(Controller):
    """Arrivals marked by the managers of a place, and its no-shows."""

    path = "/api"
    tags = ["attendance"]
    dependencies = ATTENDANCE
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @post("/bookings/{booking_id:int}/check-in", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def check_in(
        self, attendance: AttendanceDep, request: Caller, booking_id: FromPath[int]
    ) -> BookingRead:
        """Mark a confirmed booking arrived (again: no change)."""
        return await attendance.check_in(actor_of(request), booking_id)

    @get("/places/{place_id:int}/no-shows", opt=PLACE_MANAGER)
    async def no_shows(
        self, attendance: AttendanceDep, request: Caller, place_id: FromPath[int]
    ) -> list[NoShowCount]:
        """People whose bookings the place released because nobody came, with how many."""
        return await attendance.no_shows(actor_of(request), place_id)


class KioskController(Controller):
    """The place's kiosk: a person checks in with their booking's reference and e-mail."""

    path = "/api/places"
    tags = ["attendance"]
    dependencies = ATTENDANCE
    opt = PUBLIC

    @post("/{place_id:int}/kiosk/check-in", status_code=HTTP_200_OK, opt=PUBLIC)
    async def kiosk_check_in(
        self, attendance: AttendanceDep, place_id: FromPath[int], data: JSONBody[KioskCheckIn]
    ) -> KioskCheckedIn:
        """Check in at the place: a booking of today, its reference and the booker's e-mail."""
        return await attendance.kiosk_check_in(place_id, data)


CONTROLLERS = [AttendanceController, KioskController]
