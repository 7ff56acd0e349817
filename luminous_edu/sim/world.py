"""Everything in a simulation that changes from step to step, and nothing else.

The step controller checkpoints a world by freezing a copy of it, and goes back to a
checkpoint by thawing one. Copies are shallow wherever the contents are immutable
(entries, messages, events, serialized disk values), and what only grows with the run
(the commands applied, the safety checks' records, the default state machine's values)
a checkpoint shares with the world it was taken from, remembering lengths: so a
checkpoint costs little even in long runs. User objects (storage handlers and state
machines) are deep-copied, their disks mapped to the copied disks.
"""

from __future__ import annotations

import copy
from typing import Any

from ..check import SafetyChecker
from ..check.durability import DurableState
from ..check.reads import ReadFloors
from ..core import Server
from ..storage import Disk
from .events import EventQueue
from .network import Links, Network
from .randomness import Streams
from .state_machine import CHECKPOINT


class World:
    def __init__(self, seed: int, network: Network) -> None:
        self.step = 0  # the step this is the state after (during a step: its number)
        self.now = 0
        self.ids: tuple[int, ...] = ()  # every server, in order (add_server adds more)
        self.servers: dict[int, Server] = {}
        self.alive: dict[int, bool] = {}
        self.disks: dict[int, Disk] = {}
        self.handlers: dict[int, Any] = {}  # None while the server is down
        self.machines: dict[int, Any] = {}  # None while the server is down
        # (index, data) of the commands each applied since its last (re)start
        self.applied: dict[int, list[tuple[int, Any]]] = {}
        self.applied_lengths: dict[int, int] | None = None  # a checkpoint's (freeze)
        self.queue = EventQueue()
        self.links = Links()
        self.network = network
        self.rng = Streams(seed)
        self.checker: SafetyChecker | None = None
        self.leader_terms: dict[int, list[int]] = {}  # term -> servers that led it
        self.durable: dict[int, DurableState] = {}  # what each handler acknowledged
        # ReadIndex reads: read id -> (index, value, error) once answered
        self.read_results: dict[int, tuple[int, Any, str | None]] = {}
        self.next_read_id = 1
        # Log compaction: [snapshots saved, compactions] per server, for disk_stats
        self.compactions: dict[int, list[int]] = {}
        # what each read in progress must see (the Linearizable Reads check)
        self.read_floors = ReadFloors()

    def freeze(self) -> World:
        """A checkpoint: a copy of this world that is only ever thawed, never stepped.
        What only grows (the commands applied, the safety checks' records, the default
        state machine's values) it shares, remembering lengths; the rest it copies.
        Raises if a user object cannot be copied."""
        twin = self._copy(checkpoint=True)
        twin.applied = dict(self.applied)  # the lists are only appended to, or replaced
        twin.applied_lengths = {i: len(a) for i, a in self.applied.items()}
        twin.checker = self.checker.freeze() if self.checker is not None else None
        return twin

    def thaw(self) -> World:
        """A world to step on from, as this checkpoint (``freeze``'s) was."""
        twin = self._copy()
        lengths = self.applied_lengths
        assert lengths is not None, "only a checkpoint thaws"
        twin.applied = {i: a[: lengths[i]] for i, a in self.applied.items()}
        twin.checker = self.checker.thaw() if self.checker is not None else None
        return twin

    def _copy(self, checkpoint: bool = False) -> World:
        twin = object.__new__(World)
        twin.step = self.step
        twin.now = self.now
        twin.ids = self.ids
        twin.servers = {i: s.clone() for i, s in self.servers.items()}
        twin.alive = dict(self.alive)
        twin.disks = {i: d.clone() for i, d in self.disks.items()}
        memo: dict[int, Any] = {id(self.disks[i]): twin.disks[i] for i in self.disks}
        if checkpoint:
            memo[id(CHECKPOINT)] = CHECKPOINT
        twin.handlers = {i: copy.deepcopy(h, memo) for i, h in self.handlers.items()}
        twin.machines = {i: copy.deepcopy(m, memo) for i, m in self.machines.items()}
        twin.applied_lengths = None
        twin.queue = self.queue.clone()
        twin.links = self.links.clone()
        twin.network = self.network
        twin.rng = self.rng.clone()
        twin.leader_terms = {t: list(ids) for t, ids in self.leader_terms.items()}
        twin.durable = {i: d.clone() for i, d in self.durable.items()}
        twin.read_results = dict(self.read_results)
        twin.next_read_id = self.next_read_id
        twin.compactions = {i: list(c) for i, c in self.compactions.items()}
        twin.read_floors = self.read_floors.clone()
        return twin
