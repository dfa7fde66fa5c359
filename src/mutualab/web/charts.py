"""Bar charts drawn on the server as SVG (no script): where each bar goes, from its value.

The page shows every chart with its data table; the chart is a picture of that table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

# In SVG units: shown at most 30rem wide, about one unit a pixel on a phone.
WIDTH = 360
ROW = 40
BAR_AREA = 250  # the longest bar; the rest of the width holds its value


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, the value shown and its place in the SVG."""

    label: str
    shown: str
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class Chart:
    """Bars of one chart and the SVG's height."""

    bars: tuple[Bar, ...]
    width: int
    height: int


def bar_chart(rows: Sequence[tuple[str, int | Decimal | None, str]]) -> Chart:
    """Bars scaled to the largest value: (label, value, value as shown) each."""
    values = [Decimal(value or 0) for _, value, _ in rows]
    top = max(values, default=Decimal(0))
    bars = tuple(
        Bar(
            label=label,
            shown=shown,
            y=index * ROW,
            width=int(value * BAR_AREA / top) if top > 0 else 0,
        )
        for index, ((label, _, shown), value) in enumerate(zip(rows, values, strict=True))
    )
    return Chart(bars, WIDTH, max(ROW, len(bars) * ROW))
