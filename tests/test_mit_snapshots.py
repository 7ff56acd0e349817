"""The MIT 6.5840 Raft lab 3D tests (log compaction), re-expressed deterministically.

As in ``test_mit_scenarios.py``: each scenario is a function of a seed, time is
virtual, and ``scenario_helpers.Harness`` checks the safety properties after every
step. Here the cluster compacts its logs (``snapshot_threshold=SNAPSHOT_INTERVAL``,
MIT's ``SnapShotInterval``), and each server's state machine records every command it
applied with its index; its snapshot is that whole record (MIT's tester snapshots
``xlog``). So a server that installs a snapshot or restarts from one must still show
exactly the committed commands, in index order, with none missing. MIT's limit on the
persisted state size becomes a limit on the number of entries each log holds.

Run one scenario with another seed (MIT_SEEDS adds seeds to every scenario):
    MIT_SEEDS=123 .venv/bin/python -m pytest tests/test_mit_snapshots.py -k 'install and seed_123'
The seed sweeps: .venv/bin/python -m pytest tests/test_mit_snapshots.py -m slow
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from scenario_helpers import Harness, SeedScenarios

SNAPSHOT_INTERVAL = 10  # MIT's SnapShotInterval: snapshot every 10 applied commands
MAX_LOG_ENTRIES = 60  # MIT checks the persisted size (MAXLOGSIZE); here the entries kept


class IndexedMachine:
    """Records every applied command with its index; the snapshot is that record."""

    def __init__(self) -> None:
        self.applied: list[list[Any]] = []

    def apply(self, index: int, data: Any) -> None:
        self.applied.append([index, data])

    def snapshot(self) -> list[list[Any]]:
        return [list(pair) for pair in self.applied]

    def restore(self, value: list[list[Any]]) -> None:
        self.applied = [list(pair) for pair in value]


class SnapshotHarness(Harness):
    """``Harness`` over a compacting cluster: what a server applied is what its state
    machine holds (snapshots included), kept across crashes until it restarts."""

    def __init__(self, servers: int, seed: int, *, unreliable: bool = False) -> None:
        self._last_seen: dict[int, list[tuple[int, Any]]] = {}
        super().__init__(
            servers,
            seed,
            unreliable=unreliable,
            snapshot_threshold=SNAPSHOT_INTERVAL,
            state_machine=IndexedMachine,
        )

    def applied(self, sid: int) -> list[tuple[int, Any]]:
        machine = self.cluster.state_machine(sid)
        if machine is not None:
            self._last_seen[sid] = [(index, data) for index, data in machine.applied]
        return self._last_seen.get(sid, [])

    def check_log_size(self) -> None:
        for sid in self.ids:
            held = len(self.cluster.servers[sid].log)
            if held > MAX_LOG_ENTRIES:
                self.fail(f"S{sid}'s log holds {held} entries: log compaction is not working")

    def installs(self) -> int:
        return sum(1 for e in self.cluster.trace if e.rule in ("IS.6", "IS.7"))


def _snapcommon(seed: int, disconnect: bool, reliable: bool, crash: bool) -> None:
    iterations, servers = 30, 3
    h = SnapshotHarness(servers, seed, unreliable=not reliable)
    h.one(h.fresh_value(), servers, True)
    leader1 = h.check_one_leader()
    for i in range(iterations):
        victim = h.other(leader1, 1)
        sender = leader1
        if i % 3 == 1:
            sender, victim = h.other(leader1, 1), leader1
        if disconnect:
            h.disconnect(victim)
            h.one(h.fresh_value(), servers - 1, True)
        if crash:
            h.crash(victim)
            h.one(h.fresh_value(), servers - 1, True)
        # Perhaps send enough to get a snapshot.
        for _ in range(SNAPSHOT_INTERVAL // 2 + h.rng.randrange(SNAPSHOT_INTERVAL)):
            if h.alive(sender) and sender in h.connected:
                h.cluster.propose(h.fresh_value(), server=sender)
        if not disconnect and not crash:
            # Every follower caught up: no InstallSnapshot needed (snapshots basic).
            h.one(h.fresh_value(), servers, True)
        else:
            h.one(h.fresh_value(), servers - 1, True)
        h.check_log_size()
        if disconnect:
            # A follower that may be behind, and needs a snapshot to catch up.
            h.connect(victim)
            h.one(h.fresh_value(), servers, True)
            leader1 = h.check_one_leader()
        if crash:
            h.start(victim)
            h.connect(victim)
            h.one(h.fresh_value(), servers, True)
            leader1 = h.check_one_leader()
    if (disconnect or crash) and h.installs() == 0:
        h.fail("no follower ever installed a snapshot (Figure 13)")
    h.finish()


def snapshot_basic(seed: int) -> None:
    _snapcommon(seed, disconnect=False, reliable=True, crash=False)


def snapshot_install(seed: int) -> None:
    _snapcommon(seed, disconnect=True, reliable=True, crash=False)


def snapshot_install_unreliable(seed: int) -> None:
    _snapcommon(seed, disconnect=True, reliable=False, crash=False)


def snapshot_install_crash(seed: int) -> None:
    _snapcommon(seed, disconnect=False, reliable=True, crash=True)


def snapshot_install_unreliable_crash(seed: int) -> None:
    _snapcommon(seed, disconnect=False, reliable=False, crash=True)


def _crash_all_and_revive(h: SnapshotHarness) -> None:
    for sid in h.ids:
        h.crash(sid)
    for sid in h.ids:
        h.start(sid)
        h.connect(sid)


def snapshot_all_crash(seed: int) -> None:
    """Crash and restart all servers, repeatedly: each comes back from its snapshot
    plus its log, and the next command lands after everything committed before."""
    servers = 3
    h = SnapshotHarness(servers, seed)
    h.one(h.fresh_value(), servers, True)
    for _ in range(5):
        for _ in range(SNAPSHOT_INTERVAL // 2 + h.rng.randrange(SNAPSHOT_INTERVAL)):
            h.one(h.fresh_value(), servers, True)
        index1 = h.one(h.fresh_value(), servers, True)
        _crash_all_and_revive(h)
        index2 = h.one(h.fresh_value(), servers, True)
        if index2 < index1 + 1:
            h.fail(f"index decreased from {index1} to {index2}")
    h.finish()


def snapshot_init(seed: int) -> None:
    """A restart from a snapshot, one more command, and another restart: what the
    first restart recovered must be written back correctly."""
    servers = 3
    h = SnapshotHarness(servers, seed)
    h.one(h.fresh_value(), servers, True)
    for _ in range(SNAPSHOT_INTERVAL + 1):  # enough to make a snapshot
        h.one(h.fresh_value(), servers, True)
    _crash_all_and_revive(h)
    h.one(h.fresh_value(), servers, True)  # something written back to storage
    _crash_all_and_revive(h)
    h.one(h.fresh_value(), servers, True)  # to trigger a potential bug
    assert all(h.cluster.servers[i].snapshot_index > 0 for i in h.ids)
    h.finish()


SCENARIOS: dict[str, Callable[[int], None]] = {
    "snapshot_basic": snapshot_basic,
    "snapshot_install": snapshot_install,
    "snapshot_install_unreliable": snapshot_install_unreliable,
    "snapshot_install_crash": snapshot_install_crash,
    "snapshot_install_unreliable_crash": snapshot_install_unreliable_crash,
    "snapshot_all_crash": snapshot_all_crash,
    "snapshot_init": snapshot_init,
}

EXTRA_SEEDS = [int(s) for s in os.environ.get("MIT_SEEDS", "").replace(",", " ").split()]
SEEDS = [1, 2]
SWEEP = range(1000, 1030)


RUNNER = SeedScenarios("test_mit_snapshots", "test_mit_snapshot_scenario", SCENARIOS)


@pytest.mark.parametrize(
    ("name", "seed"),
    [
        pytest.param(name, seed, id=f"{name}-seed_{seed}")
        for name in SCENARIOS
        for seed in sorted({*SEEDS, *EXTRA_SEEDS})
    ],
)
def test_mit_snapshot_scenario(name: str, seed: int) -> None:
    RUNNER.run(name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mit_snapshot_sweep(name: str) -> None:
    """Many seeds per scenario; the message lists every failing seed."""
    RUNNER.sweep(name, SWEEP)
