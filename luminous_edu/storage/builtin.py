"""Built-in storage handlers."""

from __future__ import annotations

from ..core.log import Entry
from ..core.persistence import SaveHardState, SaveLog, StoredState, TruncateLog
from .handler import StorageHandler


class DiskStorage(StorageHandler):
    """A correct handler, and the default: every message written and synced at once.

    Layout on the Disk: ``"hard_state"`` holds ``(current_term, voted_for)`` in one
    write, so a crash can never separate a vote from its term; ``"log/0000000007"``
    holds entry 7 as ``(term, data)``. Keys sort in index order.
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))
        self.disk.sync()

    def save_log(self, msg: SaveLog) -> None:
        self.disk.write(_entry_key(msg.index), (msg.term, msg.data))
        self.disk.sync()

    def truncate_log(self, msg: TruncateLog) -> None:
        first = _entry_key(msg.from_index)
        for key in self.disk.keys():
            if key.startswith("log/") and key >= first:
                self.disk.delete(key)
        self.disk.sync()

    def load_state(self) -> StoredState:
        current_term, voted_for = self.disk.read("hard_state", (0, None))
        entries = []
        for key in self.disk.keys():
            if key.startswith("log/"):
                term, data = self.disk.read(key)
                entries.append(Entry(int(key[4:]), term, data))
        return StoredState(current_term=current_term, voted_for=voted_for, entries=entries)


def _entry_key(index: int) -> str:
    return f"log/{index:010d}"
