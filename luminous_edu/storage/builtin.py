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


def entry_key(index: int) -> str:
    """The Disk key of entry ``index``: ``"log/0000000007"``. Zero-padded so that the
    sorted keys come in index order."""
    return f"{LOG_PREFIX}{index:010d}"


def read_log(disk: Disk) -> list[Entry]:
    """Every entry stored under an ``entry_key``, in index order."""
    entries = []
    for key in disk.keys():
        if key.startswith(LOG_PREFIX):
            term, data = disk.read(key)
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

    Layout on the Disk: ``"hard_state"`` holds ``(current_term, voted_for)`` in one
    write, so a crash can never separate a vote from its term; ``"log/0000000007"``
    holds entry 7 as ``(term, data)``. Keys sort in index order. With log compaction,
    ``"snapshot/0000000042"`` holds the snapshot through index 42 as ``(last_index,
    last_term, data, config)``. Each snapshot goes under a new key and is synced before
    the one before it, and the entries it replaces, are deleted: a crash while it is
    written can tear only the new one, never the last snapshot that was acknowledged.
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))
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
        current_term, voted_for = self.disk.read("hard_state", (0, None))
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
