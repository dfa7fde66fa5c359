"""wrk as the load generator: a C client, so the Python server gets the machine's cores.

The httpx client of :mod:`bench.harness` costs about as much CPU per request as the server on
this 2-core machine, so it caps what it can measure. wrk (Debian's ``wrk`` package) drives the
same ``POST /api/bookings`` from a Lua script written per run: every request books a distinct
(machine, hour) slot of the SLOTS handed to that run, with one of the clients' tokens and an
``Idempotency-Key`` of its own; statuses are counted per thread and printed by the script, so
a run with anything but 201 is seen. A run never leaves its slots: the caller sizes them for a
rate far above any it can reach, and requests past them (which would ask for a slot twice) are
counted apart ("overflow"). The same scheme sends series and cancellations (``mixed.py``), and
GETs in turn; :func:`start` runs several wrk processes at once (one per operation of a mix:
wrk's Lua cannot tell which connection an answer belongs to, nor read a clock, so one wrk per
operation is how each gets its own percentiles).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

TIMEOUT = 30  # seconds a request may take before wrk counts it as a socket error

# Statuses are counted per thread and summed in done(), which prints them with the percentiles.
_TAIL = """
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, n in pairs(counted) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "x" .. n) end
  io.write("STATUSES " .. table.concat(parts, " ") .. "\\n")
  local over = 0
  for _, thread in ipairs(threads) do over = over + (thread:get("overflow") or 0) end
  io.write("OVERFLOW " .. over .. "\\n")
  io.write(string.format("PERCENTILES %.3f %.3f %.3f\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""

_GET = """
statuses = {}  -- a global: done() reads every thread's copy with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end
"""

_EACH = """
local paths = {paths}
local counter = 0

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""

# Scripts that send each request once: request number n of a run (0 to SLOTS - 1) goes to the
# thread n modulo THREADS, in order; a thread past its share starts again from its first
# number, and those requests are counted apart ("overflow"). Each request carries an
# Idempotency-Key of its own (run, thread, counter: unique even past the share).
_NUMBERED = """
local run = "{run}"
local threads_total = {threads}
local per_thread = {per_thread}
local counter, id = 0, 0
local threads = {{}}
statuses = {{}}  -- a global: done() reads every thread's copy with thread:get
overflow = 0  -- requests past the thread's share (they start again from its first one)

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  id = wrk.thread:get("id")
end

-- The next request number of this thread, and the headers of a request sent with `token`.
local function next_number()
  if counter >= per_thread then overflow = overflow + 1 end
  local n = (counter % per_thread) * threads_total + id
  counter = counter + 1
  return n
end

local function headers_for(token)
  return {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
          ["Idempotency-Key"] = string.format("%s-%d-%d", run, id, counter)}}
end
"""

_POST = """
local machines = {machines}
local tokens = {tokens}
local first = {first}

function request()
  local n = next_number()
  local machine = machines[(n % #machines) + 1]
  local starts = first + math.floor(n / #machines) * 3600
  local body = string.format(
    '{{"items":[{{"resource_id":%d,"quantity":1}}],"starts_at":"%s","ends_at":"%s"}}',
    machine, os.date("!%Y-%m-%dT%H:%M:%SZ", starts), os.date("!%Y-%m-%dT%H:%M:%SZ", starts + 3600))
  return wrk.format("POST", "/api/bookings", headers_for(tokens[(n % #tokens) + 1]), body)
end
"""

# Weekly series of a room and a seat pool of one place: series n is at place n modulo the
# places' count, on a weekday and an hour of its own, in blocks of WEEKS weeks from DAY (UTC
# midnight of the first local date), so no two series of a run ask for the same units.
_SERIES = """
local places = {places}  -- {{room, pool}} per place
local seats = {seats}
local tokens = {tokens}
local day = {day}
local weeks = {weeks}
local hours = {hours}

function request()
  local n = next_number()
  local place = places[(n % #places) + 1]
  local s = math.floor(n / #places)
  local weekday = s % 7
  local hour = hours[(math.floor(s / 7) % #hours) + 1]
  local block = math.floor(s / (7 * #hours))
  local first = day + (block * weeks * 7 + weekday) * 86400
  local body = string.format(
    '{{"items":[{{"resource_id":%d,"quantity":1}},{{"resource_id":%d,"quantity":%d}}],'
    .. '"rule":"FREQ=WEEKLY;COUNT=%d","first_date":"%s","start_time":"%02d:00",'
    .. '"duration_minutes":60}}',
    place[1], place[2], seats, weeks, os.date("!%Y-%m-%d", first), hour)
  return wrk.format("POST", "/api/series", headers_for(tokens[(n % #tokens) + 1]), body)
end
"""

# Cancellations of given bookings, each by its booker: "id:token index" pairs, parsed once.
_CANCEL = """
local pairs_text = "{pairs}"
local tokens = {tokens}
local bookings, owners = {{}}, {{}}
for booking, owner in string.gmatch(pairs_text, "(%d+):(%d+)") do
  table.insert(bookings, booking)
  table.insert(owners, tonumber(owner))
end

function request()
  local n = next_number()
  return wrk.format("POST", "/api/bookings/" .. bookings[n + 1] .. "/cancel",
    headers_for(tokens[owners[n + 1] + 1]), '{{"reason":"banc de charge"}}')
end
"""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run printed."""

    rate: float
    p50: float
    p95: float
    p99: float
    statuses: dict[int, int]
    requests: int
    seconds: float
    # POST runs: requests past the run's slots, which asked for a slot again (see run).
    overflow: int = 0

    def line(self, label: str) -> str:
        """One line of figures, like LoadResult.line."""
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{label:<28} {self.rate:8.1f} req/s  p50 {self.p50:7.1f}  p95 {self.p95:7.1f}  "
            f"p99 {self.p99:7.1f} ms  ({self.requests} in {self.seconds:.1f} s; {statuses}; wrk)"
        )

    def only(self, *codes: int) -> bool:
        """Whether every request got one of ``codes``."""
        return bool(self.statuses) and set(self.statuses) <= set(codes)

    @property
    def tail(self) -> str:
        """p99/p50, in words."""
        return f"p99/p50 {self.p99 / self.p50:.1f}" if self.p50 else "p99/p50 -"


def available() -> bool:
    """Whether wrk is installed."""
    return shutil.which("wrk") is not None


def run(
    base: str,
    machines: list[int],
    tokens: list[str],
    first: datetime,
    clients: int,
    seconds: int,
    slots: int,
    threads: int = 2,
) -> WrkResult:
    """POST distinct bookings for ``seconds`` over ``clients`` kept-alive connections.

    They book slot numbers 0 to ``slots`` - 1 only (slot n: machine n modulo their count,
    starting ``first`` plus n // count hours), each thread every ``threads``-th number, so
    the threads never ask for the same machine. Should a thread use up its share, it starts
    again from its first slot, and those requests are counted in ``overflow``.
    """
    return start(
        base, post_script(machines, tokens, first, slots, threads), clients, seconds, threads
    ).result()


def post_script(
    machines: list[int], tokens: list[str], first: datetime, slots: int, threads: int
) -> str:
    """The Lua of :func:`run`: distinct one-hour bookings of ``machines`` from ``first``."""
    if slots < threads or len(machines) % threads:
        raise ValueError("each thread needs its own machines and at least one slot")
    return _numbered(f"post-{int(first.timestamp())}", slots, threads) + _POST.format(
        machines=_lua_list(machines), tokens=_lua_strings(tokens), first=int(first.timestamp())
    )


def series_script(
    places: list[tuple[int, int]],
    seats: int,
    tokens: list[str],
    day: date,
    weeks: int,
    hours: list[int],
    slots: int,
    threads: int,
) -> str:
    """Weekly series of ``weeks`` weeks, each of a room and ``seats`` seats of one place's
    pool, one hour long at one of ``hours`` (local), from the local date ``day`` on: series n
    goes to place n modulo their count, then to a weekday and an hour of its own, then to the
    next block of ``weeks`` weeks. ``slots`` series at most; no two ask for the same units."""
    if slots < threads or len(places) % threads:
        raise ValueError("each thread needs its own places and at least one series")
    epoch = int(datetime.combine(day, time(), UTC).timestamp())
    return _numbered(f"series-{epoch}", slots, threads) + _SERIES.format(
        places="{" + ",".join(f"{{{room},{pool}}}" for room, pool in places) + "}",
        seats=seats,
        tokens=_lua_strings(tokens),
        day=epoch,
        weeks=weeks,
        hours=_lua_list(hours),
    )


def cancel_script(
    bookings: list[tuple[int, int]], tokens: list[str], threads: int, run: str = "cancel"
) -> str:
    """Each of ``bookings`` (id, index of its booker's token) cancelled once, by its booker."""
    if len(bookings) < threads:
        raise ValueError("at least one booking to cancel per thread")
    return _numbered(run, len(bookings), threads) + _CANCEL.format(
        pairs=",".join(f"{booking}:{owner}" for booking, owner in bookings),
        tokens=_lua_strings(tokens),
    )


def _numbered(run: str, slots: int, threads: int) -> str:
    return _NUMBERED.format(run=run, threads=threads, per_thread=slots // threads)


def _lua_list(numbers: list[int]) -> str:
    return "{" + ",".join(str(n) for n in numbers) + "}"


def _lua_strings(texts: list[str]) -> str:
    return "{" + ",".join(json.dumps(t) for t in texts) + "}"


def get(url: str, clients: int, seconds: int, threads: int = 2) -> WrkResult:
    """GET ``url`` for ``seconds`` over ``clients`` kept-alive connections."""
    return _wrk(url, _GET, clients, seconds, threads)


def get_each(
    base: str, paths: list[str], clients: int, seconds: int, threads: int = 2
) -> WrkResult:
    """GET ``paths`` in turn (each thread from the first) for ``seconds``."""
    if len(paths) == 1:
        return get(base + paths[0], clients, seconds, threads)
    return _wrk(base, get_script(paths), clients, seconds, threads)


def _wrk(url: str, script: str, clients: int, seconds: int, threads: int) -> WrkResult:
    return start(url, script, clients, seconds, threads).result()


def get_script(paths: list[str]) -> str:
    """The Lua of :func:`get_each` (GET ``paths`` in turn), for :func:`start`."""
    return _GET + _EACH.format(paths="{" + ",".join(json.dumps(p) for p in paths) + "}")


@dataclass
class Running:
    """A wrk process under way (see :func:`start`); :meth:`result` waits for its figures."""

    process: subprocess.Popen[str]
    folder: tempfile.TemporaryDirectory[str]
    seconds: int

    def result(self) -> WrkResult:
        """Wait for wrk to finish and read what it printed."""
        try:
            out, err = self.process.communicate(timeout=self.seconds + TIMEOUT + 60)
        finally:
            self.folder.cleanup()
        # A Lua error shows on stderr, and done() then prints nothing of ours.
        return _parse(out + (f"\nwrk's errors:\n{err}" if err.strip() else ""))


def start(url: str, script: str, clients: int, seconds: int, threads: int = 2) -> Running:
    """Start wrk with ``script`` (Lua: statuses are counted by the common tail) and return at
    once, so several runs can go on together (one per operation of a mixed load)."""
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "load.lua"
    path.write_text(script + _TAIL)
    # wrk gives up on a request after 2 s by default and counts it as a socket error; wait as
    # long as the httpx client of bench/harness.py does (30 s), so a slow answer is timed.
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{clients}",
        f"-d{seconds}s",
        f"--timeout={TIMEOUT}s",
        "-s",
        str(path),
        url,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return Running(process, folder, seconds)


def _parse(out: str) -> WrkResult:
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    # wrk writes the duration with a unit of its choice: "15.10s", "850.00ms", "1.00m" (a run
    # of a minute or more).
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", out)
    assert done is not None, out
    elapsed = float(done.group(2)) * _SECONDS[done.group(3)]
    p50, p95, p99 = (float(x) for x in _find(r"PERCENTILES (\S+ \S+ \S+)", out).split())
    statuses = {
        int(code): int(n) for code, n in re.findall(r"(\d+)x(\d+)", _find(r"STATUSES ?(.*)", out))
    }
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        statuses[0] = sum(int(n) for n in re.findall(r"\d+", errors.group(1)))
    overflow = re.search(r"OVERFLOW (\d+)", out)
    return WrkResult(
        rate,
        p50,
        p95,
        p99,
        statuses,
        int(done.group(1)),
        elapsed,
        int(overflow.group(1)) if overflow else 0,
    )


_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"wrk printed no {pattern!r}:\n{text}"
    return found.group(1)
