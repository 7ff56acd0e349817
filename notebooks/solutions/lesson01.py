"""Lesson 01, leader election: reference solutions."""

from __future__ import annotations

from typing import Any

import luminous_edu as le


def votes_needed(servers: int) -> int:
    # "A candidate wins an election if it receives votes from a majority of the servers
    # in the full cluster for the same term" (§5.2).
    return servers // 2 + 1


def grants_vote(
    voter_term: int, voted_for: int | None, request_term: int, candidate_id: int
) -> bool:
    if request_term < voter_term:
        return False  # "Reply false if term < currentTerm" (§5.1)
    if request_term > voter_term:
        return True  # the voter moves to the newer term, where it has not voted yet
    return voted_for is None or voted_for == candidate_id  # one vote per term (§5.2)


def _message(cluster: le.Cluster, source: int, target: int) -> int:
    """The id of the pending message from ``source`` to ``target``."""
    for event in cluster.pending():
        if event.kind == "deliver" and event.source == source and event.target == target:
            return event.id
    raise LookupError(f"no message from S{source} to S{target}")


def force_split_vote(cluster: le.Cluster) -> None:
    cluster.timeout(1)  # S1: candidate in term 1
    cluster.timeout(2)  # S2: candidate in term 1 too, before it hears from S1
    cluster.fire(_message(cluster, 1, 3))  # S3 hears S1 first: votes for S1
    cluster.fire(_message(cluster, 2, 4))  # S4 hears S2 first: votes for S2
    # Deliver everything else: every other vote request is refused (one vote per term).
    while True:
        messages = [e for e in cluster.pending() if e.kind == "deliver"]
        if not messages:
            break
        cluster.fire(messages[0].id)


def first_candidate(seed: int) -> int:
    # pending() lists the events in the order they fire: the first is a server's timer.
    return le.Cluster(servers=5, seed=seed).pending()[0].target


def solutions(seed: int) -> dict[str, Any]:
    """The answers on the lesson's run with ``seed`` (a student's own, or the reference)."""
    return {
        "01.predict_first_candidate": first_candidate(seed),
        "01.votes_needed": votes_needed,
        "01.grants_vote": grants_vote,
        "01.split_vote": force_split_vote,
        "01.predict_after_split": "b",
    }


SOLUTIONS: dict[str, Any] = solutions(le.exercises.REFERENCE_SEEDS["01"])
