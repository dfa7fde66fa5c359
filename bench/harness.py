"""What every bench script shares: a fresh database, a served app, a load generator, records.

Not a script: ``throughput.py``, ``contention.py``, ``availability.py`` and ``bench_calendar.py``
import it. Traffic goes to 127.0.0.1 only; every run is bounded in requests and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from litestar import Litestar
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the scripts run from anywhere and use the tests' helpers

try:
    from kernel.db import Database
    from kernel.settings import Settings
except ImportError:  # a tree from before the kernel package (7742dd8), measured with --bench-here
    from mutualab.db import Database  # type: ignore[no-redef]
    from mutualab.settings import Settings  # type: ignore[no-redef]
from bench.results_files import file_block  # noqa: E402
from mutualab import migrate  # noqa: E402
from mutualab.app import create_app  # noqa: E402
from resources.models import OpeningHour, Place, Resource  # noqa: E402
from resources.repository import CatalogueRepository  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.postgres import PostgresServer, find_server  # noqa: E402
from tests.support.served import OVERLAPS, start_server  # noqa: E402

MIDNIGHT = datetime.min.time()  # opens at 00:00, closes at 00:00: open around the clock
Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
# Resource names by kind ("Machine 007": availability.py finds its machines by that name).
KIND_NAMES = {"machine": "Machine", "space": "Salle", "software_seats": "Postes"}


# Where PostgreSQL puts its socket: Debian's packages, then the upstream default.
SOCKET_DIRS = ("/var/run/postgresql", "/run/postgresql", "/tmp")  # noqa: S108


def dsn(url: str) -> str:
    """The asyncpg DSN of an SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def local_socket(url: str) -> str:
    """``url`` over the server's Unix socket when it runs on this machine, else ``url``.

    As a town's single-box install would connect (docs/deploy.md): a loopback TCP round trip
    costs both processes more kernel time than a Unix socket one. The served app and the raw
    asyncpg ceiling use the same transport, so their ratio stays fair.
    """
    parsed = make_url(url)
    if parsed.host not in ("127.0.0.1", "localhost") or "host" in parsed.query:
        return url
    for folder in SOCKET_DIRS:
        if Path(folder, f".s.PGSQL.{parsed.port or 5432}").exists():
            local = URL.create(
                parsed.drivername,
                username=parsed.username,
                password=parsed.password,
                database=parsed.database,
                query={**parsed.query, "host": folder, "port": str(parsed.port or 5432)},
            )
            return local.render_as_string(hide_password=False)
    return url


def transport(url: str) -> str:
    """How the app reaches PostgreSQL, in words."""
    query = make_url(url).query
    return f"Unix socket in {query['host']}" if "host" in query else "TCP on 127.0.0.1"


# load ---------------------------------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0-1) percentile, nearest-rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def tail(p50: float, p99: float) -> str:
    """The ratio p99/p50 in words (the issue's tail target is at most 4)."""
    return f"p99/p50 {p99 / p50:.1f}" if p50 else "p99/p50 -"


def verdict(
    name: str, value: float, limit: float, unit: str = "", *, most: bool = True, digits: int = 1
) -> str:
    """A PASS/FAIL line against a target: ``value`` at most (or, ``most=False``, at least)
    ``limit``. Printed, never asserted: the figures depend on the machine."""
    met = value <= limit if most else value >= limit
    sign = "<=" if most else ">="
    found = "PASS" if met else "FAIL"
    return f"{found} {name}: {value:,.{digits}f}{unit} (target {sign} {limit:,g}{unit})"


@dataclass
class LoadResult:
    """What a timed run of requests produced."""

    # HTTP status -> answers; 0 counts transport errors (client timeout of 30 s included).
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    # Server pid -> client connections it held when the clock started.
    per_worker: dict[int, int] = field(default_factory=dict)
    # CPU of the server and of PostgreSQL per timed request (with the server's pid only).
    cpu: str = ""

    @property
    def requests(self) -> int:
        """Requests answered or failed."""
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self, label: str) -> str:
        """One line of figures: rate, latency percentiles in ms, statuses."""
        p50, p95, p99 = (percentile(self.latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
        statuses = " ".join(f"{code or 'error'}x{n}" for code, n in sorted(self.statuses.items()))
        spread = "/".join(str(n) for n in sorted(self.per_worker.values(), reverse=True))
        return (
            f"{label:<28} {self.rate:8.1f} req/s  p50 {p50:7.1f}  p95 {p95:7.1f}  "
            f"p99 {p99:7.1f} ms  ({self.requests} in {self.seconds:.1f} s; {statuses}"
            + (f"; connections per worker {spread})" if spread else ")")
        )

    def only(self, *codes: int) -> bool:
        """Whether every request got one of ``codes``."""
        return bool(self.statuses) and set(self.statuses) <= set(codes)

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p95 and p99 in milliseconds."""
        p50, p95, p99 = (percentile(self.latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
        return p50, p95, p99

    @property
    def tail(self) -> str:
        """p99/p50, in words."""
        p50, _, p99 = self.percentiles()
        return tail(p50, p99)


async def run_load(
    base: str,
    headers: Sequence[dict[str, str]],
    total: int,
    budget: float,
    request: Request,
    *,
    warmup: int = 0,
    server_pid: int | None = None,
    workers: int = 1,
) -> LoadResult:
    """``len(headers)`` clients, each on its own kept-alive connection, share ``total`` requests.

    The clients' connections are opened first and spread evenly over the server's ``workers``
    processes (see :class:`Clients`); together they send ``warmup`` untimed requests, the
    connections are touched again and the clock starts. Timing stops after ``total`` requests
    or ``budget`` seconds, whichever comes first.
    """
    clients = await open_clients(base, headers, server_pid=server_pid, workers=workers)
    result = LoadResult()
    try:

        async def drive(number: int, http: httpx.AsyncClient, tickets: Iterator[int]) -> None:
            for _ in tickets:
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                try:
                    status = (await request(http, number)).status_code
                except httpx.HTTPError:
                    status = 0
                if timed:
                    result.latencies.append(time.perf_counter() - started)
                    result.statuses[status] += 1

        timed, deadline = False, time.monotonic() + budget
        warm = iter(range(warmup))
        await asyncio.gather(*(drive(n, c, warm) for n, c in enumerate(clients.http)))
        await clients.refresh()
        if server_pid is not None:
            result.per_worker = connections_per_worker(server_pid, make_url_port(base))
        timed, deadline = True, time.monotonic() + budget
        tickets = iter(range(total))
        spent = CpuUse.now(server_pid) if server_pid is not None else None
        started = time.monotonic()
        await asyncio.gather(*(drive(n, c, tickets) for n, c in enumerate(clients.http)))
        result.seconds = time.monotonic() - started
        if spent is not None and server_pid is not None:
            result.cpu = spent.per_request(CpuUse.now(server_pid), result.requests)
    finally:
        await clients.aclose()
    return result


@dataclass
class Clients:
    """Simulated clients, each holding one kept-alive connection to the server."""

    base: str
    headers: Sequence[dict[str, str]]
    warm_path: str = "/health"
    server_pid: int | None = None
    workers: int = 1
    http: list[httpx.AsyncClient] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    async def _open(self, number: int) -> tuple[httpx.AsyncClient, int]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        http = httpx.AsyncClient(
            base_url=self.base, headers=self.headers[number], timeout=30, limits=limits
        )
        return http, await self._touch(http)

    async def _reopen(self, number: int) -> None:
        await self.http[number].aclose()
        self.http[number], self.ports[number] = await self._open(number)

    async def _touch(self, http: httpx.AsyncClient) -> int:
        for attempt in range(3):
            try:
                answer = await http.get(self.warm_path)
                break
            except httpx.TransportError:
                # The server closed the idle connection as we reused it: httpx reconnects.
                if attempt == 2:
                    raise
        if answer.status_code != 200:
            raise RuntimeError(f"GET {self.warm_path}: {answer.status_code} {answer.text[:200]}")
        return int(answer.extensions["network_stream"].get_extra_info("client_addr")[1])

    async def refresh(self) -> None:
        """A request on every connection, then spread them evenly over the workers.

        uvicorn closes connections idle for 5 s (httpx then quietly opens new ones), so call
        this right before firing. The server's processes share one listening socket and the
        kernel gives each connection to whichever accepts first: on a loaded machine one
        process may take them all, so connections of the busiest are reopened until every
        one of ``workers`` processes holds its share (at most 100 tries).
        """
        self.ports = list(await asyncio.gather(*(self._touch(h) for h in self.http)))
        if self.server_pid is None or self.workers < 2 or len(self.http) < self.workers:
            return
        server_port = make_url_port(self.base)
        for _ in range(100):
            owner = _owners(self.server_pid, server_port)
            load = Counter(owner.get(port, 0) for port in self.ports)
            if len(load) >= self.workers and max(load.values()) - min(load.values()) <= 1:
                return
            busiest = load.most_common(1)[0][0]
            await self._reopen(
                next(n for n, port in enumerate(self.ports) if owner.get(port, 0) == busiest)
            )

    def split(self, count: int | None = None) -> list[int]:
        """Connections of the first ``count`` clients held by each server process, largest
        first (empty without the server's pid)."""
        if self.server_pid is None:
            return []
        owner = _owners(self.server_pid, make_url_port(self.base))
        held = Counter(owner.get(port, 0) for port in self.ports[:count])
        return sorted(held.values(), reverse=True)

    async def aclose(self) -> None:
        """Close every connection."""
        await asyncio.gather(*(h.aclose() for h in self.http))


async def open_clients(
    base: str,
    headers: Sequence[dict[str, str]],
    *,
    server_pid: int | None = None,
    workers: int = 1,
    warm_path: str = "/health",
) -> Clients:
    """One client per ``headers``, connected with ``warm_path`` and spread over the workers."""
    clients = Clients(base, headers, warm_path, server_pid, workers)
    opened = await asyncio.gather(*(clients._open(n) for n in range(len(headers))))
    clients.http = [http for http, _ in opened]
    clients.ports = [port for _, port in opened]
    await clients.refresh()
    return clients


def _owners(server_pid: int, port: int) -> dict[int, int]:
    """Client port -> pid of the server process holding that connection."""
    by_inode = _established(port)
    found: dict[int, int] = {}
    for pid in [server_pid, *_descendants(server_pid)]:
        try:
            links = [str(p.readlink()) for p in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in by_inode:
                found[by_inode[link[8:-1]]] = pid
    return found


def make_url_port(base: str) -> int:
    """The port of ``http://127.0.0.1:PORT``."""
    return int(base.rsplit(":", 1)[1])


def connections_per_worker(server_pid: int, port: int) -> dict[int, int]:
    """Established client connections held by each process of the server (Linux /proc)."""
    return dict(Counter(_owners(server_pid, port).values()))


@dataclass(frozen=True)
class _Process:
    """What /proc/PID/stat says of one process."""

    parent: int
    name: str
    # utime, stime, cutime and cstime, in clock ticks.
    ticks: int


def _processes() -> dict[int, _Process]:
    """Every process on the machine, by pid (one pass over /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # it exited while we looked
        fields = tail.split()
        ticks = sum(int(n) for n in fields[11:15])
        found[int(stat.parent.name)] = _Process(int(fields[1]), head.split("(", 1)[1], ticks)
    return found


def _descendants(pid: int, processes: dict[int, _Process] | None = None) -> list[int]:
    parents = {child: p.parent for child, p in (processes or _processes()).items()}
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent so far by the served app's processes and by PostgreSQL's (Linux /proc).

    Read before and after a timed run, it gives what each side spent per request, whatever the
    load generator's share of the cores: a figure that a drifting or shared box moves less than
    throughput (not the box's own drift: a slower core spends more CPU on the same work).
    PostgreSQL's processes are all those named ``postgres`` on the machine (its backends, WAL
    writer, checkpointer, autovacuum): the benches' server is used by nothing else.
    """

    app: float
    database: float

    @classmethod
    def now(cls, server_pid: int) -> CpuUse:
        """What the server ``server_pid`` (with its workers) and PostgreSQL have spent so far."""
        processes = _processes()
        app = {server_pid, *_descendants(server_pid, processes)}
        # Children's CPU counts too (cutime, cstime): a backend that exits during the run (a
        # pool closing a connection) leaves its CPU to the postmaster that reaps it.
        spent_app = sum(p.ticks for pid, p in processes.items() if pid in app)
        spent_database = sum(
            p.ticks for pid, p in processes.items() if pid not in app and p.name == "postgres"
        )
        tick = os.sysconf("SC_CLK_TCK")
        return cls(spent_app / tick, spent_database / tick)

    def per_request(self, later: CpuUse, requests: int) -> str:
        """The CPU each side spent per request between this reading and ``later``."""
        if not requests:
            return "CPU per request -"
        app = (later.app - self.app) / requests * 1000
        database = (later.database - self.database) / requests * 1000
        return f"CPU per request: app {app:.2f} ms, PostgreSQL {database:.2f} ms"


def _established(port: int) -> dict[str, int]:
    """Socket inode -> client port of the established connections to local ``port``."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            # local and remote addresses are HEX_IP:HEX_PORT; state 01 is ESTABLISHED
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                found[cols[9]] = int(cols[2].rsplit(":", 1)[1], 16)
    return found


# database and server -----------------------------------------------------------------------
@contextmanager
def fresh_database(prefix: str, *, keep: bool = False) -> Iterator[tuple[PostgresServer, str]]:
    """A new, migrated PostgreSQL database; dropped afterwards unless ``keep``."""
    server = find_server()
    if server is None:
        raise SystemExit("No PostgreSQL server found (see tests/support/postgres.py).")
    url = server.create_database(prefix)
    try:
        migrate.upgrade(url)
        yield server, url
    finally:
        if keep:
            server.created.clear()
            print(f"kept database: {url}")
        server.stop()


def server_log() -> Path:
    """Where served apps write their log: MUTUALAB_SERVER_LOG, else a temporary file."""
    default_log = Path(tempfile.gettempdir()) / f"mutualab-bench-{os.getpid()}.log"
    return Path(os.environ.setdefault("MUTUALAB_SERVER_LOG", str(default_log)))


def log_problems(since: int, limit: int = 5) -> list[str]:
    """What the server logged as going wrong after byte ``since`` of its log: distinct
    messages (numbers and paths' ids as N), most frequent first, with their count."""
    log = server_log()
    try:
        with log.open("rb") as stream:
            stream.seek(since)
            lines = stream.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    words = ("error", "unavailable", "exception", "busy", "timeout")
    # A record's first line only: not its traceback (indented lines, "Traceback", and the
    # exception's own line that ends it).
    heads = [
        line
        for line in lines
        if line.strip()
        and not line[0].isspace()
        and not line.startswith("Traceback")
        and not re.match(r"^[\w.]+(Error|Exception)\b", line)
    ]
    shapes = Counter(
        re.sub(r"\d+", "N", line.strip())[:200]
        for line in heads
        if any(word in line.lower() for word in words)
    )
    return [
        f"{n} x {shape}" + (WRK_STOP if "client disconnected prematurely" in shape else "")
        for shape, n in shapes.most_common(limit)
    ]


# A request whose client went away, as wrk's are when it stops on the clock.
WRK_STOP = " (a client left: wrk closes its connections when its time is up)"


def log_size() -> int:
    """The server log's size in bytes now (0 if there is none yet)."""
    try:
        return server_log().stat().st_size
    except OSError:
        return 0


@contextmanager
def served(url: str, workers: int, pool_size: int = 20) -> Iterator[tuple[str, int]]:
    """``mutualab serve --workers N`` on a free local port; yields its base URL and pid.

    Each worker keeps up to twice ``pool_size`` database connections per pool (kernel.db).

    The server's log goes to MUTUALAB_SERVER_LOG, else to a temporary file shown on failure.
    """
    log = server_log()
    port = free_port()
    # Without the access log, as behind a reverse proxy that keeps one (docs/deploy.md).
    process = start_server(local_socket(url), port, workers, access_log=False, pool_size=pool_size)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_until_ready(base, process))
        if workers > 1:
            time.sleep(1.5)  # /health answered by one worker; let the others finish starting
        yield base, process.pid
    except RuntimeError:
        tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
        print("\n".join(["server log (last lines):", *tail]), file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    # Like tests.support.served.wait_ready, but patient on a loaded machine and quick to give
    # up when the server died.
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with status {process.returncode}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer /health within 120 s")


def _new_place(slug: str, town: str, postcode: str) -> Place:
    return Place(
        slug=slug,
        name=f"Lieu {slug}",
        address="2 rue du Banc d'essai",
        postcode=postcode,
        town=town,
        timezone="Europe/Paris",
        operator_name="Commune",
        closed_on_public_holidays=False,
    )


async def add_machines(
    url: str, place_slug: str, count: int, *, new_place: bool = False
) -> tuple[int, list[int]]:
    """``count`` single-unit machines at a place (created open around the clock if
    ``new_place``, else the seeded one); the place's id and the machines' ids."""
    place_id, made = await add_resources(
        url, place_slug, {"machine": (count, 1)}, new_place=new_place
    )
    return place_id, made["machine"]


def _connect(url: str) -> Database:
    """Two connections to ``url`` (by the older trees' API too: ``--bench-here``)."""
    if hasattr(Database, "connect"):
        return Database.connect(url, pool_size=2)
    from mutualab.db import create_engine  # type: ignore[attr-defined,unused-ignore]

    return Database.from_engine(create_engine(url, pool_size=2))  # type: ignore[attr-defined,unused-ignore]


async def add_resources(
    url: str,
    place_slug: str,
    kinds: dict[str, tuple[int, int]],
    *,
    new_place: bool = False,
    town: str = "Brest",
    postcode: str = "29200",
) -> tuple[int, dict[str, list[int]]]:
    """Resources at a place (created open around the clock in ``town`` if ``new_place``, else
    the seeded one): for each kind (``machine``, ``space``, ``software_seats``...), how many and
    their capacity in units. The place's id and the resources' ids by kind."""
    database = _connect(url)
    try:
        async with database.writer() as session, session.begin():
            if new_place:
                place = _new_place(place_slug, town, postcode)
                session.add(place)
                await session.flush()
                assert place.id is not None
                session.add_all(
                    OpeningHour(place_id=place.id, weekday=d, opens=MIDNIGHT, closes=MIDNIGHT)
                    for d in range(7)
                )
            else:
                place = (await session.exec(select(Place).where(Place.slug == place_slug))).one()
            assert place.id is not None
            made: dict[str, list[Resource]] = {}
            for kind, (count, capacity) in kinds.items():
                label = KIND_NAMES.get(kind, kind)
                made[kind] = [
                    Resource(
                        place_id=place.id,
                        name=f"{label} {n:03d}",
                        kind=kind,
                        capacity=capacity,
                        # Seats and rooms are booked by the hour, as a class or a meeting is.
                        slot_minutes=30 if kind == "machine" else 60,
                        min_minutes=30 if kind == "machine" else 60,
                    )
                    for n in range(count)
                ]
                session.add_all(made[kind])
            await session.flush()
            repository = CatalogueRepository(session)
            for resources in made.values():
                for resource in resources:
                    await repository.sync_units(resource)
            return place.id, {
                kind: [r.id for r in resources if r.id is not None]
                for kind, resources in made.items()
            }
    finally:
        await database.dispose()


async def allow_ahead(url: str, resources: list[int], days: int) -> None:
    """Let ``resources`` be booked up to ``days`` ahead (a trigger moves the catalogue counter)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "UPDATE resource SET max_advance_days = $1 WHERE id = ANY($2::int[])", days, resources
        )
    finally:
        await conn.close()


# What the service booked (its references are MLB-...; COPY seeds S..., raw inserts RAW...)
# against the booking.created events queued for them. book_units() queues one events.dispatch
# job per booking it inserts, in the same statement (migration 0017), keyed
# event:booking.<id>.created; the bench's server runs no worker (MUTUALAB_IN_PROCESS_WORKER is
# unset and no `mutualab worker` runs), so every job is still in jobs.pgqueuer afterwards.
BOOKED_AND_QUEUED = """
WITH made AS (SELECT id FROM booking WHERE reference LIKE 'MLB-%'),
queued AS (
    SELECT split_part(dedupe_key, '.', 2)::int AS id
    FROM jobs.pgqueuer
    WHERE entrypoint = 'events.dispatch' AND dedupe_key LIKE 'event:booking.%.created'
)
SELECT (SELECT count(*) FROM made) AS made,
       (SELECT count(*) FROM queued) AS queued,
       (SELECT count(*) FROM (SELECT id FROM made EXCEPT SELECT id FROM queued) m) AS missing,
       (SELECT count(*) FROM (SELECT id FROM queued EXCEPT SELECT id FROM made) o) AS orphans
"""


async def booked_and_queued(url: str) -> tuple[int, int, int, int]:
    """Bookings the service made, booking.created jobs queued, bookings without their job,
    and jobs without their booking. Run after the timed runs: it reads whole tables."""
    conn = await asyncpg.connect(dsn(url))
    try:
        row = await conn.fetchrow(BOOKED_AND_QUEUED)
    finally:
        await conn.close()
    assert row is not None
    return int(row["made"]), int(row["queued"]), int(row["missing"]), int(row["orphans"])


async def has_job_queue(url: str) -> bool:
    """Whether the schema holds the job queue (trees from before the events had none)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        found: bool = await conn.fetchval("SELECT to_regclass('jobs.pgqueuer') IS NOT NULL")
    finally:
        await conn.close()
    return found


def jobs_line(made: int, queued: int, missing: int, orphans: int) -> str:
    """Bookings made against booking.created jobs queued, and whether they match."""
    verdict = "match" if made == queued and not missing and not orphans else "WRONG: must match"
    return (
        f"bookings made by the service {made}, booking.created jobs queued {queued} "
        f"(bookings without their job {missing}, jobs without their booking {orphans}): {verdict}"
    )


async def overlaps(url: str) -> int:
    """Active allocations of one unit whose blocked ranges overlap (must be 0)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        found: int = await conn.fetchval(str(OVERLAPS))
    finally:
        await conn.close()
    return found


async def analyze(url: str) -> None:
    """VACUUM ANALYZE: fresh planner statistics and visibility map (index-only scans)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# in-process app -----------------------------------------------------------------------------
def in_process_app(url: str) -> Litestar:
    """The application on ``url``, to drive with litestar's test client (SQL capture)."""
    secret = "bench-secret-key-used-nowhere-else-0123456789abcdef"  # noqa: S105
    return create_app(Settings(database_url=url, secret_key=SecretStr(secret)))


@contextmanager
def sql_log() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Every statement (with its parameters) sent to the database while the block runs, in
    order: SQLAlchemy's (its cursor event), and those sent on the driver's connection past
    SQLAlchemy (``kernel.driver``, and ``BEGIN``/``COMMIT``), seen by wrapping asyncpg's
    ``Connection.fetch`` and ``Connection.execute`` for the duration of the block."""
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def listen(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        seen.append((statement, tuple(parameters or ())))

    originals = {name: getattr(asyncpg.Connection, name) for name in ("fetch", "execute")}

    def recording(original: Any) -> Any:
        async def call(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append((query, args))
            return await original(self, query, *args, **kwargs)

        return call

    event.listen(Engine, "before_cursor_execute", listen)
    for name, original in originals.items():
        setattr(asyncpg.Connection, name, recording(original))
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)


# records ------------------------------------------------------------------------------------
def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--record and --quick, shared by every script."""
    parser.add_argument(
        "--record",
        action="store_true",
        help="file a dated block in bench/results/",
    )
    parser.add_argument("--quick", action="store_true", help="small parameters: a smoke run")
    parser.add_argument("--note", default="", help="a remark recorded with the block")


def _command(args: Sequence[str]) -> str:
    try:
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def postgres_version(url: str) -> str:
    """``SHOW server_version`` of the server holding ``url``."""
    conn = await asyncpg.connect(dsn(url))
    try:
        version: str = await conn.fetchval("SHOW server_version")
        return version
    finally:
        await conn.close()


def cpu_probe() -> float:
    """Milliseconds of CPU a fixed pure-Python loop takes (the best of three).

    Printed with every run: on a shared virtual machine a fixed loop was seen to take 446 ms,
    then 779 ms, within minutes, so figures of different runs compare only beside it.
    """
    best = math.inf
    for _ in range(3):
        began = time.process_time()
        total = 0
        for number in range(2_000_000):
            total += number * number
        best = min(best, time.process_time() - began)
    return best * 1000


def load_now() -> str:
    """The load average and a CPU probe, as one line (printed beside figures to compare)."""
    return (
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"CPU probe: {cpu_probe():.0f} ms (a fixed Python loop, lower is faster)"
    )


def machine(url: str | None = None) -> list[str]:
    """Where the figures come from: machine, cores, CPU, load, database, commit.

    Without ``url`` (a run with no database), the PostgreSQL line is left out.
    """
    commit = _command(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = " (dirty: uncommitted changes)" if _command(["git", "status", "--porcelain"]) else ""
    database = (
        [
            f"PostgreSQL {asyncio.run(postgres_version(url))} (app connects by "
            f"{transport(local_socket(url))}), Python {platform.python_version()}"
        ]
        if url
        else [f"no database, Python {platform.python_version()}"]
    )
    return [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}",
        f"{load_now().replace('load average:', 'load average at start:', 1)}",
        *database,
        f"commit: {commit}{dirty}",
    ]


def record(title: str, context: list[str], parameters: str, figures: list[str], note: str) -> None:
    """Append a dated block to its day's file in bench/results/ (bench/results_files.py)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join(
        ["python", *(f"bench/{Path(a).name}" if a.endswith(".py") else a for a in sys.argv)]
    )
    lines = [
        f"## {stamp} — {title}" + (f" — {note}" if note else ""),
        "",
        *(f"- {line}" for line in context),
        f"- command: `{command}`",
        f"- parameters: {parameters}",
        "",
        "```",
        *figures,
        "```",
        "",
    ]
    for path in file_block("\n".join(lines) + "\n"):
        print(f"recorded in {path.relative_to(ROOT)}")
