"""Exercises of lesson 00: the welcome tour."""

from __future__ import annotations

from ..sim import Cluster
from .framework import (
    as_server,
    prediction,
)

# ============================================================ 00: the welcome tour


def _first_leader(seed: int, servers: int) -> int:
    cluster = Cluster(servers=servers, seed=seed, checks=False)
    cluster.run_until(lambda c: c.leader is not None, max_ms=10_000)
    assert cluster.leader is not None
    return cluster.leader


prediction(
    "00.first_leader",
    "In Cluster(servers=5, seed=7), which server wins the first election?",
    lambda: _first_leader(seed=7, servers=5),
    "The first server whose randomized election timer fires asks for votes before "
    "anybody else, and usually wins (§5.2). The seed decides the timers, so seed 7 "
    "always gives the same winner.",
    normalize=as_server,
    hint="give a server id such as 3 or 'S3'. cluster.pending() shows whose timer fires first.",
    section="§5.2",
)
