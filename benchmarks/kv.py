"""Benchmarks of the KV store and the linearizability checker. Prints; asserts nothing.

    python benchmarks/kv.py            # everything (about a minute)
    python benchmarks/kv.py --quick    # smaller runs

Measures:
- ``le.check_linearizable`` on each of Porcupine's published test histories (the
  converted copies in tests/data/porcupine): CPU seconds per history, the answer, and
  whether it agrees with Porcupine's (the goal: every one under 10 s);
- the checker on the KV store's own histories (a seeded sweep with faults);
- KV operations completed per CPU second (clients in a closed loop: each sends its next
  request when the last is answered), 3 servers, puts only and half gets, one shard and
  three, beside the bare cluster's proposals per CPU second on the same job
  (``cluster.propose`` then run until every server applied them).
Times are ``time.process_time``, the best of a few repetitions.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from porcupine_logs import load  # the converted histories and Porcupine's answers

import luminous_edu as le


def best(repeats: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(repeats))


def timed(work: Callable[[], object]) -> float:
    gc.collect()
    started = time.process_time()
    work()
    return time.process_time() - started


def porcupine_histories(verbose: bool) -> None:
    print("le.check_linearizable on Porcupine's test histories (CPU s, best of 3)")
    slowest: list[tuple[float, str]] = []
    disagree = []
    for kind, model in (("etcd", "register"), ("kv", "kv")):
        for name, (expected, ops) in load(kind).items():
            seconds = min(
                timed(lambda ops=ops, model=model: le.check_linearizable(ops, model))
                for _ in range(3)
            )
            ok = le.check_linearizable(ops, model).ok
            if ok is not expected:
                disagree.append(name)
            slowest.append((seconds, name))
            if verbose or seconds > 0.05:
                answer = f"{ok!s:5} (Porcupine: {expected})"
                print(f"  {name:10} {len(ops):5} ops  {seconds:7.3f} s  {answer}")
    total = sum(s for s, _ in slowest)
    worst = max(slowest)
    print(
        f"  {len(slowest)} histories in {total:.2f} s; slowest {worst[1]} {worst[0]:.3f} s; "
        f"{'all agree with Porcupine' if not disagree else 'DISAGREE: ' + ', '.join(disagree)}"
    )


def store_histories(seeds: int) -> None:
    from test_kv_sweep import workload

    checks = []
    for seed in range(seeds):
        history = workload(seed, 1 + seed % 3, rounds=400).history
        seconds = timed(lambda history=history: le.check_linearizable(history))
        checks.append((seconds, len(history)))
    print(
        f"le.check_linearizable on {seeds} KV store histories with faults: "
        f"{sum(n for _, n in checks) / seeds:.0f} operations each, "
        f"{sum(s for s, _ in checks) / seeds * 1000:.1f} ms each, slowest "
        f"{max(s for s, _ in checks) * 1000:.1f} ms"
    )


def kv_ops_per_second(ops: int, clients: int, gets: float, shards: int) -> float:
    store = le.KVStore(servers=3, shards=shards, seed=1, checks=False)
    store.run_until(lambda s: all(leader is not None for leader in s.leaders.values()))
    people = [store.client(f"c{i}") for i in range(clients)]
    done = 0
    sent = 0

    def work() -> None:
        nonlocal done, sent
        while done < ops:
            for n, client in enumerate(people):
                if not client.pending:
                    if sent:
                        done += 1
                    key = f"k{(sent * 7 + n) % 64}"
                    if (sent % 100) < gets * 100:
                        client.get(key)
                    else:
                        client.put(key, sent)
                    sent += 1
            store.run(5)

    return ops / timed(work)


def bare_proposals_per_second(proposals: int) -> float:
    cluster = le.Cluster(servers=3, seed=1, checks=False)
    cluster.run_until(lambda c: c.leader is not None)

    def work() -> None:
        for n in range(proposals):
            cluster.propose(n)
            if n % 20 == 19:
                cluster.run(5)
        cluster.run_until(lambda c: all(c.servers[i].last_applied > proposals for i in c.ids))

    return proposals / timed(work)


def bare_closed_loop_per_second(proposals: int, clients: int) -> float:
    """The KV job on a bare cluster: ``clients`` proposers, each proposing its next
    command once the leader has applied its last one, looking every 5 ms."""
    cluster = le.Cluster(servers=3, seed=1, checks=False)
    cluster.run_until(lambda c: c.leader is not None)
    leader = cluster.leader
    assert leader is not None
    waiting = [0] * clients  # the index each proposer waits for (0: none)

    def work() -> None:
        done = sent = 0
        while done < proposals:
            applied = cluster.servers[leader].last_applied
            for n in range(clients):
                if waiting[n] <= applied:
                    done += waiting[n] > 0
                    waiting[n] = cluster.propose(sent).index or 0
                    sent += 1
            cluster.run(5)

    return proposals / timed(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--verbose", action="store_true", help="a line for every history")
    quick = parser.parse_args().quick
    porcupine_histories(parser.parse_args().verbose)
    store_histories(5 if quick else 20)
    ops = 1_000 if quick else 5_000
    repeats = 1 if quick else 3
    print(f"\nThroughput, 3 servers, checks off, {ops} operations (per CPU s, best of {repeats})")
    bare = best(repeats, lambda: bare_proposals_per_second(ops * 4))
    print(f"  bare cluster: propose, run until applied everywhere  {bare:10,.0f} proposals/s")
    bare = best(repeats, lambda: bare_closed_loop_per_second(ops, 20))
    print(f"  bare cluster: 20 proposers, each waits for its last  {bare:10,.0f} proposals/s")
    for clients, gets, shards in ((20, 0.0, 1), (20, 0.5, 1), (20, 0.5, 3), (1, 0.5, 1)):
        rate = best(repeats, lambda c=clients, g=gets, s=shards: kv_ops_per_second(ops, c, g, s))
        print(
            f"  KVStore: {clients:2} clients, {gets:.0%} gets, {shards} shard(s)"
            f"{'':14}{rate:10,.0f} ops/s"
        )


if __name__ == "__main__":
    main()
