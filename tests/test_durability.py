"""Durability findings in a running cluster, and student code that raises.

Set up a cluster whose storage handler has a bug, drive it to the moment the bug
matters, and check the finding names the server, what was lost and why it matters.
"""

from __future__ import annotations

import random

import pytest

import luminous_edu as le
from luminous_edu.check import DURABILITY
from luminous_edu.storage.builtin import read_hard_state


def elect(cluster: le.Cluster) -> int:
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = cluster.leader
    assert leader is not None
    return leader


def findings(cluster: le.Cluster) -> list[str]:
    return [v.detail for v in cluster.violations if v.property == DURABILITY]


class ForgetfulVote(le.DiskStorage):
    """Saves the term but never the vote."""

    def save_hard_state(self, msg: le.SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, None))
        self.disk.sync()


class LogInMemory(le.DiskStorage):
    """Keeps log entries in a Python list: gone after a crash."""

    def __init__(self, disk: le.Disk) -> None:
        super().__init__(disk)
        self.entries: list[le.Entry] = []

    def save_log(self, msg: le.SaveLog) -> None:
        del self.entries[msg.index - 1 :]
        self.entries.append(le.Entry(msg.index, msg.term, msg.data))

    def truncate_log(self, msg: le.TruncateLog) -> None:
        del self.entries[msg.from_index - 1 :]

    def load_state(self) -> le.StoredState:
        term, vote = read_hard_state(self.disk)  # what DiskStorage.save_hard_state wrote
        return le.StoredState(term, vote, list(self.entries))


class NoSync(le.DiskStorage):
    """Writes but never syncs."""

    def save_hard_state(self, msg: le.SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))

    def save_log(self, msg: le.SaveLog) -> None:
        self.disk.write(f"log/{msg.index:010d}", (msg.term, msg.data))


def test_a_lost_vote_is_found_on_restart() -> None:
    cluster = le.Cluster(servers=3, seed=4, storage=ForgetfulVote)
    leader = elect(cluster)
    voter = next(i for i in cluster.ids if i != leader and cluster.servers[i].voted_for == leader)
    term = cluster.servers[voter].current_term
    cluster.crash(voter)
    cluster.restart(voter)
    assert findings(cluster) == [
        f"S{voter} recovered voted_for=None in term {term}, but it voted for S{leader}: after "
        "a crash it could vote twice in one term (Figure 2: votedFor is persistent)"
    ]


def test_a_lost_acknowledged_entry_is_found_on_restart() -> None:
    cluster = le.Cluster(servers=3, seed=2, storage=LogInMemory)
    leader = elect(cluster)
    cluster.propose("x")
    cluster.run(200)
    follower = next(i for i in cluster.ids if i != leader)
    cluster.crash(follower)
    cluster.restart(follower)
    (finding,) = findings(cluster)
    assert finding == (
        f"S{follower} recovered 0 entries, but entry 1 (term "
        f"{cluster.servers[leader].current_term}) was acknowledged to the leader"
    )


def test_an_unsynced_vote_is_found_when_it_is_sent() -> None:
    cluster = le.Cluster(servers=3, seed=1, storage=NoSync, disk_faults="unsynced")
    elect(cluster)
    details = findings(cluster)
    assert any("granted its vote in term 1 before syncing its disk" in d for d in details)
    assert all("Call disk.sync()" in d for d in details)


def test_unsynced_writes_lost_in_a_crash_are_found_on_restart() -> None:
    cluster = le.Cluster(servers=3, seed=1, storage=NoSync, disk_faults="unsynced")
    leader = elect(cluster)
    cluster.crash(leader)
    cluster.restart(leader)
    assert any(
        d.startswith(f"S{leader} recovered term 0, but term 1 had been saved")
        for d in findings(cluster)
    )


@pytest.mark.parametrize("faults", [None, "unsynced", "torn"])
def test_the_correct_handler_raises_no_false_alarm(faults: str | None) -> None:
    """A seeded run full of crashes: DiskStorage loses nothing, so nothing is reported."""
    for seed in range(6):
        rng = random.Random(seed)
        cluster = le.Cluster(servers=5, seed=seed, disk_faults=faults)
        for n in range(60):
            cluster.run(rng.randint(20, 120))
            cluster.propose(n)
            victim = rng.choice(cluster.ids)
            if cluster.servers[victim].alive:
                if rng.random() < 0.3:
                    cluster.crash(victim)
            else:
                cluster.restart(victim)
        assert cluster.violations == [], f"seed {seed}: {cluster.violations}"


def test_per_server_disk_faults() -> None:
    cluster = le.Cluster(servers=3, seed=1, storage=NoSync, disk_faults={2: "torn"})
    assert [cluster._world.disks[i].faults for i in cluster.ids] == [None, "torn", None]
    # An id beyond the first servers is for a server added later (add_server).
    assert le.Cluster(servers=3, disk_faults={7: "torn"}).disk_faults == {7: "torn"}
    with pytest.raises(le.UnknownServerError, match="disk_faults names server 100"):
        le.Cluster(servers=3, disk_faults={100: "torn"})
    with pytest.raises(le.LuminousError, match="is not a fault mode"):
        le.Cluster(servers=3, disk_faults={1: "sometimes"})
    record = cluster.export()
    assert le.Cluster.load(record, storage=NoSync).disk_faults == {2: "torn"}


class Explodes(le.DiskStorage):
    def save_log(self, msg: le.SaveLog) -> None:
        if msg.index == 2:
            raise le.StorageError("the disk is full")
        super().save_log(msg)


def test_a_handler_that_raises_stops_only_its_server() -> None:
    cluster = le.Cluster(servers=5, seed=3, storage=Explodes)
    leader = elect(cluster)
    cluster.propose("x")
    cluster.run(300)
    assert cluster.errors, "every server fails on entry 2"
    error = cluster.errors[0]
    assert error.what == "storage handler"
    assert isinstance(error.error, le.StorageError)
    text = str(error)
    assert f"S{error.server}'s storage handler raised StorageError: the disk is full" in text
    assert "SaveLog(term=" in text and "index=2" in text
    assert f"step {error.step}" in text and "in save_log" in text  # the handler's traceback
    assert not cluster.servers[error.server].alive
    # The notebook carries on: the cluster still steps, and a restart works.
    cluster.restart(error.server)
    cluster.run(50)
    assert cluster.servers[error.server].alive or len(cluster.errors) > 1
    assert leader in cluster.ids


def test_garbage_from_load_state_is_a_clear_error() -> None:
    class Garbage(le.DiskStorage):
        def load_state(self):  # type: ignore[no-untyped-def,override]
            return {"term": 3}

    cluster = le.Cluster(servers=3, seed=1, storage=Garbage)
    assert len(cluster.errors) == 3
    message = str(cluster.errors[0])
    assert "load_state() returned {'term': 3}" in message
    assert "le.StoredState(current_term, voted_for, entries)" in message
    assert not any(cluster.servers[i].alive for i in cluster.ids)
    assert cluster.step() is None  # nothing scheduled: every server is down, nothing broke


def test_entries_of_the_wrong_shape_are_named() -> None:
    class BadEntries(le.DiskStorage):
        def load_state(self) -> le.StoredState:
            return le.StoredState(1, None, [le.Entry(2, 1, "x")])

    cluster = le.Cluster(servers=1, seed=1, storage=BadEntries)
    assert "has index 2; expected 1" in str(cluster.errors[0])


def test_a_state_machine_that_raises_stops_only_its_server() -> None:
    class Picky:
        def apply(self, index: int, data: object) -> None:
            if data == "bad":
                raise ValueError("I do not like this command")

    cluster = le.Cluster(servers=3, seed=5, state_machine=Picky)
    elect(cluster)
    cluster.propose("bad")
    cluster.run(200)
    assert {e.what for e in cluster.errors} == {"state machine"}
    assert "I do not like this command" in str(cluster.errors[0])


def test_real_files_survive_a_new_cluster_but_refuse_rewind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = le.JsonLinesStorage.in_directory(tmp_path)
    first = le.Cluster(servers=3, seed=1, storage=storage)
    elect(first)
    first.propose("kept")
    first.run(300)
    with pytest.raises(le.InvalidActionError, match="cannot be rewound"):
        first.rewind(1)
    # A new cluster over the same directory (as after a kernel restart) starts from
    # the files: same terms, same logs, and it commits on top of them.
    second = le.Cluster(servers=3, seed=2, storage=storage)
    for i in second.ids:
        assert second.servers[i].current_term == first.servers[i].current_term
        assert [e.data for e in second.servers[i].log] == [e.data for e in first.servers[i].log]
    elect(second)
    second.propose("more")
    second.run(300)
    assert [d for _, d in second.applied(1)] == ["kept", "more"]
    assert second.violations == []


def churn_with_power_cuts(
    seed: int, storage: object, faults: str | None, snapshot_threshold: int | None = None
) -> le.Cluster:
    """Proposals, crashes, restarts and power cuts in the middle of storage calls (with
    log compaction: also inside SaveSnapshot and CompactLog)."""
    rng = random.Random(seed)
    cluster = le.Cluster(
        servers=5,
        seed=seed,
        storage=storage,  # type: ignore[arg-type]
        disk_faults=faults,
        snapshot_threshold=snapshot_threshold,
    )
    for n in range(80):
        cluster.run(rng.randint(10, 150))
        cluster.propose(n)
        victim = rng.choice(cluster.ids)
        if not cluster.servers[victim].alive:
            cluster.restart(victim)
        elif rng.random() < 0.15:
            cluster.crash(victim)
        elif rng.random() < 0.15:
            cluster.cut_power(victim, after_operations=rng.randint(0, 3))
    for sid in cluster.ids:
        if not cluster.servers[sid].alive:
            cluster.restart(sid)
    cluster.run(2_000)
    return cluster


def no_false_alarm(seed: int, faults: str | None, snapshot_threshold: int | None) -> None:
    cluster = churn_with_power_cuts(seed, le.DiskStorage, faults, snapshot_threshold)
    problems = [str(v) for v in cluster.violations] + [str(e) for e in cluster.errors]
    assert problems == [], (
        f"seed {seed}, disk_faults={faults!r}, snapshot_threshold={snapshot_threshold}: "
        f"{problems[:3]}\nreproduce: churn_with_power_cuts({seed}, le.DiskStorage, "
        f"{faults!r}, {snapshot_threshold}) in tests/test_durability.py"
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("faults", [None, "unsynced"])
def test_no_false_alarms_with_compaction_and_power_cuts(seed: int, faults: str | None) -> None:
    no_false_alarm(seed, faults, snapshot_threshold=3)


@pytest.mark.slow
@pytest.mark.parametrize("faults", [None, "unsynced", "torn"])
def test_no_false_alarms_with_compaction_across_a_seed_sweep(faults: str | None) -> None:
    for seed in range(60):
        no_false_alarm(seed, faults, snapshot_threshold=3)


@pytest.mark.slow
@pytest.mark.parametrize("faults", [None, "unsynced", "torn"])
def test_no_false_alarms_across_a_seed_sweep(faults: str | None) -> None:
    for seed in range(60):
        cluster = churn_with_power_cuts(seed, le.DiskStorage, faults)
        # A torn write tears only what DiskStorage never acknowledged, which it leaves
        # out on restart: no error, no violation.
        problems = [str(v) for v in cluster.violations] + [str(e) for e in cluster.errors]
        assert problems == [], (
            f"seed {seed}, disk_faults={faults!r}: {problems[:3]}\n"
            f"reproduce: churn_with_power_cuts({seed}, le.DiskStorage, {faults!r}) "
            "in tests/test_durability.py"
        )


@pytest.mark.parametrize("seed", range(3))
def test_torn_writes_never_keep_disk_storage_from_restarting(seed: int) -> None:
    """With disk_faults="torn", a power cut between DiskStorage's write and its sync
    tears a value that was never acknowledged. The restart discards it: every server
    comes back (no handler error) and nothing acknowledged is lost (no violation)."""
    cluster = churn_with_power_cuts(seed, le.DiskStorage, "torn")
    powered_off = [e for e in cluster.trace if e.rule == "POWER"]
    assert powered_off, "the scenario should cut the power inside a storage call"
    assert [str(e) for e in cluster.errors] == [], (
        f"reproduce: churn_with_power_cuts({seed}, le.DiskStorage, 'torn')"
    )
    assert cluster.violations == []
    assert all(cluster.servers[i].alive for i in cluster.ids)


def test_a_power_cut_armed_before_a_crash_does_not_fire_after_the_restart() -> None:
    cluster = le.Cluster(servers=3, seed=2)
    cluster.run_until(lambda c: c.leader is not None)
    follower = next(i for i in cluster.ids if i != cluster.leader)
    cluster.cut_power(follower, after_operations=0)
    cluster.crash(follower)
    cluster.restart(follower)
    cluster.propose("after the restart")
    cluster.run(300)
    assert cluster.servers[follower].alive
    assert [e for e in cluster.trace if e.rule == "POWER"] == []
    assert (cluster.servers[follower].log[-1].data) == "after the restart"
