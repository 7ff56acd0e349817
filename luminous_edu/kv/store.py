"""A replicated key-value store on Raft: the seed's promise, on the public Cluster API.

``KVStore(servers=5, shards=1, seed=0)`` runs one Raft group (an ``le.Cluster``) per
shard, all on the same server ids, each replicating a ``KVStateMachine``. Keys go to
shards by a stable hash of their bytes. Clients (``store.client(name)``) send requests
over a simulated network to the servers, which propose writes as typed ``Command``
entries and answer gets through ReadIndex (thesis §6.4).

Theory of operation
-------------------
Everything runs in virtual time. The groups keep their own event queues; the store
keeps one more, of client events: a request reaching a server, an answer reaching a
client, a client's retry timer. ``run(ms)`` advances in slices: every group runs up to
the next client event (or at most the shortest network delay ahead while some server
owes an answer), then the client events due then fire. While a server owes an answer,
the store looks after each of its group's steps whether the server has applied the
client's command (its session table holds the command's sequence number: thesis §6.3)
or finished the read, and if so sends the answer back. Since no answer travels faster
than the shortest delay, no client event can fall inside a slice it was not known at
the start of, and ``run`` and ``step`` give the same history.

Three teaching switches make the store wrong on purpose, and ``check()`` (the
linearizability checker on the store's own history) catches them:
``read_mode="local"`` answers gets from the server's own state machine whenever it
believes it leads, without ReadIndex, so a deposed leader can serve a stale value;
``expiry_clock="local"`` decides expiry by each server's clock as it applies an entry,
so replicas that apply it at different times disagree. ``dedup=False`` applies a
retried command again.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import random
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from ..check import KVModel, LinearizabilityResult, Operation, check_linearizable
from ..core import Role
from ..errors import InvalidActionError, LuminousError, UnknownServerError
from ..sim import Cluster, Event
from .backup import Backup, latest_backups, write_backup
from .client import Handle, KVClient, describe
from .commands import Command, Get, KVCodec
from .machine import KVStateMachine, rebased

READ_MODES = ("index", "local")
EXPIRY_CLOCKS = ("replicated", "local")
#: snapshot_threshold when backup_dir is given and no threshold is.
BACKUP_SNAPSHOT_THRESHOLD = 50
_RESERVED = ("state_machine", "codec")


class ClientEvent(NamedTuple):
    """A client event fired by ``store.step()``: at ``time``, ``kind`` ("arrive",
    "reply", "timeout" or "resend") for ``client``."""

    time: int
    client: str
    kind: str


class KVTrace(list[tuple[int, str]]):
    """What the clients and servers did, as (time, sentence), in time order."""

    def add(self, time: int, sentence: str) -> None:
        # During run(), groups run one after the other through the same slice of time.
        bisect.insort_right(self, (time, sentence), key=lambda item: item[0])

    def text(self, last: int | None = None) -> str:
        lines = self if last is None else self[-last:]
        return "\n".join(f"t={time:>6} ms  {sentence}" for time, sentence in lines)


class _Wait(NamedTuple):
    """A server that owes ``client`` an answer for ``handle``."""

    client: KVClient
    handle: Handle
    attempt: int
    server: int
    machine: Any  # the server's state machine when it took the request
    read: Any  # the ReadHandle of a get, or None


def shard_of(key: str, shards: int) -> int:
    """The shard of ``key``: a stable hash of its UTF-8 bytes (the same in every
    process, unlike Python's ``hash``), modulo the number of shards."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def group_seed(seed: int, shard: int) -> int:
    """The seed of shard ``shard``'s Cluster: ``seed`` itself for shard 0."""
    if shard == 0:
        return seed
    digest = hashlib.sha256(f"{seed}/shard/{shard}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class KVStore:
    """A replicated key-value store: one Raft group per shard, on the same servers.

    ``KVStore(servers=5, shards=1, seed=0, backup_dir=None, **cluster_options)``;
    ``cluster_options`` go to every group's ``le.Cluster`` (``network=``,
    ``snapshot_threshold=``, ``disk_faults=``, ``check_quorum=``...). With
    ``backup_dir``, every snapshot is copied there (``snapshot_threshold`` defaults to
    50 then); ``KVStore.restore(backup_dir)`` builds a new store from the newest ones.

    Clients: ``store.client(name)`` with ``get``, ``put(key, value, ttl_ms=None)``,
    ``append``, ``delete`` and ``cas(key, expected, new)``, each returning a handle
    with ``done``, ``value`` and ``error``. Drive: ``step()``, ``run(ms)``,
    ``run_until(predicate, max_ms)``. Faults across every group: ``crash(i)``,
    ``restart(i)``, ``partition(...)``, ``heal()``, ``disconnect(i)``, ``connect(i)``,
    ``set_network(...)``; ``groups[g]`` is shard g's Cluster, with all its controls.
    ``history`` is every client operation as ``le.Operation``; ``check()`` runs the
    linearizability checker on it.

    Client options: ``retry_timeout_ms`` (resend after this long without an answer),
    ``give_up_after_ms`` (then the outcome is unknown), ``backups_kept`` per shard.
    Teaching switches, each unsafe: ``read_mode="local"`` (gets skip ReadIndex),
    ``expiry_clock="local"`` (expiry by each server's clock), ``dedup=False`` (retries
    applied again).

    The store drives its groups forward only: rewinding a group (``groups[g].rewind``)
    does not rewind the store's clients, history or backups.
    """

    def __init__(
        self,
        servers: int = 5,
        shards: int = 1,
        seed: int = 0,
        backup_dir: str | Path | None = None,
        *,
        read_mode: str = "index",
        expiry_clock: str = "replicated",
        dedup: bool = True,
        retry_timeout_ms: int = 250,
        give_up_after_ms: int = 5000,
        backups_kept: int = 3,
        _restored: list[Backup] | None = None,
        **cluster_options: Any,
    ) -> None:
        if type(shards) is not int or not 1 <= shards <= 32:
            raise LuminousError(f"shards={shards!r}: give the number of shards, 1 to 32")
        if read_mode not in READ_MODES:
            raise LuminousError(
                f"read_mode={read_mode!r}: give 'index' (linearizable reads by ReadIndex) or "
                "'local' (UNSAFE, for lesson 09: a server that believes it leads answers "
                "from its own state machine, stale if it was deposed)"
            )
        if expiry_clock not in EXPIRY_CLOCKS:
            raise LuminousError(
                f"expiry_clock={expiry_clock!r}: give 'replicated' (expiry by the time the "
                "leader stamps into each command) or 'local' (UNSAFE, for lesson 09: each "
                "server's own clock when it applies a command)"
            )
        if type(dedup) is not bool:
            raise LuminousError(f"dedup={dedup!r}: give True or False")
        for name, value in (
            ("retry_timeout_ms", retry_timeout_ms),
            ("give_up_after_ms", give_up_after_ms),
            ("backups_kept", backups_kept),
        ):
            if type(value) is not int or value < 1:
                raise LuminousError(f"{name}={value!r}: give a whole number >= 1")
        for name in _RESERVED:
            if name in cluster_options:
                raise LuminousError(
                    f"{name}= is the store's own: every group runs a KVStateMachine and "
                    "carries typed commands with KVCodec"
                )
        if backup_dir is not None and not isinstance(backup_dir, str | Path):
            raise LuminousError(f"backup_dir={backup_dir!r}: give a directory path or None")
        self.shards = shards
        self.seed = seed
        self.read_mode = read_mode
        self.expiry_clock = expiry_clock
        self.dedup = dedup
        self.retry_timeout_ms = retry_timeout_ms
        self.give_up_after_ms = give_up_after_ms
        self.backups_kept = backups_kept
        self.backup_dir = None if backup_dir is None else Path(backup_dir)
        if self.backup_dir is not None:
            cluster_options.setdefault("snapshot_threshold", BACKUP_SNAPSHOT_THRESHOLD)

        # A restored store starts every replica from the backup's state (its clock
        # moved to 0, each key keeping the time it had left) and writes backups of the
        # next generation.
        restored = _restored or []
        self.generation = 1 + max((b.generation for b in restored), default=-1)
        self._initial: list[dict[str, Any] | None] = [None] * shards
        self._seq_floor: dict[str, int] = {}
        initial_data: dict[str, Any] = {}
        expiring: set[str] = set()
        for backup in restored:
            state = {**rebased(backup.state), "index": 0}
            self._initial[backup.shard] = state
            initial_data.update(state["data"])
            expiring.update(state["expires"])
            for name, (seq, _) in state["sessions"].items():
                self._seq_floor[name] = max(self._seq_floor.get(name, 0), seq)
        self._model = KVModel(initial_data, expiring)

        self.trace = KVTrace()
        self.backups: list[Path] = []  # every backup file written, in order
        self._now = 0
        self._clients: dict[str, KVClient] = {}
        self._rng: dict[str, random.Random] = {}
        self._events: list[tuple[int, str, int, str, tuple[Any, ...]]] = []
        self._handles: list[Handle] = []  # every call sent, in the order sent
        self._lose_replies: dict[str, int] = {}
        self._pending_backups: list[tuple[int, dict[str, Any]]] = []
        self._backed_up = [0] * shards
        # Per shard: the servers that owe answers to writes and to reads, and whether a
        # command was applied since the store last looked at the writes.
        self._writes: list[list[_Wait]] = [[] for _ in range(shards)]
        self._reads: list[list[_Wait]] = [[] for _ in range(shards)]
        self._applied = [False] * shards
        self._pollers = [partial(self._poll_group, g) for g in range(shards)]
        self.groups: list[Cluster] = []
        for g in range(shards):
            self.groups.append(
                Cluster(
                    servers,
                    seed=group_seed(seed, g),
                    state_machine=self._machine_factory(g),
                    codec=KVCodec(),
                    **cluster_options,
                )
            )

    @classmethod
    def restore(cls, path: str | Path, **options: Any) -> KVStore:
        """A new store whose replicas start from the newest backup of each shard under
        ``path`` (a ``backup_dir``; or one backup file of a one-shard store). Every
        backup is verified first: a truncated or changed one is refused with
        ``BackupError``. ``options`` are those of ``KVStore`` (servers default to the
        backed-up store's; give ``backup_dir`` to keep backing up). The session
        tables come back too, so a client named as one of the old store's continues
        its numbering (its new commands are not taken for old ones)."""
        backups = latest_backups(path)
        shards = backups[0].shards
        if options.setdefault("shards", shards) != shards:
            raise LuminousError(
                f"shards={options['shards']!r}: the backup under {path} has {shards} shards"
            )
        options.setdefault("servers", backups[0].servers)
        return cls(_restored=backups, **options)

    def _machine_factory(self, shard: int) -> Callable[[], KVStateMachine]:
        initial = self._initial[shard]
        local_clock = partial(self._group_now, shard) if self.expiry_clock == "local" else None
        on_snapshot = partial(self._snapshot_taken, shard)
        on_apply = partial(self._applied.__setitem__, shard, True)

        def make() -> KVStateMachine:
            return KVStateMachine(
                dedup=self.dedup,
                local_clock=local_clock,
                on_snapshot=on_snapshot,
                on_apply=on_apply,
                initial=initial,
            )

        return make

    def _group_now(self, shard: int) -> int:
        return self.groups[shard].now

    # ------------------------------------------------------------ inspecting

    @property
    def now(self) -> int:
        """Virtual time in milliseconds."""
        return self._now

    @property
    def servers(self) -> tuple[int, ...]:
        """The server ids (the same in every group)."""
        return self.groups[0].ids

    @property
    def leaders(self) -> dict[int, int | None]:
        """Each shard's leader (None while it has none)."""
        return {g: group.leader for g, group in enumerate(self.groups)}

    @property
    def clients(self) -> dict[str, KVClient]:
        return dict(self._clients)

    @property
    def history(self) -> list[Operation]:
        """Every client operation sent so far, as ``le.Operation`` in the order sent:
        ``ret`` and ``output`` are None for those still waiting and those the client
        gave up on (their outcome is unknown)."""
        return [op for h in self._handles if (op := h.operation) is not None]

    def shard_of(self, key: str) -> int:
        """The shard that holds ``key``."""
        return shard_of(key, self.shards)

    def replica(self, server: int, shard: int = 0) -> KVStateMachine | None:
        """Server ``server``'s state machine in shard ``shard`` (None while it is down)."""
        return self._group(shard).state_machine(server)  # type: ignore[no-any-return]

    def contents(self, server: int) -> dict[str, Any]:
        """Every key server ``server``'s replicas hold, with its value, over all the
        shards (those it is down in left out): what that replica would answer."""
        found: dict[str, Any] = {}
        for g in range(self.shards):
            machine = self.replica(server, g)
            if machine is not None:
                found.update(machine.live(self.groups[g].now))
        return dict(sorted(found.items()))

    def check(self, timeout_s: float | None = None) -> LinearizabilityResult:
        """The linearizability checker on this store's history (the kv model; keys of
        a restored backup start with their restored values)."""
        return check_linearizable(self.history, self._model, timeout_s=timeout_s)

    # ------------------------------------------------------------- clients

    def client(self, name: str) -> KVClient:
        """The client called ``name`` (made on first use; one session per name)."""
        if type(name) is not str or not name:
            raise LuminousError(f"client({name!r}): name a client with a non-empty string")
        if name not in self._clients:
            self._clients[name] = KVClient(self, name, self._seq_floor.get(name, 0) + 1)
            self._rng[name] = random.Random(f"luminous_edu.kv/{self.seed}/{name}")
        return self._clients[name]

    def lose_next_reply(self, client: str, count: int = 1) -> None:
        """The next ``count`` answers sent to ``client`` are lost in the network (the
        way to show a retry after a lost answer)."""
        self.client(client)
        if type(count) is not int or count < 1:
            raise LuminousError(
                f"lose_next_reply(count={count!r}): give how many answers to lose, a whole "
                "number >= 1"
            )
        self._lose_replies[client] = self._lose_replies.get(client, 0) + count

    # -------------------------------------------------------------- driving

    def step(self) -> Event | ClientEvent | None:
        """Fire the next event: a group's (returned as that group's ``Event``) or a
        client's (a ``ClientEvent``). Group events come first at equal times."""
        best: int | None = None
        best_due = 0
        for g, group in enumerate(self.groups):
            pending = group.pending()
            if pending:
                due = max(pending[0].due, group.now)
                if best is None or due < best_due:
                    best, best_due = g, due
        if best is not None and (not self._events or best_due <= self._events[0][0]):
            group = self.groups[best]
            event = group.step()
            self._now = max(self._now, group.now)
            self._poll_group(best, group)
            self._flush_backups()
            return event  # type: ignore[return-value]
        if not self._events:
            return None
        item = heapq.heappop(self._events)
        self._now = max(self._now, item[0])
        self._fire(item)
        self._flush_backups()
        return ClientEvent(item[0], item[1], item[3])

    def run(self, ms: int) -> None:
        """Advance virtual time by ``ms``, firing everything due in every group and
        every client event."""
        if type(ms) is not int or ms < 0:
            raise LuminousError(f"run(ms={ms!r}): give a whole number of milliseconds >= 0")
        self._advance(self._now + ms)

    def run_until(self, predicate: Callable[[KVStore], bool], max_ms: int = 10_000) -> bool:
        """Step until ``predicate(store)`` is true (True), or until ``max_ms`` of virtual
        time pass (False, with the clock moved to that limit)."""
        if not callable(predicate):
            raise LuminousError(
                "run_until needs a function of the store, e.g. lambda s: handle.done"
            )
        if type(max_ms) is not int or max_ms < 0:
            raise LuminousError(f"max_ms={max_ms!r}: give a whole number of milliseconds >= 0")
        deadline = self._now + max_ms
        while not predicate(self):
            due = self._next_due()
            if due is None or due > deadline:
                self._advance(deadline)
                return False
            self.step()
        return True

    def _next_due(self) -> int | None:
        times = [self._events[0][0]] if self._events else []
        for group in self.groups:
            pending = group.pending()
            if pending:
                times.append(max(pending[0].due, group.now))
        return min(times, default=None)

    def _advance(self, target: int) -> None:
        while True:
            limit = target
            if self._events and self._events[0][0] < limit:
                limit = self._events[0][0]
            if any(self._writes) or any(self._reads):
                # An answer sent during this slice cannot arrive before it ends.
                limit = min(limit, self._now + self._shortest_delay())
            limit = max(limit, self._now)
            for g in range(self.shards):
                self._run_group(g, limit)
            self._now = limit
            while self._events and self._events[0][0] <= limit:
                self._fire(heapq.heappop(self._events))
            self._flush_backups()
            if limit >= target:
                return

    def _run_group(self, g: int, limit: int) -> None:
        group = self.groups[g]
        ms = limit - group.now
        if ms < 0:
            return  # someone ran this group ahead directly
        if self._writes[g] or self._reads[g]:
            group.run_until(self._pollers[g], ms, warn=False)  # looks for answers after every step
        else:
            group.run(ms)

    def _sync(self) -> None:
        """Bring every group's clock to the store's (after ``step``, the groups whose
        events are later lag behind)."""
        for g in range(self.shards):
            self._run_group(g, self._now)

    def _shortest_delay(self) -> int:
        return max(1, min(group.network.delay_ms[0] for group in self.groups))

    # -------------------------------------------------------------- faults

    def crash(self, server: int) -> None:
        """Crash server ``server`` in every group it runs in (it is one machine)."""
        self._each_group(server, "crash", lambda g: g.servers[server].alive)

    def restart(self, server: int) -> None:
        """Restart server ``server`` in every group it is down in."""
        self._each_group(server, "restart", lambda g: not g.servers[server].alive)

    def disconnect(self, server: int) -> None:
        """Cut server ``server`` off the network (clients cannot reach it either)."""
        self._each_group(server, "disconnect", lambda g: server not in g.disconnected)

    def connect(self, server: int) -> None:
        """Undo ``disconnect``."""
        self._each_group(server, "connect", lambda g: server in g.disconnected)

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the servers' network in every group, ``partition({1, 2}, {3, 4, 5})``.
        Clients still reach every server."""
        self._sync()
        sets = [list(members) for members in groups]
        for group in self.groups:
            group.partition(*sets)
        self._trace(f"partition {' | '.join('{' + ', '.join(map(str, s)) + '}' for s in sets)}")

    def heal(self) -> None:
        """Remove every partition and reconnect every server, in every group."""
        self._sync()
        for group in self.groups:
            group.heal()
        self._trace("heal: the network is whole again")

    def set_network(self, **settings: Any) -> None:
        """Change network settings in every group (``delay_ms``, ``drop_rate``,
        ``duplicate_rate``); clients' messages follow their shard's network."""
        self._sync()
        for group in self.groups:
            group.set_network(**settings)
        self._trace(f"network: {', '.join(f'{k}={v!r}' for k, v in sorted(settings.items()))}")

    def _each_group(self, server: int, action: str, applies: Callable[[Cluster], bool]) -> None:
        if type(server) is not int or server not in self.servers:
            raise UnknownServerError(
                f"there is no server {server!r} in this store; its servers are "
                f"{', '.join(map(str, self.servers))}"
            )
        self._sync()
        chosen = [group for group in self.groups if applies(group)]
        if not chosen:
            raise InvalidActionError(
                f"cannot {action} S{server}: nothing to do in any group "
                f"({'it is down' if action == 'crash' else 'already done'})"
            )
        for group in chosen:
            getattr(group, action)(server)
        self._trace(f"{action} S{server}")

    def _group(self, shard: int) -> Cluster:
        if type(shard) is not int or not 0 <= shard < self.shards:
            raise LuminousError(f"shard={shard!r}: the shards are 0..{self.shards - 1}")
        return self.groups[shard]

    # ------------------------------------------------------ client machinery

    def _submit(self, client: KVClient, handle: Handle) -> None:
        handle.shard = self.shard_of(handle.op.key)
        client.session.queue.append(handle)
        if client.session.current is None:
            self._start_next(client)

    def _start_next(self, client: KVClient) -> None:
        session = client.session
        session.current = None
        if not session.queue:
            return
        handle = session.queue.pop(0)
        session.current = handle
        session.attempt = 0
        handle.call_ms = self._now
        self._handles.append(handle)
        self._send(client, handle)

    def _send(self, client: KVClient, handle: Handle, server: int | None = None) -> None:
        """Send (again) the client's current request, to ``server`` or to the one it
        believes leads the key's shard."""
        session = client.session
        session.attempt += 1
        handle.attempts += 1
        g = handle.shard
        if server is None:
            server = session.leader.get(g, self.servers[0])
        session.leader[g] = server
        again = "" if session.attempt == 1 else f", attempt {session.attempt}"
        self._trace(f"{client.name} -> S{server}: {describe(handle.op)} (#{handle.seq}{again})")
        self._message(client, g, server, "arrive", (handle, session.attempt, server))
        self._schedule(
            client, self._now + self.retry_timeout_ms, "timeout", (handle, session.attempt)
        )

    def _schedule(self, client: KVClient, due: int, kind: str, payload: tuple[Any, ...]) -> None:
        client.session.events += 1
        heapq.heappush(self._events, (due, client.name, client.session.events, kind, payload))

    def _message(
        self,
        client: KVClient,
        g: int,
        server: int,
        kind: str,
        payload: tuple[Any, ...],
        at: int | None = None,
    ) -> None:
        """A message between ``client`` and ``server`` over shard ``g``'s network, sent
        at ``at`` (default: now): lost if the server is disconnected or by the network's
        drop rate, delayed by its delays, maybe duplicated."""
        now = self._now if at is None else at
        group = self.groups[g]
        towards = "request to" if kind == "arrive" else "answer from"
        if server in group.disconnected:
            self._trace(
                f"{client.name}'s {towards} S{server} is lost: S{server} is disconnected", now
            )
            return
        if kind == "reply" and self._lose_replies.get(client.name):
            self._lose_replies[client.name] -= 1
            self._trace(f"{client.name}'s answer from S{server} is lost (lose_next_reply)", now)
            return
        network = group.network
        rng = self._rng[client.name]
        if network.drop_rate and rng.random() < network.drop_rate:
            self._trace(f"{client.name}'s {towards} S{server} is lost (drop_rate)", now)
            return
        low, high = network.delay_ms
        self._schedule(client, now + max(1, rng.randint(low, high)), kind, payload)
        if network.duplicate_rate and rng.random() < network.duplicate_rate:
            self._trace(f"{client.name}'s {towards} S{server} is duplicated (duplicate_rate)", now)
            self._schedule(client, now + max(1, rng.randint(low, high)), kind, payload)

    def _fire(self, item: tuple[int, str, int, str, tuple[Any, ...]]) -> None:
        _, name, _, kind, payload = item
        client = self._clients[name]
        if kind == "arrive":
            self._arrive(client, *payload)
        elif kind == "reply":
            self._reply(client, *payload)
        elif kind == "timeout":
            self._timeout(client, *payload)
        else:
            self._resend(client, *payload)

    def _arrive(self, client: KVClient, handle: Handle, attempt: int, server: int) -> None:
        """``client``'s request reaches ``server``."""
        g = handle.shard
        self._run_group(g, self._now)  # after step(), its clock may lag
        group = self.groups[g]
        view = group.servers[server]
        if not view.alive or server in group.disconnected:
            self._trace(f"S{server} is down: {client.name}'s request is lost")
            return
        if handle.done and type(handle.op) is Get:
            return  # an old copy of a read already answered: nothing to do
        if type(handle.op) is Get:
            if self.read_mode == "local":
                # UNSAFE (teaching switch): no ReadIndex, a deposed leader answers too.
                if view.role is not Role.LEADER:
                    self._redirect(client, handle, attempt, g, server, view.leader_id)
                    return
                machine = group.state_machine(server)
                value = machine.read(handle.op.key, group.now)
                self._trace(
                    f"S{server} believes it leads and answers {client.name} from its own "
                    f"state machine (read_mode='local'): {value!r}"
                )
                self._answer(client, handle, attempt, g, server, value)
                return
            read = group.read(partial(_query, handle.op.key, group.now), server=server)
            if not read.accepted:
                self._redirect(client, handle, attempt, g, server, read.leader_hint)
                return
            self._wait(g, _Wait(client, handle, attempt, server, group.state_machine(server), read))
            return
        command = Command(client.name, handle.seq, group.now, handle.op)
        proposed = group.propose(command, server=server)
        if not proposed.accepted:
            self._redirect(client, handle, attempt, g, server, proposed.leader_hint)
            return
        if handle.done:
            return  # an old copy: proposed again (the session table drops it), nobody waits
        self._trace(
            f"S{server} appends {client.name}'s #{handle.seq} at index {proposed.index} "
            f"(term {proposed.term}), stamped t={command.stamp_ms} ms"
        )
        self._wait(g, _Wait(client, handle, attempt, server, group.state_machine(server), None))

    def _wait(self, g: int, wait: _Wait) -> None:
        if wait.machine is None:  # the server went down taking the request (a power cut)
            self._trace(f"S{wait.server} went down: the answer it owed {wait.client.name} is lost")
            return
        (self._writes if wait.read is None else self._reads)[g].append(wait)
        self._applied[g] = True
        self._poll_group(g)  # a one-server group, or a lease read, may be done already

    def _redirect(
        self, client: KVClient, handle: Handle, attempt: int, g: int, server: int, hint: int | None
    ) -> None:
        who = f"S{hint} leads" if hint is not None else "it knows no leader"
        shard = f" shard {g}" if self.shards > 1 else ""
        self._trace(f"S{server} does not lead{shard}; {who}")
        self._message(client, g, server, "reply", (handle, attempt, server, None, hint))

    def _answer(
        self,
        client: KVClient,
        handle: Handle,
        attempt: int,
        g: int,
        server: int,
        result: Any,
        at: int | None = None,
    ) -> None:
        payload = (handle, attempt, server, ("ok", result), None)
        self._message(client, g, server, "reply", payload, at)

    def _poll_group(self, g: int, group: Cluster | None = None) -> bool:
        """Answer every client whose request a server of group ``g`` has now carried out
        (in the group's time: during ``run`` it runs ahead of the store's clock). Writes
        are looked at only after a command was applied. Returns False (it serves as a
        ``run_until`` predicate that never stops)."""
        reads, writes = self._reads[g], self._writes[g]
        if not reads and not (writes and self._applied[g]):
            return False
        group = group or self.groups[g]
        if reads:
            self._reads[g] = [wait for wait in reads if not self._read_done(g, group, wait)]
        if writes and self._applied[g]:
            self._applied[g] = False
            machines = {
                server: group.state_machine(server) for server in {w.server for w in writes}
            }
            self._writes[g] = [
                wait
                for wait in writes
                if not self._write_done(g, group, wait, machines[wait.server])
            ]
        return False

    def _read_done(self, g: int, group: Cluster, wait: _Wait) -> bool:
        """Answer the client if the read is done (a read on a server that went down
        never is; the client's retry timer takes over)."""
        client, handle, attempt, server, _, read = wait
        if not read.done:
            return False
        if read.error is not None:
            payload = (handle, attempt, server, ("error", read.error), None)
            self._message(client, g, server, "reply", payload, group.now)
            return True
        self._trace(
            f"S{server} confirmed it leads (ReadIndex at index {read.index}) and answers "
            f"{client.name}: {read.value!r}",
            group.now,
        )
        self._answer(client, handle, attempt, g, server, read.value, group.now)
        return True

    def _write_done(self, g: int, group: Cluster, wait: _Wait, machine: Any) -> bool:
        """Answer the client if the server has applied its command; forget the request
        if the server went down since it took it."""
        client, handle, attempt, server, taken_by, _ = wait
        if machine is None or machine is not taken_by:
            self._trace(f"S{server} went down: the answer it owed {client.name} is lost", group.now)
            return True
        session = machine.sessions.get(client.name)
        if session is None or session[0] < handle.seq:
            return False
        if session[0] == handle.seq:
            self._trace(
                f"S{server} applied {client.name}'s #{handle.seq} and answers {session[1]!r}",
                group.now,
            )
            self._answer(client, handle, attempt, g, server, session[1], group.now)
        return True

    def _reply(
        self,
        client: KVClient,
        handle: Handle,
        attempt: int,
        server: int,
        answer: tuple[str, Any] | None,
        hint: int | None,
    ) -> None:
        """An answer from ``server`` reaches ``client``."""
        session = client.session
        if handle is not session.current or handle.done:
            return  # a late or duplicated answer to a request already finished
        g = handle.shard
        if answer is None:  # "I do not lead; try hint"
            if attempt != session.attempt:
                return
            if hint is not None and hint != server:
                self._send(client, handle, hint)
            else:
                session.leader[g] = self._next_server(server)
                wait_ms = self.groups[g].heartbeat_interval_ms
                self._schedule(client, self._now + wait_ms, "resend", (handle, attempt))
            return
        kind, result = answer
        handle.ret_ms = self._now
        handle.server = server
        session.leader[g] = server
        if kind == "error":
            handle.error = str(result)
            handle.output = {"error": handle.error}
        elif type(handle.op) is Get:
            handle.value, handle.output = result, {"value": result}
        elif isinstance(result, dict) and "error" in result:
            handle.error, handle.output = result["error"], {"error": result["error"]}
        elif type(result) is bool:
            handle.value, handle.output = result, {"ok": result}
        else:
            handle.output = {"ok": True}
        self._trace(f"{client.name} hears from S{server}: {describe(handle.op)} -> {result!r}")
        self._finish(client, handle)

    def _timeout(self, client: KVClient, handle: Handle, attempt: int) -> None:
        session = client.session
        if handle is not session.current or handle.done or attempt != session.attempt:
            return
        assert handle.call_ms is not None
        if self._now - handle.call_ms >= self.give_up_after_ms:
            handle.error = (
                f"no answer after {self._now - handle.call_ms} ms and {handle.attempts} "
                "attempts; whether it took effect is unknown"
            )
            self._trace(f"{client.name} gives up on {describe(handle.op)}: {handle.error}")
            self._finish(client, handle)
            return
        g = handle.shard
        tried = session.leader.get(g, self.servers[0])
        self._trace(f"{client.name} hears nothing from S{tried}: retries elsewhere")
        self._send(client, handle, self._next_server(tried))

    def _resend(self, client: KVClient, handle: Handle, attempt: int) -> None:
        session = client.session
        if handle is session.current and not handle.done and attempt == session.attempt:
            self._send(client, handle)

    def _finish(self, client: KVClient, handle: Handle) -> None:
        handle.done = True
        g = handle.shard
        for waits in (self._writes, self._reads):
            if any(w.handle is handle for w in waits[g]):
                waits[g] = [w for w in waits[g] if w.handle is not handle]
        self._start_next(client)

    def _next_server(self, server: int) -> int:
        ids = self.servers
        return ids[(ids.index(server) + 1) % len(ids)] if server in ids else ids[0]

    # ------------------------------------------------------------- backups

    def _snapshot_taken(self, shard: int, state: dict[str, Any]) -> None:
        if self.backup_dir is not None:
            self._pending_backups.append((shard, state))

    def _flush_backups(self) -> None:
        if not self._pending_backups:
            return
        pending, self._pending_backups = self._pending_backups, []
        assert self.backup_dir is not None
        for shard, state in pending:
            if state["index"] <= self._backed_up[shard]:
                continue  # another replica's snapshot of the same or an older state
            self._backed_up[shard] = state["index"]
            backup = Backup(
                Path(),
                shard,
                self.shards,
                self.generation,
                state["index"],
                self._now,
                len(self.servers),
                state,
            )
            path = write_backup(self.backup_dir, backup, self.backups_kept)
            self.backups.append(path)
            self._trace(f"backup of shard {shard} through index {state['index']}: {path.name}")

    def _trace(self, sentence: str, at: int | None = None) -> None:
        self.trace.add(self._now if at is None else at, sentence)

    def __repr__(self) -> str:
        leaders = ", ".join(
            f"shard {g}: S{leader}" if leader else f"shard {g}: none"
            for g, leader in self.leaders.items()
        )
        return (
            f"<KVStore of {len(self.servers)} servers, {self.shards} shard(s), seed={self.seed}, "
            f"t={self._now} ms, leaders {leaders}, {len(self._handles)} operations>"
        )


def _query(key: str, at_ms: int, machine: KVStateMachine) -> Any:
    """A get's ReadIndex query, run on the leader's state machine once it has confirmed
    it leads: the key's value for a read taken at ``at_ms``."""
    return machine.read(key, at_ms)
