"""The test harness of the MIT 6.5840 Raft lab, in deterministic virtual time.

The 6.5840 tests drive real goroutines against a lossy RPC layer and sleep in wall-clock
time. Here the same tests drive an ``le.Cluster``: "sleep" is virtual time passing,
"concurrent clients" are small state machines polled between steps, and every random
choice the test makes comes from ``random.Random(seed)``.

``Harness`` wraps a cluster and checks, after every single step:

- at most one leader per term, remembered over the whole run;
- no server's term ever goes down (terms are persistent);
- ``last_applied <= commit_index <= last log index`` on every live server;
- when any server's commit index rises to N, a majority of servers store at least N
  entries, and if it is the leader, a majority (itself included) match it through N.

and, at checkpoints (the end of every ``one``, before a restart resets a server's applied
list, and at ``finish``):

- the same value is applied at each index on every server, over the whole run (across
  restarts too), and each server applies in increasing index order;
- every applied entry is stored, with that value, by a majority of the servers;
- at ``finish``: every server applied exactly the committed commands up to its
  ``last_applied`` (no gaps, prefix-consistent), ``cluster.violations == []`` and
  ``cluster.check() == []`` (Figure 3), and no handler errors.

A failed check raises ``LabFailure``, an ``AssertionError`` that says what broke (with
the seed, step and time) and holds the cluster as it was then (``error.cluster``).

An entry counts as committed (``n_committed``, MIT's ``nCommitted``) only by the number of
servers that applied it; ``one`` requires ``expected`` of them.

Server ids are 1..n; MIT's ``(leader + k) % servers`` is ``h.other(leader, k)``.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ..core import Role
from ..sim import Cluster, Network


class LabFailure(AssertionError):
    """A lab test's check failed; ``cluster`` is the cluster at that moment."""

    def __init__(self, message: str, cluster: Cluster) -> None:
        super().__init__(message)
        self.cluster = cluster


#: MIT's RaftElectionTimeout: the tests' unit of "a while" (virtual ms).
ELECTION_TIMEOUT = 1000

RELIABLE = Network(delay_ms=(5, 15))
#: MIT's unreliable network drops 10% of requests and replies and delays them 0-27 ms;
#: here messages are also sometimes delivered twice.
UNRELIABLE = Network(delay_ms=(0, 27), drop_rate=0.1, duplicate_rate=0.05)
#: MIT's "long reordering" delays most replies by hundreds of ms; here every message may
#: take up to this long, so messages overtake each other across heartbeats.
LONG_REORDERING_DELAY = (0, 120)

_REQUESTS = frozenset({"RequestVote", "AppendEntries"})
_NOT_APPLIED = object()
_LEADER = Role.LEADER


class Harness:
    """An ``le.Cluster`` plus MIT's test-config helpers and strict safety checks."""

    def __init__(
        self,
        servers: int,
        seed: int,
        *,
        unreliable: bool = False,
        count_rpcs: bool = False,
        **cluster_options: Any,
    ) -> None:
        self.n = servers
        self.seed = seed
        self.rng = random.Random(seed)  # the test's own choices
        self.cluster = Cluster(servers=servers, seed=seed, **cluster_options)
        self.ids = list(self.cluster.ids)
        self._views = [self.cluster.servers[i] for i in self.ids]
        self.majority = servers // 2 + 1
        self.connected = set(self.ids)
        self.unreliable = False
        self.long_reordering = False
        # Safety bookkeeping.
        self.leaders: dict[int, int] = {}  # term -> its leader, over the whole run
        self._term = dict.fromkeys(self.ids, 0)
        self._commit = dict.fromkeys(self.ids, 0)
        self.committed: dict[int, Any] = {}  # index -> value, applied by some server
        self._checked = dict.fromkeys(self.ids, 0)  # applied(i) entries verified
        self._last_checked_index = dict.fromkeys(self.ids, 0)
        self._unverified: set[int] = set()  # applied indexes not yet majority-checked
        self._indexes: dict[int, list[int]] = {i: [] for i in self.ids}  # verified, by server
        self._fetched_at = dict.fromkeys(self.ids, -1)  # last_applied when last verified
        # Background clients (MIT's goroutines): each has ``wake`` (virtual ms) and
        # ``poll() -> finished``, called between steps once ``wake`` has come.
        self.clients: list[Any] = []
        # RPC counting (MIT's rpcTotal): ids of request messages ever scheduled.
        self._count_rpcs = count_rpcs
        self._rpc_ids: set[int] = set()
        self._next_value = 0
        if unreliable:
            self.set_unreliable(True)

    # ------------------------------------------------------------ basics

    @property
    def now(self) -> int:
        return self.cluster.now

    def other(self, sid: int, k: int) -> int:
        """MIT's ``(sid + k) % servers`` for ids 1..n."""
        return (sid - 1 + k) % self.n + 1

    def fresh_value(self) -> int:
        """A random command value never used before in this run."""
        self._next_value += 1
        return self.rng.randrange(1 << 30) * 10_000 + self._next_value % 10_000

    def fail(self, message: str) -> NoReturn:
        c = self.cluster
        raise LabFailure(
            f"[seed={self.seed} step={c.step_count} t={c.now}ms] {message}\n"
            f"servers: {c.servers!r}\nlast trace events:\n{c.trace.text(last=15)}",
            c,
        )

    def alive(self, sid: int) -> bool:
        return self.cluster.servers[sid].alive

    # ------------------------------------------------------ time passing

    def _tick(self) -> None:
        """Run after every step: strict per-step safety checks, then clients."""
        terms, commits, leaders = self._term, self._commit, self.leaders
        for v in self._views:
            if not v.alive:
                continue  # nothing changes on a crashed server
            sid = v.id
            term = v.current_term
            if term != terms[sid]:
                if term < terms[sid]:
                    self.fail(f"S{sid}'s term went down from {terms[sid]} to {term}")
                terms[sid] = term
            if v.role is _LEADER:
                first = leaders.setdefault(term, sid)
                if first != sid:
                    self.fail(f"two leaders in term {term}: S{first} and S{sid}")
            commit = v.commit_index
            if commit != commits[sid]:
                self._commit_moved(v, commit)
        if self._count_rpcs:
            ids = self._rpc_ids
            for event in self.cluster.pending():
                if event.kind == "deliver" and type(event.message).__name__ in _REQUESTS:
                    ids.add(event.id)
        if self.clients:
            now = self.cluster.now
            self.clients = [c for c in self.clients if c.wake > now or not c.poll()]

    def _commit_moved(self, v: Any, commit: int) -> None:
        """Server ``v``'s commit index moved to ``commit``: check it is backed by a
        majority, and that the server applied no further."""
        sid, majority = v.id, self.majority
        if commit < self._commit[sid]:
            self.fail(f"S{sid}'s commit index went down to {commit} without a restart")
        if commit > v.last_log_index:
            self.fail(f"S{sid} committed {commit} past its log ({v.last_log_index})")
        holders = sum(1 for w in self._views if w.last_log_index >= commit)
        if holders < majority:
            self.fail(
                f"S{sid} committed index {commit} but only {holders} servers store "
                f"that many entries (majority is {majority})"
            )
        if v.role is _LEADER:
            matched = 1 + sum(1 for m in v.match_index.values() if m >= commit)
            if matched < majority:
                self.fail(
                    f"leader S{sid} committed index {commit} with only {matched} "
                    f"servers matching it (majority is {majority})"
                )
        if v.last_applied > commit:
            self.fail(f"S{sid} applied {v.last_applied} past its commit index {commit}")
        self._commit[sid] = commit

    def run_until(self, predicate: Callable[[], bool], max_ms: int) -> bool:
        """Step (checking after every step) until ``predicate()`` or ``max_ms`` pass."""

        def check(_cluster: Cluster) -> bool:
            self._tick()
            return predicate()

        return bool(self.cluster.run_until(check, max_ms, warn=False))

    def sleep(self, ms: int) -> None:
        """Let ``ms`` of virtual time pass, with background clients running."""
        self.run_until(lambda: False, ms)

    def rpc_total(self) -> int:
        """Requests (RequestVote, AppendEntries) sent so far; a request and its reply
        count once. Exact on a network that loses nothing at send time."""
        assert self._count_rpcs, "build the Harness with count_rpcs=True"
        self._tick()
        return len(self._rpc_ids)

    # ----------------------------------------------------------- network

    def set_unreliable(self, flag: bool) -> None:
        self.unreliable = flag
        self._apply_network()

    def set_long_reordering(self, flag: bool) -> None:
        self.long_reordering = flag
        self._apply_network()

    def _apply_network(self) -> None:
        network = UNRELIABLE if self.unreliable else RELIABLE
        delay_ms = LONG_REORDERING_DELAY if self.long_reordering else network.delay_ms
        self.cluster.set_network(
            delay_ms=delay_ms,
            drop_rate=network.drop_rate,
            duplicate_rate=network.duplicate_rate,
        )

    def disconnect(self, sid: int) -> None:
        if sid in self.connected:
            self.connected.discard(sid)
            self.cluster.disconnect(sid)

    def connect(self, sid: int) -> None:
        if sid not in self.connected:
            self.connected.add(sid)
            self.cluster.connect(sid)

    # ------------------------------------------------------------ faults

    def crash(self, sid: int) -> None:
        """MIT's crash1: cut the server off, then crash it (its Disk survives)."""
        self.disconnect(sid)
        if self.alive(sid):
            self.cluster.crash(sid)

    def start(self, sid: int) -> None:
        """MIT's start1: crash the server if it runs, then restart it from its Disk. It
        stays disconnected until ``connect``."""
        self.crash(sid)
        self._check_applied(sid)  # its applied list is about to start afresh
        self.cluster.restart(sid)
        self._checked[sid] = 0
        self._last_checked_index[sid] = 0
        self._indexes[sid] = []
        self._fetched_at[sid] = -1
        self._commit[sid] = 0

    # ------------------------------------------------------ inspections

    def check_one_leader(self) -> int:
        """MIT's checkOneLeader: wait a while, then the leader of the highest term among
        connected servers; fails on two leaders in a term or no leader after 10 tries."""
        for _ in range(10):
            self.sleep(self.rng.randint(450, 550))
            by_term: dict[int, list[int]] = {}
            for sid in sorted(self.connected):
                v = self.cluster.servers[sid]
                if v.alive and v.role is Role.LEADER:
                    by_term.setdefault(v.current_term, []).append(sid)
            for term, ids in by_term.items():
                if len(ids) > 1:
                    self.fail(f"term {term} has {len(ids)} leaders: {ids}")
            if by_term:
                return by_term[max(by_term)][0]
        self.fail("expected one leader, got none")

    def check_terms(self) -> int:
        """MIT's checkTerms: every connected server is in the same term; returns it."""
        terms = {
            sid: self.cluster.servers[sid].current_term
            for sid in sorted(self.connected)
            if self.alive(sid)
        }
        if len(set(terms.values())) > 1:
            self.fail(f"servers disagree on term: {terms}")
        return next(iter(terms.values()))

    def check_no_leader(self) -> None:
        for sid in sorted(self.connected):
            v = self.cluster.servers[sid]
            if v.alive and v.role is Role.LEADER:
                self.fail(f"expected no leader among connected servers, but S{sid} claims to be")

    def n_committed(self, index: int, enough: int | None = None) -> tuple[int, Any]:
        """MIT's nCommitted: how many servers applied ``index``, and the value. With
        ``enough``, may stop counting once that many are found."""
        count = 0
        stale = []
        for sid in self.ids:
            if self.cluster.servers[sid].last_applied < index:
                continue
            if self._fetched_at[sid] < index:
                stale.append(sid)  # fetch applied(sid) only if needed
            elif _contains(self._indexes[sid], index):
                count += 1
        for sid in stale:
            if enough is not None and count >= enough:
                break
            if _contains(self._applied_indexes(sid), index):
                count += 1
        return count, self.committed.get(index)

    def _quick_count(self, index: int) -> int:
        """An upper bound of ``n_committed(index)[0]`` that copies nothing."""
        return sum(1 for v in self._views if v.last_applied >= index)

    # -------------------------------------------------------- agreement

    def one(self, cmd: Any, expected: int, retry: bool) -> int:
        """MIT's one(): submit ``cmd`` to whoever takes it, and wait until ``expected``
        servers applied it at the same index; returns that index."""
        client = OneClient(self, cmd, expected, retry)
        self.run_until(client.poll, 60_000)
        if client.result is None:
            self.fail(f"one({cmd}) got no answer")
        self.check_all()
        return client.result

    def start_one(self, cmd: Any, expected: int, retry: bool) -> OneClient:
        """``one`` in the background (a goroutine in MIT's tests)."""
        client = OneClient(self, cmd, expected, retry)
        self.clients.append(client)
        return client

    def wait_clients(self, clients: list[Any], max_ms: int = 120_000) -> None:
        """Let time pass until every client in ``clients`` has finished."""
        if not self.run_until(lambda: all(c.finished for c in clients), max_ms):
            self.fail(f"{sum(not c.finished for c in clients)} clients never finished")

    def wait(self, index: int, n: int, start_term: int) -> Any:
        """MIT's wait(): until ``n`` servers applied ``index``; None if some server moved
        past ``start_term`` (when it is not -1) first."""

        def moved_on() -> bool:
            return start_term > -1 and any(v.current_term > start_term for v in self._views)

        def done() -> bool:
            if self._quick_count(index) >= n and self.n_committed(index, n)[0] >= n:
                return True
            return moved_on()

        self.run_until(done, 25_000)
        count, value = self.n_committed(index)
        if count < n:
            if moved_on():
                return None
            self.fail(f"only {count} decided for index {index}; wanted {n}")
        return value

    # ----------------------------------------------------------- checks

    def applied(self, sid: int) -> list[tuple[int, Any]]:
        """What server ``sid`` applied since its (re)start, as (index, value)."""
        return self.cluster.applied(sid)

    def _applied_indexes(self, sid: int) -> list[int]:
        """The indexes server ``sid`` applied since its (re)start, all verified; fetched
        again only when its ``last_applied`` moved."""
        if self._fetched_at[sid] != self.cluster.servers[sid].last_applied:
            self._check_applied(sid)
        return self._indexes[sid]

    def _check_applied(self, sid: int) -> None:
        """Verify the entries server ``sid`` applied since the last check: increasing
        indexes, and the same value as every other server applied at that index."""
        self._fetched_at[sid] = self.cluster.servers[sid].last_applied
        applied = self.applied(sid)
        start = self._checked[sid]
        previous = self._last_checked_index[sid]
        committed = self.committed
        indexes = self._indexes[sid]
        for index, value in applied[start:]:
            indexes.append(index)
            if index <= previous:
                self.fail(f"S{sid} applied index {index} after index {previous}")
            known = committed.get(index, _NOT_APPLIED)
            if known is _NOT_APPLIED:
                committed[index] = value
                self._unverified.add(index)
            elif known != value:
                self.fail(
                    f"S{sid} applied {value!r} at index {index}, where another server "
                    f"applied {known!r}"
                )
            previous = index
        self._checked[sid] = len(applied)
        self._last_checked_index[sid] = previous

    def check_all(self) -> None:
        """Check every server's new applies, and that each newly applied entry is
        stored with that value by a majority of the servers."""
        for sid in self.ids:
            self._applied_indexes(sid)
        if not self._unverified:
            return
        views = [self.cluster.servers[sid] for sid in self.ids]
        logs = [(v.snapshot_index, v.log) for v in views]
        for index in sorted(self._unverified):
            value = self.committed[index]
            # An entry inside a server's snapshot is committed there (§7).
            holders = sum(
                1
                for first, log in logs
                if index <= first
                or (index - first <= len(log) and log[index - first - 1].data == value)
            )
            if holders < self.majority:
                self.fail(
                    f"index {index} ({value!r}) was applied, but only {holders} servers "
                    f"store it (majority is {self.majority})"
                )
        self._unverified.clear()

    def finish(self) -> None:
        """The end-of-scenario checks (see the module docstring)."""
        self._tick()
        self.check_all()
        commands = sorted(self.committed)
        for sid in self.ids:
            v = self.cluster.servers[sid]
            got = [index for index, _ in self.applied(sid)]
            want = commands[: bisect.bisect_right(commands, v.last_applied)]
            if got != want:
                missing = sorted(set(want) - set(got))[:10]
                self.fail(
                    f"S{sid} applied through {v.last_applied} but not the same commands as "
                    f"the others; missing indexes {missing}"
                )
        c = self.cluster
        if c.violations:
            self.fail(f"safety violations: {_some(c.violations)}")
        found = c.check()
        if found:
            self.fail(f"Figure 3 violations on a full rescan: {_some(found)}")
        if c.errors:
            self.fail(f"handler errors: {_some(c.errors)}")


def _some(found: Sequence[Any], shown: int = 3) -> str:
    """The first few of ``found`` (violations or errors), and how many more."""
    text = "; ".join(str(x).splitlines()[0] for x in found[:shown])
    more = len(found) - shown
    return f"{text}; and {more} more" if more > 0 else text


def _contains(ordered: list[int], item: int) -> bool:
    position = bisect.bisect_left(ordered, item)
    return position < len(ordered) and ordered[position] == item


class OneClient:
    """MIT's one(cmd, expected, retry) as a state machine polled between steps.

    Try the connected servers in turn until one takes ``cmd``; then wait up to 2 s for
    ``expected`` servers to apply it at that index; otherwise retry (if ``retry``), or
    sleep 50 ms when nobody took it; give up after 10 s."""

    def __init__(self, h: Harness, cmd: Any, expected: int, retry: bool) -> None:
        self.h = h
        self.cmd = cmd
        self.expected = expected
        self.retry = retry
        self.t0 = h.now
        self.starts = 0
        self.index: int | None = None
        self.t1 = 0
        self.wake = h.now
        self.result: int | None = None
        self.finished = False

    def poll(self) -> bool:
        if self.finished:
            return True
        h = self.h
        now = h.now
        if self.index is not None:
            index = self.index
            if h._quick_count(index) >= self.expected:
                count, value = h.n_committed(index, self.expected)
                if count >= self.expected and value == self.cmd:
                    self.result = index
                    self.finished = True
                    return True
                if count > 0 and value != self.cmd:  # another command won the index
                    if not self.retry:
                        h.fail(f"one({self.cmd}): index {index} committed {value!r} instead")
                    self.t1 = now - 2000  # committed values never change: retry now
            if now - self.t1 < 2000:
                return False
            if not self.retry:
                h.fail(f"one({self.cmd}) failed to reach agreement")
            self.index = None
        if now - self.t0 >= 10_000:
            h.fail(f"one({self.cmd}, expected={self.expected}) failed to reach agreement in 10 s")
        if now < self.wake:
            return False
        for _ in range(h.n):
            self.starts = self.starts % h.n + 1
            sid = self.starts
            if sid in h.connected and h.alive(sid):
                reply = h.cluster.propose(self.cmd, server=sid)
                if reply.accepted:
                    self.index = reply.index
                    self.t1 = now
                    return False
        self.wake = now + 50
        return False
