"""The interpreter: what each step does to the world.

A server never touches the world itself: every input to it returns an ``Output`` (see
core/output.py), and ``carry_out`` makes it so, in Figure 2's order: storage messages
first (through the server's storage handler), then timers, sends, applies to the
state machine, reads answered, the safety checks, and the leader's own log counted
once saved. Student code (storage handlers, state machines, read queries) runs only
here; an ``Exception`` it raises becomes a ``HandlerError`` and stops that server,
never the notebook.

The ``do_<kind>`` methods are the steps themselves: ``do_next`` fires the next
scheduled event, the others carry out one recorded input (``history.py`` records and
replays them). Each input's last argument is the virtual time at which it was made.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappush
from typing import Any, Protocol

from ..check import SafetyChecker, Violation
from ..check.durability import DurableState
from ..core import (
    AppendEntriesReply,
    CompactLog,
    InstallSnapshotReply,
    LoadState,
    Output,
    RequestVoteReply,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    Server,
    StoredState,
)
from ..core.log import stable_repr
from ..core.output import RESET, START, STOP
from ..errors import DataError, LuminousError
from ..storage import Disk, copy_value
from ..storage.disk import PowerLoss
from ..storage.stored import StoredStateError, validate_stored_state
from .events import DELIVER, ELECTION_TIMEOUT, HEARTBEAT, Event
from .narration import RawEvent
from .network import Network
from .outcomes import Input, ProposalResult
from .randomness import draw_int
from .state_machine import RecordingStateMachine
from .world import World

_new = tuple.__new__  # builds a named tuple from its fields in order, skipping __new__


class Settings(Protocol):
    """What the interpreter needs to know of the cluster it runs (the Cluster's options)."""

    seed: int
    checks: bool
    initial_ids: tuple[int, ...]
    initial_state: dict[int, StoredState]
    disk_faults: str | dict[int, str | None] | None
    election_timeout_ms: tuple[int, int]
    heartbeat_interval_ms: int
    _initial_network: Network
    _storage: Callable[[Disk], Any]
    _state_machine: Callable[[], Any]
    _codec: Any
    _read_queries: dict[int, Callable[[Any], Any]]

    def _new_server(self, sid: int, stored: StoredState) -> Server: ...


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


class Records:
    """Trace events, violations and errors, each list in step order."""

    __slots__ = ("errors", "trace", "violations")

    def __init__(self) -> None:
        self.trace: list[RawEvent] = []
        self.violations: list[Violation] = []
        self.errors: list[HandlerError] = []


class Effects:
    """Carries out servers' outputs and users' inputs on ``world``, writing what each
    step produced (trace events, violations, errors) to ``out``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = settings._codec
        self.election_timeout_ms = settings.election_timeout_ms
        self.heartbeat_interval_ms = settings.heartbeat_interval_ms
        self.read_queries = settings._read_queries
        # The longest log an initial state gave: no recovered snapshot can go past the
        # longest log of any server, given or grown.
        self.given_longest = max(
            (
                max(
                    s.entries[-1].index if s.entries else 0,
                    s.snapshot.last_index if s.snapshot else 0,
                )
                for s in settings.initial_state.values()
            ),
            default=0,
        )
        self.out = Records()
        self.world = self.build_world()

    def apply(self, action: tuple[Any, ...]) -> Any:
        """Carry out one recorded action (a step)."""
        return ACTIONS[action[0]](self, *action[1:])

    def trace(self, server: int | None, rule: str, *args: Any) -> None:
        world = self.world
        self.out.trace.append((world.step, world.now, server, rule, args))

    # ---------------------------------------------------------- the world

    def build_world(self) -> World:
        """The world of step 0: every first server started from an empty Disk."""
        settings = self.settings
        world = World(settings.seed, settings._initial_network)
        self.world = world
        if settings.checks:
            world.checker = SafetyChecker(settings.initial_ids)
        for sid in settings.initial_ids:
            self.add_to_world(sid)
        for sid in settings.initial_ids:
            stored = settings.initial_state.get(sid)
            if stored is None or self.store(sid, stored):
                self.start_server(sid)
        return world

    def store(self, sid: int, stored: StoredState) -> bool:
        """Write a given initial state on a server's Disk, through its storage handler,
        as the storage messages a server would have sent; False if the handler failed."""
        factory = self.settings._storage
        messages: list[Any] = [SaveHardState(stored.current_term, stored.voted_for)]
        if stored.snapshot is not None:
            messages.append(stored.snapshot)
        messages.extend(SaveLog(e.term, e.index, e.data) for e in stored.entries)
        try:
            handler = factory(self.world.disks[sid])
        except Exception as error:
            name = getattr(factory, "__name__", type(factory).__name__)
            self.handler_failed(sid, "storage handler", f"its construction {name}(disk)", error)
            return False
        for message in messages:
            try:
                handler.handle(message)
            except Exception as error:
                self.handler_failed(sid, "storage handler", message, error)
                return False
        return True

    def add_to_world(self, sid: int) -> None:
        """A new server with a new, empty Disk, down until started."""
        world = self.world
        faults = self.settings.disk_faults
        if isinstance(faults, dict):
            faults = faults.get(sid)
        world.ids = tuple(sorted((*world.ids, sid)))
        world.disks[sid] = Disk(f"S{sid}'s disk", faults, server_id=sid)
        world.alive[sid] = False
        world.applied[sid] = []
        world.handlers[sid] = None
        world.machines[sid] = None
        world.servers[sid] = self.settings._new_server(sid, StoredState())
        world.links.join(sid)
        if world.checker is not None:
            world.checker.add_server(sid)

    def start_server(self, sid: int, joining: bool = False) -> None:
        """(Re)start a server from its Disk; on a handler error it stays down."""
        world = self.world
        factory = self.settings._storage
        name = getattr(factory, "__name__", type(factory).__name__)
        try:
            handler = factory(world.disks[sid])
        except Exception as error:
            self.handler_failed(sid, "storage handler", f"its construction {name}(disk)", error)
            return
        raw: Any = None
        try:
            raw = handler.handle(LoadState())
            longest = max(self.given_longest, *(s.log.last_index for s in world.servers.values()))
            stored = _check_stored_state(raw, world.ids, longest)
        except Exception as error:
            durable = world.durable.get(sid)
            if raw is not None and durable is not None and world.checker is not None:
                # A state that load_state returned but that cannot be recovered from
                # may still show an acknowledged snapshot lost (compacted before it
                # was durable). If load_state itself raised, nothing is known.
                snapshot = getattr(raw, "snapshot", None)
                if not isinstance(snapshot, SaveSnapshot):
                    snapshot = None
                self.out.violations.extend(durable.lost_snapshot(world.step, sid, snapshot))
            self.handler_failed(sid, "storage handler", LoadState(), error)
            return
        try:
            machine = self.settings._state_machine()
        except Exception as error:
            self.handler_failed(sid, "state machine", "its construction", error)
            return
        if stored.snapshot is not None:
            # Restart from snapshot plus log (§7): the state machine starts from the
            # snapshot; the log holds only the entries after it.
            try:
                machine.restore(copy_value(self.codec, stored.snapshot.data))
            except Exception as error:
                self.handler_failed(sid, "state machine", "restore(snapshot)", error)
                return
        server = self.settings._new_server(sid, stored)
        world.servers[sid] = server
        world.handlers[sid] = handler
        world.machines[sid] = machine
        world.applied[sid] = []
        world.alive[sid] = True
        if world.step > 0 and not joining:
            vote = "none" if stored.voted_for is None else f"S{stored.voted_for}"
            self.trace(sid, "RESTART", sid, stored.current_term, vote, len(server.log))
        if world.checker is not None:
            found = world.checker.restarted(world.step, server)
            entries = server.log.entries
            durable = world.durable.get(sid)
            snap = stored.snapshot
            if durable is not None:  # a restart: was anything durable lost?
                found += durable.recovered(
                    world.step, sid, stored.current_term, stored.voted_for, entries, snap
                )
            world.durable[sid] = DurableState(stored.current_term, stored.voted_for, entries, snap)
            self.out.violations.extend(found)
        self.carry_out(sid, server.boot(world.now))

    def stop_server(self, sid: int) -> None:
        world = self.world
        world.alive[sid] = False
        world.handlers[sid] = None
        world.machines[sid] = None
        world.queue.cancel_timer(sid, ELECTION_TIMEOUT)
        world.queue.cancel_timer(sid, HEARTBEAT)

    def handler_failed(self, sid: int, what: str, message: Any, error: BaseException) -> None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        step = self.world.step
        self.out.errors.append(HandlerError(sid, step, what, message, error, text))
        described = repr(message) if isinstance(message, tuple) else str(message)
        # The trace (and so the digest) must be the same on every replay, in any process:
        # no object addresses, which differ from one run to the next.
        said = _without_addresses(f"{type(error).__name__}: {_said(error)}")
        self.trace(sid, "HANDLER.error", sid, what, said, _without_addresses(described))
        self.stop_server(sid)

    # ------------------------------------------------------ a server's output

    def carry_out(self, sid: int, out: Output) -> None:
        """Carry out a server's effects: storage first, then everything else."""
        world = self.world
        step, now = world.step, world.now
        trace = self.out.trace
        for rule, args in out.trace:
            trace.append((step, now, sid, rule, args))
        durable = world.durable.get(sid)
        if out.storage:
            handle = world.handlers[sid].handle
            for message in out.storage:
                try:
                    handle(message)
                except Exception as error:
                    self.handler_failed(sid, "storage handler", message, error)
                    return
                except PowerLoss:
                    if durable is not None:
                        durable.interrupted = message
                    self.trace(sid, "POWER", sid, type(message).__name__)
                    self.stop_server(sid)
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
                self.check_replies(sid, durable, sends)
            links, network = world.links, world.network
            if links.some_cut or network.drop_rate or network.duplicate_rate:
                for target, message in sends:
                    self.send(sid, target, message)
            else:
                # send() without faults, inlined: nearly every step sends something.
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
            machine = world.machines[sid]
            data = out.restore.data
            try:
                # (The default machine copies the list itself, and its values are never
                # changed: no codec round trip, which costs O(state) per snapshot.)
                machine.restore(
                    data if type(machine) is RecordingStateMachine else copy_value(self.codec, data)
                )
            except Exception as error:
                self.handler_failed(sid, "state machine", "restore(snapshot)", error)
                return
        if out.applies:
            machine = world.machines[sid]
            applied: list[tuple[int, Any]] = []  # into world.applied in one call
            for entry in out.applies:
                if type(entry.data) is dict and entry.kind != "command":
                    continue  # a no-op: the core's own entry, not a client's command
                try:
                    machine.apply(entry.index, entry.data)
                except Exception as error:
                    world.applied[sid].extend(applied)
                    self.handler_failed(sid, "state machine", entry, error)
                    return
                applied.append((entry.index, entry.data))
            if applied:
                world.applied[sid].extend(applied)
        if out.reads:
            self.answer_reads(sid, out.reads)
        checker = world.checker
        if checker is not None:
            found = checker.observe(step, world.servers[sid], out)
            if found:
                self.out.violations.extend(found)
        if out.save_through is not None:
            # The leader's SaveLog messages above are carried out: only now does its
            # own copy of the entries count toward a majority (§5.3).
            self.carry_out(sid, world.servers[sid].log_saved(out.save_through, now))
        if out.snapshot_due:
            self.take_snapshot(sid)

    def take_snapshot(self, sid: int) -> None:
        """Log compaction (§7): the server asked for its state machine's snapshot."""
        world = self.world
        machine = world.machines[sid]
        try:
            value = machine.snapshot()
        except Exception as error:
            self.handler_failed(sid, "state machine", "snapshot()", error)
            return
        if type(machine) is RecordingStateMachine:
            # A new list of values the codec carried in at their proposals, never
            # changed since: nothing to copy (a round trip costs O(state) per snapshot).
            self.carry_out(sid, world.servers[sid].take_snapshot(value, world.now))
            return
        try:
            data = copy_value(self.codec, value)
        except Exception as error:
            codec = getattr(self.codec, "name", type(self.codec).__name__)
            problem = DataError(
                f"snapshot() returned {stable_repr(value)[:80]}, which the {codec} codec "
                f"cannot carry ({type(error).__name__}: {error}). Return JSON values "
                "(lists, dicts with string keys, numbers, strings), or build the cluster "
                "with codec=le.PickleCodec()"
            )
            self.handler_failed(sid, "state machine", "snapshot()", problem)
            return
        self.carry_out(sid, world.servers[sid].take_snapshot(data, world.now))

    def check_replies(self, sid: int, durable: DurableState, sends: list[tuple[int, Any]]) -> None:
        """Durability at send time: note what is acknowledged, and whether the Disk
        still holds unsynced writes as a vote or an acknowledgement leaves."""
        disk = self.world.disks[sid]
        unsynced = disk.unsynced_keys if disk.faults is not None else []
        for _, message in sends:
            kind = type(message)
            if (kind is AppendEntriesReply and message.success) or kind is InstallSnapshotReply:
                durable.acked = max(durable.acked, message.match_index)
            elif kind is not RequestVoteReply:
                continue
            if unsynced:
                self.out.violations.extend(durable.sending(self.world.step, sid, message, unsynced))

    def answer_reads(self, sid: int, reads: list[tuple[int, int]]) -> None:
        world = self.world
        machine = world.machines[sid]
        codec = self.codec
        for read_id, index in reads:
            query = self.read_queries.get(read_id)
            value: Any = None
            error = None
            if query is not None:
                try:
                    value = codec.decode(codec.encode(query(machine)))
                except Exception as problem:
                    error = f"{type(problem).__name__}: {problem}"
            world.read_results[read_id] = (index, value, error)
            self.out.violations.extend(world.read_floors.answered(world.step, read_id, sid, index))

    def send(self, source: int, target: int, message: Any) -> None:
        world = self.world
        links = world.links
        if links.some_cut and links.cut(source, target):
            self.trace(source, "NET.cut", source, target, type(message).__name__)
            return
        network = world.network
        rng = world.rng
        drop_rate = network.drop_rate
        if drop_rate and rng.get(("drop", source, target)).random() < drop_rate:
            self.trace(source, "NET.drop", source, target, type(message).__name__, drop_rate)
            return
        low, high = network.delay_ms
        delays = rng.streams.get(("delay", source, target)) or rng.get(("delay", source, target))
        queue = world.queue
        delay = low + int(delays.random() * (high - low + 1))  # draw_int, inlined: hot
        queue.schedule(world.now + delay, DELIVER, target, source, message, world.now)
        duplicate_rate = network.duplicate_rate
        if duplicate_rate and rng.get(("duplicate", source, target)).random() < duplicate_rate:
            self.trace(source, "NET.dup", source, target, type(message).__name__, duplicate_rate)
            queue.schedule(
                world.now + draw_int(delays, low, high), DELIVER, target, source, message, world.now
            )

    def fire(self, event: Event) -> None:
        world = self.world
        sid = event.target
        if event.kind == DELIVER:
            source = event.source
            links = world.links
            if not world.alive[sid]:
                self.trace(source, "NET.down", source, sid, type(event.message).__name__)
            elif links.some_cut and links.cut(source, sid):  # type: ignore[arg-type]
                self.trace(source, "NET.cut", source, sid, type(event.message).__name__)
            else:
                self.carry_out(sid, world.servers[sid].handle(source, event.message, world.now))  # type: ignore[arg-type]
        elif event.kind == ELECTION_TIMEOUT:
            self.carry_out(sid, world.servers[sid].election_timeout(world.now))
        else:
            self.carry_out(sid, world.servers[sid].heartbeat_timeout(world.now))

    # ------------------------------------------------------------ the steps

    def do_next(self) -> Event:
        world = self.world
        event = world.queue.pop()
        assert event is not None, "a recorded step found nothing scheduled"
        if event.due > world.now:
            world.now = event.due
        self.fire(event)
        return event

    def do_fire(self, event_id: int, at: int) -> Event:
        self.world.now = at
        event = self.world.queue.remove(event_id)
        self.trace(event.target, "USER.fire", event_id, event.describe())
        self.fire(event)
        return event

    def do_drop(self, event_id: int, at: int) -> Event:
        self.world.now = at
        event = self.world.queue.remove(event_id)
        self.trace(
            event.source,
            "USER.drop",
            event.source,
            event.target,
            type(event.message).__name__,
            event_id,
        )
        return event

    def do_timeout(self, sid: int, at: int) -> Input:
        self.world.now = at
        self.world.queue.cancel_timer(sid, ELECTION_TIMEOUT)
        self.trace(sid, "USER.timeout", sid)
        self.carry_out(sid, self.world.servers[sid].election_timeout(at))
        return Input("timeout", (sid,))

    def do_propose(self, data: Any, sid: int, at: int) -> ProposalResult:
        self.world.now = at
        server = self.world.servers[sid]
        outcome, out = server.propose(data, at)
        self.carry_out(sid, out)
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

    def do_crash(self, sid: int, at: int) -> Input:
        world = self.world
        world.now = at
        self.trace(sid, "CRASH", sid)
        self.stop_server(sid)
        disk = world.disks[sid]
        disk.crash()
        disk.power_on()  # a power cut armed before the crash dies with it
        return Input("crash", (sid,))

    def do_cut_power(self, sid: int, operations: int, at: int) -> Input:
        self.world.now = at
        self.world.disks[sid].cut_power_after(operations)
        self.trace(sid, "POWER.armed", sid, operations)
        return Input("cut_power", (sid, operations))

    def do_read(self, read_id: int, sid: int, at: int) -> Input:
        world = self.world
        world.now = at
        world.next_read_id = max(world.next_read_id, read_id + 1)
        world.read_floors.asked(
            read_id, (s.commit_index for i, s in world.servers.items() if world.alive[i])
        )
        _, out = world.servers[sid].read(read_id, at)
        self.carry_out(sid, out)
        return Input("read", (read_id, sid))

    def do_transfer(self, leader: int, to: int, at: int) -> Input:
        self.world.now = at
        _, out = self.world.servers[leader].transfer_leadership(to, at)
        self.carry_out(leader, out)
        return Input("transfer", (leader, to))

    def do_member(self, change: str, leader: int, sid: int, at: int) -> Input:
        world = self.world
        world.now = at
        if sid not in world.alive:
            self.add_to_world(sid)
            self.trace(sid, "JOIN", sid)
            self.start_server(sid, joining=True)
        _, out = world.servers[leader].change_membership(change, sid, at)
        self.carry_out(leader, out)
        return Input("member", (change, leader, sid))

    def do_restart(self, sid: int, at: int) -> Input:
        self.world.now = at
        self.start_server(sid)
        return Input("restart", (sid,))

    def do_disconnect(self, sid: int, at: int) -> Input:
        self.world.now = at
        self.world.links.disconnect(sid)
        self.trace(sid, "DISCONNECT", sid)
        return Input("disconnect", (sid,))

    def do_connect(self, sid: int, at: int) -> Input:
        self.world.now = at
        self.world.links.connect(sid)
        self.trace(sid, "CONNECT", sid)
        return Input("connect", (sid,))

    def do_cut(self, a: int, b: int, at: int) -> Input:
        self.world.now = at
        self.world.links.cut_link(a, b)
        self.trace(None, "CUT", a, b)
        return Input("cut", (a, b))

    def do_mend(self, a: int, b: int, at: int) -> Input:
        self.world.now = at
        self.world.links.mend_link(a, b)
        self.trace(None, "MEND", a, b)
        return Input("mend", (a, b))

    def do_inject(self, source: int, target: int, message: Any, at: int) -> Input:
        world = self.world
        world.now = at
        self.trace(target, "USER.inject", source, target, type(message).__name__)
        self.carry_out(target, world.servers[target].handle(source, message, at))
        return Input("inject", (source, target, message))

    def do_partition(self, groups: tuple[tuple[int, ...], ...], at: int) -> Input:
        world = self.world
        world.now = at
        world.links.partition(groups, world.ids)
        self.trace(None, "PARTITION", world.links.describe())
        return Input("partition", groups)

    def do_heal(self, at: int) -> Input:
        self.world.now = at
        self.world.links.heal()
        self.trace(None, "HEAL")
        return Input("heal", ())

    def do_network(
        self, delay_ms: tuple[int, int], drop_rate: float, duplicate_rate: float, at: int
    ) -> Input:
        self.world.now = at
        self.world.network = Network(tuple(delay_ms), drop_rate, duplicate_rate)  # type: ignore[arg-type]
        self.trace(None, "NETWORK", delay_ms[0], delay_ms[1], drop_rate, duplicate_rate)
        return Input("network", (delay_ms, drop_rate, duplicate_rate))


ACTIONS: dict[str, Callable[..., Any]] = {
    name[3:]: getattr(Effects, name) for name in dir(Effects) if name.startswith("do_")
}


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _without_addresses(text: str) -> str:
    """``<Foo object at 0x7f3a...>`` as ``<Foo object>``."""
    return _ADDRESS.sub("", text)


def _said(error: BaseException) -> str:
    try:
        return str(error)
    except Exception as problem:  # an error whose message cannot be made
        return f"(its message raised {type(problem).__name__})"


def _check_stored_state(stored: Any, ids: tuple[int, ...], max_index: int) -> StoredState:
    """Validate what ``load_state`` returned, or raise saying what was expected."""
    try:
        # Terms may decrease: a handler that ignores TruncateLog brings back deleted
        # entries, and the Log Matching check should show it rather than this refusal.
        return validate_stored_state(stored, ids, monotonic=False, max_index=max_index)
    except StoredStateError as error:
        raise LuminousError(f"load_state() returned {error}") from None
