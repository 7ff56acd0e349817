"""What ``le.explore`` found: the counterexample, shrunk, ready to replay.

``ExploreResult`` says whether a violation was ``found``, which (``violation``), after
how many ``steps`` of the schedule that found it and how many are left after shrinking
(``shrunk_steps``). ``replay()`` rebuilds the cluster at the violation, for the
dashboard (``result.replay().show()``); ``to_python()`` is a notebook cell of plain
``le.Cluster`` calls that does the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..check import Violation
from ..errors import LuminousError
from ..sim import Cluster
from .schedule import Call, Choice
from .setup import Setup


@dataclass
class SearchStats:
    """How the search went: schedules tried, events (cluster steps) taken, wall time
    and the events per second it made, how many schedules made a switched-on bug fire
    (its ``BUG.<name>`` trace event), and the processes it ran in."""

    schedules: int = 0
    events: int = 0
    elapsed_s: float = 0.0
    bug_fired: int = 0
    processes: int = 1
    shrink_tests: int = 0
    shrink_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class ExploreResult:
    """The outcome of ``le.explore``. See the module docstring."""

    found: bool
    strategy: str
    seed: int
    setup: Setup
    stats: SearchStats
    violation: Violation | None = None
    steps: int = 0
    shrunk_steps: int = 0
    cluster_seed: int | None = None
    schedule: list[Choice] = field(default_factory=list)  # the shrunk schedule
    found_schedule: list[Choice] = field(default_factory=list)  # as found
    calls: list[Call] = field(default_factory=list)  # the shrunk schedule's calls
    budget: str = ""

    @property
    def bugs(self) -> frozenset[str]:
        return self.setup.bugs

    @property
    def servers(self) -> int:
        return self.setup.servers

    @property
    def schedules(self) -> int:
        return self.stats.schedules

    @property
    def events(self) -> int:
        return self.stats.events

    @property
    def events_per_s(self) -> float:
        return self.stats.events_per_s

    def replay(self) -> Cluster:
        """A new cluster that replays the shrunk counterexample: it stands at the
        violation, with the whole run in its history (``rewind``, ``show()``)."""
        if not self.found or self.cluster_seed is None:
            raise LuminousError(
                "this search found no violation, so there is nothing to replay; give it a "
                "larger budget_s (or budget_steps), another seed or strategy, or switch "
                "on a bug (bugs={'vote_twice'})"
            )
        cluster, _, _ = self.setup.replay(self.cluster_seed, self.schedule)
        return cluster

    def to_python(self) -> str:
        """A notebook cell that replays the shrunk counterexample with plain
        ``le.Cluster`` calls and shows the violations."""
        if not self.found or self.cluster_seed is None or self.violation is None:
            raise LuminousError("this search found no violation: there is no cell to write")
        what = ", ".join(sorted(self.bugs)) or "no bug switched on"
        lines = [
            "import luminous_edu as le",
            "",
            f"# le.explore(strategy={self.strategy!r}, seed={self.seed}) found this run ({what}),",
            f"# shrunk from {self.steps} to {self.shrunk_steps} steps. It breaks "
            f"{self.violation.property}.",
            f"c = {self.setup.cluster_call(self.cluster_seed)}",
            *(call.line("c") for call in self.calls),
            "c.violations",
        ]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        stats = self.stats
        searched = (
            f"{stats.schedules:,} schedules, {stats.events:,} events in {stats.elapsed_s:.1f} s "
            f"({stats.events_per_s:,.0f} events/s, {stats.processes} processes)"
        )
        bugs = ", ".join(sorted(self.bugs)) or "none"
        if not self.found:
            fired = f"; the bug fired in {stats.bug_fired:,} of them" if self.bugs else ""
            return (
                f"le.explore ({self.strategy}, seed {self.seed}, bugs: {bugs}) found no "
                f"violation in {searched}{fired}."
            )
        assert self.violation is not None
        return (
            f"le.explore ({self.strategy}, seed {self.seed}, bugs: {bugs}) found a violation "
            f"after {searched}: {self.violation.property}, in a schedule of {self.steps} "
            f"steps shrunk to {self.shrunk_steps} ({stats.shrink_tests} replays, "
            f"{stats.shrink_s:.1f} s). {self.violation.detail}."
        )

    def __repr__(self) -> str:
        text = self.summary()
        if self.found:
            text += "\n" + "\n".join(call.line("c") for call in self.calls)
            text += "\nreplay() rebuilds the cluster at the violation; to_python() prints a cell"
        return text

    def _repr_html_(self) -> str:
        colour = "#b00020" if self.found else "#1b5e20"
        head = "Violation found" if self.found else "No violation found"
        body = escape(self.summary())
        calls = ""
        if self.found:
            items = "".join(
                f"<li><code>{escape(call.line('c'))}</code></li>" for call in self.calls
            )
            calls = (
                f"<details><summary>The {self.shrunk_steps} steps</summary><ol>{items}</ol>"
                "</details><p><code>result.replay().show()</code> steps through it in the "
                "dashboard; <code>print(result.to_python())</code> prints it as a cell.</p>"
            )
        return (
            f'<div class="luminous-explore"><b style="color:{colour}">{head}</b>'
            f"<p>{body}</p>{calls}</div>"
        )

    def __eq__(self, other: Any) -> bool:  # compares what a search decides, not its timing
        if not isinstance(other, ExploreResult):
            return NotImplemented
        return self._key() == other._key()

    def _key(self) -> tuple[Any, ...]:
        return (
            self.found,
            self.strategy,
            self.seed,
            self.setup,
            self.violation,
            self.steps,
            self.cluster_seed,
            self.schedule,
            self.stats.schedules,
            self.stats.events,
        )

    __hash__ = None  # type: ignore[assignment]
