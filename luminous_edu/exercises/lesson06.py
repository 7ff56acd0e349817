"""Exercises of lesson 06: log compaction (§7 and Figure 13 of the Raft paper)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..sim import Cluster
from ..sim.scenarios import bug_scenario
from ..storage import GALLERY, StorageHandler
from ..storage.handler import missing_compaction_methods
from .framework import (
    Wrong,
    _run_student,
    _show,
    as_choice,
    as_servers,
    exercise,
    function_starter,
    need_function,
    prediction,
)
from .lesson04 import _handler_class, _handler_report, _scenario_passes

# ===================================================== 06: log compaction


def _key_value_commands(count: int) -> list[str]:
    """The commands of the lesson's first cluster: ``x = 0``, ``y = 1``, ``x = 2``..."""
    return [f"{'xy'[k % 2]} = {k}" for k in range(count)]


def compacting_cluster(threshold: int | None, seed: int) -> Cluster:
    """Lesson 06's first cluster: 3 servers, 25 commands, one every 10 ms."""
    cluster = Cluster(servers=3, seed=seed, snapshot_threshold=threshold)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for command in _key_value_commands(25):
        cluster.propose(command)
        cluster.run(10)
    cluster.run(100)
    return cluster


def _disk_after_25_commands(seed: int) -> str:
    cluster = compacting_cluster(threshold=10, seed=seed)
    log_keys = [sum(k.startswith("log/") for k in cluster.disk(i)) for i in cluster.servers]
    if min(log_keys) >= 26:
        return "a"
    return "b" if all(0 < n < 26 for n in log_keys) else "c"


prediction(
    "06.predict_disk",
    "Three servers with snapshot_threshold=10 have applied the leader's no-op and 25 "
    "commands (26 entries). What does a server's disk hold? (a) 26 log entries, one per "
    "entry, "
    "as without compaction; (b) a snapshot and only the entries applied since it, fewer "
    "than 26; (c) a snapshot and no log entries at all.",
    _disk_after_25_commands,
    "Once 10 applied entries lie past its last snapshot, a server writes a new snapshot "
    "of its state machine and deletes the entries it covers (§7). The entries applied "
    "since the last snapshot stay in the log until the next one. The snapshot of a "
    "key-value store holds one value per key, however many commands set them.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. When does a server snapshot, and what happens to entries "
    "applied after that?",
    section="§7",
)

prediction(
    "06.predict_last_term",
    "Why does a snapshot keep the term of the last entry it replaces (last_term)? (a) to "
    "know which leader wrote the snapshot; (b) for the AppendEntries consistency check of "
    "the first entry after the snapshot; (c) to restore the state machine.",
    "b",
    "'The last included index and term serve to position the snapshot in the log "
    "preceding entry 6': the AppendEntries that brings the entry after the snapshot "
    "carries prevLogIndex = the last included index and prevLogTerm = its term, and the "
    "follower must still be able to compare them after the entry itself is gone (§7, "
    "Figure 12). The state machine needs only the data; the term names no leader.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Which RPC asks 'does your log have an entry at index i in term t'?",
    section="§7, §5.3",
)


# ------------------------------------------------------------------ term_at


def _term_at_cases() -> list[tuple[Cluster, int, int, Any, str]]:
    """(cluster, server, index, expected, why): a cluster without compaction, and one
    whose followers' snapshots end in term 1 while their logs go on in term 2."""
    plain = Cluster(servers=3, seed=1)
    plain.run_until(lambda c: c.leader is not None, max_ms=5_000)
    plain.propose("a")
    plain.run(100)

    # The no-op and 5 commands: a snapshot through 6 in term 1. A new leader's no-op
    # and 2 commands, in term 2, stay in the log (3 < 6).
    cluster = Cluster(servers=3, seed=1, snapshot_threshold=6)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for k in range(5):
        cluster.propose(f"v{k}")
        cluster.run(20)
    cluster.run(100)
    first = cluster.leader
    assert first is not None
    cluster.crash(first)
    cluster.run_until(lambda c: c.leader not in (None, first), max_ms=5_000)
    for k in range(2):
        cluster.propose(f"w{k}")
        cluster.run(20)
    cluster.run(100)

    cases: list[tuple[Cluster, int, int, Any, str]] = []
    for sid in plain.servers:
        view = plain.servers[sid]
        cases.append((plain, sid, 0, 0, "index 0 is before the first entry: its term is 0."))
        cases.append((plain, sid, 2, view.log[1].term, "entry 2 is in the log."))
    for sid in cluster.servers:
        view = cluster.servers[sid]
        if not view.alive:
            continue
        snap, last = view.snapshot_index, view.last_log_index
        assert snap > 1 and last > snap and view.log[0].term != view.snapshot_term
        cases += [
            (cluster, sid, 0, 0, "index 0 is before the first entry: its term is 0."),
            (
                cluster,
                sid,
                snap,
                view.snapshot_term,
                "the entry at snapshot_index is gone from the log, but the snapshot keeps "
                "its term: snapshot_term.",
            ),
            (cluster, sid, snap + 1, view.log[0].term, "the first entry after the snapshot."),
            (cluster, sid, last, view.log[-1].term, "the last entry of the log."),
            (
                cluster,
                sid,
                snap - 1,
                None,
                "an entry before snapshot_index is compacted away, term and all: None.",
            ),
            (cluster, sid, last + 1, None, "there is no entry after the last one: None."),
        ]
    return cases


@exercise(
    "06.term_at",
    "Write term_at(server, index): the term of entry index on a compacted server (a "
    "cluster.servers[i] view): 0 for index 0, snapshot_term at snapshot_index, the "
    "entry's term in the log, and None for a compacted or missing entry.",
    starter=function_starter("term_at", "server", "index"),
    hint="server.log holds only the entries after server.snapshot_index (server.log[0] "
    "is entry snapshot_index + 1), so entry i is server.log[i - server.snapshot_index - "
    "1]. server.last_log_index is the last index.",
    section="§7, Figure 12",
)
def _check_term_at(answer: Any) -> str:
    f = need_function(answer, "term_at", 2)
    cases = _term_at_cases()
    for cluster, sid, index, expected, why in cases:
        label = f"term_at(cluster.servers[{sid}], {index})"
        got = _run_student(f, label, cluster.servers[sid], index)
        if got != expected or type(got) is not type(expected):
            view = cluster.servers[sid]
            where = (
                f"S{sid} has snapshot_index={view.snapshot_index}, "
                f"snapshot_term={view.snapshot_term} and log entries "
                f"{view.snapshot_index + 1}..{view.last_log_index}"
            )
            raise Wrong(
                f"{label} returned {_show(got)}, but the answer is {expected!r}: {why}",
                hint=f"{where}.",
            )
    return (
        f"term_at is right in all {len(cases)} cases. A follower answers AppendEntries' "
        "consistency check this way: prevLogIndex may be its snapshot's last included "
        "index, whose entry is gone but whose term is kept."
    )


# ------------------------------------------------- InstallSnapshot (§7)


class Behind(NamedTuple):
    """Section 3's cluster: a follower down while the others compact."""

    cluster: Cluster
    leader: int
    late: int  # the follower that was down


def behind(seed: int) -> Behind:
    """5 servers snapshotting every 4 entries: once 'x = 1' is committed, the
    highest-numbered follower crashes and misses 10 commands, which the others apply
    and compact away. Returned before it restarts."""
    cluster = Cluster(servers=5, seed=seed, snapshot_threshold=4)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    cluster.propose("x = 1")
    cluster.run(100)
    leader = cluster.leader
    assert leader is not None
    late = max(i for i in cluster.ids if i != leader)
    cluster.crash(late)
    for k in range(10):
        cluster.propose(f"y = {k}")
        cluster.run(20)
    cluster.run(100)
    return Behind(cluster, leader, late)


def _how_late_catches_up(seed: int) -> str:
    run = behind(seed)
    cluster = run.cluster
    mark = cluster.step_count
    cluster.restart(run.late)
    cluster.run(200)
    events = [e for e in cluster.trace.since(mark) if e.rule == "IS.send"]
    if any(e.args[1] == run.late for e in events):
        return "b"
    caught = cluster.servers[run.late].last_log_index >= cluster.servers[run.leader].commit_index
    return "a" if caught else "c"


prediction(
    "06.predict_catch_up",
    "A follower was down while the leader applied and compacted 10 more commands; now "
    "it restarts with the few entries it had. How does it catch up? (a) the leader sends "
    "the missing entries with AppendEntries, from the follower's next index on; (b) the "
    "leader sends its snapshot (InstallSnapshot), then AppendEntries for any entries "
    "after it; (c) it cannot catch up: the entries it needs are gone.",
    _how_late_catches_up,
    "'The leader must occasionally send snapshots to followers that lag behind. This "
    "happens when the leader has already discarded the next log entry that it needs to "
    "send to a follower' (§7). The follower's next_index is just past its few entries, "
    "but the leader's log starts after its snapshot: it sends InstallSnapshot, the "
    "follower has no entry at the snapshot's last index and so discards its entire log "
    "(Figure 13, rule 7), then resets its state machine from the snapshot (rule 8).",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Does the leader still have entry 3?",
    section="§7, Figure 13",
)


def _needs_snapshot_truth(cluster: Cluster) -> frozenset[int]:
    leader = cluster.leader
    if leader is None:
        return frozenset()
    view = cluster.servers[leader]
    return frozenset(f for f, n in view.next_index.items() if n <= view.snapshot_index)


def _lagging_runs() -> list[tuple[str, Cluster, Callable[[Cluster], None]]]:
    """Clusters whose followers fall behind the leader's snapshot, or not quite."""

    def early_and_late(cluster: Cluster) -> None:
        cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
        leader = cluster.leader
        followers = [i for i in cluster.servers if i != leader]
        cluster.crash(followers[0])  # misses everything from here on
        for k in range(6):
            cluster.propose(f"a{k}")
            cluster.run(20)
        cluster.crash(followers[1])  # misses only the last few
        for k in range(2):
            cluster.propose(f"b{k}")
            cluster.run(20)
        cluster.restart(followers[0])
        cluster.restart(followers[1])

    def none_behind(cluster: Cluster) -> None:
        cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
        for k in range(6):
            cluster.propose(f"c{k}")
            cluster.run(20)

    return [
        (
            "5 servers, threshold 4",
            Cluster(servers=5, seed=7, snapshot_threshold=4),
            early_and_late,
        ),
        ("3 servers, threshold 3", Cluster(servers=3, seed=4, snapshot_threshold=3), none_behind),
    ]


@exercise(
    "06.needs_snapshot",
    "Write needs_snapshot(cluster): the set of followers that the current leader can "
    "only bring up to date by sending its snapshot (InstallSnapshot), because it has "
    "already discarded the next entry it must send them; an empty set if there is no leader.",
    starter=function_starter("needs_snapshot", "cluster"),
    hint="the leader's view has next_index (a dict by follower id) and snapshot_index. "
    "Entry next_index[f] is gone from the leader's log when next_index[f] <= "
    "snapshot_index.",
    section="§7",
)
def _check_needs_snapshot(answer: Any) -> str:
    f = need_function(answer, "needs_snapshot", 1)
    moments = 0
    boundaries: set[int] = set()  # next_index - snapshot_index seen, for the test below
    for name, cluster, drive in _lagging_runs():
        samples: list[int] = []

        def sample(c: Cluster, samples: list[int] = samples) -> bool:
            samples.append(c.step_count)
            return False

        drive(cluster)
        cluster.run_until(sample, max_ms=400, warn=False)
        for step in samples:
            cluster.seek(step)
            expected = _needs_snapshot_truth(cluster)
            if cluster.leader is not None:
                view = cluster.servers[cluster.leader]
                boundaries |= {n - view.snapshot_index for n in view.next_index.values()}
            got = _run_student(f, "needs_snapshot(cluster)", cluster)
            given = as_servers(got) if got is not None else None
            if given is None:
                raise Wrong(
                    f"needs_snapshot(cluster) returned {_show(got)}; return a set of "
                    "follower ids such as {4, 5}, or an empty set()."
                )
            if given != expected:
                leader = cluster.leader
                state = (
                    "there is no leader"
                    if leader is None
                    else f"S{leader} leads with snapshot_index="
                    f"{cluster.servers[leader].snapshot_index} and next_index="
                    f"{dict(sorted(cluster.servers[leader].next_index.items()))}"
                )
                raise Wrong(
                    f"{name}, at step {step}: needs_snapshot returned {_show(given)}, but "
                    f"the answer is {_show(expected)} ({state}).",
                    hint="a follower needs the snapshot when the entry the leader would "
                    "send it next (next_index) is already compacted away.",
                )
            moments += 1
    # The scenarios must tell <= from <: a next_index right at the snapshot's last
    # index (needs the snapshot) and right after it (does not).
    assert {0, 1} <= boundaries, f"the scenarios miss a boundary case: {sorted(boundaries)}"
    return (
        f"needs_snapshot is right at all {moments} moments checked. Exactly these are "
        "the followers the leader sends InstallSnapshot to (look for IS.send in the trace)."
    )


def restarted_follower(cluster: Cluster) -> int:
    """The follower section 4 restarts: the lowest-numbered one."""
    return min(i for i in cluster.ids if i != cluster.leader)


def _commit_after_restart(seed: int) -> str:
    cluster = compacting_cluster(threshold=10, seed=seed)
    follower = restarted_follower(cluster)
    view = cluster.servers[follower]
    snapshot_index, last = view.snapshot_index, view.last_log_index
    cluster.crash(follower)
    cluster.restart(follower)
    commit = cluster.servers[follower].commit_index
    return {0: "a", snapshot_index: "b", last: "c"}.get(commit, "none of these")


prediction(
    "06.predict_restart_commit",
    "A follower with a snapshot and a few more log entries after it crashes and "
    "restarts. What is its commit_index right after the restart? (a) 0, as always after "
    "a restart; (b) its snapshot's last included index; (c) its last log index.",
    _commit_after_restart,
    "commitIndex is volatile state (Figure 2): a restarted server does not know which of "
    "its log entries are committed until a leader tells it. But only committed entries "
    "are ever snapshotted ('each server takes snapshots independently, covering just "
    "the committed entries in its log', §7), so the snapshot is committed by definition: "
    "the server restores its state machine from it and starts with commit_index = "
    "last_applied = the snapshot's last included index.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Can a snapshot ever contain an uncommitted entry?",
    section="§7, Figure 2",
)


# ----------------------------------------------------- your handler compacts


def _in_a_cluster(handler_class: type[StorageHandler]) -> str:
    """Compact, crash and restart every server in turn; ``Wrong`` on any error or
    violation. Returns a summary."""
    cluster = Cluster(
        servers=3, seed=1, snapshot_threshold=3, storage=handler_class, disk_faults="unsynced"
    )
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    commands = [f"v{k}" for k in range(12)]
    for k, command in enumerate(commands):
        if cluster.leader is None:
            cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
        cluster.propose(command)
        cluster.run(30)
        if cluster.errors:
            break  # a handler raised and its server stopped: reported below
        if k % 4 == 3:
            victim = 1 + (k // 4) % 3
            cluster.crash(victim)
            cluster.restart(victim)
    cluster.run(500)
    where = (
        "in Cluster(servers=3, seed=1, snapshot_threshold=3, "
        f"storage={handler_class.__name__}, disk_faults='unsynced')"
    )
    if cluster.errors:
        raise Wrong(
            f"{where}, with a crash and restart every 4 commands, {cluster.errors[0].error}",
            hint="run that cluster yourself and read cluster.errors.",
        )
    if cluster.violations:
        raise Wrong(f"{where}, a crash did harm: {cluster.violations[0]}")
    compacted = [cluster.servers[i].snapshot_index for i in cluster.servers]
    values = [cluster.state_machine(i).values for i in cluster.servers]
    if min(compacted) == 0 or any(v != commands for v in values):
        raise Wrong(f"{where}, the servers did not all compact and apply every command.")
    return "three crashes and restarts in a compacting cluster left every state machine whole"


def _compacting_handler(
    answer: Any, exercise_id: str, name: str, *, not_builtin: str | None = None
) -> type[StorageHandler]:
    """``answer`` if it is a handler class with both compaction methods, else ``Wrong``."""
    handler = _handler_class(answer, exercise_id, name, not_builtin=not_builtin)
    missing = missing_compaction_methods(handler)
    if missing:
        raise Wrong(
            f"{handler.__name__} has no {' and no '.join(missing)} yet: the cluster "
            "refuses snapshot_threshold without them.",
            hint="add def save_snapshot(self, msg): and def compact_log(self, msg): to the class.",
        )
    return handler


@exercise(
    "06.storage_compaction",
    "Extend the lesson's LogStorage into MyStorage with save_snapshot(msg), "
    "compact_log(msg) and a load_state that returns the snapshot too, so that snapshots "
    "and compacted logs survive crashes.",
    starter=type("MyStorage", (StorageHandler,), {}),
    hint="save_snapshot: self.disk.write('snapshot', (msg.last_index, msg.last_term, "
    "msg.data, msg.config)), then sync. compact_log: delete the 'log/' keys whose index "
    "is <= msg.through_index, then sync. load_state: state = super().load_state(); "
    "return le.StoredState(state.current_term, state.voted_for, state.entries, "
    "le.SaveSnapshot(*stored) if stored is not None else None).",
    section="§7",
)
def _check_storage_compaction(answer: Any) -> str:
    handler = _compacting_handler(
        answer,
        "06.storage_compaction",
        "MyStorage",
        not_builtin="it compacts already; extend the lesson's LogStorage instead",
    )
    summary = _handler_report(handler, handler.__name__)
    return (
        f"{summary}, and {_in_a_cluster(handler)}. The order matters: the snapshot is "
        "durable before the entries it replaces are deleted."
    )


# ----------------------------------------- the gallery: CompactsBeforeSnapshot


def _what_the_cut_follower_recovers() -> str:
    """Run the gallery scenario; which of the three the power-cut server recovered."""
    cluster = bug_scenario("CompactsBeforeSnapshot")
    restart = next(e for e in cluster.trace if e.rule == "RESTART")
    assert restart.server is not None
    cluster.seek(restart.step)
    view = cluster.servers[restart.server]
    if view.snapshot_index > 0:
        return "a"
    return "b" if view.last_log_index > 0 else "c"


prediction(
    "06.predict_compacts_first",
    "CompactsBeforeSnapshot's scenario cuts a follower's power inside compact_log, after "
    "it deleted the compacted entries and synced, before it wrote the snapshot. What does "
    "the follower recover when it restarts? (a) its snapshot and the entries after it; "
    "(b) its whole log: a crash undoes the deletes; (c) no snapshot and none of the "
    "compacted entries, which it had acknowledged.",
    _what_the_cut_follower_recovers,
    "The deletes were synced, so they survive the crash; the snapshot was never written. "
    "The follower comes back without entries it had acknowledged to the leader: the "
    "cluster reports it as a Durability violation on restart. The leader counted those "
    "acknowledgements when it committed the entries, so if a majority lost them this "
    "way, committed commands would be gone for good (§7: the snapshot is written to "
    "stable storage, 'then the entire log up to that point is discarded').",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Which of the two writes reached the disk, and was synced?",
    section="§7",
)


@exercise(
    "06.fix_compacts_before_snapshot",
    "Fix CompactsBeforeSnapshot: write FixedCompactsBeforeSnapshot (a subclass of it) "
    "whose save_snapshot makes the snapshot durable before compact_log deletes anything, "
    "so that its scenario records no violation and le.check_storage passes.",
    starter=type("FixedCompactsBeforeSnapshot", (GALLERY["CompactsBeforeSnapshot"],), {}),
    hint="save_snapshot writes the snapshot and syncs (DiskStorage.save_snapshot(self, msg) "
    "does exactly that); compact_log then only deletes the entries and syncs "
    "(DiskStorage.compact_log(self, msg)).",
    section="§7",
)
def _check_fix_compacts_before_snapshot(answer: Any) -> str:
    handler = _compacting_handler(
        answer, "06.fix_compacts_before_snapshot", "FixedCompactsBeforeSnapshot"
    )
    _scenario_passes(
        "CompactsBeforeSnapshot",
        handler,
        "the power can go between any two disk operations of compact_log. If the "
        "snapshot is already synced by then, whatever the cut leaves is safe.",
    )
    summary = _handler_report(handler, handler.__name__)
    return (
        "Fixed: the power cut now finds the snapshot on the disk, so whichever entries it "
        f"leaves, nothing is lost. {summary}."
    )
