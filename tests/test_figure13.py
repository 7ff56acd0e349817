"""Figure 13 of the Raft paper (InstallSnapshot, §7), one test per sentence.

"Receiver implementation: 1. Reply immediately if term < currentTerm. 2. Create new
snapshot file if first chunk (offset is 0). 3. Write data into snapshot file at given
offset. 4. Reply and wait for more data chunks if done is false. 5. Save snapshot file,
discard any existing or partial snapshot with a smaller index. 6. If existing log entry
has same index and term as snapshot's last included entry, retain log entries
following it and reply. 7. Discard the entire log. 8. Reset state machine using snapshot
contents (and load snapshot's cluster configuration)."

Set up one server, step one message, check the exact effects, as tests/test_figure2.py
does. Then the same rules where storage meets them: the order in which rule 7 reaches
storage, and recovery from a crash between saving a snapshot and compacting the log,
which rules 6 and 7 decide too (``core.snapshots.entries_after_snapshot``). The server
under test is S1; the leader is S2.
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.check.durability import DurableState
from luminous_edu.core import (
    RULES,
    AppendEntries,
    CompactLog,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    Role,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    Server,
    StoredState,
    TruncateLog,
)
from luminous_edu.core.output import RESET
from luminous_edu.core.snapshots import entries_after_snapshot
from luminous_edu.storage.disk import PowerLoss
from luminous_edu.storage.stored import validate_stored_state

CONFIG = {"voters": [1, 2, 3]}


def log_of(*terms: int) -> tuple[Entry, ...]:
    return tuple(Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=1))


def follower(term: int, terms: tuple[int, ...] = (), voters: tuple[int, ...] = (1, 2, 3)) -> Server:
    server = Server(1, voters, StoredState(current_term=term, entries=log_of(*terms)))
    server.boot()
    return server


def install(
    term: int, last: int, last_term: int, data: tuple[str, ...] = ("state",), leader_id: int = 2
) -> InstallSnapshot:
    return InstallSnapshot(
        term=term,
        leader_id=leader_id,
        last_included_index=last,
        last_included_term=last_term,
        offset=0,
        data=list(data),
        done=True,
        config=CONFIG,
    )


def rules(out: le.core.Output) -> list[str]:
    return [rule for rule, _ in out.trace]


# ------------------------------------------------------- receiver rules 1-8


def test_is1_reply_immediately_if_term_is_older() -> None:
    """1. "Reply immediately if term < currentTerm"."""
    server = follower(3, (1, 1))
    out = server.handle(2, install(2, 5, 2))
    assert out.storage == [] and out.restore is None
    assert out.sends == [(2, InstallSnapshotReply(term=3))]
    assert rules(out) == ["IS.1"]


def test_is2_to_4_a_snapshot_travels_whole_in_one_chunk() -> None:
    """2-4. "Create new snapshot file if first chunk (offset is 0). Write data into
    snapshot file at given offset. Reply and wait for more data chunks if done is
    false." Here a leader sends its snapshot whole: offset 0, done true; the follower
    installs it and replies in the same step, with nothing partial left to wait for."""
    snapshot = SaveSnapshot(last_index=4, last_term=1, data=["x1", "x2", "x3"], config=CONFIG)
    leader = Server(2, (1, 2, 3), StoredState(current_term=1, snapshot=snapshot))
    leader.boot()
    leader.election_timeout()
    leader.handle(3, le.core.RequestVoteReply(term=2, vote_granted=True))
    refusal = le.core.AppendEntriesReply(term=2, success=False, conflict_index=1)
    out = leader.handle(1, refusal)  # S1's log is empty: it needs the snapshot
    ((target, message),) = out.sends
    assert target == 1 and type(message) is InstallSnapshot
    assert (message.offset, message.done) == (0, True)
    assert message.data == ["x1", "x2", "x3"] and message.last_included_index == 4

    server = follower(1)
    reply = server.handle(2, message)
    assert reply.restore is not None and reply.sends == [(2, InstallSnapshotReply(2, 4))]


def test_is5_save_the_snapshot_file() -> None:
    """5. "Save snapshot file, discard any existing or partial snapshot with a smaller
    index": the server asks its storage to save it (DiskStorage keeps only the newest),
    and it becomes the server's snapshot."""
    server = follower(1, (1, 1))
    out = server.handle(2, install(1, 4, 1))
    saved = [m for m in out.storage if type(m) is SaveSnapshot]
    assert saved == [SaveSnapshot(last_index=4, last_term=1, data=["state"], config=CONFIG)]
    assert server.snapshot == saved[0]

    disk = le.Disk("S1's disk")
    storage = le.DiskStorage(disk)
    storage.handle(SaveSnapshot(last_index=2, last_term=1, data=["old"], config=CONFIG))
    storage.handle(saved[0])
    assert storage.handle(le.LoadState()).snapshot == saved[0]
    assert [k for k in disk.keys() if k.startswith("snapshot")] == ["snapshot/0000000004"]


def test_is5_a_snapshot_with_a_smaller_index_than_what_is_committed_changes_nothing() -> None:
    """Not in Figure 13: a late or duplicated snapshot that the follower has already
    committed past is older than what it holds; it is acknowledged and dropped."""
    server = follower(1, (1, 1, 1))
    server.handle(2, AppendEntries(1, 2, 3, 1, (), 3))
    out = server.handle(2, install(1, 2, 1))
    assert out.storage == [] and out.restore is None
    assert out.sends == [(2, InstallSnapshotReply(term=1, match_index=2))]
    assert rules(out) == ["IS.stale"]


def test_is6_retains_entries_following_a_matching_last_included_entry() -> None:
    """6. "If existing log entry has same index and term as snapshot's last included
    entry, retain log entries following it and reply"."""
    server = follower(1, (1, 1, 1, 1, 1))
    out = server.handle(2, install(1, 3, 1))
    assert out.storage == [
        SaveSnapshot(last_index=3, last_term=1, data=["state"], config=CONFIG),
        CompactLog(through_index=3),
    ]
    assert [e.index for e in server.log.entries] == [4, 5]
    assert (server.snapshot_index, server.commit_index, server.last_applied) == (3, 3, 3)
    assert out.sends == [(2, InstallSnapshotReply(term=1, match_index=3))]
    assert "IS.6" in rules(out) and "IS.8" in rules(out)


def test_is7_discards_the_entire_log_when_it_disagrees() -> None:
    """7. "Discard the entire log". The entries after the snapshot go to storage first,
    then the snapshot, then the entries it covers (see the power-cut test below)."""
    server = follower(3, (1, 1, 1, 1, 1))
    out = server.handle(2, install(3, 3, 2))
    assert out.storage == [
        TruncateLog(from_index=4),
        SaveSnapshot(last_index=3, last_term=2, data=["state"], config=CONFIG),
        CompactLog(through_index=3),
    ]
    assert server.log.entries == [] and server.log.last_index == 3
    assert server.log.last_term == 2
    assert "IS.7" in rules(out)


def test_is7_a_log_that_ends_before_the_snapshot_is_discarded_too() -> None:
    server = follower(1, (1,))
    out = server.handle(2, install(1, 6, 1))
    assert out.storage[-1] == CompactLog(through_index=6)
    assert server.log.entries == [] and server.log.last_index == 6


def test_is8_resets_the_state_machine_and_loads_the_configuration() -> None:
    """8. "Reset state machine using snapshot contents (and load snapshot's cluster
    configuration)"."""
    server = Server(1, (1, 2, 3, 4, 5), StoredState(current_term=1))
    server.boot()
    out = server.handle(2, install(1, 4, 1, data=("a", "b")))
    assert out.restore == SaveSnapshot(4, 1, ["a", "b"], CONFIG)
    assert out.applies == []
    assert server.voters == (1, 2, 3) and server.config.quorum_size() == 2


# ------------------------------------------------ the leader of the term (§5.2)


def test_a_snapshot_from_the_leader_resets_the_election_timer() -> None:
    """Like AppendEntries, InstallSnapshot comes from the current leader: "If election
    timeout elapses without receiving AppendEntries RPC from current leader..." (§5.2)
    does not happen while snapshots arrive."""
    server = follower(1)
    out = server.handle(2, install(1, 2, 1))
    assert out.election_timer is RESET
    assert server.leader_id == 2


def test_a_candidate_that_gets_a_snapshot_from_the_leader_of_its_term_follows_it() -> None:
    """ "If AppendEntries RPC received from new leader: convert to follower" (§5.2);
    the same for InstallSnapshot."""
    server = follower(1)
    server.election_timeout()  # candidate in term 2
    out = server.handle(2, install(2, 3, 1))
    assert server.role is Role.FOLLOWER and server.snapshot_index == 3
    assert rules(out)[0] == "AE.candidate"
    assert "stops being a candidate" in RULES["AE.candidate"].template.format(*out.trace[0][1])


# -------------------------------------------------- rules 6 and 7 in storage


def stored_log(disk: le.Disk, terms: tuple[int, ...], term: int) -> le.DiskStorage:
    storage = le.DiskStorage(disk)
    storage.handle(SaveHardState(current_term=term, voted_for=None))
    for entry in log_of(*terms):
        storage.handle(SaveLog(term=entry.term, index=entry.index, data=entry.data))
    return storage


def test_a_power_cut_anywhere_in_rule_7_leaves_a_log_the_server_may_hold() -> None:
    """Rule 7 reaches storage as three messages. A power cut after any disk operation of
    any of them leaves either a prefix of the old log with no new snapshot, or the new
    snapshot followed by nothing of the old log; and what the handler made durable is
    exactly what it recovers (the durability check agrees)."""
    terms, snapshot = (1, 1, 1, 1, 1, 1), install(2, 4, 2)
    server = follower(2, terms)
    messages = server.handle(2, snapshot).storage
    assert [type(m) for m in messages] == [TruncateLog, SaveSnapshot, CompactLog]
    for k in range(100):
        disk = le.Disk("S1's disk")
        storage = stored_log(disk, terms, term=2)
        durable = DurableState(2, None, list(log_of(*terms)))
        disk.cut_power_after(k)
        try:
            for message in messages:
                durable.interrupted = message
                storage.handle(message)
                durable.handled(message)
                durable.interrupted = None
        except PowerLoss:
            pass
        disk.power_on()
        recovered = validate_stored_state(le.DiskStorage(disk).handle(le.LoadState()))
        got = [e.term for e in recovered.entries]
        if recovered.snapshot is None:
            assert got == list(terms[: len(got)]), f"power cut after {k} operations"
        else:
            assert recovered.snapshot.last_index == 4 and got == [], f"cut after {k}"
        interrupted = durable.interrupted
        found = durable.recovered(1, 1, 2, None, recovered.entries, recovered.snapshot)
        assert found == [], f"power cut after {k} operations"
        if interrupted is None:
            return  # every message was carried out: no later point to cut
    raise AssertionError("the power cut never missed the messages")


@pytest.mark.parametrize(
    "entry_terms, expected",
    [
        ((1, 1, 1, 1, 1), [5]),  # rule 6: entry 4 has the last included term: keep 5
        ((1, 1, 1, 2, 2), []),  # rule 7: entry 4 has another term: discard everything
        ((1, 1), []),  # the log ends before the snapshot: nothing after it
    ],
)
def test_recovery_beside_a_snapshot_follows_rules_6_and_7(
    entry_terms: tuple[int, ...], expected: list[int]
) -> None:
    """A crash between SaveSnapshot and CompactLog leaves a snapshot (here through
    index 4, term 1) beside entries it covers. Recovery treats them as rules 6 and 7
    treat a log beside a new snapshot."""
    entries = log_of(*entry_terms)
    kept = entries_after_snapshot(entries, 4, 1)
    assert [e.index for e in kept] == expected
    snapshot = SaveSnapshot(last_index=4, last_term=1, data=[], config=CONFIG)
    recovered = validate_stored_state(StoredState(2, None, entries, snapshot))
    assert list(recovered.entries) == kept
