"""Not in Figure 2: leadership transfer (Ongaro's thesis §3.10).

"1. The prior leader stops accepting new client requests. 2. The prior leader fully
updates the target server's log to match its own ... 3. The prior leader sends a
TimeoutNow request to the target server. This request has the same effect as the
target server's election timer firing: the target server starts a new election". "If
leadership transfer does not complete after about an election timeout, the prior
leader aborts the transfer and resumes accepting client requests."

The target's election skips PreVote and passes leader stickiness
(``RequestVote.transfer``), so no lease is safe for the rest of the leader's term once
a transfer has begun, even if it is abandoned: the TimeoutNow may still arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .messages import TimeoutNow
from .roles import Role

if TYPE_CHECKING:
    from .server import Server


@dataclass(slots=True)
class Transfer:
    """A leader handing over to ``target``, since ``started``."""

    target: int
    started: int
    timeout_now_sent: bool = False

    def clone(self) -> Transfer:
        return replace(self)


def refusal(server: Server, target: int) -> str | None:
    """Why a transfer to ``target`` cannot start now, or None if it can."""
    if server.role is not Role.LEADER:
        return f"S{server.id} is not the leader"
    if target == server.id:
        return f"S{target} is already the leader"
    if target not in server.vote_peers:
        return f"S{target} is not a voting member of S{server.id}'s configuration"
    if server.transfer is not None:
        return f"a transfer to S{server.transfer.target} is already under way"
    return None


def start(server: Server, target: int) -> str | None:
    """Start handing leadership to ``target``; the reason it is refused, or None."""
    reason = refusal(server, target)
    if reason is not None:
        return reason
    server.transfer = Transfer(target, server.now)
    server.reads.lease_revoked = True
    server._trace("TR.start", target)
    server.replicate_to(target)
    maybe_send_timeout_now(server, target)
    return None


def maybe_send_timeout_now(server: Server, peer: int) -> None:
    """``peer`` acknowledged more of the log: if it is the target and its log now
    matches the leader's, send it TimeoutNow."""
    transfer = server.transfer
    if transfer is None or peer != transfer.target or transfer.timeout_now_sent:
        return
    progress = server.progress.get(peer)
    if progress is None:  # removed from the configuration meanwhile
        server._trace("TR.abort", peer)
        server.transfer = None
        return
    if progress.match_index < server.log.last_index:
        return  # still catching up; the next success reply tries again
    transfer.timeout_now_sent = True
    server._trace("TR.timeout_now", peer)
    server._send(peer, TimeoutNow(term=server.current_term, leader_id=server.id))


def abort_if_overdue(server: Server) -> None:
    """At a heartbeat: an election timeout passed without the transfer completing."""
    transfer = server.transfer
    assert transfer is not None
    if server.now - transfer.started >= server.max_election_timeout_ms:
        server._trace("TR.abort", transfer.target)
        server.transfer = None


def handle_timeout_now(server: Server, source: int, m: TimeoutNow) -> None:
    """The target "starts an election" at once, skipping PreVote."""
    if m.term != server.current_term:
        server._trace("TN.stale", source, m.term)
        return
    server._trace("TN", source)
    server.become_candidate("ELECT", by_timeout_now=True)
