"""Domain errors and their rendering as RFC 9457 problem details.

Services raise :class:`AppError` subclasses (no HTTP types in domains); this module
turns them, validation failures, unknown routes and database outages into
``application/problem+json`` responses. No response ever carries a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger("kernel.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """A failure the caller can act on, with a stable machine-readable code."""

    status_code: int = HTTP_409_CONFLICT
    code: str = "conflict"
    title: str = "Conflict"
    headers: Mapping[str, str] = {}

    def __init__(
        self, detail: str, *, code: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra: dict[str, Any] = dict(extra or {})


class NotFoundError(AppError):
    """The thing does not exist, or the caller may not know that it does."""

    status_code = HTTP_404_NOT_FOUND
    code = "not_found"
    title = "Not found"


class ConflictError(AppError):
    """A business rule refuses the change as things stand."""

    status_code = HTTP_409_CONFLICT
    code = "conflict"
    title = "Conflict"


class InvalidInputError(AppError):
    """Well-formed input that the domain still rejects, tied to a field."""

    status_code = HTTP_422_UNPROCESSABLE_ENTITY
    code = "invalid_input"
    title = "Invalid input"

    def __init__(self, detail: str, *, field: str, code: str | None = None) -> None:
        super().__init__(detail, code=code, extra={"errors": [{"field": field, "message": detail}]})


class UnauthenticatedError(AppError):
    """No valid credentials."""

    status_code = HTTP_401_UNAUTHORIZED
    code = "unauthenticated"
    title = "Authentication required"


class ForbiddenError(AppError):
    """Credentials are valid but do not allow this."""

    status_code = HTTP_403_FORBIDDEN
    code = "forbidden"
    title = "Forbidden"


class GoneError(AppError):
    """The thing existed but can no longer be used (an expired or used link)."""

    status_code = 410
    code = "gone"
    title = "Gone"


class EmailNotVerifiedError(ConflictError):
    """The person has not proved their e-mail address yet (the link mailed to it)."""

    code = "email_not_verified"

    def __init__(
        self, detail: str = "Verify your e-mail address first (the link we mailed you)."
    ) -> None:
        super().__init__(detail)


class OutcomeUnknownError(AppError):
    """The database went away while a change was being made final: it may have been stored.

    Never answered as a plain failure: the answer says ``"outcome": "unknown"``, and names the
    request's idempotency key when it had one (sent again with that key, the request returns
    what was stored, or is carried out once).
    """

    status_code = HTTP_503_SERVICE_UNAVAILABLE
    code = "outcome_unknown"
    title = "Outcome unknown"
    headers = {"Retry-After": "5"}

    def __init__(self) -> None:
        super().__init__(
            "The database stopped answering while this change was being saved: it may or may "
            "not have been stored. Send the same request again with the same Idempotency-Key "
            "to get its outcome; without a key, check (for example your bookings) first.",
            extra={"outcome": "unknown"},
        )


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["code"] = code
    body.update(extra)
    merged = dict(headers or {})
    if status == HTTP_401_UNAUTHORIZED:
        merged.setdefault("WWW-Authenticate", "Bearer")
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=merged)


def _instance(request: Request[Any, Any, Any]) -> str:
    return request.url.path


def handle_app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    """Render a domain error."""
    return problem(
        exc.status_code,
        exc.code,
        exc.title,
        exc.detail,
        headers=exc.headers or None,
        instance=_instance(request),
        **exc.extra,
    )


def _field_name(key: str | None) -> str:
    return key or "body"


def handle_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """Malformed input: 422 naming each offending field."""
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                errors.append(
                    {
                        "field": _field_name(item.get("key")),
                        "source": item.get("source", "body"),
                        "message": item.get("message", "invalid value"),
                    }
                )
    fields = ", ".join(sorted({e["field"] for e in errors})) or "the request"
    return problem(
        HTTP_422_UNPROCESSABLE_ENTITY,
        "validation_error",
        "Invalid input",
        f"Check {fields}.",
        instance=_instance(request),
        errors=errors,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework HTTP errors (unknown route, wrong method, bad body) as problem details."""
    status = exc.status_code
    codes = {
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthenticated",
        403: "forbidden",
        413: "payload_too_large",
    }
    code = codes.get(status, "bad_request" if status < 500 else "server_error")
    if isinstance(exc, NotAuthorizedException):
        code = "unauthenticated"
    title = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}.get(
        status, "Request refused"
    )
    if isinstance(exc.__cause__, SerializationException):  # not JSON, or nested too deeply
        code, title = "malformed_body", "Malformed body"
    if status >= 500:  # never shown to the caller, so it must be in the log
        logger.error("server error on %s: %r", request.url.path, exc, exc_info=exc)
    detail = exc.detail if status < 500 else "The server could not complete the request."
    # Keep the framework's headers, e.g. Allow on 405 (RFC 9110).
    return problem(status, code, title, detail, headers=exc.headers, instance=_instance(request))


# SQLSTATEs that mean "the server cannot serve you right now": connection exceptions (08...),
# shutting down / starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _causes(exc: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while exc is not None and exc not in chain and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (or is too busy) right now."""
    if isinstance(exc, PoolTimeoutError | ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # The driver's own exception sits behind SQLAlchemy's and the adapter's wrappers.
    for cause in _causes(exc.orig):
        if isinstance(cause, ConnectionError | TimeoutError):
            return True
        state = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if state.startswith("08") or state in _UNAVAILABLE_STATES:
            return True
    return False


# lock_not_available (lock_timeout ran out) and deadlock_detected (PostgreSQL broke a cycle):
# another request holds what this one needs; the same request shortly after will go through.
_BUSY_STATES = frozenset({"55P03", "40P01"})


def is_database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means a lock was not granted in time: try again."""
    for cause in _causes(exc):
        state = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if state in _BUSY_STATES:
            return True
    return False


def is_value_out_of_range(exc: BaseException) -> bool:
    """Whether the database refused a value it cannot store (e.g. an id beyond 64 bits)."""
    for cause in _causes(exc):
        if isinstance(cause, OverflowError):
            return True
        state = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if state == "22003":  # numeric_value_out_of_range
            return True
    return False


def _first(causes: list[BaseException], *names: str) -> str:
    for cause in causes:
        for name in names:
            value = getattr(cause, name, None)
            if value:
                return str(value)
    return "?"


def integrity_summary(exc: IntegrityError) -> str:
    """Which constraint an integrity error broke, without the values: the server's message
    names them (``Key (email)=(...) already exists``), and logs keep no e-mail address."""
    causes = _causes(exc.orig)
    state = _first(causes, "sqlstate", "pgcode")
    return f"SQLSTATE {state} on {_first(causes, 'table_name')}.{_first(causes, 'constraint_name')}"


def failure_summary(exc: BaseException) -> str:
    """A database failure for the logs: its kind and SQLSTATE, never its message or the
    statement's parameters (they may hold an e-mail address or a token)."""
    state = _first(_causes(getattr(exc, "orig", exc)), "sqlstate", "pgcode")
    return f"{type(exc).__name__} (SQLSTATE {state})"


def handle_integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    """A constraint the services did not anticipate: refuse cleanly, never 500."""
    logger.warning("integrity error on %s: %s", request.url.path, integrity_summary(exc))
    return problem(
        HTTP_409_CONFLICT,
        "constraint_violation",
        "Conflict",
        "The change conflicts with existing data.",
        instance=_instance(request),
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Last resort: database outages become 503, anything else a bare 500 (logged, not shown)."""
    if is_database_busy(exc):
        logger.info("lock wait ran out on %s: %s", request.url.path, failure_summary(exc))
        return problem(
            HTTP_503_SERVICE_UNAVAILABLE,
            "busy",
            "Busy",
            "Others are booking the same thing right now; try again in a moment.",
            headers={"Retry-After": "1"},
            instance=_instance(request),
        )
    if is_database_unavailable(exc):
        logger.warning("database unavailable on %s: %s", request.url.path, failure_summary(exc))
        return Response(
            {
                "type": "/problems/database_unavailable",
                "title": "Service unavailable",
                "status": HTTP_503_SERVICE_UNAVAILABLE,
                "detail": "The database cannot be reached; try again shortly.",
                "code": "database_unavailable",
            },
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, IntegrityError):
        return handle_integrity_error(request, exc)
    if is_value_out_of_range(exc):
        return problem(
            HTTP_422_UNPROCESSABLE_ENTITY,
            "value_out_of_range",
            "Invalid input",
            "A number in the request is too large.",
            instance=_instance(request),
        )
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "server_error",
        "Internal error",
        "The server could not complete the request.",
        instance=_instance(request),
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: handle_app_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    Exception: handle_unexpected,
}

__all__ = [
    "PROBLEM_JSON",
    "AppError",
    "ConflictError",
    "ForbiddenError",
    "InvalidInputError",
    "NotFoundError",
    "UnauthenticatedError",
]
