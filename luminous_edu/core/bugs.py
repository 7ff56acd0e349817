"""Not in the paper: switches that bring the classic Raft bugs back, on purpose.

Each switch names one rule that real implementations have got wrong, with the sentence
of the paper (or of Ongaro's thesis) that it breaks. A server built with
``bugs={"vote_twice", ...}`` breaks those rules, and nothing else: each place where a
switch acts is one short block beside the rule it breaks, marked ``BUG SWITCH``, that
quotes the sentence and does what the sentence forbids. When it does, the server records
a trace event ``BUG.<name>`` that says so, so that the dashboard shows the step where
the bug fired.

Switched off (the default) a switch costs one set lookup, on a path that is already the
unusual one (a stale reply, a refused vote, an entry of an earlier term), or after an
integer comparison that rules it out.

Where each switch acts:

- ``commit_old_term``: ``Server.advance_commit_index``;
- ``no_election_restriction`` and ``vote_twice``: ``Server.handle_request_vote``
  (``candidate_log_ok`` and ``voted_for_another``);
- ``delete_matching_entries`` and ``commit_past_last_new``:
  ``Server.handle_append_entries``;
- ``stale_replies``: ``Server.handle_request_vote_reply`` and
  ``Server.handle_append_entries_reply``;
- ``single_change_before_commit``: ``reconfiguration.refusal`` (and ``change``,
  ``caught_up_more``);
- ``read_without_quorum``: ``reads.serve``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

COMMIT_OLD_TERM = "commit_old_term"
NO_ELECTION_RESTRICTION = "no_election_restriction"
DELETE_MATCHING_ENTRIES = "delete_matching_entries"
VOTE_TWICE = "vote_twice"
COMMIT_PAST_LAST_NEW = "commit_past_last_new"
STALE_REPLIES = "stale_replies"
SINGLE_CHANGE_BEFORE_COMMIT = "single_change_before_commit"
READ_WITHOUT_QUORUM = "read_without_quorum"


class Bug(NamedTuple):
    """One classic bug: the rule it breaks, the sentence that rule says, where the
    paper says it, and what a server with the switch on does instead."""

    name: str
    rule: str
    sentence: str
    section: str
    instead: str

    def __str__(self) -> str:
        return f'"{self.sentence}" ({self.section})'


CATALOGUE: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug(
            COMMIT_OLD_TERM,
            "AdvanceCommitIndex",
            "Raft never commits log entries from previous terms by counting replicas. Only "
            "log entries from the leader's current term are committed by counting replicas",
            "§5.4.2, Figure 8",
            "a leader commits an entry of an earlier term as soon as a majority stores it",
        ),
        Bug(
            NO_ELECTION_RESTRICTION,
            "RequestVote receiver rule 2",
            "If votedFor is null or candidateId, and candidate's log is at least as "
            "up-to-date as receiver's log, grant vote",
            "§5.4.1, Figure 2",
            "a server grants its vote without comparing the candidate's log with its own",
        ),
        Bug(
            DELETE_MATCHING_ENTRIES,
            "AppendEntries receiver rule 3",
            "If an existing entry conflicts with a new one (same index but different terms), "
            "delete the existing entry and all that follow it",
            "§5.3, Figure 2",
            "a follower deletes every entry after the ones the leader sent, even entries "
            "that conflict with nothing (a late heartbeat cuts its log short)",
        ),
        Bug(
            VOTE_TWICE,
            "RequestVote receiver rule 2",
            "Each server will vote for at most one candidate in a given term, on a "
            "first-come-first-served basis",
            "§5.2, Figure 2",
            "a server grants its vote whatever votedFor holds",
        ),
        Bug(
            COMMIT_PAST_LAST_NEW,
            "AppendEntries receiver rule 5",
            "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of "
            "last new entry)",
            "§5.3, Figure 2",
            "a follower sets commitIndex = leaderCommit (as far as its log reaches), "
            "committing entries of its own that the leader never sent it",
        ),
        Bug(
            STALE_REPLIES,
            "the term check on replies",
            "A candidate wins an election if it receives votes from a majority of the "
            "servers in the full cluster for the same term",
            "§5.2",
            "a candidate counts votes, and a leader acknowledgements, that were given in an "
            "earlier term",
        ),
        Bug(
            SINGLE_CHANGE_BEFORE_COMMIT,
            "membership changes, one server at a time",
            "a leader may not append a new configuration entry until it has committed an "
            "entry from its current term",
            "thesis §4.1 (Ongaro's 2015 fix)",
            "a new leader changes the configuration before committing an entry of its term",
        ),
        Bug(
            READ_WITHOUT_QUORUM,
            "ReadIndex, step 3",
            "The leader needs to make sure it hasn't been superseded by a newer leader of "
            "which it is unaware. It issues a new round of heartbeats and waits for their "
            "acknowledgments from a majority of the cluster",
            "thesis §6.4, §8",
            "a leader answers a read at once, without confirming that it still leads",
        ),
    )
}


def check_bugs(bugs: Any) -> frozenset[str]:
    """The names in ``bugs`` as a frozenset, or ValueError naming what is wrong."""
    if isinstance(bugs, str) or not isinstance(bugs, Iterable):
        raise ValueError(
            f"bugs={bugs!r}: give a set of bug names, e.g. bugs={{'vote_twice'}}; the "
            f"names are {', '.join(CATALOGUE)}"
        )
    names = list(bugs)
    unknown = sorted({repr(n) for n in names if not isinstance(n, str) or n not in CATALOGUE})
    if unknown:
        raise ValueError(
            f"bugs: no classic bug is called {', '.join(unknown)}; the names are "
            f"{', '.join(CATALOGUE)}"
        )
    return frozenset(names)
