"""The Cluster: servers, storage, a network and virtual time, behind a step controller.

This module is the facade: the public API and the checks of its arguments. Every check
happens here, before anything changes, so a refused call raises from the method the
user called and leaves the cluster as it was. What a step does to the world is in
``effects.py`` (the interpreter of servers' outputs and users' inputs); how steps are
recorded, replayed, checkpointed and rolled back is in ``history.py``; ``record.py``
turns a history into a JSON record and back.

Inputs carry the virtual time at which they were made; automatic steps fire at their
event's due time. ``run(ms)`` may also move the clock forward past the last event; that
is not a step.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from ..check import Violation, scan
from ..core import Entry, Role, Server, StoredState, looks_like_marker
from ..core.bugs import SINGLE_CHANGE_BEFORE_COMMIT as SINGLE_CHANGE
from ..core.bugs import check_bugs
from ..core.log import MARKER_KEY, stable_repr
from ..core.membership import Configuration
from ..core.server import MEMBERSHIP_CHANGES
from ..errors import DataError, InvalidActionError, LuminousError, RecordError, UnknownServerError
from ..storage import Disk, DiskStorage, JsonCodec, copy_value
from ..storage.codec import CodecError, carried, shown
from ..storage.disk import check_fault_mode
from ..storage.handler import missing_compaction_methods
from ..storage.stored import StoredStateError, validate_stored_state
from . import handmade, record
from .effects import Effects, HandlerError
from .events import DELIVER, Event
from .history import (
    CHECKPOINT_INTERVAL,
    FOREVER,
    History,
    SafetyViolationError,
    not_rewindable,
)
from .narration import Trace
from .network import BoundNetwork, Network
from .outcomes import GaveUp, GaveUpWarning, Input, MembershipResult, ProposalResult, TransferResult
from .state_machine import RecordingStateMachine
from .views import Servers
from .world import World

# The role under a plain name: in Python 3.11 ``Role.LEADER`` goes through EnumType's
# lookup and costs about 0.2 us, several times a plain global, on hot paths here.
_LEADER = Role.LEADER

__all__ = [
    "CHECKPOINT_INTERVAL",
    "MAX_SERVER_ID",
    "Cluster",
    "HandlerError",
    "Input",
    "MembershipResult",
    "ProposalResult",
    "ReadHandle",
    "SafetyViolationError",
    "TransferResult",
]


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
        return f"<read #{self.id} at index {self.index}: {shown(self.value)}>"


MEMBERSHIP_MODES = ("single", "joint")
MAX_SERVER_ID = 99
#: The most steps one call of run, run_until or Cluster.load takes unless told more.
STEP_LIMIT = 500_000
#: The longest run and run_until accept at once (virtual milliseconds; 30 years).
MAX_MS = 10**12


class Cluster:
    """A Raft cluster simulated in this process. See DESIGN.md for the full contract.

    ``Cluster(servers=5, seed=7)`` builds servers S1..S5. Drive it with ``step``,
    ``run`` and ``run_until``; go back with ``rewind`` and ``seek``; inspect it through
    ``servers[i]``, ``leader``, ``trace`` and ``violations``. Build scenarios with
    ``initial_state={i: le.StoredState(...)}`` (servers that start from given terms,
    votes and logs), ``cut(a, b)`` / ``mend(a, b)`` (one link) and ``inject(source,
    target, message)`` (a hand-made message). An interrupt (KeyboardInterrupt,
    SystemExit) at any point leaves the cluster at its last complete step.
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
        initial_state: dict[int, StoredState] | None = None,
        bugs: Iterable[str] = (),
    ) -> None:
        if type(servers) is not int or not 1 <= servers <= 99:
            raise LuminousError(f"servers={shown(servers)}: give the number of servers, 1 to 99")
        if type(seed) is not int or not -(10**100) < seed < 10**100:
            raise LuminousError(
                f"seed={shown(seed)}: the seed must be a whole number (of at most 100 digits)"
            )
        low_high = election_timeout_ms
        if (
            not isinstance(low_high, tuple | list)
            or len(low_high) != 2
            or not all(type(x) is int for x in low_high)
            or not 1 <= low_high[0] <= low_high[1] <= 10**9
        ):
            raise LuminousError(
                f"election_timeout_ms={shown(low_high)}: give (min, max) whole milliseconds "
                "with 1 <= min <= max <= 10**9, for example (150, 300)"
            )
        if type(heartbeat_interval_ms) is not int or not 1 <= heartbeat_interval_ms <= 10**9:
            raise LuminousError(
                f"heartbeat_interval_ms={shown(heartbeat_interval_ms)}: give whole "
                "milliseconds from 1 to 10**9"
            )
        if network is None:
            network = Network()
        elif not isinstance(network, Network):
            raise LuminousError(
                f"network={shown(network)}: give le.Network(delay_ms=(5, 15), drop_rate=0.0, "
                "duplicate_rate=0.0)"
            )
        # The servers the cluster starts with; add_server brings more.
        self.initial_ids: tuple[int, ...] = tuple(range(1, servers + 1))
        if isinstance(disk_faults, dict):
            for sid, mode in disk_faults.items():
                # A server added later (add_server) takes its mode from here when it joins.
                if type(sid) is not int or not 1 <= sid <= MAX_SERVER_ID:
                    raise UnknownServerError(
                        f"disk_faults names server {shown(sid)}; give server ids "
                        f"1..{MAX_SERVER_ID} (the cluster starts with 1..{servers})"
                    )
                check_fault_mode(mode)
            disk_faults = dict(sorted(disk_faults.items()))
        else:
            check_fault_mode(disk_faults)
        if storage is not None and not callable(storage):
            raise LuminousError(
                f"storage={shown(storage)}: give a handler class, built as MyStorage(disk)"
            )
        if state_machine is not None and not callable(state_machine):
            raise LuminousError(
                f"state_machine={shown(state_machine)}: give a class with apply(index, data)"
            )
        codec = JsonCodec() if codec is None else codec
        if not all(hasattr(codec, a) for a in ("encode", "decode")):
            raise LuminousError(
                f"codec={shown(codec)}: a codec needs encode(value) and decode(blob)"
            )

        self.seed = seed
        if type(leader_noop) is not bool:
            raise LuminousError(f"leader_noop={shown(leader_noop)}: give True or False")
        # False gives Figure 2 exactly: a new leader appends no no-op entry (§8).
        self.leader_noop = leader_noop
        for name, value in (("prevote", prevote), ("check_quorum", check_quorum)):
            if type(value) is not bool:
                raise LuminousError(f"{name}={shown(value)}: give True or False")
        self.prevote = prevote  # thesis §9.6
        self.check_quorum = check_quorum  # thesis §6.2
        if type(membership) is not str or membership not in MEMBERSHIP_MODES:
            raise LuminousError(
                f"membership={shown(membership)}: give 'single' (one server added or removed per "
                "change, thesis §4.2) or 'joint' (joint consensus, C_old,new then C_new, §6)"
            )
        if type(single_change_bug) is not bool:
            raise LuminousError(f"single_change_bug={shown(single_change_bug)}: give True or False")
        self.membership = membership
        # The classic bugs switched on, on purpose (core/bugs.py, le.BUGS).
        # single_change_bug=True is the older name of "single_change_before_commit".
        try:
            self.bugs = check_bugs(bugs) | ({SINGLE_CHANGE} if single_change_bug else set())
        except ValueError as error:
            raise LuminousError(str(error)) from None
        self.single_change_bug = SINGLE_CHANGE in self.bugs
        if snapshot_threshold is not None and (
            type(snapshot_threshold) is not int or snapshot_threshold < 1
        ):
            raise LuminousError(
                f"snapshot_threshold={shown(snapshot_threshold)}: give the number of applied "
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
        for name, value in (("checks", checks), ("strict", strict)):
            if type(value) is not bool:
                raise LuminousError(f"{name}={shown(value)}: give True or False")
        self.checks = checks
        self.strict = strict
        self.disk_faults = disk_faults
        self._initial_network = network
        self._storage = storage or DiskStorage
        self._state_machine = state_machine or RecordingStateMachine
        self._codec = codec
        # Scenario building: servers that start from given terms, votes and logs.
        self.initial_state = self._check_initial_state(initial_state)

        self._read_queries: dict[int, Callable[[Any], Any]] = {}  # by read id
        self.servers = Servers(self)
        # The interpreter builds the world of step 0; the history records from there.
        self._effects = Effects(self)
        self._history = History(self, self._effects)

    @property
    def _world(self) -> World:
        """Everything that changes from step to step (the history may replace it)."""
        return self._effects.world

    @property
    def _step(self) -> int:
        return self._history.step

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
        return len(self._history.actions)

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
        log = self._history.log
        return Trace(log.trace, self._history.records_end(log.trace))

    @property
    def violations(self) -> list[Violation]:
        """Every Figure 3 violation seen up to the current step."""
        log = self._history.log
        return log.violations[: self._history.records_end(log.violations)]

    @property
    def errors(self) -> list[HandlerError]:
        """Every error raised by student code (storage handlers, state machines) up to
        the current step; each stopped its server."""
        log = self._history.log
        return log.errors[: self._history.records_end(log.errors)]

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
        """True if messages between servers ``a`` and ``b`` are lost: the link was cut
        (``cut``), either server is disconnected, or a partition separates them."""
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
        """The network settings in force (a ``le.Network``). Change them from the next
        event on, as an input recorded for replay, by setting one
        (``cluster.network.drop_rate = 0.2``, ``cluster.network.delay_ms = (0, 400)``) or
        all (``cluster.network = le.Network(...)``); ``set_network`` does the same."""
        return BoundNetwork(self._world.network, self.set_network)

    @network.setter
    def network(self, network: Network) -> None:
        if not isinstance(network, Network):
            raise LuminousError(
                f"network = {shown(network)}: give le.Network(delay_ms=(5, 15), "
                "drop_rate=0.0, duplicate_rate=0.0)"
            )
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
        try:
            new = Network(
                delay_ms=old.delay_ms if delay_ms is None else delay_ms,
                drop_rate=old.drop_rate if drop_rate is None else drop_rate,
                duplicate_rate=old.duplicate_rate if duplicate_rate is None else duplicate_rate,
            )
        except LuminousError as error:
            raise LuminousError(str(error)) from None  # (raised here, not in network.py)
        self._input(("network", new.delay_ms, new.drop_rate, new.duplicate_rate))
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
        trace = self._history.log.trace
        for step, time, server, rule, args in trace[: self._history.records_end(trace)]:
            digest.update(f"{step}|{time}|{server}|{rule}|{args!r}\n".encode())
        # The inputs too: two runs that differ only in the data proposed are different.
        for action in self._history.actions[: self._step]:
            if action[0] == "propose":
                digest.update(f"propose|{stable_repr(action[1])}\n".encode())
            elif action[0] == "inject":
                digest.update(f"inject|{stable_repr(_plain(action[3]))}\n".encode())
        return digest.hexdigest()

    # ------------------------------------------------------------- driving

    def step(self) -> Event | Input | None:
        """Take one step: replay the next recorded one, or fire the next scheduled
        event. Returns the event (or the replayed input); None if nothing is scheduled."""
        history = self._history
        history.require_usable()
        if history.step < len(history.actions):
            return history.replay_next()  # type: ignore[no-any-return]
        event = history.peek()
        if event is None:
            return None
        history.run_live(event.due, 1)
        return event  # type: ignore[no-any-return]

    def run(self, ms: int, *, max_steps: int = STEP_LIMIT) -> int:
        """Advance virtual time by ``ms``, firing everything due; returns the steps taken.

        A run stops after ``max_steps`` steps (STEP_LIMIT, 500,000, by default: some
        tens of seconds) even if time is left, at a complete step, and raises saying
        so: call ``run`` again to go on, or pass a larger ``max_steps``."""
        if type(ms) is not int or not 0 <= ms <= MAX_MS:
            raise LuminousError(
                f"run(ms={shown(ms)}): give a whole number of milliseconds from 0 to "
                f"{MAX_MS:,} (about 30 years)"
            )
        _check_max_steps(max_steps)
        history = self._history
        history.require_usable()
        world = self._effects.world  # (no step here replaces it)
        target = world.now + ms
        taken = 0
        while history.step < len(history.actions):  # replay the recorded future first
            due = history.next_time()
            if due is None or due > target or taken == max_steps:
                break
            history.replay_next()
            taken += 1
        else:
            taken += history.run_live(target, max_steps - taken)
        if taken == max_steps:
            due = history.next_time()
            if due is not None and due <= target:
                raise LuminousError(
                    f"run({ms}) stopped after max_steps={max_steps:,} steps, at step "
                    f"{self._step} and t={world.now} ms, before t={target} ms. The cluster "
                    f"is usable: call run again to go on, or pass a larger max_steps "
                    f"(run({ms}, max_steps={2 * max_steps}))"
                )
        world.now = max(world.now, target)
        return taken

    def run_until(
        self,
        predicate: Callable[[Cluster], bool],
        max_ms: int = 10_000,
        *,
        max_steps: int = STEP_LIMIT,
        warn: bool = True,
    ) -> bool | GaveUp:
        """Step until ``predicate(cluster)`` is true, and return True; or give up once
        ``max_ms`` of virtual time have passed (the clock moved to that limit), after
        ``max_steps`` steps (STEP_LIMIT by default), or when nothing is left to happen,
        and return a ``GaveUp``: falsy (``== False``), with a ``reason``, shown as a
        sentence. Giving up also issues a ``GaveUpWarning``, so it is seen in the middle
        of a notebook cell; ``warn=False`` is for code that expects to give up (e.g. a
        predicate that only samples the run)."""
        if not callable(predicate):
            raise LuminousError(
                "run_until needs a function of the cluster, e.g. lambda c: c.leader"
            )
        if type(max_ms) is not int or max_ms < 0:
            raise LuminousError(f"max_ms={shown(max_ms)}: give a whole number of milliseconds >= 0")
        _check_max_steps(max_steps)
        history = self._history
        history.require_usable()
        start = self._world.now
        deadline = start + max_ms
        taken = 0
        while not predicate(self):
            due = history.next_time()
            if due is None or due > deadline or taken == max_steps:
                if taken < max_steps:
                    self._world.now = max(self._world.now, deadline)
                if taken == max_steps:
                    why = (
                        f"max_steps={max_steps:,} steps were taken; give a larger "
                        "max_steps to go on longer"
                    )
                elif due is None:
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
            if history.step < len(history.actions):
                history.replay_next()
            else:
                history.run_live(due, 1)
            taken += 1
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
            raise LuminousError(f"rewind(steps={shown(steps)}): give a whole number >= 0")
        if steps > self._step:
            raise InvalidActionError(
                f"cannot rewind {shown(steps)} steps: only {self._step} steps have been taken"
            )
        self.seek(self._step - steps)

    def seek(self, step: int) -> None:
        """Go to step ``step`` of the recorded history (back or forward)."""
        history = self._history
        if type(step) is not int or not 0 <= step <= len(history.actions):
            raise InvalidActionError(
                f"seek({shown(step)}): the history has steps 0..{len(history.actions)}"
            )
        if step == self._step:
            return
        why = not_rewindable(self._effects)
        if why is not None:
            raise InvalidActionError(
                f"{why}, which cannot be rewound; use the default DiskStorage to rewind and seek"
            )
        history.seek(step)

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
        if type(after_operations) is not int or not 0 <= after_operations <= 10**9:
            raise LuminousError(
                f"after_operations={shown(after_operations)}: give a whole number from 0 to 10**9"
            )
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
                f"read(query={shown(query)}): give a function of the state machine, e.g. "
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
                f"{change}({shown(server_id)}): give a server id, a whole number from 1 to "
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
        """Cut every link to and from a server. A server already disconnected stays so:
        nothing happens, and nothing is recorded."""
        self._require_server(server_id)
        if server_id not in self._world.links.disconnected:
            self._input(("disconnect", server_id))

    def connect(self, server_id: int) -> None:
        """Undo ``disconnect``. For a server that is not disconnected, nothing happens
        and nothing is recorded."""
        self._require_server(server_id)
        if server_id in self._world.links.disconnected:
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
                raise LuminousError(
                    f"partition groups are sets of server ids; got {shown(group)}: write "
                    "each group in braces, e.g. partition({1}, {2, 3})"
                )
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
        """Remove every partition, reconnect every disconnected server and mend every
        cut link."""
        self._input(("heal",))

    def cut(self, a: int, b: int) -> None:
        """Cut the link between servers ``a`` and ``b``, both ways: every message between
        them is lost, whoever sends it, until ``mend(a, b)`` or ``heal()``. Other links
        keep working. A link already cut stays so: nothing happens."""
        self._check_link("cut", a, b)
        if not self._world.links.link_is_cut(a, b):
            self._input(("cut", min(a, b), max(a, b)))

    def mend(self, a: int, b: int) -> None:
        """Undo ``cut(a, b)``. (A partition or a disconnected server may still cut the
        link: ``link_cut`` says.) For a link not cut by ``cut``, nothing happens."""
        self._check_link("mend", a, b)
        if self._world.links.link_is_cut(a, b):
            self._input(("mend", min(a, b), max(a, b)))

    def inject(self, source: int, target: int, message: Any) -> None:
        """Deliver a hand-made message to server ``target`` as if ``source`` sent it,
        now, as one step (a scenario: a stale AppendEntries, a vote request from a
        candidate that never was). It bypasses the network: no delay, no loss, and cut
        links do not stop it; ``target`` must be running. What ``target`` answers goes
        out as usual. The message is one of ``le.RequestVote``, ``le.RequestVoteReply``,
        ``le.AppendEntries``, ``le.AppendEntriesReply``, ``le.InstallSnapshot``,
        ``le.InstallSnapshotReply``, ``le.TimeoutNow``; its terms and indexes are whole
        numbers, its servers the cluster's, its entries ``le.Entry`` values in index
        order whose data the codec carries. It is recorded: an export replays it."""
        self._require_server(source)
        self._require_server(target)
        if source == target:
            raise LuminousError(
                f"inject({source}, {target}, ...): a server does not send messages to "
                "itself; give two different servers"
            )
        if not self._world.alive[target]:
            raise InvalidActionError(
                f"inject: S{target} is down and cannot receive a message; restart it "
                f"first (cluster.restart({target}))"
            )
        checked = handmade.checked(message, self.ids, self._copy_in)
        self._input(("inject", source, target, checked))

    def _check_initial_state(self, given: Any) -> dict[int, StoredState]:
        """``initial_state`` checked, its data copied in through the codec."""
        if given is None:
            return {}
        if not isinstance(given, dict):
            raise LuminousError(
                f"initial_state={shown(given)}: give a dict from server ids to the state "
                "each starts from, e.g. {1: le.StoredState(current_term=2, voted_for=1, "
                "entries=[le.Entry(1, 1, 'x'), le.Entry(2, 2, 'y')])}"
            )
        checked: dict[int, StoredState] = {}
        for sid, stored in given.items():
            if type(sid) is not int or sid not in self.initial_ids:
                raise UnknownServerError(
                    f"initial_state names server {shown(sid)}; the cluster starts with "
                    f"servers {', '.join(str(i) for i in self.initial_ids)}"
                )
            if not isinstance(stored, StoredState):
                raise LuminousError(
                    f"initial_state[{sid}]={shown(stored)}: give le.StoredState("
                    "current_term, voted_for, entries, snapshot=None)"
                )
            try:
                state = validate_stored_state(stored, self.initial_ids)
            except StoredStateError as error:
                raise LuminousError(f"initial_state[{sid}] holds {error}") from None
            if state.snapshot is not None and missing_compaction_methods(self._storage):
                raise LuminousError(
                    f"initial_state[{sid}] holds a snapshot, but the storage handler has no "
                    "save_snapshot(msg) and compact_log(msg) to store it"
                )
            checked[sid] = self._copy_state_in(sid, state)
        return dict(sorted(checked.items()))

    def _copy_state_in(self, sid: int, state: StoredState) -> StoredState:
        def copy_in(data: Any) -> Any:
            return self._copy_in(data, f"start S{sid} from")

        try:
            entries = [
                Entry(e.index, e.term, handmade.entry_data(e.data, copy_in, f"entry {e.index}"))
                for e in state.entries
            ]
            snapshot = state.snapshot
            if snapshot is not None:
                snapshot = snapshot._replace(data=copy_in(snapshot.data))
        except LuminousError as error:
            raise LuminousError(f"initial_state[{sid}]: {error}") from None
        return StoredState(state.current_term, state.voted_for, tuple(entries), snapshot)

    def _check_link(self, verb: str, a: Any, b: Any) -> None:
        self._require_server(a)
        self._require_server(b)
        if a == b:
            raise LuminousError(f"{verb}({a}, {b}): a link joins two different servers")

    # ------------------------------------------------------------- export

    def export(self) -> dict[str, Any]:
        """A JSON-serialisable record of the run up to the current step."""
        return record.export_record(
            self._options(),
            self._history.actions[: self._step],
            now=self.now,
            digest=self.trace_digest(),
            codec=self._codec,
            storage=self._storage,
            state_machine=self._state_machine,
        )

    def _options(self) -> dict[str, Any]:
        """The options this cluster was built with (``Cluster(**options)`` builds it
        again), but for storage, state machine and codec."""
        return {
            "servers": len(self.initial_ids),
            "seed": self.seed,
            "election_timeout_ms": self.election_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "network": self._initial_network,
            "checks": self.checks,
            "strict": self.strict,
            "leader_noop": self.leader_noop,
            "prevote": self.prevote,
            "check_quorum": self.check_quorum,
            "membership": self.membership,
            "single_change_bug": self.single_change_bug,
            "bugs": self.bugs,
            "snapshot_threshold": self.snapshot_threshold,
            "lease_reads": self.lease_reads,
            "clock_drift_bound": self.clock_drift_bound,
            "disk_faults": self.disk_faults,
            "initial_state": self.initial_state,
        }

    @classmethod
    def load(
        cls,
        run: Any,
        *,
        storage: Callable[[Disk], Any] | None = None,
        state_machine: Callable[[], Any] | None = None,
        codec: Any = None,
        max_steps: int = STEP_LIMIT,
    ) -> Cluster:
        """Rebuild a cluster from ``export()``'s record by replaying it. Loading never
        runs code named by the record: pass the storage handler, state machine and
        codec the run used, if they were not the defaults. Records of more than
        ``max_steps`` steps (STEP_LIMIT, 500,000, by default: some tens of seconds of
        replay) are refused before any replay; pass a larger ``max_steps`` to load a
        longer run you trust."""
        parsed = record.parse_record(run, codec, max_steps)
        try:
            cluster = cls(storage=storage, state_machine=state_machine, **parsed.options)
        except LuminousError as error:
            raise RecordError(f"the record's config is malformed: {error}") from None
        for number, action in enumerate(parsed.actions):
            try:
                cluster._replay_recorded(action, parsed.codec)
            except RecordError as error:
                raise RecordError(f"action {number} of the record: {error}") from None
            except (LuminousError, KeyError, TypeError, ValueError, IndexError) as error:
                raise RecordError(
                    f"action {number} of the record, {shown(action)}, cannot be replayed: {error}"
                ) from None
        record.check_end(parsed, cluster._step, cluster.now, cluster.trace_digest)
        cluster._world.now = parsed.now
        cluster.strict = parsed.strict
        return cluster

    def _replay_recorded(self, action: Any, codec: Any) -> None:
        """Carry out one action of a record, or refuse it (RecordError) if it does not
        fit the cluster's state, as the same call from a user would be refused."""
        kind, args = record.read_action(action, codec)
        world = self._world
        if kind == "next":
            (count,) = args
            if self._history.run_live(FOREVER, count) != count:  # whatever their due times
                raise RecordError("the record fires an event but nothing is scheduled")
            return
        at = args[-1]
        if at < world.now:
            raise RecordError(
                f"{shown(action)} is at t={at} ms, before the time the record had reached, "
                f"t={world.now} ms: a record's actions go forward in time"
            )
        if kind == "propose":
            data, server, _ = args
            self._require_server(server)
            args = (self._copy_in(data), server, at)
        elif kind in ("fire", "drop"):
            event = self._pending_event(args[0])
            if kind == "drop" and event.kind != DELIVER:
                raise RecordError(f"{shown(action)} drops an event that is not a message")
        elif kind in ("timeout", "crash", "restart", "disconnect", "connect", "cut_power"):
            server = args[0]
            self._require_server(server)
            alive = world.alive[server]
            if (kind in ("timeout", "crash", "cut_power") and not alive) or (
                kind == "restart" and alive
            ):
                raise RecordError(f"{shown(action)} does not fit the state of S{server}")
        elif kind == "read":
            read_id, server, _ = args
            self._require_server(server)
            if not world.alive[server] or read_id != world.next_read_id:
                raise RecordError(f"{shown(action)} does not fit the cluster's state")
        elif kind == "transfer":
            leader, to, _ = args
            self._require_server(leader)
            self._require_server(to)
            reason = world.servers[leader].transfer_refusal(to)
            if reason is not None or not world.alive[leader]:
                raise RecordError(f"{shown(action)} does not fit the cluster's state: {reason}")
        elif kind == "member":
            change, leader, server, _ = args
            self._require_server(leader)
            if change not in MEMBERSHIP_CHANGES or not world.alive[leader]:
                raise RecordError(f"{shown(action)} does not fit the cluster's state")
            reason = world.servers[leader].membership_refusal(change, server)
            if reason is not None:
                raise RecordError(f"{shown(action)} does not fit the cluster's state: {reason}")
            if server not in world.alive and change in ("remove_server", "promote"):
                raise RecordError(f"{shown(action)} names a server the cluster does not have")
        elif kind == "partition":
            for group in args[0]:
                for server in group:
                    self._require_server(server)
        elif kind in ("cut", "mend"):
            a, b, _ = args
            self._check_link(kind, a, b)
            if a > b or self._world.links.link_is_cut(a, b) != (kind == "mend"):
                raise RecordError(f"{shown(action)} does not fit the cluster's state")
        elif kind == "inject":
            source, target, message, _ = args
            self._require_server(source)
            self._require_server(target)
            if source == target or not world.alive[target]:
                raise RecordError(f"{shown(action)} does not fit the cluster's state")
            args = (source, target, handmade.checked(message, self.ids, self._copy_in), at)
        self._history.input((kind, *args))

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
                f"there is no server {shown(server_id)} in this cluster; its servers are "
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
                f"cluster.pending()), or the event itself; got {shown(event_id)}"
            )
        event = live.get(event_id)
        if event is None:
            raise InvalidActionError(
                f"event {shown(event_id)} is not pending; cluster.pending() lists the events "
                "that can fire or be dropped, with their ids"
            )
        return event

    def _copy_in(self, data: Any, what: str = "propose") -> Any:
        """The copy of proposed ``data`` the cluster keeps, or DataError."""
        if looks_like_marker(data):
            raise DataError(
                f"cannot {what} {shown(data)}: dicts with the key {MARKER_KEY!r} are "
                "reserved for the core's own entries (no-ops and configurations)"
            )
        try:
            return carried(self._codec, data)
        except CodecError as error:
            if getattr(self._codec, "name", None) == "json":
                advice = (
                    "The default codec takes JSON values: None, booleans, numbers, strings, "
                    "lists (not tuples) and dicts with string keys; "
                    "Cluster(codec=le.PickleCodec()) takes most Python values."
                )
            else:
                advice = "Give a value this codec carries and brings back equal to itself."
            raise DataError(f"cannot {what} {shown(data)}: {error}. {advice}") from None

    def _input(self, action: tuple[Any, ...]) -> Any:
        """A new input from the user, as one step at the current time (forks if a
        future was recorded)."""
        return self._history.input((*action, self._world.now))

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
            snapshot_threshold=self.snapshot_threshold,
            lease_ms=self.lease_ms,
            bugs=self.bugs,
        )


def _plain(value: Any) -> Any:
    """Messages and entries (named tuples) as plain tuples, for ``stable_repr``."""
    if isinstance(value, tuple):
        return (type(value).__name__, *(_plain(v) for v in value))
    return value


def _check_max_steps(max_steps: Any) -> None:
    if type(max_steps) is not int or not 1 <= max_steps <= 10**12:
        raise LuminousError(
            f"max_steps={shown(max_steps)}: give a whole number of steps from 1 to 10**12"
        )


def _check_lease(lease_reads: Any, drift: Any, check_quorum: bool) -> tuple[bool, float]:
    if type(lease_reads) is not bool:
        raise LuminousError(f"lease_reads={shown(lease_reads)}: give True or False")
    if type(drift) not in (int, float) or not 1 <= drift <= 10:
        raise LuminousError(
            f"clock_drift_bound={shown(drift)}: give a number from 1 to 10; 1.0 says the "
            "servers' clocks run at the same rate"
        )
    if lease_reads and not check_quorum:
        raise LuminousError(
            "lease_reads=True needs check_quorum=True: a lease is safe only if servers "
            "that heard from the leader within the minimum election timeout refuse to "
            "vote for anyone else (thesis §6.4.1, §4.2.3)"
        )
    return lease_reads, float(drift)
