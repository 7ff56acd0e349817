"""Lesson 02, log replication: reference solutions."""

from __future__ import annotations

from typing import Any


def accepts(follower_terms: list[int], prev_log_index: int, prev_log_term: int) -> bool:
    # "Reply false if log doesn't contain an entry at prevLogIndex whose term matches
    # prevLogTerm" (§5.3). Index 0 stands for "before the first entry": always there.
    if prev_log_index == 0:
        return True
    if prev_log_index > len(follower_terms):
        return False
    return follower_terms[prev_log_index - 1] == prev_log_term


def majority_index(leader_last_index: int, match_index: dict[int, int]) -> int:
    stored = sorted([leader_last_index, *match_index.values()], reverse=True)
    majority = len(stored) // 2 + 1
    return stored[majority - 1]


def retry_from(leader_terms: list[int], conflict_index: int, conflict_term: int | None) -> int:
    if conflict_term is None:
        return conflict_index  # the follower's log ends before conflict_index
    ours = [i for i, term in enumerate(leader_terms, start=1) if term == conflict_term]
    return ours[-1] + 1 if ours else conflict_index


SOLUTIONS: dict[str, Any] = {
    "02.predict_commit": "no",
    "02.consistency_check": accepts,
    "02.majority_index": majority_index,
    "02.fast_backtrack": retry_from,
    "02.predict_rejections": 1,
}
