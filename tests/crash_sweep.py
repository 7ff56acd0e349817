"""The crash-point sweep: every scenario, with a crash at every point that can matter.

A *scenario* is a recorded run (``cluster.export()``) of a scenario script
(tests/scripts/*.txt) or of a gallery scenario (``luminous_edu.sim.scenarios``), played
with the correct default storage. The sweep plays each one again many times, each time
with one fault added:

- a **power cut** after every disk operation in turn: ``cut_power(i, after_operations=k)``
  armed just before the step in which server i's disk performs its operation number k,
  so the power goes in the middle of that storage call; the server restarts at once;
- a **crash and restart** of every running server at every step.

Each run is checked the way the cluster checks itself: the Figure 3 properties after
every step, durability on every restart (what the storage handler recovered against
what it had acknowledged), and every completed read against the commit index when it
was asked ("Linearizable Reads"). A *variant* plays a scenario with other options:
``CQ_LEASES`` turns on CheckQuorum and lease reads.

After the fault the run no longer follows the recording, so the rest of the scenario is
played *loosely*: recorded steps become ``step()``, recorded inputs are made again at
their recorded time through the public API (a proposal, a partition, a read...), and an
input that no longer fits (a message no longer in flight, a crash of a server that is
already down) is left out. A failure prints the scenario, the variant and the fault.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from script_runner import Runner, ScriptError, parse

import luminous_edu as le
from luminous_edu.sim.scenarios import SCENARIOS, bug_scenario

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.txt"))

#: Options of a variant, applied over the recorded cluster's options.
AS_RECORDED: dict[str, Any] = {}
CQ_LEASES: dict[str, Any] = {"check_quorum": True, "lease_reads": True}

#: Virtual time a run goes on after its last recorded action, so that what a fault
#: started (an election, a catch-up, a read) can finish and be checked.
SETTLE_MS = 600

_OPTIONS = (
    "servers",
    "seed",
    "election_timeout_ms",
    "heartbeat_interval_ms",
    "leader_noop",
    "prevote",
    "check_quorum",
    "membership",
    "single_change_bug",
    "snapshot_threshold",
    "lease_reads",
    "clock_drift_bound",
)


@dataclass(frozen=True)
class Scenario:
    """A recorded run to play again: its name, cluster options and actions."""

    name: str
    options: dict[str, Any]
    actions: list[list[Any]]

    @classmethod
    def of(cls, name: str, cluster: le.Cluster) -> Scenario:
        record = cluster.export()
        config = record["config"]
        options = {key: config[key] for key in _OPTIONS}
        options["election_timeout_ms"] = tuple(options["election_timeout_ms"])
        network = config["network"]
        options["network"] = le.Network(
            tuple(network["delay_ms"]), network["drop_rate"], network["duplicate_rate"]
        )
        if config["disk_faults"] is not None:
            options["disk_faults"] = config["disk_faults"]
        return cls(name, options, record["actions"] + [["until", record["now"]]])


@dataclass(frozen=True)
class Fault:
    """Before step ``step``: a power cut in server ``server`` after ``operations`` more
    disk operations, or (``operations`` None) a crash and restart of it."""

    step: int
    server: int
    operations: int | None = None

    def __str__(self) -> str:
        if self.operations is None:
            return f"crash and restart S{self.server} before step {self.step}"
        return (
            f"cut the power of S{self.server} after {self.operations} disk operations "
            f"of step {self.step}"
        )


@dataclass
class Played:
    """One run of a scenario: the cluster at its end, and per step the disk operations
    each server had carried out by then (for finding crash points)."""

    cluster: le.Cluster
    operations: list[dict[int, int]] = field(default_factory=list)
    events: dict[int, str] = field(default_factory=dict)  # fire/drop action -> event


def scenarios() -> Iterator[Scenario]:
    """Every cluster each scenario script builds, then every gallery scenario (played
    with the correct ``DiskStorage``)."""
    for path in SCRIPTS:
        runner = Runner()
        for block in parse(path.read_text(), path.name):
            # A command may fail on purpose: the script shows its error.
            with contextlib.suppress(ScriptError, le.LuminousError, TypeError, ValueError):
                runner.run(block.command)
        for number, cluster in enumerate(runner.clusters):
            yield Scenario.of(f"{path.stem}#{number + 1}", cluster)
    for name in SCENARIOS:
        yield Scenario.of(f"gallery:{name}", bug_scenario(name, le.DiskStorage))


def play(
    scenario: Scenario,
    variant: dict[str, Any],
    fault: Fault | None = None,
    events: dict[int, str] | None = None,
    count_operations: bool = False,
) -> Played:
    """Play ``scenario`` with ``variant``'s options, adding ``fault``."""
    cluster = le.Cluster(**{**scenario.options, **variant})
    played = Played(cluster)
    recorded = {} if events is None else events
    restart_after: int | None = None

    def after_step() -> None:
        nonlocal restart_after
        if count_operations:
            played.operations.append(_operations(cluster))
        if restart_after is not None and not cluster.servers[restart_after].alive:
            sid, restart_after = restart_after, None
            cluster.restart(sid)

    def before_step() -> None:
        nonlocal restart_after
        if fault is None or cluster.step_count != fault.step - 1:
            return
        if fault.server not in cluster.ids or not cluster.servers[fault.server].alive:
            return
        if fault.operations is None:
            cluster.crash(fault.server)
            cluster.restart(fault.server)
        else:
            cluster.cut_power(fault.server, fault.operations)
            restart_after = fault.server

    if count_operations:
        played.operations.append(_operations(cluster))
    for number, action in enumerate(scenario.actions):
        kind, args = action[0], action[1:]
        if kind == "next":
            for _ in range(args[0]):
                before_step()
                if cluster.step() is None:
                    break
                after_step()
            continue
        at = args[-1]
        if at > cluster.now:
            _run_to(cluster, at, before_step, after_step)
        if kind == "until":
            continue
        before_step()
        before = cluster.step_count
        _make_input(cluster, number, kind, args[:-1], recorded, played.events)
        if cluster.step_count != before:
            after_step()
    _run_to(cluster, cluster.now + SETTLE_MS, before_step, after_step)
    return played


def _run_to(
    cluster: le.Cluster, at: int, before_step: Callable[[], None], after_step: Callable[[], None]
) -> None:
    """``cluster.run(at - now)``, one step at a time so that a fault can come between."""
    while True:
        pending = cluster.pending()
        if not pending or pending[0].due > at:
            break
        before_step()
        cluster.step()
        after_step()
    if at > cluster.now:
        cluster.run(at - cluster.now)


def _make_input(
    cluster: le.Cluster,
    number: int,
    kind: str,
    args: list[Any],
    recorded: dict[int, str],
    seen: dict[int, str],
) -> None:
    """Make recorded input ``kind`` again through the public API, if it still fits."""
    try:
        if kind == "propose":
            cluster.propose(args[0], server=args[1])
        elif kind in ("fire", "drop"):
            event = _matching_event(cluster, args[0], recorded.get(number))
            if event is not None:
                seen[number] = event.describe()
                getattr(cluster, kind)(event.id)
        elif kind in ("crash", "restart", "timeout", "disconnect", "connect"):
            getattr(cluster, kind)(args[0])
        elif kind == "cut_power":
            cluster.cut_power(args[0], args[1])
        elif kind == "read":
            cluster.read(lambda machine: len(machine.values), server=args[1])
        elif kind == "transfer":
            cluster.transfer_leadership(to=args[1])
        elif kind == "member":
            getattr(cluster, args[0])(args[2])
        elif kind == "partition":
            cluster.partition(*(set(group) for group in args[0]))
        elif kind == "heal":
            cluster.heal()
        elif kind == "network":
            cluster.network = le.Network(tuple(args[0]), args[1], args[2])
        else:
            raise AssertionError(f"the sweep does not know the recorded input {kind!r}")
    except le.LuminousError:
        pass  # the input no longer fits this run (a server down, a message gone...)


def _matching_event(cluster: le.Cluster, event_id: int, wanted: str | None) -> Any:
    pending = cluster.pending()
    for event in pending:
        if event.id == event_id and wanted in (None, event.describe()):
            return event
    for event in pending:
        if event.describe() == wanted:
            return event
    return None


def _operations(cluster: le.Cluster) -> dict[int, int]:
    stats = {i: cluster.disk_stats(i) for i in cluster.ids}
    return {i: s["writes"] + s["syncs"] for i, s in stats.items()}


def power_cuts(base: Played) -> Iterator[Fault]:
    """A power cut after every disk operation of every server, in turn."""
    counts = base.operations
    for step in range(1, len(counts)):
        for sid, done in counts[step].items():
            before = counts[step - 1].get(sid, 0)
            for k in range(done - before):
                yield Fault(step, sid, k)


def restarts(base: Played) -> Iterator[Fault]:
    """A crash and restart of every server before every step."""
    for step in range(1, len(base.operations)):
        for sid in base.operations[step - 1]:
            yield Fault(step, sid)


@dataclass
class Report:
    runs: int = 0
    power_cuts: int = 0
    restarts: int = 0
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.runs} runs: {self.power_cuts} power cuts, {self.restarts} crash-restarts, "
            f"{len(self.failures)} runs with violations"
        )


def sweep(
    chosen: list[Scenario],
    variants: dict[str, dict[str, Any]],
    power_cut_share: float = 1.0,
    restart_share: float = 1.0,
    seed: int = 0,
) -> Report:
    """Play every scenario of ``chosen`` in every variant with every fault, or with a
    random share of the power cuts and of the crash-restarts (drawn with ``seed``)."""
    report = Report()
    rng = random.Random(seed)
    for scenario in chosen:
        for name, variant in variants.items():
            try:
                base = play(scenario, variant, count_operations=True)
            except le.LuminousError:
                continue  # the variant's options do not fit this scenario's cluster
            report.runs += 1
            _note(report, scenario, name, None, base.cluster)
            chosen_faults = [
                fault
                for share, faults in (
                    (power_cut_share, power_cuts(base)),
                    (restart_share, restarts(base)),
                )
                for fault in faults
                if share >= 1.0 or (share > 0 and rng.random() < share)
            ]
            for fault in chosen_faults:
                run = play(scenario, variant, fault, events=base.events)
                report.runs += 1
                if fault.operations is None:
                    report.restarts += 1
                else:
                    report.power_cuts += 1
                _note(report, scenario, name, fault, run.cluster)
    return report


def _note(
    report: Report, scenario: Scenario, variant: str, fault: Fault | None, cluster: le.Cluster
) -> None:
    found = cluster.check()
    if found or cluster.errors:
        what = "no fault" if fault is None else str(fault)
        problems = [str(v) for v in found] + [str(e).splitlines()[0] for e in cluster.errors]
        report.failures.append(f"{scenario.name} ({variant}), {what}: {'; '.join(problems)}")
