"""Storage messages: what a server asks its storage handler to make durable.

A server never writes stable storage itself. Figure 2 says its persistent state is
"updated on stable storage before responding to RPCs"; here the server emits these
messages and its storage handler (``luminous_edu.storage``) carries them out before
any message that depends on them leaves the server. They live in the core because the
core produces them; ``luminous_edu.storage`` re-exports them as the handler API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .messages import typed_equality

# Storage messages are typed named tuples, like the RPCs (see messages.py): cheap to
# build, immutable, and equal only to messages of the same type.


class SaveHardState(NamedTuple):
    """Make ``current_term`` and ``voted_for`` durable, together.

    ``current_term``: latest term the server has seen. ``voted_for``: the candidate that
    received the server's vote in ``current_term``, or None. Both must be on stable
    storage when the call returns (Figure 2), and a crash must never leave a vote
    attributed to the wrong term.
    """

    current_term: int
    voted_for: int | None


class SaveLog(NamedTuple):
    """Store this entry at ``index`` (1-based), replacing any entry stored there.

    ``data`` is stored exactly as given: it may be a client's command or one of the
    core's own marker values (a leader's no-op). Durable when the call returns.
    """

    term: int
    index: int  # type: ignore[assignment]  # shadows tuple.index
    data: Any


class TruncateLog(NamedTuple):
    """Delete every stored entry with index >= ``from_index`` (inclusive bound).

    Sent when a follower finds entries that conflict with its leader's (§5.3, receiver
    rule 3). Durable when the call returns.
    """

    from_index: int


class SaveSnapshot(NamedTuple):
    """Make this snapshot durable (log compaction, §7), replacing any older one.

    A snapshot stands for every log entry through ``last_index``: ``data`` is the
    state machine's state after applying them (a codec value, stored exactly as
    given), ``last_term`` the term of entry ``last_index`` (Figure 13: "the snapshot
    replaces all entries up through and including this index"), and ``config`` the
    cluster configuration as of that entry (a plain dict, ``{"voters": [1, 2, 3]}``).
    Durable when the call returns: the ``CompactLog`` that follows deletes the
    entries the snapshot replaces, and a follower acknowledges an installed snapshot
    right after.
    """

    last_index: int
    last_term: int
    data: Any
    config: Any


class CompactLog(NamedTuple):
    """Delete every stored entry with index <= ``through_index`` (inclusive bound).

    Always sent after the ``SaveSnapshot`` that covers those entries has returned, so
    the entries are never the only copy. Durable when the call returns. A handler that
    deletes too much is found on restart (entries after ``through_index`` are missing);
    entries it leaves at or before ``through_index`` are tolerated, as after a crash
    before the deletion (``StoredState`` drops them), and only take space.
    """

    through_index: int


class LoadState(NamedTuple):
    """Sent once when a server (re)starts: return a ``StoredState`` with everything
    that was made durable."""


@dataclass(frozen=True, slots=True)
class StoredState:
    """What ``load_state`` returns: the durable state a server recovers from.

    ``entries`` are ``Entry(index, term, data)`` values (or plain ``(index, term,
    data)`` tuples) in index order, with no gaps, starting at index 1. With log
    compaction, ``snapshot`` is the last ``SaveSnapshot`` saved (or None) and entries
    start at ``snapshot.last_index + 1``; entries a crash left behind at or before
    ``snapshot.last_index`` (a ``CompactLog`` not yet carried out) are tolerated and
    dropped when the server recovers.
    """

    current_term: int = 0
    voted_for: int | None = None
    entries: Sequence[Any] = field(default_factory=tuple)
    snapshot: SaveSnapshot | None = None


typed_equality(SaveHardState, SaveLog, TruncateLog, SaveSnapshot, CompactLog, LoadState)

StorageMessage = SaveHardState | SaveLog | TruncateLog | SaveSnapshot | CompactLog | LoadState
