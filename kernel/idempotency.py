"""Idempotency keys: an unsafe request repeated with the same key is carried out once.

A caller (a person, whatever credentials they use) sends ``Idempotency-Key: <key>`` on an
unsafe API request; a web form carries the same thing as a one-time hidden ``_once`` field. The
key is claimed inside the request's own transaction, under a transaction-scoped advisory lock,
and the answer of a request that commits is stored in that same transaction
(:class:`kernel.db.EdgeTransaction` calls :meth:`Claim.keep` just before its commit). The
change and its stored answer are therefore made final together or not at all: a client whose
answer was lost (a worker killed, the database restarted, a 503 ``outcome_unknown``) sends the
request again with the same key and gets either the stored answer or a first execution, never
a second booking.

Only committed answers (2xx and 3xx) are kept: a refusal changed nothing, so the same request
is simply judged again. A key is kept :data:`RETENTION` (24 hours) per caller; the same key
with another body is refused with 422 ``idempotency_key_reused``; while the first request
holds the key, an API call with it is answered 409 ``idempotency_in_progress`` and a repeated
form submission (a double click) waits for the first and gets its answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel
from sqlalchemy import Column, Index, LargeBinary, delete, func
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import actor_of
from kernel.db import ANSWER_KEEPER, REQUEST_SESSION, Database, commit
from kernel.errors import AppError, InvalidInputError
from kernel.models import created_at_field, utcnow

HEADER = "Idempotency-Key"
FORM_FIELD = "_once"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# Answer headers worth replaying; the rest (date, cookies, lengths) belong to each answer.
KEPT_HEADERS = frozenset({b"content-type", b"location", b"content-language", b"link"})
REPLAYED_HEADER = "Idempotent-Replayed"
JSON_HEADERS = [(b"content-type", b"application/json")]
# A route's ``opt`` key: False for an operation that repeats harmlessly and calls out while
# running (no key is claimed, so no lock is held across the call); INLINE for one whose single
# write statement claims and records the key itself (see :func:`inline_claim`).
IDEMPOTENCY_OPT = "idempotency"
INLINE = "inline"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM = "application/x-www-form-urlencoded"


class IdempotencyRecord(SQLModel, table=True):
    """The committed answer to a request sent with an idempotency key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (Index("ix_idempotency_record_created_at", "created_at"),)

    caller: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64)
    status_code: int
    headers: list[list[str]] = Field(sa_column=Column(JSONB, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = created_at_field()
    # A booking made with the key by book_units() itself (no stored body: the booking is the
    # answer, read again on a replay; migration 0025).
    booking_id: int | None = None


RECORDS = IdempotencyRecord.__table__  # type: ignore[attr-defined]


class IdempotencyKeyReusedError(AppError):
    """The key was used for another request."""

    status_code = HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class IdempotencyInProgressError(AppError):
    """A request with this key is still being carried out."""

    status_code = HTTP_409_CONFLICT
    code = "idempotency_in_progress"
    title = "Request in progress"
    headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class Claim:
    """A key this request holds until its transaction ends."""

    caller: str
    key: str
    fingerprint: str

    async def keep(
        self, session: AsyncSession, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Store the answer in the request's transaction (a stale record of the key goes)."""
        kept = [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in headers
            if name.lower() in KEPT_HEADERS
        ]
        values = {
            "caller": self.caller,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "status_code": status,
            "headers": kept,
            "body": body,
            "created_at": utcnow(),
        }
        statement = insert(RECORDS).values(values)
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=[RECORDS.c.caller, RECORDS.c.key],
                set_={name: statement.excluded[name] for name in values},
            )
        )


def key_reused(field: str) -> IdempotencyKeyReusedError:
    """The refusal of a key sent again with another request."""
    return IdempotencyKeyReusedError(
        "This idempotency key was used for another request; use a new key for a new request.",
        extra={"errors": [{"field": field, "message": "already used for another request"}]},
    )


def in_progress() -> IdempotencyInProgressError:
    """The answer while another request holds the key."""
    return IdempotencyInProgressError(
        "A request with this idempotency key is still being carried out; "
        "send it again in a moment to get its answer."
    )


def caller_of(user_id: int) -> str:
    """Whose keys these are: a person, whatever credentials they use."""
    return f"user:{user_id}"


def created_json(answer: BaseModel) -> bytes:
    """The JSON body of an answer a handler stores itself (see :meth:`Claim.keep`)."""
    return answer.model_dump_json().encode()


def claim_of(request: Request[Any, Any, Any]) -> Claim | None:
    """The key this request holds, if it was sent with one."""
    claim = request.scope.get(ANSWER_KEEPER)
    return claim if isinstance(claim, Claim) else None


def _key_in_form(body: bytes) -> str | None:
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=200).get(FORM_FIELD)
    return values[0] if values else None


def _checked(key: str, field: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidInputError(
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good choice).",
            field=field,
            code="invalid_idempotency_key",
        )
    return key


def _fingerprint(request: Request[Any, Any, Any], body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query or ""):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def replay(record: IdempotencyRecord) -> Response[bytes]:
    """The stored answer, marked as a replay."""
    headers = {name: value for name, value in record.headers if name.lower() != "content-type"}
    headers[REPLAYED_HEADER] = "true"
    media_type = next(
        (value for name, value in record.headers if name.lower() == "content-type"), None
    )
    return Response(
        content=bytes(record.body),
        status_code=record.status_code,
        headers=headers,
        media_type=media_type,
    )


async def claim(request: Request[Any, Any, Any], session: AsyncSession) -> Response[bytes] | None:
    """Hold the request's key, or answer with what an earlier request with it committed.

    Returns the stored answer to replay, or None (the request goes on; if it sent a key, its
    claim is in the scope). A request without a key, without a caller or with a safe method
    is untouched.
    """
    opt = request.route_handler.opt.get(IDEMPOTENCY_OPT)
    if request.method in _SAFE_METHODS or opt is False or opt == INLINE:
        return None
    header = request.headers.get(HEADER)
    from_form = header is None and request.headers.get("content-type", "").startswith(_FORM)
    if header is None and not from_form:
        return None
    actor = actor_of(request)
    if actor.user_id is None:
        return None
    body = await request.body()
    if header is not None:
        key = _checked(header.strip(), HEADER)
    else:
        found = _key_in_form(body)
        if found is None:
            return None
        key = _checked(found, FORM_FIELD)
    caller = caller_of(actor.user_id)
    fingerprint = _fingerprint(request, body)
    held = Claim(caller, key, fingerprint)
    # A double click on a form waits for the first submission (bounded by lock_timeout), then
    # shows the browser what it got; an API call with a held key is told so.
    record = await settled(session, held, wait=from_form)
    if record is not None:
        if record.fingerprint != fingerprint:
            raise key_reused(HEADER if header else FORM_FIELD)
        return replay(record)
    request.scope[ANSWER_KEEPER] = held  # type: ignore[literal-required]
    return None


async def inline_claim(request: Request[Any, Any, Any]) -> Claim | None:
    """The key of a request whose write statement claims it (an ``INLINE`` route): checked and
    fingerprinted here, with no statement; None when no key was sent."""
    header = request.headers.get(HEADER)
    actor = actor_of(request)
    if header is None or actor.user_id is None:
        return None
    key = _checked(header.strip(), HEADER)
    return Claim(caller_of(actor.user_id), key, _fingerprint(request, await request.body()))


async def settled(
    session: AsyncSession, claim: Claim, *, wait: bool = False
) -> IdempotencyRecord | None:
    """What became of ``claim``'s key: its live record, if any. Two statements, in this order:
    the key's transaction lock (``wait``: until its holder ends; else ``in_progress`` while
    another request holds it), then a read that sees what the holder committed.

    Asked before a request runs (:func:`claim`), and by an ``INLINE`` request refused before
    its write statement (a retry of one that went through may now break a rule the first
    passed: its quota is spent, its start is near)."""
    lock = func.hashtextextended(f"{claim.caller} {claim.key}", 0)
    if wait:
        await session.exec(select(func.pg_advisory_xact_lock(lock)))
    elif not (await session.exec(select(func.pg_try_advisory_xact_lock(lock)))).one():
        raise in_progress()
    found = await session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == claim.caller,
            IdempotencyRecord.key == claim.key,
            col(IdempotencyRecord.created_at) > utcnow() - RETENTION,
        )
    )
    return found.first()


async def stored_answer(request: Request[Any, Any, Any], claim: Claim) -> Response[bytes]:
    """The answer a request kept for ``claim``'s key (a replay of a key whose record holds a
    body rather than a booking: one kept before migration 0025)."""
    session = request.scope.get(REQUEST_SESSION)
    assert isinstance(session, AsyncSession)
    record = await session.get(IdempotencyRecord, (claim.caller, claim.key))
    if record is None:  # purged meanwhile: the request is new again, sent once more
        raise in_progress()
    return replay(record)


async def release(request: Request[Any, Any, Any]) -> None:
    """End the claim of a handler that stored its answer in a transaction of its own: the
    request's transaction (which holds the key's lock) commits now, and nothing is kept again
    at the edge."""
    request.scope.pop(ANSWER_KEEPER, None)  # type: ignore[misc]
    session = request.scope.get(REQUEST_SESSION)
    if isinstance(session, AsyncSession):
        await commit(session)


async def before_request(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Litestar hook: claim the request's key in the transaction the middleware opened."""
    session = request.scope.get(REQUEST_SESSION)
    if not isinstance(session, AsyncSession):  # not through the middleware: no transaction
        return None
    return await claim(request, session)


async def purge(session: AsyncSession, now: datetime) -> int:
    """Delete the records older than the retention period; returns how many went."""
    result = await session.exec(delete(RECORDS).where(RECORDS.c.created_at <= now - RETENTION))
    return int(result.rowcount or 0)


async def purge_stale(database: Database, now: datetime) -> int:
    """:func:`purge` in a transaction of its own (the nightly task and the CLI command)."""
    async with database.writer() as session, session.begin():
        return await purge(session, now)
