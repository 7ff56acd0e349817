"""The MIT 6.5840 Raft lab tests (3A, 3B, 3C), re-expressed deterministically.

Each scenario is a function of a seed: the seed builds the cluster and drives the test's
own random choices (``random.Random(seed)``), so a failing seed replays exactly. Time is
virtual: "sleep" lets the simulated cluster run. ``scenario_helpers.Harness`` checks the
safety properties after every step and at checkpoints; every scenario ends with
``h.finish()`` (which also requires ``cluster.violations == []``).

Where the lab counts log indexes from 1 for the first command, here each new leader first
appends a no-op entry (§8), so index expectations are relative to earlier indexes.

Run one scenario with another seed (MIT_SEEDS adds seeds to every scenario):
    MIT_SEEDS=123 .venv/bin/python -m pytest tests/test_mit_scenarios.py -k 'figure8 and seed_123'
or  .venv/bin/python -c "import sys; sys.path.insert(0, 'tests'); \\
        import test_mit_scenarios as t; t.SCENARIOS['figure8'](123)"
The seed sweeps: .venv/bin/python -m pytest tests/test_mit_scenarios.py -m slow
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from scenario_helpers import ELECTION_TIMEOUT, Harness, SeedScenarios

import luminous_edu as le

ET = ELECTION_TIMEOUT

# =============================================================== 3A: leader election


def initial_election(seed: int) -> None:
    h = Harness(3, seed)
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


def re_election(seed: int) -> None:
    h = Harness(3, seed)
    leader1 = h.check_one_leader()
    # If the leader disconnects, a new one is elected.
    h.disconnect(leader1)
    h.check_one_leader()
    # The old leader rejoining does not disturb the new leader, and steps down.
    h.connect(leader1)
    leader2 = h.check_one_leader()
    v = h.cluster.servers[leader1]
    if leader1 != leader2 and v.role is not le.Role.FOLLOWER:
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


def many_elections(seed: int) -> None:
    h = Harness(7, seed)
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


# ============================================================== 3B: log replication


def basic_agree(seed: int) -> None:
    h = Harness(3, seed)
    indexes = []
    for k in range(1, 4):
        early = [v for sid in h.ids for _, v in h.cluster.applied(sid) if v >= k * 100]
        if early:
            h.fail(f"some server applied {early} before it was proposed")
        index = h.one(k * 100, h.n, retry=False)
        if indexes and index != indexes[-1] + 1:
            h.fail(f"got index {index} but expected {indexes[-1] + 1}")
        indexes.append(index)
    h.finish()


def follower_failure(seed: int) -> None:
    h = Harness(3, seed)
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


def leader_failure(seed: int) -> None:
    h = Harness(3, seed)
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


def fail_agree(seed: int) -> None:
    h = Harness(3, seed)
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


def fail_no_agree(seed: int) -> None:
    h = Harness(5, seed)
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
    if not reply.index + 1 <= reply2.index <= reply.index + 2:
        h.fail(f"unexpected index {reply2.index} (20 was proposed at {reply.index})")
    h.one(1000, h.n, retry=True)
    h.finish()


def concurrent_starts(seed: int) -> None:
    h = Harness(3, seed)
    for attempt in range(5):
        if attempt > 0:
            h.sleep(3000)  # give the cluster time to settle
        leader = h.check_one_leader()
        first = h.cluster.propose(1, server=leader)
        if not first.accepted:
            continue
        term = first.term
        # Five clients propose "at once": at the same virtual instant, no step between.
        indexes = []
        for i in range(5):
            reply = h.cluster.propose(100 + i, server=leader)
            if reply.accepted and reply.term == term:
                indexes.append(reply.index)
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


def rejoin(seed: int) -> None:
    h = Harness(3, seed)
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


def backup(seed: int) -> None:
    h = Harness(5, seed)
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


def count(seed: int) -> None:
    h = Harness(3, seed, count_rpcs=True)
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
        term = first.term
        commands = []
        for i in range(1, iters + 1):
            x = h.fresh_value()
            commands.append(x)
            reply = h.cluster.propose(x, server=leader)
            if reply.term != term or not reply.accepted:
                break  # the term changed while proposing
            if reply.index != first.index + i:
                h.fail(f"propose() gave index {reply.index}, expected {first.index + i}")
        else:
            moved_on = False
            for i in range(1, iters + 1):
                value = h.wait(first.index + i, h.n, term)
                if value is None:
                    moved_on = True
                    break
                if value != commands[i - 1]:
                    h.fail(
                        f"wrong value {value} committed at index {first.index + i}; "
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


def count_steady_load(seed: int) -> None:
    """Not in 6.5840: TestCount's budget (about one AppendEntries per command per
    follower, plus heartbeats) for a steady stream of commands rather than one burst."""
    h = Harness(3, seed, count_rpcs=True)
    leader = h.check_one_leader()
    total1, t1 = h.rpc_total(), h.now
    last = 0
    commands = 400
    for _ in range(commands):  # one command every 5 ms for 2 s
        reply = h.cluster.propose(h.fresh_value(), server=leader)
        if not reply.accepted:
            h.fail(f"S{leader} stopped leading with no failures")
        last = reply.index
        h.sleep(5)
    h.wait(last, h.n, -1)
    total2 = h.rpc_total()
    heartbeats = (h.now - t1) // h.cluster.heartbeat_interval_ms + 1
    budget = (commands + heartbeats + 3) * (h.n - 1)
    if total2 - total1 > budget:
        h.fail(
            f"too many RPCs ({total2 - total1}) for {commands} commands over "
            f"{h.now - t1} ms; expected at most {budget}"
        )
    h.finish()


# ================================================================ 3C: persistence


def persist1(seed: int) -> None:
    h = Harness(3, seed)
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


def persist2(seed: int) -> None:
    h = Harness(5, seed)
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


def persist3(seed: int) -> None:
    h = Harness(3, seed)
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


def _short_or_long_sleep(h: Harness, long_ms: int) -> None:
    """Figure 8's pause: 10% of rounds up to ``long_ms``, the others 0-12 ms."""
    if h.rng.randrange(1000) < 100:
        h.sleep(h.rng.randrange(long_ms))
    else:
        h.sleep(h.rng.randrange(13))


#: Figure 8's long pauses last up to half of MIT's election timeout there; here up to
#: half of our (300 ms) maximum election timeout, so 1000 rounds take ~15 virtual s.
FIGURE8_LONG_MS = 150


def figure8(seed: int) -> None:
    """Leaders crash right after taking commands, often before replicating them, so
    logs diverge in the ways of the paper's Figure 8."""
    h = Harness(5, seed)
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


def unreliable_agree(seed: int) -> None:
    h = Harness(5, seed, unreliable=True)
    background = []
    for iteration in range(1, 50):
        for j in range(4):
            background.append(h.start_one(100 * iteration + j, 1, retry=True))
        h.one(iteration, 1, retry=True)
    h.set_unreliable(False)
    h.wait_clients(background)
    h.one(100, h.n, retry=True)
    h.finish()


def figure8_unreliable(seed: int) -> None:
    h = Harness(5, seed, unreliable=True)
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
        index = None
        for sid in h.ids:
            if h.alive(sid):
                reply = h.cluster.propose(value, server=sid)
                if reply.accepted:
                    index = reply.index
        if index is None:
            self.wake = now + 79 + self.me * 17
        else:
            self.pending = (value, index, now, 0)
            return self.poll()
        return False


def _churn(seed: int, unreliable: bool) -> None:
    h = Harness(5, seed, unreliable=unreliable)
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


def reliable_churn(seed: int) -> None:
    _churn(seed, unreliable=False)


def unreliable_churn(seed: int) -> None:
    _churn(seed, unreliable=True)


# ======================================================================== running

SCENARIOS: dict[str, Callable[[int], None]] = {
    "initial_election": initial_election,
    "re_election": re_election,
    "many_elections": many_elections,
    "basic_agree": basic_agree,
    "follower_failure": follower_failure,
    "leader_failure": leader_failure,
    "fail_agree": fail_agree,
    "fail_no_agree": fail_no_agree,
    "concurrent_starts": concurrent_starts,
    "rejoin": rejoin,
    "backup": backup,
    "count": count,
    "count_steady_load": count_steady_load,
    "persist1": persist1,
    "persist2": persist2,
    "persist3": persist3,
    "figure8": figure8,
    "unreliable_agree": unreliable_agree,
    "figure8_unreliable": figure8_unreliable,
    "reliable_churn": reliable_churn,
    "unreliable_churn": unreliable_churn,
}

RANDOMIZED = (
    "figure8",
    "figure8_unreliable",
    "unreliable_agree",
    "reliable_churn",
    "unreliable_churn",
)

#: Extra seeds for every scenario of the normal run, e.g. MIT_SEEDS="123 456".
EXTRA_SEEDS = [int(s) for s in os.environ.get("MIT_SEEDS", "").replace(",", " ").split()]
SEEDS = {name: [1, 2, 3, 4, 5] if name in RANDOMIZED else [1, 2, 3] for name in SCENARIOS}
#: The slow sweep: seeds per scenario, sized to keep it within a few minutes.
SWEEP = {name: range(1000, 1100) for name in SCENARIOS} | {
    "count_steady_load": range(1000, 1010),
    "figure8": range(1000, 1300),
    "figure8_unreliable": range(1000, 1150),
    "unreliable_agree": range(1000, 1150),
    "reliable_churn": range(1000, 1200),
    "unreliable_churn": range(1000, 1200),
}


RUNNER = SeedScenarios("test_mit_scenarios", "test_mit_scenario", SCENARIOS)


CASES = [
    pytest.param(name, seed, id=f"{name}-seed_{seed}")
    for name in SCENARIOS
    for seed in sorted({*SEEDS[name], *EXTRA_SEEDS})
]


@pytest.mark.parametrize(("name", "seed"), CASES)
def test_mit_scenario(name: str, seed: int) -> None:
    RUNNER.run(name, seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mit_scenario_sweep(name: str) -> None:
    """Many seeds per scenario; the message lists every failing seed."""
    RUNNER.sweep(name, SWEEP[name])
