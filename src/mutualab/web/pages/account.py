"""Account pages: sign up, log in and out, my account, my bookings (with cancel).

Every rule lives in the services (:class:`AccountService`, :class:`Bookings`); these
handlers turn forms into their request models and their refusals into messages by the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.controllers import ACCOUNTS, client, end_session, start_session
from accounts.passwords import MAX_LENGTH, MIN_LENGTH, WeakPasswordError, check_strength
from accounts.schemas import LogIn, ProfileUpdate, SignUp
from accounts.service import AccountService
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from accounts.throttle import TooManyAttemptsError
from billing.controllers import PAYMENTS
from billing.payments import PaymentService
from booking.controllers import BOOKINGS
from booking.models import BookingStatus
from booking.schemas import BookingRead
from booking.service import Bookings, Waitlist
from booking.waitlist import LIVE_STATUSES
from booking.waitlist_controllers import WAITLIST
from kernel.auth.actor import Actor, actor_of
from kernel.auth.guards import require_user
from kernel.auth.rules import BOOKING, PUBLIC, SELF
from kernel.clock import Clock
from kernel.errors import AppError, ConflictError, InvalidInputError, UnauthenticatedError
from kernel.routes import get, post
from kernel.settings import Settings
from mutualab.web.booking_forms import WORDS
from mutualab.web.forms import Errors, FieldError, app_error_field, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.rendering import i18n_of, local_target, page, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]
ACTIVE = (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL, BookingStatus.CONFIRMED)
MAX_LISTED = 200
MAX_REASON = 500
NextPath = Annotated[str, QueryParameter(name="next", max_length=2000)]
SIGNUP_FIELDS = ["display_name", "email", "password", "requested_user_type"]

SIGNUP_MESSAGES = {
    "display_name": FieldError(N_("Enter your name (120 characters at most).")),
    "email": FieldError(N_("Enter an e-mail address like name@example.fr.")),
    "password": FieldError(N_("Choose a password.")),
    "requested_user_type": FieldError(N_("Choose a rate from the list.")),
}
LOGIN_MESSAGES = {
    "email": FieldError(N_("Enter your e-mail address.")),
    "password": FieldError(N_("Enter your password.")),
}


@dataclass
class SignUpForm:
    """The sign-up form, as typed (validated by :class:`SignUp`)."""

    display_name: str = ""
    email: str = ""
    password: str = ""
    requested_user_type: str = ""


@dataclass
class LogInForm:
    """The log-in form, as typed."""

    email: str = ""
    password: str = ""
    next: str = ""


@dataclass
class EraseForm:
    """The confirmation of an account's erasure: the password."""

    password: str = ""


@dataclass
class MessagesForm:
    """The language of one's messages and whether reminders come (an unticked box is absent)."""

    language: str = ""
    reminders: str = ""


# The languages messages are written in, as the form offers them.
MESSAGE_LANGUAGES = {"fr": "Français", "en": "English"}


@dataclass
class CancelForm:
    """The confirmation of a cancellation, with an optional reason, and where the refund goes
    (``wallet``: the booker's wallet at the place)."""

    reason: str = ""
    refund_to: str = ""


def _password_error(detail: str) -> FieldError:
    # The strength check words its advice in English (zxcvbn); the pages say it in their language.
    if detail.startswith("Use at least"):
        return FieldError(N_("Use at least %(n)s characters."), {"n": MIN_LENGTH})
    if detail.startswith("Use at most"):
        return FieldError(N_("Use at most %(n)s characters."), {"n": MAX_LENGTH})
    return FieldError(
        N_("This password is too easy to guess: add unrelated words, or make it longer.")
    )


def _signup_error(exc: AppError) -> Errors:
    if exc.code == "too_many_attempts":
        return {"email": _wait_error(exc)}
    if exc.code == "weak_password":
        return {"password": _password_error(exc.detail)}
    field = app_error_field(exc) or "email"
    return {field: SIGNUP_MESSAGES.get(field, FieldError(N_("This value is not valid.")))}


def _already_logged_in(actor: Actor) -> Redirect | None:
    return see_other("/account") if actor.is_authenticated else None


class AccountPages(Controller):
    """Sign-up, log-in, log-out and the pages of one's own account."""

    path = "/"
    dependencies = {**ACCOUNTS, **BOOKINGS, **CATALOGUE, **STAFF, **PAYMENTS, **WAITLIST}

    async def _requestable_types(
        self, request: AnyRequest, staff: StaffService
    ) -> list[tuple[str, str]]:
        lang = i18n_of(request).lang
        return [
            (t.code, t.label_fr if lang == "fr" else t.label_en)
            for t in await staff.user_types(None)
            if t.reduced and not t.for_organisations and t.place_id is None
        ]

    async def _signup_page(
        self,
        request: AnyRequest,
        staff: StaffService,
        form: SignUpForm,
        errors: Errors,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Template:
        response = page(
            request,
            "signup.html",
            status_code=status_code,
            private=True,
            form=form,
            errors=errors,
            min_password=MIN_LENGTH,
            user_types=await self._requestable_types(request, staff),
        )
        response.headers.update(headers or {})  # Retry-After of a sign-up that must wait
        return response

    @get("/signup", name="signup", opt=PUBLIC)
    async def signup_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
    ) -> Response[Any]:
        """The sign-up form."""
        return _already_logged_in(actor) or await self._signup_page(
            request, staff, SignUpForm(), {}
        )

    @post("/signup", opt=PUBLIC)
    async def signup(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[SignUpForm],
    ) -> Response[Any]:
        """Create an account to confirm by mail, or show what to correct."""
        if (done := _already_logged_in(actor)) is not None:
            return done
        kept = SignUpForm(
            display_name=data.display_name,
            email=data.email,
            requested_user_type=data.requested_user_type,
        )
        try:
            signup = SignUp.model_validate(
                {
                    "display_name": data.display_name,
                    "email": data.email,
                    "password": data.password,
                    "requested_user_type": data.requested_user_type or None,
                    "language": i18n_of(request).lang,
                }
            )
        except ValidationError as exc:
            errors = first_errors(exc, SIGNUP_MESSAGES)
            if data.password and "password" not in errors:
                # Say everything at once: the service would check the strength only later.
                settings: Settings = request.app.state.settings
                try:
                    check_strength(
                        data.password, (data.email, data.display_name), settings.password_min_score
                    )
                except WeakPasswordError as weak:
                    errors["password"] = _password_error(str(weak))
            return await self._signup_page(
                request, staff, kept, ordered(errors, SIGNUP_FIELDS), 422
            )
        try:
            async with db_session.begin_nested():
                await accounts.sign_up(signup, client(request))
        except (InvalidInputError, ConflictError, TooManyAttemptsError) as exc:
            status = 429 if isinstance(exc, TooManyAttemptsError) else 422
            return await self._signup_page(
                request, staff, kept, _signup_error(exc), status, exc.headers
            )
        # The same page whether or not the address had an account; the link logs in.
        return see_other("/check-your-inbox", sent="signup")

    @get("/login", name="login", opt=PUBLIC)
    async def login_form(
        self, request: AnyRequest, actor: NamedDependency[Actor], next_path: NextPath = ""
    ) -> Response[Any]:
        """The log-in form."""
        if actor.is_authenticated:
            return see_other(local_target(next_path, "/account"))
        return page(
            request,
            "login.html",
            private=True,
            email="",
            next=local_target(next_path, ""),
            errors={},
        )

    @post("/login", opt=PUBLIC)
    async def login(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        data: URLEncodedBody[LogInForm],
    ) -> Response[Any]:
        """Log in, or say why not (attempts are counted: repeated ones must wait longer)."""
        target = local_target(data.next, "")
        if actor.is_authenticated:
            return see_other(target or "/account")
        errors: Errors = {}
        if not data.email.strip():
            errors["email"] = LOGIN_MESSAGES["email"]
        if not data.password:
            errors["password"] = LOGIN_MESSAGES["password"]
        status, headers = 422, {}
        if not errors:
            try:
                credentials = LogIn.model_validate({"email": data.email, "password": data.password})
            except ValidationError as exc:
                errors = first_errors(exc, LOGIN_MESSAGES)
            else:
                try:
                    user = await accounts.log_in(credentials, client(request))
                except (UnauthenticatedError, TooManyAttemptsError) as exc:
                    errors["email"] = _login_error(exc)
                    status, headers = exc.status_code, dict(exc.headers)
                else:
                    await start_session(request, accounts, user)
                    if target:
                        return see_other(target)
                    return see_other("/account", notice="logged_in")
        response = page(
            request,
            "login.html",
            status_code=status,
            private=True,
            email=data.email,
            next=target,
            errors=errors,
        )
        response.headers.update(headers)  # Retry-After of an attempt that must wait
        return response

    @post("/logout", guards=[require_user], opt=SELF)
    async def logout(
        self, request: AnyRequest, accounts: NamedDependency[AccountService]
    ) -> Redirect:
        """End the browser session, on the server too."""
        await end_session(request, accounts)
        return see_other("/", notice="logged_out")

    @post("/logout-everywhere", guards=[require_user], opt=SELF)
    async def logout_everywhere(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
    ) -> Redirect:
        """End every browser session of my account (a computer left logged in elsewhere)."""
        await accounts.end_all_sessions(actor)
        request.clear_session()
        return see_other("/", notice="logged_out_everywhere")

    async def _account_page(
        self,
        request: AnyRequest,
        actor: Actor,
        accounts: AccountService,
        staff: StaffService,
        catalogue: CatalogueService,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        me = await accounts.me(actor)
        lang = i18n_of(request).lang
        labels = {
            t.code: (t.label_fr if lang == "fr" else t.label_en)
            for t in await staff.user_types(None)
        }
        place_ids = (
            {c.place_id for c in me.certifications} | set(me.managed_place_ids) | set(me.rates)
        )
        places = await catalogue.places_by_ids(sorted(place_ids))
        return page(
            request,
            "account/index.html",
            status_code=status_code,
            private=True,
            me=me,
            type_label=lambda code: labels.get(code, code),
            place_names={pid: p.name for pid, p in places.items()},
            message_languages=MESSAGE_LANGUAGES,
            errors=errors or {},
        )

    @get("/account", name="account", guards=[require_user], opt=SELF)
    async def account(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        staff: NamedDependency[StaffService],
        catalogue: NamedDependency[CatalogueService],
    ) -> Template:
        """Who I am: rate, organisations, trainings, the places I manage, my personal data."""
        return await self._account_page(request, actor, accounts, staff, catalogue)

    @post("/account/messages", guards=[require_user], opt=SELF)
    async def messages(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        staff: NamedDependency[StaffService],
        catalogue: NamedDependency[CatalogueService],
        data: URLEncodedBody[MessagesForm],
    ) -> Response[Any]:
        """Choose the language of my messages and whether reminders before bookings come."""
        if data.language not in MESSAGE_LANGUAGES:
            errors = {"language": FieldError(N_("Choose a language from the list."))}
            return await self._account_page(
                request, actor, accounts, staff, catalogue, errors, status_code=422
            )
        update = ProfileUpdate(language=data.language, reminders=data.reminders == "on")
        await accounts.update_profile(actor, update)
        return see_other("/account", notice="messages_saved")

    @get("/account/export", guards=[require_user], opt=SELF)
    async def export(
        self, actor: NamedDependency[Actor], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        """Download everything held about me, as a JSON file."""
        data = await accounts.export(actor)
        return Response(
            data,
            headers={
                "Content-Disposition": 'attachment; filename="mutualab-mes-donnees.json"',
                "Cache-Control": "no-store",
            },
        )

    @post("/account/erase", guards=[require_user], opt=SELF)
    async def erase(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        staff: NamedDependency[StaffService],
        catalogue: NamedDependency[CatalogueService],
        data: URLEncodedBody[EraseForm],
    ) -> Response[Any]:
        """Erase my account after confirming with my password."""
        try:
            await accounts.delete_account(actor, data.password)
        except InvalidInputError:
            errors = {"password": FieldError(N_("This password is wrong."))}
            return await self._account_page(
                request, actor, accounts, staff, catalogue, errors, status_code=422
            )
        except TooManyAttemptsError as exc:
            page = await self._account_page(
                request,
                actor,
                accounts,
                staff,
                catalogue,
                {"password": _wait_error(exc)},
                status_code=429,
            )
            page.headers.update(exc.headers)
            return page
        request.clear_session()
        return see_other("/", notice="account_erased")

    @get("/account/bookings", name="my_bookings", guards=[require_user], opt=SELF)
    async def my_bookings(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        bookings: NamedDependency[Bookings],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        waitlist: NamedDependency[Waitlist],
        clock: NamedDependency[Clock],
    ) -> Template:
        """My bookings: the live upcoming ones first, then the past, cancelled or refused ones,
        latest first, with their invoices; and my waitlists (waiting, or an offer to book)."""
        found = await bookings.list_mine(actor, None, None, None, MAX_LISTED, 0)
        now = clock()
        # A cancelled, refused or lapsed booking is not to come, whatever its date.
        upcoming = [b for b in found.items if b.ends_at > now and b.status in ACTIVE]
        past = [b for b in reversed(found.items) if b not in upcoming]
        waiting = [
            e for e in await waitlist.mine(actor) if e.status in LIVE_STATUSES and e.ends_at > now
        ]
        places = await catalogue.places_by_ids(
            sorted({b.place_id for b in found.items} | {e.place_id for e in waiting})
        )
        return page(
            request,
            "account/bookings.html",
            private=True,
            upcoming=upcoming,
            past=past,
            place_names={pid: p.name for pid, p in places.items()},
            documents=await payments.documents_of_bookings(found.items),
            waitlist=waiting,
            zones={pid: ZoneInfo(p.timezone) for pid, p in places.items()},
            **WORDS,
        )

    async def _cancel_page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        payments: PaymentService,
        booking: BookingRead,
        now: datetime,
        reason: str = "",
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        places = await catalogue.places_by_ids([booking.place_id])
        place = places.get(booking.place_id)
        return page(
            request,
            "account/cancel.html",
            status_code=status_code,
            private=True,
            booking=booking,
            place_name=place.name if place else "",
            active=booking.status in ACTIVE and booking.ends_at > now,
            billing=await payments.booking_billing(actor_of(request), booking.id),
            reason=reason,
            errors=errors or {},
        )

    @get("/account/bookings/{booking_id:int}/cancel", guards=[require_user], opt=BOOKING)
    async def cancel_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        bookings: NamedDependency[Bookings],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        clock: NamedDependency[Clock],
        booking_id: FromPath[int],
    ) -> Template:
        """Confirm the cancellation of a booking, saying what it would refund."""
        booking = await bookings.get(actor, booking_id)
        return await self._cancel_page(request, catalogue, payments, booking, clock())

    @post("/account/bookings/{booking_id:int}/cancel", guards=[require_user], opt=BOOKING)
    async def cancel(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        bookings: NamedDependency[Bookings],
        catalogue: NamedDependency[CatalogueService],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        booking_id: FromPath[int],
        data: URLEncodedBody[CancelForm],
    ) -> Response[Any]:
        """Cancel a booking (before the place's deadline), then back to my bookings."""
        booking = await bookings.get(actor, booking_id)  # not yours: 404 before anything else
        reason = data.reason.strip()
        if len(reason) > MAX_REASON:
            errors = {"reason": FieldError(N_("Use at most %(n)s characters."), {"n": MAX_REASON})}
            return await self._cancel_page(
                request, catalogue, payments, booking, clock(), data.reason, errors, 422
            )
        try:
            async with db_session.begin_nested():
                await bookings.cancel(
                    actor,
                    booking_id,
                    reason,
                    refund_to="wallet" if data.refund_to == "wallet" else None,
                )
        except ConflictError as exc:
            errors = {"reason": FieldError(_cancel_error(exc))}
            booking = await bookings.get(actor, booking_id)
            return await self._cancel_page(
                request, catalogue, payments, booking, clock(), data.reason, errors, exc.status_code
            )
        return see_other("/account/bookings", notice="cancelled")


def _cancel_error(exc: AppError) -> str:
    if exc.code == "cancellation_deadline_passed":
        return N_("The deadline for cancelling this booking has passed: please contact the place.")
    if exc.code == "booking_not_active":
        return N_("This booking is no longer active.")
    return N_("This booking cannot be cancelled now.")


def _wait_error(exc: AppError) -> FieldError:
    seconds = int(exc.extra.get("retry_after", 60))
    if seconds < 60:
        return FieldError(
            N_("Too many attempts: wait %(seconds)s s before trying again."), {"seconds": seconds}
        )
    return FieldError(
        N_("Too many attempts: wait %(minutes)s min before trying again."),
        {"minutes": round(seconds / 60)},
    )


def _login_error(exc: AppError) -> FieldError:
    if exc.code == "too_many_attempts":
        return _wait_error(exc)
    return FieldError(N_("The e-mail address or the password is wrong."))
