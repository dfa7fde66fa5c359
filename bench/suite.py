"""Issue 18's figures in one run: each bench it names, one after the other, in one output.

    python bench/suite.py [--quick] [--record] [--note TEXT]
    bench/compare.sh --record --note TEXT PREVIOUS_MAIN suite.py

Runs throughput.py, availability.py, mixed.py, growth.py, bench_calendar.py and contention.py
with this interpreter, each with its defaults (``--quick`` passed on), and prints each
one's output under a line naming it (``suite: throughput.py``). Every script prints its own
CPU probe and load average beside its figures. ``medians.py`` labels each figure with the
script it came from, so ``compare.sh`` makes of it one block in which every figure of the
issue's "done means" stands old beside new, measured in one run. Exit status: 1 if a script
failed (its own exit status is printed), else 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.harness import add_common_arguments, machine, record

BENCH = Path(__file__).resolve().parent
# The scripts, in the order they run.
SCRIPTS = (
    "throughput.py",
    "availability.py",
    "mixed.py",
    "growth.py",
    "bench_calendar.py",
    "contention.py",
)
SECTION = "suite: "  # the line before each script's output (bench/medians.py reads it)


def run_script(name: str, quick: bool) -> tuple[list[str], int]:
    """One script's stdout lines (its progress goes to stderr as it runs) and exit status."""
    command = [sys.executable, str(BENCH / name), *(["--quick"] if quick else [])]
    began = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    took = time.monotonic() - began
    lines = [
        f"{SECTION}{name}",
        *done.stdout.splitlines(),
        f"({name}: exit status {done.returncode}, {took / 60:.1f} min)",
        "",
    ]
    return lines, done.returncode


def main() -> int:
    """Run every script of the suite, print their outputs, record them as one block if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    args = parser.parse_args()
    output: list[str] = []
    failed = []
    for name in SCRIPTS:
        print(f"suite.py: {name}", file=sys.stderr, flush=True)
        lines, status = run_script(name, args.quick)
        print("\n".join(lines), flush=True)
        output += lines
        if status != 0:
            failed.append(name)
    print(f"result: {'failed: ' + ', '.join(failed) if failed else 'OK (every script exit 0)'}")
    if args.record:
        scripts = ", ".join(SCRIPTS) + (", each with --quick" if args.quick else ", their defaults")
        record("suite.py", machine(), scripts, output, args.note)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
