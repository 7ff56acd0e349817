"""Not in Figure 2: linearizable reads by ReadIndex and by lease (thesis §6.4, §6.4.1).

ReadIndex: "1. If the leader has not yet marked an entry from its current term
committed, it waits until it has done so. 2. The leader saves its current commit index
in a local variable readIndex. 3. The leader needs to make sure it hasn't been
superseded ... it sends a new round of heartbeats and waits for their acknowledgments
from a majority of the cluster. 4. The leader waits for its state machine to advance
at least as far as the readIndex" (§6.4). Rounds are numbered: every AppendEntries
carries the leader's latest round (``read_round``) and every reply echoes it, so a
majority's echoes of round r confirm that the leader still led when r was sent.

Leases: "Once the leader's heartbeats were acknowledged by a majority of the cluster,
it would extend its lease to start + election timeout / clock drift bound, since the
followers shouldn't time out before then. While the leader held its lease, it would
service read-only queries without communicating with any other servers" (§6.4.1).
That needs leader stickiness (check_quorum.py): no server votes while it may still
hear from the leader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .bugs import READ_WITHOUT_QUORUM
from .roles import Role

if TYPE_CHECKING:
    from .server import Server


@dataclass(slots=True)
class PendingRead:
    """A ReadIndex read waiting at the leader."""

    read_id: int
    round: int  # the heartbeat round a majority must confirm
    index: int | None = None  # readIndex, once an entry of the leader's term is committed


@dataclass(slots=True)
class Reads:
    """A leader's reads waiting, and, with leases, when each round not yet superseded
    was sent; ``lease_revoked`` after a leadership transfer began (transfer.py)."""

    pending: list[PendingRead] = field(default_factory=list)
    round_sent: dict[int, int] = field(default_factory=dict)
    lease_revoked: bool = False

    def clone(self) -> Reads:
        pending = [PendingRead(r.read_id, r.round, r.index) for r in self.pending]
        return Reads(pending, dict(self.round_sent), self.lease_revoked)


def start(server: Server, read_id: int) -> bool:
    """Take a read at the leader: at once under a lease, else by ReadIndex. False if
    this server is not a leader that accepts it."""
    if server.role is not Role.LEADER or server.transfer is not None:
        return False
    if lease_read(server, read_id):
        return True
    new_round(server)
    server.reads.pending.append(PendingRead(read_id, server.read_round))
    server._trace("READ", read_id)
    for peer in server.peers:
        server.send_append_entries(peer, with_entries=False)
    serve(server)
    return True


def serve(server: Server) -> None:
    """Answer the reads whose round a majority confirmed, once the state machine has
    applied through their read index."""
    reads = server.reads
    if not reads.pending or server.role is not Role.LEADER:
        return
    if server.log.term_at(server.commit_index) != server.current_term:
        return  # no entry of this term committed yet (step 1)
    confirmed = confirmed_round(server)
    waiting = []
    for read in reads.pending:
        if read.index is None:
            read.index = server.commit_index  # step 2
        if read.round <= confirmed and server.last_applied >= read.index:  # steps 3 and 4
            server._out.answer_read(read.read_id, read.index)
            server._trace("READ.done", read.read_id, read.index)
        elif server.last_applied >= read.index and READ_WITHOUT_QUORUM in server.bugs:
            # BUG SWITCH read_without_quorum: step 3, "The leader needs to make sure it
            # hasn't been superseded by a newer leader of which it is unaware" (§6.4).
            # This leader answers without waiting for a majority's heartbeat replies.
            server._out.answer_read(read.read_id, read.index)
            server._trace("BUG.read_without_quorum", read.read_id, read.index)
        else:
            waiting.append(read)
    reads.pending = waiting


def confirmed_round(server: Server) -> int:
    """The newest round a majority of the configuration (of both halves of C_old,new;
    this leader included if it is a voter) answered."""
    rounds = {peer: p.read_round for peer, p in server.progress.items()}
    rounds[server.id] = server.read_round
    return server.config.committed_index(rounds)


def new_round(server: Server) -> None:
    server.read_round += 1
    if server.lease_ms is not None:
        server.reads.round_sent[server.read_round] = server.now


def heartbeat_round_started(server: Server) -> None:
    """With leases, every heartbeat round is a read round: it can extend the lease."""
    new_round(server)
    confirmed = confirmed_round(server)
    sent = server.reads.round_sent
    for done in [r for r in sent if r < confirmed]:
        del sent[done]  # superseded: the lease starts at a later round


def lease_until(server: Server) -> int:
    """When this leader's lease ends (0: it holds none). ``start`` is when the newest
    round a majority answered was sent: every answer came after it."""
    if server.lease_ms is None or server.reads.lease_revoked or server.role is not Role.LEADER:
        return 0
    start = server.reads.round_sent.get(confirmed_round(server))
    return 0 if start is None else start + server.lease_ms


def lease_read(server: Server, read_id: int) -> bool:
    """Serve a read at once if this leader holds a lease: no other leader can have been
    elected before the lease ends, so its commit index is current without a round of
    heartbeats. Needs an entry of its own term committed, as ReadIndex does."""
    until = lease_until(server)
    if (
        server.now >= until
        or server.log.term_at(server.commit_index) != server.current_term
        or server.last_applied < server.commit_index
    ):
        return False
    server._out.answer_read(read_id, server.commit_index)
    server._trace("READ.lease", read_id, server.commit_index, until)
    return True
