"""File benchmark blocks by day in ``bench/results/`` and keep ``bench/RESULTS.md`` their index.

    python bench/results_files.py BLOCK_FILE

A block is what a bench script's ``--record`` or ``compare.sh --record`` writes: one or more
sections headed ``## YYYY-MM-DD HH:MM UTC — script — note``. Each goes to the file of its UTC
day, oldest first, and the index is written again from every day's file: a day, its file, and
each block's time and title, so that "bench/RESULTS.md, 7 December 13:12" finds its block.
Blocks are appended, never edited: a day's file is a record, as the one file before it was.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
INDEX = "RESULTS.md"
DAYS = "results"
HEADING = re.compile(r"^## (?P<day>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}) UTC — (?P<title>.*)$")
# A title's first part names the script (and the revisions compared); the note follows.
TITLE_SEPARATOR = " — "

PREAMBLE = """\
# Benchmark results

Blocks appended by the scripts of this directory when run with `--record` (see `README.md`),
filed by their UTC day in `results/` (one file a day, oldest block first) and listed below by
day and time. Each block is headed by the UTC date, the script and an optional note, and gives:

- machine: architecture (`uname -m`), cores, CPU model, and the load average when it started
  (figures taken with other work on the machine are not comparable);
- PostgreSQL and Python versions;
- commit: `git rev-parse --short HEAD`, "dirty" when the working tree had uncommitted changes;
- the command and its parameters;
- the figures, as printed (latencies in milliseconds, percentiles nearest-rank; "201x200" is
  200 answers with status 201, "errorxN" N requests without an answer: transport error or the
  client's 30-second timeout).

Only runs on a quiet machine count as results; a block noted "busy machine, smoke run" only
shows the scripts work. This index is written by `results_files.py` each time a block is
recorded; the blocks themselves are never edited.
"""


def file_block(text: str, bench: Path = BENCH) -> list[Path]:
    """Append each section of a block to its day's file, rewrite the index, return the files."""
    filed: list[Path] = []
    for day, section in _sections(text):
        path = bench / DAYS / f"{day}.md"
        path.parent.mkdir(exist_ok=True)
        if not path.exists():
            path.write_text(f"# Benchmark results of {_spelled(day)} (UTC)\n\n", encoding="utf-8")
        with path.open("a", encoding="utf-8") as out:
            out.write(section if section.endswith("\n") else section + "\n")
        if path not in filed:
            filed.append(path)
    write_index(bench)
    return filed


def write_index(bench: Path = BENCH) -> None:
    """Write bench/RESULTS.md: the preamble, then each day's file and its blocks' headings."""
    lines = [PREAMBLE]
    for path in sorted((bench / DAYS).glob("*.md")):
        lines.append(f"## {_spelled(path.stem)}: [`results/{path.name}`](results/{path.name})\n")
        for line in path.read_text(encoding="utf-8").splitlines():
            if heading := HEADING.match(line):
                script = heading["title"].split(TITLE_SEPARATOR, 1)[0]
                lines.append(f"- {heading['time']} — {script}")
        lines.append("")
    (bench / INDEX).write_text("\n".join(lines), encoding="utf-8")


def _sections(text: str) -> list[tuple[str, str]]:
    """Split a block at its headings; text before the first heading is refused."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        if heading := HEADING.match(line.rstrip("\n")):
            sections.append((heading["day"], [line]))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"a block starts with its '## YYYY-MM-DD HH:MM UTC' heading: {line!r}")
    return [(day, "".join(body)) for day, body in sections]


def _spelled(day: str) -> str:
    """2026-12-07 -> 7 December 2026."""
    when = date.fromisoformat(day)
    return f"{when.day} {when:%B %Y}"


def main(arguments: list[str]) -> int:
    """File the block held in the file named by the only argument."""
    if len(arguments) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for path in file_block(Path(arguments[0]).read_text(encoding="utf-8")):
        print(f"recorded in bench/results/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
