"""Safety defects an outside review reproduced beyond Figure 2 (issue 12), one test each.

Each test replays the reported sequence on the public API, with the correct default
storage, and checks what the paper and the thesis promise: reads stay linearizable,
a power cut never makes storage recover a log Raft could not have, an accepted
membership change survives a change of leader, and nothing is called committed before
it is durable on a majority.
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.storage.disk import PowerLoss
from luminous_edu.storage.stored import validate_stored_state


def disk_operations(cluster: le.Cluster, server: int) -> int:
    stats = cluster.disk_stats(server)
    return stats["writes"] + stats["syncs"]


# ---------------------------------------------------------------- 1. lease reads


def partitioned_lease_holder(crash_follower: bool) -> le.Cluster:
    """tests/scripts/lease_read_partition.txt: S3 leads with a lease; S2, cut off,
    campaigns in higher terms; then S3 is partitioned away from S1 and S2, S2 comes
    back, and (the reported sequence) S1 crashes and restarts at once."""
    cluster = le.Cluster(servers=3, seed=5, check_quorum=True, lease_reads=True)
    assert cluster.run_until(lambda c: c.leader == 3)
    cluster.run(100)
    cluster.disconnect(2)
    cluster.run(400)
    cluster.partition({3}, {1, 2})
    cluster.connect(2)
    if crash_follower:
        cluster.crash(1)
        cluster.restart(1)
    return cluster


def test_lease_reads_stay_linearizable_when_a_follower_restarts() -> None:
    """Thesis §6.4.1: while the leader holds its lease "no other leader can have been
    elected". S1 acknowledged S3's last heartbeats, then lost the memory of them in a
    crash; it must not vote before S3's lease has ended either."""
    cluster = partitioned_lease_holder(crash_follower=True)
    handles = []
    for _ in range(6):
        handles.append(cluster.read(lambda machine: list(machine.values), server=3))
        cluster.run(20)
    assert handles[0].done  # S3 still held its lease when the partition began
    assert cluster.violations == []


def test_without_the_restart_the_same_lease_reads_were_already_linearizable() -> None:
    cluster = partitioned_lease_holder(crash_follower=False)
    for _ in range(6):
        cluster.read(lambda machine: list(machine.values), server=3)
        cluster.run(20)
    assert cluster.violations == []


# ------------------------------------------------------ 2. InstallSnapshot, rule 7


def deposed_leader_about_to_take_a_snapshot() -> le.Cluster:
    """tests/scripts/install_snapshot_conflict.txt up to the moment the InstallSnapshot
    reaches S1: S1, leader of term 1, appended eight commands alone behind a partition;
    S3 leads term 2 and has compacted its log through index 7 (term 2). S1's entry 7 has
    term 1, so S1 must discard its entire log (Figure 13, rule 7), entries 8..10 too."""
    cluster = le.Cluster(servers=3, seed=4, snapshot_threshold=3)
    assert cluster.run_until(lambda c: c.leader == 1)
    cluster.propose("a")
    cluster.run(100)
    cluster.partition({1}, {2, 3})
    for n in range(1, 9):
        cluster.propose(f"lost{n}", server=1)
    cluster.run(600)
    assert cluster.leader == 3
    for value in "bcde":
        cluster.propose(value)
    cluster.run(200)
    assert cluster.servers[3].snapshot_index == 7 and cluster.servers[1].last_log_index == 10
    cluster.heal()
    assert cluster.run_until(
        lambda c: any(
            e.kind == "deliver" and e.target == 1 and type(e.message).__name__ == "InstallSnapshot"
            for e in c.pending()
        )
    )
    return cluster


def install_the_snapshot(cluster: le.Cluster) -> None:
    assert cluster.run_until(lambda c: c.servers[1].snapshot_index == 7 or not c.servers[1].alive)


def test_a_power_cut_anywhere_in_rule_7_recovers_a_log_raft_allows() -> None:
    """Figure 13, rule 7 ("Discard the entire log") reaches storage as several messages;
    a power cut after any disk operation of any of them must leave a log that either
    still is S1's old log (or a prefix of it) or is the snapshot with nothing after it,
    and the durability check must not blame the correct handler."""
    clean = deposed_leader_about_to_take_a_snapshot()
    before = disk_operations(clean, 1)
    install_the_snapshot(clean)
    operations = disk_operations(clean, 1) - before
    assert operations >= 8  # hard state, snapshot, compaction, truncation
    for k in range(operations):
        cluster = deposed_leader_about_to_take_a_snapshot()
        cluster.cut_power(1, k)
        install_the_snapshot(cluster)
        assert not cluster.servers[1].alive, f"the power cut after {k} operations missed"
        cluster.restart(1)
        cluster.run(300)
        assert cluster.errors == [], f"power cut after {k} disk operations: {cluster.errors}"
        assert cluster.violations == [], f"power cut after {k} disk operations"
        assert cluster.check() == []


# ------------------------------------------------------- 3. add_server and a new leader


def test_an_accepted_add_server_survives_a_change_of_leader() -> None:
    """Thesis §4.2.1: add_server catches the new server up, then makes it a voter. The
    learner's configuration entry is committed when the leader crashes; the next leader
    must finish the change."""
    cluster = le.Cluster(servers=3, seed=0)
    assert cluster.run_until(lambda c: c.leader is not None)
    for n in range(5):
        cluster.propose(n)
    cluster.run(100)
    old = cluster.leader
    assert old is not None and cluster.add_server(4).accepted
    assert cluster.run_until(
        lambda c: c.servers[old].commit_index >= c.servers[old].last_log_index, 500
    )
    assert cluster.servers[old].config.learners == (4,)
    cluster.crash(old)
    assert cluster.run_until(lambda c: c.config is not None and 4 in c.config.voters, 3_000)
    assert cluster.violations == []


# ------------------------------------------------ 4. a single voter commits alone


def test_a_single_voter_commits_only_what_its_storage_has_made_durable() -> None:
    """§5.3: an entry is committed "once the leader that created the entry has
    replicated it on a majority of the servers"; for a single voter that is its own
    stable storage. A power cut inside that SaveLog loses the entry, so nothing may
    have said it was committed or applied."""
    cluster = le.Cluster(servers=1, seed=0)
    assert cluster.run_until(lambda c: c.leader == 1 and c.servers[1].commit_index == 1)
    cluster.cut_power(1, after_operations=0)
    assert cluster.propose("x").index == 2
    assert not cluster.servers[1].alive  # the power went inside SaveLog(index=2)
    said = [(e.rule, e.args) for e in cluster.trace if e.step == cluster.step_count]
    assert all(rule not in ("COMMIT", "APPLY") for rule, _ in said), said
    assert cluster.servers[1].commit_index == 1
    cluster.restart(1)
    cluster.run(500)
    assert cluster.violations == []


# ------------------------------- found by the crash-point sweep: DiskStorage.truncate_log


def test_a_power_cut_inside_truncate_log_leaves_a_log_without_gaps() -> None:
    """TruncateLog deletes entry by entry; a power cut may stop it anywhere. Deleting
    from the end keeps what is left a log (entries 1..k), which is what the durability
    model expects of an interrupted truncation. Deleting from the front left entry 3
    and later behind a gap, and the restart failed."""
    for k in range(5):
        disk = le.Disk("S1's disk")
        storage = le.DiskStorage(disk)
        storage.handle(le.SaveHardState(current_term=1, voted_for=None))
        for index in range(1, 6):
            storage.handle(le.SaveLog(term=1, index=index, data=index))
        disk.cut_power_after(k)
        with pytest.raises(PowerLoss):
            storage.handle(le.TruncateLog(from_index=2))
        disk.power_on()
        stored = validate_stored_state(le.DiskStorage(disk).handle(le.LoadState()))
        assert [e.index for e in stored.entries] == list(range(1, 6 - k)), k
