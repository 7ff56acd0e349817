"""The MIT 6.5840 Raft lab tests (3A, 3B, 3C), re-expressed deterministically.

The scenarios live in the package, ``luminous_edu.explore.labs`` (``le.labs.run`` runs
them against any storage handler); here each runs on several seeds with the built-in
storage. Each scenario is a function of a seed: the seed builds the cluster and drives
the test's own random choices (``random.Random(seed)``), so a failing seed replays
exactly. Time is virtual: "sleep" lets the simulated cluster run. ``Harness`` checks
the safety properties after every step and at checkpoints; every scenario ends with
``h.finish()`` (which also requires ``cluster.violations == []``).

Run one scenario with another seed (MIT_SEEDS adds seeds to every scenario):
    MIT_SEEDS=123 .venv/bin/python -m pytest tests/test_mit_scenarios.py -k 'figure8 and seed_123'
or  .venv/bin/python -c "import sys; sys.path.insert(0, 'tests'); \\
        import test_mit_scenarios as t; t.SCENARIOS['figure8'](123)"
The seed sweeps: .venv/bin/python -m pytest tests/test_mit_scenarios.py -m slow
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from scenario_helpers import SeedScenarios

from luminous_edu.explore import labs
from luminous_edu.explore.harness import Harness

# ======================================================== not in 6.5840


def count_steady_load(seed: int, **options: Any) -> Harness:
    """Not in 6.5840: TestCount's budget (about one AppendEntries per command per
    follower, plus heartbeats) for a steady stream of commands rather than one burst."""
    h = Harness(3, seed, count_rpcs=True, **options)
    leader = h.check_one_leader()
    total1, t1 = h.rpc_total(), h.now
    last = 0
    commands = 400
    for _ in range(commands):  # one command every 5 ms for 2 s
        reply = h.cluster.propose(h.fresh_value(), server=leader)
        if not reply.accepted:
            h.fail(f"S{leader} stopped leading with no failures")
        last = reply.index
        h.sleep(5)
    h.wait(last, h.n, -1)
    total2 = h.rpc_total()
    heartbeats = (h.now - t1) // h.cluster.heartbeat_interval_ms + 1
    budget = (commands + heartbeats + 3) * (h.n - 1)
    if total2 - total1 > budget:
        h.fail(
            f"too many RPCs ({total2 - total1}) for {commands} commands over "
            f"{h.now - t1} ms; expected at most {budget}"
        )
    h.finish()
    return h


# ======================================================================== running

SCENARIOS: dict[str, Callable[..., Harness]] = {
    function.__name__: function for name, function in labs.TESTS.items() if not name.endswith("3D")
}
SCENARIOS["count_steady_load"] = count_steady_load

RANDOMIZED = (
    "figure8",
    "figure8_unreliable",
    "unreliable_agree",
    "reliable_churn",
    "unreliable_churn",
)

#: Extra seeds for every scenario of the normal run, e.g. MIT_SEEDS="123 456".
EXTRA_SEEDS = [int(s) for s in os.environ.get("MIT_SEEDS", "").replace(",", " ").split()]
SEEDS = {name: [1, 2, 3, 4, 5] if name in RANDOMIZED else [1, 2, 3] for name in SCENARIOS}
#: The slow sweep: seeds per scenario, sized to keep it within a few minutes.
SWEEP = {name: range(1000, 1100) for name in SCENARIOS} | {
    "count_steady_load": range(1000, 1010),
    "figure8": range(1000, 1300),
    "figure8_unreliable": range(1000, 1150),
    "unreliable_agree": range(1000, 1150),
    "reliable_churn": range(1000, 1200),
    "unreliable_churn": range(1000, 1200),
}


RUNNER = SeedScenarios("test_mit_scenarios", "test_mit_scenario", SCENARIOS)


CASES = [
    pytest.param(name, seed, id=f"{name}-seed_{seed}")
    for name in SCENARIOS
    for seed in sorted({*SEEDS[name], *EXTRA_SEEDS})
]


@pytest.mark.parametrize(("name", "seed"), CASES)
def test_mit_scenario(name: str, seed: int) -> None:
    RUNNER.run(name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mit_scenario_sweep(name: str) -> None:
    """Many seeds per scenario; the message lists every failing seed."""
    RUNNER.sweep(name, SWEEP[name])
