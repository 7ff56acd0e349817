"""The MIT 6.5840 Raft lab's tests (parts 3A-3D) as a gallery: run them against any
storage handler, in virtual time, and replay any of them in the dashboard::

    report = le.labs.run(storage=MyStorage)   # about 25 tests in a few seconds
    report.passed                             # True if every test passed
    report.results                            # {"InitialElection3A": True, ...}
    report                                    # a badge per test (in a notebook)
    report.replay("Figure83C").show()         # the cluster of that test, to step through

Each test is the lab's test of the same name, re-expressed deterministically: a function
of a seed, which builds the cluster and drives the test's own random choices
(``random.Random(seed)``); time is virtual, so "sleep" lets the simulated cluster run,
and 6.5840's minutes of wall time take seconds. ``harness.Harness`` checks the safety
properties after every step and at checkpoints; every test ends with ``h.finish()``
(which also requires ``cluster.violations == []``).

Where the lab counts log indexes from 1 for the first command, here each new leader first
appends a no-op entry (§8), so index expectations are relative to earlier indexes.

``run`` builds every cluster with the handler given and ``disk_faults="unsynced"``: a
crash loses what the handler did not ``sync``, as a power cut does. The 6.5840 tests
crash servers only between storage calls, so a handler whose bug needs a crash *inside*
a call (``TermAfterVote``, ``CompactsBeforeSnapshot`` in the storage gallery) passes
them; ``le.check_storage`` finds those.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..core import Role
from ..errors import LuminousError
from ..sim import Cluster, ProposalResult
from .harness import ELECTION_TIMEOUT, Harness, LabFailure

ET = ELECTION_TIMEOUT


def _placed(reply: ProposalResult) -> tuple[int, int]:
    """The (index, term) of an accepted proposal."""
    assert reply.index is not None and reply.term is not None, reply
    return reply.index, reply.term


# =============================================================== 3A: leader election


def initial_election(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.check_one_leader()
    h.sleep(50)
    term1 = h.check_terms()
    assert term1 >= 1, f"term is {term1}, but an election should have happened"
    # With no failures, the leader and the term stay put.
    h.sleep(2 * ET)
    term2 = h.check_terms()
    if term2 != term1:
        h.fail(f"term changed from {term1} to {term2} even though there were no failures")
    h.check_one_leader()
    h.finish()
    return h


def re_election(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    leader1 = h.check_one_leader()
    # If the leader disconnects, a new one is elected.
    h.disconnect(leader1)
    h.check_one_leader()
    # The old leader rejoining does not disturb the new leader, and steps down.
    h.connect(leader1)
    leader2 = h.check_one_leader()
    v = h.cluster.servers[leader1]
    if leader1 != leader2 and v.role is not Role.FOLLOWER:
        h.fail(f"old leader S{leader1} rejoined but is still {v.role}")
    # Without a quorum, no leader is elected.
    h.disconnect(leader2)
    h.disconnect(h.other(leader2, 1))
    h.sleep(2 * ET)
    h.check_no_leader()
    # When a quorum arises, it elects a leader.
    h.connect(h.other(leader2, 1))
    h.check_one_leader()
    # The last server rejoining does not prevent a leader from existing.
    h.connect(leader2)
    h.check_one_leader()
    h.finish()
    return h


def many_elections(seed: int, **options: Any) -> Harness:
    h = Harness(7, seed, **options)
    h.check_one_leader()
    for _ in range(1, 10):
        # Disconnect three servers (maybe fewer: the picks may repeat).
        picks = [h.rng.randrange(h.n) + 1 for _ in range(3)]
        for sid in picks:
            h.disconnect(sid)
        # Either the leader is still there, or the remaining four elect a new one.
        h.check_one_leader()
        for sid in picks:
            h.connect(sid)
    h.check_one_leader()
    h.finish()
    return h


# ============================================================== 3B: log replication


def basic_agree(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    indexes: list[int] = []
    for k in range(1, 4):
        early = [v for sid in h.ids for _, v in h.cluster.applied(sid) if v >= k * 100]
        if early:
            h.fail(f"some server applied {early} before it was proposed")
        index = h.one(k * 100, h.n, retry=False)
        if indexes and index != indexes[-1] + 1:
            h.fail(f"got index {index} but expected {indexes[-1] + 1}")
        indexes.append(index)
    h.finish()
    return h


def follower_failure(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(101, h.n, retry=False)
    # Disconnect one follower: the other two still agree.
    leader1 = h.check_one_leader()
    h.disconnect(h.other(leader1, 1))
    h.one(102, h.n - 1, retry=False)
    h.sleep(ET)
    index103 = h.one(103, h.n - 1, retry=False)
    # Disconnect the remaining follower: the leader alone commits nothing.
    leader2 = h.check_one_leader()
    h.disconnect(h.other(leader2, 1))
    h.disconnect(h.other(leader2, 2))
    reply = h.cluster.propose(104, server=leader2)
    if not reply.accepted:
        h.fail("leader rejected propose()")
    if reply.index != index103 + 1:
        h.fail(f"expected index {index103 + 1}, got {reply.index}")
    h.sleep(2 * ET)
    count, _ = h.n_committed(reply.index)
    if count > 0:
        h.fail(f"{count} servers applied index {reply.index} but there is no majority")
    h.finish()
    return h


def leader_failure(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(101, h.n, retry=False)
    leader1 = h.check_one_leader()
    h.disconnect(leader1)
    # The remaining followers elect a new leader and agree.
    h.one(102, h.n - 1, retry=False)
    h.sleep(ET)
    h.one(103, h.n - 1, retry=False)
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    # Offer a command to every server; with two of three cut off, nothing commits.
    for sid in h.ids:
        h.cluster.propose(104, server=sid)
    h.sleep(2 * ET)
    h.check_all()
    for index, value in h.committed.items():
        if value == 104:
            h.fail(f"104 was applied at index {index} with no majority")
    h.finish()
    return h


def fail_agree(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(101, h.n, retry=False)
    # A follower disconnects; the leader and the other follower still agree.
    leader = h.check_one_leader()
    h.disconnect(h.other(leader, 1))
    h.one(102, h.n - 1, retry=False)
    h.one(103, h.n - 1, retry=False)
    h.sleep(ET)
    h.one(104, h.n - 1, retry=False)
    h.one(105, h.n - 1, retry=False)
    # It reconnects and catches up.
    h.connect(h.other(leader, 1))
    h.one(106, h.n, retry=True)
    h.sleep(ET)
    h.one(107, h.n, retry=True)
    h.finish()
    return h


def fail_no_agree(seed: int, **options: Any) -> Harness:
    h = Harness(5, seed, **options)
    index10 = h.one(10, h.n, retry=False)
    # Three of five followers disconnect: the leader cannot commit.
    leader = h.check_one_leader()
    for k in (1, 2, 3):
        h.disconnect(h.other(leader, k))
    reply = h.cluster.propose(20, server=leader)
    if not reply.accepted:
        h.fail("leader rejected propose()")
    if reply.index != index10 + 1:
        h.fail(f"expected index {index10 + 1}, got {reply.index}")
    h.sleep(2 * ET)
    count, _ = h.n_committed(reply.index)
    if count > 0:
        h.fail(f"{count} servers applied index {reply.index} but there is no majority")
    # Repair. The new leader may or may not hold 20 (then 30 follows its no-op).
    for k in (1, 2, 3):
        h.connect(h.other(leader, k))
    leader2 = h.check_one_leader()
    reply2 = h.cluster.propose(30, server=leader2)
    if not reply2.accepted:
        h.fail("leader2 rejected propose()")
    index20, index30 = _placed(reply)[0], _placed(reply2)[0]
    if not index20 + 1 <= index30 <= index20 + 2:
        h.fail(f"unexpected index {index30} (20 was proposed at {index20})")
    h.one(1000, h.n, retry=True)
    h.finish()
    return h


def concurrent_starts(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    for attempt in range(5):
        if attempt > 0:
            h.sleep(3000)  # give the cluster time to settle
        leader = h.check_one_leader()
        first = h.cluster.propose(1, server=leader)
        if not first.accepted:
            continue
        term = _placed(first)[1]
        # Five clients propose "at once": at the same virtual instant, no step between.
        indexes = []
        for i in range(5):
            reply = h.cluster.propose(100 + i, server=leader)
            if reply.accepted and reply.term == term:
                indexes.append(_placed(reply)[0])
        if any(h.cluster.servers[sid].current_term != term for sid in h.ids):
            continue  # the term moved on: no guarantee the commands commit
        values = []
        for index in indexes:
            value = h.wait(index, h.n, term)
            if value is None:
                break  # the term moved on
            values.append(value)
        else:
            for i in range(5):
                if 100 + i not in values:
                    h.fail(f"command {100 + i} missing from the applied values {values}")
            break
    else:
        h.fail("the term changed too often")
    h.finish()
    return h


def rejoin(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(101, h.n, retry=True)
    # The leader is partitioned off, and takes commands it cannot commit.
    leader1 = h.check_one_leader()
    h.disconnect(leader1)
    for value in (102, 103, 104):
        h.cluster.propose(value, server=leader1)
    # The new leader commits, at the same indexes too.
    h.one(103, 2, retry=True)
    # The new leader is partitioned off; the old one comes back.
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    h.connect(leader1)
    h.one(104, 2, retry=True)
    # Everyone together again.
    h.connect(leader2)
    h.one(105, h.n, retry=True)
    h.finish()
    return h


def backup(seed: int, **options: Any) -> Harness:
    h = Harness(5, seed, **options)
    h.one(h.fresh_value(), h.n, retry=True)
    # The leader and one follower are partitioned off with 50 uncommittable commands.
    leader1 = h.check_one_leader()
    for k in (2, 3, 4):
        h.disconnect(h.other(leader1, k))
    for _ in range(50):
        h.cluster.propose(h.fresh_value(), server=leader1)
    h.sleep(ET // 2)
    h.disconnect(leader1)
    h.disconnect(h.other(leader1, 1))
    # The other three commit 50 commands.
    for k in (2, 3, 4):
        h.connect(h.other(leader1, k))
    for _ in range(50):
        h.one(h.fresh_value(), 3, retry=True)
    # Their leader and one follower are cut off with 50 more uncommittable commands.
    leader2 = h.check_one_leader()
    other = h.other(leader1, 2)
    if leader2 == other:
        other = h.other(leader2, 1)
    h.disconnect(other)
    for _ in range(50):
        h.cluster.propose(h.fresh_value(), server=leader2)
    h.sleep(ET // 2)
    # The original leader, its follower and `other` come back: they must settle the
    # divergent suffixes and commit 50 more.
    for sid in h.ids:
        h.disconnect(sid)
    h.connect(leader1)
    h.connect(h.other(leader1, 1))
    h.connect(other)
    for _ in range(50):
        h.one(h.fresh_value(), 3, retry=True)
    # Everyone.
    for sid in h.ids:
        h.connect(sid)
    h.one(h.fresh_value(), h.n, retry=True)
    h.finish()
    return h


def count(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, count_rpcs=True, **options)
    h.check_one_leader()
    total1 = h.rpc_total()
    if not 1 < total1 <= 30:
        h.fail(f"too many or too few RPCs ({total1}) to elect the first leader")

    for attempt in range(5):
        if attempt > 0:
            h.sleep(3000)  # give the cluster time to settle
        leader = h.check_one_leader()
        total1 = h.rpc_total()
        iters = 10
        first = h.cluster.propose(1, server=leader)
        if not first.accepted:
            continue
        start, term = _placed(first)
        commands = []
        for i in range(1, iters + 1):
            x = h.fresh_value()
            commands.append(x)
            reply = h.cluster.propose(x, server=leader)
            if reply.term != term or not reply.accepted:
                break  # the term changed while proposing
            if reply.index != start + i:
                h.fail(f"propose() gave index {reply.index}, expected {start + i}")
        else:
            moved_on = False
            for i in range(1, iters + 1):
                value = h.wait(start + i, h.n, term)
                if value is None:
                    moved_on = True
                    break
                if value != commands[i - 1]:
                    h.fail(
                        f"wrong value {value} committed at index {start + i}; "
                        f"expected {commands[i - 1]}"
                    )
            if moved_on or any(h.cluster.servers[s].current_term != term for s in h.ids):
                continue  # the term changed: no low RPC count to expect
            total2 = h.rpc_total()
            if total2 - total1 > (iters + 1 + 3) * 3:
                h.fail(f"too many RPCs ({total2 - total1}) for {iters + 1} entries")
            break
    else:
        h.fail("the term changed too often")

    h.sleep(ET)
    total3 = h.rpc_total()
    if total3 - total2 > 3 * 20:
        h.fail(f"too many RPCs ({total3 - total2}) for 1 second of idleness")
    h.finish()
    return h


# ================================================================ 3C: persistence


def persist1(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(11, h.n, retry=True)
    # Crash and restart everyone.
    for sid in h.ids:
        h.start(sid)
    for sid in h.ids:
        h.connect(sid)
    h.one(12, h.n, retry=True)
    # Restart the leader.
    leader1 = h.check_one_leader()
    h.disconnect(leader1)
    h.start(leader1)
    h.connect(leader1)
    h.one(13, h.n, retry=True)
    # Cut the leader off, agree without it, then restart it.
    leader2 = h.check_one_leader()
    h.disconnect(leader2)
    index14 = h.one(14, h.n - 1, retry=True)
    h.start(leader2)
    h.connect(leader2)
    h.wait(index14, h.n, -1)  # leader2 rejoins before i3 goes
    # Restart a follower.
    i3 = h.other(h.check_one_leader(), 1)
    h.disconnect(i3)
    h.one(15, h.n - 1, retry=True)
    h.start(i3)
    h.connect(i3)
    h.one(16, h.n, retry=True)
    h.finish()
    return h


def persist2(seed: int, **options: Any) -> Harness:
    h = Harness(5, seed, **options)
    value = 11
    for _ in range(5):
        h.one(value, h.n, retry=True)
        value += 1
        leader1 = h.check_one_leader()
        h.disconnect(h.other(leader1, 1))
        h.disconnect(h.other(leader1, 2))
        h.one(value, h.n - 2, retry=True)
        value += 1
        for k in (0, 3, 4):
            h.disconnect(h.other(leader1, k))
        # Two servers that missed the last command restart; with a third one they
        # must elect a leader that has it (from their disks and the third's).
        h.start(h.other(leader1, 1))
        h.start(h.other(leader1, 2))
        h.connect(h.other(leader1, 1))
        h.connect(h.other(leader1, 2))
        h.sleep(ET)
        h.start(h.other(leader1, 3))
        h.connect(h.other(leader1, 3))
        h.one(value, h.n - 2, retry=True)
        value += 1
        h.connect(h.other(leader1, 4))
        h.connect(leader1)
    h.one(1000, h.n, retry=True)
    h.finish()
    return h


def persist3(seed: int, **options: Any) -> Harness:
    h = Harness(3, seed, **options)
    h.one(101, 3, retry=True)
    leader = h.check_one_leader()
    h.disconnect(h.other(leader, 2))
    h.one(102, 2, retry=True)
    # The leader and its follower crash; the partitioned server returns, with the
    # restarted leader.
    h.crash(leader)
    h.crash(h.other(leader, 1))
    h.connect(h.other(leader, 2))
    h.start(leader)
    h.connect(leader)
    h.one(103, 2, retry=True)
    h.start(h.other(leader, 1))
    h.connect(h.other(leader, 1))
    h.one(104, h.n, retry=True)
    h.finish()
    return h


def _short_or_long_sleep(h: Harness, long_ms: int) -> None:
    """Figure 8's pause: 10% of rounds up to ``long_ms``, the others 0-12 ms."""
    if h.rng.randrange(1000) < 100:
        h.sleep(h.rng.randrange(long_ms))
    else:
        h.sleep(h.rng.randrange(13))


#: Figure 8's long pauses last up to half of MIT's election timeout there; here up to
#: half of our (300 ms) maximum election timeout, so 1000 rounds take ~15 virtual s.
FIGURE8_LONG_MS = 150


def figure8(seed: int, **options: Any) -> Harness:
    """Leaders crash right after taking commands, often before replicating them, so
    logs diverge in the ways of the paper's Figure 8."""
    h = Harness(5, seed, **options)
    h.one(h.fresh_value(), 1, retry=True)
    up = h.n
    for _ in range(1000):
        leader = None
        for sid in h.ids:
            if h.alive(sid) and h.cluster.propose(h.fresh_value(), server=sid).accepted:
                leader = sid
        _short_or_long_sleep(h, FIGURE8_LONG_MS)
        if leader is not None:
            h.crash(leader)
            up -= 1
        if up < 3:
            sid = h.rng.randrange(h.n) + 1
            if not h.alive(sid):
                h.start(sid)
                h.connect(sid)
                up += 1
    for sid in h.ids:
        if not h.alive(sid):
            h.start(sid)
            h.connect(sid)
    h.one(h.fresh_value(), h.n, retry=True)
    h.finish()
    return h


def unreliable_agree(seed: int, **options: Any) -> Harness:
    h = Harness(5, seed, unreliable=True, **options)
    background = []
    for iteration in range(1, 50):
        for j in range(4):
            background.append(h.start_one(100 * iteration + j, 1, retry=True))
        h.one(iteration, 1, retry=True)
    h.set_unreliable(False)
    h.wait_clients(background)
    h.one(100, h.n, retry=True)
    h.finish()
    return h


def figure8_unreliable(seed: int, **options: Any) -> Harness:
    h = Harness(5, seed, unreliable=True, **options)
    h.one(h.fresh_value(), 1, retry=True)
    up = h.n
    for iteration in range(1000):
        if iteration == 200:
            h.set_long_reordering(True)
        leader = None
        for sid in h.ids:
            reply = h.cluster.propose(h.fresh_value(), server=sid)
            if reply.accepted and sid in h.connected:
                leader = sid
        _short_or_long_sleep(h, FIGURE8_LONG_MS)
        if leader is not None and h.rng.randrange(1000) < 500:
            h.disconnect(leader)
            up -= 1
        if up < 3:
            sid = h.rng.randrange(h.n) + 1
            if sid not in h.connected:
                h.connect(sid)
                up += 1
    for sid in h.ids:
        h.connect(sid)
    h.one(h.fresh_value(), h.n, retry=True)
    h.finish()
    return h


#: MIT pauses 7/10 of its election timeout between changes, "smaller than the election
#: timeout, but not hugely smaller"; here 7/10 of the cluster's (300 ms) maximum one.
CHURN_PAUSE_MS = 210


class ChurnClient:
    """A client of MIT's churn test: offers a fresh value to every running server,
    checks a few times (after 0, 10, 30, 80, 180 ms) whether it was applied at the
    index it got, then tries again; with no leader it pauses 79 + 17*me ms."""

    CHECKS = (0, 10, 30, 80, 180, 380)  # the last one only ends the wait

    def __init__(self, h: Harness, me: int) -> None:
        self.h = h
        self.me = me
        self.values: list[int] = []
        self.stop = False
        self.finished = False
        self.wake = h.now
        self.pending: tuple[int, int, int, int] | None = None  # value, index, t0, checks done

    def poll(self) -> bool:
        h = self.h
        now = h.now
        if self.pending is not None:
            value, index, t0, done = self.pending
            while done < len(self.CHECKS) and now - t0 >= self.CHECKS[done]:
                done += 1
                if done == len(self.CHECKS):
                    break
                count, applied = h.n_committed(index, 1) if h._quick_count(index) else (0, None)
                if count > 0:
                    if applied == value:
                        self.values.append(value)
                    done = len(self.CHECKS)
            if done < len(self.CHECKS):
                self.pending = (value, index, t0, done)
                self.wake = t0 + self.CHECKS[done]
                return False
            self.pending = None
        elif now < self.wake:
            return False
        if self.stop:
            self.finished = True
            return True
        value = h.fresh_value()
        placed: int | None = None
        for sid in h.ids:
            if h.alive(sid):
                reply = h.cluster.propose(value, server=sid)
                if reply.accepted:
                    placed = _placed(reply)[0]
        if placed is None:
            self.wake = now + 79 + self.me * 17
        else:
            self.pending = (value, placed, now, 0)
            return self.poll()
        return False


def _churn(seed: int, unreliable: bool, **options: Any) -> Harness:
    h = Harness(5, seed, unreliable=unreliable, **options)
    clients = [ChurnClient(h, me) for me in range(3)]
    h.clients.extend(clients)
    for _ in range(20):
        if h.rng.randrange(1000) < 200:
            h.disconnect(h.rng.randrange(h.n) + 1)
        if h.rng.randrange(1000) < 500:
            sid = h.rng.randrange(h.n) + 1
            if not h.alive(sid):
                h.start(sid)
            h.connect(sid)
        if h.rng.randrange(1000) < 200:
            sid = h.rng.randrange(h.n) + 1
            if h.alive(sid):
                h.crash(sid)
        # Often enough that things have not settled, rarely enough that they can.
        h.sleep(CHURN_PAUSE_MS)
    h.sleep(ET)
    h.set_unreliable(False)
    for sid in h.ids:
        if not h.alive(sid):
            h.start(sid)
        h.connect(sid)
    for client in clients:
        client.stop = True
    h.wait_clients(clients)
    values = [v for client in clients for v in client.values]
    h.sleep(ET)
    last = h.one(h.fresh_value(), h.n, retry=True)
    # Every server applies everything up to `last`; the values the clients saw
    # committed are among them.
    if not h.run_until(
        lambda: all(h.cluster.servers[s].last_applied >= last for s in h.ids), 30_000
    ):
        h.fail(f"not every server applied through index {last}")
    h.check_all()
    really = {v for index, v in h.committed.items() if index <= last}
    missing = [v for v in values if v not in really]
    if missing:
        h.fail(f"values the clients saw applied are not in the final log: {missing[:5]}")
    h.finish()
    return h


def reliable_churn(seed: int, **options: Any) -> Harness:
    return _churn(seed, unreliable=False, **options)


def unreliable_churn(seed: int, **options: Any) -> Harness:
    return _churn(seed, unreliable=True, **options)


# ============================================================ 3D: log compaction

SNAPSHOT_INTERVAL = 10  # MIT's SnapShotInterval: snapshot every 10 applied commands
MAX_LOG_ENTRIES = 60  # MIT checks the persisted size (MAXLOGSIZE); here the entries kept


class IndexedMachine:
    """Records every applied command with its index; the snapshot is that record."""

    def __init__(self) -> None:
        self.applied: list[list[Any]] = []

    def apply(self, index: int, data: Any) -> None:
        self.applied.append([index, data])

    def snapshot(self) -> list[list[Any]]:
        return [list(pair) for pair in self.applied]

    def restore(self, value: list[list[Any]]) -> None:
        self.applied = [list(pair) for pair in value]


class SnapshotHarness(Harness):
    """``Harness`` over a compacting cluster: what a server applied is what its state
    machine holds (snapshots included), kept across crashes until it restarts."""

    def __init__(
        self, servers: int, seed: int, *, unreliable: bool = False, **options: Any
    ) -> None:
        self._last_seen: dict[int, list[tuple[int, Any]]] = {}
        super().__init__(
            servers,
            seed,
            unreliable=unreliable,
            snapshot_threshold=SNAPSHOT_INTERVAL,
            state_machine=IndexedMachine,
            **options,
        )

    def applied(self, sid: int) -> list[tuple[int, Any]]:
        machine = self.cluster.state_machine(sid)
        if machine is not None:
            self._last_seen[sid] = [(index, data) for index, data in machine.applied]
        return self._last_seen.get(sid, [])

    def check_log_size(self) -> None:
        for sid in self.ids:
            held = len(self.cluster.servers[sid].log)
            if held > MAX_LOG_ENTRIES:
                self.fail(f"S{sid}'s log holds {held} entries: log compaction is not working")

    def installs(self) -> int:
        return sum(1 for e in self.cluster.trace if e.rule in ("IS.6", "IS.7"))


def _snapcommon(
    seed: int, disconnect: bool, reliable: bool, crash: bool, **options: Any
) -> Harness:
    iterations, servers = 30, 3
    h = SnapshotHarness(servers, seed, unreliable=not reliable, **options)
    h.one(h.fresh_value(), servers, True)
    leader1 = h.check_one_leader()
    for i in range(iterations):
        victim = h.other(leader1, 1)
        sender = leader1
        if i % 3 == 1:
            sender, victim = h.other(leader1, 1), leader1
        if disconnect:
            h.disconnect(victim)
            h.one(h.fresh_value(), servers - 1, True)
        if crash:
            h.crash(victim)
            h.one(h.fresh_value(), servers - 1, True)
        # Perhaps send enough to get a snapshot.
        for _ in range(SNAPSHOT_INTERVAL // 2 + h.rng.randrange(SNAPSHOT_INTERVAL)):
            if h.alive(sender) and sender in h.connected:
                h.cluster.propose(h.fresh_value(), server=sender)
        if not disconnect and not crash:
            # Every follower caught up: no InstallSnapshot needed (snapshots basic).
            h.one(h.fresh_value(), servers, True)
        else:
            h.one(h.fresh_value(), servers - 1, True)
        h.check_log_size()
        if disconnect:
            # A follower that may be behind, and needs a snapshot to catch up.
            h.connect(victim)
            h.one(h.fresh_value(), servers, True)
            leader1 = h.check_one_leader()
        if crash:
            h.start(victim)
            h.connect(victim)
            h.one(h.fresh_value(), servers, True)
            leader1 = h.check_one_leader()
    if (disconnect or crash) and h.installs() == 0:
        h.fail("no follower ever installed a snapshot (Figure 13)")
    h.finish()
    return h


def snapshot_basic(seed: int, **options: Any) -> Harness:
    return _snapcommon(seed, disconnect=False, reliable=True, crash=False, **options)


def snapshot_install(seed: int, **options: Any) -> Harness:
    return _snapcommon(seed, disconnect=True, reliable=True, crash=False, **options)


def snapshot_install_unreliable(seed: int, **options: Any) -> Harness:
    return _snapcommon(seed, disconnect=True, reliable=False, crash=False, **options)


def snapshot_install_crash(seed: int, **options: Any) -> Harness:
    return _snapcommon(seed, disconnect=False, reliable=True, crash=True, **options)


def snapshot_install_unreliable_crash(seed: int, **options: Any) -> Harness:
    return _snapcommon(seed, disconnect=False, reliable=False, crash=True, **options)


def _crash_all_and_revive(h: SnapshotHarness) -> None:
    for sid in h.ids:
        h.crash(sid)
    for sid in h.ids:
        h.start(sid)
        h.connect(sid)


def snapshot_all_crash(seed: int, **options: Any) -> Harness:
    """Crash and restart all servers, repeatedly: each comes back from its snapshot
    plus its log, and the next command lands after everything committed before."""
    servers = 3
    h = SnapshotHarness(servers, seed, **options)
    h.one(h.fresh_value(), servers, True)
    for _ in range(5):
        for _ in range(SNAPSHOT_INTERVAL // 2 + h.rng.randrange(SNAPSHOT_INTERVAL)):
            h.one(h.fresh_value(), servers, True)
        index1 = h.one(h.fresh_value(), servers, True)
        _crash_all_and_revive(h)
        index2 = h.one(h.fresh_value(), servers, True)
        if index2 < index1 + 1:
            h.fail(f"index decreased from {index1} to {index2}")
    h.finish()
    return h


def snapshot_init(seed: int, **options: Any) -> Harness:
    """A restart from a snapshot, one more command, and another restart: what the
    first restart recovered must be written back correctly."""
    servers = 3
    h = SnapshotHarness(servers, seed, **options)
    h.one(h.fresh_value(), servers, True)
    for _ in range(SNAPSHOT_INTERVAL + 1):  # enough to make a snapshot
        h.one(h.fresh_value(), servers, True)
    _crash_all_and_revive(h)
    h.one(h.fresh_value(), servers, True)  # something written back to storage
    _crash_all_and_revive(h)
    h.one(h.fresh_value(), servers, True)  # to trigger a potential bug
    assert all(h.cluster.servers[i].snapshot_index > 0 for i in h.ids)
    h.finish()
    return h


# ======================================================================== the gallery

#: The lab's tests by their Go names (without ``Test``), in the lab's order.
TESTS: dict[str, Callable[..., Harness]] = {
    "InitialElection3A": initial_election,
    "ReElection3A": re_election,
    "ManyElections3A": many_elections,
    "BasicAgree3B": basic_agree,
    "FollowerFailure3B": follower_failure,
    "LeaderFailure3B": leader_failure,
    "FailAgree3B": fail_agree,
    "FailNoAgree3B": fail_no_agree,
    "ConcurrentStarts3B": concurrent_starts,
    "Rejoin3B": rejoin,
    "Backup3B": backup,
    "Count3B": count,
    "Persist13C": persist1,
    "Persist23C": persist2,
    "Persist33C": persist3,
    "Figure83C": figure8,
    "UnreliableAgree3C": unreliable_agree,
    "Figure8Unreliable3C": figure8_unreliable,
    "ReliableChurn3C": reliable_churn,
    "UnreliableChurn3C": unreliable_churn,
    "SnapshotBasic3D": snapshot_basic,
    "SnapshotInstall3D": snapshot_install,
    "SnapshotInstallUnreliable3D": snapshot_install_unreliable,
    "SnapshotInstallCrash3D": snapshot_install_crash,
    "SnapshotInstallUnCrash3D": snapshot_install_unreliable_crash,
    "SnapshotAllCrash3D": snapshot_all_crash,
    "SnapshotInit3D": snapshot_init,
}


@dataclass
class TestResult:
    """One test's outcome: ``passed``, the failure ``message`` (None if it passed),
    the virtual time it ran (``virtual_ms``) and the wall time it took (``seconds``)."""

    name: str
    passed: bool
    message: str | None
    virtual_ms: int
    seconds: float


@dataclass
class LabReport:
    """The gallery's outcome: ``passed`` (every test passed), ``results`` (test name ->
    passed), ``failures`` (name -> what broke), and ``replay(name)``, the cluster of a
    test as it ended (or as it was when a check failed), ready for the dashboard."""

    storage: Any
    seed: int
    options: dict[str, Any]
    tests: list[TestResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(test.passed for test in self.tests)

    @property
    def results(self) -> dict[str, bool]:
        return {test.name: test.passed for test in self.tests}

    @property
    def failures(self) -> dict[str, str]:
        return {test.name: test.message or "" for test in self.tests if not test.passed}

    def replay(self, name: str) -> Cluster:
        """Run test ``name`` again, the same way (it is deterministic), and return its
        cluster: at the failed check, or at the end."""
        _check_names([name])
        try:
            return TESTS[name](self.seed, **self.options).cluster
        except LabFailure as failure:
            return failure.cluster

    def summary(self) -> str:
        passed = sum(test.passed for test in self.tests)
        virtual = sum(test.virtual_ms for test in self.tests) / 1000
        wall = sum(test.seconds for test in self.tests)
        return (
            f"6.5840 Raft tests on {_name(self.storage)} (seed {self.seed}): {passed} of "
            f"{len(self.tests)} passed, {virtual:,.0f} s of virtual time in {wall:.1f} s"
        )

    def __repr__(self) -> str:
        lines = [self.summary()]
        for test in self.tests:
            mark = "PASS" if test.passed else "FAIL"
            why = "" if test.passed else ": " + _first_line(test.message or "")
            lines.append(f"  {mark} {test.name}{why}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        badges = []
        for test in self.tests:
            colour, mark = ("#1b5e20", "&#10003;") if test.passed else ("#b00020", "&#10007;")
            why = "passed" if test.passed else _first_line(test.message or "")
            title = escape(f"{why} ({test.virtual_ms / 1000:.1f} s virtual)", quote=True)
            badges.append(
                f'<span class="luminous-lab-badge" title="{title}" style="display:inline-block;'
                f"margin:2px;padding:1px 6px;border-radius:4px;color:white;"
                f'background:{colour};font-family:monospace">{mark} {escape(test.name)}</span>'
            )
        failed = "".join(
            f"<li><b>{escape(name)}</b>: {escape(_first_line(message))}</li>"
            for name, message in self.failures.items()
        )
        details = (
            f"<ul>{failed}</ul><p><code>report.replay(name).show()</code> steps through a "
            "test's run in the dashboard.</p>"
            if failed
            else ""
        )
        return (
            f'<div class="luminous-labs"><p>{escape(self.summary())}</p>'
            f"<div>{''.join(badges)}</div>{details}</div>"
        )


def run(
    storage: Any = None,
    *,
    seed: int = 1,
    tests: list[str] | None = None,
    disk_faults: str | None = "unsynced",
    **cluster_options: Any,
) -> LabReport:
    """Run the 6.5840 tests (all, or those named in ``tests``) with storage handler
    ``storage`` (default: the built-in ``DiskStorage``) and return a ``LabReport``.
    A test that raises anything but a failed check (say, the handler cannot do log
    compaction) fails with that error's message."""
    names = list(TESTS) if tests is None else list(tests)
    _check_names(names)
    if type(seed) is not int:
        raise LuminousError(f"seed={seed!r}: the seed must be a whole number")
    options = {"storage": storage, "disk_faults": disk_faults, **cluster_options}
    report = LabReport(storage, seed, options)
    for name in names:
        started = time.perf_counter()
        message: str | None = None
        virtual = 0
        try:
            virtual = TESTS[name](seed, **options).cluster.now
        except LabFailure as failure:
            message = str(failure)
            virtual = failure.cluster.now
        except LuminousError as error:
            message = f"{type(error).__name__}: {error}"
        report.tests.append(
            TestResult(name, message is None, message, virtual, time.perf_counter() - started)
        )
    return report


def _check_names(names: list[str]) -> None:
    unknown = [name for name in names if name not in TESTS]
    if unknown:
        raise LuminousError(
            f"no 6.5840 test is called {', '.join(map(repr, unknown))}; the tests are "
            f"{', '.join(TESTS)}"
        )


def _first_line(message: str, most: int = 240) -> str:
    """A failure in a line: its first line, cut at ``most`` characters."""
    line = message.splitlines()[0] if message else ""
    return line if len(line) <= most else line[: most - 3] + "..."


def _name(storage: Any) -> str:
    if storage is None:
        return "DiskStorage"
    return str(getattr(storage, "__name__", type(storage).__name__))
