"""Checkpoints: cheap, and exact.

A checkpoint freezes a copy of the world that shares with it what only grows (the
commands applied, the Figure 3 checker's records, the default state machine's values),
remembering lengths; going back thaws one (sim/world.py, check/figure3.py). Sharing
must happen (a checkpoint copies no such list), and must never show: after the live
world goes on (appending, cutting logs short, restarting servers), going back to any
checkpoint and forward again gives the state a fresh replay of the record gives,
checker included.
"""

from __future__ import annotations

import random
from typing import Any

import luminous_edu as le
from luminous_edu.storage import GALLERY


def checker_state(c: le.Cluster) -> tuple[Any, ...]:
    k = c._world.checker
    assert k is not None
    return (
        {i: list(p) for i, p in k.prefix.items()},
        dict(k.first_seen),
        list(k.committed),
        dict(k.applied),
        dict(k.leaders),
        dict(k.commit),
        set(k.reported),
    )


def state(c: le.Cluster) -> tuple[Any, ...]:
    return (
        c.step_count,
        c.trace_digest(),
        tuple(c.violations),
        {i: (c.servers[i].log, tuple(c.applied(i))) for i in c.ids},
        checker_state(c),
    )


def chaotic_run(seed: int) -> le.Cluster:
    """Past several checkpoints, with what cuts logs short and restarts servers:
    partitions, crashes, a lossy network, and a handler that forgets its vote (so the
    checker finds violations too)."""
    c = le.Cluster(
        servers=5,
        seed=seed,
        storage=GALLERY["ForgetsVote"],
        network=le.Network(delay_ms=(1, 30), drop_rate=0.05),
        snapshot_threshold=25,
    )
    rng = random.Random(seed)
    n = 0
    while c.step_count < 5 * le.sim.CHECKPOINT_INTERVAL:
        c.propose(n)
        n += 1
        c.run(rng.randint(5, 40))
        roll = rng.random()
        if roll < 0.03:
            c.partition(set(rng.sample(list(c.ids), 2)))
        elif roll < 0.06:
            c.heal()
        elif roll < 0.09:
            down = [i for i in c.ids if not c.servers[i].alive]
            if down:
                c.restart(rng.choice(down))
            else:
                c.crash(rng.choice(list(c.ids)))
    return c


def test_checkpoints_share_what_only_grows() -> None:
    c = chaotic_run(1)
    checkpoints = list(c._history.checkpoints.values())
    assert len(checkpoints) >= 4
    live = c._world
    assert live.checker is not None
    shared = [w.checker.committed is live.checker.committed for w in checkpoints]
    assert sum(shared) >= 2, "checkpoints share the checker's committed digests"


def test_going_back_to_any_checkpoint_gives_what_a_replay_gives() -> None:
    for seed in (1, 2):
        c = chaotic_run(seed)
        end = c.step_count
        for step in sorted(c._history.checkpoints):
            for target in (step, step + 1):
                c.seek(target)  # thawed from the checkpoint (and one step on)
                # What a replay that never went back gives at that step:
                fresh = le.Cluster.load(c.export(), storage=GALLERY["ForgetsVote"])
                assert state(c) == state(fresh), f"seed {seed}: back at step {target}"
        c.seek(end)
        fresh = le.Cluster.load(c.export(), storage=GALLERY["ForgetsVote"])
        assert state(c) == state(fresh)
