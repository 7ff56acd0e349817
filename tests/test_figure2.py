"""Figure 2 of the Raft paper, one test per rule, on the pure ``Server`` state machine.

Each test quotes the rule it checks and its section, then: set up one server, step one
message or timer, check the exact effects in the ``Output`` (storage messages in order,
sends as (target, message) pairs, applies, timer instructions, trace rule ids).

The server under test is always S1; messages come from S2, S3, ...
"""

from __future__ import annotations

import pytest

from luminous_edu.core import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    Output,
    RequestVote,
    RequestVoteReply,
    Role,
    SaveHardState,
    SaveLog,
    Server,
    StoredState,
    TruncateLog,
    noop_data,
)
from luminous_edu.core.output import RESET, START, STOP

THREE = (1, 2, 3)
FIVE = (1, 2, 3, 4, 5)

# ------------------------------------------------------------------ helpers


def log_of(*terms: int) -> tuple[Entry, ...]:
    """A log with one entry per term given: entry i has data "x<i>"."""
    return tuple(Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=1))


def follower(term: int, terms: tuple[int, ...] = (), voted_for=None, voters=THREE) -> Server:
    """S1 booted as a follower in ``term`` with a log of the given terms."""
    server = Server(
        1, voters, StoredState(current_term=term, voted_for=voted_for, entries=log_of(*terms))
    )
    server.boot()
    return server


def candidate(term: int, terms: tuple[int, ...] = (), voters=THREE) -> Server:
    """S1 as a candidate in ``term``: it timed out as a follower of ``term - 1``."""
    server = follower(term - 1, terms, voters=voters)
    server.election_timeout()
    assert server.role is Role.CANDIDATE and server.current_term == term
    return server


def leader(term: int, terms: tuple[int, ...] = (), voters=THREE) -> Server:
    """S1 as leader of ``term``; its log is ``terms`` plus its no-op of ``term``."""
    server = candidate(term, terms, voters)
    for voter in voters[1:]:
        if server.role is Role.CANDIDATE:
            server.handle(voter, RequestVoteReply(term=term, vote_granted=True))
    assert server.role is Role.LEADER
    server.log_saved(server.log.last_index)  # the world reports its no-op stored
    return server


def caught_up(server: Server) -> Server:
    """Every follower acknowledges the leader's whole log (so it commits it)."""
    for peer in server.peers:
        reply = AppendEntriesReply(
            term=server.current_term, success=True, match_index=server.log.last_index
        )
        server.handle(peer, reply)
    return server


def ae(term, prev_index=0, prev_term=0, entries=(), commit=0, leader_id=2) -> AppendEntries:
    return AppendEntries(
        term=term,
        leader_id=leader_id,
        prev_log_index=prev_index,
        prev_log_term=prev_term,
        entries=tuple(entries),
        leader_commit=commit,
    )


def rv(term, candidate_id=2, last_index=0, last_term=0) -> RequestVote:
    return RequestVote(
        term=term, candidate_id=candidate_id, last_log_index=last_index, last_log_term=last_term
    )


def rules(out: Output) -> list[str]:
    return [rule for rule, _ in out.trace]


def terms_of(server: Server) -> list[int]:
    return [e.term for e in server.log.entries]


# ------------------------------------------------------------- all servers


def test_all_servers_apply_committed_entries_in_order_exactly_once():
    """Rules for Servers, All Servers: "If commitIndex > lastApplied: increment
    lastApplied, apply log[lastApplied] to state machine" (§5.3)."""
    server = follower(2)
    message = ae(2, entries=log_of(1, 2, 2), commit=2)

    out = server.handle(2, message)
    assert out.applies == list(log_of(1, 2)), "entries 1..2 applied, in index order"
    assert server.last_applied == 2
    assert "APPLY" in rules(out)

    again = server.handle(2, message)  # a duplicate: nothing is applied twice
    assert again.applies == []
    assert server.last_applied == 2

    later = server.handle(2, ae(2, prev_index=3, prev_term=2, commit=3))
    assert later.applies == [log_of(1, 2, 2)[2]]
    assert server.last_applied == 3


@pytest.mark.parametrize("role", ["follower", "candidate", "leader"])
def test_all_servers_higher_term_in_request_converts_to_follower(role):
    """Rules for Servers, All Servers: "If RPC request or response contains term T >
    currentTerm: set currentTerm = T, convert to follower" (§5.1). The new term, and the
    vote it clears, are saved before the reply leaves ("updated on stable storage before
    responding to RPCs"), and before any entry of that term, so that no crash can leave
    a stored entry with a term above the stored currentTerm."""
    if role == "follower":
        server = follower(3, voted_for=3)
    else:
        server = candidate(3) if role == "candidate" else leader(3)

    out = server.handle(2, ae(7, entries=[Entry(1, 7, "y")]))

    assert server.role is Role.FOLLOWER
    assert server.current_term == 7
    assert server.voted_for is None
    assert out.storage[0] == SaveHardState(current_term=7, voted_for=None)
    assert out.storage.count(SaveHardState(current_term=7, voted_for=None)) == 1
    assert out.storage[-1] == SaveLog(term=7, index=1, data="y")
    assert out.sends == [(2, AppendEntriesReply(term=7, success=True, match_index=1))]
    assert rules(out)[0] == "TERM"
    if role == "leader":
        assert out.heartbeat_timer == STOP
    assert out.election_timer == RESET


def test_all_servers_higher_term_in_vote_request_clears_vote_even_when_refusing():
    """Rules for Servers, All Servers: "If RPC request or response contains term T >
    currentTerm: set currentTerm = T, convert to follower" (§5.1): the vote of the old
    term does not carry over, even when the new candidate is refused."""
    server = follower(3, terms=(1, 3), voted_for=3)

    out = server.handle(2, rv(5, candidate_id=2, last_index=1, last_term=1))

    assert (server.role, server.current_term, server.voted_for) == (Role.FOLLOWER, 5, None)
    assert out.storage == [SaveHardState(current_term=5, voted_for=None)]
    assert out.sends == [(2, RequestVoteReply(term=5, vote_granted=False))]
    assert rules(out) == ["TERM", "RV.2.log"]


@pytest.mark.parametrize("role", ["candidate", "leader"])
def test_all_servers_higher_term_in_reply_converts_to_follower(role):
    """Rules for Servers, All Servers: "If RPC request or response contains term T >
    currentTerm: set currentTerm = T, convert to follower" (§5.1), here in a response."""
    if role == "candidate":
        server = candidate(3)
        reply = RequestVoteReply(term=6, vote_granted=False)
    else:
        server = leader(3)
        reply = AppendEntriesReply(term=6, success=False)

    out = server.handle(2, reply)

    assert (server.role, server.current_term, server.voted_for) == (Role.FOLLOWER, 6, None)
    assert out.storage == [SaveHardState(current_term=6, voted_for=None)]
    assert out.sends == []
    assert rules(out)[0] == "TERM"
    if role == "leader":
        assert out.heartbeat_timer == STOP
        assert out.election_timer == RESET


# --------------------------------------------------------------- followers


def test_followers_respond_to_rpcs_from_candidates_and_leaders():
    """Rules for Servers, Followers: "Respond to RPCs from candidates and leaders" (§5.2)."""
    server = follower(2, terms=(1,))

    out = server.handle(3, rv(2, candidate_id=3, last_index=1, last_term=1))
    assert out.sends == [(3, RequestVoteReply(term=2, vote_granted=True))]

    out = server.handle(2, ae(2, prev_index=1, prev_term=1))
    assert out.sends == [(2, AppendEntriesReply(term=2, success=True, match_index=1))]


def test_follower_election_timeout_converts_to_candidate():
    """Rules for Servers, Followers: "If election timeout elapses without receiving
    AppendEntries RPC from current leader or granting vote to candidate: convert to
    candidate" (§5.2)."""
    server = follower(2, terms=(1, 2))

    out = server.election_timeout()

    assert server.role is Role.CANDIDATE
    assert server.current_term == 3
    assert rules(out) == ["ET"]


@pytest.mark.parametrize(
    "message",
    [ae(2, prev_index=1, prev_term=1), ae(2, prev_index=5, prev_term=2)],
    ids=["heartbeat", "failed-consistency-check"],
)
def test_follower_append_entries_from_current_leader_resets_election_timer(message):
    """Rules for Servers, Followers: "If election timeout elapses without receiving
    AppendEntries RPC from current leader ... convert to candidate" (§5.2): any
    AppendEntries from the current leader, even one whose consistency check fails,
    resets the election timer."""
    server = follower(2, terms=(1,))

    out = server.handle(2, message)

    assert out.election_timer == RESET
    assert server.leader_id == 2
    assert server.role is Role.FOLLOWER


def test_follower_stale_append_entries_does_not_reset_election_timer():
    """Rules for Servers, Followers (§5.2): only AppendEntries from the *current* leader
    holds off an election; one from a deposed leader of an older term does not."""
    server = follower(3, terms=(1,))

    out = server.handle(2, ae(2, prev_index=1, prev_term=1))

    assert out.election_timer is None
    assert server.leader_id is None


def test_follower_granting_vote_resets_election_timer():
    """Rules for Servers, Followers: "If election timeout elapses without ... granting
    vote to candidate: convert to candidate" (§5.2): granting a vote resets the timer."""
    server = follower(2, terms=(1,))

    out = server.handle(3, rv(2, candidate_id=3, last_index=1, last_term=1))

    assert out.sends == [(3, RequestVoteReply(term=2, vote_granted=True))]
    assert out.election_timer == RESET


@pytest.mark.parametrize(
    ("voted_for", "vote_request", "rule"),
    [
        (None, rv(1, candidate_id=3, last_index=5, last_term=1), "RV.1"),
        (2, rv(2, candidate_id=3, last_index=5, last_term=2), "RV.2.voted"),
        (None, rv(2, candidate_id=3, last_index=0, last_term=0), "RV.2.log"),
    ],
    ids=["stale-term", "already-voted", "log-behind"],
)
def test_follower_refusing_vote_does_not_reset_election_timer(voted_for, vote_request, rule):
    """Rules for Servers, Followers (§5.2): only *granting* a vote holds off an election;
    a refused candidate does not delay this follower's own timeout."""
    server = follower(2, terms=(1,), voted_for=voted_for)

    out = server.handle(3, vote_request)

    assert out.sends == [(3, RequestVoteReply(term=2, vote_granted=False))]
    assert out.election_timer is None
    assert rules(out) == [rule]


# -------------------------------------------------------------- candidates


def test_candidate_starts_election_on_conversion():
    """Rules for Servers, Candidates: "On conversion to candidate, start election:
    increment currentTerm, vote for self, reset election timer, send RequestVote RPCs to
    all other servers" (§5.2). The RequestVote carries "index of candidate's last log
    entry" and "term of candidate's last log entry" (§5.4); term and vote are saved
    before any request leaves."""
    server = follower(2, terms=(1, 1, 2), voted_for=3, voters=FIVE)

    out = server.election_timeout()

    assert (server.role, server.current_term, server.voted_for) == (Role.CANDIDATE, 3, 1)
    assert out.storage == [SaveHardState(current_term=3, voted_for=1)]
    request = RequestVote(term=3, candidate_id=1, last_log_index=3, last_log_term=2)
    assert out.sends == [(2, request), (3, request), (4, request), (5, request)]
    assert out.election_timer == RESET
    assert rules(out) == ["ET"]


def test_candidate_becomes_leader_with_votes_from_majority():
    """Rules for Servers, Candidates: "If votes received from majority of servers: become
    leader" (§5.2). Of five servers, the candidate's own vote and two more win."""
    server = candidate(2, voters=FIVE)

    out = server.handle(2, RequestVoteReply(term=2, vote_granted=True))
    assert server.role is Role.CANDIDATE
    assert not out.became_leader
    assert rules(out) == ["RVR.grant"]

    out = server.handle(3, RequestVoteReply(term=2, vote_granted=False))
    assert server.role is Role.CANDIDATE
    assert rules(out) == ["RVR.refused"]

    out = server.handle(4, RequestVoteReply(term=2, vote_granted=True))
    assert server.role is Role.LEADER
    assert out.became_leader
    assert "LEADER" in rules(out)


def test_candidate_counts_each_voter_once():
    """Rules for Servers, Candidates: "If votes received from majority of servers: become
    leader" (§5.2): a duplicated vote reply is still one server's vote."""
    server = candidate(2, voters=FIVE)

    server.handle(2, RequestVoteReply(term=2, vote_granted=True))
    out = server.handle(2, RequestVoteReply(term=2, vote_granted=True))

    assert server.role is Role.CANDIDATE
    assert not out.became_leader
    assert server.votes_granted == {1, 2}


def test_candidate_append_entries_from_new_leader_converts_to_follower():
    """Rules for Servers, Candidates: "If AppendEntries RPC received from new leader:
    convert to follower" (§5.2). Same term: nothing persistent changes (its vote for
    itself stands)."""
    server = candidate(3)

    out = server.handle(2, ae(3))

    assert (server.role, server.current_term, server.voted_for) == (Role.FOLLOWER, 3, 1)
    assert server.leader_id == 2
    assert out.storage == []
    assert out.sends == [(2, AppendEntriesReply(term=3, success=True, match_index=0))]
    assert out.election_timer == RESET
    assert rules(out)[0] == "AE.candidate"


def test_candidate_stays_candidate_on_append_entries_from_stale_leader():
    """Rules for Servers, Candidates: "If AppendEntries RPC received from new leader:
    convert to follower" (§5.2), and only then: "If the term in the RPC is smaller than
    the candidate's current term, then the candidate rejects the RPC and continues in
    candidate state" (§5.2)."""
    server = candidate(3)

    out = server.handle(2, ae(2))

    assert server.role is Role.CANDIDATE
    assert out.sends == [(2, AppendEntriesReply(term=3, success=False))]
    assert out.election_timer is None


@pytest.mark.parametrize("case", ["older-term", "after-stepping-down"])
def test_candidate_ignores_stale_vote_replies(case):
    """Rules for Servers, Candidates: "If votes received from majority of servers: become
    leader" (§5.2): only votes for *this* election count. A vote granted in an earlier
    term, or arriving after the server stopped being a candidate, is ignored."""
    server = candidate(3)
    if case == "older-term":
        reply = RequestVoteReply(term=2, vote_granted=True)
        expected_role = Role.CANDIDATE
    else:
        server.handle(2, ae(3))  # S2 won term 3
        reply = RequestVoteReply(term=3, vote_granted=True)
        expected_role = Role.FOLLOWER

    out = server.handle(3, reply)

    assert server.role is expected_role
    assert not out.became_leader
    assert (out.storage, out.sends) == ([], [])
    assert rules(out) == ["RVR.stale"]


def test_candidate_split_vote_starts_new_election_in_higher_term():
    """Rules for Servers, Candidates: "If election timeout elapses: start new election"
    (§5.2). After a split vote the candidate tries again in the next term, and the votes
    of the old term no longer count."""
    server = candidate(3, terms=(1,))
    server.handle(2, RequestVoteReply(term=3, vote_granted=False))

    out = server.election_timeout()

    assert (server.role, server.current_term, server.voted_for) == (Role.CANDIDATE, 4, 1)
    assert out.storage == [SaveHardState(current_term=4, voted_for=1)]
    request = RequestVote(term=4, candidate_id=1, last_log_index=1, last_log_term=1)
    assert out.sends == [(2, request), (3, request)]
    assert out.election_timer == RESET

    late = server.handle(3, RequestVoteReply(term=3, vote_granted=True))
    assert server.role is Role.CANDIDATE
    assert rules(late) == ["RVR.stale"]


def test_single_server_candidate_wins_at_once():
    """Rules for Servers, Candidates: "If votes received from majority of servers: become
    leader" (§5.2): alone, its own vote is a majority."""
    server = follower(1, voters=(1,))

    out = server.election_timeout()

    assert server.role is Role.LEADER
    assert out.became_leader
    assert out.sends == []
    # Its no-op needs no other copy, only its own on stable storage (§5.3).
    assert out.save_through == 1 and server.commit_index == 0
    saved = server.log_saved(1)
    assert server.commit_index == 1
    assert rules(saved) == ["COMMIT", "APPLY"]


# ----------------------------------------------------------------- leaders


def test_leader_sends_initial_heartbeats_to_each_server():
    """Rules for Servers, Leaders: "Upon election: send initial empty AppendEntries RPCs
    (heartbeat) to each server" (§5.2). Here the first AppendEntries carries the leader's
    no-op entry (§8, see the next test) rather than being empty."""
    server = candidate(3, terms=(1, 2))

    out = server.handle(2, RequestVoteReply(term=3, vote_granted=True))

    noop = Entry(3, 3, noop_data())
    request = ae(3, prev_index=2, prev_term=2, entries=[noop], leader_id=1)
    assert out.sends == [(2, request), (3, request)]
    assert out.election_timer == STOP
    assert out.heartbeat_timer == START
    assert server.leader_id == 1


def test_leader_appends_and_saves_noop_before_sending():
    """Not in Figure 2: "each leader [commits] a blank no-op entry into the log at the
    start of its term" (§8). It is appended and saved (SaveLog) before any send."""
    server = candidate(3, terms=(1, 2))

    out = server.handle(2, RequestVoteReply(term=3, vote_granted=True))

    assert out.storage == [SaveLog(term=3, index=3, data=noop_data())]
    assert out.sends  # every send follows the storage messages above
    assert server.log.entry(3) == Entry(3, 3, noop_data())
    assert server.log.entry(3).kind == "noop"
    assert rules(out) == ["RVR.grant", "LEADER", "NOOP"]


def test_leader_initialises_next_and_match_index():
    """State, Volatile state on leaders: "nextIndex[] for each server, index of the next
    log entry to send to that server (initialized to leader last log index + 1)";
    "matchIndex[] ... (initialized to 0, increases monotonically)" (§5.3)."""
    server = leader(3, terms=(1, 2), voters=FIVE)

    # last log index at election was 2; the no-op at 3 is the first entry sent.
    assert server.next_index == {2: 3, 3: 3, 4: 3, 5: 3}
    assert server.match_index == {2: 0, 3: 0, 4: 0, 5: 0}


def test_leader_repeats_heartbeats_during_idle_periods():
    """Rules for Servers, Leaders: "send initial empty AppendEntries RPCs (heartbeat) to
    each server; repeat during idle periods to prevent election timeouts" (§5.2)."""
    server = caught_up(leader(2, terms=(1,)))

    out = server.heartbeat_timeout()

    heartbeat = ae(2, prev_index=2, prev_term=2, commit=2, leader_id=1)
    assert out.sends == [(2, heartbeat), (3, heartbeat)]
    assert out.storage == []
    assert out.heartbeat_timer == START
    assert rules(out) == ["HB"]


def test_leader_appends_client_command_and_saves_it_before_sending():
    """Rules for Servers, Leaders: "If command received from client: append entry to
    local log, respond after entry applied to state machine" (§5.3). The entry is saved
    (SaveLog) before the AppendEntries that carry it leave."""
    server = caught_up(leader(2, terms=(1,)))

    outcome, out = server.propose("cmd")

    assert (outcome.accepted, outcome.index, outcome.term, outcome.leader_hint) == (
        True,
        3,
        2,
        1,
    )
    assert out.storage == [SaveLog(term=2, index=3, data="cmd")]
    request = ae(2, prev_index=2, prev_term=2, entries=[Entry(3, 2, "cmd")], commit=2, leader_id=1)
    assert out.sends == [(2, request), (3, request)]
    assert out.applies == []  # not committed yet: the client waits
    assert server.commit_index == 2


def test_non_leader_refuses_client_command_with_leader_hint():
    """§5.1: "If a client contacts a follower, the follower redirects it to the leader";
    nothing is appended or saved."""
    server = follower(2, terms=(1,))
    server.handle(2, ae(2, prev_index=1, prev_term=1))

    outcome, out = server.propose("cmd")

    assert (outcome.accepted, outcome.leader_hint) == (False, 2)
    assert (out.storage, out.sends) == ([], [])
    assert len(server.log) == 1


def test_leader_success_reply_updates_next_and_match_index():
    """Rules for Servers, Leaders: "If successful: update nextIndex and matchIndex for
    follower" (§5.3)."""
    server = leader(2, terms=(1,))

    out = server.handle(2, AppendEntriesReply(term=2, success=True, match_index=2))

    assert server.match_index == {2: 2, 3: 0}
    assert server.next_index == {2: 3, 3: 2}
    assert "AER.ok" in rules(out)


@pytest.mark.parametrize(
    ("leader_terms", "conflict_index", "conflict_term", "expected_next"),
    [
        ((1, 1, 2, 2, 3), 3, None, 3),  # the follower's log ends at index 2
        ((1, 1, 2, 2, 3), 3, 2, 5),  # leader has term 2: retry after its last term-2 entry
        ((1, 1, 3, 3, 3), 3, 2, 3),  # leader has no term 2: skip the follower's whole run
    ],
    ids=["log-too-short", "conflict-term-known", "conflict-term-unknown"],
)
def test_leader_failure_reply_backs_off_next_index_with_hint(
    leader_terms, conflict_index, conflict_term, expected_next
):
    """Rules for Servers, Leaders: "If AppendEntries fails because of log inconsistency:
    decrement nextIndex and retry" (§5.3), by a whole term at a time with the follower's
    hint (end of §5.3: "the follower can include the term of the conflicting entry and the
    first index it stores for that term"; not in Figure 2)."""
    server = leader(4, terms=leader_terms)
    assert server.next_index[2] == 6

    reply = AppendEntriesReply(
        term=4, success=False, conflict_index=conflict_index, conflict_term=conflict_term
    )
    out = server.handle(2, reply)

    assert server.next_index[2] == expected_next
    assert server.next_index[3] == 6
    prev = expected_next - 1
    retry = ae(
        4,
        prev_index=prev,
        prev_term=server.log.term_at(prev),
        entries=server.log.slice(expected_next, 7),
        leader_id=1,
    )
    assert out.sends == [(2, retry)]
    assert out.storage == []
    assert rules(out) == ["AER.fail"]


def test_leader_next_index_never_below_match_index_plus_one():
    """Rules for Servers, Leaders: "decrement nextIndex and retry" (§5.3), but never
    below what the follower is known to hold: matchIndex "increases monotonically", so
    a late failure reply cannot send nextIndex back past matchIndex + 1."""
    server = leader(4, terms=(1, 1, 2, 2, 3))
    server.handle(2, AppendEntriesReply(term=4, success=True, match_index=4))
    assert (server.match_index[2], server.next_index[2]) == (4, 6)

    out = server.handle(2, AppendEntriesReply(term=4, success=False, conflict_index=1))

    assert server.next_index[2] == 5
    assert server.match_index[2] == 4
    assert out.sends[0][1].prev_log_index == 4


def test_leader_does_not_resend_at_once_a_failure_below_what_was_acknowledged():
    """matchIndex "increases monotonically" (Figure 2), so once nextIndex is back at
    matchIndex + 1 a failure reply there cannot be answered by backing off: the reply is
    older than the acknowledgement, or the follower lost entries it had made durable (a
    storage bug). Resending at once would fail again at once, a storm of messages; the
    heartbeats retry instead. Not in Figure 2."""
    server = leader(4, terms=(1, 1, 2, 2, 3))
    server.handle(2, AppendEntriesReply(term=4, success=True, match_index=5))
    assert (server.match_index[2], server.next_index[2]) == (5, 6)

    out = server.handle(2, AppendEntriesReply(term=4, success=False, conflict_index=1))

    assert (server.match_index[2], server.next_index[2]) == (5, 6)
    assert out.sends == []
    assert out.trace == [("AER.behind", (1, 2, 5))]
    again = server.heartbeat_timeout()
    assert [peer for peer, _ in again.sends].count(2) == 1


def test_leader_commits_entry_of_its_term_stored_on_majority():
    """Rules for Servers, Leaders: "If there exists an N such that N > commitIndex, a
    majority of matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N"
    (§5.3, §5.4). Of five servers, the leader and two followers are a majority."""
    server = leader(2, terms=(1,), voters=FIVE)

    out = server.handle(2, AppendEntriesReply(term=2, success=True, match_index=2))
    assert server.commit_index == 0
    assert out.applies == []

    out = server.handle(3, AppendEntriesReply(term=2, success=True, match_index=2))
    assert server.commit_index == 2
    assert out.applies == [Entry(1, 1, "x1"), Entry(2, 2, noop_data())]
    assert "COMMIT" in rules(out)


def test_leader_does_not_commit_old_term_entry_by_counting_replicas():
    """Rules for Servers, Leaders: "... and log[N].term == currentTerm: set commitIndex =
    N" (§5.3, §5.4.2): "Raft never commits log entries from previous terms by counting
    replicas. Only log entries from the leader's current term are committed by counting
    replicas; once an entry from the current term has been committed in this way, then
    all prior entries are committed indirectly" (Figure 8)."""
    server = leader(4, terms=(1, 2))  # log: 1@1, 2@2, no-op 3@4

    # S2 stores entry 2 (term 2): S1 and S2 are a majority, but term 2 is not term 4.
    out = server.handle(2, AppendEntriesReply(term=4, success=True, match_index=2))
    assert server.commit_index == 0
    assert out.applies == []
    assert "COMMIT.old" in rules(out)
    assert "COMMIT" not in rules(out)

    # S2 stores the no-op of term 4: it commits, and entry 2 with it.
    out = server.handle(2, AppendEntriesReply(term=4, success=True, match_index=3))
    assert server.commit_index == 3
    assert [e.index for e in out.applies] == [1, 2, 3]
    assert "COMMIT" in rules(out)


@pytest.mark.parametrize(
    "reply",
    [
        AppendEntriesReply(term=2, success=True, match_index=2),
        AppendEntriesReply(term=2, success=False, conflict_index=1),
    ],
    ids=["success", "failure"],
)
def test_leader_ignores_replies_from_older_terms(reply):
    """Rules for Servers, Leaders (§5.3): nextIndex and matchIndex are about this term's
    AppendEntries; a reply to a request of an older term says nothing about them."""
    server = leader(3, terms=(1,))

    out = server.handle(2, reply)

    assert server.next_index == {2: 2, 3: 2}
    assert server.match_index == {2: 0, 3: 0}
    assert server.commit_index == 0
    assert (out.storage, out.sends, out.applies) == ([], [], [])
    assert rules(out) == ["AER.stale"]


def test_leader_duplicated_success_reply_does_not_move_indexes_back():
    """State, Volatile state on leaders: matchIndex "increases monotonically" (§5.3).
    Replies can arrive twice or out of order; an older one changes nothing."""
    server = leader(2, terms=(1, 1, 1))  # log: 1,1,1, no-op 4@2
    server.handle(2, AppendEntriesReply(term=2, success=True, match_index=4))
    assert (server.match_index[2], server.next_index[2], server.commit_index) == (4, 5, 4)

    for match in (2, 4):  # a reordered older reply, then a duplicate of the last one
        out = server.handle(2, AppendEntriesReply(term=2, success=True, match_index=match))
        assert (server.match_index[2], server.next_index[2], server.commit_index) == (4, 5, 4)
        assert out.applies == []
        assert out.storage == []


def test_leader_has_no_election_timer():
    """Rules for Servers (§5.2): the election timeout is for followers and candidates; a
    leader that sees one stale timer event stays leader."""
    server = leader(2)

    out = server.election_timeout()

    assert server.role is Role.LEADER
    assert server.current_term == 2
    assert (out.storage, out.sends) == ([], [])
    assert out.election_timer == STOP


# ---------------------------------------------------- RequestVote receiver


def test_request_vote_rule_1_reply_false_if_term_older():
    """RequestVote RPC, Receiver implementation: "1. Reply false if term < currentTerm"
    (§5.1)."""
    server = follower(3)

    out = server.handle(2, rv(2, last_index=9, last_term=2))

    assert out.sends == [(2, RequestVoteReply(term=3, vote_granted=False))]
    assert server.voted_for is None
    assert out.storage == []
    assert rules(out) == ["RV.1"]


@pytest.mark.parametrize(
    "make", [lambda: follower(3, voted_for=3), lambda: candidate(3)], ids=["follower", "candidate"]
)
def test_request_vote_rule_2_refuses_if_voted_for_another(make):
    """RequestVote RPC, Receiver implementation: "2. If votedFor is null or candidateId,
    and candidate's log is at least as up-to-date as receiver's log, grant vote" (§5.2,
    §5.4): one vote per term; a candidate has already voted for itself."""
    server = make()
    voted_for = server.voted_for

    out = server.handle(2, rv(3, candidate_id=2, last_index=5, last_term=3))

    assert out.sends == [(2, RequestVoteReply(term=3, vote_granted=False))]
    assert server.voted_for == voted_for
    assert out.storage == []
    assert rules(out) == ["RV.2.voted"]


@pytest.mark.parametrize(
    ("last_index", "last_term", "granted"),
    [
        (5, 1, False),  # longer, but its last term is older
        (2, 2, False),  # same last term, shorter
        (1, 3, True),  # shorter, but its last term is later
        (3, 2, True),  # same last term, same length
        (4, 2, True),  # same last term, longer
    ],
)
def test_request_vote_rule_2_candidate_log_at_least_as_up_to_date(last_index, last_term, granted):
    """RequestVote RPC, Receiver implementation, rule 2: "... and candidate's log is at
    least as up-to-date as receiver's log, grant vote" (§5.4.1): "If the logs have last
    entries with different terms, then the log with the later term is more up-to-date. If
    the logs end with the same term, then whichever log is longer is more up-to-date."
    """
    server = follower(3, terms=(1, 1, 2))

    out = server.handle(2, rv(3, candidate_id=2, last_index=last_index, last_term=last_term))

    assert out.sends == [(2, RequestVoteReply(term=3, vote_granted=granted))]
    assert server.voted_for == (2 if granted else None)
    assert rules(out) == ["RV.2.grant" if granted else "RV.2.log"]


def test_request_vote_rule_2_grant_saves_vote_before_reply():
    """RequestVote RPC, Receiver implementation, rule 2, and State: votedFor is
    persistent, "updated on stable storage before responding to RPCs" (Figure 2)."""
    server = follower(3, terms=(1,))

    out = server.handle(2, rv(3, candidate_id=2, last_index=1, last_term=1))

    assert out.storage == [SaveHardState(current_term=3, voted_for=2)]
    assert out.sends == [(2, RequestVoteReply(term=3, vote_granted=True))]


def test_request_vote_rule_2_grants_again_to_same_candidate():
    """RequestVote RPC, Receiver implementation: "2. If votedFor is null or candidateId
    ..., grant vote" (§5.2): a retried request from the candidate it voted for is granted
    again (the reply may have been lost), and nothing new needs saving."""
    server = follower(3, voted_for=2)

    out = server.handle(2, rv(3, candidate_id=2))

    assert out.sends == [(2, RequestVoteReply(term=3, vote_granted=True))]
    assert out.storage == []
    assert server.voted_for == 2
    assert out.election_timer == RESET


# -------------------------------------------------- AppendEntries receiver


def test_append_entries_rule_1_reply_false_if_term_older():
    """AppendEntries RPC, Receiver implementation: "1. Reply false if term < currentTerm"
    (§5.1)."""
    server = follower(3, terms=(1,))

    out = server.handle(2, ae(2, prev_index=1, prev_term=1, entries=[Entry(2, 2, "y")], commit=2))

    assert out.sends == [(2, AppendEntriesReply(term=3, success=False))]
    assert out.storage == []
    assert terms_of(server) == [1]
    assert server.commit_index == 0
    assert rules(out) == ["AE.1"]


@pytest.mark.parametrize(
    ("follower_terms", "conflict_index", "conflict_term"),
    [
        ((1, 1), 3, None),  # no entry 4 at all: its log ends at 2
        ((1, 2, 2, 2), 2, 2),  # entry 4 has term 2, whose first entry is index 2
    ],
    ids=["log-too-short", "conflicting-term"],
)
def test_append_entries_rule_2_reply_false_if_no_matching_prev_entry(
    follower_terms, conflict_index, conflict_term
):
    """AppendEntries RPC, Receiver implementation: "2. Reply false if log doesn't contain
    an entry at prevLogIndex whose term matches prevLogTerm" (§5.3), with the hint of the
    end of §5.3 (not in Figure 2)."""
    server = follower(3, terms=follower_terms)

    out = server.handle(2, ae(3, prev_index=4, prev_term=3, entries=[Entry(5, 3, "y")]))

    reply = AppendEntriesReply(
        term=3, success=False, conflict_index=conflict_index, conflict_term=conflict_term
    )
    assert out.sends == [(2, reply)]
    assert out.storage == []
    assert terms_of(server) == list(follower_terms)
    assert rules(out) == ["AE.2"]


@pytest.mark.parametrize(
    ("entries", "truncate_from", "expected_terms"),
    [
        ([Entry(3, 3, "a"), Entry(4, 3, "b"), Entry(5, 3, "c")], 3, [1, 1, 3, 3, 3]),
        ([Entry(3, 2, "x3"), Entry(4, 3, "b")], 4, [1, 1, 2, 3]),
    ],
    ids=["first-new-entry-conflicts", "later-entry-conflicts"],
)
def test_append_entries_rule_3_deletes_conflicting_entry_and_all_that_follow(
    entries, truncate_from, expected_terms
):
    """AppendEntries RPC, Receiver implementation: "3. If an existing entry conflicts
    with a new one (same index but different terms), delete the existing entry and all
    that follow it" (§5.3); then "4. Append any new entries not already in the log".
    Storage sees TruncateLog(from_index) first, then one SaveLog per new entry."""
    server = follower(3, terms=(1, 1, 2, 2))

    out = server.handle(2, ae(3, prev_index=2, prev_term=1, entries=entries))

    new = [e for e in entries if e.index >= truncate_from]
    assert out.storage == [
        TruncateLog(from_index=truncate_from),
        *(SaveLog(term=e.term, index=e.index, data=e.data) for e in new),
    ]
    assert terms_of(server) == expected_terms
    assert server.log.entries[truncate_from - 1 :] == new
    last = 2 + len(entries)
    assert out.sends == [(2, AppendEntriesReply(term=3, success=True, match_index=last))]
    assert rules(out) == ["AE.3", "AE.4", "AE.ok"]


def test_append_entries_rule_4_appends_only_new_entries():
    """AppendEntries RPC, Receiver implementation: "4. Append any new entries not already
    in the log" (§5.3): entries it already holds are not saved again."""
    server = follower(3, terms=(1, 1))

    out = server.handle(2, ae(3, prev_index=1, prev_term=1, entries=[Entry(2, 1, "x2")]))
    assert out.storage == []

    out = server.handle(
        2, ae(3, prev_index=1, prev_term=1, entries=[Entry(2, 1, "x2"), Entry(3, 3, "c")])
    )
    assert out.storage == [SaveLog(term=3, index=3, data="c")]
    assert terms_of(server) == [1, 1, 3]
    assert out.sends == [(2, AppendEntriesReply(term=3, success=True, match_index=3))]


@pytest.mark.parametrize(
    ("prev", "count"), [(1, 2), (0, 5), (3, 0)], ids=["stale-prefix", "duplicate", "heartbeat"]
)
def test_append_entries_duplicate_or_stale_request_never_truncates(prev, count):
    """AppendEntries RPC, Receiver implementation, rule 3 deletes only entries that
    *conflict* ("same index but different terms", §5.3). A duplicated or delayed request
    carrying a prefix of what the follower holds must not delete the entries after it:
    no storage messages at all, and the reply vouches only for what it carried."""
    held = log_of(1, 1, 2, 2, 3)
    server = follower(3, terms=(1, 1, 2, 2, 3))
    message = ae(
        3, prev_index=prev, prev_term=server.log.term_at(prev), entries=held[prev : prev + count]
    )

    out = server.handle(2, message)

    assert out.storage == []
    assert tuple(server.log.entries) == held
    assert out.sends == [(2, AppendEntriesReply(term=3, success=True, match_index=prev + count))]
    assert "AE.3" not in rules(out)


@pytest.mark.parametrize(
    ("prev", "count", "leader_commit", "expected_commit"),
    [
        (1, 1, 5, 2),  # stale short request, high leader_commit: only up to entry 2
        (0, 0, 5, 0),  # heartbeat at index 0 vouches for nothing
        (3, 2, 4, 4),  # leader_commit below the last new entry
    ],
    ids=["stale-short-request", "empty-at-start", "leader-commit-lower"],
)
def test_append_entries_rule_5_commit_index_is_min_of_leader_commit_and_last_new_entry(
    prev, count, leader_commit, expected_commit
):
    """AppendEntries RPC, Receiver implementation: "5. If leaderCommit > commitIndex, set
    commitIndex = min(leaderCommit, index of last new entry)" (§5.3). Entries past those
    the request carried may still be from a deposed leader, so they are not committed."""
    held = log_of(1, 1, 2, 2, 3)
    server = follower(3, terms=(1, 1, 2, 2, 3))
    message = ae(
        3,
        prev_index=prev,
        prev_term=server.log.term_at(prev),
        entries=held[prev : prev + count],
        commit=leader_commit,
    )

    out = server.handle(2, message)

    assert server.commit_index == expected_commit
    assert out.applies == list(held[:expected_commit])
    assert ("AE.5" in rules(out)) == (expected_commit > 0)


def test_append_entries_rule_5_commit_index_never_decreases():
    """AppendEntries RPC, Receiver implementation: "5. If leaderCommit > commitIndex, set
    commitIndex = ..." (§5.3): commitIndex only moves forward, so a delayed request with
    an older leaderCommit leaves it alone."""
    server = follower(3, terms=(1, 1, 2))
    server.handle(2, ae(3, prev_index=3, prev_term=2, commit=3))
    assert server.commit_index == 3

    out = server.handle(2, ae(3, prev_index=1, prev_term=1, commit=1))

    assert server.commit_index == 3
    assert out.applies == []


def test_without_the_noop_a_new_leader_appends_nothing() -> None:
    """Figure 2 exactly (``leader_noop=False``): a new leader's log is unchanged until a
    client sends a command; the §8 no-op is the default, not part of Figure 2."""
    server = Server(1, (1,), StoredState(current_term=0), leader_noop=False)
    server.boot()
    out = server.election_timeout()
    assert server.role is Role.LEADER
    assert len(server.log) == 0
    assert [type(m).__name__ for m in out.storage] == ["SaveHardState"]
