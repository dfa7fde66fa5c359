"""Calls of one statement that commits on its own, sent together when they come at once.

A booking that is its request's whole change is one ``book_units()`` call on a connection of the
writers' direct pool (:mod:`kernel.driver`). Run one by one, each call paid a round trip, a
transaction and a commit (its WAL flush) on both sides: more than half of PostgreSQL's CPU per
booking and a good part of the worker's (docs/deploy.md). So each worker keeps a *lane* per
such statement and pool:

- a call that finds a free place (fewer than ``lanes`` calls or batches running) and nobody
  waiting runs at once, in its caller's task, exactly as :func:`kernel.driver.fetch` runs it;
- otherwise it waits, and as soon as a running one ends, the calls waiting (up to ``most``)
  go as one statement (``many``): one round trip, one transaction, one commit. A worker at
  ease never batches; a busy one batches as much as it is busy;
- calls that waited ``overdue`` for a lane (its calls waiting on locks, say) go on a lane of
  their own, so that one unit's lock wait does not hold up the worker's other calls.

The statement's batch form must give each call the answer it would have had on its own, tag
each answer row with the call's position (its first column, from 1) and write all or nothing.
When the database refuses the whole (an error, which a refusal of a booking is not), nothing
was stored and each call runs again on its own, so that each request gets its own answer. When
the connection is lost, or the statement timed out, during a batch, it may have been stored:
each call's outcome is unknown, as a call on its own would be.

A batch holds what its calls lock until it commits: a call waiting for a lock held elsewhere
(a slow transaction on the same unit) holds up the calls batched with it, for at most the
writers' ``lock_timeout``, after which the database refuses the batch and each call is sent
again on its own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.db import DIRECT_POOL, DirectPool
from kernel.driver import Statement, fetch, forget_opened, is_closed, run_statement
from kernel.errors import OutcomeUnknownError

Rows = list[Any]


@dataclass(frozen=True, eq=False)  # one lane per instance: compared and hashed by identity
class Together:
    """A statement that commits on its own (``single``) and its form for several calls.

    ``many`` takes one argument: the calls, each a tuple of its parameters named by ``fields``
    (in the order of the database type of the array's elements); each row it returns starts
    with the call's position (from 1). ``lanes``: calls or batches running at once per pool;
    ``most``: calls per batch; ``overdue``: seconds a call waits for a lane at most before the
    calls waiting go on a lane of their own.
    """

    single: Statement
    many: str
    fields: tuple[str, ...]
    lanes: int = 2
    most: int = 32
    overdue: float = 0.2


@dataclass(frozen=True, slots=True)
class _Waiting:
    params: Mapping[str, Any]
    answer: asyncio.Future[Rows]


class _EachOnItsOwn(Exception):
    """The database refused a batch as a whole: nothing of it was stored."""


class Lane:
    """The calls of one statement on one direct pool, in one event loop (see the module)."""

    def __init__(
        self, together: Together, direct: DirectPool, lost: Callable[[Exception], Awaitable[None]]
    ) -> None:
        self.together = together
        self.direct = direct
        self.lost = lost
        self.waiting: list[_Waiting] = []
        self.running = 0
        self.batches: Counter[int] = Counter()  # batches sent, by their number of calls
        self._tasks: set[asyncio.Task[None]] = set()
        self._overdue: asyncio.TimerHandle | None = None

    async def call(self, params: Mapping[str, Any]) -> Rows:
        """The rows of the statement for ``params``, run alone or in a batch."""
        if self.running < self.together.lanes and not self.waiting:
            self.running += 1
            try:
                return await self._alone(params)
            finally:
                self.running -= 1
                self._send_waiting()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Rows] = loop.create_future()
        self.waiting.append(_Waiting(params, answer))
        self._send_waiting()
        if self.waiting and self._overdue is None:
            self._overdue = loop.call_later(self.together.overdue, self._send_overdue)
        return await answer

    def _send_waiting(self, *, lanes: int | None = None) -> None:
        while self.waiting and self.running < (lanes or self.together.lanes):
            taken = self.waiting[: self.together.most]
            del self.waiting[: self.together.most]
            batch = [call for call in taken if not call.answer.done()]  # not given up
            if not batch:
                continue
            self.running += 1
            task = asyncio.create_task(self._send(batch))
            # Kept referenced until done (the loop holds tasks weakly).
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not self.waiting and self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None

    def _send_overdue(self) -> None:
        """The lanes stayed taken (their calls waiting on locks, say) while calls waited: those
        go now on a lane of their own, so that one unit's wait does not hold up the others."""
        self._overdue = None
        self._send_waiting(lanes=self.running + 1)
        if self.waiting:  # more than one batch was waiting
            self._overdue = asyncio.get_running_loop().call_later(
                self.together.overdue, self._send_overdue
            )

    async def _send(self, batch: list[_Waiting]) -> None:
        try:
            if len(batch) == 1:
                await _settle(batch[0].answer, self._alone(batch[0].params))
                return
            self.batches[len(batch)] += 1
            try:
                rows = await self._many([call.params for call in batch])
            except _EachOnItsOwn:
                # Nothing was stored: each again on its own, but for callers who gave up.
                await asyncio.gather(
                    *(
                        _settle(call.answer, self._alone(call.params))
                        for call in batch
                        if not call.answer.done()
                    )
                )
                return
            except Exception as error:  # each caller gets it (see _fail)
                for call in batch:
                    _fail(call.answer, error)
                return
            answers: list[Rows] = [[] for _ in batch]
            for row in rows:
                answers[row[0] - 1].append(row)
            for call, answer in zip(batch, answers, strict=True):
                if not call.answer.done():
                    call.answer.set_result(answer)
        finally:
            self.running -= 1
            self._send_waiting()

    async def _alone(self, params: Mapping[str, Any]) -> Rows:
        async with self.direct.connection() as driver:
            return await run_statement(driver, self.together.single, params, lost=self.lost)

    async def _many(self, calls: Sequence[Mapping[str, Any]]) -> Rows:
        fields = self.together.fields
        argument = [tuple(call[name] for name in fields) for call in calls]
        async with self.direct.connection() as driver:
            try:
                rows: Rows = await driver.fetch(self.together.many, argument)
            except asyncpg.PostgresError as error:
                if is_closed(driver):
                    await self.lost(error)
                    raise OutcomeUnknownError from error
                raise _EachOnItsOwn from error  # the server refused it: rolled back
            except TimeoutError as error:
                raise OutcomeUnknownError from error  # it may have committed meanwhile
            except Exception as error:
                if is_closed(driver):
                    await self.lost(error)
                    raise OutcomeUnknownError from error
                raise _EachOnItsOwn from error  # refused before it was sent
        return rows


async def _settle(answer: asyncio.Future[Rows], work: Awaitable[Rows]) -> None:
    """``answer`` gets what ``work`` gives or raises (unless its caller gave up waiting)."""
    try:
        rows = await work
    except Exception as error:  # handed to the caller, who raises it
        if not answer.done():
            answer.set_exception(error)
        return
    if not answer.done():
        answer.set_result(rows)


def _fail(answer: asyncio.Future[Rows], error: Exception) -> None:
    """``answer`` fails as ``error`` did; an unknown outcome is a new error for each caller
    (the request's handler adds its idempotency key to it)."""
    if answer.done():
        return
    if isinstance(error, OutcomeUnknownError):
        unknown = OutcomeUnknownError()
        unknown.__cause__ = error.__cause__
        answer.set_exception(unknown)
    else:
        answer.set_exception(error)


def lane(together: Together, direct: DirectPool, engine: AsyncEngine | None) -> Lane:
    """The lane of ``together`` on ``direct`` in the running event loop."""
    key = (together, asyncio.get_running_loop())
    found = direct.lanes.get(key)
    if not isinstance(found, Lane):
        found = direct.lanes[key] = Lane(together, direct, _lost(engine, direct))
    return found


def _lost(engine: AsyncEngine | None, direct: DirectPool) -> Callable[[Exception], Awaitable[None]]:
    """What a lost connection calls: every pooled connection opened so far is replaced."""

    async def forget(_error: Exception) -> None:
        await forget_opened(engine, direct)

    return forget


async def fetch_together(
    session: AsyncSession, together: Together, params: Mapping[str, Any]
) -> Sequence[Any]:
    """The rows of ``together.single`` for ``params``, a call that is the request's whole
    change: in its worker's lane when the session has begun nothing (see the module), else as
    :func:`kernel.driver.fetch` runs it (part of the session's transaction)."""
    direct = session.info.get(DIRECT_POOL)
    if direct is None or session.sync_session.in_transaction():
        return await fetch(session, together.single, params, alone=True)
    engine = session.bind
    return await lane(together, direct, engine if isinstance(engine, AsyncEngine) else None).call(
        params
    )
