"""Exercises of lesson 10: hunting bugs like a model checker (the classic-bug switches,
``le.explore``, and the 6.5840 tests as a gallery).

The predictions compute their answers by running what the lesson runs on the lesson's
seed (``le.exercises.lesson_seed("10")``, each student's own run): the search of
``hunt`` and the gallery of ``lab_on``."""

from __future__ import annotations

import functools
from typing import Any

from ..explore import ExploreResult, explore, labs
from ..storage.gallery import GALLERY
from .framework import (
    _cases,
    as_choice,
    as_yes_no,
    exercise,
    function_starter,
    need_function,
    prediction,
)

#: The bug the lesson hunts, and the search's budget in events: the same seed and
#: budget find the same counterexample on any machine (a few seconds here).
HUNTED = "commit_past_last_new"
HUNT_BUDGET = 200_000

#: The properties of Figure 3 by the letters of the lesson's question.
PROPERTY_LETTERS = {
    "Election Safety": "a",
    "Leader Append-Only": "b",
    "Log Matching": "c",
    "Leader Completeness": "d",
    "State Machine Safety": "e",
}


def hunt(seed: int, processes: int | None = 1) -> ExploreResult:
    """The lesson's search: ``HUNTED`` switched on, ``HUNT_BUDGET`` events."""
    return explore(
        bugs={HUNTED}, seed=seed, budget_steps=HUNT_BUDGET, processes=processes, progress=False
    )


@functools.cache  # the same seed gives the same search: run it once per kernel
def _broken_property(seed: int) -> str:
    result = hunt(seed)
    if result.violation is None:
        return "nothing found"
    return PROPERTY_LETTERS.get(result.violation.property, result.violation.property)


prediction(
    "10.predict_property",
    f"With {HUNTED} switched on, the explorer searches until some property breaks. "
    "Which one: (a) Election Safety; (b) Leader Append-Only; (c) Log Matching; (d) Leader "
    "Completeness; (e) State Machine Safety?",
    _broken_property,
    "The bug lets a follower mark as committed entries the leader never sent it: entries "
    "of its own, left over from an older leader, that the current leader has replaced. "
    "It applies them to its state machine, while the others apply the leader's entries "
    "at the same indexes: 'if a server has applied a log entry at a given index to its "
    "state machine, no other server will ever apply a different log entry for the same "
    "index' (State Machine Safety, §5.4.3). No two leaders, no log rewritten by a leader: "
    "the logs themselves are as Raft leaves them; only what was applied is wrong.",
    normalize=as_choice("a", "b", "c", "d", "e"),
    hint="answer with a letter. The rule is the follower's: what does a follower do with "
    "the entries it believes committed?",
    section="§5.3, §5.4.3",
)


@functools.cache
def _who_applies(seed: int) -> str:
    cluster = hunt(seed).replay()
    fired = next(e for e in cluster.trace if e.rule == f"BUG.{HUNTED}")
    return "b" if fired.server != cluster.leader else "a"


prediction(
    "10.predict_who",
    "In the shrunk counterexample, which server applies the entry that nobody else "
    "applies at its index: (a) the leader; (b) a follower?",
    _who_applies,
    "A follower. The leader commits by counting replicas of its own log (§5.3, §5.4.2); "
    "a follower learns what is committed from leaderCommit, and must not believe it for "
    "entries past the last one the leader's message vouched for: 'set commitIndex = "
    "min(leaderCommit, index of last new entry)'. The BUG trace event names the follower "
    "that left out the min.",
    normalize=as_choice("a", "b"),
    hint="answer with a letter. Whose rule is AppendEntries rule 5?",
    section="§5.3, Figure 2",
)

_FOLLOWER_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (
        (0, 5, 3),
        3,
        "the leader has committed through 5, but its message vouches for this log only "
        "through index 3: entries 4 and 5 here may not be the leader's.",
    ),
    ((0, 2, 4), 2, "the leader has committed only through 2: no further."),
    ((1, 7, 7), 7, "everything the leader committed matches here: commit through 7."),
    ((3, 2, 4), 3, "leaderCommit (2) is not above commitIndex (3): nothing changes."),
    (
        (2, 5, 1),
        2,
        "a heartbeat that vouches only through index 1 says nothing new about index 2, "
        "which this server already knows is committed: commitIndex never goes back.",
    ),
    ((4, 9, 6), 6, "min(9, 6) is 6."),
    ((0, 0, 0), 0, "nothing committed, nothing sent."),
]


@exercise(
    "10.follower_commit",
    "Write follower_commit(commit_index, leader_commit, last_new_index): a follower's "
    "commitIndex after it accepted an AppendEntries (AppendEntries rule 5); "
    "last_new_index is the index of the last entry the message vouched for "
    "(prevLogIndex + the number of entries it carried).",
    starter=function_starter("follower_commit", "commit_index", "leader_commit", "last_new_index"),
    hint="'If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last "
    "new entry)' (Figure 2); and commitIndex never decreases.",
    section="§5.3, Figure 2",
)
def _check_follower_commit(answer: Any) -> str:
    f = need_function(answer, "follower_commit", 3)
    _cases(f, _FOLLOWER_CASES, signature="follower_commit")
    return (
        "follower_commit is AppendEntries rule 5 with its min: a follower believes "
        "leaderCommit only as far as the leader's message vouched for its log."
    )


_LEADER_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (
        (2, [1, 1, 2], {2: 3, 3: 0}, 0),
        3,
        "the leader and S2 store entry 3, of the current term 2: a majority of 3.",
    ),
    (
        (4, [1, 2], {2: 2, 3: 2, 4: 1, 5: 1}, 1),
        1,
        "Figure 8 (c): entry 2 is on a majority, but it is of term 2, not the current term "
        "4. 'Raft never commits log entries from previous terms by counting replicas' "
        "(§5.4.2): a leader of term 3 could still overwrite it.",
    ),
    (
        (4, [1, 2, 4], {2: 3, 3: 3, 4: 1, 5: 1}, 1),
        3,
        "Figure 8 (e): entry 3, of term 4, is on a majority: commit it, and with it entry "
        "2 ('all prior entries are committed indirectly', §5.4.2).",
    ),
    (
        (3, [1, 1, 3], {2: 2, 3: 2}, 0),
        0,
        "entry 2 is on a majority but of term 1; entry 3, of term 3, is on the leader "
        "alone: nothing can be committed yet.",
    ),
    (
        (3, [1, 3, 3, 3], {2: 2, 3: 4, 4: 0, 5: 3}, 0),
        3,
        "three of five (the leader, S3, S5) store entry 3, of term 3; only two store entry "
        "4: commit through 3, the highest such N.",
    ),
    ((2, [1, 2], {2: 0, 3: 0}, 2), 2, "commitIndex never goes back."),
    ((2, [1, 2], {2: 1, 3: 1}, 1), 1, "entry 2 is on the leader alone: not a majority."),
    ((1, [1], {}, 0), 1, "a cluster of one server: the leader alone is a majority."),
    (
        (5, [1, 2, 5, 5], {2: 4, 3: 2, 4: 1}, 0),
        0,
        "4 servers: a majority is 3. Entry 4 is on 2 (the leader, S2), entry 2 on 3, "
        "but of term 2: nothing of term 5 is on 3 servers yet.",
    ),
]


@exercise(
    "10.leader_commit",
    "Write leader_commit(current_term, log_terms, match_index, commit_index): the "
    "leader's new commitIndex. log_terms[i - 1] is the term of its entry i; match_index "
    "maps each other server to the highest index it is known to store; the leader "
    "stores its whole log.",
    starter=function_starter(
        "leader_commit", "current_term", "log_terms", "match_index", "commit_index"
    ),
    hint="'If there exists an N such that N > commitIndex, a majority of matchIndex[i] >= "
    "N, and log[N].term == currentTerm: set commitIndex = N' (Figure 2). Count the leader "
    "itself; a majority of len(match_index) + 1 servers; take the highest such N.",
    section="§5.3, §5.4.2, Figure 8",
)
def _check_leader_commit(answer: Any) -> str:
    f = need_function(answer, "leader_commit", 4)
    _cases(f, _LEADER_CASES, signature="leader_commit")
    return (
        "leader_commit is the leader's rule of Figure 2, current term included: the "
        "sentence the commit_old_term switch breaks, and the answer to Figure 8."
    )


def lab_on(storage_name: str, seed: int) -> labs.LabReport:
    """The 6.5840 gallery with a handler of the storage gallery, on ``seed``."""
    return labs.run(storage=GALLERY[storage_name], seed=seed)


@functools.cache
def _lab_catches_term_after_vote(seed: int) -> bool:
    return not lab_on("TermAfterVote", seed).passed


prediction(
    "10.predict_lab",
    "TermAfterVote (lesson 04's gallery) stores the vote and the term in two writes, the "
    "term last. Do the 6.5840 tests catch it? (yes/no)",
    _lab_catches_term_after_vote,
    "No. Its bug shows only if the power goes between the two writes, inside one call of "
    "the storage handler; the 6.5840 tests crash a server only between calls (MIT's "
    "persister saves atomically), so they never see it. The explorer cuts the power "
    "inside storage calls too (cluster.cut_power), and finds it at once; so does "
    "le.check_storage. Tests check the runs someone thought of; a search tries runs "
    "nobody thought of.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. When do the lab's tests crash a server?",
    section="Figure 2 (persistent state)",
)
