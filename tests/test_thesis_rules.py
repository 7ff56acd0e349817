"""Rules from Ongaro's thesis that the core implements beyond Figure 2, one test per
sentence, on the pure ``Server`` (set up, step one input, check), as
tests/test_figure2.py does for Figure 2.

PreVote (§9.6), CheckQuorum (§6.2), leader stickiness (§4.2.3) and what a restart does
to it (§6.4.1), leadership transfer (§3.10), single-server membership changes (§4.1,
§4.2) and ReadIndex (§6.4). More sentences of the same sections are tested in
tests/test_thesis_extensions.py (PreVote, stickiness, transfer in a cluster),
tests/test_membership.py (configurations, catch-up, removing the leader) and
tests/test_lease_reads.py (leases, §6.4.1). The server under test is S1.
"""

from __future__ import annotations

from typing import Any

import luminous_edu as le
from luminous_edu.core import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    RequestVote,
    RequestVoteReply,
    Role,
    Server,
    StoredState,
)
from luminous_edu.core.membership import Configuration, config_entry_data
from luminous_edu.core.messages import TimeoutNow
from luminous_edu.core.output import RESET, STOP

MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 150, 300


def rules(out: le.core.Output) -> list[str]:
    return [rule for rule, _ in out.trace]


def booted(term: int = 1, entries: tuple[Entry, ...] = (), at: int = 0, **options: Any) -> Server:
    server = Server(1, (1, 2, 3), StoredState(current_term=term, entries=entries), **options)
    server.boot(now=at)
    return server


def heartbeat(term: int, leader: int = 2, prev: int = 0, prev_term: int = 0) -> AppendEntries:
    return AppendEntries(term, leader, prev, prev_term, (), 0)


def vote_request(term: int, candidate: int = 3, **flags: bool) -> RequestVote:
    return RequestVote(
        term=term, candidate_id=candidate, last_log_index=0, last_log_term=0, **flags
    )


def elected(server: Server, at: int) -> Server:
    """S1 wins an election at ``at``; the world reports its no-op stored."""
    server.election_timeout(now=at)
    if server.role is Role.PRECANDIDATE:
        server.handle(2, RequestVoteReply(server.current_term + 1, True, pre_vote=True), now=at)
    server.handle(2, RequestVoteReply(term=server.current_term, vote_granted=True), now=at)
    assert server.role is Role.LEADER
    server.log_saved(server.log.last_index, now=at)
    return server


def acknowledge(server: Server, peer: int, at: int, read_round: int = 0) -> le.core.Output:
    reply = AppendEntriesReply(
        term=server.current_term,
        success=True,
        match_index=server.log.last_index,
        read_round=read_round,
    )
    return server.handle(peer, reply, now=at)


# ------------------------------------------------------------- PreVote (§9.6)


def test_prevote_a_candidate_whose_log_is_behind_gets_no_pre_vote() -> None:
    """ "a candidate would first ask other servers whether its log was up-to-date enough
    to get their vote" (§9.6): the answer uses the election restriction (§5.4.1)."""
    server = booted(1, (Entry(1, 1, "a"),), prevote=True)
    out = server.handle(3, vote_request(2, pre_vote=True), now=500)
    assert out.sends == [(3, RequestVoteReply(term=1, vote_granted=False, pre_vote=True))]
    assert rules(out) == ["PV.log"]


def test_prevote_no_pre_vote_while_a_leader_is_heard() -> None:
    """A server grants a pre-vote only if it "has not received a heartbeat from a
    leader within the minimum election timeout" (§9.6)."""
    server = booted(1, prevote=True)
    server.handle(2, heartbeat(1), now=100)
    out = server.handle(3, vote_request(2, pre_vote=True), now=100 + MIN_TIMEOUT_MS - 1)
    assert rules(out) == ["PV.leader"] and not out.sends[0][1].vote_granted
    out = server.handle(3, vote_request(2, pre_vote=True), now=100 + MIN_TIMEOUT_MS)
    assert rules(out) == ["PV.grant"] and out.sends[0][1].vote_granted


# --------------------------------------------------------- CheckQuorum (§6.2)


def test_check_quorum_a_leader_steps_down_without_a_majority_within_an_election_timeout() -> None:
    """ "a leader steps down if an election timeout elapses without a successful round
    of heartbeats to a majority of its cluster" (§6.2)."""
    server = elected(booted(0, check_quorum=True), at=300)
    acknowledge(server, 2, at=320)
    out = server.heartbeat_timeout(now=320 + MIN_TIMEOUT_MS - 1)
    assert server.role is Role.LEADER and "HB" in rules(out)  # S1 and S2: a majority
    out = server.heartbeat_timeout(now=320 + MIN_TIMEOUT_MS)
    assert server.role is Role.FOLLOWER and server.current_term == 1
    assert rules(out) == ["CQ"]
    assert (out.heartbeat_timer, out.election_timer) == (STOP, RESET)


# ---------------------------------------- leader stickiness (§4.2.3, §6.4.1)


def test_stickiness_a_vote_request_within_the_minimum_election_timeout_is_ignored() -> None:
    """ "If a server receives a RequestVote request within the minimum election timeout
    of hearing from a current leader, it does not update its term or grant its vote"
    (§4.2.3)."""
    server = booted(1, check_quorum=True)
    server.handle(2, heartbeat(1), now=100)
    out = server.handle(3, vote_request(2), now=100 + MIN_TIMEOUT_MS - 1)
    assert out.sends == [] and out.storage == [] and server.current_term == 1
    assert rules(out) == ["RV.sticky"]
    out = server.handle(3, vote_request(2), now=100 + MIN_TIMEOUT_MS)
    assert rules(out) == ["TERM", "RV.2.grant"] and server.voted_for == 3


def test_stickiness_an_election_started_by_timeout_now_gets_through() -> None:
    """A leader asked for this election (§3.10): its RequestVote carries the flag that
    "the server should disregard the leader" check."""
    server = booted(1, check_quorum=True)
    server.handle(2, heartbeat(1), now=100)
    out = server.handle(3, vote_request(2, transfer=True), now=110)
    assert rules(out) == ["TERM", "RV.2.grant"]


def test_stickiness_a_restarted_server_waits_a_minimum_election_timeout_before_voting() -> None:
    """A crash erases when a server last heard from its leader, yet a leader's lease
    counts on its last answer: "the followers shouldn't time out before then" (§6.4.1).
    With CheckQuorum, a server that restarts with a term of its own ignores vote
    requests and refuses pre-votes for a minimum election timeout after it boots."""
    server = booted(1, at=1_000, check_quorum=True, prevote=True)
    out = server.handle(3, vote_request(2), now=1_000 + MIN_TIMEOUT_MS - 1)
    assert rules(out) == ["RV.sticky.restart"] and server.current_term == 1
    out = server.handle(3, vote_request(2, pre_vote=True), now=1_000 + MIN_TIMEOUT_MS - 1)
    assert rules(out) == ["PV.restart"] and not out.sends[0][1].vote_granted
    out = server.handle(3, vote_request(2), now=1_000 + MIN_TIMEOUT_MS)
    assert rules(out) == ["TERM", "RV.2.grant"]


def test_stickiness_a_server_that_never_had_a_term_votes_at_once() -> None:
    """Term 0 means it never heard from any leader: nothing to wait for."""
    server = booted(0, at=1_000, check_quorum=True)
    out = server.handle(3, vote_request(1), now=1_001)
    assert rules(out) == ["TERM", "RV.2.grant"]


# --------------------------------------------------- leadership transfer (§3.10)


def transferring(target_behind: bool) -> tuple[Server, le.core.Output]:
    server = elected(booted(0), at=300)
    acknowledge(server, 3, at=310)
    if not target_behind:
        acknowledge(server, 2, at=310)
    reason, out = server.transfer_leadership(2, now=320)
    assert reason is None
    return server, out


def test_transfer_1_the_leader_stops_accepting_client_requests() -> None:
    """ "1. The prior leader stops accepting new client requests." """
    server, _ = transferring(target_behind=True)
    outcome, _ = server.propose("x", now=330)
    assert not outcome.accepted


def test_transfer_2_the_leader_first_brings_the_target_up_to_date() -> None:
    """ "2. The prior leader fully updates the target server's log to match its own,
    using the normal log replication mechanism." """
    server, out = transferring(target_behind=True)
    assert [type(m) for t, m in out.sends if t == 2] == []  # its no-op is in flight
    out = acknowledge(server, 2, at=340)
    assert out.sends == [(2, TimeoutNow(term=1, leader_id=1))]


def test_transfer_3_timeout_now_to_a_target_that_is_up_to_date() -> None:
    """ "3. The prior leader sends a TimeoutNow request to the target server." """
    _, out = transferring(target_behind=False)
    assert out.sends == [(2, TimeoutNow(term=1, leader_id=1))]
    assert rules(out) == ["TR.start", "TR.timeout_now"]


def test_transfer_3_timeout_now_has_the_effect_of_the_election_timer_firing() -> None:
    """ "This request has the same effect as the target server's election timer firing:
    the target server starts a new election (incrementing its term and becoming a
    candidate)" (§3.10). It skips PreVote: the leader asked for it."""
    server = booted(1, prevote=True)
    server.handle(2, heartbeat(1), now=100)
    out = server.handle(2, TimeoutNow(term=1, leader_id=2), now=110)
    assert server.role is Role.CANDIDATE and server.current_term == 2
    assert {m for _, m in out.sends} == {
        RequestVote(term=2, candidate_id=1, last_log_index=0, last_log_term=0, transfer=True)
    }


def test_transfer_aborts_after_an_election_timeout() -> None:
    """ "If leadership transfer does not complete after about an election timeout, the
    prior leader aborts the transfer and resumes accepting client requests." """
    server, _ = transferring(target_behind=True)
    out = server.heartbeat_timeout(now=320 + MAX_TIMEOUT_MS)
    assert "TR.abort" in rules(out) and server.transfer_target is None
    outcome, _ = server.propose("x", now=640)
    assert outcome.accepted


# ------------------------------------------- single-server changes (§4.1, §4.2)


def config_entry(index: int, term: int, config: Configuration) -> Entry:
    return Entry(index, term, config_entry_data(config))


def test_membership_the_latest_configuration_counts_for_a_quorum_at_once() -> None:
    """ "a server always uses the latest configuration in its log, regardless of
    whether the entry is committed" (§4.1): a leader that appends C_new counts the
    majority of C_new for the entries that follow."""
    server = elected(booted(0), at=300)
    acknowledge(server, 2, at=310)  # the no-op commits: S1 may change the configuration
    reason, out = server.change_membership("remove_server", 3, now=320)
    assert reason is None and server.config.voters == (1, 2)
    server.log_saved(out.save_through or 0, now=320)
    assert server.commit_index == 1  # {S1, S2} must both store the new entry
    acknowledge(server, 2, at=330)
    assert server.commit_index == 2


def test_membership_a_new_leader_resumes_an_add_server_its_predecessor_began() -> None:
    """ "the leader ... adds the new server" once it has caught up (§4.2.1). The learner
    entry of add_server names S4 as joining; a new leader whose log holds it finishes
    the change: it catches S4 up, then, once an entry of its own term is committed
    (§4.1), appends the configuration in which S4 votes."""
    joining = Configuration.of((1, 2, 3), learners=(4,), joining=(4,))
    log = (Entry(1, 1, "a"), config_entry(2, 1, joining))
    server = Server(1, (1, 2, 3), StoredState(current_term=1, entries=log))
    server.boot()
    server.election_timeout(now=300)
    out = server.handle(2, RequestVoteReply(term=2, vote_granted=True), now=300)
    assert "CONFIG.resume" in rules(out) and server.catchup is not None
    server.log_saved(3, now=300)
    out = acknowledge(server, 4, at=310)  # S4 holds the whole log: one short round
    assert "CONFIG.caught_up" in rules(out) and server.config.voters == (1, 2, 3)
    out = acknowledge(server, 2, at=320)  # the no-op of term 2 commits
    assert server.config == Configuration.of((1, 2, 3, 4))
    assert "CONFIG.append" in rules(out)


# ------------------------------------------------------------ ReadIndex (§6.4)


def test_read_index_1_waits_for_an_entry_of_the_leaders_term_to_commit() -> None:
    """ "1. If the leader has not yet marked an entry from its current term committed,
    it waits until it has done so." """
    server = elected(booted(0), at=300)
    accepted, out = server.read(read_id=1, now=301)
    assert accepted and out.reads is None
    round_ = out.sends[0][1].read_round
    out = server.handle(
        2, AppendEntriesReply(term=1, success=False, conflict_index=1, read_round=round_), 302
    )
    assert out.reads is None  # the round is confirmed, but the no-op is not committed
    out = acknowledge(server, 2, at=303)
    assert out.reads == [(1, 1)]


def test_read_index_2_the_read_index_is_the_commit_index_when_it_is_taken() -> None:
    """ "2. The leader saves its current commit index in a local variable readIndex." """
    server = elected(booted(0), at=300)
    acknowledge(server, 2, at=310)
    _, out = server.read(read_id=7, now=320)
    assert server.reads.pending[0].index == server.commit_index == 1
    acknowledge(server, 3, at=330, read_round=out.sends[0][1].read_round)
    assert server.reads.pending == []


def test_read_index_3_a_majority_must_answer_a_new_round_of_heartbeats() -> None:
    """ "3. ... it sends a new round of heartbeats and waits for their acknowledgments
    from a majority of the cluster." """
    server = elected(booted(0), at=300)
    acknowledge(server, 2, at=310)
    accepted, out = server.read(read_id=7, now=320)
    assert accepted and out.reads is None
    rounds = {m.read_round for _, m in out.sends if type(m) is AppendEntries}
    assert [t for t, _ in out.sends] == [2, 3] and len(rounds) == 1
    (round_,) = rounds
    assert acknowledge(server, 2, at=330, read_round=round_ - 1).reads is None  # older round
    assert acknowledge(server, 2, at=331, read_round=round_).reads == [(7, 1)]
