"""The programme pages: every place's programme and each place's (filtered), a session's page
with its seats left and "register", my registrations, and for the place's managers its
sessions, each with its registrants (printable sign-in sheet, "present" on a phone), CSV, a
front-desk registration form and "cancel the session".

The rules are the programme's services' (:mod:`programme.sessions`,
:mod:`programme.registrations`); these handlers parse, call one service and render.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.plan_cards import refresh_ticket
from billing.plan_schemas import ChargeRead
from billing.repository import BillingRepository
from billing.ticket_schemas import TicketOrder
from kernel.auth.actor import Actor, actor_of
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BOOKING, PLACE_MANAGER, PUBLIC, USER
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from kernel.spreadsheets import inert
from mutualab.web.booking_forms import WORDS
from mutualab.web.forms import Errors, FieldError, app_error_field
from mutualab.web.i18n import N_
from mutualab.web.pages.booking import card_due_here, payment_element_page
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.pages.manage.sessions import MESSAGES as SESSION_MESSAGES
from mutualab.web.rendering import page, see_other
from programme.controllers import DEPENDENCIES
from programme.schemas import (
    AttendanceMark,
    DeskRegistrationCreate,
    RegistrationCreate,
    SessionRead,
    SessionUpdate,
)
from programme.service import Registrations, Sessions
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

KINDS = {"workshop": N_("Workshop"), "training": N_("Training"), "event": N_("Event")}
REGISTRATION_STATUSES = {
    "registered": N_("Registered"),
    "waitlisted": N_("On the waitlist"),
    "cancelled": N_("Cancelled"),
}
PAGE_SIZE = 100
CHARGE_STATUSES: dict[str, str] = WORDS["PAYMENT_STATUSES"]
# A ticket by card is paid on /account/registrations/{id}/pay (Stripe's Payment Element).
PAGE_METHODS = ("on_site", "invoice", "card")


@dataclass(frozen=True)
class Dated:
    """A session with its start and end on its place's clock."""

    session: SessionRead
    starts: datetime
    ends: datetime


def dated(session: SessionRead) -> Dated:
    """``session`` on its place's clock."""
    zone = ZoneInfo(session.timezone)
    return Dated(session, session.starts_at.astimezone(zone), session.ends_at.astimezone(zone))


@dataclass
class ProgrammeFilter:
    """The filters of a programme page, as typed."""

    town: str = ""
    kind: str = ""
    day: str = ""
    price: str = ""


@dataclass
class RegisterForm:
    """A registration, as posted from the session's page."""

    seats: str = "1"
    waitlist: str = ""


@dataclass
class TicketForm:
    """A priced registration, as posted from its quote."""

    seats: str = "1"
    fingerprint: str = ""
    payment_method: str = "on_site"
    waitlist: str = ""
    organisation_id: str = ""
    purchase_order: str = ""


async def my_organisations(db_session: AsyncSession, actor: Actor) -> dict[int, str]:
    """The organisations the actor belongs to, by id (a teacher registers their school's group
    at its rate, on invoice)."""
    return await BillingRepository(db_session).organisation_names(sorted(actor.organisation_roles))


def organisation_of(text: str, organisations: dict[int, str]) -> int | None:
    """The organisation a form names, if the actor belongs to it (else: the person)."""
    chosen = int(text) if text.strip().isdigit() else None
    return chosen if chosen in organisations else None


async def charges_of(
    state: State, db_session: AsyncSession, ids: list[int]
) -> dict[int, ChargeRead]:
    """The tickets' charges of registrations (none: free), by registration."""
    return await billing_of(state).tickets(db_session).charges_of(ids)


@dataclass
class MarkForm:
    """A line of the sign-in sheet."""

    attended: str = "1"


@dataclass
class DeskForm:
    """A registration at the front desk: a walk-in (or the account of the address typed)."""

    name: str = ""
    email: str = ""
    phone: str = ""
    seats: str = "1"
    waitlist: str = ""


@dataclass
class EditForm:
    """What a manager changes of a session, as typed (ids prefixed: the sheet has other forms)."""

    edit_title: str = ""
    edit_description: str = ""
    edit_seats: str = ""
    edit_min_attendance: str = "0"


EDIT_MESSAGES = {
    **{
        f"edit_{name}": SESSION_MESSAGES[name]
        for name in ("title", "description", "seats", "min_attendance")
    },
    "seats_below_registered": FieldError(
        N_("%(num)s seats are registered: keep at least as many."), {}
    ),
    "session_started": FieldError(N_("The session has started: it can no longer be changed.")),
    "minimum_checked": FieldError(N_("The minimum was checked already: it cannot be raised.")),
}


DESK_MESSAGES = {
    "name": FieldError(N_("Enter the person's name.")),
    "email": FieldError(N_("This is not an e-mail address.")),
    "phone": FieldError(N_("This is not a phone number.")),
    "seats": FieldError(N_("Enter a number of seats from 1 to 100.")),
    "session_full": FieldError(N_("Not enough seats are left: tick the waitlist instead.")),
    "already_registered": FieldError(N_("This person is registered at this session already.")),
    "account_closed": FieldError(N_("This address belongs to a closed account.")),
    "registration_closed": FieldError(N_("This session is cancelled or over.")),
}
DESK_FIELDS = {
    "session_full": "seats",
    "already_registered": "email",
    "account_closed": "email",
    "registration_closed": "name",
}
DESK_FALLBACK = FieldError(N_("This value is not valid."))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class ProgrammePages(Controller):
    """Everyone reads the programmes and the sessions."""

    path = "/"
    dependencies = {**CATALOGUE, **DEPENDENCIES}
    opt = PUBLIC

    async def _programme(
        self,
        request: AnyRequest,
        sessions: Sessions,
        place: Any,
        town: str | None,
        kind: str | None,
        day: str | None,
        price: str | None,
    ) -> Template:
        form = ProgrammeFilter(town or "", kind or "", day or "", price or "")
        first = _day(form.day)
        start = datetime.combine(first, time(), tzinfo=UTC) if first else None
        found = await sessions.page(
            place_id=place.id if place is not None else None,
            town=form.town or None,
            kind=form.kind if form.kind in KINDS else None,
            start=start,
            free={"free": True, "paid": False}.get(form.price),
            limit=PAGE_SIZE,
        )
        return page(
            request,
            "programme/list.html",
            place=place,
            form=form,
            sessions=[dated(s) for s in found.items],
            total=found.total,
            KINDS=KINDS,
        )

    @get("/programme", opt=PUBLIC)
    async def programme(
        self,
        request: AnyRequest,
        sessions: NamedDependency[Sessions],
        town: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        day: FromQuery[str | None] = None,
        price: FromQuery[str | None] = None,
    ) -> Template:
        """Every place's sessions to come, by town, kind, date, free or paid."""
        return await self._programme(request, sessions, None, town, kind, day, price)

    @get("/places/{place_id:int}/programme", opt=PUBLIC)
    async def place_programme(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        sessions: NamedDependency[Sessions],
        place_id: FromPath[int],
        kind: FromQuery[str | None] = None,
        day: FromQuery[str | None] = None,
        price: FromQuery[str | None] = None,
    ) -> Template:
        """A place's sessions to come, with its calendar feed."""
        place = await catalogue.active_place(place_id)
        return await self._programme(request, sessions, place, None, kind, day, price)

    @get("/sessions/{session_id:int}", opt=PUBLIC)
    async def session_page(
        self,
        request: AnyRequest,
        sessions: NamedDependency[Sessions],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
    ) -> Template:
        """A session: what, when, where, price, seats left; register (logged in)."""
        session = await sessions.get(session_id)
        my_price = None
        actor = actor_of(request)
        if not session.free and actor.user_id is not None:
            try:
                priced = (
                    await billing_of(request.app.state)
                    .tickets(db_session)
                    .priced(actor, session_id, 1, None)
                )
                my_price = priced.quote.total_incl_vat_cents
            except AppError:
                my_price = None  # not offered to this user type: the lowest price is shown
        organisations = (
            await my_organisations(db_session, actor)
            if not session.free and actor.user_id is not None
            else {}
        )
        return page(
            request,
            "programme/session.html",
            item=dated(session),
            KINDS=KINDS,
            my_price=my_price,
            organisations=organisations,
        )


class RegistrationPages(Controller):
    """People register, see and cancel their registrations."""

    path = "/"
    dependencies = DEPENDENCIES
    guards = [require_user]
    opt = USER

    @post("/sessions/{session_id:int}/register", opt=USER)
    async def register(
        self,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
        data: URLEncodedBody[RegisterForm],
    ) -> Response[Any]:
        """Register (or wait), then see my registrations; refused: back, saying why."""
        seats = int(data.seats) if data.seats.strip().isdigit() else 0
        back = f"/sessions/{session_id}"
        if not 1 <= seats <= 100:
            return see_other(back, notice="registration_seats")
        asked = RegistrationCreate(seats=seats, waitlist=bool(data.waitlist))
        try:
            async with db_session.begin_nested():
                made = await registrations.register(actor, session_id, asked)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            notices = {"session_full": "session_full", "already_registered": "already_registered"}
            return see_other(back, notice=notices.get(exc.code, "registration_closed"))
        notice = "registered" if made.status == "registered" else "waitlisted"
        return see_other("/account/registrations", notice=notice)

    @get("/sessions/{session_id:int}/ticket", opt=USER)
    async def ticket(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        sessions: NamedDependency[Sessions],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
        seats: FromQuery[str] = "1",
        waitlist: FromQuery[str] = "",
        organisation_id: FromQuery[str] = "",
    ) -> Template | Response[Any]:
        """The quote of a priced registration (mine, or my organisation's), and how to pay it."""
        count = int(seats) if seats.strip().isdigit() else 0
        back = f"/sessions/{session_id}"
        if not 1 <= count <= 100:
            return see_other(back, notice="registration_seats")
        session = await sessions.get(session_id)
        organisations = await my_organisations(db_session, actor)
        organisation = organisation_of(organisation_id, organisations)
        try:
            quote = (
                await billing_of(request.app.state)
                .tickets(db_session)
                .quote(actor, session_id, count, organisation)
            )
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            return see_other(back, notice="registration_closed")
        # Waiting for seats is paid at the desk once registered.
        allowed = ("on_site",) if waitlist else PAGE_METHODS
        methods = [m for m in quote.payment_methods if m in allowed]
        return page(
            request,
            "programme/ticket.html",
            private=True,
            item=dated(session),
            quote=quote,
            seats=count,
            waitlist=bool(waitlist),
            methods=methods,
            organisation_id=organisation,
            organisation_name=organisations.get(organisation) if organisation else None,
            METHODS=WORDS["METHOD_LABELS"],
        )

    @post("/sessions/{session_id:int}/ticket", opt=USER)
    async def order(
        self,
        state: State,
        actor: NamedDependency[Actor],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
        data: URLEncodedBody[TicketForm],
    ) -> Response[Any]:
        """Register at the quoted price, then see my registrations; a moved price: quoted
        again; refused: back, saying why."""
        back = f"/sessions/{session_id}"
        organisations = await my_organisations(db_session, actor)
        organisation = organisation_of(data.organisation_id, organisations)
        try:
            asked = TicketOrder(
                seats=int(data.seats),
                fingerprint=data.fingerprint,
                payment_method=data.payment_method,
                waitlist=bool(data.waitlist),
                organisation_id=organisation,
                purchase_order=data.purchase_order.strip() or None,
            )
        except ValueError:
            return see_other(back, notice="registration_seats")
        try:
            async with db_session.begin_nested():
                made = await billing_of(state).tickets(db_session).order(actor, session_id, asked)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            quoted = f"/sessions/{session_id}/ticket?seats={asked.seats}" + (
                f"&organisation_id={organisation}" if organisation else ""
            )
            if exc.code == "price_changed":
                return see_other(quoted, notice="price_changed")
            if exc.code == "purchase_order_required":
                return see_other(quoted, notice="purchase_order_required")
            notices = {"session_full": "session_full", "already_registered": "already_registered"}
            return see_other(back, notice=notices.get(exc.code, "registration_closed"))
        waiting = made.registration.status == "waitlisted"
        if made.charge is not None and made.charge.method == "card" and not waiting:
            return see_other(f"/account/registrations/{made.registration.id}/pay")
        return see_other("/account/registrations", notice="waitlisted" if waiting else "registered")

    @get("/account/registrations/{registration_id:int}/pay", opt=BOOKING)
    async def pay_form(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        registration_id: FromPath[int],
        payment_intent: FromQuery[str] = "",
    ) -> Response[Any]:
        """Pay a ticket due by card, through Stripe's Payment Element."""
        ticket = await refresh_ticket(billing_of(state), actor, registration_id)
        if payment_intent:
            # Back from Stripe: the refresh above asked Stripe itself how it went.
            return see_other("/account/registrations", notice="payment_checked")
        if not card_due_here(ticket.charge, ticket.registration.user_id, actor):
            return see_other("/account/registrations")
        return payment_element_page(
            request,
            state,
            "programme/ticket_pay.html",
            f"/account/registrations/{registration_id}/pay",
            ticket=ticket,
            charge=ticket.charge,
            publishable_key=billing_of(state).config.publishable_key,
        )

    @post("/account/registrations/{registration_id:int}/pay", opt=BOOKING)
    async def pay_check(
        self, state: State, actor: NamedDependency[Actor], registration_id: FromPath[int]
    ) -> Response[Any]:
        """Ask Stripe how the ticket's card payment went (never the browser)."""
        await refresh_ticket(billing_of(state), actor, registration_id)
        return see_other("/account/registrations", notice="payment_checked")

    @get("/account/registrations", opt=USER)
    async def mine(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """My registrations (with what each ticket costs, its payment and invoices)."""
        mine = await registrations.mine(actor)
        charges = await charges_of(request.app.state, db_session, [r.id for r in mine])
        return page(
            request,
            "programme/mine.html",
            private=True,
            registrations=[(r, dated(r.session)) for r in mine],
            STATUSES=REGISTRATION_STATUSES,
            charges=charges,
            CHARGE_STATUSES=CHARGE_STATUSES,
        )

    @post("/account/registrations/{registration_id:int}/cancel", opt=BOOKING)
    async def cancel(
        self,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        registration_id: FromPath[int],
    ) -> Response[Any]:
        """Give up my seats, then back to my registrations."""
        try:
            async with db_session.begin_nested():
                await registrations.cancel(actor, registration_id)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            return see_other("/account/registrations", notice="registration_not_cancelled")
        return see_other("/account/registrations", notice="registration_cancelled")


class SheetPages(Controller):
    """A place's sessions for its managers: registrants, sign-in sheet, CSV."""

    path = "/manage"
    dependencies = {**CATALOGUE, **DEPENDENCIES}
    guards = [require_manager]
    opt = PLACE_MANAGER

    @get("/places/{place_id:int}/programme", opt=PLACE_MANAGER)
    async def place_sessions(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        sessions: NamedDependency[Sessions],
        place_id: FromPath[int],
    ) -> Template:
        """The place's sessions from a week ago on, each with its sign-in sheet."""
        place = await catalogue.managed_place(actor, place_id)
        found = await sessions.page(
            place_id=place_id,
            start=sessions.clock() - timedelta(days=7),
            include_cancelled=True,
            limit=PAGE_SIZE,
        )
        return place_page(
            request,
            "manage/programme.html",
            await catalogue.place_detail(place.id or place_id),
            "/programme",
            sessions=[dated(s) for s in found.items],
            KINDS=KINDS,
        )

    async def _sheet(
        self,
        request: AnyRequest,
        actor: Actor,
        sessions: Sessions,
        registrations: Registrations,
        db_session: AsyncSession,
        session_id: int,
        form: DeskForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
        edit: EditForm | None = None,
    ) -> Template:
        registrants = await registrations.registrants(actor, session_id)
        session = await sessions.get(session_id)
        charges = await charges_of(request.app.state, db_session, [r.id for r in registrants])
        edit = edit or EditForm(
            session.title, session.description, str(session.seats), str(session.min_attendance)
        )
        return page(
            request,
            "programme/sheet.html",
            private=True,
            status_code=status_code,
            item=dated(session),
            registrants=registrants,
            STATUSES=REGISTRATION_STATUSES,
            KINDS=KINDS,
            charges=charges,
            CHARGE_STATUSES=CHARGE_STATUSES,
            form=form or DeskForm(),
            edit=edit,
            errors=errors or {},
            live=session.status == "scheduled" and sessions.clock() < session.ends_at,
        )

    @get("/sessions/{session_id:int}", opt=PLACE_MANAGER)
    async def sheet(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        sessions: NamedDependency[Sessions],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
    ) -> Template:
        """The registrants, then those waiting: mark who came (a phone), or print it; what
        each paid or owes (money received at the desk); register someone; cancel the session."""
        return await self._sheet(request, actor, sessions, registrations, db_session, session_id)

    @post("/sessions/{session_id:int}/registrations", opt=PLACE_MANAGER)
    async def register_at_desk(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        sessions: NamedDependency[Sessions],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
        data: URLEncodedBody[DeskForm],
    ) -> Response[Any]:
        """Register a walk-in, or the account of the address typed, at the front desk."""
        errors: Errors = {}
        status = 422
        seats = int(data.seats) if data.seats.strip().isdigit() else 0
        if not data.name.strip():
            errors["name"] = DESK_MESSAGES["name"]
        if not 1 <= seats <= 100:
            errors["seats"] = DESK_MESSAGES["seats"]
        if not errors:
            asked = DeskRegistrationCreate(
                name=data.name.strip()[:120],
                email=data.email.strip()[:254],
                phone=data.phone.strip()[:30],
                seats=seats,
                waitlist=bool(data.waitlist),
            )
            try:
                async with db_session.begin_nested():
                    made = await registrations.register_at_desk(actor, session_id, asked)
            except AppError as exc:
                if isinstance(exc, NotFoundError) or exc.status_code == 403:
                    raise
                name = DESK_FIELDS.get(exc.code, app_error_field(exc) or "name")
                errors[name] = DESK_MESSAGES.get(exc.code, DESK_MESSAGES.get(name, DESK_FALLBACK))
                status = exc.status_code
            else:
                notice = "desk_registered" if made.status == "registered" else "desk_waitlisted"
                return see_other(f"/manage/sessions/{session_id}", notice=notice)
        return await self._sheet(
            request, actor, sessions, registrations, db_session, session_id, data, errors, status
        )

    @post("/sessions/{session_id:int}/edit", opt=PLACE_MANAGER)
    async def edit(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        sessions: NamedDependency[Sessions],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
        data: URLEncodedBody[EditForm],
    ) -> Response[Any]:
        """Change the title, description, seats or minimum; errors said next to the fields."""
        errors: Errors = {}
        status = 422
        try:
            change = SessionUpdate(
                title=data.edit_title,
                description=data.edit_description,
                seats=int(data.edit_seats) if data.edit_seats.strip().isdigit() else 0,
                min_attendance=int(data.edit_min_attendance)
                if data.edit_min_attendance.strip().isdigit()
                else -1,
            )
        except ValidationError as exc:
            for item in exc.errors():
                name = f"edit_{item['loc'][0]}" if item["loc"] else "edit_title"
                errors.setdefault(name, EDIT_MESSAGES.get(name, EDIT_MESSAGES["edit_title"]))
        else:
            try:
                async with db_session.begin_nested():
                    await sessions.update(actor, session_id, change)
            except AppError as exc:
                if isinstance(exc, NotFoundError) or exc.status_code == 403:
                    raise
                status = exc.status_code
                if exc.code == "seats_below_registered":
                    taken = exc.extra.get("seats_taken", 0)
                    errors["edit_seats"] = FieldError(
                        EDIT_MESSAGES[exc.code].message, {"num": taken}
                    )
                elif exc.code == "session_started":
                    errors["edit_title"] = EDIT_MESSAGES[exc.code]
                elif exc.code == "minimum_checked":
                    errors["edit_min_attendance"] = EDIT_MESSAGES[exc.code]
                else:
                    errors["edit_min_attendance"] = EDIT_MESSAGES["edit_min_attendance"]
            else:
                return see_other(f"/manage/sessions/{session_id}", notice="session_saved")
        return await self._sheet(
            request,
            actor,
            sessions,
            registrations,
            db_session,
            session_id,
            None,
            errors,
            status,
            data,
        )

    @get("/sessions/{session_id:int}/registrants.csv", opt=PLACE_MANAGER)
    async def registrants_csv(
        self,
        state: State,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        session_id: FromPath[int],
    ) -> Response[bytes]:
        """The registrants as CSV (UTF-8 with a BOM, formula-safe cells), with what each
        ticket costs and whether it is paid."""
        registrants = await registrations.registrants(actor, session_id)
        charges = await charges_of(state, db_session, [r.id for r in registrants])
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["nom", "email", "places", "statut", "inscrit le", "présent", "montant", "paiement"]
        )
        for r in registrants:
            charge = charges.get(r.id)
            writer.writerow(
                [
                    inert(r.display_name),
                    inert(r.email),
                    r.seats,
                    r.status,
                    r.created_at.isoformat(),
                    "oui" if r.attended_at is not None else "",
                    f"{charge.amount_cents / 100:.2f}".replace(".", ",") if charge else "0,00",
                    charge.status if charge else "free",
                ]
            )
        return Response(
            ("\ufeff" + out.getvalue()).encode(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="seance-{session_id}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    @post("/registrations/{registration_id:int}/attendance", opt=PLACE_MANAGER)
    async def mark(
        self,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        registration_id: FromPath[int],
        data: URLEncodedBody[MarkForm],
    ) -> Response[Any]:
        """Mark a person present (or not), then back to the sheet."""
        session_id = (await registrations.get(actor, registration_id)).session_id
        try:
            async with db_session.begin_nested():
                done = await registrations.mark(
                    actor, registration_id, AttendanceMark(attended=data.attended == "1")
                )
        except AppError as exc:
            if isinstance(exc, NotFoundError) or exc.status_code == 403:
                raise
            return see_other(f"/manage/sessions/{session_id}", notice="attendance_refused")
        return see_other(f"/manage/sessions/{done.session_id}", notice="attendance_marked")

    @post("/registrations/{registration_id:int}/receive", opt=PLACE_MANAGER)
    async def receive(
        self,
        state: State,
        actor: NamedDependency[Actor],
        registrations: NamedDependency[Registrations],
        db_session: NamedDependency[AsyncSession],
        registration_id: FromPath[int],
    ) -> Response[Any]:
        """Record a ticket's money received at the desk (invoiced), then back to the sheet."""
        session_id = (await registrations.get(actor, registration_id)).session_id
        try:
            async with db_session.begin_nested():
                await billing_of(state).tickets(db_session).receive(actor, registration_id)
        except AppError as exc:
            if isinstance(exc, NotFoundError) or exc.status_code == 403:
                raise
            return see_other(f"/manage/sessions/{session_id}", notice="nothing_due")
        return see_other(f"/manage/sessions/{session_id}", notice="ticket_paid")
