"""The Raft log: entries in index order, behind a first-index offset.

Figure 2 calls it ``log[]``: "log entries; each entry contains command for state
machine, and term when entry was received by leader (first index is 1)". Indexes are
1-based. The structure keeps an offset (``snapshot_index`` / ``snapshot_term``) so that
log compaction (§7) drops a prefix without renumbering anything: after
``compact_through(n, t)`` the entries through index n are gone, ``term_at(n)`` is t
(the snapshot's "last included term"), and ``entries[0]`` is entry n + 1.

Entries are immutable and the core never mutates their ``data``, so a log can share
entry objects with the messages that carried them and with checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

# No-op and configuration entries travel through storage as ordinary entries whose
# ``data`` is a dict carrying this key. ``propose`` refuses any value that looks like
# one, so a student's handler can store ``SaveLog.data`` exactly as it gets it.
MARKER_KEY = "__raft__"
MARKER_KINDS = ("noop", "config")


def noop_data() -> dict[str, str]:
    """The data of a leader's no-op entry (§8)."""
    return {MARKER_KEY: "noop"}


def looks_like_marker(data: Any) -> bool:
    """True for values that the core would mistake for one of its own entries."""
    return isinstance(data, dict) and MARKER_KEY in data


def stable_repr(value: Any) -> str:
    """``repr`` that is the same in every process: set elements are sorted, since the
    order of a set of strings depends on the process's hash seed."""
    kind = type(value)
    if kind in (set, frozenset):
        inner = ", ".join(sorted(stable_repr(v) for v in value))
        return f"{kind.__name__}({{{inner}}})"
    if kind is list:
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    if kind is tuple:
        return "(" + "".join(stable_repr(v) + ", " for v in value) + ")"
    if kind is dict:
        return (
            "{" + ", ".join(f"{stable_repr(k)}: {stable_repr(v)}" for k, v in value.items()) + "}"
        )
    return repr(value)


class Entry(NamedTuple):
    """One log entry: its position, the term it was created in, and its data."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the paper names it
    term: int
    data: Any

    @property
    def kind(self) -> str:
        """``"command"`` for client data, ``"noop"`` for a new leader's empty entry,
        ``"config"`` for a configuration (membership changes, §6)."""
        data = self.data
        if type(data) is dict and data.get(MARKER_KEY) in MARKER_KINDS:
            return str(data[MARKER_KEY])
        return "command"

    def __deepcopy__(self, memo: dict[int, Any]) -> Entry:
        # Entries are immutable inside the cluster; sharing them is safe.
        return self


class RaftLog:
    """A server's log. ``entries[k]`` holds index ``snapshot_index + k + 1``."""

    __slots__ = ("entries", "snapshot_index", "snapshot_term")

    def __init__(
        self, entries: Iterable[Entry] = (), snapshot_index: int = 0, snapshot_term: int = 0
    ) -> None:
        self.snapshot_index = snapshot_index
        self.snapshot_term = snapshot_term
        self.entries: list[Entry] = list(entries)

    def clone(self) -> RaftLog:
        return RaftLog(self.entries, self.snapshot_index, self.snapshot_term)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def first_index(self) -> int:
        return self.snapshot_index + 1

    @property
    def last_index(self) -> int:
        return self.snapshot_index + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; None if there is no such entry."""
        offset = index - self.snapshot_index
        if offset == 0:
            return self.snapshot_term
        if 0 < offset <= len(self.entries):
            return self.entries[offset - 1].term
        return None

    def entry(self, index: int) -> Entry:
        return self.entries[index - self.snapshot_index - 1]

    def slice(self, start: int, stop: int) -> tuple[Entry, ...]:
        """Entries with ``start <= index < stop``."""
        base = self.snapshot_index + 1
        return tuple(self.entries[max(start - base, 0) : max(stop - base, 0)])

    def matches(self, index: int, term: int) -> bool:
        """True if the log holds an entry at ``index`` whose term is ``term``."""
        return self.term_at(index) == term

    def append(self, entry: Entry) -> None:
        self.entries.append(entry)

    def truncate_from(self, index: int) -> None:
        """Delete the entry at ``index`` and every entry after it."""
        del self.entries[index - self.snapshot_index - 1 :]

    def compact_through(self, index: int, term: int) -> None:
        """Log compaction (§7): drop every entry through ``index``, which a snapshot
        now stands for; ``term`` is the term of the entry at ``index``. Entries after
        ``index`` stay. If the log ends before ``index`` it becomes empty."""
        del self.entries[: max(index - self.snapshot_index, 0)]
        self.snapshot_index = index
        self.snapshot_term = term

    def first_index_of_term_at(self, index: int) -> int:
        """The first index of the run of entries that share the term at ``index``."""
        term = self.term_at(index)
        while index - 1 > self.snapshot_index and self.term_at(index - 1) == term:
            index -= 1
        return index

    def last_index_of_term(self, term: int) -> int | None:
        """The last index whose entry has ``term``, or None if the log has none."""
        for k in range(len(self.entries) - 1, -1, -1):
            if self.entries[k].term == term:
                return self.snapshot_index + k + 1
        return None

    def is_up_to_date(self, last_log_index: int, last_log_term: int) -> bool:
        """§5.4.1: is a log ending at (``last_log_index``, ``last_log_term``) at least
        as up-to-date as this one? "If the logs have last entries with different terms,
        then the log with the later term is more up-to-date. If the logs end with the
        same term, then whichever log is longer is more up-to-date." """
        mine = self.last_term
        if last_log_term != mine:
            return last_log_term > mine
        return last_log_index >= self.last_index


def check_entries(
    entries: Sequence[Any], first_index: int = 1, monotonic: bool = True
) -> list[Entry]:
    """Turn what storage returned into ``Entry`` objects, or raise ValueError saying
    what is wrong: indexes must run from ``first_index`` without gaps, terms must be
    positive whole numbers and (if ``monotonic``) never decrease. A simulator passes
    ``monotonic=False`` to let a buggy handler's log through, so that the safety
    checks can show what it does."""
    result: list[Entry] = []
    previous_term = 0
    for position, raw in enumerate(entries):
        try:
            index, term, data = raw
        except (TypeError, ValueError):
            raise ValueError(
                f"item {position} of entries is {raw!r}; expected an "
                "Entry(index, term, data) or an (index, term, data) tuple"
            ) from None
        expected = first_index + position
        if type(index) is not int or index != expected:
            raise ValueError(
                f"item {position} of entries has index {index!r}; expected {expected} "
                f"(entries must be in index order with no gaps, starting at {first_index})"
            )
        if type(term) is not int or term < 1:
            raise ValueError(f"entry {index} has term {term!r}; expected a whole number >= 1")
        if monotonic and term < previous_term:
            raise ValueError(
                f"entry {index} has term {term}, lower than term {previous_term} of the "
                "entry before it; terms never decrease along a log"
            )
        previous_term = term
        result.append(Entry(index, term, data))
    return result
