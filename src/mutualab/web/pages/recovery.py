"""Pages of the links mailed to people: confirm an address, forgot and reset a password.

The answers never tell whether an address has an account: a sign-up and a reset request both
lead to the same "check your inbox" page. The rules live in :class:`AccountService`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError

from accounts.controllers import ACCOUNTS, client, start_session
from accounts.email_tokens import LinkExpiredError, LinkInvalidError, LinkUsedError
from accounts.passwords import MIN_LENGTH
from accounts.schemas import PasswordReset, PasswordResetRequest
from accounts.service import AccountService
from accounts.throttle import TooManyAttemptsError
from kernel.auth.rules import PUBLIC
from kernel.errors import AppError, InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.account import _password_error, _wait_error
from mutualab.web.rendering import page, see_other

AnyRequest = Request[Any, Any, Any]
TokenParam = Annotated[str, QueryParameter(name="token", max_length=200)]
SentParam = Annotated[Literal["signup", "reset"], QueryParameter(name="sent")]

LINK_PROBLEMS = {
    "link_invalid": (
        N_("This link is not valid"),
        N_("Copy the whole link from the e-mail, or ask for a new one."),
    ),
    "link_expired": (
        N_("This link has expired"),
        N_("Links to confirm an address last 48 hours, links to reset a password one hour."),
    ),
    "link_used": (
        N_("This link was used already"),
        N_("Each link works once. If your address is confirmed, log in."),
    ),
}
LINK_ERRORS = (LinkInvalidError, LinkExpiredError, LinkUsedError)


@dataclass
class VerifyForm:
    """The confirmation of an address: the link's token and the account's password."""

    token: str = ""
    password: str = ""


@dataclass
class ForgotForm:
    """The address whose password was forgotten."""

    email: str = ""


@dataclass
class ResetForm:
    """A new password and the link's token."""

    token: str = ""
    password: str = ""


def _link_problem(request: AnyRequest, exc: AppError) -> Template:
    title, explanation = LINK_PROBLEMS.get(exc.code, LINK_PROBLEMS["link_invalid"])
    return page(
        request,
        "account/link_problem.html",
        status_code=exc.status_code,
        private=True,
        title=title,
        explanation=explanation,
    )


class RecoveryPages(Controller):
    """Check your inbox; confirm an address; forgot and reset a password."""

    path = "/"
    dependencies = ACCOUNTS
    opt = PUBLIC

    @get("/check-your-inbox")
    async def check_inbox(self, request: AnyRequest, sent: SentParam = "signup") -> Template:
        """What was mailed (if the address may receive it): the same for every address."""
        return page(request, "account/check_inbox.html", private=True, sent=sent)

    def _verify_page(
        self, request: AnyRequest, token: str, errors: Errors, status_code: int = 200
    ) -> Template:
        return page(
            request,
            "account/verify.html",
            status_code=status_code,
            private=True,
            token=token,
            errors=errors,
        )

    @get("/verify-email")
    async def verify_form(
        self,
        request: AnyRequest,
        accounts: NamedDependency[AccountService],
        token: TokenParam = "",
    ) -> Response[Any]:
        """The confirmation of an address: a button, not the link itself (mail scanners open
        links), and the account's password."""
        try:
            await accounts.check_verify_link(token)
        except LINK_ERRORS as exc:
            return _link_problem(request, exc)
        return self._verify_page(request, token, {})

    @post("/verify-email")
    async def verify(
        self,
        request: AnyRequest,
        accounts: NamedDependency[AccountService],
        data: URLEncodedBody[VerifyForm],
    ) -> Response[Any]:
        """Confirm the address and log in."""
        try:
            user = await accounts.verify_email(data.token[:200], data.password[:256])
        except LINK_ERRORS as exc:
            return _link_problem(request, exc)
        except InvalidInputError:
            errors = {"password": FieldError(N_("This password is wrong."))}
            return self._verify_page(request, data.token, errors, 422)
        except TooManyAttemptsError as exc:
            response = self._verify_page(request, data.token, {"password": _wait_error(exc)}, 429)
            response.headers.update(exc.headers)
            return response
        await start_session(request, accounts, user)
        return see_other("/account", notice="email_verified")

    @get("/forgot-password")
    async def forgot_form(self, request: AnyRequest) -> Template:
        """Ask for a link to choose a new password."""
        return page(request, "account/forgot.html", private=True, email="", errors={})

    @post("/forgot-password")
    async def forgot(
        self,
        request: AnyRequest,
        accounts: NamedDependency[AccountService],
        data: URLEncodedBody[ForgotForm],
    ) -> Response[Any]:
        """Mail a reset link if an account uses the address; the same answer either way."""
        errors: Errors = {}
        status, headers = 422, {}
        try:
            asked = PasswordResetRequest.model_validate({"email": data.email})
        except ValidationError:
            errors["email"] = FieldError(N_("Enter an e-mail address like name@example.fr."))
        else:
            try:
                await accounts.request_password_reset(asked, client(request))
            except TooManyAttemptsError as exc:
                errors["email"] = _wait_error(exc)
                status, headers = 429, dict(exc.headers)
            else:
                return see_other("/check-your-inbox", sent="reset")
        response = page(
            request,
            "account/forgot.html",
            status_code=status,
            private=True,
            email=data.email,
            errors=errors,
        )
        response.headers.update(headers)  # Retry-After of a request that must wait
        return response

    def _reset_page(
        self, request: AnyRequest, token: str, errors: Errors, status_code: int = 200
    ) -> Template:
        return page(
            request,
            "account/reset.html",
            status_code=status_code,
            private=True,
            token=token,
            errors=errors,
            min_password=MIN_LENGTH,
        )

    @get("/reset-password")
    async def reset_form(
        self,
        request: AnyRequest,
        accounts: NamedDependency[AccountService],
        token: TokenParam = "",
    ) -> Response[Any]:
        """Choose a new password (for a live reset link only)."""
        try:
            await accounts.check_reset_link(token)
        except LINK_ERRORS as exc:
            return _link_problem(request, exc)
        return self._reset_page(request, token, {})

    @post("/reset-password")
    async def reset(
        self,
        request: AnyRequest,
        accounts: NamedDependency[AccountService],
        data: URLEncodedBody[ResetForm],
    ) -> Response[Any]:
        """Set the new password, end the account's other sessions, and log in."""
        try:
            reset = PasswordReset.model_validate({"token": data.token, "password": data.password})
        except ValidationError as exc:
            fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if "token" in fields:
                return _link_problem(request, LinkInvalidError())
            errors = {"password": FieldError(N_("Choose a password."))}
            return self._reset_page(request, data.token, errors, 422)
        try:
            user = await accounts.reset_password(reset)
        except LINK_ERRORS as exc:
            return _link_problem(request, exc)
        except InvalidInputError as exc:
            errors = {"password": _password_error(exc.detail)}
            return self._reset_page(request, data.token, errors, 422)
        await start_session(request, accounts, user)
        return see_other("/account", notice="password_reset")
