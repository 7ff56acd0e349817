"""Headless benchmarks of the simulator. Prints its numbers; asserts nothing.

    python benchmarks/core.py            # everything (about a minute)
    python benchmarks/core.py --quick    # smaller runs

Measures, for 5 servers on one core:
- delivered events per second, steady state with a client proposing one command every
  10 ms, without checks and with the Figure 3 checks after every event; the same with
  log compaction on (``snapshot_threshold=SNAPSHOT_THRESHOLD``);
- the same on an idle cluster (heartbeats only);
- both workloads with every switch beyond Figure 2 on at once (``EVERYTHING_ON``:
  compaction, joint-consensus membership, PreVote, CheckQuorum, lease reads);
- PySyncObj's job: 3 servers replicate 20,000 proposals until all applied them (and
  the same with log compaction on);
- the time to rewind to random steps of a 100,000-step run, and that run's peak memory.
Times are CPU seconds of this process (``time.process_time``), each the best of a few
repetitions, so that other work on the machine disturbs them as little as possible.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import luminous_edu as le

SNAPSHOT_THRESHOLD = 100  # applied entries between two snapshots, when compaction is on


#: Every switch beyond Figure 2 at once (issue 6: the targets must hold with them on).
EVERYTHING_ON: dict[str, Any] = {
    "snapshot_threshold": SNAPSHOT_THRESHOLD,
    "membership": "joint",
    "prevote": True,
    "check_quorum": True,
    "lease_reads": True,
}


def busy_cluster(checks: bool, seed: int = 1, package: Any = le, **options: Any) -> Any:
    """5 servers with an elected leader; ``package`` is ``luminous_edu`` or a copy of
    another version of it (``benchmarks/ab.py``)."""
    cluster = package.Cluster(servers=5, seed=seed, checks=checks, **options)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    return cluster


def events_per_second(
    checks: bool, steps: int, propose_every_ms: int | None, package: Any = le, **options: Any
) -> float:
    """Delivered events per CPU second over ``steps`` events (about): heartbeats only,
    or a proposal every ``propose_every_ms``."""
    cluster = busy_cluster(checks, package=package, **options)
    gc.collect()
    start_steps = cluster.step_count
    started = time.process_time()
    if propose_every_ms is None:
        cluster.run(steps * 50 // 9)  # a heartbeat round is 9 events per 50 ms
    else:
        n = 0
        while cluster.step_count - start_steps < steps:
            cluster.propose(n)
            n += 1
            cluster.run(propose_every_ms)
    elapsed = time.process_time() - started
    assert not cluster.violations, cluster.violations
    return (cluster.step_count - start_steps) / elapsed


def replicate(proposals: int, snapshot_threshold: int | None = None) -> tuple[float, int]:
    """3 servers; propose ``proposals`` commands and run until every server applied
    them all. Returns (operations per CPU second, steps)."""
    cluster = le.Cluster(servers=3, seed=1, snapshot_threshold=snapshot_threshold)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    started = time.process_time()
    for n in range(proposals):
        result = cluster.propose(n)
        assert result.accepted
    done = cluster.run_until(
        lambda c: all(c.servers[i].last_applied >= proposals + 1 for i in c.ids), max_ms=600_000
    )
    elapsed = time.process_time() - started
    assert done and not cluster.violations
    assert cluster.state_machine(1).values == list(range(proposals))
    if snapshot_threshold is not None:
        assert all(cluster.servers[i].snapshot_index > 0 for i in cluster.ids)
    return proposals / elapsed, cluster.step_count


def long_run(steps: int) -> le.Cluster:
    cluster = le.Cluster(servers=5, seed=3)
    rng = random.Random(3)
    n = 0
    while cluster.step_count < steps:
        cluster.run(rng.randint(5, 40))
        if cluster.leader is not None and rng.random() < 0.5:
            cluster.propose(n)
            n += 1
        if rng.random() < 0.002:
            victim = rng.choice(cluster.ids)
            if cluster.servers[victim].alive:
                cluster.crash(victim)
            else:
                cluster.restart(victim)
    while cluster.step_count > steps:  # land on exactly `steps`
        cluster.rewind(cluster.step_count - steps)
    return cluster


def best(repeats: int, measure) -> float:  # type: ignore[no-untyped-def]
    return max(measure() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    args = parser.parse_args()
    steps = 20_000 if args.quick else 100_000
    repeats = 1 if args.quick else 5
    proposals = 5_000 if args.quick else 20_000

    print(f"luminous_edu {le.__version__}, Python {sys.version.split()[0]}")
    print("\n# Delivered events per second, 5 servers, one core (best of", repeats, "runs)")
    workloads: list[tuple[str, int | None, dict[str, Any]]] = [
        ("proposing every 10 ms", 10, {}),
        ("idle (heartbeats only)", None, {}),
        (f"compacting every {SNAPSHOT_THRESHOLD}", 10, {"snapshot_threshold": SNAPSHOT_THRESHOLD}),
        ("everything on, proposing", 10, EVERYTHING_ON),
        ("everything on, idle", None, EVERYTHING_ON),
    ]
    for label, every, options in workloads:
        for checks in (False, True):
            rate = best(
                repeats,
                lambda c=checks, e=every, o=options: events_per_second(c, steps // 2, e, **o),
            )
            print(f"  {label:<26} checks={'on ' if checks else 'off'}  {rate:>10,.0f} events/s")
    print("  (everything on: " + ", ".join(f"{k}={v!r}" for k, v in EVERYTHING_ON.items()) + ")")

    print(f"\n# PySyncObj's job: 3 servers replicate {proposals:,} proposals until all applied")
    ops, total = replicate(proposals)
    print(f"  {ops:>10,.0f} operations per CPU second ({total:,} steps)")
    ops, total = replicate(proposals, SNAPSHOT_THRESHOLD)
    print(
        f"  {ops:>10,.0f} operations per CPU second ({total:,} steps), "
        f"compacting every {SNAPSHOT_THRESHOLD}"
    )

    print(f"\n# A {steps:,}-step run (5 servers, proposals, random crashes and restarts)")
    gc.collect()
    tracemalloc.start()
    started = time.process_time()
    cluster = long_run(steps)
    built = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  built in {built:.1f} s; peak memory {peak / 2**20:,.0f} MiB (tracemalloc)")
    rng = random.Random(5)
    timings = []
    for _ in range(20):
        target = rng.randrange(0, steps)
        started = time.process_time()
        cluster.seek(target)
        timings.append(time.process_time() - started)
    print(
        f"  seek to a random step: median {statistics.median(timings) * 1e3:.1f} ms, "
        f"max {max(timings) * 1e3:.1f} ms over {len(timings)} seeks"
    )
    started = time.process_time()
    cluster.seek(steps)
    print(f"  seek back to the end: {(time.process_time() - started) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
