"""Not in Figure 2: CheckQuorum and leader stickiness (Ongaro's thesis §6.2, §4.2.3).

CheckQuorum: "a leader steps down if an election timeout elapses without a successful
round of heartbeats to a majority of its cluster" (§6.2). ``recently_active`` names the
voters that answered within the minimum election timeout.

Leader stickiness: "If a server receives a RequestVote request within the minimum
election timeout of hearing from a current leader, it does not update its term or
grant its vote" (§4.2.3), except for an election a leader asked for with TimeoutNow.
On with CheckQuorum, and in every server that has held a configuration entry: the
rule comes from the thesis's membership chapter, where it keeps removed servers from
disrupting the cluster. ``sticky`` says whether a request is ignored, and why.

Restarts: a server that crashes forgets when it last heard from its leader, yet its
last acknowledgement may be what a leader's lease counts on (thesis §6.4.1: "the
followers shouldn't time out before then"). So with CheckQuorum on, a server that
restarts with a term of its own (term 0: it never heard from any leader) treats the
minimum election timeout after it booted as time in which it may have heard from a
leader: it ignores RequestVote and refuses pre-votes until then
(``restarted_recently``).

Both are predicates: they change nothing; the server acts on their answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .messages import RequestVote
from .roles import Role

if TYPE_CHECKING:
    from .server import Server


def heard_from_leader_recently(server: Server) -> bool:
    """Did this server hear from a leader within the minimum election timeout (or is it
    the leader)?"""
    if server.role is Role.LEADER:
        return True
    contact = server.last_leader_contact
    return (
        server.leader_id is not None
        and contact is not None
        and server.now - contact < server.min_election_timeout_ms
    )


def restarted_recently(server: Server) -> bool:
    """With CheckQuorum: did this server restart (with a term of its own) less than the
    minimum election timeout ago? It may have heard from a leader just before."""
    return (
        server.check_quorum
        and server.restarted_at is not None
        and server.now - server.restarted_at < server.min_election_timeout_ms
    )


def sticky(server: Server, m: RequestVote) -> tuple[str, tuple[Any, ...]] | None:
    """The trace event saying why ``m`` is ignored, or None if it is not."""
    if m.pre_vote or m.transfer or m.term <= server.current_term:
        return None
    if not (server.check_quorum or server.reconfigured):
        return None
    if heard_from_leader_recently(server):
        if server.role is Role.LEADER:
            return ("RV.sticky.self", (server.id, m.candidate_id, server.current_term))
        return ("RV.sticky", (server.id, m.candidate_id, server.leader_id))
    if restarted_recently(server):
        assert server.restarted_at is not None
        until = server.restarted_at + server.min_election_timeout_ms
        return ("RV.sticky.restart", (server.id, m.candidate_id, until))
    return None


def recently_active(server: Server) -> set[int]:
    """The voters a leader heard from within the minimum election timeout, itself
    included (a peer not heard from since the election counts from then)."""
    window = server.min_election_timeout_ms
    active = {server.id}
    for peer in server.vote_peers:
        heard = server.progress[peer].last_heard
        if server.now - (server.leader_since if heard is None else heard) < window:
            active.add(peer)
    return active
