"""Benchmark blocks are filed by their UTC day and listed in bench/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.results_files import file_block

LATE = """\
## 2026-12-06 23:58 UTC — throughput.py, aaa against bbb — issue 18: before midnight

```
keyed bookings  900 req/s  p50 8.0  p95 9.0  p99 12.0 ms
```
"""
EARLY = """\
## 2026-12-07 00:03 UTC — mixed.py

- commit: ccc

## 2026-12-07 00:09 UTC — growth.py — a second section of one block
"""


def test_each_section_goes_to_its_days_file_and_the_index_lists_it(tmp_path: Path) -> None:
    """A block crossing midnight lands in two files, each appended, and the index names both."""
    assert file_block(LATE, tmp_path) == [tmp_path / "results" / "2026-12-06.md"]
    assert file_block(EARLY, tmp_path) == [tmp_path / "results" / "2026-12-07.md"]

    sixth = (tmp_path / "results" / "2026-12-06.md").read_text(encoding="utf-8")
    seventh = (tmp_path / "results" / "2026-12-07.md").read_text(encoding="utf-8")
    assert sixth == "# Benchmark results of 6 December 2026 (UTC)\n\n" + LATE
    assert seventh == "# Benchmark results of 7 December 2026 (UTC)\n\n" + EARLY

    index = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    listing = index[index.index("## 6 December") :]
    assert listing.splitlines() == [
        "## 6 December 2026: [`results/2026-12-06.md`](results/2026-12-06.md)",
        "",
        "- 23:58 — throughput.py, aaa against bbb",
        "",
        "## 7 December 2026: [`results/2026-12-07.md`](results/2026-12-07.md)",
        "",
        "- 00:03 — mixed.py",
        "- 00:09 — growth.py",
    ]


def test_a_later_block_of_the_same_day_is_appended(tmp_path: Path) -> None:
    """Blocks are never rewritten: a second block of a day follows the first."""
    file_block(EARLY, tmp_path)
    again = EARLY.replace("00:03", "10:00").replace("00:09", "10:07")
    file_block(again, tmp_path)
    seventh = (tmp_path / "results" / "2026-12-07.md").read_text(encoding="utf-8")
    assert seventh.endswith(EARLY + again)
    assert "- 10:07 — growth.py" in (tmp_path / "RESULTS.md").read_text(encoding="utf-8")


def test_a_block_without_its_heading_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    """Figures with no dated heading have no day to go to."""
    with pytest.raises(ValueError, match="heading"):
        file_block("keyed bookings  900 req/s\n" + LATE, tmp_path)
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "RESULTS.md").exists()
