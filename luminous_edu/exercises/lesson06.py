"""Exercises of lesson 06: log compaction (§7 and Figure 13 of the Raft paper)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sim import Cluster
from ..storage import (
    CompactLog,
    DiskStorage,
    LoadState,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StorageHandler,
    StoredState,
    TruncateLog,
    check_storage,
)
from ..storage.compliance import METHODS
from ..storage.disk import Disk
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

# ===================================================== 06: log compaction


def _key_value_commands(count: int) -> list[str]:
    """The commands of the lesson's first cluster: ``x = 0``, ``y = 1``, ``x = 2``..."""
    return [f"{'xy'[k % 2]} = {k}" for k in range(count)]


def _compacting_cluster(threshold: int | None) -> Cluster:
    """Lesson 06's first cluster: 3 servers, seed 2, 25 commands."""
    cluster = Cluster(servers=3, seed=2, snapshot_threshold=threshold)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for command in _key_value_commands(25):
        cluster.propose(command)
        cluster.run(10)
    cluster.run(100)
    return cluster


def _disk_after_25_commands() -> str:
    cluster = _compacting_cluster(threshold=10)
    log_keys = [sum(k.startswith("log/") for k in cluster.disk(i)) for i in cluster.servers]
    if min(log_keys) >= 26:
        return "a"
    return "b" if all(0 < n < 26 for n in log_keys) else "c"


prediction(
    "06.predict_disk",
    "Three servers with snapshot_threshold=10 have applied the leader's no-op and 25 "
    "commands (26 entries). What does S1's disk hold? (a) 26 log entries, one per entry, "
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

prediction(
    "06.predict_catch_up",
    "S5 was down while the leader applied and compacted 10 more commands; now it "
    "restarts with 2 entries. How does it catch up? (a) the leader sends the missing "
    "entries with AppendEntries, from entry 3 on; (b) the leader sends its snapshot "
    "(InstallSnapshot), then AppendEntries for any entries after it; (c) it cannot catch "
    "up: the entries it needs are gone.",
    "b",
    "'The leader must occasionally send snapshots to followers that lag behind. This "
    "happens when the leader has already discarded the next log entry that it needs to "
    "send to a follower' (§7). S5's next_index is 3, but the leader's log starts after "
    "its snapshot: it sends InstallSnapshot, S5 has no entry at the snapshot's last "
    "index and so discards its entire log (Figure 13, rule 7), then resets its state "
    "machine from the snapshot (rule 8).",
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
        cluster.run_until(sample, max_ms=400)
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


def _commit_after_restart() -> str:
    cluster = _compacting_cluster(threshold=10)
    follower = 2
    view = cluster.servers[follower]
    snapshot_index, last = view.snapshot_index, view.last_log_index
    cluster.crash(follower)
    cluster.restart(follower)
    commit = cluster.servers[follower].commit_index
    return {0: "a", snapshot_index: "b", last: "c"}.get(commit, "none of these")


prediction(
    "06.predict_restart_commit",
    "A follower with a snapshot through index 21 and 5 more entries crashes and "
    "restarts. What is its commit_index right after the restart? (a) 0, as always after "
    "a restart; (b) 21, its snapshot's last included index; (c) 26, its last log index.",
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

_CONFIG = {"voters": [1, 2, 3]}


def _by_hand(handler_class: type[StorageHandler]) -> None:
    """Save, snapshot, compact and crash on a Disk by hand; ``Wrong`` saying what the
    recovered state lacks."""
    name = handler_class.__name__
    disk = Disk("by hand", faults="unsynced")

    def send(*messages: Any) -> None:
        handler = handler_class(disk)
        dispatches = type(handler).handle is StorageHandler.handle
        for message in messages:
            # The method itself, so that an unfinished one is named ("save_snapshot is
            # not written yet"), unless the class handles messages its own way.
            method = getattr(handler, METHODS[type(message)]) if dispatches else handler.handle
            _run_student(method, f"{name}.{method.__name__}({message!r})", message)

    def load(after: str) -> StoredState:
        disk.crash()
        stored = _run_student(
            handler_class(disk).handle, f"{name}(disk).load_state() {after}", LoadState()
        )
        if not isinstance(stored, StoredState):
            raise Wrong(
                f"after {after}, load_state() returned {_show(stored)}; return "
                "le.StoredState(current_term, voted_for, entries, snapshot)."
            )
        return stored

    def expect(stored: StoredState, after: str, snapshot: SaveSnapshot, indexes: list[int]) -> None:
        if stored.snapshot != snapshot:
            raise Wrong(
                f"after {after} and a crash, load_state() returned snapshot="
                f"{_show(stored.snapshot)}, but the last snapshot saved is {snapshot!r}.",
                hint="save_snapshot writes last_index, last_term, data and config on "
                "self.disk and syncs; load_state returns them as le.SaveSnapshot(last_index, "
                "last_term, data, config) in StoredState's fourth field, snapshot.",
            )
        got = [_index_of(entry) for entry in stored.entries]
        if got != indexes:
            raise Wrong(
                f"after {after} and a crash, load_state() returned entries {got}, but the "
                f"log should hold entries {indexes}.",
                hint="compact_log deletes every entry with index <= msg.through_index "
                "(inclusive) and keeps the rest; then self.disk.sync().",
            )
        if stored.current_term != 2 or stored.voted_for != 1:
            raise Wrong(
                f"after {after} and a crash, load_state() returned current_term="
                f"{stored.current_term!r}, voted_for={stored.voted_for!r}; expected 2 and 1."
            )

    first = SaveSnapshot(last_index=4, last_term=2, data={"x": 3, "y": 4}, config=_CONFIG)
    send(SaveHardState(current_term=2, voted_for=1))
    send(*(SaveLog(term=2, index=i, data=f"x = {i}") for i in range(1, 7)))
    send(first)
    after = "SaveSnapshot(last_index=4, ...) without its CompactLog yet"
    stored = load(after)
    if stored.snapshot != first:
        expect(stored, after, first, [1, 2, 3, 4, 5, 6])
    send(CompactLog(through_index=4))
    expect(load("SaveSnapshot(last_index=4, ...), CompactLog(4)"), "CompactLog(4)", first, [5, 6])
    second = SaveSnapshot(last_index=6, last_term=2, data={"x": 5, "y": 6}, config=_CONFIG)
    send(second, CompactLog(through_index=6), SaveLog(term=2, index=7, data="x = 7"))
    expect(
        load("a second snapshot through 6, CompactLog(6) and SaveLog(index=7)"),
        "a second snapshot, CompactLog(6) and entry 7",
        second,
        [7],
    )
    send(TruncateLog(from_index=7))
    expect(load("TruncateLog(7)"), "TruncateLog(7)", second, [])


def _index_of(entry: Any) -> Any:
    """The index of an entry given as ``le.Entry`` or as an ``(index, term, data)`` tuple."""
    if hasattr(entry, "index") and not callable(entry.index):
        return entry.index
    return entry[0] if isinstance(entry, tuple | list) and entry else entry


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
        if k % 4 == 3:
            victim = 1 + (k // 4) % 3
            cluster.crash(victim)
            cluster.restart(victim)
    cluster.run(500)
    where = f"in Cluster(servers=3, seed=1, snapshot_threshold=3, storage={handler_class.__name__})"
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
    if answer is ... or answer is None:
        raise Wrong("pass your class itself: check('06.storage_compaction', MyStorage).")
    if not isinstance(answer, type) or not issubclass(answer, StorageHandler):
        raise Wrong(
            f"expected a class that subclasses le.StorageHandler, got {_show(answer)}. "
            "Pass the class itself (MyStorage), not an object (MyStorage(disk))."
        )
    if issubclass(answer, DiskStorage):
        raise Wrong(
            f"{answer.__name__} is the built-in DiskStorage (or a subclass of it), which "
            "compacts already: extend the lesson's LogStorage instead."
        )
    missing = missing_compaction_methods(answer)
    if missing:
        raise Wrong(
            f"{answer.__name__} has no {' and no '.join(missing)} yet: the cluster "
            "refuses snapshot_threshold without them.",
            hint="add def save_snapshot(self, msg): and def compact_log(self, msg): to the class.",
        )
    _by_hand(answer)
    report = check_storage(answer)
    if not report.passed:
        first = report.failures[0]
        raise Wrong(
            f"le.check_storage({answer.__name__}) fails '{first.name}' ({first.phase}): "
            f"{first.message}",
            hint=f"run le.check_storage({answer.__name__}) to see every check.",
        )
    summary = _in_a_cluster(answer)
    return (
        f"{answer.__name__} keeps snapshots and compacted logs: by hand, {report.summary()}, "
        f"and {summary}. The order matters: the snapshot is durable before the entries it "
        "replaces are deleted."
    )


class _Hasty(DiskStorage):
    """The lesson's HastyStorage: the snapshot waits in memory."""

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        self.unwritten = msg


def _hasty_restart() -> str:
    cluster = Cluster(servers=3, seed=1, snapshot_threshold=4, storage=_Hasty)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for k in range(6):
        cluster.propose(f"v{k}")
        cluster.run(20)
    cluster.run(100)
    follower = max(i for i in cluster.servers if i != cluster.leader)
    cluster.crash(follower)
    cluster.restart(follower)
    if cluster.errors and not cluster.servers[follower].alive:
        return "b"
    return "a" if cluster.servers[follower].snapshot_index > 0 else "c"


prediction(
    "06.predict_hasty",
    "HastyStorage keeps the snapshot in memory but deletes the compacted entries from "
    "the disk. A follower that has compacted the start of its log crashes and restarts. "
    "What happens? (a) it restarts from its snapshot as usual; (b) it cannot restart: "
    "the compacted entries are gone from its disk and nothing stands for them; (c) it "
    "restarts with an empty log and catches up from the leader.",
    _hasty_restart,
    "The snapshot died with the crash, and the entries it replaced were deleted: the "
    "disk holds the entries after the snapshot and nothing before them. A server "
    "cannot rebuild its state machine from that, so the cluster refuses to start it "
    "and says why in cluster.errors. §7: 'the entire current system state is written "
    "to a snapshot on stable storage, then the entire log up to that point is "
    "discarded': in that order. If a majority did this, committed commands would be gone for good.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. What is on the disk after the crash?",
    section="§7",
)
