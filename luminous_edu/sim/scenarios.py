"""Deterministic scenarios that expose each handler of the buggy-storage gallery.

Each scenario is a seed and a few calls. Run it with the buggy handler and the cluster
records what the bug did (``cluster.violations``); run the same calls with a correct
handler and nothing is recorded::

    cluster = bug_scenario("ForgetsVote")                  # two leaders in one term
    cluster = bug_scenario("ForgetsVote", le.DiskStorage)  # the same calls: no violation
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import Role
from ..storage import Disk
from ..storage.gallery import GALLERY
from .cluster import Cluster


def pending_message(cluster: Cluster, source: int, target: int, kind: str) -> int:
    """The id of the first pending message of type ``kind`` from ``source`` to ``target``."""
    for event in cluster.pending():
        if (
            event.kind == "deliver"
            and event.source == source
            and event.target == target
            and type(event.message).__name__ == kind
        ):
            return event.id
    raise LookupError(f"no {kind} from S{source} to S{target} is pending")


def drop_messages_to(cluster: Cluster, target: int) -> None:
    for event in cluster.pending():
        if event.kind == "deliver" and event.target == target:
            cluster.drop(event.id)


def forgets_vote(storage: Callable[[Disk], Any]) -> Cluster:
    """S2 votes for S1 in term 1, crashes and restarts before hearing from S1 again;
    then S3 asks for S2's vote in the same term 1."""
    c = Cluster(servers=3, seed=1, storage=storage)
    c.timeout(1)  # S1: candidate in term 1
    c.drop(pending_message(c, 1, 3, "RequestVote"))
    c.fire(pending_message(c, 1, 2, "RequestVote"))  # S2 votes for S1
    c.fire(pending_message(c, 2, 1, "RequestVoteReply"))  # S1 leads term 1
    drop_messages_to(c, 2)
    drop_messages_to(c, 3)
    c.crash(2)
    c.restart(2)
    c.timeout(3)  # S3: candidate in term 1 too
    c.fire(pending_message(c, 3, 2, "RequestVote"))  # a correct S2 refuses: it voted
    c.fire(pending_message(c, 2, 3, "RequestVoteReply"))
    return c


def memory_log(storage: Callable[[Disk], Any]) -> Cluster:
    """A command is committed; both followers crash and restart, then the leader
    crashes: the followers elect a leader between them."""
    c = Cluster(servers=3, seed=2, storage=storage)
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    old = c.leader
    assert old is not None
    c.propose("x = 1")
    c.run(300)
    for follower in c.ids:
        if follower != old:
            c.crash(follower)
            c.restart(follower)
    c.crash(old)
    c.run_until(lambda c: c.leader not in (None, old), max_ms=5_000)
    c.propose("y = 2")
    c.run(300)
    return c


def ignores_truncate(storage: Callable[[Disk], Any]) -> Cluster:
    """S-old leads alone behind a partition and appends three commands nobody else
    stores; the majority elects a new leader and commits one. After healing, S-old's
    extra entries are deleted (TruncateLog), then it crashes and restarts."""
    c = Cluster(servers=3, seed=3, storage=storage)
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    old = c.leader
    assert old is not None
    c.run(100)
    c.disconnect(old)
    for command in ("a", "b", "c"):
        c.propose(command, server=old)
    c.run_until(lambda c: c.leader not in (None, old), max_ms=5_000)
    c.propose("d")
    c.run(200)
    c.connect(old)
    c.run(300)
    c.crash(old)
    c.restart(old)
    c.run(300)
    return c


def never_syncs(storage: Callable[[Disk], Any]) -> Cluster:
    """Disks lose unsynced writes in a crash. A command commits; a follower crashes
    and restarts."""
    c = Cluster(servers=3, seed=4, storage=storage, disk_faults="unsynced")
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = c.leader
    c.propose("x = 1")
    c.run(300)
    follower = next(i for i in c.ids if i != leader)
    c.crash(follower)
    c.restart(follower)
    c.run(100)
    return c


def term_after_vote(storage: Callable[[Disk], Any]) -> Cluster:
    """S2's power is cut during the storage call that records its vote for S1 in term
    1, after one disk operation."""
    c = Cluster(servers=3, seed=5, storage=storage)
    c.timeout(1)
    c.cut_power(2, after_operations=1)
    c.fire(pending_message(c, 1, 2, "RequestVote"))
    c.restart(2)
    return c


def compacts_before_snapshot(storage: Callable[[Disk], Any]) -> Cluster:
    """Log compaction every 3 applied entries. A follower learns that entry 3 is
    committed, applies it and snapshots; its power is cut during that storage call,
    after three disk operations. Then it restarts and catches up."""
    c = Cluster(servers=3, seed=6, storage=storage, snapshot_threshold=3)
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = c.leader
    assert leader is not None
    c.propose("a")
    c.run(200)  # the no-op and "a" are committed and applied everywhere
    follower = next(i for i in c.ids if i != leader)
    c.propose("b")
    c.fire(pending_message(c, leader, follower, "AppendEntries"))
    c.fire(pending_message(c, follower, leader, "AppendEntriesReply"))  # b commits
    c.cut_power(follower, after_operations=5)
    c.run(100)  # the next heartbeat tells the follower that b is committed
    c.restart(follower)
    c.run(300)
    return c


def behind_the_snapshot(storage: Callable[[Disk], Any] | None = None) -> Cluster:
    """For lesson 06: S3 is cut off while S1..S2 commit 12 commands with log
    compaction every 4 applied entries; when S3 comes back its leader has compacted
    away the entries S3 needs, so it sends its snapshot (InstallSnapshot, Figure 13).
    Returns the cluster right after S3 reconnects, before anything is sent."""
    c = Cluster(servers=3, seed=7, storage=storage, snapshot_threshold=4)
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    behind = next(i for i in sorted(c.ids, reverse=True) if i != c.leader)
    c.disconnect(behind)
    for k in range(12):
        c.propose(f"x{k}")
        c.run(30)
    c.connect(behind)
    return c


def restart_from_snapshot(storage: Callable[[Disk], Any] | None = None) -> Cluster:
    """For lesson 06: with log compaction every 4 applied entries, 10 commands commit;
    then every server crashes. Returns the cluster with all servers down: restart
    them (``for i in c.ids: c.restart(i)``) and each recovers its snapshot plus the
    entries after it."""
    c = Cluster(servers=3, seed=8, storage=storage, snapshot_threshold=4)
    c.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for k in range(10):
        c.propose(f"x{k}")
        c.run(30)
    c.run(200)
    for sid in c.ids:
        c.crash(sid)
    return c


SCENARIOS: dict[str, Callable[[Callable[[Disk], Any]], Cluster]] = {
    "ForgetsVote": forgets_vote,
    "MemoryLog": memory_log,
    "IgnoresTruncate": ignores_truncate,
    "NeverSyncs": never_syncs,
    "TermAfterVote": term_after_vote,
    "CompactsBeforeSnapshot": compacts_before_snapshot,
}


def bug_scenario(name: str, storage: Callable[[Disk], Any] | None = None) -> Cluster:
    """Run the scenario that exposes gallery handler ``name``, with that handler (or
    with ``storage``, to compare), and return the cluster."""
    if name not in SCENARIOS:
        raise KeyError(f"no scenario named {name!r}; choose one of {sorted(SCENARIOS)}")
    return SCENARIOS[name](storage or GALLERY[name])


# ------------------------------------------------------------ membership changes
# Builders for lessons on membership changes (§6, thesis chapter 4). Each returns the
# cluster at the interesting moment, deterministic for its seed, ready to step on.


def _elect(c: Cluster, leader: int) -> None:
    c.timeout(leader)
    if not c.run_until(lambda c: c.leader == leader and c.servers[leader].commit_index >= 1, 2_000):
        raise RuntimeError(f"S{leader} did not win its election; the scenario needs another seed")


def _committed_everywhere(c: Cluster, index: int, max_ms: int = 2_000) -> None:
    if not c.run_until(
        lambda c: all(c.servers[i].commit_index >= index for i in c.ids if c.servers[i].alive),
        max_ms,
    ):
        raise RuntimeError(f"index {index} was not committed everywhere within {max_ms} ms")


def add_server_scenario(seed: int = 1, membership: str = "single") -> Cluster:
    """Three servers, S1 leads, three commands committed; then ``add_server(4)``: S4
    joins empty, catches up as a learner, then becomes a voter. Returned right after
    the call, so that stepping shows the catch-up."""
    c = Cluster(servers=3, seed=seed, membership=membership)
    _elect(c, 1)
    for n in range(3):
        c.propose(f"x={n}")
    _committed_everywhere(c, 4)
    result = c.add_server(4)
    assert result.accepted, result.reason
    return c


def remove_leader_scenario(seed: int = 1, membership: str = "single") -> Cluster:
    """Three servers, S1 leads and removes itself: it keeps leading without counting
    itself until the new configuration commits, then steps down (thesis §4.2.2)."""
    c = Cluster(servers=3, seed=seed, membership=membership)
    _elect(c, 1)
    _committed_everywhere(c, 1)
    result = c.remove_server(1)
    assert result.accepted, result.reason
    return c


def joint_partition_scenario(seed: int = 1) -> Cluster:
    """Joint consensus (§6): S1..S3 add S4. While C_old,new ({S1, S2, S3} and
    {S1..S4}) is in every log, before S1 hears that, the network splits {S1, S4} |
    {S2, S3}: neither side holds
    majorities of both C_old and C_new, so nothing commits and no leader is elected
    until the network heals."""
    c = Cluster(servers=3, seed=seed, membership="joint")
    _elect(c, 1)
    _committed_everywhere(c, 1)
    c.add_learner(4)
    _committed_everywhere(c, 2)
    result = c.promote(4)
    assert result.accepted, result.reason
    if not c.run_until(lambda c: all(c.servers[i].config.joint for i in c.ids), 2_000):
        raise RuntimeError("C_old,new did not reach everyone; the scenario needs another seed")
    c.partition({1, 4}, {2, 3})
    return c


def single_change_bug_scenario(bug: bool = True, seed: int = 1) -> Cluster:
    """The bug Ongaro reported on raft-dev in 2015: with single-server changes, a new
    leader that changes the configuration before committing an entry of its own term
    can leave two configurations whose majorities do not overlap.

    C = {S1..S4}, S5 a learner. S1 (term 1) promotes S5; the entry D = C + S5 reaches
    only S5. S2 wins the next term with S3 and S4, and while its no-op has reached
    only S3, removes S1: E = {S2, S3, S4}, committed by S2 and S3. S4 never saw E, so
    S1 (with D) can win a term with S4 and S5 while S3 (with E) wins the same term with
    S2: two leaders in one term, an Election Safety violation. With ``bug=False``
    (the fix, thesis §4.1) ``remove_server(1)`` is refused and the same calls end with
    a single leader."""
    c = Cluster(servers=4, seed=seed, single_change_bug=bug)
    _elect(c, 1)
    c.add_learner(5)
    _committed_everywhere(c, 2)
    c.partition({1, 5}, {2, 3, 4})
    c.promote(5)  # D = {S1..S5} reaches S5 only
    c.run(30)
    c.timeout(2)
    if not c.run_until(lambda c: c.servers[2].role is Role.LEADER, 1_000):
        raise RuntimeError("S2 did not win its election; the scenario needs another seed")
    c.partition({2, 3}, {1, 4, 5})  # S2's no-op never reaches S4
    c.remove_server(1)  # refused unless bug: S2 has committed nothing of its term
    c.run(60)
    c.transfer_leadership(to=3)  # S3 starts the next term on S2's side
    c.run_until(lambda c: c.servers[3].role is Role.LEADER, 500, warn=False)
    c.run_until(
        lambda c: any(c.servers[i].role is Role.LEADER for i in (1, 4, 5)), 3_000, warn=False
    )
    return c
