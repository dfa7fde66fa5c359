"""Median figures of several runs of one bench script, an older revision beside this one.

    python bench/medians.py --old OLD.out [OLD.out ...] --new NEW.out [NEW.out ...]

Reads the outputs that ``compare.sh --rounds N`` keeps (a bench script's stdout per run), takes
every figure line (``label  R req/s  p50 A  p95 B  p99 C ms``; growth.py's, indented under a
stage's line, are labelled with that stage's bookings; suite.py's with their script), and
prints one table: per label, the median of each side's runs for throughput, p50, p95 and p99,
and whether the new median is better, the same or worse. Throughput, p50 and p99 are counted
(what the issues compare); p95 is shown. Labels starting with "raw " measure the machine
(asyncpg with no app in between), not the code: shown, not counted. Where a run prints the CPU
per request under a figure line (the app's and PostgreSQL's, ``bench.harness.CpuUse``), their
medians are shown too, not counted. Exit status 0 whatever the figures say (they are not
asserted).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

FIGURE = re.compile(
    r"^(?P<indent>\s*)(?P<label>\S.*?)\s+(?P<rate>\d+(?:\.\d+)?) req/s"
    r"\s+p50\s+(?P<p50>\d+(?:\.\d+)?)\s+p95\s+(?P<p95>\d+(?:\.\d+)?)"
    r"\s+p99\s+(?P<p99>\d+(?:\.\d+)?) ms"
)
PROBE = re.compile(r"CPU probe: (\d+) ms")
# suite.py prints each script's output under a line naming the script.
SCRIPT = re.compile(r"^suite: (?P<script>\S+)\.py$")
# growth.py prints each stage's figures indented under a line naming the bookings stored.
STAGE = re.compile(r"^(?P<stage>\d[\d,]* bookings)\b")
# The line the benches print under a figure line (bench.harness.CpuUse).
CPU = re.compile(
    r"CPU per request: app (?P<app>\d+(?:\.\d+)?) ms, PostgreSQL (?P<pg>\d+(?:\.\d+)?) ms"
)
# Figure name -> whether a higher value is better.
FIGURES = {"req/s": True, "p50": False, "p95": False, "p99": False}
# Shown when the runs print them, never counted: CPU per request, of the app and of PostgreSQL.
CPU_FIGURES = {"app CPU": False, "PG CPU": False}
COUNTED = ("req/s", "p50", "p99")
HIGHER_IS_BETTER = FIGURES | CPU_FIGURES
MARKS = {"better": "+", "same": "=", "worse": "-"}


@dataclass(frozen=True)
class Run:
    """One run's figures by label, and its CPU probe."""

    figures: dict[str, dict[str, float]]
    probe: int | None


def read_run(path: Path) -> Run:
    """The figure lines and CPU probe of one bench output."""
    figures: dict[str, dict[str, float]] = {}
    probe = None
    label = None
    script = stage = None
    for line in path.read_text().splitlines():
        if probe is None and (found := PROBE.search(line)):
            probe = int(found.group(1))
        if section := SCRIPT.match(line):
            script, stage = section["script"], None
        if heading := STAGE.match(line):
            stage = heading["stage"]
        if match := FIGURE.match(line):
            label = match["label"]
            if match["indent"] and stage is not None:
                label = f"{stage}: {label}"
            if script is not None:
                label = f"{script}: {label}"
            figures[label] = {
                "req/s": float(match["rate"]),
                "p50": float(match["p50"]),
                "p95": float(match["p95"]),
                "p99": float(match["p99"]),
            }
        elif label is not None and (cpu := CPU.search(line)):
            figures[label] |= {"app CPU": float(cpu["app"]), "PG CPU": float(cpu["pg"])}
    return Run(figures, probe)


def medians(runs: list[Run], label: str) -> dict[str, float] | None:
    """Each figure's median over the runs that have ``label`` (None if none has it)."""
    present = [run.figures[label] for run in runs if label in run.figures]
    if not present:
        return None
    found = {name: statistics.median(figures[name] for figures in present) for name in FIGURES}
    for name in CPU_FIGURES:
        if all(name in figures for figures in present):
            found[name] = statistics.median(figures[name] for figures in present)
    return found


def verdict(name: str, old: float, new: float) -> str:
    """'better', 'same' or 'worse' for one figure."""
    if new == old:
        return "same"
    return "better" if (new > old) == HIGHER_IS_BETTER[name] else "worse"


def table(old_runs: list[Run], new_runs: list[Run]) -> list[str]:
    """The medians side by side, then the count of counted figures better / same / worse."""
    labels = list(dict.fromkeys(label for run in old_runs + new_runs for label in run.figures))
    width = max((len(label) for label in labels), default=5)
    lines = [
        f"{'figure':<{width}}  " + "  ".join(f"{name:>22}" for name in FIGURES),
        f"{'':<{width}}  " + "  ".join(f"{'old → new':>22}" for _ in FIGURES),
    ]
    tally = {"better": 0, "same": 0, "worse": 0}
    worse: list[str] = []
    for label in labels:
        old, new = medians(old_runs, label), medians(new_runs, label)
        if old is None or new is None:
            lines.append(f"{label:<{width}}  (only on the {'new' if old is None else 'old'} side)")
            continue
        cells = []
        counted = not label.rpartition(": ")[2].startswith("raw ")  # after suite.py's prefix
        for name in FIGURES:
            found = verdict(name, old[name], new[name])
            cells.append(f"{old[name]:9.1f} → {new[name]:7.1f} {MARKS[found]}")
            if counted and name in COUNTED:
                tally[found] += 1
                if found == "worse":
                    worse.append(f"{label} {name} {old[name]:.1f} → {new[name]:.1f}")
        for name in CPU_FIGURES:
            if name in old and name in new:
                mark = MARKS[verdict(name, old[name], new[name])]
                cells.append(f"{name} {old[name]:.2f} → {new[name]:.2f} {mark}")
        lines.append(
            f"{label:<{width}}  "
            + "  ".join(f"{cell:>22}" for cell in cells)
            + ("" if counted else "  (the machine, not counted)")
        )
    counted_total = sum(tally.values())
    lines.append("")
    lines.append(
        f"medians of {len(old_runs)} old and {len(new_runs)} new runs; of {counted_total} "
        f"figures counted ({', '.join(COUNTED)}): {tally['better']} better, {tally['same']} "
        f"the same, {tally['worse']} worse (+ better, = same, - worse)"
    )
    lines.extend(f"worse: {item}" for item in worse)
    return lines


def main() -> int:
    """Print the table of medians for the runs given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", nargs="+", type=Path, required=True, help="old runs' outputs")
    parser.add_argument("--new", nargs="+", type=Path, required=True, help="new runs' outputs")
    parser.add_argument(
        "--order", nargs="*", default=[], help="the runs' sides in the order they ran (old/new)"
    )
    arguments = parser.parse_args()
    old_runs = [read_run(path) for path in arguments.old]
    new_runs = [read_run(path) for path in arguments.new]
    for line in table(old_runs, new_runs):
        print(line)
    probes = {"old": iter(old_runs), "new": iter(new_runs)}
    if arguments.order:
        order = ", ".join(f"{side} {next(probes[side]).probe or '?'}" for side in arguments.order)
        print(f"CPU probe (ms) at each run's start, in the order they ran: {order}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
