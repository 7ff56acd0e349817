"""Exercises of lesson 00: the welcome tour."""

from __future__ import annotations

from ..sim import Cluster
from .framework import (
    as_server,
    prediction,
)

# ============================================================ 00: the welcome tour


def first_leader(seed: int, servers: int = 5) -> int:
    """Who wins the first election of ``Cluster(servers=servers, seed=seed)``."""
    cluster = Cluster(servers=servers, seed=seed, checks=False)
    if not cluster.run_until(lambda c: c.leader is not None, max_ms=10_000):
        raise RuntimeError(f"no leader within 10 s in {cluster!r}")
    assert cluster.leader is not None
    return cluster.leader


prediction(
    "00.first_leader",
    "In the lesson's cluster, le.Cluster(servers=5, seed=SEED), which server wins the "
    "first election?",
    first_leader,
    "The first server whose randomized election timer fires asks for votes before "
    "anybody else, and usually wins (§5.2): cluster.pending() lists the timers in the "
    "order they fire. The seed decides the timers, so the same seed always gives the "
    "same winner, and another seed (another student's) may give another.",
    normalize=as_server,
    hint="give a server id such as 3 or 'S3'. cluster.pending() shows whose timer fires first.",
    section="§5.2",
)
