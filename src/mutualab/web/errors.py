"""Errors on pages: a readable HTML page (never a traceback), or the log-in page for strangers.

The API keeps its RFC 9457 problem details; these handlers are registered on the pages'
router only, plus :func:`negotiated_http_exception` for addresses that match no route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.response.base import ASGIResponse
from litestar.status_codes import (
    HTTP_303_SEE_OTHER,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import IntegrityError

from accounts.identity import actor_for_session
from accounts.middleware import session_limits
from kernel import errors as api_errors
from kernel.auth.actor import Actor
from kernel.auth.browser import CSRF_COOKIE, session_middleware
from kernel.db import get_database
from kernel.errors import AppError, UnauthenticatedError
from mutualab.web import messages
from mutualab.web.rendering import i18n_of, login_url, page

logger = logging.getLogger("mutualab.web")
AnyRequest = Request[Any, Any, Any]


def error_page(
    request: AnyRequest,
    status: int,
    *,
    code: str | None = None,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Any]:
    """The error page of ``status``, explaining ``code`` when it is one we know."""
    i18n = i18n_of(request)
    title = messages.STATUS_TITLES.get(status, messages.STATUS_TITLES[400 if status < 500 else 500])
    known = messages.ERROR_CODES.get(code or "")
    if known is not None:
        explanation = i18n.gettext(known)
    elif detail is not None and i18n.lang == "en":
        explanation = detail  # the services word their details in English
    else:
        fallback = 400 if status < 500 else 500
        explanation = i18n.gettext(
            messages.STATUS_DETAILS.get(status, messages.STATUS_DETAILS[fallback])
        )
    response = page(
        request,
        "error.html",
        status_code=status,
        title=title,
        explanation=explanation,
        retry_path=_form_page(request) if code == "csrf" else None,
    )
    response.headers.update(headers or {})  # e.g. Allow on a 405 (RFC 9110)
    if status == HTTP_503_SERVICE_UNAVAILABLE:
        response.headers["Retry-After"] = "5"
    return response


def _form_page(request: AnyRequest) -> str:
    # Forms post to the address that shows them, except the buttons in the header.
    return "/" if request.url.path in ("/logout", "/language") else request.url.path


def to_login(request: AnyRequest) -> Response[Any]:
    """Strangers asking for a private page go to the log-in page, and come back afterwards."""
    target = request.url.path
    if request.url.query:
        target = f"{target}?{request.url.query}"
    back = target if request.method in ("GET", "HEAD") else None
    return Redirect(path=login_url(back), status_code=HTTP_303_SEE_OTHER)


def handle_app_error(request: AnyRequest, exc: AppError) -> Response[Any]:
    """A refusal of a service, as a page."""
    if isinstance(exc, UnauthenticatedError):
        return to_login(request)
    return error_page(request, exc.status_code, code=exc.code, detail=exc.detail)


def handle_http_exception(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    """Framework refusals (CSRF, bad query, wrong method) as pages."""
    if isinstance(exc, NotAuthorizedException):
        return to_login(request)
    if isinstance(exc, PermissionDeniedException) and "csrf" in str(exc.detail).lower():
        return error_page(request, exc.status_code, code="csrf")
    return error_page(request, exc.status_code, headers=exc.headers)


def handle_validation_error(request: AnyRequest, exc: ValidationException) -> Response[Any]:
    """A malformed address or query string (forms validate themselves)."""
    return error_page(request, exc.status_code)


def handle_unexpected(request: AnyRequest, exc: Exception) -> Response[Any]:
    """Last resort: logged with its traceback, shown as a short apology."""
    if api_errors.is_database_unavailable(exc):
        logger.warning("database unavailable on %s: %r", request.url.path, exc)
        return error_page(request, HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, IntegrityError):
        logger.warning(
            "integrity error on %s: %s", request.url.path, api_errors.integrity_summary(exc)
        )
        return error_page(request, 409)
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


PAGE_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: handle_app_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


def _wants_html(request: AnyRequest) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/schema", "/static/")) or path == "/health":
        return False
    return "text/html" in request.headers.get("accept", "")


def negotiated_http_exception(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    """Addresses that match no route: a page for browsers, problem details for programs."""
    if _wants_html(request):
        return IdentifiedPage(lambda: error_page(request, exc.status_code, headers=exc.headers))
    return api_errors.handle_http_exception(request, exc)


async def identify(request: AnyRequest) -> None:
    """Read the session and CSRF cookies of a request that no middleware saw.

    An address without a route is answered before the middleware runs, so its page would
    otherwise say "log in" to someone logged in (and its log-out button would fail).
    """
    if isinstance(request.scope.get("user"), Actor):
        return
    try:
        backend = session_middleware(request.app.state.settings).kwargs["backend"]
        data = await backend.load_from_connection(request)
        if data:
            state = request.app.state
            async with get_database(state).reader() as session:
                found = await actor_for_session(
                    session, data, state.clock(), session_limits(state.settings)
                )
            if found is not None:
                request.scope["user"] = found[0]
    except Exception:  # the page still shows, as for a stranger
        logger.warning("could not read the session of %s", request.url.path, exc_info=True)
    token = request.cookies.get(CSRF_COOKIE)
    if token:
        ScopeState.from_scope(request.scope).csrf_token = token


class _AfterIdentifying(ASGIResponse):
    """An ASGI response that identifies the visitor before rendering."""

    __slots__ = ("_render",)

    def __init__(self, render: Callable[[], Awaitable[ASGIResponse]]) -> None:
        super().__init__(body=b"")
        self._render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Render once the visitor is known, then send."""
        response = await self._render()
        await response(scope, receive, send)


class IdentifiedPage(Response[Any]):
    """A page built once :func:`identify` ran (exception handlers cannot await)."""

    def __init__(self, build: Callable[[], Response[Any]]) -> None:
        super().__init__(content=None)
        self._build = build

    def to_asgi_response(self, app: Any, request: AnyRequest, **kwargs: Any) -> ASGIResponse:
        """Defer building the page to the moment it is sent."""

        async def render() -> ASGIResponse:
            await identify(request)
            return self._build().to_asgi_response(app, request, **kwargs)

        return _AfterIdentifying(render)
