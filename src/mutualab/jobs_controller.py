"""The failed background jobs, for platform administrators: list them, queue one again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller
from litestar.di import NamedDependency
from litestar.params import FromPath
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel import jobs
from kernel.auth.guards import require_admin
from kernel.auth.rules import ADMIN, BEARER
from kernel.errors import NotFoundError
from kernel.routes import get, post


class FailedJobRead(BaseModel):
    """A job whose attempts are spent."""

    id: int
    name: str
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str | None
    created_at: datetime
    failed_at: datetime


class RetriedJob(BaseModel):
    """A failed job queued again."""

    id: int
    status: str = "queued"


class JobAdminController(Controller):
    """Background jobs that failed (platform administrators)."""

    path = "/api/admin/jobs"
    tags = ["admin"]
    guards = [require_admin]
    security = BEARER
    opt = ADMIN

    @get("/failed")
    async def failed(self, db_session: NamedDependency[AsyncSession]) -> list[FailedJobRead]:
        """The failed jobs, the most recent failure first (100 at most)."""
        return [
            FailedJobRead(
                id=job.id,
                name=job.name,
                payload=job.payload,
                attempts=job.attempts,
                dedupe_key=job.dedupe_key,
                created_at=job.created,
                failed_at=job.updated,
            )
            for job in await jobs.failed_jobs(db_session)
        ]

    @post("/{job_id:int}/retry", status_code=200)
    async def retry(
        self, db_session: NamedDependency[AsyncSession], job_id: FromPath[int]
    ) -> RetriedJob:
        """Queue a failed job again, with all its attempts."""
        if not await jobs.requeue(db_session, job_id):
            raise NotFoundError("No failed job has this id.")
        return RetriedJob(id=job_id)
