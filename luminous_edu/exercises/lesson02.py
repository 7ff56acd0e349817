"""Exercises of lesson 02: log replication."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..sim import Cluster
from .framework import (
    _cases,
    as_yes_no,
    exercise,
    function_starter,
    need_function,
    prediction,
)

# ============================================================ 02: log replication

_ACCEPT_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (([1, 1, 2], 3, 2), True, "the follower's entry 3 has term 2, as the leader says: accept."),
    (([1, 1, 2], 0, 0), True, "prev_log_index 0 is before the first entry: always matches."),
    (([1, 1], 3, 2), False, "the follower has only 2 entries: there is no entry 3 (§5.3)."),
    (([1, 1, 2], 3, 3), False, "entry 3 has term 2 here but the leader says term 3: reject."),
    (
        ([1, 1, 2, 2], 2, 1),
        True,
        "only the entry at prev_log_index is compared; later ones are dealt with after the check.",
    ),
    (([], 1, 1), False, "an empty log has no entry 1."),
]


@exercise(
    "02.consistency_check",
    "Write accepts(follower_terms, prev_log_index, prev_log_term): does the follower pass "
    "AppendEntries' consistency check? follower_terms[0] is the term of entry 1.",
    starter=function_starter("accepts", "follower_terms", "prev_log_index", "prev_log_term"),
    hint="'Reply false if log doesn't contain an entry at prevLogIndex whose term matches "
    "prevLogTerm' (Figure 2). Entry i is follower_terms[i - 1]; index 0 always matches.",
    section="§5.3",
)
def _check_consistency(answer: Any) -> str:
    f = need_function(answer, "accepts", 3)
    _cases(f, _ACCEPT_CASES, signature="accepts", convert=as_yes_no)
    return (
        "accepts is the consistency check: by induction it keeps the Log Matching property (§5.3)."
    )


_MAJORITY_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((7, {2: 5, 3: 3}), 5, "3 servers: the leader (7) and S2 (5) both store index 5."),
    ((10, {2: 10, 3: 4, 4: 10, 5: 0}), 10, "5 servers: the leader, S2 and S4 store index 10."),
    ((5, {2: 0, 3: 0, 4: 0, 5: 0}), 0, "nobody else stores anything yet: only index 0."),
    (
        (9, {2: 9, 3: 8, 4: 2, 5: 1, 6: 0, 7: 9}),
        8,
        "7 servers need 4: the leader, S2, S7 (9) and S3 (8) store index 8.",
    ),
    ((4, {2: 4, 3: 4}), 4, "everyone has index 4."),
]


@exercise(
    "02.majority_index",
    "Write majority_index(leader_last_index, match_index): the highest index N that a "
    "majority of servers (the leader included) store.",
    starter=function_starter("majority_index", "leader_last_index", "match_index"),
    hint="put the leader's last index with the match_index values, sort them from high to "
    "low, and take the one at position (majority - 1).",
    section="§5.3",
)
def _check_majority_index(answer: Any) -> str:
    f = need_function(answer, "majority_index", 2)
    _cases(f, _MAJORITY_CASES, signature="majority_index")
    return (
        "majority_index is the index a leader may commit, as long as that entry is from its "
        "own term (Figure 2; lesson 03 shows why that condition matters)."
    )


# Figure 7's leader and followers (a), (b), (e), (f): the terms of entries 1, 2, ...
FIGURE_7 = {
    "leader": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
    "a": [1, 1, 1, 4, 4, 5, 5, 6, 6],
    "b": [1, 1, 1, 4],
    "c": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    "d": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    "e": [1, 1, 1, 4, 4, 4, 4],
    "f": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}
_LEADER = FIGURE_7["leader"]
_RETRY_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (
        (_LEADER, 5, None),
        5,
        "conflict_term None: the follower's log ends before index 5 "
        "(Figure 7 (b)), so retry from 5.",
    ),
    (
        (_LEADER, 7, 3),
        7,
        "the leader has no entry of term 3 (Figure 7 (f)): skip the "
        "follower's whole term 3, retry from its first index, 7.",
    ),
    ((_LEADER, 4, 2), 4, "no term 2 in the leader's log either: retry from 4."),
    (
        (_LEADER, 4, 4),
        6,
        "the leader has term 4, ending at index 5 (Figure 7 (e)): retry just after it, from 6.",
    ),
    ((_LEADER, 8, 6), 11, "the leader's term 6 ends at index 10: retry from 11."),
]


@exercise(
    "02.fast_backtrack",
    "Write retry_from(leader_terms, conflict_index, conflict_term): after a rejection "
    "with this hint, from which index does the leader retry?",
    starter=function_starter("retry_from", "leader_terms", "conflict_index", "conflict_term"),
    hint="if conflict_term is None, retry from conflict_index. Otherwise, if the leader has "
    "entries of conflict_term, retry just after its last one; if it has none, retry from "
    "conflict_index. leader_terms[i - 1] is the term of entry i.",
    section="§5.3",
)
def _check_fast_backtrack(answer: Any) -> str:
    f = need_function(answer, "retry_from", 3)
    _cases(f, _RETRY_CASES, signature="retry_from")
    return (
        "retry_from skips a whole conflicting term per round trip instead of one entry: "
        "the optimization sketched at the end of §5.3."
    )


prediction(
    "02.predict_commit",
    "5 servers. The leader has just appended an entry, and only one follower has "
    "acknowledged it. Is the entry committed? (yes or no)",
    False,
    "No: the leader and one follower are 2 of 5, not a majority. 'A log entry is "
    "committed once the leader that created the entry has replicated it on a majority of "
    "the servers' (§5.3): it takes one more acknowledgement.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Count the copies: the leader's own counts.",
    section="§5.3",
)


class Repair(NamedTuple):
    """The lesson's repair scenario (section "Repairing a follower")."""

    cluster: Cluster
    down: int  # the follower that was down
    leader: int  # the new leader that repairs it
    start: int  # the step at which it restarted


def repair(seed: int) -> Repair:
    """5 servers: one follower is down while the leader appends 5 commands; the leader
    crashes and another is elected; then the follower restarts, and the cluster runs
    until its log has caught up with the new leader's (at most 5 s)."""
    cluster = Cluster(servers=5, seed=seed)
    if not cluster.run_until(lambda c: c.leader is not None, max_ms=10_000):
        raise RuntimeError(f"no leader in {cluster!r}")
    first = cluster.leader
    assert first is not None
    down = 1 if first != 1 else 2
    cluster.crash(down)
    for n in range(5):
        cluster.propose(f"x = {n}")
    cluster.run(200)
    cluster.crash(first)
    if not cluster.run_until(lambda c: c.leader not in (None, first), max_ms=10_000):
        raise RuntimeError(f"no new leader in {cluster!r}")
    leader = cluster.leader
    assert leader is not None
    start = cluster.step_count
    cluster.restart(down)
    cluster.run_until(
        lambda c: c.servers[down].last_log_index == c.servers[leader].last_log_index,
        max_ms=5_000,
    )
    return Repair(cluster, down, leader, start)


def rejections(run: Repair) -> int:
    """How many AppendEntries the restarted follower rejected (rule AE.2)."""
    return sum(
        1
        for e in run.cluster.trace.since(run.start + 1)
        if e.rule == "AE.2" and e.server == run.down
    )


prediction(
    "02.predict_rejections",
    "5 servers. A follower is down while the leader appends 5 commands; that leader "
    "crashes and a new one is elected; then the follower restarts. How many AppendEntries "
    "will it reject before its log has caught up?",
    lambda seed: rejections(repair(seed)),
    "The new leader's first AppendEntries to it names an entry (prev_log_index, "
    "prev_log_term) the follower does not have, so it rejects it, with a hint: its log "
    "ends early (conflict_index). The leader jumps straight back to the follower's last "
    "index + 1 (end of §5.3) instead of going back one index per round trip, and the "
    "next AppendEntries carries every missing entry. A rejection can only repeat if a "
    "message was in flight when the hint arrived.",
    normalize=lambda v: v if isinstance(v, int) and not isinstance(v, bool) else None,
    hint="give a whole number. A new leader starts with next_index = its last index + 1 "
    "for everyone; a rejection carries conflict_index, where the follower's log ends.",
    section="§5.3",
)
