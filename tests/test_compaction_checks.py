"""The checks with log compaction: Figure 3 (incremental and from scratch), durability
on restart, and the validation of what ``load_state`` returns with a snapshot.

No false alarm when a prefix lives only in a snapshot; real violations are still found,
with a sentence that says what happened.
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.check import (
    DURABILITY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
    SafetyChecker,
    scan,
)
from luminous_edu.check.durability import DurableState
from luminous_edu.core import (
    AppendEntries,
    CompactLog,
    Entry,
    InstallSnapshot,
    RequestVoteReply,
    SaveLog,
    SaveSnapshot,
    Server,
    StoredState,
)
from luminous_edu.storage import StoredStateError, validate_stored_state

CONFIG = {"voters": [1, 2, 3]}


# ----------------------------------------------------- Figure 3, incremental


def booted(sid: int, term: int, entries=()) -> Server:
    server = Server(sid, (1, 2, 3), StoredState(current_term=term, entries=entries))
    server.boot()
    return server


def test_an_installed_snapshot_takes_the_committed_prefix_and_entries_chain_on():
    checker = SafetyChecker((1, 2, 3))
    s1 = booted(1, 1)
    log = tuple(Entry(i, 1, f"x{i}") for i in (1, 2, 3))
    out = s1.handle(3, AppendEntries(1, 3, 0, 0, log, 3))
    assert checker.observe(1, s1, out) == []  # S1 commits 1..3
    s2 = booted(2, 1)
    snap = InstallSnapshot(1, 3, 3, 1, 0, ["x1", "x2", "x3"], True, CONFIG)
    assert checker.observe(2, s2, s2.handle(3, snap)) == []
    assert checker.prefix[2] == checker.prefix[1][:4]
    # The same entry 4 on both: no alarm. A different entry 4 of the same term: Log
    # Matching is broken, even though S2 holds entries 1..3 only in its snapshot.
    e4 = (Entry(4, 1, "x4"),)
    assert checker.observe(3, s1, s1.handle(3, AppendEntries(1, 3, 3, 1, e4, 3))) == []
    assert checker.observe(4, s2, s2.handle(3, AppendEntries(1, 3, 3, 1, e4, 3))) == []
    other = booted(3, 1, (*log, Entry(4, 1, "y4")))
    found = checker.restarted(5, other)
    assert [v.property for v in found] == [LOG_MATCHING]


def test_a_restart_from_a_snapshot_keeps_the_digests_of_the_compacted_prefix():
    checker = SafetyChecker((1, 2, 3))
    s1 = booted(1, 1)
    log = tuple(Entry(i, 1, f"x{i}") for i in (1, 2, 3, 4))
    checker.observe(1, s1, s1.handle(3, AppendEntries(1, 3, 0, 0, log, 4)))
    snap = SaveSnapshot(3, 1, ["x1", "x2", "x3"], CONFIG)
    again = Server(1, (1, 2, 3), StoredState(1, None, log[3:], snap))
    assert checker.restarted(2, again) == []
    assert checker.prefix[1][:4] == checker.committed[:4] and len(checker.prefix[1]) == 5


def test_a_leader_whose_snapshot_lacks_committed_entries_breaks_leader_completeness():
    checker = SafetyChecker((1, 2, 3))
    s1 = booted(1, 2)
    log = tuple(Entry(i, 1, f"x{i}") for i in (1, 2, 3))
    checker.observe(1, s1, s1.handle(3, AppendEntries(2, 3, 0, 0, log, 3)))
    # S2 comes back from an older snapshot with a different entry 3 and wins.
    snap = SaveSnapshot(2, 1, ["x1", "x2"], CONFIG)
    s2 = Server(2, (1, 2, 3), StoredState(2, None, (Entry(3, 2, "other"),), snap))
    s2.boot()
    checker.restarted(2, s2)
    s2.election_timeout()
    out = s2.handle(3, RequestVoteReply(term=3, vote_granted=True))
    found = checker.observe(3, s2, out)
    assert LEADER_COMPLETENESS in {v.property for v in found}


# ------------------------------------------ Figure 3 from scratch (scan)


def test_scan_compares_logs_by_index_where_both_hold_entries():
    a = [Entry(4, 1, "x4"), Entry(5, 2, "x5")]  # compacted through 3
    b = [Entry(i, 1, f"x{i}") for i in (1, 2, 3, 4)] + [Entry(5, 2, "x5")]
    assert scan(9, {1: a, 2: b}, {1: 5, 2: 5}, {1: (1,)}, {}, {}, snapshot_index={1: 3}) == []
    c = [Entry(i, 1, f"x{i}") for i in (1, 2, 3)] + [Entry(4, 1, "y4"), Entry(5, 2, "x5")]
    found = scan(9, {1: a, 3: c}, {1: 5, 3: 3}, {}, {}, {}, snapshot_index={1: 3})
    assert [v.property for v in found] == [LOG_MATCHING]


def test_scan_trusts_a_leaders_snapshot_for_committed_entries():
    leader_log = [Entry(4, 2, "x4")]
    follower = [Entry(i, 1, f"x{i}") for i in (1, 2, 3)] + [Entry(4, 2, "x4")]
    logs = {1: leader_log, 2: follower}
    assert scan(1, logs, {1: 4, 2: 4}, {}, {1: 2}, {}, snapshot_index={1: 3}) == []
    # Without the snapshot offset the leader really lacks entries 1..3.
    found = scan(1, logs, {1: 4, 2: 4}, {}, {1: 2}, {})
    assert [v.property for v in found] == [LEADER_COMPLETENESS]


def test_scan_state_machine_safety_with_unknown_terms():
    applied = {1: [Entry(3, None, "a")], 2: [Entry(3, 1, "a")], 3: [Entry(3, 1, "b")]}  # type: ignore[arg-type]
    found = scan(1, {1: [], 2: [], 3: []}, {1: 0, 2: 0, 3: 0}, {}, {}, applied)
    assert [v.property for v in found] == [STATE_MACHINE_SAFETY]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_incremental_and_scan_agree_on_compacting_runs_with_faults(seed: int):
    cluster = le.Cluster(servers=5, seed=seed, snapshot_threshold=3)
    for round_ in range(6):
        cluster.run(400)
        if cluster.leader is not None:
            for k in range(4):
                cluster.propose(f"r{round_}k{k}")
        victim = (round_ + seed) % 5 + 1
        if cluster.servers[victim].alive:
            cluster.crash(victim)
        else:
            cluster.restart(victim)
        if round_ == 2:
            cluster.disconnect(seed % 5 + 1)
        if round_ == 4:
            cluster.heal()
    for sid in cluster.ids:
        if not cluster.servers[sid].alive:
            cluster.restart(sid)
    cluster.run(2_000)
    assert cluster.violations == []
    assert cluster.check() == []
    assert any(e.rule == "SNAP" for e in cluster.trace)


class LosesItsSnapshot(le.DiskStorage):
    """Says it saved the snapshot, and forgets it."""

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        pass

    def load_state(self) -> StoredState:
        state = super().load_state()
        entries = list(state.entries)
        # Without the snapshot the compacted entries are gone: give back what is left,
        # renumbered from 1, as a sloppy handler might.
        renumbered = [Entry(i, e.term, e.data) for i, e in enumerate(entries, 1)]
        return StoredState(state.current_term, state.voted_for, renumbered)


def test_a_handler_that_loses_its_snapshot_is_found_on_restart():
    cluster = le.Cluster(servers=3, seed=2, storage=LosesItsSnapshot, snapshot_threshold=3)
    cluster.run_until(lambda c: c.leader is not None, 5_000)
    for k in range(5):
        cluster.propose(f"v{k}")
        cluster.run(30)
    cluster.run(200)
    sid = next(i for i in cluster.ids if i != cluster.leader)
    saved = cluster.servers[sid].snapshot_index
    cluster.crash(sid)
    cluster.restart(sid)
    details = [v.detail for v in cluster.violations if v.property == DURABILITY]
    assert details and details[0].startswith(
        f"S{sid} recovered no snapshot, but its snapshot through index {saved}"
    )


# ------------------------------------------------------ durability, unit


def test_durable_state_follows_snapshot_and_compaction():
    durable = DurableState(1, None, [Entry(i, 1, "x") for i in (1, 2, 3, 4)])
    durable.handled(SaveSnapshot(3, 1, ["x"], CONFIG))
    durable.handled(CompactLog(3))
    assert (durable.snapshot, durable.base, durable.terms) == ((3, 1), 3, [1])
    durable.handled(SaveLog(1, 5, "y"))
    snap = SaveSnapshot(3, 1, ["x"], CONFIG)
    ok = durable.recovered(9, 1, 1, None, [Entry(4, 1, "x"), Entry(5, 1, "y")], snap)
    assert ok == []
    lost = durable.recovered(9, 1, 1, None, [Entry(4, 1, "x")], snap)
    assert [v.detail for v in lost] == [
        "S1 recovered entries through index 4, but entry 5 (term 1) was saved"
    ]
    older = durable.recovered(9, 1, 1, None, [], SaveSnapshot(2, 1, [], CONFIG))
    assert older[0].detail.startswith(
        "S1 recovered a snapshot through index 2 (term 1), but its snapshot through index 3"
    )


def test_a_power_cut_between_snapshot_and_compaction_is_fine():
    durable = DurableState(1, None, [Entry(i, 1, "x") for i in (1, 2, 3, 4)])
    durable.handled(SaveSnapshot(3, 1, ["x"], CONFIG))
    durable.interrupted = CompactLog(3)
    snap = SaveSnapshot(3, 1, ["x"], CONFIG)
    assert durable.recovered(9, 1, 1, None, [Entry(4, 1, "x")], snap) == []


# ---------------------------------------- StoredState validation with snapshots


SNAP = SaveSnapshot(3, 1, ["s"], CONFIG)


def test_entries_at_or_before_the_snapshot_are_dropped_on_recovery():
    # A crash between SaveSnapshot and CompactLog leaves them (Figure 13, rule 6).
    entries = [Entry(i, 1, f"x{i}") for i in (1, 2, 3, 4)]
    state = validate_stored_state(StoredState(1, None, entries, SNAP))
    assert [e.index for e in state.entries] == [4] and state.snapshot == SNAP


def test_entries_that_disagree_with_the_snapshot_are_discarded():
    # Figure 13, rule 7: the entry at last_index has another term.
    entries = [Entry(i, 1 if i < 3 else 2, f"x{i}") for i in (1, 2, 3, 4)]
    snap = SaveSnapshot(3, 1, ["s"], CONFIG)
    state = validate_stored_state(StoredState(2, None, entries, snap))
    assert state.entries == []


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (StoredState(1, None, [], ("3", 1)), r"snapshot=\('3', 1\); expected None or the last"),
        (StoredState(1, None, [], SaveSnapshot(0, 1, [], CONFIG)), r"last_index=0; expected"),
        (StoredState(1, None, [], SaveSnapshot(3, 0, [], CONFIG)), r"last_term=0; expected"),
        (StoredState(1, None, [], SaveSnapshot(3, 2, [], CONFIG)), r"term 2 but current_term=1"),
        (StoredState(1, None, [], SaveSnapshot(3, 1, [], None)), r"config=None; expected"),
        (StoredState(1, None, [], SaveSnapshot(3, 1, [], {"voters": "1"})), r"config="),
        (
            StoredState(1, None, [Entry(6, 1, "x")], SNAP),
            r"has index 6; expected 4.*Entries 4..5 are missing and the snapshot ends at 3",
        ),
        (
            StoredState(1, None, [Entry(3, 1, "x")], None),
            r"Entries 1..2 are missing and there is no snapshot: that happens when "
            r"compact_log deletes past its bound .* or deletes entries before",
        ),
    ],
)
def test_bad_snapshots_are_refused_with_a_sentence(stored, message):
    with pytest.raises(StoredStateError, match=message):
        validate_stored_state(stored)


def test_a_bad_snapshot_on_restart_stops_that_server_with_a_clear_error():
    class BadSnapshot(le.DiskStorage):
        def load_state(self) -> StoredState:
            state = super().load_state()
            if state.snapshot is None:
                return state
            return StoredState(state.current_term, state.voted_for, [], ("broken",))

    cluster = le.Cluster(servers=3, seed=1, storage=BadSnapshot, snapshot_threshold=2)
    cluster.run_until(lambda c: c.leader is not None, 5_000)
    for k in range(3):
        cluster.propose(k)
        cluster.run(50)
    sid = next(i for i in cluster.ids if i != cluster.leader)
    cluster.crash(sid)
    cluster.restart(sid)
    assert not cluster.servers[sid].alive
    assert "load_state() returned snapshot=('broken',)" in str(cluster.errors[-1])
    cluster.run(300)
    assert cluster.leader is not None  # the others go on
