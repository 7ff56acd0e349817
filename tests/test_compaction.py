"""Log compaction (§7 and Figure 13 of the Raft paper), one behaviour per test.

Unit tests on the pure ``Server`` first (set up, step one input, check the exact
effects), then the same rules inside a ``Cluster``: snapshot_threshold, restart from
snapshot plus log, InstallSnapshot to a follower behind the leader's first index,
records, rewind and disk_stats. The server under test is S1; messages come from S2.
"""

from __future__ import annotations

import pytest
from test_figure13 import install
from test_storage_api import correct_function_storage

import luminous_edu as le
from luminous_edu.core import (
    RULES,
    AppendEntries,
    AppendEntriesReply,
    CompactLog,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVoteReply,
    Role,
    SaveSnapshot,
    Server,
    StoredState,
)
from luminous_edu.core.reconfiguration import config_data, restore_config

THREE = (1, 2, 3)
CONFIG = {"voters": [1, 2, 3]}


def log_of(*terms: int) -> tuple[Entry, ...]:
    return tuple(Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=1))


def follower(term: int, terms: tuple[int, ...] = (), threshold: int | None = None) -> Server:
    server = Server(
        1,
        THREE,
        StoredState(current_term=term, entries=log_of(*terms)),
        snapshot_threshold=threshold,
    )
    server.boot()
    return server


def leader(term: int, terms: tuple[int, ...] = (), threshold: int | None = None) -> Server:
    server = follower(term - 1, terms, threshold)
    server.election_timeout()
    for voter in (2, 3):
        if server.role is Role.CANDIDATE:
            server.handle(voter, RequestVoteReply(term=term, vote_granted=True))
    assert server.role is Role.LEADER
    server.log_saved(server.log.last_index)  # the world reports its no-op stored
    return server


def rules(out) -> list[str]:
    return [rule for rule, _ in out.trace]


# ----------------------------------------------------- taking a snapshot (§7)


def test_applying_past_the_threshold_asks_for_a_snapshot():
    # §7: "Each server takes snapshots independently, covering just the committed
    # entries in its log."
    server = follower(1, (1, 1, 1), threshold=3)
    out = server.handle(2, AppendEntries(1, 2, 3, 1, (), 2))
    assert not out.snapshot_due  # 2 applied: below the threshold
    out = server.handle(2, AppendEntries(1, 2, 3, 1, (), 3))
    assert out.snapshot_due


def test_take_snapshot_saves_the_snapshot_before_compacting_the_log():
    # §7: "the entire current system state is written to a snapshot on stable
    # storage, then the entire log up to that point is discarded"
    server = follower(2, (1, 1, 2, 2), threshold=3)
    server.handle(2, AppendEntries(2, 2, 4, 2, (), 3))
    out = server.take_snapshot(["x1", "x2", "x3"])
    assert out.storage == [
        SaveSnapshot(last_index=3, last_term=2, data=["x1", "x2", "x3"], config=CONFIG),
        CompactLog(through_index=3),
    ]
    assert (server.snapshot_index, server.snapshot_term) == (3, 2)
    assert [e.index for e in server.log.entries] == [4]
    assert server.log.term_at(3) == 2 and server.log.term_at(2) is None
    assert rules(out) == ["SNAP"]


def test_a_snapshot_covers_applied_entries_only():
    server = follower(1, (1, 1, 1, 1), threshold=1)
    server.handle(2, AppendEntries(1, 2, 4, 1, (), 2))  # commits and applies 1..2
    server.take_snapshot(["x1", "x2"])
    assert server.snapshot_index == 2
    assert server.log.last_index == 4  # the uncommitted tail stays


def test_nothing_new_to_snapshot_saves_nothing():
    server = follower(1, (1, 1), threshold=1)
    server.handle(2, AppendEntries(1, 2, 2, 1, (), 2))
    server.take_snapshot(["x1", "x2"])
    assert server.take_snapshot(["x1", "x2"]).storage == []


def test_config_data_round_trips_through_restore_config():
    server = follower(1)
    data = config_data(server)
    assert data == {"voters": [1, 2, 3]}
    other = Server(1, (1, 2, 3, 4, 5), StoredState())
    restore_config(other, data)
    assert (other.voters, other.peers, other.config.quorum_size()) == ((1, 2, 3), (2, 3), 2)


# ---------------------------------------------- leader side of InstallSnapshot


def compacted_leader() -> Server:
    """S1, leader of term 2, whose log was compacted through index 3."""
    server = leader(2, (1, 1, 1), threshold=3)
    server.handle(3, AppendEntriesReply(term=2, success=True, match_index=4))  # S3 only
    assert server.last_applied == 4
    server.take_snapshot(["x1", "x2", "x3"])
    return server


def test_leader_sends_install_snapshot_to_a_follower_behind_its_first_index():
    # §7: "the leader uses a new RPC called InstallSnapshot to send snapshots to
    # followers that are too far behind"
    server = compacted_leader()
    out = server.handle(
        2, AppendEntriesReply(term=2, success=False, conflict_index=1, conflict_term=None)
    )
    sent = [m for target, m in out.sends if target == 2]
    assert len(sent) == 1 and isinstance(sent[0], InstallSnapshot)
    snap = sent[0]
    assert (snap.last_included_index, snap.last_included_term) == (4, 2)
    assert (snap.offset, snap.done, snap.config) == (0, True, CONFIG)
    assert snap.data == ["x1", "x2", "x3"]


def test_an_install_snapshot_in_flight_holds_back_further_sends():
    # Flow control: an InstallSnapshot counts as a batch in flight.
    server = compacted_leader()
    out = server.handle(
        2, AppendEntriesReply(term=2, success=False, conflict_index=1, conflict_term=None)
    )
    assert [type(m) for t, m in out.sends if t == 2] == [InstallSnapshot]
    out = server.heartbeat_timeout()  # within a heartbeat round: nothing to S2
    assert [m for t, m in out.sends if t == 2] == []
    out = server.read(1)[1]
    assert [m for t, m in out.sends if t == 2] == []
    out = server.heartbeat_timeout()  # a full round without a reply: presumed lost
    assert [type(m) for t, m in out.sends if t == 2] == [InstallSnapshot]


def test_install_snapshot_reply_advances_match_and_next_index():
    server = compacted_leader()
    server.handle(
        2, AppendEntriesReply(term=2, success=False, conflict_index=1, conflict_term=None)
    )
    out = server.handle(2, InstallSnapshotReply(term=2, match_index=4))
    assert server.match_index[2] == 4 and server.next_index[2] == 5
    assert server.progress[2].in_flight is None
    assert "ISR" in rules(out)


def test_every_compaction_sentence_formats():
    for rule, args in [
        ("SNAP", (1, 4, 2)),
        ("IS.send", (1, 2, 4, 2)),
        ("IS.1", (1, 2, 1, 3)),
        ("IS.stale", (1, 2, 4, 5)),
        ("IS.6", (1, 2, 4, 6)),
        ("IS.7", (1, 2, 4, 2)),
        ("IS.8", (1, 4)),
        ("ISR", (1, 2, 4)),
        ("ISR.stale", (1, 2, 3)),
    ]:
        sentence = RULES[rule].template.format(*args)
        assert sentence.startswith("S1 ")
        if not rule.endswith("stale"):
            assert "§7" in sentence or "Figure 13" in sentence, sentence


def test_append_entries_starting_inside_the_snapshot_is_trimmed():
    # A late AppendEntries whose prev_log_index lies inside the follower's snapshot:
    # the covered entries are committed, so only those after the snapshot count.
    server = follower(1)
    server.handle(2, install(1, 3, 1))
    entries = log_of(1, 1, 1, 1, 1)[1:]  # entries 2..5
    out = server.handle(2, AppendEntries(1, 2, 1, 1, entries, 3))
    assert [e.index for e in server.log.entries] == [4, 5]
    assert out.sends[-1][1].success and out.sends[-1][1].match_index == 5


# ------------------------------------------------------------- restarting


def test_a_server_restarts_from_snapshot_plus_log():
    snap = SaveSnapshot(last_index=3, last_term=1, data=["s"], config={"voters": [1, 2, 3]})
    stored = StoredState(2, None, (Entry(4, 2, "x4"),), snap)
    server = Server(1, THREE, stored)
    assert (server.snapshot_index, server.snapshot_term) == (3, 1)
    assert (server.commit_index, server.last_applied) == (3, 3)
    assert server.log.last_index == 4 and server.log.first_index == 4
    assert server.snapshot == snap


# ----------------------------------------------------------- in a cluster


def compacting(seed: int = 1, threshold: int = 4, **options) -> le.Cluster:
    cluster = le.Cluster(servers=3, seed=seed, snapshot_threshold=threshold, **options)
    assert cluster.run_until(lambda c: c.leader is not None, 5_000)
    return cluster


def propose_many(cluster: le.Cluster, count: int, prefix: str = "v") -> None:
    for k in range(count):
        assert cluster.propose(f"{prefix}{k}").accepted
        cluster.run(20)


def test_cluster_compacts_every_log_past_the_threshold():
    cluster = compacting(threshold=4)
    propose_many(cluster, 10)
    cluster.run(300)
    for sid in cluster.ids:
        view = cluster.servers[sid]
        assert view.snapshot_index >= 8
        assert view.log[0].index == view.snapshot_index + 1
        assert cluster.state_machine(sid).values == [f"v{k}" for k in range(10)]
        stats = cluster.disk_stats(sid)
        assert stats["snapshots"] >= 2 and stats["compactions"] == stats["snapshots"]
    assert cluster.check() == [] and cluster.errors == []


def test_without_a_threshold_nothing_is_compacted():
    cluster = le.Cluster(servers=3, seed=1)
    cluster.run_until(lambda c: c.leader is not None, 5_000)
    propose_many(cluster, 10)
    assert all(cluster.servers[i].snapshot_index == 0 for i in cluster.ids)
    assert cluster.disk_stats(1)["snapshots"] == 0


def test_a_follower_behind_the_first_index_catches_up_by_install_snapshot():
    cluster = compacting(threshold=4)
    behind = next(i for i in cluster.ids if i != cluster.leader)
    cluster.disconnect(behind)
    propose_many(cluster, 12)
    assert cluster.servers[cluster.leader].snapshot_index > cluster.servers[behind].last_log_index
    cluster.connect(behind)
    cluster.run(500)
    assert any(e.rule == "IS.8" and e.server == behind for e in cluster.trace)
    assert all(e.sentence for e in cluster.trace)  # every sentence formats
    leader = cluster.leader
    assert cluster.servers[behind].commit_index == cluster.servers[leader].commit_index
    assert cluster.state_machine(behind).values == [f"v{k}" for k in range(12)]
    assert cluster.check() == []


def test_restart_recovers_snapshot_plus_log_and_the_state_machine():
    cluster = compacting(threshold=4)
    propose_many(cluster, 10)
    cluster.run(200)
    follower_id = next(i for i in cluster.ids if i != cluster.leader)
    before = cluster.servers[follower_id].snapshot_index
    cluster.crash(follower_id)
    cluster.restart(follower_id)
    view = cluster.servers[follower_id]
    assert view.snapshot_index == before and view.commit_index == before
    assert cluster.state_machine(follower_id).values[: before - 1] == [
        f"v{k}" for k in range(before - 1)
    ]
    cluster.run(300)
    assert cluster.state_machine(follower_id).values == [f"v{k}" for k in range(10)]
    assert cluster.violations == [] and cluster.check() == []


def test_applied_lists_only_entries_applied_from_the_log_after_a_restore():
    cluster = compacting(threshold=4)
    propose_many(cluster, 10)
    cluster.run(200)
    sid = next(i for i in cluster.ids if i != cluster.leader)
    cluster.crash(sid)
    cluster.restart(sid)
    cluster.run(300)
    snap = cluster.servers[sid].snapshot_index
    assert all(index > snap for index, _ in cluster.applied(sid))


def test_records_rewind_and_forks_work_with_compaction():
    cluster = compacting(threshold=3)
    behind = next(i for i in cluster.ids if i != cluster.leader)
    cluster.disconnect(behind)
    propose_many(cluster, 9)
    cluster.connect(behind)
    cluster.run(300)
    record = cluster.export()
    assert record["config"]["snapshot_threshold"] == 3
    again = le.Cluster.load(record)
    assert again.trace_digest() == cluster.trace_digest()
    digest, end = cluster.trace_digest(), cluster.step_count
    cluster.seek(end // 2)
    cluster.seek(end)
    assert cluster.trace_digest() == digest
    cluster.rewind(5)
    cluster.run(100)  # replays the recorded future
    cluster.propose("fork") if cluster.leader else cluster.timeout(behind)
    cluster.run(300)
    assert cluster.violations == []


def test_same_seed_same_trace_with_compaction():
    digests = set()
    for _ in range(2):
        cluster = compacting(seed=5, threshold=3)
        propose_many(cluster, 8)
        cluster.crash(2)
        cluster.run(100)
        cluster.restart(2)
        cluster.run(400)
        digests.add(cluster.trace_digest())
    assert len(digests) == 1


@pytest.mark.parametrize("storage", [le.DiskStorage, le.VolatileStorage])
def test_builtin_handlers_compact(storage):
    cluster = compacting(threshold=3, storage=storage)
    propose_many(cluster, 7)
    assert all(cluster.servers[i].snapshot_index >= 6 for i in cluster.ids)
    assert cluster.errors == []


def test_json_lines_storage_restarts_from_its_snapshot(tmp_path):
    store = le.JsonLinesStorage.in_directory(tmp_path)
    cluster = compacting(threshold=3, storage=store)
    propose_many(cluster, 7)
    cluster.run(200)
    sid = next(i for i in cluster.ids if i != cluster.leader)
    cluster.crash(sid)
    cluster.restart(sid)
    assert cluster.servers[sid].snapshot_index >= 6
    assert cluster.errors == [] and cluster.violations == []


def test_function_storage_with_compaction():
    store = correct_function_storage()  # written before compaction
    store.name = "store"
    le.Cluster(servers=3, storage=store)
    with pytest.raises(
        le.LuminousError, match=r"store has no save_snapshot\(msg\) and compact_log"
    ):
        le.Cluster(servers=3, storage=store, snapshot_threshold=3)

    @store.save_snapshot
    def save_snapshot(disk, msg):
        disk.write("snap", (msg.last_index, msg.last_term, msg.data, msg.config))
        disk.sync()

    @store.compact_log
    def compact_log(disk, msg):
        for key in disk.keys():
            if key.startswith("log/") and int(key[4:]) <= msg.through_index:
                disk.delete(key)
        disk.sync()

    old_load = store.functions["load_state"]

    @store.load_state
    def load_state(disk):
        state = old_load(disk)
        snap = disk.read("snap")
        snapshot = None if snap is None else le.SaveSnapshot(*snap)
        return le.StoredState(state.current_term, state.voted_for, state.entries, snapshot)

    assert le.check_storage(store).passed
    cluster = compacting(threshold=3, storage=store)
    propose_many(cluster, 7)
    cluster.crash(1)
    cluster.restart(1)
    cluster.run(300)
    assert cluster.errors == [] and cluster.violations == []
    assert cluster.servers[1].snapshot_index >= 6


class OldHandler(le.StorageHandler):
    """A handler written before log compaction existed: DiskStorage's four methods."""

    save_hard_state = le.DiskStorage.save_hard_state
    save_log = le.DiskStorage.save_log
    truncate_log = le.DiskStorage.truncate_log
    load_state = le.DiskStorage.load_state


def test_a_handler_without_save_snapshot_works_until_compaction_is_on():
    cluster = le.Cluster(servers=3, seed=1, storage=OldHandler)
    cluster.run_until(lambda c: c.leader is not None, 5_000)
    assert cluster.propose("x").accepted
    with pytest.raises(
        le.LuminousError,
        match=r"OldHandler has no save_snapshot\(msg\) and compact_log\(msg\).*"
        r"snapshot_threshold=None",
    ):
        le.Cluster(servers=3, storage=OldHandler, snapshot_threshold=5)


def test_a_state_machine_whose_snapshot_raises_stops_only_its_server():
    class Broken(le.RecordingStateMachine):
        def snapshot(self):
            raise RuntimeError("no snapshot today")

    cluster = compacting(threshold=2, state_machine=Broken)
    leader = cluster.leader
    cluster.propose("a")
    cluster.propose("b")
    cluster.run(200)
    assert cluster.errors, "the snapshot error is reported"
    assert not cluster.servers[leader].alive or cluster.leader is not None
    assert "snapshot()" in str(cluster.errors[0])
    assert "no snapshot today" in str(cluster.errors[0])


@pytest.mark.parametrize("bad", [0, -1, "x", 2.5, True, [3]])
def test_bad_snapshot_threshold_is_refused(bad):
    with pytest.raises(le.LuminousError, match=r"snapshot_threshold=.*whole number >= 1"):
        le.Cluster(servers=3, snapshot_threshold=bad)


def test_a_tampered_record_threshold_is_refused():
    cluster = compacting(threshold=3)
    record = cluster.export()
    record["config"]["snapshot_threshold"] = "lots"
    with pytest.raises(le.RecordError, match="snapshot_threshold"):
        le.Cluster.load(record)


# ------------------------------------------------- scenario builders (lesson 06)


def test_behind_the_snapshot_ends_with_a_follower_that_needs_the_snapshot():
    from luminous_edu.sim.scenarios import behind_the_snapshot

    cluster = behind_the_snapshot()
    leader = cluster.leader
    assert leader is not None
    behind = min(cluster.ids, key=lambda i: cluster.servers[i].commit_index)
    assert cluster.servers[behind].last_log_index < cluster.servers[leader].snapshot_index
    cluster.run(400)
    assert any(e.rule == "IS.8" and e.server == behind for e in cluster.trace)
    assert cluster.state_machine(behind).values == [f"x{k}" for k in range(12)]
    assert cluster.violations == []


def test_restart_from_snapshot_leaves_every_server_down_with_a_snapshot_on_disk():
    from luminous_edu.sim.scenarios import restart_from_snapshot

    cluster = restart_from_snapshot()
    assert not any(cluster.servers[i].alive for i in cluster.ids)
    for sid in cluster.ids:
        cluster.restart(sid)
        view = cluster.servers[sid]
        assert view.snapshot_index > 0 and view.commit_index == view.snapshot_index
    assert cluster.run_until(lambda c: c.leader is not None, 5_000)
    assert cluster.propose("after").accepted
    cluster.run(300)
    assert cluster.state_machine(1).values == [f"x{k}" for k in range(10)] + ["after"]
    assert cluster.violations == []


class SetMachine:
    """A state machine whose state (and snapshot) is a set: not a JSON value."""

    def __init__(self) -> None:
        self.items: set[object] = set()

    def apply(self, index, data):
        self.items.add(data)

    def snapshot(self):
        return self.items  # the live object: the cluster must copy it

    def restore(self, value):
        self.items = set(value)


def test_snapshots_travel_through_the_codec_and_are_copies():
    cluster = compacting(threshold=2, state_machine=SetMachine, codec=le.PickleCodec())
    propose_many(cluster, 5)
    cluster.run(300)
    leader = cluster.leader
    snap = cluster._world.servers[leader].snapshot
    assert isinstance(snap.data, set) and snap.data is not cluster.state_machine(leader).items
    cluster.state_machine(leader).items.add("later")
    assert "later" not in snap.data
    assert cluster.errors == [] and cluster.violations == []


def test_a_snapshot_the_codec_cannot_carry_is_a_clear_state_machine_error():
    cluster = compacting(threshold=2, state_machine=SetMachine)  # the JSON codec
    cluster.propose("a")
    cluster.propose("b")
    cluster.run(300)
    assert cluster.errors
    text = str(cluster.errors[0])
    assert "state machine raised DataError: snapshot() returned" in text
    assert "the json codec cannot carry" in text and "codec=le.PickleCodec()" in text
    assert cluster.leader is None or cluster.leader in cluster.ids  # the notebook goes on
