"""Not in Figure 2: PreVote (Ongaro's thesis §9.6), the pre-candidate role.

"a candidate would first ask other servers whether its log was up-to-date enough to
get their vote. Only if the candidate believed it could get votes from a majority of
the cluster would it increment its term and start a normal election." A server cut off
from the others therefore keeps its term, and does not disrupt the cluster when it
comes back.

A pre-vote is a ``RequestVote`` with ``pre_vote=True`` for the term the candidate would
start (its own term + 1); the answer carries that term when granted. Neither changes
anything at the receiver: the "higher term" rule of §5.1 does not apply to them
(``is_pre_vote_traffic``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import check_quorum
from .messages import Message, RequestVote, RequestVoteReply
from .output import RESET
from .roles import Role

if TYPE_CHECKING:
    from .server import Server


def is_pre_vote_traffic(m: Message) -> bool:
    """A PreVote, or a granted answer to one: its term is one nobody holds yet."""
    if isinstance(m, RequestVote):
        return m.pre_vote
    return isinstance(m, RequestVoteReply) and m.pre_vote and m.vote_granted


def become_precandidate(server: Server) -> None:
    """The election timer fired: ask for pre-votes before starting an election."""
    server.role = Role.PRECANDIDATE
    server.step = step_precandidate
    server.leader_id = None
    server.votes_granted = {server.id}
    server._out.election_timer = RESET
    server._trace("PV.start", server.current_term + 1)
    if server.config.has_quorum(server.votes_granted):
        server.become_candidate("ELECT")
        return
    server.request_votes(server.current_term + 1, pre_vote=True)


def step_precandidate(server: Server, source: int, m: Message) -> None:
    """A pre-candidate counts pre-votes; the rest as a candidate does."""
    from .server import step_campaigning  # server.py imports this module

    if isinstance(m, RequestVoteReply) and m.pre_vote:
        handle_reply(server, source, m)
    else:
        step_campaigning(server, source, m)


def handle_request(server: Server, source: int, m: RequestVote) -> None:
    """Grant a pre-vote if the candidate's term would be newer, its log is at least as
    up-to-date, and no leader was heard from within the minimum election timeout.
    Nothing here changes."""
    granted = False
    if m.term <= server.current_term:
        server._trace("PV.term", m.candidate_id, m.term, server.current_term)
    elif server.role is Role.LEADER:
        server._trace("PV.self", m.candidate_id, server.current_term)
    elif check_quorum.heard_from_leader_recently(server):
        server._trace("PV.leader", m.candidate_id, server.leader_id)
    elif check_quorum.restarted_recently(server):
        assert server.restarted_at is not None
        until = server.restarted_at + server.min_election_timeout_ms
        server._trace("PV.restart", m.candidate_id, until)
    elif not server.log.is_up_to_date(m.last_log_index, m.last_log_term):
        server._trace("PV.log", m.candidate_id)
    else:
        server._trace("PV.grant", m.candidate_id, m.term)
        granted = True
    term = m.term if granted else server.current_term
    server._send(source, RequestVoteReply(term=term, vote_granted=granted, pre_vote=True))


def handle_reply(server: Server, source: int, m: RequestVoteReply) -> None:
    """A pre-vote counts in the term the pre-candidate would start."""
    term = server.current_term + 1
    if not m.vote_granted:
        server._trace("PV.refused", source, term)
    elif m.term != term:
        server._trace("PV.stale", source, m.term)
    elif server.count_vote(source, "PV.got", m.term):
        server.become_candidate("ELECT")
