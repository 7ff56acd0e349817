"""The explorer's progress display (viz/explorer.py): quiet outside a notebook; in one,
a bar and a line that follow the search and end with its outcome."""

from __future__ import annotations

import luminous_edu as le
from luminous_edu.explore.search import DISPLAY, Progress
from luminous_edu.viz.explorer import ExploreProgress, notebook_progress


def test_outside_a_kernel_there_is_no_display() -> None:
    assert notebook_progress() is None
    assert DISPLAY is not None and DISPLAY() is None  # le.explore(progress=True) is quiet


def test_the_bar_and_the_line_follow_the_search_to_its_outcome() -> None:
    display = ExploreProgress()
    seen: list[Progress] = []

    def report(progress: Progress) -> None:
        seen.append(progress)
        display(progress)
        assert display.bar.value == (1.0 if progress.phase == "done" else progress.done_fraction)
        assert display.bar.description == progress.phase
        assert f"{progress.schedules:,} schedules" in display.text.value

    result = le.explore(
        bugs={"vote_twice"}, seed=0, budget_steps=20_000, processes=1, progress=report
    )
    assert result.found and display.shown
    assert seen[-1].phase == "done" and display.bar.bar_style == "danger"
    assert "Election Safety broken" in display.text.value
    assert "luminous-explore-progress" in display.box._dom_classes
