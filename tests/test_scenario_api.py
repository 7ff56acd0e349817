"""Scenario building: what a port of etcd's paper tests needs.

``le.Cluster(..., initial_state={i: le.StoredState(...)})`` starts servers from given
terms, votes and logs (the paper's Figure 7 in one call); ``cluster.cut(a, b)`` and
``cluster.mend(a, b)`` act on one link; the RPC classes are exported at the top level;
``cluster.inject(source, target, message)`` delivers a hand-made message as one step.
All of it is recorded: an export loads and replays to the same trace digest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import luminous_edu as le


def replays(c: le.Cluster) -> None:
    loaded = le.Cluster.load(json.loads(json.dumps(c.export())))
    assert loaded.trace_digest() == c.trace_digest()
    assert [loaded.servers[i].log for i in loaded.ids] == [c.servers[i].log for i in c.ids]


def terms(c: le.Cluster, sid: int) -> list[int]:
    return [e.term for e in c.servers[sid].log]


# ---------------------------------------------------------------- Figure 7

LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIGURE_7 = {  # server: (current term, the terms of its log), S1 the leader-to-be
    1: (7, LEADER),
    2: (6, [1, 1, 1, 4, 4, 5, 5, 6, 6]),  # (a)
    3: (4, [1, 1, 1, 4]),  # (b)
    4: (6, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),  # (c)
    5: (7, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),  # (d)
    6: (4, [1, 1, 1, 4, 4, 4, 4]),  # (e)
    7: (3, [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),  # (f)
}


def log_of(log_terms: list[int]) -> list[le.Entry]:
    """Entries whose data names their index and term, so logs that share an entry
    share its data (Log Matching)."""
    return [le.Entry(i, t, f"{i}@{t}") for i, t in enumerate(log_terms, start=1)]


def figure_7() -> le.Cluster:
    return le.Cluster(
        servers=7,
        seed=1,
        initial_state={
            sid: le.StoredState(current_term=term, entries=log_of(log))
            for sid, (term, log) in FIGURE_7.items()
        },
    )


def test_figure_7_in_one_call() -> None:
    """Figure 7: "When the leader at the top comes to power, it is possible that any of
    scenarios (a-f) could occur in follower logs." """
    c = figure_7()
    assert c.step_count == 0
    for sid, (term, log) in FIGURE_7.items():
        assert c.servers[sid].current_term == term
        assert terms(c, sid) == log
        assert c.servers[sid].voted_for is None
        assert c.servers[sid].commit_index == 0
    assert c.violations == []
    replays(c)


def test_figure_7_the_leader_forces_its_log_on_every_follower() -> None:
    """§5.3: "the leader handles inconsistencies by forcing the followers' logs to
    duplicate its own": (c) and (d) lose their extra entries, (e) and (f) their
    conflicting ones, (a) and (b) get the ones they miss."""
    c = figure_7()
    c.timeout(1)  # S1 campaigns for term 8: (a), (b), (e) and (f) vote for it
    assert c.run_until(lambda c: c.leader == 1, 1000)
    assert c.servers[1].current_term == 8
    expected = [*LEADER, 8]  # and the new leader's no-op entry
    assert c.run_until(lambda c: all(terms(c, i) == expected for i in c.ids), 3000)
    assert all(c.servers[i].log == c.servers[1].log for i in c.ids)
    assert c.violations == []
    replays(c)


def test_initial_state_survives_a_restart_and_feeds_the_checks() -> None:
    state = le.StoredState(current_term=3, voted_for=2, entries=log_of([1, 2, 3]))
    c = le.Cluster(servers=3, seed=2, initial_state={2: state})
    assert (c.servers[2].current_term, c.servers[2].voted_for, terms(c, 2)) == (3, 2, [1, 2, 3])
    assert terms(c, 1) == [] and c.servers[1].current_term == 0
    c.crash(2)
    c.restart(2)
    assert (c.servers[2].current_term, c.servers[2].voted_for, terms(c, 2)) == (3, 2, [1, 2, 3])
    assert c.run_until(lambda c: c.leader is not None, 3000)
    assert c.leader == 2  # only its log is up to date enough for a majority
    c.run(300)
    assert all(terms(c, i)[:3] == [1, 2, 3] for i in c.ids)
    replays(c)


def test_initial_state_with_a_snapshot() -> None:
    snapshot = le.SaveSnapshot(
        last_index=2, last_term=1, data=["a", "b"], config={"voters": [1, 2, 3]}
    )
    state = le.StoredState(current_term=1, entries=[le.Entry(3, 1, "c")], snapshot=snapshot)
    c = le.Cluster(servers=3, seed=2, snapshot_threshold=5, initial_state={1: state, 2: state})
    assert c.servers[1].snapshot_index == 2 and terms(c, 1) == [1]
    assert list(c.state_machine(1)) == ["a", "b"]
    assert c.run_until(lambda c: c.leader in (1, 2), 3000)
    c.run(500)
    assert list(c.state_machine(3)) == ["a", "b", "c"]
    replays(c)


BAD_INITIAL: dict[str, tuple[Any, str]] = {
    "unknown server": ({9: le.StoredState()}, "9"),
    "not a dict": ([le.StoredState()], "initial_state"),
    "not a StoredState": ({1: {"current_term": 1}}, "StoredState"),
    "entries not a log": ({1: le.StoredState(2, None, [le.Entry(2, 1, "x")])}, "index"),
    "entry term past the current term": ({1: le.StoredState(1, None, log_of([2]))}, "term"),
    "vote for an unknown server": ({1: le.StoredState(1, 8, [])}, "voted_for"),
    "data the codec cannot carry": (
        {1: le.StoredState(1, None, [le.Entry(1, 1, {1, 2})])},
        "codec",
    ),
    "terms going down": ({1: le.StoredState(3, None, log_of([2, 1]))}, "term"),
}


@pytest.mark.parametrize("case", sorted(BAD_INITIAL))
def test_bad_initial_state_is_refused(case: str) -> None:
    value, word = BAD_INITIAL[case]
    with pytest.raises(le.LuminousError, match="initial_state") as info:
        le.Cluster(servers=3, initial_state=value)
    assert word in str(info.value)


# ----------------------------------------------------------- one link


def test_cut_and_mend_one_link() -> None:
    c = le.Cluster(servers=3, seed=1)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    leader = c.leader
    a, b = (i for i in c.ids if i != leader)
    c.cut(leader, a)
    assert c.link_cut(leader, a) and c.link_cut(a, leader)
    assert not c.link_cut(leader, b) and not c.link_cut(a, b)
    steps = c.step_count
    c.cut(a, leader)  # already cut: nothing happens
    assert c.step_count == steps
    start = c.step_count
    c.run(1000)
    lost = [e for e in c.trace.since(start + 1) if e.rule == "NET.cut"]
    assert lost and all({e.args[0], e.args[1]} == {leader, a} for e in lost)
    c.mend(a, leader)
    assert not c.link_cut(leader, a)
    c.cut(b, a)
    c.heal()  # heal mends every link
    assert not any(c.link_cut(x, y) for x in c.ids for y in c.ids if x != y)
    replays(c)
    assert any(e.rule == "CUT" for e in c.trace) and any(e.rule == "MEND" for e in c.trace)


@pytest.mark.parametrize(
    ("a", "b", "error"),
    [(1, 1, le.LuminousError), (1, 9, le.UnknownServerError), ("1", 2, le.UnknownServerError)],
)
def test_cut_refuses_what_is_not_a_link(a: Any, b: Any, error: type[Exception]) -> None:
    c = le.Cluster(servers=3, seed=1)
    with pytest.raises(error):
        c.cut(a, b)
    with pytest.raises(error):
        c.mend(a, b)
    assert c.step_count == 0


# ------------------------------------------------------------ messages


FIELDS = {
    le.RequestVote: (
        "term",
        "candidate_id",
        "last_log_index",
        "last_log_term",
        "pre_vote",
        "transfer",
    ),
    le.RequestVoteReply: ("term", "vote_granted", "pre_vote"),
    le.AppendEntries: (
        "term",
        "leader_id",
        "prev_log_index",
        "prev_log_term",
        "entries",
        "leader_commit",
        "read_round",
    ),
    le.AppendEntriesReply: (
        "term",
        "success",
        "match_index",
        "conflict_index",
        "conflict_term",
        "read_round",
    ),
    le.InstallSnapshot: (
        "term",
        "leader_id",
        "last_included_index",
        "last_included_term",
        "offset",
        "data",
        "done",
        "config",
    ),
    le.InstallSnapshotReply: ("term", "match_index"),
    le.TimeoutNow: ("term", "leader_id"),
}


def test_the_messages_are_exported_with_their_fields() -> None:
    for cls, fields in FIELDS.items():
        assert cls._fields == fields, cls.__name__
        assert cls.__doc__
        assert cls.__name__ in le.__all__


def test_inject_a_vote_request() -> None:
    c = le.Cluster(servers=3, seed=1)
    request = le.RequestVote(term=1, candidate_id=1, last_log_index=0, last_log_term=0)
    assert c.inject(1, 2, request) is None
    assert c.step_count == 1
    assert (c.servers[2].current_term, c.servers[2].voted_for) == (1, 1)
    assert [e.rule for e in c.trace.since(1)][:1] == ["USER.inject"]
    replies = [e for e in c.pending() if e.kind == "deliver"]
    assert [(e.source, e.target, type(e.message)) for e in replies] == [(2, 1, le.RequestVoteReply)]
    c.run(500)
    replays(c)


def test_inject_entries_that_a_follower_must_replace() -> None:
    """§5.3 by hand: a follower holding entries of a stale term gets a leader's
    AppendEntries that conflicts with them, and deletes them."""
    c = le.Cluster(
        servers=3,
        seed=4,
        initial_state={2: le.StoredState(2, None, log_of([1, 2, 2]))},
    )
    message = le.AppendEntries(
        term=3,
        leader_id=1,
        prev_log_index=1,
        prev_log_term=1,
        entries=(le.Entry(2, 3, "new"),),
        leader_commit=0,
    )
    c.inject(1, 2, message)
    assert terms(c, 2) == [1, 3]
    assert c.servers[2].log[-1].data == "new"
    replays(c)


def entries_of(*entries: Any) -> le.AppendEntries:
    return le.AppendEntries(
        term=1, leader_id=1, prev_log_index=0, prev_log_term=0, entries=entries, leader_commit=0
    )


BAD_INJECTIONS: dict[str, tuple[Any, Any, Any, str]] = {
    "not a message": (1, 2, "hello", "message"),
    "a dict": (1, 2, {"term": 1}, "message"),
    "unknown source": (9, 2, le.TimeoutNow(term=1, leader_id=1), "9"),
    "unknown target": (1, 0, le.TimeoutNow(term=1, leader_id=1), "0"),
    "to itself": (1, 1, le.TimeoutNow(term=1, leader_id=1), "itself"),
    "negative term": (1, 2, le.TimeoutNow(term=-1, leader_id=1), "term"),
    "a bool for a term": (1, 2, le.TimeoutNow(term=True, leader_id=1), "term"),
    "unknown leader": (1, 2, le.TimeoutNow(term=1, leader_id=7), "leader_id"),
    "entries not Entry": (1, 2, entries_of((1, 1, "x")), "le.Entry"),
    "entries not in order": (1, 2, entries_of(le.Entry(2, 1, "x")), "index"),
    "entry of a later term": (1, 2, entries_of(le.Entry(1, 5, "x")), "term"),
    "entry data the codec cannot carry": (1, 2, entries_of(le.Entry(1, 1, {1})), "codec"),
    "a string for a bool": (
        1,
        2,
        le.RequestVoteReply(term=1, vote_granted="yes"),
        "vote_granted",
    ),
    "a chunked snapshot": (
        1,
        2,
        le.InstallSnapshot(1, 1, 1, 1, offset=5, data=[], done=False, config={"voters": [1, 2, 3]}),
        "offset",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INJECTIONS))
def test_malformed_injections_are_refused(case: str) -> None:
    source, target, message, word = BAD_INJECTIONS[case]
    c = le.Cluster(servers=3, seed=1)
    c.run(100)
    before = (c.step_count, c.trace_digest(), c.pending())
    with pytest.raises(le.LuminousError) as info:
        c.inject(source, target, message)
    assert word in str(info.value)
    assert (c.step_count, c.trace_digest(), c.pending()) == before


def test_inject_to_a_server_that_is_down() -> None:
    c = le.Cluster(servers=3, seed=1)
    c.crash(2)
    with pytest.raises(le.InvalidActionError, match="down"):
        c.inject(1, 2, le.TimeoutNow(term=1, leader_id=1))
