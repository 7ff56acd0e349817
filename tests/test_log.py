"""The Raft log (``RaftLog``) and the check on entries that storage returns.

Figure 2, State: "log[]: log entries; each entry contains command for state machine, and
term when entry was received by leader (first index is 1)".
"""

from __future__ import annotations

import re

import pytest

from luminous_edu.core import Entry, RaftLog
from luminous_edu.core.log import check_entries


def raft_log(*terms: int) -> RaftLog:
    return RaftLog(Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=1))


def compacted(snapshot_index: int, snapshot_term: int, *terms: int) -> RaftLog:
    """A log whose first ``snapshot_index`` entries live in a snapshot (§7)."""
    first = snapshot_index + 1
    entries = (Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=first))
    return RaftLog(entries, snapshot_index=snapshot_index, snapshot_term=snapshot_term)


# ------------------------------------------------------------------ RaftLog


def test_empty_log_has_index_and_term_zero():
    log = RaftLog()

    assert (log.first_index, log.last_index, log.last_term, len(log)) == (1, 0, 0, 0)
    assert log.term_at(0) == 0
    assert log.term_at(1) is None


def test_term_at():
    log = raft_log(1, 1, 2)

    assert [log.term_at(i) for i in range(5)] == [0, 1, 1, 2, None]
    assert (log.last_index, log.last_term) == (3, 2)


def test_term_at_after_compaction():
    log = compacted(5, 2, 2, 3)  # snapshot through 5 (term 2), then entries 6 and 7

    assert [log.term_at(i) for i in range(3, 9)] == [None, None, 2, 2, 3, None]
    assert (log.first_index, log.last_index, log.last_term) == (6, 7, 3)
    assert log.entry(7) == Entry(7, 3, "x7")


def test_matches_is_the_append_entries_consistency_check():
    """AppendEntries receiver rule 2 asks whether the log "contain[s] an entry at
    prevLogIndex whose term matches prevLogTerm" (§5.3); index 0 always matches."""
    log = raft_log(1, 2)

    assert log.matches(0, 0)
    assert log.matches(2, 2)
    assert not log.matches(2, 1)
    assert not log.matches(3, 2)  # no entry there at all
    assert not log.matches(3, 0)


def test_slice_returns_entries_from_start_up_to_stop():
    log = raft_log(1, 1, 2, 3)
    entries = tuple(log.entries)

    assert log.slice(2, 4) == entries[1:3]
    assert log.slice(1, 5) == entries
    assert log.slice(3, 99) == entries[2:]
    assert log.slice(5, 9) == ()
    assert log.slice(3, 3) == ()
    assert isinstance(log.slice(1, 2), tuple)


def test_slice_starting_before_first_index_returns_the_entries_held():
    """``slice(start, stop)`` is documented as "Entries with start <= index < stop":
    a start below the first index must not wrap around to the end of the log."""
    log = raft_log(1, 1, 2, 3)

    assert log.slice(0, 3) == tuple(log.entries[:2])
    assert log.slice(0, 9) == tuple(log.entries)


def test_slice_after_compaction():
    log = compacted(5, 2, 2, 3, 3)

    assert log.slice(6, 8) == (Entry(6, 2, "x6"), Entry(7, 3, "x7"))
    assert log.slice(8, 20) == (Entry(8, 3, "x8"),)


def test_truncate_from_deletes_the_entry_and_all_that_follow():
    log = raft_log(1, 1, 2, 3)

    log.truncate_from(3)

    assert log.entries == [Entry(1, 1, "x1"), Entry(2, 1, "x2")]
    assert (log.last_index, log.last_term) == (2, 1)


def test_truncate_from_past_the_end_changes_nothing():
    log = raft_log(1, 2)

    log.truncate_from(3)

    assert [e.index for e in log.entries] == [1, 2]


def test_truncate_from_first_index_empties_the_log():
    log = raft_log(1, 2)

    log.truncate_from(1)

    assert (len(log), log.last_index, log.last_term) == (0, 0, 0)


def test_clone_is_independent():
    log = raft_log(1, 2)
    twin = log.clone()

    twin.truncate_from(1)
    twin.append(Entry(1, 5, "z"))

    assert [e.term for e in log.entries] == [1, 2]


def test_last_index_of_term():
    """The leader's side of fast backtracking (end of §5.3)."""
    log = raft_log(1, 1, 2, 2, 4)

    assert log.last_index_of_term(1) == 2
    assert log.last_index_of_term(2) == 4
    assert log.last_index_of_term(4) == 5
    assert log.last_index_of_term(3) is None
    assert log.last_index_of_term(5) is None
    assert RaftLog().last_index_of_term(1) is None


def test_first_index_of_term_at():
    """The follower's side of fast backtracking (end of §5.3): "the first index it stores
    for that term"."""
    log = raft_log(1, 1, 2, 2, 2, 4)

    assert [log.first_index_of_term_at(i) for i in range(1, 7)] == [1, 1, 3, 3, 3, 6]


def test_first_index_of_term_at_stops_at_first_index_after_compaction():
    log = compacted(5, 2, 2, 2, 3)

    assert log.first_index_of_term_at(7) == 6
    assert log.first_index_of_term_at(8) == 8


@pytest.mark.parametrize(
    ("last_index", "last_term", "expected"),
    [
        (2, 3, True),  # later last term wins, even when shorter
        (9, 1, False),  # older last term loses, even when longer
        (4, 2, True),  # same last term, longer
        (3, 2, True),  # same last term, same length: "at least as up-to-date"
        (2, 2, False),  # same last term, shorter
    ],
)
def test_is_up_to_date(last_index, last_term, expected):
    """§5.4.1: "If the logs have last entries with different terms, then the log with the
    later term is more up-to-date. If the logs end with the same term, then whichever log
    is longer is more up-to-date." The question asked: is the candidate's log (ending at
    last_index, last_term) at least as up-to-date as this one?"""
    log = raft_log(1, 1, 2)

    assert log.is_up_to_date(last_index, last_term) is expected


def test_any_log_is_at_least_as_up_to_date_as_an_empty_one():
    assert RaftLog().is_up_to_date(0, 0)
    assert RaftLog().is_up_to_date(1, 1)
    assert not raft_log(1).is_up_to_date(0, 0)


# ------------------------------------------------------------ check_entries


def test_check_entries_accepts_entries_and_plain_tuples():
    result = check_entries([Entry(1, 1, "a"), (2, 1, "b"), [3, 2, None]])

    assert result == [Entry(1, 1, "a"), Entry(2, 1, "b"), Entry(3, 2, None)]
    assert all(type(e) is Entry for e in result)
    assert check_entries([]) == []


def test_check_entries_from_a_later_first_index():
    assert check_entries([(6, 2, "a")], first_index=6) == [Entry(6, 2, "a")]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [(1, 1)],
            "item 0 of entries is (1, 1); expected an Entry(index, term, data) or an "
            "(index, term, data) tuple",
        ),
        (
            [(1, 1, "a"), 7],
            "item 1 of entries is 7; expected an Entry(index, term, data) or an "
            "(index, term, data) tuple",
        ),
        (
            [(1, 1, "a"), (3, 1, "b")],
            "item 1 of entries has index 3; expected 2 (entries must be in index order "
            "with no gaps, starting at 1)",
        ),
        (
            [(0, 1, "a")],
            "item 0 of entries has index 0; expected 1 (entries must be in index order "
            "with no gaps, starting at 1)",
        ),
        (
            [(True, 1, "a")],
            "item 0 of entries has index True; expected 1 (entries must be in index order "
            "with no gaps, starting at 1)",
        ),
        ([(1, 0, "a")], "entry 1 has term 0; expected a whole number >= 1"),
        ([(1, "1", "a")], "entry 1 has term '1'; expected a whole number >= 1"),
        ([(1, 1.0, "a")], "entry 1 has term 1.0; expected a whole number >= 1"),
        ([(1, True, "a")], "entry 1 has term True; expected a whole number >= 1"),
        (
            [(1, 2, "a"), (2, 1, "b")],
            "entry 2 has term 1, lower than term 2 of the entry before it; terms never "
            "decrease along a log",
        ),
    ],
    ids=[
        "pair",
        "not-iterable",
        "gap",
        "starts-at-0",
        "bool-index",
        "term-0",
        "str-term",
        "float-term",
        "bool-term",
        "term-decreases",
    ],
)
def test_check_entries_says_what_is_wrong(entries, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_entries(entries)
