"""The RPCs of Figure 2, as frozen messages.

Field comments are the paper's own descriptions. Fields the paper does not have are
marked "Not in Figure 2". Messages are immutable and shared between the sender, the
network and the receiver; nothing ever changes one after it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .log import Entry


class _Immutable:
    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestVote(_Immutable):
    """Invoked by candidates to gather votes (§5.2)."""

    term: int  # candidate's term
    candidate_id: int  # candidate requesting vote
    last_log_index: int  # index of candidate's last log entry (§5.4)
    last_log_term: int  # term of candidate's last log entry (§5.4)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestVoteReply(_Immutable):
    """The result of a RequestVote RPC (§5.2)."""

    term: int  # currentTerm, for candidate to update itself
    vote_granted: bool  # true means candidate received vote


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendEntries(_Immutable):
    """Invoked by leader to replicate log entries (§5.3); also used as heartbeat (§5.2)."""

    term: int  # leader's term
    leader_id: int  # so follower can redirect clients
    prev_log_index: int  # index of log entry immediately preceding new ones
    prev_log_term: int  # term of prev_log_index entry
    entries: tuple[Entry, ...]  # log entries to store (empty for heartbeat)
    leader_commit: int  # leader's commit_index


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendEntriesReply(_Immutable):
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


Message = RequestVote | RequestVoteReply | AppendEntries | AppendEntriesReply


def message_name(message: object) -> str:
    return type(message).__name__
