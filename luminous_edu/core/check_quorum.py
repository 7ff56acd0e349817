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


def sticky(server: Server, m: RequestVote) -> tuple[str, tuple[Any, ...]] | None:
    """The trace event saying why ``m`` is ignored, or None if it is not."""
    if m.pre_vote or m.transfer or m.term <= server.current_term:
        return None
    if not (server.check_quorum or server.reconfigured):
        return None
    if not heard_from_leader_recently(server):
        return None
    if server.role is Role.LEADER:
        return ("RV.sticky.self", (server.id, m.candidate_id, server.current_term))
    return ("RV.sticky", (server.id, m.candidate_id, server.leader_id))


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
