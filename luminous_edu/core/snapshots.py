"""Not in Figure 2: log compaction by snapshots (§7 and Figure 13).

"Each server takes snapshots independently, covering just the committed entries in its
log" (``take``). "the leader uses a new RPC called InstallSnapshot to send snapshots to
followers that are too far behind" (``send``), and the follower applies Figure 13's
receiver rules (``handle``). Here a snapshot always travels whole, in one chunk.

Figure 13's rules 6 and 7 also say what a log means beside a snapshot, and recovery
needs the same answer: a crash between saving a snapshot and compacting the log leaves
both on disk. ``entries_after_snapshot`` is that rule, in one place, used when a
server installs a snapshot, when storage is recovered (storage/stored.py) and when the
durability check works out what a handler should recover (check/durability.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import reconfiguration
from .messages import AppendEntriesReply, InstallSnapshot, InstallSnapshotReply
from .persistence import CompactLog, SaveSnapshot, TruncateLog

if TYPE_CHECKING:
    from .server import Server


class _Indexed(Protocol):
    @property
    def index(self) -> int: ...

    @property
    def term(self) -> int: ...


E = TypeVar("E", bound=_Indexed)


def entries_after_snapshot(entries: Sequence[E], last_index: int, last_term: int) -> list[E]:
    """The entries of a log (in index order, without gaps) that remain beside a snapshot
    through ``last_index`` (term ``last_term``). [IS.6] "If existing log entry has same
    index and term as snapshot's last included entry, retain log entries following it";
    [IS.7] otherwise "Discard the entire log". Entries that all come after the snapshot
    stay."""
    if not entries or entries[0].index > last_index:
        return list(entries)
    at = last_index - entries[0].index
    if at < len(entries) and entries[at].term != last_term:
        return []
    return list(entries[at + 1 :])


def maybe_due(server: Server) -> None:
    """After applying: once ``snapshot_threshold`` applied entries lie past the last
    snapshot, ask the world for the state machine's snapshot (it answers with
    ``take_snapshot``)."""
    threshold = server.snapshot_threshold
    assert threshold is not None
    if server.last_applied - server.log.snapshot_index >= threshold:
        server._out.snapshot_due = True


def take(server: Server, data: Any) -> None:
    """ "the entire current system state is written to a snapshot on stable storage, then
    the entire log up to that point is discarded" (§7). ``data`` is the state machine's
    snapshot after applying every entry through ``last_applied``. The snapshot is saved
    (``SaveSnapshot``) before the entries it replaces are deleted (``CompactLog``)."""
    index = server.last_applied
    if index <= server.log.snapshot_index:
        return  # nothing new to compact
    term = server.log.term_at(index)
    assert term is not None, "applied entries are in the log"
    config = reconfiguration.config_data(server, through_index=index)
    snapshot = SaveSnapshot(last_index=index, last_term=term, data=data, config=config)
    server._out.storage.append(snapshot)
    server._out.storage.append(CompactLog(through_index=index))
    server.log.compact_through(index, term)
    reconfiguration.restore_config(server, config)  # config entries through index went
    server.snapshot = snapshot
    server._trace("SNAP", index, term)


def send(server: Server, peer: int) -> None:
    """The follower needs entries this leader has compacted away: send the snapshot.
    Flow control counts it as a batch in flight, through its last included index."""
    snapshot = server.snapshot
    assert snapshot is not None and snapshot.last_index == server.log.snapshot_index
    server.progress[peer].sent(snapshot.last_index, server.heartbeat_round)
    server._trace("IS.send", peer, snapshot.last_index, snapshot.last_term)
    message = InstallSnapshot(
        term=server.current_term,
        leader_id=server.id,
        last_included_index=snapshot.last_index,
        last_included_term=snapshot.last_term,
        offset=0,
        data=snapshot.data,
        done=True,
        config=snapshot.config,
    )
    server._send(peer, message)


def handle(server: Server, source: int, m: InstallSnapshot) -> None:
    """Figure 13's receiver rules, at a follower."""
    if m.term < server.current_term:
        # [IS.1] "Reply immediately if term < currentTerm"
        server._trace("IS.1", m.leader_id, m.term, server.current_term)
        server._send(source, InstallSnapshotReply(term=server.current_term))
        return
    server.heard_from_leader(m.leader_id)
    last, last_term, log = m.last_included_index, m.last_included_term, server.log
    # (Rules 2-4 create, write and finish a snapshot file chunk by chunk; here the
    # snapshot arrives whole, in one chunk with offset 0.)
    if last <= server.commit_index:
        # Not in Figure 13: a stale or duplicated snapshot. The committed prefix
        # through ``last`` is in this log or its snapshot already (Log Matching).
        server._trace("IS.stale", m.leader_id, last, server.commit_index)
        server._send(source, InstallSnapshotReply(term=server.current_term, match_index=last))
        return
    if log.term_at(last) == last_term:
        # [IS.6] "If existing log entry has same index and term as snapshot's last
        # included entry, retain log entries following it and reply"
        server._trace("IS.6", m.leader_id, last, log.last_index)
    else:
        # [IS.7] "Discard the entire log". Storage deletes the entries after the
        # snapshot first: a power cut may stop the deletions anywhere, and until the
        # snapshot is saved, what is left must still be a log this server may hold (a
        # prefix of it). Once the snapshot is saved, the entries through its last
        # index disagree with it and recovery discards them (entries_after_snapshot).
        server._trace("IS.7", m.leader_id, last, last_term)
        if log.last_index > last:
            server._out.storage.append(TruncateLog(from_index=last + 1))
            log.truncate_from(last + 1)
    # [IS.5] "Save snapshot file, discard any existing or partial snapshot with a
    # smaller index", then the entries it replaces.
    snapshot = SaveSnapshot(last_index=last, last_term=last_term, data=m.data, config=m.config)
    server._out.storage.append(snapshot)
    server._out.storage.append(CompactLog(through_index=last))
    server.snapshot = snapshot
    log.compact_through(last, last_term)
    server._out.note_log_change(last + 1)
    # [IS.8] "Reset state machine using snapshot contents (and load snapshot's cluster
    # configuration)". (A snapshot without a configuration keeps the one in force;
    # either way the configuration entries it replaced no longer count.)
    config = reconfiguration.config_data(server) if m.config is None else m.config
    reconfiguration.restore_config(server, config)
    server.commit_index = server.last_applied = last
    server._out.restore = snapshot
    server._trace("IS.8", last)
    server._send(source, InstallSnapshotReply(term=server.current_term, match_index=last))


def handle_reply(server: Server, source: int, m: InstallSnapshotReply) -> None:
    """A follower that installed the snapshot matches the leader through its last
    included index: the same as a successful AppendEntries reply (§5.3)."""
    if m.term != server.current_term:
        server._trace("ISR.stale", source, m.term)
        return
    server._trace("ISR", source, m.match_index)
    reply = AppendEntriesReply(term=m.term, success=True, match_index=m.match_index)
    server.handle_append_entries_reply(source, reply)
