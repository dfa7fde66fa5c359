"""Liveness and readiness: ``/health`` answers 200 only when the database answers."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.datastructures import State
from sqlalchemy import text

from kernel.db import get_database
from kernel.errors import PROBLEM_JSON, is_database_unavailable
from kernel.routes import get


@get("/health", opt={"auth": "public"}, tags=["service"], cache=False)
async def health(state: State) -> Response[dict[str, Any]]:
    """Report whether the service and its database are up."""
    database = get_database(state)
    try:
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        return Response(
            {
                "type": "/problems/database_unavailable",
                "title": "Service unavailable",
                "status": 503,
                "code": "database_unavailable",
                "database": "unreachable",
            },
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "5"},
        )
    return Response({"status": "ok", "database": "postgresql"})
