"""Built-in storage handlers."""

from __future__ import annotations

from ..core.log import Entry
from ..core.persistence import SaveHardState, SaveLog, StoredState, TruncateLog
from .handler import StorageHandler


class DiskStorage(StorageHandler):
    """A correct handler, and the default: every message written and synced at once.

    Layout on the Disk: ``"hard_state"`` holds ``(current_term, voted_for)`` in one
    write, so they can never be torn apart; ``"log/0000000007"`` holds entry 7 as
    ``(term, data)``; ``"log_length"`` the index of the last stored entry.
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))
        self.disk.sync()

    def save_log(self, msg: SaveLog) -> None:
        self.disk.write(_entry_key(msg.index), (msg.term, msg.data))
        if msg.index > self.disk.read("log_length", 0):
            self.disk.write("log_length", msg.index)
        self.disk.sync()

    def truncate_log(self, msg: TruncateLog) -> None:
        length = self.disk.read("log_length", 0)
        for index in range(msg.from_index, length + 1):
            self.disk.delete(_entry_key(index))
        self.disk.write("log_length", min(length, msg.from_index - 1))
        self.disk.sync()

    def load_state(self) -> StoredState:
        current_term, voted_for = self.disk.read("hard_state", (0, None))
        entries = []
        for index in range(1, self.disk.read("log_length", 0) + 1):
            term, data = self.disk.read(_entry_key(index))
            entries.append(Entry(index, term, data))
        return StoredState(current_term=current_term, voted_for=voted_for, entries=entries)


def _entry_key(index: int) -> str:
    return f"log/{index:010d}"
