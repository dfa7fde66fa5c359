"""wrk as the load generator: a C client, so the Python server gets the machine's cores.

The httpx client of :mod:`bench.harness` costs about as much CPU per request as the server on
this 2-core machine, so it caps what it can measure. wrk (Debian's ``wrk`` package) drives the
same ``POST /api/bookings`` from a Lua script written per run: every request books a distinct
(machine, hour) slot of the SLOTS handed to that run, with one of the clients' tokens; statuses
are counted per thread and printed by the script, so a run with anything but 201 is seen. A
run never leaves its slots: the caller sizes them for a rate far above any it can reach, and
requests past them (which would ask for a slot twice) are counted apart ("overflow").
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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

_POST = """
local machines = {machines}
local tokens = {tokens}
local first = {first}
local threads_total = {threads}
local per_thread = {per_thread}  -- the run's slots: thread `id` gets n = id, id + threads, ...
local counter, id = 0, 0
local threads = {{}}
statuses = {{}}  -- a global: done() reads every thread's copy with thread:get
overflow = 0  -- requests past the thread's slots (they start again from its first one)

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  id = wrk.thread:get("id")
end

function request()
  if counter >= per_thread then overflow = overflow + 1 end
  local n = (counter % per_thread) * threads_total + id
  counter = counter + 1
  local machine = machines[(n % #machines) + 1]
  local starts = first + math.floor(n / #machines) * 3600
  local body = string.format(
    '{{"items":[{{"resource_id":%d,"quantity":1}}],"starts_at":"%s","ends_at":"%s"}}',
    machine, os.date("!%Y-%m-%dT%H:%M:%SZ", starts), os.date("!%Y-%m-%dT%H:%M:%SZ", starts + 3600))
  local headers = {{["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]}}
  return wrk.format("POST", "/api/bookings", headers, body)
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
    if slots < threads or len(machines) % threads:
        raise ValueError("each thread needs its own machines and at least one slot")
    script = _POST.format(
        machines="{" + ",".join(str(m) for m in machines) + "}",
        tokens="{" + ",".join(json.dumps(t) for t in tokens) + "}",
        first=int(first.timestamp()),
        threads=threads,
        per_thread=slots // threads,
    )
    return _wrk(base, script, clients, seconds, threads)


def get(url: str, clients: int, seconds: int, threads: int = 2) -> WrkResult:
    """GET ``url`` for ``seconds`` over ``clients`` kept-alive connections."""
    return _wrk(url, _GET, clients, seconds, threads)


def get_each(
    base: str, paths: list[str], clients: int, seconds: int, threads: int = 2
) -> WrkResult:
    """GET ``paths`` in turn (each thread from the first) for ``seconds``."""
    if len(paths) == 1:
        return get(base + paths[0], clients, seconds, threads)
    script = _GET + _EACH.format(paths="{" + ",".join(json.dumps(p) for p in paths) + "}")
    return _wrk(base, script, clients, seconds, threads)


def _wrk(url: str, script: str, clients: int, seconds: int, threads: int) -> WrkResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "load.lua"
        path.write_text(script + _TAIL)
        command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "-s", str(path), url]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    assert done is not None, out
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
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


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"wrk printed no {pattern!r}:\n{text}"
    return found.group(1)
