"""Breadth-first search over a cluster's states, to a bounded depth.

Level by level, every state reached is expanded by each choice that fits it: deliver
any message in flight (which also stands for every order of delivery and, to this
depth, every loss), fire any server's timer now, a client's command to the leader (at
most ``MAX_PROPOSALS`` in a run), and one crash and one restart. Two paths that reach
the same state are explored once: a state is hashed from what the public API shows
(each server's role, term, vote, log, commit index and whether it is up; the
messages in flight, without their ids or times; the partition), so the search cannot
tell apart, and so merges, states that differ only in time.

A state is rebuilt by replaying its path on a new cluster; expanding it tries each
choice and rewinds. The first level that holds a violation gives the shortest
counterexample in these choices; the first such state in the level's order is taken,
so the result does not depend on the number of processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from ..core import Role
from ..sim import Cluster
from .result import SearchStats
from .schedule import Choice, apply, message_choice
from .search import Budget, Progress, Workers, progress_of
from .setup import Setup

MAX_PROPOSALS = 2
MAX_CRASHES = 1
#: States a worker expands in one task.
CHUNK = 16


def successors(cluster: Cluster, path: Sequence[Choice]) -> list[Choice]:
    """The choices that fit ``cluster`` now, one per distinct message in flight."""
    pending = cluster.pending()
    found: list[Choice] = []
    seen: set[Any] = set()
    for event in pending:
        if event.kind == "deliver":
            key = (event.source, event.target, repr(event.message))
            if key not in seen:
                seen.add(key)
                found.append(message_choice("deliver", event, pending))
        else:
            found.append(("timer", event.target, event.kind))
    views = cluster.servers
    proposals = sum(1 for c in path if c[0] == "propose")
    crashes = sum(1 for c in path if c[0] == "crash")
    for sid in cluster.ids:
        view = views[sid]
        if view.alive and view.role is Role.LEADER and proposals < MAX_PROPOSALS:
            found.append(("propose", sid, proposals + 1))
        if view.alive and crashes < MAX_CRASHES:
            found.append(("crash", sid))
        if not view.alive:
            found.append(("restart", sid))
    return found


def state_key(cluster: Cluster, path: Sequence[Choice]) -> bytes:
    """A digest of the state as the public API shows it (see the module docstring),
    with what the path has used of the bounded choices."""
    parts: list[Any] = []
    for sid in cluster.ids:
        v = cluster.servers[sid]
        log = tuple((e.index, e.term, repr(e.data)) for e in v.log)
        parts.append((sid, v.alive, str(v.role), v.current_term, v.voted_for, log, v.commit_index))
    messages = sorted(
        (e.source, e.target, repr(e.message)) for e in cluster.pending() if e.kind == "deliver"
    )
    parts.append(tuple(messages))
    parts.append(cluster.partition_groups)
    parts.append(tuple(sorted(c[0] for c in path if c[0] in ("propose", "crash"))))
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def expand(
    setup: Setup, cluster_seed: int, paths: list[list[Choice]]
) -> tuple[list[tuple[list[Choice], bytes, str | None]], int]:
    """The children of each state reached by ``paths``: (path, state key, property
    broken or None), in order; and the events taken."""
    children: list[tuple[list[Choice], bytes, str | None]] = []
    events = 0
    for path in paths:
        cluster, applied, _ = setup.replay(cluster_seed, path)
        events += cluster.step_count
        for choice in successors(cluster, path):
            if apply(cluster, choice) is None:
                continue
            events += 1
            child = [*applied, choice]
            violations = cluster.violations
            broken = violations[0].property if violations else None
            children.append((child, state_key(cluster, child), broken))
            cluster.rewind(1)
            events += cluster.step_count  # a rewind replays from the start
    return children, events


def breadth_first(
    setup: Setup,
    seed: int,
    budget: Budget,
    processes: int,
    depth: int,
    report: Callable[[Progress], None] | None,
) -> tuple[tuple[int, list[Choice], str] | None, SearchStats]:
    """Search to ``depth`` choices; (cluster seed, path, property) of the first
    violation, or None; and the search's numbers."""
    stats = SearchStats(processes=processes)
    cluster_seed = seed % 1_000_000
    frontier: list[list[Choice]] = [[]]
    seen: set[bytes] = {state_key(setup.build(cluster_seed), [])}
    found = None
    with Workers(processes) as workers:
        for level in range(depth):
            chunks = [frontier[i : i + CHUNK] for i in range(0, len(frontier), CHUNK)]
            next_frontier: list[list[Choice]] = []
            stopped = False
            for children, events in workers.results(
                expand, ((setup, cluster_seed, chunk) for chunk in chunks)
            ):
                stats.events += events
                stats.schedules += len(children)
                for path, key, broken in children:
                    if broken is not None:
                        found = (cluster_seed, path, broken)
                        break
                    if key not in seen:
                        seen.add(key)
                        next_frontier.append(path)
                stats.elapsed_s = budget.elapsed()
                over = budget.steps is not None and stats.events >= budget.steps
                if found is not None or budget.out_of_time() or over:
                    stopped = True
                    break
            if report is not None:
                best = (
                    f"Level {level + 1} of {depth}: {len(seen):,} distinct states, "
                    f"{len(next_frontier):,} new."
                )
                report(progress_of("bfs", "searching", stats, budget, best))
            if stopped or not next_frontier:
                break
            frontier = next_frontier
    stats.elapsed_s = budget.elapsed()
    return found, stats
