"""Helpers shared by the scenario tests: ``churn`` (random faults between proposals)
and ``SeedScenarios`` (named seeded scenarios, with the command that replays a failing
seed), ``varied_record`` (an export with one of each common action) and
``server_states`` (what each server shows, to compare a cluster before and after). The MIT 6.5840
harness moved into the package: ``luminous_edu.explore.harness``.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterable
from typing import Any

import luminous_edu as le


def churn(
    cluster: le.Cluster,
    rng: random.Random,
    rounds: int,
    each_round: Callable[[int], object] = lambda n: None,
) -> None:
    """``rounds`` times: let 10-200 virtual ms pass, propose ``n``, call ``each_round(n)``,
    then hit one random server with a restart (if it is down), a crash, an isolating
    partition, a heal or a leadership transfer. Ends healed, with every server running."""
    for n in range(rounds):
        cluster.run(rng.randint(10, 200))
        cluster.propose(n)
        each_round(n)
        victim = rng.choice(cluster.ids)
        roll = rng.random()
        if not cluster.servers[victim].alive:
            cluster.restart(victim)
        elif roll < 0.1:
            cluster.crash(victim)
        elif roll < 0.2:
            cluster.partition({victim})
        elif roll < 0.3:
            cluster.heal()
        elif roll < 0.4:
            cluster.transfer_leadership(to=victim)
    cluster.heal()
    for sid in cluster.ids:
        if not cluster.servers[sid].alive:
            cluster.restart(sid)


class SeedScenarios:
    """Named scenarios, each a function of a seed, with the messages that make a failing
    seed easy to replay: ``run(name, seed)`` adds the reproduction command to a failure,
    ``sweep(name, seeds)`` runs many seeds and lists every failing one."""

    def __init__(self, module: str, test: str, scenarios: dict[str, Callable[[int], None]]):
        self.module = module  # e.g. "test_mit_scenarios"
        self.test = test  # the parametrized test that takes (name, seed)
        self.scenarios = scenarios

    def reproduce(self, name: str, seed: int) -> str:
        return (
            f"reproduce: MIT_SEEDS={seed} .venv/bin/python -m pytest "
            f"'tests/{self.module}.py::{self.test}[{name}-seed_{seed}]'\n"
            f"       or: .venv/bin/python -c \"import sys; sys.path.insert(0, 'tests'); "
            f"import {self.module} as t; t.SCENARIOS['{name}']({seed})\""
        )

    def run(self, name: str, seed: int) -> None:
        try:
            self.scenarios[name](seed)
        except AssertionError as error:
            message = f"{name} failed with seed {seed}: {error}\n{self.reproduce(name, seed)}"
            raise AssertionError(message) from error

    def sweep(self, name: str, seeds: Iterable[int]) -> None:
        failures = []
        for seed in seeds:
            try:
                self.scenarios[name](seed)
            except AssertionError as error:
                first_line = str(error).splitlines()[0]
                failures.append(f"seed {seed}: {first_line}\n  {self.reproduce(name, seed)}")
        assert not failures, f"{name} failed for {len(failures)} seeds:\n" + "\n".join(failures)


def varied_record() -> dict[str, Any]:
    """A 3-server run's export (as JSON would bring it back) with a proposal, a fired
    message, a crash and restart, a partition and a heal: one of each common action."""
    c = le.Cluster(servers=3, seed=2)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    leader = c.leader
    assert c.propose({"k": "original"}).accepted
    c.run(30)
    c.fire(c.pending()[-1].id)
    follower = next(i for i in c.servers if i != leader)
    c.crash(follower)
    c.run(100)
    c.restart(follower)
    c.partition({leader})
    c.run(50)
    c.heal()
    c.run(200)
    rec: dict[str, Any] = json.loads(json.dumps(c.export()))
    assert le.Cluster.load(copy.deepcopy(rec)).trace_digest() == c.trace_digest()
    return rec


def server_states(c: le.Cluster, *, disks: bool = False) -> tuple[tuple[Any, ...], ...]:
    """Per server: up or down, role, term, vote, log, commit index, what it applied, and
    with ``disks`` its disk's keys and values."""
    return tuple(
        (
            c.servers[i].alive,
            c.servers[i].role,
            c.servers[i].current_term,
            c.servers[i].voted_for,
            c.servers[i].log,
            c.servers[i].commit_index,
            tuple(c.applied(i)),
            *((tuple(sorted(c.disk(i).items())),) if disks else ()),
        )
        for i in c.servers
    )
