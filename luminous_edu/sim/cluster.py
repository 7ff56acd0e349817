"""The Cluster: servers, storage, a network and virtual time, behind a step controller.

Theory of operation
-------------------
Everything that changes lives in a ``World``. Every change to it is a *step*: the
automatic firing of the next scheduled event, or one input from the user (a proposal,
a crash, a network change, a manual ``fire``...). Steps are numbered from 1; the state
after construction is step 0. The history records one action per step, so:

- ``seek(k)`` restores the nearest checkpoint at or before step k and replays the
  recorded actions up to k (replay is deterministic, so this reproduces step k exactly);
- after a rewind, ``step``/``run`` replay the recorded future, inputs included;
- any new input while a future is recorded forks: the old future is discarded.

Inputs carry the virtual time at which they were made; automatic steps fire at their
event's due time. ``run(ms)`` may also move the clock forward past the last event; that
is not a step.
"""

from __future__ import annotations

import bisect
import hashlib
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from heapq import heappush
from typing import Any, NamedTuple

from ..check import SafetyChecker, Violation, scan
from ..check.durability import DurableState
from ..check.violation import LINEARIZABLE_READS
from ..core import (
    AppendEntriesReply,
    CompactLog,
    Entry,
    InstallSnapshotReply,
    LoadState,
    Output,
    RequestVoteReply,
    Role,
    SaveSnapshot,
    Server,
    StoredState,
    looks_like_marker,
)
from ..core.log import MARKER_KEY, stable_repr
from ..core.membership import Configuration
from ..core.output import RESET, START, STOP
from ..errors import DataError, InvalidActionError, LuminousError, UnknownServerError
from ..storage import Disk, DiskStorage, JsonCodec, copy_value
from ..storage.disk import PowerLoss, check_fault_mode
from ..storage.handler import missing_compaction_methods
from ..storage.stored import StoredStateError, validate_stored_state
from .events import DELIVER, ELECTION_TIMEOUT, HEARTBEAT, Event
from .narration import RawEvent, Trace
from .network import Network
from .outcomes import GaveUp, GaveUpWarning
from .randomness import draw_int
from .state_machine import RecordingStateMachine
from .views import Servers
from .world import World

CHECKPOINT_INTERVAL = 1024
_new = tuple.__new__  # builds a named tuple from its fields in order, skipping __new__
# The role under a plain name: in Python 3.11 ``Role.LEADER`` goes through EnumType's
# lookup and costs about 0.2 us, several times a plain global, on hot paths here.
_LEADER = Role.LEADER
_NEXT = ("next",)
_JSON_ATOMS = (int, str, bool, type(None))

Action = tuple[Any, ...]


class _Proposal(NamedTuple):
    accepted: bool
    index: int | None  # type: ignore[assignment]  # shadows tuple.index
    term: int | None
    leader_hint: int | None


class ProposalResult(_Proposal):
    """The answer to ``cluster.propose``: whether the server took the command, where it
    sits in the log (index, term), whom the server believes leads, and, when it was
    refused, the ``reason`` (a sentence; None when accepted).

    It is still the 4-tuple ``(accepted, index, term, leader_hint)``, so code that
    unpacks four values keeps working; ``reason`` is an attribute beside them."""

    reason: str | None

    def __new__(
        cls,
        accepted: bool,
        index: int | None,
        term: int | None,
        leader_hint: int | None,
        reason: str | None = None,
    ) -> ProposalResult:
        result = super().__new__(cls, accepted, index, term, leader_hint)
        result.reason = reason
        return result

    def __repr__(self) -> str:
        fields = (
            f"accepted={self.accepted!r}, index={self.index!r}, term={self.term!r}, "
            f"leader_hint={self.leader_hint!r}"
        )
        if self.reason is not None:
            fields += f", reason={self.reason!r}"
        return f"ProposalResult({fields})"


class ReadHandle:
    """A linearizable read (``cluster.read``): ``accepted`` says whether the server took
    it; ``done``, ``index`` and ``value`` fill in once the leader has confirmed that it
    still leads and applied through the read index. A read the leader cannot confirm
    (it was cut off or deposed) never completes. ``error`` holds the message if the
    query raised."""

    def __init__(
        self, cluster: Cluster, read_id: int | None, accepted: bool, leader_hint: int | None
    ) -> None:
        self._cluster = cluster
        self.id = read_id
        self.accepted = accepted
        self.leader_hint = leader_hint

    def _result(self) -> tuple[int, Any, str | None] | None:
        if self.id is None:
            return None
        return self._cluster._world.read_results.get(self.id)

    @property
    def done(self) -> bool:
        return self._result() is not None

    @property
    def index(self) -> int | None:
        result = self._result()
        return None if result is None else result[0]

    @property
    def value(self) -> Any:
        result = self._result()
        return None if result is None else copy_value(self._cluster._codec, result[1])

    @property
    def error(self) -> str | None:
        result = self._result()
        return None if result is None else result[2]

    def __repr__(self) -> str:
        if not self.accepted:
            return f"<read not accepted; leader hint {self.leader_hint}>"
        if not self.done:
            return f"<read #{self.id}: waiting>"
        return f"<read #{self.id} at index {self.index}: {self.value!r}>"


class TransferResult(NamedTuple):
    """The answer to ``cluster.transfer_leadership``."""

    accepted: bool
    reason: str | None


class MembershipResult(NamedTuple):
    """The answer to ``add_server``, ``remove_server``, ``add_learner`` and ``promote``:
    whether the leader started the change (``accepted``) and, if not, the ``reason``."""

    accepted: bool
    reason: str | None


MEMBERSHIP_MODES = ("single", "joint")
MAX_SERVER_ID = 99


class Input(NamedTuple):
    """A recorded user input, as returned by ``step()`` when it replays one."""

    kind: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class HandlerError:
    """Student code (a storage handler or state machine) raised; its server stopped."""

    server: int
    step: int
    what: str  # "storage handler" or "state machine"
    message: Any  # the storage message, or the entry being applied
    error: BaseException
    traceback: str

    def __str__(self) -> str:
        message = self.message if isinstance(self.message, str) else repr(self.message)
        return (
            f"step {self.step}: S{self.server}'s {self.what} raised "
            f"{type(self.error).__name__}: {self.error} while handling {message}. "
            f"S{self.server} has stopped; the rest of the cluster goes on. "
            f"cluster.restart({self.server}) starts it again with the same code; to try "
            f"fixed code, build a new Cluster with it.\n{self.traceback}"
        )


class SafetyViolationError(AssertionError):
    """Raised after a step by a ``strict=True`` cluster that broke a Figure 3 property."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


class Cluster:
    """A Raft cluster simulated in this process. See DESIGN.md for the full contract.

    ``Cluster(servers=5, seed=7)`` builds servers S1..S5. Drive it with ``step``,
    ``run`` and ``run_until``; go back with ``rewind`` and ``seek``; inspect it through
    ``servers[i]``, ``leader``, ``trace`` and ``violations``.
    """

    def __init__(
        self,
        servers: int = 3,
        *,
        seed: int = 0,
        storage: Callable[[Disk], Any] | None = None,
        state_machine: Callable[[], Any] | None = None,
        election_timeout_ms: tuple[int, int] = (150, 300),
        heartbeat_interval_ms: int = 50,
        network: Network | None = None,
        codec: Any = None,
        checks: bool = True,
        strict: bool = False,
        disk_faults: str | dict[int, str | None] | None = None,
        leader_noop: bool = True,
        prevote: bool = False,
        check_quorum: bool = False,
        membership: str = "single",
        single_change_bug: bool = False,
        snapshot_threshold: int | None = None,
        lease_reads: bool = False,
        clock_drift_bound: float = 1.0,
    ) -> None:
        if type(servers) is not int or not 1 <= servers <= 99:
            raise LuminousError(f"servers={servers!r}: give the number of servers, 1 to 99")
        if type(seed) is not int:
            raise LuminousError(f"seed={seed!r}: the seed must be a whole number")
        low_high = election_timeout_ms
        if (
            not isinstance(low_high, tuple | list)
            or len(low_high) != 2
            or not all(type(x) is int for x in low_high)
            or not 1 <= low_high[0] <= low_high[1]
        ):
            raise LuminousError(
                f"election_timeout_ms={low_high!r}: give (min, max) whole milliseconds "
                "with 1 <= min <= max, for example (150, 300)"
            )
        if type(heartbeat_interval_ms) is not int or heartbeat_interval_ms < 1:
            raise LuminousError(
                f"heartbeat_interval_ms={heartbeat_interval_ms!r}: give whole milliseconds >= 1"
            )
        if network is None:
            network = Network()
        elif not isinstance(network, Network):
            raise LuminousError(
                f"network={network!r}: give le.Network(delay_ms=(5, 15), drop_rate=0.0, "
                "duplicate_rate=0.0)"
            )
        # The servers the cluster starts with; add_server brings more.
        self.initial_ids: tuple[int, ...] = tuple(range(1, servers + 1))
        if isinstance(disk_faults, dict):
            for sid, mode in disk_faults.items():
                # A server added later (add_server) takes its mode from here when it joins.
                if type(sid) is not int or not 1 <= sid <= MAX_SERVER_ID:
                    raise UnknownServerError(
                        f"disk_faults names server {sid!r}; give server ids 1..{MAX_SERVER_ID} "
                        f"(the cluster starts with 1..{servers})"
                    )
                check_fault_mode(mode)
            disk_faults = dict(sorted(disk_faults.items()))
        else:
            check_fault_mode(disk_faults)
        if storage is not None and not callable(storage):
            raise LuminousError(
                f"storage={storage!r}: give a handler class, built as MyStorage(disk)"
            )
        if state_machine is not None and not callable(state_machine):
            raise LuminousError(
                f"state_machine={state_machine!r}: give a class with apply(index, data)"
            )
        codec = JsonCodec() if codec is None else codec
        if not all(hasattr(codec, a) for a in ("encode", "decode")):
            raise LuminousError(f"codec={codec!r}: a codec needs encode(value) and decode(blob)")

        self.seed = seed
        if type(leader_noop) is not bool:
            raise LuminousError(f"leader_noop={leader_noop!r}: give True or False")
        # False gives Figure 2 exactly: a new leader appends no no-op entry (§8).
        self.leader_noop = leader_noop
        for name, value in (("prevote", prevote), ("check_quorum", check_quorum)):
            if type(value) is not bool:
                raise LuminousError(f"{name}={value!r}: give True or False")
        self.prevote = prevote  # thesis §9.6
        self.check_quorum = check_quorum  # thesis §6.2
        if membership not in MEMBERSHIP_MODES:
            raise LuminousError(
                f"membership={membership!r}: give 'single' (one server added or removed per "
                "change, thesis §4.2) or 'joint' (joint consensus, C_old,new then C_new, §6)"
            )
        if type(single_change_bug) is not bool:
            raise LuminousError(f"single_change_bug={single_change_bug!r}: give True or False")
        self.membership = membership
        # True brings back the bug Ongaro reported in 2015: a new leader may start a
        # membership change before it has committed an entry of its term (thesis §4.1).
        self.single_change_bug = single_change_bug
        if snapshot_threshold is not None and (
            type(snapshot_threshold) is not int or snapshot_threshold < 1
        ):
            raise LuminousError(
                f"snapshot_threshold={snapshot_threshold!r}: give the number of applied "
                "entries (a whole number >= 1) after which a server snapshots its state "
                "machine and compacts its log, or None never to compact"
            )
        if snapshot_threshold is not None:
            lacking = missing_compaction_methods(storage or DiskStorage)
            if lacking:
                label = str(
                    getattr(storage, "__name__", None)
                    or getattr(storage, "name", type(storage).__name__)
                )
                wanted = " and ".join(f"{m}(msg)" for m in lacking)
                raise LuminousError(
                    f"snapshot_threshold={snapshot_threshold}: the servers will save "
                    f"snapshots and compact their logs (§7), but {label} has no {wanted}. "
                    "Add them (read le.StorageHandler.save_snapshot? and "
                    "le.StorageHandler.compact_log?), or leave snapshot_threshold=None."
                )
        # Log compaction (§7): snapshot after this many applied entries; None never.
        self.snapshot_threshold = snapshot_threshold
        self.lease_reads, self.clock_drift_bound = _check_lease(
            lease_reads, clock_drift_bound, check_quorum
        )
        self.election_timeout_ms = (low_high[0], low_high[1])
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.checks = checks
        self.strict = strict
        self.disk_faults = disk_faults
        self._initial_network = network
        self._storage = storage or DiskStorage
        self._state_machine = state_machine or RecordingStateMachine
        self._codec = codec

        self._history: list[Action] = []  # the action of step k is _history[k - 1]
        self._step = 0
        # What every recorded step produced. ``_out`` is where the step being executed
        # writes: ``_log`` when recording, a scratch copy when replaying (a replay
        # reproduces what is already there). Views show the steps up to ``_step``.
        self._log = _Records()
        self._out = self._log
        self._read_queries: dict[int, Callable[[Any], Any]] = {}  # by read id
        self._checkpoints: dict[int, World] = {}
        self.servers = Servers(self)
        self._world = self._build_world()
        self._checkpoint()

    # ------------------------------------------------------------ inspecting

    @property
    def ids(self) -> tuple[int, ...]:
        """Every server in the simulation, in order: the first ones and those added
        since (removed servers stay: they still run until you crash them)."""
        return self._world.ids

    @property
    def config(self) -> Configuration | None:
        """The configuration (``voters``, ``learners``, and ``old_voters`` during joint
        consensus) as the leader sees it; with no leader, as the live server with the
        most up-to-date log sees it; None if every server is down."""
        world = self._world
        leader = self.leader
        if leader is not None:
            return world.servers[leader].config
        best: Server | None = None
        for sid in world.ids:
            server = world.servers[sid]
            if world.alive[sid] and (
                best is None
                or (server.log.last_term, server.log.last_index)
                > (best.log.last_term, best.log.last_index)
            ):
                best = server
        return None if best is None else best.config

    @property
    def now(self) -> int:
        """Virtual time in milliseconds."""
        return self._world.now

    @property
    def step_count(self) -> int:
        """How many steps led to the current state (0 right after construction)."""
        return self._step

    @property
    def history_length(self) -> int:
        """Steps recorded, including a future kept after a rewind."""
        return len(self._history)

    @property
    def leader(self) -> int | None:
        """The live leader with the highest term, or None."""
        world = self._world
        best: Server | None = None
        for sid in world.ids:
            server = world.servers[sid]
            if (
                world.alive[sid]
                and server.role is _LEADER
                and (best is None or server.current_term > best.current_term)
            ):
                best = server
        return best.id if best else None

    @property
    def trace(self) -> Trace:
        """What happened at each step up to the current one, and why."""
        return Trace(self._log.trace, self._records_end(self._log.trace))

    @property
    def violations(self) -> list[Violation]:
        """Every Figure 3 violation seen up to the current step."""
        return self._log.violations[: self._records_end(self._log.violations)]

    @property
    def errors(self) -> list[HandlerError]:
        """Every error raised by student code (storage handlers, state machines) up to
        the current step; each stopped its server."""
        return self._log.errors[: self._records_end(self._log.errors)]

    @property
    def disconnected(self) -> frozenset[int]:
        """Servers cut off from the network by ``disconnect``."""
        return frozenset(self._world.links.disconnected)

    @property
    def partition_groups(self) -> tuple[tuple[int, ...], ...]:
        """The groups of the current partition, or () when the network is whole."""
        groups: dict[int, list[int]] = {}
        for server, number in sorted(self._world.links.group.items()):
            groups.setdefault(number, []).append(server)
        return tuple(tuple(g) for g in groups.values())

    def link_cut(self, a: int, b: int) -> bool:
        """True if messages between servers ``a`` and ``b`` are lost."""
        self._require_server(a)
        self._require_server(b)
        return self._world.links.cut(a, b)

    @property
    def lease_ms(self) -> int | None:
        """How long a leader's read lease lasts after the heartbeat round that confirmed
        it was sent: the minimum election timeout divided by ``clock_drift_bound``
        (None without ``lease_reads``)."""
        if not self.lease_reads:
            return None
        return int(self.election_timeout_ms[0] / self.clock_drift_bound)

    @property
    def network(self) -> Network:
        return self._world.network

    @network.setter
    def network(self, network: Network) -> None:
        if not isinstance(network, Network):
            raise LuminousError(f"{network!r} is not a le.Network")
        self._input(("network", network.delay_ms, network.drop_rate, network.duplicate_rate))

    def set_network(
        self,
        *,
        delay_ms: tuple[int, int] | None = None,
        drop_rate: float | None = None,
        duplicate_rate: float | None = None,
    ) -> Network:
        """Change some network settings, keep the others; returns the new settings."""
        old = self._world.network
        new = Network(
            delay_ms=old.delay_ms if delay_ms is None else delay_ms,
            drop_rate=old.drop_rate if drop_rate is None else drop_rate,
            duplicate_rate=old.duplicate_rate if duplicate_rate is None else duplicate_rate,
        )
        self.network = new
        return new

    def applied(self, server_id: int) -> list[tuple[int, Any]]:
        """``(index, data)`` of every command server ``server_id`` applied since its last
        (re)start, in order (no-op entries are not listed).

        With log compaction, only commands applied one by one from log entries are
        listed: a server that restores its state machine from a snapshot (installed
        from the leader, or recovered on restart) skips the indexes the snapshot
        covers, so after a restore the list has a gap there (or starts after the
        snapshot). ``state_machine(i)`` holds the whole state, and
        ``servers[i].snapshot_index`` says where the snapshot ends."""
        self._require_server(server_id)
        codec = self._codec
        return [(i, copy_value(codec, d)) for i, d in self._world.applied[server_id]]

    def state_machine(self, server_id: int) -> Any:
        """Server ``server_id``'s state machine object (None while it is down)."""
        self._require_server(server_id)
        return self._world.machines[server_id]

    def disk(self, server_id: int) -> dict[str, Any]:
        """A copy of what is stored on server ``server_id``'s Disk, by key."""
        self._require_server(server_id)
        return self._world.disks[server_id].contents()

    def disk_stats(self, server_id: int) -> dict[str, int]:
        """Counters of server ``server_id``'s Disk: ``writes`` (writes and deletes),
        ``syncs``, ``keys`` stored and ``unsynced`` keys; with log compaction, the
        ``snapshots`` its handler saved (``SaveSnapshot``) and the ``compactions`` it
        carried out (``CompactLog``). Cheap, unlike ``disk(i)``."""
        self._require_server(server_id)
        disk = self._world.disks[server_id]
        snapshots, compactions = self._world.compactions.get(server_id, (0, 0))
        return {
            "writes": disk.writes,
            "syncs": disk.syncs,
            "keys": len(disk),
            "unsynced": len(disk.unsynced_keys),
            "snapshots": snapshots,
            "compactions": compactions,
        }

    def pending(self) -> list[Event]:
        """Every scheduled event, in the order they would fire."""
        return self._world.queue.pending()

    def check(self) -> list[Violation]:
        """The Figure 3 properties checked now, from scratch, on the current state,
        together with every violation seen so far (``violations``)."""
        world = self._world
        ids = world.ids
        logs = {i: world.servers[i].log.entries for i in ids}
        commit = {i: world.servers[i].commit_index for i in ids}
        current = {
            i: world.servers[i].current_term
            for i in ids
            if world.alive[i] and world.servers[i].role is Role.LEADER
        }
        # Each applied entry with its term while the log still holds it (a compacted
        # entry's term is gone: None). A server whose log lost applied entries (a
        # buggy handler's restart) is left out, as before.
        applied = {
            i: [
                Entry(index, world.servers[i].log.term_at(index), data)  # type: ignore[arg-type]
                for index, data in world.applied[i]
            ]
            for i in ids
            if all(index <= world.servers[i].log.last_index for index, _ in world.applied[i])
        }
        leaders = {t: tuple(sorted(set(ids))) for t, ids in world.leader_terms.items()}
        compacted = {i: world.servers[i].log.snapshot_index for i in self.ids}
        found = scan(self._step, logs, commit, leaders, current, applied, snapshot_index=compacted)
        seen = {(v.property, v.detail) for v in self.violations}
        return list(self.violations) + [v for v in found if (v.property, v.detail) not in seen]

    def trace_digest(self) -> str:
        """SHA-256 of the trace: equal digests mean identical runs."""
        digest = hashlib.sha256()
        trace = self._log.trace
        for step, time, server, rule, args in trace[: self._records_end(trace)]:
            digest.update(f"{step}|{time}|{server}|{rule}|{args!r}\n".encode())
        # The inputs too: two runs that differ only in the data proposed are different.
        for action in self._history[: self._step]:
            if action[0] == "propose":
                digest.update(f"propose|{stable_repr(action[1])}\n".encode())
        return digest.hexdigest()

    # ------------------------------------------------------------- driving

    def step(self) -> Event | Input | None:
        """Take one step: replay the next recorded one, or fire the next scheduled
        event. Returns the event (or the replayed input); None if nothing is scheduled."""
        if self._step < len(self._history):
            return self._execute(self._history[self._step], record=False)  # type: ignore[no-any-return]
        event = self._world.queue.peek()
        if event is None:
            return None
        self._run_live(event.due, 1)
        return event

    def run(self, ms: int) -> int:
        """Advance virtual time by ``ms``, firing everything due; returns the steps taken."""
        if type(ms) is not int or ms < 0:
            raise LuminousError(f"run(ms={ms!r}): give a whole number of milliseconds >= 0")
        target = self._world.now + ms
        taken = 0
        while self._step < len(self._history):  # replay the recorded future first
            due = self._next_time()
            if due is None or due > target:
                break
            self.step()
            taken += 1
        else:
            taken += self._run_live(target)
        self._world.now = max(self._world.now, target)
        return taken

    def run_until(
        self, predicate: Callable[[Cluster], bool], max_ms: int = 10_000, *, warn: bool = True
    ) -> bool | GaveUp:
        """Step until ``predicate(cluster)`` is true, and return True; or give up once
        ``max_ms`` of virtual time have passed (the clock moved to that limit), or when
        nothing is left to happen, and return a ``GaveUp``: falsy (``== False``), with a
        ``reason``, shown as a sentence. Giving up also issues a ``GaveUpWarning``, so
        it is seen in the middle of a notebook cell; ``warn=False`` is for code that
        expects to give up (e.g. a predicate that only samples the run)."""
        if not callable(predicate):
            raise LuminousError(
                "run_until needs a function of the cluster, e.g. lambda c: c.leader"
            )
        if type(max_ms) is not int or max_ms < 0:
            raise LuminousError(f"max_ms={max_ms!r}: give a whole number of milliseconds >= 0")
        start = self._world.now
        deadline = start + max_ms
        while not predicate(self):
            due = self._next_time()
            if due is None or due > deadline:
                self._world.now = max(self._world.now, deadline)
                if due is None:
                    why = (
                        "nothing was left to happen (no message in flight, no timer "
                        "running: are all the servers down?)"
                    )
                else:
                    why = (
                        f"max_ms={max_ms} ms of virtual time passed (t={start}..{deadline} "
                        "ms); give a larger max_ms to wait longer"
                    )
                result = GaveUp(
                    f"run_until gave up at t={self._world.now} ms with the condition still "
                    f"false: {why}.",
                    self._world.now,
                    max_ms,
                )
                if warn:
                    warnings.warn(result.reason, GaveUpWarning, stacklevel=2)
                return result
            self.step()
        return True

    def fire(self, event_id: int | Event) -> Event:
        """Fire pending event ``event_id`` now, ahead of its turn (manual scheduling).
        ``event_id`` is an ``id`` from ``cluster.pending()``, or the pending ``Event``
        itself (``cluster.fire(cluster.pending()[0])``)."""
        event = self._pending_event(event_id)
        return self._input(("fire", event.id))  # type: ignore[no-any-return]

    def drop(self, event_id: int | Event) -> Event:
        """Lose pending message ``event_id`` (an id from ``pending()``, or the Event)."""
        event = self._pending_event(event_id)
        if event.kind != DELIVER:
            raise InvalidActionError(
                f"event #{event.id} is {event.describe()}, not a message; only messages "
                "in flight can be dropped (use timeout(i) to fire a timer now)"
            )
        return self._input(("drop", event.id))  # type: ignore[no-any-return]

    def timeout(self, server_id: int) -> None:
        """Make server ``server_id``'s election timer fire now, as one step."""
        self._require_alive(server_id, "time out")
        if self._world.servers[server_id].role is Role.LEADER:
            raise InvalidActionError(
                f"S{server_id} is the leader; leaders have no election timer. Crash it or "
                "disconnect it to make another server time out."
            )
        self._input(("timeout", server_id))

    # --------------------------------------------------------- time travel

    def rewind(self, steps: int = 1) -> None:
        """Go back ``steps`` steps. ``step``/``run`` then replay the same future until
        you change something."""
        if type(steps) is not int or steps < 0:
            raise LuminousError(f"rewind(steps={steps!r}): give a whole number >= 0")
        if steps > self._step:
            raise InvalidActionError(
                f"cannot rewind {steps} steps: only {self._step} steps have been taken"
            )
        self.seek(self._step - steps)

    def seek(self, step: int) -> None:
        """Go to step ``step`` of the recorded history (back or forward)."""
        if type(step) is not int or not 0 <= step <= len(self._history):
            raise InvalidActionError(
                f"seek({step!r}): the history has steps 0..{len(self._history)}"
            )
        if step == self._step:
            return
        for handler in self._world.handlers.values():
            if not getattr(handler, "rewindable", True):
                raise InvalidActionError(
                    f"{type(handler).__name__} keeps its state outside the simulation "
                    "(real files), which cannot be rewound; use the default DiskStorage "
                    "to rewind and seek"
                )
        if step < self._step or step - self._step > CHECKPOINT_INTERVAL:
            base = max(k for k in self._checkpoints if k <= step)
            self._world = self._checkpoints[base].clone()
            self._step = base
        while self._step < step:
            self._execute(self._history[self._step], record=False)

    # ---------------------------------------------------------- clients

    def propose(self, data: Any, server: int | None = None) -> ProposalResult:
        """A client request carrying ``data``, sent to ``server`` (default: the leader).

        Refused with ``accepted=False`` (and a ``leader_hint`` if known) when there is
        no leader or ``server`` is not a live leader. Data the codec cannot carry
        unchanged raises ``DataError`` and changes nothing."""
        copy = self._copy_in(data)
        if server is None:
            server = self.leader
            if server is None:
                return ProposalResult(
                    False,
                    None,
                    None,
                    None,
                    "there is no leader now (no server leads, or an election is under "
                    "way): wait for one, e.g. cluster.run_until(lambda c: c.leader is not "
                    "None), then propose again",
                )
        self._require_server(server)
        world = self._world
        target = world.servers[server]
        if not world.alive[server]:
            leader = self.leader
            elsewhere = f"; S{leader} leads" if leader is not None else ""
            return ProposalResult(
                False,
                None,
                None,
                None,
                f"S{server} is down: restart it (cluster.restart({server})) or send the "
                f"command to the leader{elsewhere}",
            )
        if target.role is not Role.LEADER:
            hint = target.leader_id
            follow = (
                f"it believes S{hint} leads: propose(data, server={hint})"
                if hint is not None
                else "it knows of no leader yet: wait for an election"
            )
            return ProposalResult(
                False,
                None,
                None,
                hint,
                f"S{server} is a {target.role.value}, not the leader, and only the leader "
                f"takes client commands (§5.1); {follow}",
            )
        return self._input(("propose", copy, server))  # type: ignore[no-any-return]

    # ------------------------------------------------------------ faults

    def crash(self, server_id: int) -> None:
        """Crash a server: it loses everything except what its Disk holds."""
        self._require_alive(server_id, "crash")
        self._input(("crash", server_id))

    def cut_power(self, server_id: int, after_operations: int = 0) -> None:
        """Arm a power cut inside server ``server_id``'s next storage call: its Disk
        carries out ``after_operations`` more writes, deletes and syncs, then the power
        goes and the server crashes in the middle of that call. The way to see what a
        crash *between two writes* of one handler call does."""
        self._require_alive(server_id, "cut the power of")
        if type(after_operations) is not int or after_operations < 0:
            raise LuminousError(f"after_operations={after_operations!r}: give a whole number >= 0")
        self._input(("cut_power", server_id, after_operations))

    def read(self, query: Callable[[Any], Any], server: int | None = None) -> ReadHandle:
        """A linearizable read by ReadIndex (thesis §6.4): once ``server`` (default: the
        leader) has confirmed it still leads, ``query(state_machine)`` runs on its state
        machine and the result fills ``handle.value``. A read sent to a follower is not
        accepted (``accepted=False``, ``leader_hint``). Queries stay in this process:
        an exported record replays the read, not the query (its value is None).

        With ``Cluster(lease_reads=True)`` a leader that holds a lease answers at once,
        with no round of heartbeats (thesis §6.4.1). The lease lasts ``lease_ms`` from
        the sending of the last heartbeat round a majority answered. That rests on two
        rules. Leader stickiness (CheckQuorum): a server that heard from the leader within
        the minimum election timeout votes for no one. Restarts: a server forgets in a
        crash when it last heard from the leader, so a server that restarts votes for no
        one (and refuses pre-votes) for one minimum election timeout after it boots; only
        a server that recovers term 0, which never heard from any leader, votes at once.
        And a clock assumption: no follower's clock runs faster than the leader's by more
        than ``clock_drift_bound``, so no follower times out and votes for someone else
        before the leader's lease ends. The simulated clocks are exact; real ones are not.

        Every completed read is checked against the highest commit index any running
        server had when the read was asked; a read that misses a committed entry is a
        "Linearizable Reads" violation."""
        if not callable(query):
            raise LuminousError(
                f"read(query={query!r}): give a function of the state machine, e.g. "
                "lambda sm: sm.values[-1]"
            )
        if server is None:
            server = self.leader
            if server is None:
                return ReadHandle(self, None, False, None)
        self._require_server(server)
        world = self._world
        target = world.servers[server]
        if not world.alive[server]:
            return ReadHandle(self, None, False, None)
        if target.role is not Role.LEADER or target.transfer_target is not None:
            return ReadHandle(self, None, False, target.leader_id)
        read_id = world.next_read_id
        self._read_queries[read_id] = query
        self._input(("read", read_id, server))
        return ReadHandle(self, read_id, True, server)

    def transfer_leadership(self, to: int) -> TransferResult:
        """Hand leadership from the current leader to server ``to`` (thesis §3.10): the
        leader brings ``to``'s log up to date, then sends it TimeoutNow; it refuses client
        commands meanwhile, and gives up after an election timeout. Returns whether the
        transfer started (``accepted``) and, if not, the ``reason``."""
        self._require_server(to)
        leader = self.leader
        if leader is None:
            return TransferResult(False, "there is no leader to hand over from")
        if not self._world.alive[to]:
            return TransferResult(False, f"S{to} is down")
        reason = self._world.servers[leader].transfer_refusal(to)
        if reason is not None:
            return TransferResult(False, reason)
        self._input(("transfer", leader, to))
        return TransferResult(True, None)

    # ----------------------------------------------------- membership changes

    def add_server(self, server_id: int) -> MembershipResult:
        """Make server ``server_id`` a voter (thesis §4.2). A new id starts a new, empty
        server with a new Disk and the cluster's storage handler and state machine. The
        leader first adds it as a learner and catches it up in rounds: a round sends
        every entry the leader's log held when the round began, and the first round that
        ends within the minimum election timeout makes it a voter (thesis §4.2.1). With
        ``membership="joint"`` that last step goes through C_old,new (§6)."""
        return self._change_membership("add_server", server_id)

    def remove_server(self, server_id: int) -> MembershipResult:
        """Take server ``server_id`` out of the configuration (a voter or a learner).
        A removed leader keeps leading, without counting itself, until the new
        configuration commits, then steps down (thesis §4.2.2). The server keeps
        running until you crash it; it cannot disrupt the others (§4.2.3)."""
        return self._change_membership("remove_server", server_id)

    def add_learner(self, server_id: int) -> MembershipResult:
        """Add server ``server_id`` (new or existing) as a learner: it receives the log
        but neither votes nor counts for commitment (thesis §4.2.1)."""
        return self._change_membership("add_learner", server_id)

    def promote(self, server_id: int) -> MembershipResult:
        """Make learner ``server_id`` a voter, once it has caught up (thesis §4.2.1)."""
        return self._change_membership("promote", server_id)

    def _change_membership(self, change: str, server_id: Any) -> MembershipResult:
        if type(server_id) is not int or not 1 <= server_id <= MAX_SERVER_ID:
            raise LuminousError(
                f"{change}({server_id!r}): give a server id, a whole number from 1 to "
                f"{MAX_SERVER_ID}"
            )
        leader = self.leader
        if leader is None:
            return MembershipResult(False, "there is no leader to carry out the change")
        world = self._world
        if server_id not in world.alive and change in ("remove_server", "promote"):
            return MembershipResult(
                False, f"there is no server S{server_id}; the servers are {list(world.ids)}"
            )
        reason = world.servers[leader].membership_refusal(change, server_id)
        if reason is not None:
            return MembershipResult(False, reason)
        self._input(("member", change, leader, server_id))
        return MembershipResult(True, None)

    def restart(self, server_id: int) -> None:
        """Restart a crashed server: a new storage handler over the same Disk recovers
        its state with ``load_state()``."""
        self._require_server(server_id)
        if self._world.alive[server_id]:
            raise InvalidActionError(f"S{server_id} is running; crash it before restarting it")
        self._input(("restart", server_id))

    def disconnect(self, server_id: int) -> None:
        """Cut every link to and from a server."""
        self._require_server(server_id)
        if server_id in self._world.links.disconnected:
            raise InvalidActionError(f"S{server_id} is already disconnected")
        self._input(("disconnect", server_id))

    def connect(self, server_id: int) -> None:
        """Undo ``disconnect``."""
        self._require_server(server_id)
        if server_id not in self._world.links.disconnected:
            raise InvalidActionError(f"S{server_id} is not disconnected")
        self._input(("connect", server_id))

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the network: servers talk only within their group. Servers named in no
        group form one more group together. ``partition({1, 2}, {3, 4, 5})``."""
        if not groups:
            raise LuminousError(
                "partition needs at least one group, e.g. partition({1, 2}, {3, 4, 5})"
            )
        seen: set[int] = set()
        canonical = []
        for group in groups:
            if isinstance(group, int) or not isinstance(group, Iterable):
                raise LuminousError(f"partition groups are sets of server ids; got {group!r}")
            members = list(group)
            for sid in members:
                self._require_server(sid)
            members = sorted(set(members))
            for sid in members:
                if sid in seen:
                    raise LuminousError(f"S{sid} is in two partition groups")
                seen.add(sid)
            canonical.append(tuple(members))
        self._input(("partition", tuple(canonical)))

    def heal(self) -> None:
        """Remove every partition and reconnect every disconnected server."""
        self._input(("heal",))

    # ------------------------------------------------------------- export

    def export(self) -> dict[str, Any]:
        """A JSON-serialisable record of the run up to the current step."""
        from .record import export_record

        return export_record(self)

    @classmethod
    def load(
        cls,
        record: Any,
        *,
        storage: Callable[[Disk], Any] | None = None,
        state_machine: Callable[[], Any] | None = None,
        codec: Any = None,
        max_steps: int = 5_000_000,
    ) -> Cluster:
        """Rebuild a cluster from ``export()``'s record by replaying it. Loading never
        runs code named by the record: pass the storage handler, state machine and
        codec the run used, if they were not the defaults. Records of more than
        ``max_steps`` steps are refused before any replay."""
        from .record import load_record

        return load_record(
            cls,
            record,
            storage=storage,
            state_machine=state_machine,
            codec=codec,
            max_steps=max_steps,
        )

    def __repr__(self) -> str:
        leader = f"S{self.leader}" if self.leader else "none"
        return (
            f"<Cluster of {len(self.ids)} servers, seed={self.seed}, step {self._step}, "
            f"t={self.now} ms, leader {leader}, {len(self.violations)} violations>"
        )

    # =========================================================== internals

    def _require_server(self, server_id: Any) -> None:
        if type(server_id) is not int or server_id not in self._world.alive:
            ids = self.ids
            names = (
                f"S1..S{len(ids)}"
                if ids == tuple(range(1, len(ids) + 1))
                else ", ".join(f"S{i}" for i in ids)
            )
            raise UnknownServerError(
                f"there is no server {server_id!r} in this cluster; its servers are "
                f"{', '.join(str(i) for i in ids)} ({names})"
            )

    def _require_alive(self, server_id: int, verb: str) -> None:
        self._require_server(server_id)
        if not self._world.alive[server_id]:
            raise InvalidActionError(
                f"cannot {verb} S{server_id}: it is down; restart it first "
                f"(cluster.restart({server_id}))"
            )

    def _pending_event(self, event_id: Any) -> Event:
        live = self._world.queue.live
        if isinstance(event_id, Event):
            # An Event from pending(): the same event if its id is still pending for the
            # same server and purpose (a timer keeps its id when it is reset).
            event = live.get(event_id.id)
            if event is None or event[2:6] != event_id[2:6]:
                raise InvalidActionError(
                    f"event #{event_id.id} ({event_id.describe()}) is not pending any more: "
                    "it has fired or was dropped (or it comes from another cluster). "
                    "cluster.pending() lists the events that can fire now"
                )
            return event
        if type(event_id) is not int:
            raise InvalidActionError(
                f"give an event id, a whole number such as 3 (event.id for an event from "
                f"cluster.pending()), or the event itself; got {event_id!r}"
            )
        event = live.get(event_id)
        if event is None:
            raise InvalidActionError(
                f"event {event_id!r} is not pending; cluster.pending() lists the events "
                "that can fire or be dropped, with their ids"
            )
        return event

    def _copy_in(self, data: Any) -> Any:
        if looks_like_marker(data):
            raise DataError(
                f"cannot propose {data!r}: dicts with the key {MARKER_KEY!r} are reserved "
                "for the core's own entries (no-ops and configurations)"
            )
        codec = self._codec
        if type(data) in _JSON_ATOMS and type(codec) is JsonCodec:
            return data  # immutable and unchanged by JSON: nothing to copy or check
        try:
            copy = codec.decode(codec.encode(data))
        except Exception as error:
            raise DataError(
                f"cannot propose {data!r}: the {getattr(codec, 'name', 'cluster')} codec cannot "
                f"encode it ({type(error).__name__}: {error}). The default codec takes "
                "JSON values: None, booleans, numbers, strings, lists and dicts with "
                "string keys; Cluster(codec=le.PickleCodec()) takes most Python values."
            ) from None
        if copy != data or type(copy) is not type(data):
            raise DataError(
                f"cannot propose {data!r}: the {getattr(codec, 'name', 'cluster')} codec "
                f"brings it back as {copy!r}, which is not the same value. Use JSON "
                "values (lists rather than tuples, string keys in dicts), or build the "
                "cluster with codec=le.PickleCodec()."
            )
        return copy

    def _next_time(self) -> int | None:
        """When the next step would happen, or None if nothing is scheduled."""
        if self._step < len(self._history):
            action = self._history[self._step]
            if action[0] != "next":
                return action[-1]  # type: ignore[no-any-return]  # inputs record their time last
        event = self._world.queue.peek()
        return None if event is None else max(event.due, self._world.now)

    def _input(self, action: Action) -> Any:
        """A new input from the user: forks if a future was recorded."""
        if self._step < len(self._history):
            del self._history[self._step :]
            for k in [k for k in self._checkpoints if k > self._step]:
                del self._checkpoints[k]
            self._log.truncate(self._step)
        return self._execute((*action, self._world.now), record=True)

    def _execute(self, action: Action, record: bool) -> Any:
        if record:
            self._history.append(action)
            self._out = self._log
        else:
            self._out = _Records()
        self._step += 1
        found_before = len(self._out.violations)
        try:
            result = _ACTIONS[action[0]](self, *action[1:])
        finally:
            self._out = self._log
        self._after_step(found_before if record else None)
        return result

    def _after_step(self, found_before: int | None) -> None:
        """Checkpoint if one is due. In strict mode, raise for the violations a live
        step found (``found_before`` is None for a replayed step: nothing is new)."""
        if self._step % CHECKPOINT_INTERVAL == 0 and self._step not in self._checkpoints:
            self._checkpoint()
        violations = self._log.violations
        if self.strict and found_before is not None and len(violations) > found_before:
            raise SafetyViolationError(violations[found_before:])

    def _records_end(self, records: list[Any]) -> int:
        """How many of ``records`` (trace events, violations or errors, all in step
        order) belong to steps up to the current one."""
        if self._step >= len(self._history):
            return len(records)
        return bisect.bisect_right(records, self._step, key=_step_of)

    def _run_live(self, target: int, limit: int = -1) -> int:
        """Fire scheduled events due by ``target`` (at most ``limit`` if >= 0) as new
        steps. The hot loop of the simulator: the same as ``_execute(("next",))`` per
        event, without the dispatch."""
        world = self._world
        queue = world.queue
        history, violations = self._history, self._log.violations
        servers, alive, links = world.servers, world.alive, world.links
        carry_out = self._carry_out
        taken = 0
        pop_due = queue.pop_due
        while taken != limit:
            event = pop_due(target)
            if event is None:
                break
            history.append(_NEXT)
            self._step += 1
            now = world.now
            if event.due > now:
                world.now = now = event.due
            found_before = len(violations)
            sid = event.target
            if event.kind == DELIVER and alive[sid] and not (links.disconnected or links.group):
                # _fire() of a delivery on a whole network, inlined: most steps are one.
                carry_out(sid, servers[sid].handle(event.source, event.message, now))  # type: ignore[arg-type]
            else:
                self._fire(event)
            taken += 1
            if self._step % CHECKPOINT_INTERVAL == 0 or len(violations) > found_before:
                self._after_step(found_before)
        return taken

    def _checkpoint(self) -> None:
        try:
            self._checkpoints[self._step] = self._world.clone()
        except Exception:  # a user object that cannot be copied: replay from further back
            if self._step == 0:
                raise

    def _trace(self, server: int | None, rule: str, *args: Any) -> None:
        self._out.trace.append((self._step, self._world.now, server, rule, args))

    # ---------------------------------------------------------- the world

    def _build_world(self) -> World:
        world = World(self.seed, self._initial_network)
        self._world = world
        if self.checks:
            world.checker = SafetyChecker(self.initial_ids)
        for sid in self.initial_ids:
            self._add_to_world(sid)
        for sid in self.initial_ids:
            self._start_server(sid)
        return world

    def _add_to_world(self, sid: int) -> None:
        """A new server with a new, empty Disk, down until started."""
        world = self._world
        faults = self.disk_faults
        if isinstance(faults, dict):
            faults = faults.get(sid)
        world.ids = tuple(sorted((*world.ids, sid)))
        world.disks[sid] = Disk(f"S{sid}'s disk", faults, server_id=sid)
        world.alive[sid] = False
        world.applied[sid] = []
        world.handlers[sid] = None
        world.machines[sid] = None
        world.servers[sid] = self._new_server(sid, StoredState())
        world.links.join(sid)
        if world.checker is not None:
            world.checker.add_server(sid)

    def _new_server(self, sid: int, stored: StoredState) -> Server:
        # The first servers start from the configuration of all of them; a server added
        # later starts from none and learns its configuration from the leader's log.
        return Server(
            sid,
            self.initial_ids if sid in self.initial_ids else (),
            stored,
            leader_noop=self.leader_noop,
            prevote=self.prevote,
            check_quorum=self.check_quorum,
            election_timeout_ms=self.election_timeout_ms,
            joint_consensus=self.membership == "joint",
            single_change_bug=self.single_change_bug,
            snapshot_threshold=self.snapshot_threshold,
            lease_ms=self.lease_ms,
        )

    def _start_server(self, sid: int, joining: bool = False) -> None:
        """(Re)start a server from its Disk; on a handler error it stays down."""
        world = self._world
        name = getattr(self._storage, "__name__", type(self._storage).__name__)
        try:
            handler = self._storage(world.disks[sid])
        except Exception as error:
            self._handler_failed(sid, "storage handler", f"its construction {name}(disk)", error)
            return
        raw: Any = None
        try:
            raw = handler.handle(LoadState())
            stored = _check_stored_state(raw, world.ids)
        except Exception as error:
            durable = world.durable.get(sid)
            if raw is not None and durable is not None and world.checker is not None:
                # A state that load_state returned but that cannot be recovered from
                # may still show an acknowledged snapshot lost (compacted before it
                # was durable). If load_state itself raised, nothing is known.
                snapshot = getattr(raw, "snapshot", None)
                if not isinstance(snapshot, SaveSnapshot):
                    snapshot = None
                self._out.violations.extend(durable.lost_snapshot(self._step, sid, snapshot))
            self._handler_failed(sid, "storage handler", LoadState(), error)
            return
        try:
            machine = self._state_machine()
        except Exception as error:
            self._handler_failed(sid, "state machine", "its construction", error)
            return
        if stored.snapshot is not None:
            # Restart from snapshot plus log (§7): the state machine starts from the
            # snapshot; the log holds only the entries after it.
            try:
                machine.restore(copy_value(self._codec, stored.snapshot.data))
            except Exception as error:
                self._handler_failed(sid, "state machine", "restore(snapshot)", error)
                return
        server = self._new_server(sid, stored)
        world.servers[sid] = server
        world.handlers[sid] = handler
        world.machines[sid] = machine
        world.applied[sid] = []
        world.alive[sid] = True
        if self._step > 0 and not joining:
            vote = "none" if stored.voted_for is None else f"S{stored.voted_for}"
            self._trace(sid, "RESTART", sid, stored.current_term, vote, len(server.log))
        if world.checker is not None:
            found = world.checker.restarted(self._step, server)
            entries = server.log.entries
            durable = world.durable.get(sid)
            snap = stored.snapshot
            if durable is not None:  # a restart: was anything durable lost?
                found += durable.recovered(
                    self._step, sid, stored.current_term, stored.voted_for, entries, snap
                )
            world.durable[sid] = DurableState(stored.current_term, stored.voted_for, entries, snap)
            self._out.violations.extend(found)
        self._carry_out(sid, server.boot(world.now))

    def _stop_server(self, sid: int) -> None:
        world = self._world
        world.alive[sid] = False
        world.handlers[sid] = None
        world.machines[sid] = None
        world.queue.cancel_timer(sid, ELECTION_TIMEOUT)
        world.queue.cancel_timer(sid, HEARTBEAT)

    def _handler_failed(self, sid: int, what: str, message: Any, error: BaseException) -> None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._out.errors.append(HandlerError(sid, self._step, what, message, error, text))
        described = repr(message) if isinstance(message, tuple) else str(message)
        self._trace(sid, "HANDLER.error", sid, what, f"{type(error).__name__}: {error}", described)
        self._stop_server(sid)

    def _carry_out(self, sid: int, out: Output) -> None:
        """Carry out a server's effects: storage first, then everything else."""
        world = self._world
        step, now = self._step, world.now
        trace = self._out.trace
        for rule, args in out.trace:
            trace.append((step, now, sid, rule, args))
        durable = world.durable.get(sid)
        if out.storage:
            handle = world.handlers[sid].handle
            for message in out.storage:
                try:
                    handle(message)
                except Exception as error:
                    self._handler_failed(sid, "storage handler", message, error)
                    return
                except PowerLoss:
                    if durable is not None:
                        durable.interrupted = message
                    self._trace(sid, "POWER", sid, type(message).__name__)
                    self._stop_server(sid)
                    world.disks[sid].power_on()  # the crash happened; restart may follow
                    return
                if durable is not None:
                    durable.handled(message)
                kind = type(message)
                if kind is SaveSnapshot or kind is CompactLog:
                    counts = world.compactions.setdefault(sid, [0, 0])
                    counts[kind is CompactLog] += 1
        queue = world.queue
        election_timer = out.election_timer
        if election_timer is RESET:
            low, high = self.election_timeout_ms
            purpose = ("election", sid)
            rng = world.rng
            stream = rng.streams.get(purpose) or rng.get(purpose)
            delay = low + int(stream.random() * (high - low + 1))  # draw_int, inlined: hot
            queue.set_timer(sid, ELECTION_TIMEOUT, now + delay, now)
        elif election_timer is STOP:
            queue.cancel_timer(sid, ELECTION_TIMEOUT)
        heartbeat_timer = out.heartbeat_timer
        if heartbeat_timer is START:
            queue.set_timer(sid, HEARTBEAT, now + self.heartbeat_interval_ms, now)
        elif heartbeat_timer is STOP:
            queue.cancel_timer(sid, HEARTBEAT)
        sends = out.sends
        if sends:
            if durable is not None:
                self._check_replies(sid, durable, sends)
            links, network = world.links, world.network
            if links.disconnected or links.group or network.drop_rate or network.duplicate_rate:
                for target, message in sends:
                    self._send(sid, target, message)
            else:
                # _send() without faults, inlined: nearly every step sends something.
                low, high = network.delay_ms
                span = high - low + 1
                rng = world.rng
                streams = rng.streams
                live, heap = queue.live, queue.heap
                for target, message in sends:
                    link = ("delay", sid, target)
                    delays = streams.get(link) or rng.get(link)
                    due = now + low + int(delays.random() * span)  # draw_int, inlined: hot
                    # queue.schedule(due, DELIVER, target, sid, message, now), inlined: one
                    # per message, and a named tuple built by tuple.__new__.
                    event_id = queue.next_id
                    queue.next_id = event_id + 1
                    event = _new(Event, (event_id, due, DELIVER, target, sid, message, now))
                    live[event_id] = event
                    heappush(heap, (due, event_id))
        if out.became_leader:
            term = world.servers[sid].current_term
            world.leader_terms.setdefault(term, []).append(sid)
        if out.restore is not None:
            # Figure 13, rule 8: "Reset state machine using snapshot contents"
            try:
                world.machines[sid].restore(copy_value(self._codec, out.restore.data))
            except Exception as error:
                self._handler_failed(sid, "state machine", "restore(snapshot)", error)
                return
        if out.applies:
            machine = world.machines[sid]
            applied = world.applied[sid]
            for entry in out.applies:
                if type(entry.data) is dict and entry.kind != "command":
                    continue  # a no-op: the core's own entry, not a client's command
                try:
                    machine.apply(entry.index, entry.data)
                except Exception as error:
                    self._handler_failed(sid, "state machine", entry, error)
                    return
                applied.append((entry.index, entry.data))
        if out.reads:
            self._answer_reads(sid, out.reads)
        checker = world.checker
        if checker is not None:
            found = checker.observe(step, world.servers[sid], out)
            if found:
                self._out.violations.extend(found)
        if out.save_through is not None:
            # The leader's SaveLog messages above are carried out: only now does its
            # own copy of the entries count toward a majority (§5.3).
            self._carry_out(sid, world.servers[sid].log_saved(out.save_through, now))
        if out.snapshot_due:
            self._take_snapshot(sid)

    def _take_snapshot(self, sid: int) -> None:
        """Log compaction (§7): the server asked for its state machine's snapshot."""
        world = self._world
        try:
            value = world.machines[sid].snapshot()
        except Exception as error:
            self._handler_failed(sid, "state machine", "snapshot()", error)
            return
        try:
            data = copy_value(self._codec, value)
        except Exception as error:
            codec = getattr(self._codec, "name", type(self._codec).__name__)
            problem = DataError(
                f"snapshot() returned {stable_repr(value)[:80]}, which the {codec} codec "
                f"cannot carry ({type(error).__name__}: {error}). Return JSON values "
                "(lists, dicts with string keys, numbers, strings), or build the cluster "
                "with codec=le.PickleCodec()"
            )
            self._handler_failed(sid, "state machine", "snapshot()", problem)
            return
        self._carry_out(sid, world.servers[sid].take_snapshot(data, world.now))

    def _check_replies(self, sid: int, durable: DurableState, sends: list[tuple[int, Any]]) -> None:
        """Durability at send time: note what is acknowledged, and whether the Disk
        still holds unsynced writes as a vote or an acknowledgement leaves."""
        disk = self._world.disks[sid]
        unsynced = disk.unsynced_keys if disk.faults is not None else []
        for _, message in sends:
            kind = type(message)
            if (kind is AppendEntriesReply and message.success) or kind is InstallSnapshotReply:
                durable.acked = max(durable.acked, message.match_index)
            elif kind is not RequestVoteReply:
                continue
            if unsynced:
                self._out.violations.extend(durable.sending(self._step, sid, message, unsynced))

    def _send(self, source: int, target: int, message: Any) -> None:
        world = self._world
        links = world.links
        if (links.disconnected or links.group) and links.cut(source, target):
            self._trace(source, "NET.cut", source, target, type(message).__name__)
            return
        network = world.network
        rng = world.rng
        drop_rate = network.drop_rate
        if drop_rate and rng.get(("drop", source, target)).random() < drop_rate:
            self._trace(source, "NET.drop", source, target, type(message).__name__, drop_rate)
            return
        low, high = network.delay_ms
        delays = rng.streams.get(("delay", source, target)) or rng.get(("delay", source, target))
        queue = world.queue
        delay = low + int(delays.random() * (high - low + 1))  # draw_int, inlined: hot
        queue.schedule(world.now + delay, DELIVER, target, source, message, world.now)
        duplicate_rate = network.duplicate_rate
        if duplicate_rate and rng.get(("duplicate", source, target)).random() < duplicate_rate:
            self._trace(source, "NET.dup", source, target, type(message).__name__, duplicate_rate)
            queue.schedule(
                world.now + draw_int(delays, low, high), DELIVER, target, source, message, world.now
            )

    def _fire(self, event: Event) -> None:
        world = self._world
        sid = event.target
        if event.kind == DELIVER:
            source = event.source
            links = world.links
            if not world.alive[sid]:
                self._trace(source, "NET.down", source, sid, type(event.message).__name__)
            elif (links.disconnected or links.group) and links.cut(source, sid):  # type: ignore[arg-type]
                self._trace(source, "NET.cut", source, sid, type(event.message).__name__)
            else:
                self._carry_out(sid, world.servers[sid].handle(source, event.message, world.now))  # type: ignore[arg-type]
        elif event.kind == ELECTION_TIMEOUT:
            self._carry_out(sid, world.servers[sid].election_timeout(world.now))
        else:
            self._carry_out(sid, world.servers[sid].heartbeat_timeout(world.now))

    # ----------------------------------------------------------- actions
    # Each action is one step. Inputs record the time they were made as their last
    # argument, so a replay makes them at the same virtual time.

    def _do_next(self) -> Event:
        world = self._world
        event = world.queue.pop()
        assert event is not None, "a recorded step found nothing scheduled"
        if event.due > world.now:
            world.now = event.due
        self._fire(event)
        return event

    def _do_fire(self, event_id: int, at: int) -> Event:
        self._world.now = at
        event = self._world.queue.remove(event_id)
        self._trace(event.target, "USER.fire", event_id, event.describe())
        self._fire(event)
        return event

    def _do_drop(self, event_id: int, at: int) -> Event:
        self._world.now = at
        event = self._world.queue.remove(event_id)
        self._trace(
            event.source,
            "USER.drop",
            event.source,
            event.target,
            type(event.message).__name__,
            event_id,
        )
        return event

    def _do_timeout(self, sid: int, at: int) -> Input:
        self._world.now = at
        self._world.queue.cancel_timer(sid, ELECTION_TIMEOUT)
        self._trace(sid, "USER.timeout", sid)
        self._carry_out(sid, self._world.servers[sid].election_timeout(at))
        return Input("timeout", (sid,))

    def _do_propose(self, data: Any, sid: int, at: int) -> ProposalResult:
        self._world.now = at
        server = self._world.servers[sid]
        outcome, out = server.propose(data, at)
        self._carry_out(sid, out)
        reason = None
        if not outcome.accepted:
            # The core refuses a leader's proposal only during a leadership transfer.
            target = getattr(server, "transfer_target", None)
            to = f" to S{target}" if target is not None else ""
            reason = (
                f"S{sid} is handing leadership over{to} (thesis §3.10) and takes no "
                "commands until the transfer ends, or is abandoned after an election "
                "timeout; then send the command to whoever leads"
            )
        return ProposalResult(
            outcome.accepted, outcome.index, outcome.term, outcome.leader_hint, reason
        )

    def _do_crash(self, sid: int, at: int) -> Input:
        world = self._world
        world.now = at
        self._trace(sid, "CRASH", sid)
        self._stop_server(sid)
        disk = world.disks[sid]
        disk.crash()
        disk.power_on()  # a power cut armed before the crash dies with it
        return Input("crash", (sid,))

    def _do_cut_power(self, sid: int, operations: int, at: int) -> Input:
        self._world.now = at
        self._world.disks[sid].cut_power_after(operations)
        self._trace(sid, "POWER.armed", sid, operations)
        return Input("cut_power", (sid, operations))

    def _do_read(self, read_id: int, sid: int, at: int) -> Input:
        world = self._world
        world.now = at
        world.next_read_id = max(world.next_read_id, read_id + 1)
        world.read_floors[read_id] = max(
            (s.commit_index for i, s in world.servers.items() if world.alive[i]), default=0
        )
        _, out = world.servers[sid].read(read_id, at)
        self._carry_out(sid, out)
        return Input("read", (read_id, sid))

    def _answer_reads(self, sid: int, reads: list[tuple[int, int]]) -> None:
        world = self._world
        machine = world.machines[sid]
        for read_id, index in reads:
            query = self._read_queries.get(read_id)
            value: Any = None
            error = None
            if query is not None:
                try:
                    value = self._codec.decode(self._codec.encode(query(machine)))
                except Exception as problem:
                    error = f"{type(problem).__name__}: {problem}"
            world.read_results[read_id] = (index, value, error)
            floor = world.read_floors.pop(read_id, 0)
            if index < floor:
                self._out.violations.append(
                    Violation(
                        LINEARIZABLE_READS,
                        self._step,
                        f"read #{read_id} on S{sid} saw the state machine through index "
                        f"{index}, but index {floor} was already committed when the read "
                        "was asked: a stale read",
                    )
                )

    def _do_transfer(self, leader: int, to: int, at: int) -> Input:
        self._world.now = at
        _, out = self._world.servers[leader].transfer_leadership(to, at)
        self._carry_out(leader, out)
        return Input("transfer", (leader, to))

    def _do_member(self, change: str, leader: int, sid: int, at: int) -> Input:
        world = self._world
        world.now = at
        if sid not in world.alive:
            self._add_to_world(sid)
            self._trace(sid, "JOIN", sid)
            self._start_server(sid, joining=True)
        _, out = world.servers[leader].change_membership(change, sid, at)
        self._carry_out(leader, out)
        return Input("member", (change, leader, sid))

    def _do_restart(self, sid: int, at: int) -> Input:
        self._world.now = at
        self._start_server(sid)
        return Input("restart", (sid,))

    def _do_disconnect(self, sid: int, at: int) -> Input:
        self._world.now = at
        self._world.links.disconnected.add(sid)
        self._trace(sid, "DISCONNECT", sid)
        return Input("disconnect", (sid,))

    def _do_connect(self, sid: int, at: int) -> Input:
        self._world.now = at
        self._world.links.disconnected.discard(sid)
        self._trace(sid, "CONNECT", sid)
        return Input("connect", (sid,))

    def _do_partition(self, groups: tuple[tuple[int, ...], ...], at: int) -> Input:
        world = self._world
        world.now = at
        world.links.partition(groups, world.ids)
        self._trace(None, "PARTITION", world.links.describe())
        return Input("partition", groups)

    def _do_heal(self, at: int) -> Input:
        self._world.now = at
        self._world.links.heal()
        self._trace(None, "HEAL")
        return Input("heal", ())

    def _do_network(
        self, delay_ms: tuple[int, int], drop_rate: float, duplicate_rate: float, at: int
    ) -> Input:
        self._world.now = at
        self._world.network = Network(tuple(delay_ms), drop_rate, duplicate_rate)  # type: ignore[arg-type]
        self._trace(None, "NETWORK", delay_ms[0], delay_ms[1], drop_rate, duplicate_rate)
        return Input("network", (delay_ms, drop_rate, duplicate_rate))


class _Records:
    """Trace events, violations and errors, each list in step order."""

    __slots__ = ("errors", "trace", "violations")

    def __init__(self) -> None:
        self.trace: list[RawEvent] = []
        self.violations: list[Violation] = []
        self.errors: list[HandlerError] = []

    def truncate(self, step: int) -> None:
        """Forget what steps after ``step`` produced."""
        for records in (self.trace, self.violations, self.errors):
            del records[bisect.bisect_right(records, step, key=_step_of) :]


def _step_of(record: Any) -> int:
    return record[0] if type(record) is tuple else record.step  # type: ignore[no-any-return]


_ACTIONS: dict[str, Callable[..., Any]] = {
    name[4:]: getattr(Cluster, name) for name in dir(Cluster) if name.startswith("_do_")
}


def _check_lease(lease_reads: Any, drift: Any, check_quorum: bool) -> tuple[bool, float]:
    if type(lease_reads) is not bool:
        raise LuminousError(f"lease_reads={lease_reads!r}: give True or False")
    if type(drift) not in (int, float) or not 1 <= drift <= 10:
        raise LuminousError(
            f"clock_drift_bound={drift!r}: give a number from 1 to 10; 1.0 says the "
            "servers' clocks run at the same rate"
        )
    if lease_reads and not check_quorum:
        raise LuminousError(
            "lease_reads=True needs check_quorum=True: a lease is safe only if servers "
            "that heard from the leader within the minimum election timeout refuse to "
            "vote for anyone else (thesis §6.4.1, §4.2.3)"
        )
    return lease_reads, float(drift)


def _check_stored_state(stored: Any, ids: tuple[int, ...]) -> StoredState:
    """Validate what ``load_state`` returned, or raise saying what was expected."""
    try:
        # Terms may decrease: a handler that ignores TruncateLog brings back deleted
        # entries, and the Log Matching check should show it rather than this refusal.
        return validate_stored_state(stored, ids, monotonic=False)
    except StoredStateError as error:
        raise LuminousError(f"load_state() returned {error}") from None
