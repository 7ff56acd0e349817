"""``le.explore``'s progress in a notebook: a bar and a line of numbers (events per
second, schedules tried, what was found so far), updated while the search runs, and
the result's summary once it is done.

The explorer (``luminous_edu.explore``) never imports this module: ``luminous_edu``
plugs ``notebook_progress`` in as the explorer's display, and it answers None outside
a Jupyter kernel, so a search in a terminal or a test shows nothing.
"""

from __future__ import annotations

import sys
from html import escape

from ..explore.search import Progress


def notebook_progress() -> ExploreProgress | None:
    """A progress display for one search, if this is a Jupyter kernel; else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return ExploreProgress()


class ExploreProgress:
    """A bar and a line of numbers, shown at the first report and updated in place."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        self.bar = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, description="exploring", bar_style="info"
        )
        self.text = widgets.HTML(value="")
        self.box = widgets.VBox([self.bar, self.text])
        self.box.add_class("luminous-explore-progress")
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        if not self.shown:
            from IPython.display import display

            display(self.box)  # type: ignore[no-untyped-call]
            self.shown = True
        self.bar.value = progress.done_fraction
        self.bar.description = progress.phase
        if progress.phase == "done":
            found = progress.result is not None and progress.result.found
            self.bar.value = 1.0
            self.bar.bar_style = "danger" if found else "success"
        self.text.value = _line(progress)


def _line(progress: Progress) -> str:
    numbers = (
        f"{progress.schedules:,} schedules, {progress.events:,} events, "
        f"{progress.events_per_s:,.0f} events/s, {progress.elapsed_s:.1f} s"
    )
    numbers = f"<span style='font-family:monospace'>{escape(numbers)}</span>"
    return f"{numbers}<br>{escape(progress.best)}"
