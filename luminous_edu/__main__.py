"""``python -m luminous_edu``: a short narrated Raft run in the terminal.

An election, a few client requests, the leader crashes, a new leader is elected and
the old one comes back and catches up. Every line is one event of the trace, with the
paper's rule that explains it.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from . import Cluster


def narrate(seed: int = 7, servers: int = 5, out: TextIO | None = None) -> Cluster:
    write = (out or sys.stdout).write
    cluster = Cluster(servers=servers, seed=seed)
    shown = 0

    def chapter(title: str) -> None:
        nonlocal shown
        for event in cluster.trace[shown:]:
            write(f"  {event}\n")
        shown = len(cluster.trace)
        write(f"\n== {title}\n")

    chapter(f"{servers} servers start as followers (seed {seed}); the first timer to fire wins")
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    first = _leader(cluster)
    chapter(f"S{first} leads term {cluster.servers[first].current_term}; a client sends 3 commands")
    for command in ("x = 1", "y = 2", "x = 3"):
        cluster.propose(command)
    cluster.run(60)
    chapter(f"S{first} crashes")
    cluster.crash(first)
    cluster.run_until(lambda c: c.leader not in (None, first), max_ms=5_000)
    second = _leader(cluster)
    chapter(f"S{second} leads term {cluster.servers[second].current_term}; S{first} restarts")
    cluster.restart(first)
    cluster.propose("z = 4")
    cluster.run(200)
    chapter("The end")
    for sid in cluster.ids:
        commands = [data for _, data in cluster.applied(sid)]
        write(f"  S{sid} applied {commands}\n")
    violations = cluster.violations
    write(f"\n{cluster.step_count} steps, {cluster.now} ms of virtual time, ")
    write(f"{len(violations)} safety violations.\n")
    return cluster


def _leader(cluster: Cluster) -> int:
    leader = cluster.leader
    if leader is None:
        raise RuntimeError(f"no leader after {cluster.now} ms; try another seed")
    return leader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m luminous_edu", description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--servers", type=int, default=5, help="cluster size (default 5)")
    args = parser.parse_args(argv)
    narrate(seed=args.seed, servers=args.servers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
