"""The storage-handler API: the seed's ``Handler<SaveLog>`` in Python.

A server never writes stable storage itself: it sends storage messages, and a handler
you write carries them out on the ``Disk`` it was given. Build one as
``MyStorage(disk)``; ``handle(message)`` dispatches each message to one method.
"""

from __future__ import annotations

from typing import Any

from ..core.persistence import LoadState, SaveHardState, SaveLog, StoredState, TruncateLog
from .disk import Disk


class StorageHandler:
    """Base class of storage handlers. Subclass it and write the four methods.

    Everything durable must be on ``self.disk``; anything kept in Python attributes is
    lost when the server crashes. Raise ``StorageError`` to report a failure.
    """

    def __init__(self, disk: Disk) -> None:
        self.disk = disk

    def handle(self, message: Any) -> Any:
        """Carry out one storage message; returns ``StoredState`` for ``LoadState``."""
        kind = type(message)
        if kind is SaveLog:
            return self.save_log(message)
        if kind is SaveHardState:
            return self.save_hard_state(message)
        if kind is TruncateLog:
            return self.truncate_log(message)
        if kind is LoadState:
            return self.load_state()
        raise TypeError(f"{type(self).__name__} got {message!r}, which is not a storage message")

    def save_hard_state(self, msg: SaveHardState) -> None:
        """Make ``msg.current_term`` and ``msg.voted_for`` durable together before
        returning. Figure 2: persistent state is "updated on stable storage before
        responding to RPCs"; a vote must never end up attributed to another term."""
        raise NotImplementedError(f"{type(self).__name__} must define save_hard_state(msg)")

    def save_log(self, msg: SaveLog) -> None:
        """Store the entry ``(msg.index, msg.term, msg.data)``, replacing any entry at
        ``msg.index``; durable before returning. Store ``msg.data`` exactly as given."""
        raise NotImplementedError(f"{type(self).__name__} must define save_log(msg)")

    def truncate_log(self, msg: TruncateLog) -> None:
        """Delete every stored entry with index >= ``msg.from_index`` (inclusive);
        durable before returning (§5.3, AppendEntries receiver rule 3)."""
        raise NotImplementedError(f"{type(self).__name__} must define truncate_log(msg)")

    def load_state(self) -> StoredState:
        """Return everything made durable: ``StoredState(current_term, voted_for,
        entries)`` with entries in index order from 1. On a fresh disk:
        ``StoredState(0, None, [])``."""
        raise NotImplementedError(f"{type(self).__name__} must define load_state()")
