"""Open minutes of a resource: its place's open spans less its blackouts (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from resources.hours import merge_spans
from resources.schedule import Span


def open_minutes(open_spans: Sequence[Span], blackouts: Sequence[Span]) -> int:
    """Whole minutes inside ``open_spans`` and outside every blackout."""
    closed = merge_spans(blackouts)
    seconds = 0.0
    for span in merge_spans(open_spans):
        seconds += (span.end - span.start).total_seconds()
        for blackout in closed:
            start, end = max(span.start, blackout.start), min(span.end, blackout.end)
            if end > start:
                seconds -= (end - start).total_seconds()
    return int(seconds // 60)
