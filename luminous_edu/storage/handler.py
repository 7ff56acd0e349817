"""The storage-handler API: the seed's ``Handler<SaveLog>`` in Python.

A server never writes stable storage itself: it sends storage messages, and a handler
you write carries them out on the ``Disk`` it was given. Build one as
``MyStorage(disk)``; ``handle(message)`` dispatches each message to one method.
"""

from __future__ import annotations

from typing import Any

from ..core.persistence import (
    CompactLog,
    LoadState,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .disk import Disk

MESSAGE_TYPES = (SaveHardState, SaveLog, TruncateLog, SaveSnapshot, CompactLog, LoadState)

# The methods a handler needs only when the cluster compacts its logs (§7).
COMPACTION_METHODS = ("save_snapshot", "compact_log")


class StorageHandler:
    """Base class of storage handlers: subclass it and write the four methods.

    Figure 2 of the Raft paper lists each server's *persistent state*: ``currentTerm``,
    ``votedFor`` and ``log[]``, "updated on stable storage before responding to RPCs".
    A server here never touches storage itself. It sends your handler one message per
    change, and sends nothing to other servers until your method has returned::

        SaveHardState(current_term, voted_for) -> save_hard_state(msg)
        SaveLog(term, index, data)             -> save_log(msg)
        TruncateLog(from_index)                -> truncate_log(msg)
        LoadState()                            -> load_state(), once per (re)start

    With log compaction on (``le.Cluster(snapshot_threshold=N)``), two more::

        SaveSnapshot(last_index, last_term, data, config) -> save_snapshot(msg)
        CompactLog(through_index)                         -> compact_log(msg)

    The cluster builds one handler per server as ``MyStorage(disk)``, and a new one
    over the same Disk when the server restarts. Three rules:

    1. Durable data lives only on ``self.disk`` (``write``, ``read``, ``delete``,
       ``keys``, ``sync``). Python attributes die with a crash.
    2. Every method returns only once its change is durable: call
       ``self.disk.sync()`` before returning. With disk faults on, unsynced writes are
       lost in a crash, and the server has already told others it kept them.
    3. Raise ``le.StorageError`` (or a subclass of your own) if you cannot do it. The
       server stops; the rest of the cluster and the notebook keep going.

    A start (lesson 04 asks you to write the rest; ``le.StorageHandler.save_log?`` and
    the other methods' docstrings give each one's contract)::

        class MyStorage(le.StorageHandler):
            def save_hard_state(self, msg):
                # one value under one key: a crash never separates a vote from its term
                self.disk.write("hard_state", (msg.current_term, msg.voted_for))
                self.disk.sync()

            def save_log(self, msg): ...      # entry msg.index: (msg.term, msg.data)
            def truncate_log(self, msg): ...  # delete entries msg.from_index and after

            def load_state(self):
                term, vote = self.disk.read("hard_state", (0, None))
                entries = ...  # le.Entry(index, term, data) for each stored entry, in order
                return le.StoredState(term, vote, entries)

    A key per entry, zero-padded (``f"log/{index:010d}"``), keeps ``disk.keys()`` in
    index order.

    Check it with ``le.check_storage(MyStorage)``, then run it:
    ``le.Cluster(storage=MyStorage)``.
    """

    def __init__(self, disk: Disk) -> None:
        self.disk = disk

    def handle(self, message: Any) -> Any:
        """Carry out one storage message by calling the method for its type; returns
        what ``load_state()`` returns for ``LoadState``, None for the others. The
        cluster calls this; you normally do not override it."""
        kind = type(message)
        if kind is SaveLog:
            return self.save_log(message)
        if kind is SaveHardState:
            return self.save_hard_state(message)
        if kind is TruncateLog:
            return self.truncate_log(message)
        if kind is LoadState:
            return self.load_state()
        if kind is SaveSnapshot:
            return self.save_snapshot(message)
        if kind is CompactLog:
            return self.compact_log(message)
        raise TypeError(
            f"{type(self).__name__}.handle() got {message!r} ({kind.__name__}), which is "
            "not a storage message; it takes le.SaveHardState(current_term, voted_for), "
            "le.SaveLog(term, index, data), le.TruncateLog(from_index), "
            "le.SaveSnapshot(last_index, last_term, data, config), "
            "le.CompactLog(through_index) or le.LoadState()"
        )

    def save_hard_state(self, msg: SaveHardState) -> None:
        """Make ``msg.current_term`` and ``msg.voted_for`` durable, together.

        ``current_term``: the latest term this server has seen (a whole number, never
        lower than the one saved before). ``voted_for``: the id of the candidate this
        server voted for in ``current_term``, or None if it has not voted in it.

        When this returns, both must be on stable storage (Figure 2: "updated on
        stable storage before responding to RPCs"): the server grants its vote right
        after. And they must be durable *together*: "each server will vote for at most
        one candidate in a given term" (§5.2), so a crash must never leave the new vote
        beside the old term, or the new term with no vote. Store them as one value
        (one ``write``), then ``sync()``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no save_hard_state(self, msg): write one that "
            "stores msg.current_term and msg.voted_for on self.disk and syncs"
        )

    def save_log(self, msg: SaveLog) -> None:
        """Store the log entry at ``msg.index``: its ``msg.term`` and ``msg.data``.

        ``index`` counts from 1 (Figure 2: "first index is 1"). The server sends
        entries in index order: either the next index after the last one stored, or an
        index just freed by ``TruncateLog``. If an entry is stored at ``msg.index``
        already, replace it. Keep ``msg.data`` exactly as given (it may be a client's
        command or the server's own no-op marker) and give it back from
        ``load_state()`` unchanged.

        Durable when this returns: a follower acknowledges entries to the leader right
        after, and the leader counts that acknowledgement towards committing them
        (§5.3). An entry lost after that can undo a committed entry.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no save_log(self, msg): write one that stores "
            "(msg.term, msg.data) at msg.index on self.disk and syncs"
        )

    def truncate_log(self, msg: TruncateLog) -> None:
        """Delete every stored entry whose index is ``>= msg.from_index``.

        The bound is inclusive: ``TruncateLog(from_index=3)`` deletes entries 3, 4, 5
        and so on, and keeps 1 and 2. ``from_index`` may lie past the last entry; then
        nothing is deleted. AppendEntries receiver rule 3 (§5.3): "If an existing
        entry conflicts with a new one (same index but different terms), delete the
        existing entry and all that follow it". The replacements arrive as ``SaveLog``
        messages right after.

        Durable when this returns: after a restart, ``load_state()`` must not bring
        back a deleted entry.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no truncate_log(self, msg): write one that "
            "deletes every entry with index >= msg.from_index from self.disk and syncs"
        )

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        """Store this snapshot, replacing the one stored before (only with
        ``le.Cluster(snapshot_threshold=N)``: log compaction, §7).

        ``msg.data`` is the state machine's state after applying every entry through
        ``msg.last_index``; ``msg.last_term`` is the term of that entry; ``msg.config``
        the configuration (a dict such as ``{"voters": [1, 2, 3]}``). Keep all four
        fields exactly as given, and give them back from ``load_state()`` as
        ``StoredState(..., snapshot=le.SaveSnapshot(last_index, last_term, data,
        config))``.

        Durable when this returns: right after, the server sends ``CompactLog`` to
        delete the entries this snapshot replaces, and a follower that installed a
        leader's snapshot tells the leader it has it. If the snapshot is not on the
        disk by then, a crash loses committed entries for good. Write it, then
        ``sync()``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no save_snapshot(self, msg): with log compaction "
            "on (snapshot_threshold) write one that stores msg.last_index, msg.last_term, "
            "msg.data and msg.config on self.disk and syncs"
        )

    def compact_log(self, msg: CompactLog) -> None:
        """Delete every stored entry whose index is ``<= msg.through_index`` (only with
        log compaction on).

        The bound is inclusive: ``CompactLog(through_index=5)`` deletes entries 1 to 5
        and keeps 6 onwards. The server sends it only after ``save_snapshot`` has
        returned for a snapshot through that index, so the entries are safe in the
        snapshot. Never delete entries before their snapshot is durable.

        Durable when this returns. ``load_state()`` then returns the entries after
        ``through_index`` only (entries a crash left at or before the snapshot's last
        index are tolerated: the server drops them when it recovers).
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no compact_log(self, msg): with log compaction "
            "on (snapshot_threshold) write one that deletes every entry with index <= "
            "msg.through_index from self.disk and syncs"
        )

    def load_state(self) -> StoredState:
        """Return everything made durable, as ``le.StoredState(current_term,
        voted_for, entries)``.

        Called once each time the server (re)starts, on a new handler built over the
        same Disk, before any other message. ``entries`` is a list of
        ``le.Entry(index, term, data)`` (or ``(index, term, data)`` tuples) in index
        order, starting at 1, with no gaps. On a fresh, empty disk return
        ``le.StoredState(0, None, [])``. With log compaction, also return the last
        snapshot saved: ``le.StoredState(current_term, voted_for, entries,
        snapshot)``, entries then starting at ``snapshot.last_index + 1``. Build new
        objects from ``self.disk``: the
        server may keep what you return. Only read, never change what is stored:
        ``le.check_storage`` asks more than once.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no load_state(self): write one that reads "
            "self.disk and returns le.StoredState(current_term, voted_for, entries)"
        )


def missing_compaction_methods(storage: Any) -> list[str]:
    """The compaction methods (``save_snapshot``, ``compact_log``) that the handler
    class or ``FunctionStorage`` ``storage`` lacks; [] if it has both or cannot tell
    (a handler of its own kind, with its own ``handle``)."""
    missing = getattr(storage, "missing", None)
    if callable(missing) and not isinstance(storage, type):
        return [name for name in missing(compaction=True) if name in COMPACTION_METHODS]
    if isinstance(storage, type) and issubclass(storage, StorageHandler):
        if storage.handle is not StorageHandler.handle:
            return []
        return [
            name
            for name in COMPACTION_METHODS
            if getattr(storage, name) is getattr(StorageHandler, name)
        ]
    return []


def handles_snapshots(storage: Any) -> bool:
    """Whether ``check_storage`` should ask ``storage`` about snapshots: it has both
    compaction methods, and, for a handler class, they are defined where its
    ``load_state`` is or below, so that ``load_state`` can know about snapshots. (A
    subclass of ``DiskStorage`` that rewrites only ``load_state``, written before
    compaction existed, inherits ``save_snapshot`` but returns no snapshot.)"""
    if missing_compaction_methods(storage):
        return False
    if not (isinstance(storage, type) and issubclass(storage, StorageHandler)):
        return True
    loader = _defined_in(storage, "load_state")
    return all(issubclass(_defined_in(storage, m), loader) for m in COMPACTION_METHODS)


def _defined_in(cls: type, name: str) -> type:
    return next(k for k in cls.__mro__ if name in vars(k))
