"""Schemathesis against the OpenAPI document of a running instance, with and without credentials.

Every operation is fuzzed from the published schema: no answer may be a 5xx, and every answer
must match the document (status codes, content types, headers, bodies, 405 with ``Allow``).
Part of ``make soak`` (about a minute and a half); the instance runs on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mutualab import migrate
from tests.support.net import free_port
from tests.support.postgres import PostgresServer
from tests.support.served import ROOT, start_server, wait_ready

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
    ]
)
pytestmark = pytest.mark.soak
ENV = {"MUTUALAB_SECRET_KEY": "schemathesis-run-secret-key-0123456789-abcdef"}


@pytest.fixture(scope="module")
def instance(postgres_server: PostgresServer) -> Iterator[tuple[str, str]]:
    """A migrated, seeded instance served by uvicorn; yields (base URL, admin token)."""
    url = postgres_server.create_database("mutualab_schemathesis")
    migrate.upgrade(url)
    env = {
        **os.environ,
        **ENV,
        "MUTUALAB_DATABASE_URL": url,
        "MUTUALAB_ADMIN_PASSWORD": "schemathesis-admin-passphrase-42",
    }
    cli = [sys.executable, "-m", "mutualab"]
    subprocess.run([*cli, "seed-demo"], env=env, check=True, capture_output=True, cwd=ROOT)
    token = subprocess.run(
        [*cli, "create-admin", "--email", "fuzz@example.fr"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    port = free_port()
    os.environ.update(ENV)
    process = start_server(url, port, workers=1)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base))
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=20)


def _schemathesis(base: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/schema/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        "8",
        "--workers",
        "1",
        "--seed",
        "20261125",
        # Erasing the account or changing its password would lock the fuzzer out mid-run.
        "--exclude-path-regex",
        "/api/me/(erase|password)|/api/auth/logout",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_fuzz_as_an_administrator(instance: tuple[str, str]) -> None:
    base, token = instance
    result = _schemathesis(base, "-H", f"Authorization: Bearer {token}")
    assert result.returncode == 0, result.stdout[-6000:]


def test_fuzz_without_credentials(instance: tuple[str, str]) -> None:
    base, _ = instance
    result = _schemathesis(base)
    assert result.returncode == 0, result.stdout[-6000:]
