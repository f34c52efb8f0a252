"""What a chart shows, as the templates draw it: a title, labels along one axis, and one or more
series of numbers. The page renders each as a table (its text alternative, and the figures the
chart script reads) beside a canvas the script draws on."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["Chart", "Series"]

Kind = Literal["line", "bar", "stacked", "doughnut"]


class Series(msgspec.Struct, frozen=True):
    """One named row of numbers, one per label."""

    name: str
    values: list[float | None]
    """None: no figure for that label (a week not reached yet), a gap in the chart."""


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    """A chart and its table: `labels` name the rows, each series is a column."""

    id: str
    title: str
    kind: Kind
    label_heading: str
    labels: list[str]
    series: list[Series]
    unit: str = ""
    note: str = ""
    digits: int = 0
    """Decimals shown in the table."""

    @property
    def empty(self) -> bool:
        """Nothing to draw: no labels, or only zeros."""
        return not self.labels or not any(v for s in self.series for v in s.values)
