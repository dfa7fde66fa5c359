"""bench/medians.py reads every bench's figure lines, growth.py's stages included."""

from __future__ import annotations

from pathlib import Path

from bench.medians import read_run, table

GROWTH = """\
load average at start: 1.04 1.60 1.59; CPU probe: 87 ms (a fixed Python loop, lower is faster)
10,000 bookings (+10 per machine, COPY and ANALYZE in 0 s); load average: 1.04; CPU probe: 92 ms
  resource week                  {week:.1f} req/s  p50    13.8  p95    92.6  p99   {p99:.1f} ms  (x)
  place day                      1393.5 req/s  p50    21.2  p95    38.2  p99    51.1 ms  (x)
1,000,000 bookings (+900 per machine, COPY and ANALYZE in 40 s); load average: 1.5
  resource week                  1900.0 req/s  p50    15.0  p95    30.0  p99    40.0 ms  (x)
p99 (ms) by bookings stored, 2 workers, 32 connections:
  bookings                        10,000   max/min
  resource week                    503.3      1.00
"""


def test_each_stage_of_growth_is_its_own_figure(tmp_path: Path) -> None:
    old, new = tmp_path / "old.out", tmp_path / "new.out"
    old.write_text(GROWTH.format(week=2000.0, p99=500.0))
    new.write_text(GROWTH.format(week=2100.0, p99=50.0))
    run = read_run(old)
    assert run.probe == 87
    assert list(run.figures) == [
        "10,000 bookings: resource week",
        "10,000 bookings: place day",
        "1,000,000 bookings: resource week",
    ]
    assert run.figures["10,000 bookings: resource week"]["p99"] == 500.0
    lines = table([run], [read_run(new)])
    assert any(line.startswith("10,000 bookings: resource week") for line in lines)
    assert "of 9 figures counted (req/s, p50, p99): 2 better, 7 the same, 0 worse" in "\n".join(
        lines
    )


def test_a_figure_line_of_the_other_benches_keeps_its_label(tmp_path: Path) -> None:
    out = tmp_path / "throughput.out"
    out.write_text(
        "API 1 worker, 8 conns           858.0 req/s  p50     9.3  p95    14.1  p99    18.0 ms\n"
        "                             API/raw: 0.63; CPU per request: app 0.96 ms, PostgreSQL"
        " 0.71 ms\n"
    )
    figures = read_run(out).figures
    assert figures == {
        "API 1 worker, 8 conns": {
            "req/s": 858.0,
            "p50": 9.3,
            "p95": 14.1,
            "p99": 18.0,
            "app CPU": 0.96,
            "PG CPU": 0.71,
        }
    }


SUITE = """\
suite: throughput.py
raw asyncpg, 8 clients         1500.0 req/s  p50     5.0  p95     7.0  p99     9.0 ms  (x)
API 1 worker, 8 conns           {rate:.1f} req/s  p50     9.3  p95    14.1  p99    18.0 ms  (x)
suite: growth.py
10,000 bookings (+10 per machine); load average: 1.04
  resource week                  2000.0 req/s  p50    13.8  p95    92.6  p99    50.0 ms  (x)
suite: mixed.py
resource week (64 conns)        300.0 req/s  p50    90.0  p95   150.0  p99   200.0 ms  (x)
"""


def test_a_suites_figures_are_labelled_with_their_script(tmp_path: Path) -> None:
    old, new = tmp_path / "old.out", tmp_path / "new.out"
    old.write_text(SUITE.format(rate=800.0))
    new.write_text(SUITE.format(rate=900.0))
    assert list(read_run(old).figures) == [
        "throughput: raw asyncpg, 8 clients",
        "throughput: API 1 worker, 8 conns",
        "growth: 10,000 bookings: resource week",
        "mixed: resource week (64 conns)",
    ]
    summary = "\n".join(table([read_run(old)], [read_run(new)]))
    # The machine's line is shown, not counted, behind the script's name too.
    assert "throughput: raw asyncpg, 8 clients" in summary
    assert "of 9 figures counted (req/s, p50, p99): 1 better, 8 the same, 0 worse" in summary
