"""Checking what ``load_state()`` returned: one function for the cluster and for
``check_storage``.

A restarting server trusts nothing a student's handler gives back until this says it
is a ``StoredState`` a server can start from. With log compaction (§7) the recovered
state is a snapshot plus the entries after it. A crash between ``SaveSnapshot`` and
``CompactLog`` legitimately leaves entries the snapshot already covers; they are
dropped here by Figure 13's rules 6 and 7 (``core.snapshots.entries_after_snapshot``,
the one rule recovery and the durability check share): entries after the snapshot
stay only if the entry at its last included index has its last included term.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.log import check_entries
from ..core.membership import Configuration
from ..core.persistence import SaveSnapshot, StoredState
from ..core.snapshots import entries_after_snapshot
from .render import shorten

#: No term or index a server recovers is larger (a number that long cannot be a log's).
LARGEST = 10**15


class StoredStateError(ValueError):
    """What ``load_state()`` returned cannot be recovered from. The message completes
    the sentence "load_state() returned ..."."""


def validate_stored_state(
    stored: Any,
    ids: Iterable[int] | None = None,
    monotonic: bool = True,
    max_index: int | None = None,
) -> StoredState:
    """``stored`` checked and normalised (entries as ``Entry`` values, starting right
    after the snapshot), or ``StoredStateError`` saying what is wrong and what was
    expected. ``ids``: the servers a vote or a snapshot's configuration may name (any
    id >= 1 if None). ``monotonic=False`` lets terms decrease along the log, so that a
    simulation can show what a handler that ignores ``TruncateLog`` does. ``max_index``:
    the highest index any log has held, which no snapshot can be past."""
    if not isinstance(stored, StoredState):
        raise StoredStateError(
            f"{_short(stored)} ({type(stored).__name__}); it must return "
            "le.StoredState(current_term, voted_for, entries)"
        )
    term, vote = stored.current_term, stored.voted_for
    if type(term) is not int or not 0 <= term <= LARGEST:
        raise StoredStateError(
            f"current_term={_short(term)}; expected a whole number >= 0 (0 on a fresh "
            "disk), the current_term of the last SaveHardState"
        )
    allowed = None if ids is None else sorted(ids)
    if vote is not None and (
        type(vote) is not int or vote < 1 or (allowed is not None and vote not in allowed)
    ):
        which = "a server id" if allowed is None else f"a server id in {allowed}"
        raise StoredStateError(
            f"voted_for={_short(vote)}; expected None or {which}, the voted_for of the "
            "last SaveHardState"
        )
    snapshot = _checked_snapshot(stored.snapshot, term, allowed, max_index)
    try:
        raw = list(stored.entries)
    except TypeError:
        raise StoredStateError(
            f"entries={_short(stored.entries)}; expected a list of le.Entry(index, term, data)"
        ) from None
    first = 1
    if snapshot is not None and raw:
        start = _first_index(raw)
        if start is not None and 1 <= start <= snapshot.last_index + 1:
            first = start
        else:
            first = snapshot.last_index + 1
    try:
        entries = check_entries(raw, first_index=first, monotonic=monotonic)
    except ValueError as error:
        raise StoredStateError(
            f"entries that are not a log: {error}{_gap_hint(raw, snapshot)}"
        ) from None
    highest = max((e.term for e in entries), default=0)
    if highest > term:
        raise StoredStateError(
            f"an entry of term {highest} but current_term={term}; a server never "
            "stores an entry from a term later than its own"
        )
    if snapshot is not None:
        entries = entries_after_snapshot(entries, snapshot.last_index, snapshot.last_term)
    return StoredState(term, vote, entries, snapshot)


def _checked_snapshot(
    snapshot: Any, term: int, ids: list[int] | None, max_index: int | None
) -> SaveSnapshot | None:
    if snapshot is None:
        return None
    if not isinstance(snapshot, SaveSnapshot):
        raise StoredStateError(
            f"snapshot={_short(snapshot)}; expected None or the last snapshot saved, as "
            "le.SaveSnapshot(last_index, last_term, data, config)"
        )
    last_index, last_term, config = snapshot.last_index, snapshot.last_term, snapshot.config
    if type(last_index) is not int or not 1 <= last_index <= LARGEST:
        raise StoredStateError(
            f"a snapshot with last_index={_short(last_index)}; expected a whole number "
            ">= 1, the last_index of the last SaveSnapshot"
        )
    if type(last_term) is not int or not 1 <= last_term <= LARGEST:
        raise StoredStateError(
            f"a snapshot with last_term={_short(last_term)}; expected a whole number "
            ">= 1, the last_term of the last SaveSnapshot"
        )
    if last_term > term:
        raise StoredStateError(
            f"a snapshot whose last entry has term {last_term} but current_term={term}; "
            "a server never stores an entry from a term later than its own"
        )
    if max_index is not None and last_index > max_index:
        raise StoredStateError(
            f"a snapshot through index {last_index}, past the end of every log in the "
            f"cluster (the longest ever reached index {max_index}); expected the "
            "last_index of the last SaveSnapshot"
        )
    voters = config.get("voters") if type(config) is dict else None
    if type(voters) is not list or not voters or not all(type(v) is int for v in voters):
        raise StoredStateError(
            f"a snapshot with config={_short(config)}; expected the config of the last "
            'SaveSnapshot, a dict such as {"voters": [1, 2, 3]}, stored as given'
        )
    try:
        parsed = Configuration.from_data(config)
    except ValueError as error:
        raise StoredStateError(
            f"a snapshot with config={_short(config)}: {error}; expected the config of "
            "the last SaveSnapshot, stored as given"
        ) from None
    members = {*parsed.voters, *parsed.learners, *(parsed.old_voters or ()), *parsed.joining}
    unknown = sorted(members - set(ids)) if ids is not None else []
    if unknown:
        raise StoredStateError(
            f"a snapshot with config={_short(config)}, which names server "
            f"{', '.join(str(i) for i in unknown)}, not in this cluster (its servers are "
            f"{', '.join(str(i) for i in ids or ())}); expected the config of the last "
            "SaveSnapshot, stored as given"
        )
    return snapshot


def _first_index(raw: list[Any]) -> int | None:
    try:
        index = raw[0][0]
    except (TypeError, IndexError, KeyError):
        return None
    return index if type(index) is int else None


def _gap_hint(raw: list[Any], snapshot: SaveSnapshot | None) -> str:
    """Why entries might start too late: compaction past its bound, or without a
    durable snapshot (one load cannot tell which)."""
    start = _first_index(raw)
    expected = 1 if snapshot is None else snapshot.last_index + 1
    if start is None or start <= expected:
        return ""
    where = "there is no snapshot" if snapshot is None else f"the snapshot ends at {expected - 1}"
    missing = (
        f"Entry {expected} is"
        if start - 1 == expected
        else (f"Entries {expected}..{start - 1} are")
    )
    return (
        f". {missing} missing and {where}: that happens when compact_log deletes past "
        "its bound (CompactLog(through_index=n) deletes entries with index <= n only), "
        "or deletes entries before the snapshot covering them is durable (save_snapshot "
        "must write it and sync before returning)"
    )


def _short(value: Any) -> str:
    return shorten(repr(value))
