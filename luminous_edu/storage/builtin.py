"""Built-in storage handlers on the simulated Disk: one correct, one deliberately not.

``DiskStorage`` is the reference: the default handler of every cluster and what
``check_storage`` compares yours with. ``VolatileStorage`` is the same handler with a
Python dict where the Disk should be, to show what a crash does to memory.
(``JsonLinesStorage``, on real files, lives in ``jsonlines.py``.)
"""

from __future__ import annotations

import copy
from typing import Any

from ..core.log import Entry
from ..core.persistence import (
    CompactLog,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .disk import Disk
from .errors import TornWriteError
from .handler import StorageHandler

LOG_PREFIX = "log/"
SNAPSHOT_PREFIX = "snapshot/"
#: The two slots that hold the hard state in turn (see ``write_hard_state``).
HARD_STATE_KEYS = ("hard_state/a", "hard_state/b")
LEGACY_HARD_STATE_KEY = "hard_state"


def newest_hard_state(disk: Disk) -> tuple[int, int, int | None]:
    """``(version, current_term, voted_for)`` in the newer intact hard-state slot, or
    ``(0, 0, None)`` on a new disk. A slot torn by a crash while it was written held a
    pair that was never acknowledged (its sync never happened): it is skipped, and the
    other slot still holds the pair acknowledged before it."""
    newest: tuple[int, int, int | None] = (0, 0, None)
    for key in HARD_STATE_KEYS:
        try:
            stored = disk.read(key)
        except TornWriteError:
            continue
        if stored is not None and stored[0] > newest[0]:
            newest = stored
    if newest[0] == 0 and LEGACY_HARD_STATE_KEY in disk:
        # No slot written: a subclass whose own save_hard_state keeps the pair under
        # the one key "hard_state" (DiskStorage's layout before the slots).
        current_term, voted_for = disk.read(LEGACY_HARD_STATE_KEY)
        return 0, current_term, voted_for
    return newest


def read_hard_state(disk: Disk) -> tuple[int, int | None]:
    """``(current_term, voted_for)`` as last saved by ``write_hard_state``."""
    _, current_term, voted_for = newest_hard_state(disk)
    return current_term, voted_for


def write_hard_state(disk: Disk, current_term: int, voted_for: int | None) -> None:
    """Write ``(current_term, voted_for)`` as one value, numbered, into the slot that
    does not hold the newest pair (the caller syncs). Overwriting one key in place would
    be the classic mistake: a crash that tears that write destroys the pair acknowledged
    before it too. With two slots it can tear only the older one."""
    version = newest_hard_state(disk)[0] + 1
    disk.write(HARD_STATE_KEYS[version % 2], (version, current_term, voted_for))


def entry_key(index: int) -> str:
    """The Disk key of entry ``index``: ``"log/0000000007"``. Zero-padded so that the
    sorted keys come in index order."""
    return f"{LOG_PREFIX}{index:010d}"


def read_log(disk: Disk) -> list[Entry]:
    """Every entry stored under an ``entry_key``, in index order. An entry torn by a
    crash while it was written is left out: its ``save_log`` never returned (the sync
    did not happen), so it was never acknowledged."""
    entries = []
    for key in disk.keys():
        if key.startswith(LOG_PREFIX):
            try:
                term, data = disk.read(key)
            except TornWriteError:
                continue
            entries.append(Entry(int(key[len(LOG_PREFIX) :]), term, data))
    return entries


def snapshot_key(last_index: int) -> str:
    """The Disk key of the snapshot through ``last_index``: ``"snapshot/0000000042"``."""
    return f"{SNAPSHOT_PREFIX}{last_index:010d}"


def read_snapshot(disk: Disk) -> SaveSnapshot | None:
    """The newest intact snapshot on the disk, or None: the one under a
    ``snapshot_key`` (or the single key ``"snapshot"``) with the highest last index. A
    snapshot torn by a crash while it was written was never acknowledged; the one before
    it is still there."""
    newest = None
    for key in disk.keys():
        if key != "snapshot" and not key.startswith(SNAPSHOT_PREFIX):
            continue
        try:
            stored = disk.read(key)
        except TornWriteError:
            continue
        if stored is not None and (newest is None or stored[0] > newest[0]):
            newest = stored
    return None if newest is None else SaveSnapshot(*newest)


class DiskStorage(StorageHandler):
    """A correct handler, and the default: every message written and synced at once.

    Layout on the Disk: ``current_term`` and ``voted_for`` are written together, as one
    value, so a crash can never separate a vote from its term; they go to two slots in
    turn, ``"hard_state/a"`` and ``"hard_state/b"``, each holding ``(version,
    current_term, voted_for)``, and the newer intact one counts. ``"log/0000000007"``
    holds entry 7 as ``(term, data)``; keys sort in index order. With log compaction,
    ``"snapshot/0000000042"`` holds the snapshot through index 42 as ``(last_index,
    last_term, data, config)``. Each snapshot goes under a new key and is synced before
    the one before it, and the entries it replaces, are deleted.

    So a crash that tears a write (``disk_faults="torn"``) can only tear what was never
    acknowledged: a new hard state (the other slot keeps the one before), a new entry
    (left out on load) or a new snapshot (the one before stays). Every write is synced
    before the method returns.
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        write_hard_state(self.disk, msg.current_term, msg.voted_for)
        self.disk.sync()

    def save_log(self, msg: SaveLog) -> None:
        self.disk.write(entry_key(msg.index), (msg.term, msg.data))
        self.disk.sync()

    def truncate_log(self, msg: TruncateLog) -> None:
        # Last entry first: a power cut in between leaves a shorter log, never a gap.
        first = entry_key(msg.from_index)
        for key in reversed(self.disk.keys()):
            if key.startswith(LOG_PREFIX) and key >= first:
                self.disk.delete(key)
        self.disk.sync()

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        key = snapshot_key(msg.last_index)
        self.disk.write(key, (msg.last_index, msg.last_term, msg.data, msg.config))
        self.disk.sync()
        older = [
            old
            for old in self.disk.keys()
            if (old == "snapshot" or old.startswith(SNAPSHOT_PREFIX)) and old != key
        ]
        if older:
            for old in older:
                self.disk.delete(old)
            self.disk.sync()

    def compact_log(self, msg: CompactLog) -> None:
        last = entry_key(msg.through_index)
        for key in self.disk.keys():
            if key.startswith(LOG_PREFIX) and key <= last:
                self.disk.delete(key)
        self.disk.sync()

    def load_state(self) -> StoredState:
        current_term, voted_for = read_hard_state(self.disk)
        return StoredState(current_term, voted_for, read_log(self.disk), read_snapshot(self.disk))


class VolatileStorage(StorageHandler):
    """Deliberately wrong: ``DiskStorage`` with a Python dict where the Disk should be.

    It keeps everything in attributes of the handler object and never touches
    ``self.disk``. While the server runs it behaves perfectly; a crash throws the
    object away, and the restarted server (a new handler) recovers term 0, no vote and
    an empty log. Figure 2's "persistent state" is exactly what this forgets: watch the
    server vote twice in one term or lose committed entries after a restart.
    """

    def __init__(self, disk: Disk) -> None:
        super().__init__(disk)
        self.current_term = 0
        self.voted_for: int | None = None
        self.log: dict[int, tuple[int, Any]] = {}  # index -> (term, data)
        self.snapshot: SaveSnapshot | None = None

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.current_term, self.voted_for = msg.current_term, msg.voted_for

    def save_log(self, msg: SaveLog) -> None:
        # A copy, as a disk would keep: nothing the caller changes later reaches it.
        self.log[msg.index] = (msg.term, copy.deepcopy(msg.data))

    def truncate_log(self, msg: TruncateLog) -> None:
        for index in [i for i in self.log if i >= msg.from_index]:
            del self.log[index]

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        self.snapshot = copy.deepcopy(msg)

    def compact_log(self, msg: CompactLog) -> None:
        for index in [i for i in self.log if i <= msg.through_index]:
            del self.log[index]

    def load_state(self) -> StoredState:
        entries = [
            Entry(index, term, copy.deepcopy(data))
            for index, (term, data) in sorted(self.log.items())
        ]
        return StoredState(self.current_term, self.voted_for, entries, copy.deepcopy(self.snapshot))
