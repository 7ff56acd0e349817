"""Lesson 10, hunting bugs like a model checker: reference solutions."""

from __future__ import annotations

from typing import Any

import luminous_edu as le


def follower_commit(commit_index: int, leader_commit: int, last_new_index: int) -> int:
    # AppendEntries rule 5: "If leaderCommit > commitIndex, set commitIndex =
    # min(leaderCommit, index of last new entry)"; and commitIndex never goes back.
    if leader_commit > commit_index:
        return max(commit_index, min(leader_commit, last_new_index))
    return commit_index


def leader_commit(
    current_term: int, log_terms: list[int], match_index: dict[int, int], commit_index: int
) -> int:
    # "If there exists an N such that N > commitIndex, a majority of matchIndex[i] >= N,
    # and log[N].term == currentTerm: set commitIndex = N" (Figure 2); the leader counts
    # itself, with its whole log.
    stored = [len(log_terms), *match_index.values()]
    majority = len(stored) // 2 + 1
    for n in range(len(log_terms), commit_index, -1):
        if sum(1 for m in stored if m >= n) >= majority and log_terms[n - 1] == current_term:
            return n
    return commit_index


_LETTERS = {
    "Election Safety": "a",
    "Leader Append-Only": "b",
    "Log Matching": "c",
    "Leader Completeness": "d",
    "State Machine Safety": "e",
}


def solutions(seed: int) -> dict[str, Any]:
    """The answers on the lesson's run with ``seed`` (a student's own, or the reference)."""
    result = le.explore(
        bugs={"commit_past_last_new"},
        seed=seed,
        budget_steps=200_000,
        processes=1,
        progress=False,
    )
    return {
        "10.predict_property": _LETTERS[result.violation.property],
        "10.predict_who": "b",
        "10.follower_commit": follower_commit,
        "10.leader_commit": leader_commit,
        "10.predict_lab": "no",
    }


SOLUTIONS: dict[str, Any] = solutions(le.exercises.REFERENCE_SEEDS["10"])
