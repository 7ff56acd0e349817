"""The RPCs of Figure 2, as frozen messages.

Field comments are the paper's own descriptions. Fields the paper does not have are
marked "Not in Figure 2". Messages are immutable and shared between the sender, the
network and the receiver; nothing ever changes one after it is built.

They are typed named tuples rather than frozen dataclasses: building one costs a third
as much, and the simulator builds one for nearly every step. ``typed_equality`` makes
two messages equal only if they are of the same type, as dataclasses would be.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .log import Entry


def _typed_eq(self: tuple[Any, ...], other: object) -> bool:
    return type(self) is type(other) and tuple.__eq__(self, other)


def _typed_ne(self: tuple[Any, ...], other: object) -> bool:
    return not _typed_eq(self, other)


def _typed_hash(self: tuple[Any, ...]) -> int:
    return hash((type(self).__name__, tuple(self)))


def typed_equality(*classes: type) -> None:
    """Make named-tuple messages compare equal only to messages of the same type."""
    for cls in classes:
        cls.__eq__ = _typed_eq  # type: ignore[assignment,method-assign]
        cls.__ne__ = _typed_ne  # type: ignore[assignment,method-assign]
        cls.__hash__ = _typed_hash  # type: ignore[assignment,method-assign]


class RequestVote(NamedTuple):
    """Invoked by candidates to gather votes (§5.2)."""

    term: int  # candidate's term
    candidate_id: int  # candidate requesting vote
    last_log_index: int  # index of candidate's last log entry (§5.4)
    last_log_term: int  # term of candidate's last log entry (§5.4)
    # Not in Figure 2: a PreVote (thesis §9.6) asks "would you vote for me in `term`?"
    # and changes nothing at the receiver.
    pre_vote: bool = False
    # Not in Figure 2: an election started by TimeoutNow (leadership transfer, thesis
    # §3.10), which CheckQuorum's leader stickiness lets through.
    transfer: bool = False


class RequestVoteReply(NamedTuple):
    """The result of a RequestVote RPC (§5.2)."""

    term: int  # currentTerm, for candidate to update itself
    vote_granted: bool  # true means candidate received vote
    pre_vote: bool = False  # Not in Figure 2: the answer to a PreVote


class TimeoutNow(NamedTuple):
    """Not in Figure 2: sent by a leader handing over leadership (thesis §3.10): start
    an election now, without waiting for the election timer."""

    term: int  # leader's term
    leader_id: int  # the leader handing over


class AppendEntries(NamedTuple):
    """Invoked by leader to replicate log entries (§5.3); also used as heartbeat (§5.2)."""

    term: int  # leader's term
    leader_id: int  # so follower can redirect clients
    prev_log_index: int  # index of log entry immediately preceding new ones
    prev_log_term: int  # term of prev_log_index entry
    entries: tuple[Entry, ...]  # log entries to store (empty for heartbeat)
    leader_commit: int  # leader's commit_index
    # Not in Figure 2: the leader's latest ReadIndex round (thesis §6.4); a follower's
    # reply echoes it, confirming that the leader still led when it was sent.
    read_round: int = 0


class AppendEntriesReply(NamedTuple):
    """The result of an AppendEntries RPC (§5.3)."""

    term: int  # currentTerm, for leader to update itself
    success: bool  # true if follower contained entry matching prev_log_index and prev_log_term
    # Not in Figure 2: the last index known to match the leader's log, so a leader can
    # tell replies to reordered or duplicated requests apart.
    match_index: int = 0
    # Not in Figure 2: the fast-backtracking hint sketched at the end of §5.3. With
    # conflict_term None the follower's log is too short and ends before conflict_index;
    # otherwise conflict_index is the first index it stores for conflict_term.
    conflict_index: int = 0
    conflict_term: int | None = None
    read_round: int = 0  # Not in Figure 2: the request's read_round, echoed


class InstallSnapshot(NamedTuple):
    """Invoked by leader to send chunks of a snapshot to a follower. Leaders always
    send chunks in order (§7, Figure 13).

    Here a snapshot always travels whole, in one chunk: ``offset`` is 0 and ``done``
    is true. A leader sends one when a follower needs entries it has already compacted
    away (``next_index`` at or before the leader's ``snapshot_index``).
    """

    term: int  # leader's term
    leader_id: int  # so follower can redirect clients
    last_included_index: int  # the snapshot replaces all entries up through this index
    last_included_term: int  # term of last_included_index
    offset: int  # byte offset where chunk is positioned in the snapshot file (always 0)
    data: Any  # raw bytes of the snapshot chunk (here: the state machine's snapshot value)
    done: bool  # true if this is the last chunk (always true)
    # Not a field of Figure 13's RPC, but part of the snapshot (§7): "the latest
    # configuration as of the last included index".
    config: Any = None


class InstallSnapshotReply(NamedTuple):
    """The result of an InstallSnapshot RPC (Figure 13)."""

    term: int  # currentTerm, for leader to update itself
    # Not in Figure 13: the last index known to match the leader's log (the snapshot's
    # last included index), so the leader can update matchIndex and nextIndex.
    match_index: int = 0


typed_equality(
    RequestVote,
    RequestVoteReply,
    AppendEntries,
    AppendEntriesReply,
    TimeoutNow,
    InstallSnapshot,
    InstallSnapshotReply,
)

Message = (
    RequestVote
    | RequestVoteReply
    | AppendEntries
    | AppendEntriesReply
    | TimeoutNow
    | InstallSnapshot
    | InstallSnapshotReply
)


def message_name(message: object) -> str:
    return type(message).__name__
