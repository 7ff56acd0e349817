"""A gallery of buggy storage handlers, for lessons: each is ``DiskStorage`` with one
mistake that students really make. Run ``le.check_storage`` on one to see which checks
catch it, or plug it into a cluster and watch what the bug does to Raft.

``GALLERY`` maps each name to its class.
"""

from __future__ import annotations

from ..core.persistence import (
    CompactLog,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .builtin import (
    DiskStorage,
    entry_key,
    read_hard_state,
    read_log,
    read_snapshot,
    write_hard_state,
)
from .disk import Disk


class ForgetsVote(DiskStorage):
    """Bug: saves ``current_term`` but keeps ``voted_for`` only in memory.

    Breaks "each server will vote for at most one candidate in a given term" (§5.2).
    A server that votes, crashes and restarts in the same term has forgotten its vote
    and can grant a second one to another candidate: two leaders in one term, against
    Election Safety (Figure 3).
    """

    def __init__(self, disk: Disk) -> None:
        super().__init__(disk)
        self.voted_for: int | None = None  # the bug: a Python attribute dies in a crash

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.voted_for = msg.voted_for
        write_hard_state(self.disk, msg.current_term, None)  # the bug: no vote on the disk
        self.disk.sync()

    def load_state(self) -> StoredState:
        current_term, _ = read_hard_state(self.disk)
        return StoredState(
            current_term, self.voted_for, read_log(self.disk), read_snapshot(self.disk)
        )


class MemoryLog(DiskStorage):
    """Bug: the hard state goes to the Disk, but the log stays in a Python dict.

    A follower acknowledges entries it never made durable. Once a majority has
    acknowledged an entry the leader commits it; if those followers crash and restart
    they come back with empty logs, and a new leader without the entry can be elected
    and overwrite it: a committed entry disappears (Leader Completeness, State Machine
    Safety).
    """

    def __init__(self, disk: Disk) -> None:
        super().__init__(disk)
        self.log: dict[int, SaveLog] = {}  # the bug: the log dies in a crash

    def save_log(self, msg: SaveLog) -> None:
        self.log[msg.index] = msg

    def truncate_log(self, msg: TruncateLog) -> None:
        for index in [i for i in self.log if i >= msg.from_index]:
            del self.log[index]

    def compact_log(self, msg: CompactLog) -> None:
        for index in [i for i in self.log if i <= msg.through_index]:
            del self.log[index]

    def load_state(self) -> StoredState:
        current_term, voted_for = read_hard_state(self.disk)
        entries = [(m.index, m.term, m.data) for _, m in sorted(self.log.items())]
        return StoredState(current_term, voted_for, entries, read_snapshot(self.disk))


class IgnoresTruncate(DiskStorage):
    """Bug: ``truncate_log`` does nothing.

    AppendEntries rule 3 (§5.3) deletes a follower's conflicting entry "and all that
    follow it". Ignored, the old entries after the overwritten ones survive: the
    follower's log ends with entries the leader never had, so two logs hold different
    entries after a matching one (Log Matching broken), and a restart brings back
    entries that were meant to be gone.
    """

    def truncate_log(self, msg: TruncateLog) -> None:
        pass  # the bug


class NeverSyncs(DiskStorage):
    """Bug: writes to the Disk but never calls ``disk.sync()``.

    Fine while the disk makes every write durable at once (``disk_faults=None``).
    With ``disk_faults="unsynced"`` a crash loses every write since the last sync, and
    here that is all of them: the server comes back with term 0, no vote and an empty
    log, after having promised votes and acknowledged entries (Figure 2: "updated on
    stable storage before responding to RPCs").
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        write_hard_state(self.disk, msg.current_term, msg.voted_for)

    def save_log(self, msg: SaveLog) -> None:
        self.disk.write(entry_key(msg.index), (msg.term, msg.data))

    def truncate_log(self, msg: TruncateLog) -> None:
        for key in self.disk.keys():
            if key.startswith("log/") and key >= entry_key(msg.from_index):
                self.disk.delete(key)


class TermAfterVote(DiskStorage):
    """Bug: writes the vote and the term as two separate writes, the term last, and
    syncs once at the end.

    A crash between the two writes (a write can reach the disk before ``sync``, and
    with ``disk_faults=None`` it always does) leaves the *new* vote beside the *old*
    term. The restarted server believes it voted for that candidate in the earlier
    term and has no vote recorded for the new one, so it can vote again in the new
    term (Election Safety). Storing ``(current_term, voted_for)`` as one value (one
    write) makes them durable together. Only a crash *inside* ``save_hard_state``
    shows it (``disk.cut_power_after(1)``): between calls, everything is synced.
    """

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.disk.write("voted_for", msg.voted_for)
        self.disk.write("current_term", msg.current_term)  # the bug: a second write
        self.disk.sync()

    def load_state(self) -> StoredState:
        current_term = self.disk.read("current_term", 0)
        voted_for = self.disk.read("voted_for", None)
        return StoredState(current_term, voted_for, read_log(self.disk), read_snapshot(self.disk))


class CompactsBeforeSnapshot(DiskStorage):
    """Bug: deletes the compacted entries before the snapshot that replaces them is on
    the disk.

    ``save_snapshot`` only remembers the snapshot; ``compact_log`` deletes the entries,
    syncs, and only then writes the snapshot. §7: "the entire current system state
    is written to a snapshot on stable storage, then the entire log up to that point
    is discarded" — in that order. Live, and after any crash *between* calls, all is
    well. A power cut inside ``compact_log``, after the deletes and before the
    snapshot is written, leaves neither: committed entries this server acknowledged
    are gone for good.
    """

    def __init__(self, disk: Disk) -> None:
        super().__init__(disk)
        self.pending: SaveSnapshot | None = None

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        self.pending = msg  # the bug: not on the disk yet

    def compact_log(self, msg: CompactLog) -> None:
        super().compact_log(msg)  # deletes the entries and syncs
        if self.pending is not None:  # the snapshot, too late
            super().save_snapshot(self.pending)
            self.pending = None


GALLERY: dict[str, type[DiskStorage]] = {
    "ForgetsVote": ForgetsVote,
    "MemoryLog": MemoryLog,
    "IgnoresTruncate": IgnoresTruncate,
    "NeverSyncs": NeverSyncs,
    "TermAfterVote": TermAfterVote,
    "CompactsBeforeSnapshot": CompactsBeforeSnapshot,
}
