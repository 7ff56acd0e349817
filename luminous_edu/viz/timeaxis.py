"""The x axis of the timelines and the space-time diagram: virtual time or steps.

Pure Python. Scenarios scripted step by step (manual fire and drop, the paper's Figure 8)
can take all their steps at one virtual time: drawn over virtual time their periods
and arrows have no length, and the plots look empty exactly when a lesson needs them.
So the axis can count steps instead. ``auto`` (the default) counts steps when the
cluster's virtual time is shorter than its number of steps (under a millisecond a step
on average: time mostly stands still), and virtual milliseconds otherwise; ``time``
and ``step`` force one.

The window shows a stretch of that axis and follows the cursor (the current time or
step): as the cluster moves on it jumps ahead in chunks, keeping the cursor between 10%
and 90% of it (rare range changes: each is a message to the browser). It can be
widened (``WINDOWS``, up to the whole history) or pinned; a pinned window stays put
while the cluster moves on, but a jump (Back, the slider, Reset, a seek) to a cursor
outside it brings it to the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sim import Cluster

AXES = (("auto", "auto"), ("virtual time", "time"), ("step", "step"))
#: Window widths, (label, virtual ms, steps); None is the whole history.
WINDOWS: tuple[tuple[str, int | None, int | None], ...] = (
    ("1 s / 50 steps", 1000, 50),
    ("5 s / 250 steps", 5000, 250),
    ("20 s / 1000 steps", 20_000, 1000),
    ("all", None, None),
)
#: Where the cursor lands in a window that moved to it (share of the width).
CURSOR_AT = 0.6


def unit_of(axis: str, cluster: Cluster) -> str:
    """``time`` or ``step``: what the x axis counts for ``axis`` (``auto``, ``time``,
    ``step``) on this cluster."""
    if axis in ("time", "step"):
        return axis
    if axis != "auto":
        raise ValueError(f"axis {axis!r}: choose auto, time or step")
    return "step" if cluster.now < cluster.step_count else "time"


@dataclass
class TimeAxis:
    """The axis's settings (``axis``, ``window``: an index into ``WINDOWS``, ``pinned``)
    and where its window is (``unit``, ``start``, ``end``)."""

    axis: str = "auto"
    window: int = 0
    pinned: bool = False
    unit: str = "time"
    start: float = 0.0
    end: float = 1000.0

    def cursor(self, cluster: Cluster) -> int:
        return cluster.step_count if self.unit == "step" else cluster.now

    def width(self) -> int | None:
        _label, ms, steps = WINDOWS[self.window]
        return steps if self.unit == "step" else ms

    def place(self, cluster: Cluster, jump: bool = False) -> bool:
        """Move the window for the cluster as it is now (``jump``: after a jump in
        history, not a step forward). True if the unit or the window changed."""
        unit = unit_of(self.axis, cluster)
        changed_unit = unit != self.unit
        self.unit = unit
        cursor = self.cursor(cluster)
        width = self.width()
        old = (self.start, self.end)
        if width is None:  # the whole history, grown in chunks of a quarter
            end = max(float(cursor), 10.0 if unit == "step" else 100.0)
            if changed_unit or end > self.end or end < 0.6 * self.end or self.start != 0:
                self.start, self.end = 0.0, _round_up(end * 1.25)
            return changed_unit or (self.start, self.end) != old
        low, high = self.start + 0.1 * width, self.start + 0.9 * width
        resized = self.end - self.start != width
        outside = not low <= cursor <= high
        follow = outside and (jump or (not self.pinned and cursor > high))
        if changed_unit or resized or follow:
            chunk = max(1, width // 10)
            start = max(0, int(cursor - CURSOR_AT * width) // chunk * chunk)
            if cursor < 0.1 * width:
                start = 0
            self.start, self.end = float(start), float(start + width)
        return changed_unit or (self.start, self.end) != old


def _round_up(value: float) -> float:
    """``value`` rounded up to 1, 2 or 5 times a power of ten (a tidy axis end)."""
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    for step in (1, 2, 5, 10):
        if value <= step * scale:
            return step * scale
    return 10 * scale
