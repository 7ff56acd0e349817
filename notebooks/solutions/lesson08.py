"""Lesson 08, PreVote, CheckQuorum and leadership transfer: reference solutions."""

from __future__ import annotations

from typing import Any

import luminous_edu as le


def grants_pre_vote(
    voter_term: int, request_term: int, heard_from_leader: bool, up_to_date: bool
) -> bool:
    # A pre-vote is granted "if the candidate's log is sufficiently up-to-date, and the
    # voters have not received heartbeats from a valid leader for at least a baseline
    # election timeout" (thesis §9.6), for an election in a term newer than the voter's.
    return request_term > voter_term and not heard_from_leader and up_to_date


def steps_down(servers: int, heard_from: set[int]) -> bool:
    # "A leader in Raft steps down if an election timeout elapses without a successful
    # round of heartbeats to a majority of its cluster" (thesis §6.2); it counts itself.
    return len(heard_from) + 1 < servers // 2 + 1


def hand_over(cluster: le.Cluster) -> int:
    leader = cluster.leader
    match = cluster.servers[leader].match_index  # how far each follower's log matches
    running = [i for i in match if cluster.servers[i].alive]
    target = max(running, key=lambda i: match[i])
    cluster.transfer_leadership(to=target)  # thesis §3.10: catch up, then TimeoutNow
    cluster.run_until(lambda c: c.leader == target)
    return target


def lonely_term(seed: int) -> int:
    # With PreVote a cut-off server never starts a real election, so its term stays the
    # one it had when it was cut off: the leader's term at that moment.
    calm = le.Cluster(servers=5, seed=seed, prevote=True)
    calm.run_until(lambda c: c.leader is not None)
    calm.run(100)
    return calm.servers[calm.leader].current_term


def solutions(seed: int) -> dict[str, Any]:
    """The answers on the lesson's run with ``seed`` (a student's own, or the reference)."""
    return {
        "08.predict_rejoin": "b",
        "08.predict_prevote_term": lonely_term(seed),
        "08.grants_pre_vote": grants_pre_vote,
        "08.predict_check_quorum": "yes",
        "08.steps_down": steps_down,
        "08.predict_stale_read": "no",
        "08.predict_transfer_propose": "no",
        "08.hand_over": hand_over,
    }


SOLUTIONS: dict[str, Any] = solutions(le.exercises.REFERENCE_SEEDS["08"])
