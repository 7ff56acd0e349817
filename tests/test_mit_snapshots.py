"""The MIT 6.5840 Raft lab 3D tests (log compaction), re-expressed deterministically.

The scenarios live in the package, ``luminous_edu.explore.labs``. As in
``test_mit_scenarios.py``: each scenario is a function of a seed, time is
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

import pytest
from scenario_helpers import SeedScenarios

from luminous_edu.explore import labs
from luminous_edu.explore.harness import Harness

SCENARIOS: dict[str, Callable[..., Harness]] = {
    function.__name__: function for name, function in labs.TESTS.items() if name.endswith("3D")
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
