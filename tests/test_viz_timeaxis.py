"""The x axis of the timelines and the space-time diagram (``luminous_edu.viz.timeaxis``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from luminous_edu.viz.timeaxis import WINDOWS, TimeAxis, unit_of


@dataclass
class At:
    """Stands for a cluster: only its virtual time and step count matter here."""

    now: int
    step_count: int


def test_auto_counts_steps_when_time_stands_still() -> None:
    assert unit_of("auto", At(now=0, step_count=40)) == "step"  # manual scheduling at t=0
    assert unit_of("auto", At(now=12, step_count=40)) == "step"
    assert unit_of("auto", At(now=900, step_count=150)) == "time"  # a cluster that ran
    assert unit_of("auto", At(now=0, step_count=0)) == "time"
    assert unit_of("step", At(now=900, step_count=150)) == "step"
    with pytest.raises(ValueError, match="auto, time or step"):
        unit_of("ms", At(0, 0))


def test_the_window_follows_the_cursor_in_chunks() -> None:
    axis = TimeAxis()
    assert not axis.place(At(now=500, step_count=80))  # inside 0..1000: stays
    assert axis.place(At(now=950, step_count=150))  # past 90%: moves on
    assert (axis.start, axis.end) == (300.0, 1300.0)  # the cursor at 60%, in 100 ms chunks
    assert not axis.place(At(now=1000, step_count=160))


def test_a_pinned_window_stays_until_a_jump_leaves_it() -> None:
    axis = TimeAxis(pinned=True)
    axis.place(At(now=500, step_count=80))
    assert not axis.place(At(now=5000, step_count=800))  # Run goes on: it stays
    assert (axis.start, axis.end) == (0.0, 1000.0)
    assert axis.place(At(now=5000, step_count=800), jump=True)  # Back/seek: it follows
    assert axis.start <= 5000 <= axis.end
    assert not axis.place(At(now=4900, step_count=790), jump=True)  # still inside


def test_a_jump_back_brings_the_window_back() -> None:
    axis = TimeAxis()
    axis.place(At(now=8000, step_count=1200))
    assert axis.place(At(now=200, step_count=30), jump=True)  # Reset-like
    assert (axis.start, axis.end) == (0.0, 1000.0)


def test_the_unit_switch_and_wider_windows() -> None:
    axis = TimeAxis()
    assert axis.place(At(now=0, step_count=30))  # auto: steps now
    assert axis.unit == "step" and (axis.start, axis.end) == (0.0, float(WINDOWS[0][2] or 0))
    axis.window = len(WINDOWS) - 1  # all of it
    assert axis.place(At(now=0, step_count=300))
    assert axis.start == 0.0 and 300 <= axis.end <= 500
    end = axis.end
    assert not axis.place(At(now=0, step_count=301))  # grows in chunks, not every step
    assert axis.end == end
    assert axis.place(At(now=0, step_count=30), jump=True)  # and shrinks after a jump back
    assert axis.end < end
