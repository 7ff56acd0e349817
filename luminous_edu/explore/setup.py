"""What a search explores: the clusters it builds, and how a schedule replays on one.

A ``Setup`` is everything a worker process needs to build the same clusters as the
process that started the search: the number of servers, the bugs switched on and the
other cluster options. It is small and picklable, and it prints the ``le.Cluster(...)``
call that builds one of its clusters (``to_python``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sim import Cluster, Network
from .schedule import Call, Choice, replay


@dataclass(frozen=True)
class Setup:
    servers: int
    bugs: frozenset[str]
    options: Mapping[str, Any] = field(default_factory=dict)
    membership_changes: bool = False

    @property
    def early_timers(self) -> bool:
        """May a timer fire before its time? Not with lease reads, whose safety rests on
        timers keeping time (thesis §6.4.1); elsewhere Raft's safety never does."""
        return not self.options.get("lease_reads", False)

    def build(self, seed: int) -> Cluster:
        """A new cluster of this setup, from cluster seed ``seed``."""
        return Cluster(servers=self.servers, seed=seed, bugs=self.bugs, **self.options)

    def replay(
        self, seed: int, choices: Sequence[Choice]
    ) -> tuple[Cluster, list[Choice], list[Call]]:
        """``choices`` on a new cluster from ``seed``, up to the first violation."""
        return replay(lambda: self.build(seed), choices)

    def cluster_call(self, seed: int) -> str:
        """The ``le.Cluster(...)`` call that builds this setup's cluster from ``seed``."""
        arguments = [f"servers={self.servers}", f"seed={seed}"]
        if self.bugs:
            names = ", ".join(repr(b) for b in sorted(self.bugs))
            arguments.append(f"bugs={{{names}}}")
        arguments += [f"{name}={python_value(value)}" for name, value in self.options.items()]
        return f"le.Cluster({', '.join(arguments)})"


def python_value(value: Any) -> str:
    """``value`` as Python source a notebook cell can run after ``import luminous_edu
    as le`` (a class by its name: define it in the notebook first)."""
    if isinstance(value, Network):
        return (
            f"le.Network(delay_ms={value.delay_ms!r}, drop_rate={value.drop_rate!r}, "
            f"duplicate_rate={value.duplicate_rate!r})"
        )
    if isinstance(value, type):
        return value.__qualname__
    return repr(value)
