"""The classic-bug switches (core/bugs.py, ``le.BUGS``), one behaviour per test.

Each switch breaks one sentence of the paper on purpose. Set up one server as the rule
needs it, step one message, check that the switched-on server does what the sentence
forbids (and says so in a ``BUG.<name>`` trace event) and that the same step without the
switch keeps the rule. Then each switch's one-call counterexample: it breaks the
property ``le.BUGS[name].breaks``, and the same calls with the rule kept break nothing.
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.check import LEADER_COMPLETENESS
from luminous_edu.core import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    RequestVote,
    RequestVoteReply,
    Role,
    Server,
    StoredState,
    TruncateLog,
)
from luminous_edu.core.bugs import CATALOGUE
from luminous_edu.core.rules import RULES
from luminous_edu.explore.classic import deliver, elect

THREE = (1, 2, 3)
ISSUE_16 = (
    "commit_old_term",
    "no_election_restriction",
    "delete_matching_entries",
    "vote_twice",
    "commit_past_last_new",
    "stale_replies",
    "single_change_before_commit",
    "read_without_quorum",
)


def booted(term: int = 0, terms: tuple[int, ...] = (), voted_for=None, bugs=()) -> Server:
    """S1 as a follower in ``term`` with one entry per term in ``terms``."""
    log = tuple(Entry(i, t, f"x{i}") for i, t in enumerate(terms, start=1))
    stored = StoredState(current_term=term, voted_for=voted_for, entries=log)
    server = Server(1, THREE, stored, bugs=frozenset(bugs))
    server.boot()
    return server


def rules(out: le.core.Output) -> list[str]:
    return [rule for rule, _ in out.trace]


# ------------------------------------------------------------------ the catalogue


def test_le_bugs_names_the_switches_of_issue_16_with_their_sentences() -> None:
    assert tuple(le.BUGS) == ISSUE_16 == tuple(CATALOGUE)
    for name, bug in le.BUGS.items():
        assert bug.name == name and bug.sentence and "§" in bug.section
        assert str(bug) == f'"{bug.sentence}" ({bug.section})'
        assert bug.breaks in (*le.FIGURE_3, "Linearizable Reads")
        # The trace event that says the bug fired quotes the sentence (or its heart).
        template = RULES[f"BUG.{name}"].template
        assert template.startswith(f"BUG {name}:") and "§" in template
    assert "Figure 8" in le.BUGS["commit_old_term"].section
    assert le.BUGS["commit_old_term"].needs == {"leader_noop": False}


def test_an_unknown_bug_name_is_refused_with_the_names_to_use() -> None:
    with pytest.raises(le.LuminousError, match=r"no classic bug is called 'vote_thrice'.*"):
        le.Cluster(bugs={"vote_thrice"})
    with pytest.raises(le.LuminousError, match="give a set of bug names"):
        le.Cluster(bugs="vote_twice")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="the names are commit_old_term"):
        le.BUGS["vote_thrice"]


def test_single_change_bug_stays_the_older_name_of_single_change_before_commit() -> None:
    old = le.Cluster(servers=3, single_change_bug=True)
    assert old.bugs == {"single_change_before_commit"} and old.single_change_bug
    new = le.Cluster(servers=3, bugs={"single_change_before_commit"})
    assert new.single_change_bug
    assert not le.Cluster(servers=3).bugs


def test_a_record_keeps_the_bugs_and_replays_the_same_run() -> None:
    cluster = le.BUGS["vote_twice"].scenario()
    record = cluster.export()
    assert record["config"]["bugs"] == ["vote_twice"]
    loaded = le.Cluster.load(record)
    assert loaded.bugs == {"vote_twice"}
    assert loaded.trace_digest() == cluster.trace_digest()
    assert [str(v) for v in loaded.violations] == [str(v) for v in cluster.violations]


# ------------------------------------------------------- each switch, by its rule


def test_vote_twice_grants_a_second_vote_in_one_term() -> None:
    """RequestVote rule 2, "If votedFor is null or candidateId" (§5.2): S1 voted for S2
    in term 1; S3 asks in the same term."""
    request = RequestVote(term=1, candidate_id=3, last_log_index=0, last_log_term=0)
    kept = booted(1, voted_for=2).handle(3, request)
    assert kept.sends == [(3, RequestVoteReply(term=1, vote_granted=False))]
    buggy = booted(1, voted_for=2, bugs={"vote_twice"})
    out = buggy.handle(3, request)
    assert out.sends == [(3, RequestVoteReply(term=1, vote_granted=True))]
    assert rules(out) == ["BUG.vote_twice", "RV.2.grant"] and buggy.voted_for == 3


def test_no_election_restriction_votes_for_a_less_up_to_date_log() -> None:
    """§5.4.1: "the voter denies its vote if its own log is more up-to-date than that of
    the candidate". S1 holds an entry of term 1; S2's log is empty."""
    request = RequestVote(term=2, candidate_id=2, last_log_index=0, last_log_term=0)
    kept = booted(1, (1,)).handle(2, request)
    assert kept.sends == [(2, RequestVoteReply(term=2, vote_granted=False))]
    out = booted(1, (1,), bugs={"no_election_restriction"}).handle(2, request)
    assert out.sends == [(2, RequestVoteReply(term=2, vote_granted=True))]
    assert "BUG.no_election_restriction" in rules(out)


def test_delete_matching_entries_cuts_the_log_after_a_late_heartbeat() -> None:
    """AppendEntries rule 3 deletes entries only "If an existing entry conflicts with a
    new one". S1 holds entries 1..3 of term 1; a late heartbeat after index 1 arrives."""
    heartbeat = AppendEntries(
        term=2, leader_id=2, prev_log_index=1, prev_log_term=1, entries=(), leader_commit=0
    )
    kept = booted(1, (1, 1, 1))
    assert not any(isinstance(m, TruncateLog) for m in kept.handle(2, heartbeat).storage)
    assert kept.log.last_index == 3
    buggy = booted(1, (1, 1, 1), bugs={"delete_matching_entries"})
    out = buggy.handle(2, heartbeat)
    assert TruncateLog(from_index=2) in out.storage and buggy.log.last_index == 1
    assert "BUG.delete_matching_entries" in rules(out)


def test_commit_past_last_new_commits_an_entry_the_leader_never_sent() -> None:
    """AppendEntries rule 5: "set commitIndex = min(leaderCommit, index of last new
    entry)". S1 holds entry 2 of term 1 that the leader of term 2 never had; the
    leader has committed through 2 and sends entries after index 1: none."""
    heartbeat = AppendEntries(
        term=2, leader_id=2, prev_log_index=1, prev_log_term=1, entries=(), leader_commit=2
    )
    kept = booted(1, (1, 1))
    kept.handle(2, heartbeat)
    assert kept.commit_index == 1
    buggy = booted(1, (1, 1), bugs={"commit_past_last_new"})
    out = buggy.handle(2, heartbeat)
    assert buggy.commit_index == 2 and [e.index for e in out.applies] == [1, 2]
    assert "BUG.commit_past_last_new" in rules(out)


def test_stale_replies_count_a_vote_of_an_earlier_term() -> None:
    """§5.2: a candidate wins with "votes from a majority of the servers in the full
    cluster for the same term". S1, candidate in term 2, gets S2's vote of term 1."""
    old_vote = RequestVoteReply(term=1, vote_granted=True)
    kept = booted(1)
    kept.election_timeout()
    assert rules(kept.handle(2, old_vote)) == ["RVR.stale"] and kept.role is Role.CANDIDATE
    buggy = booted(1, bugs={"stale_replies"})
    buggy.election_timeout()
    out = buggy.handle(2, old_vote)
    assert rules(out)[:2] == ["BUG.stale_replies", "RVR.grant"] and buggy.role is Role.LEADER


def test_commit_old_term_counts_replicas_of_an_earlier_term() -> None:
    """§5.4.2: "Raft never commits log entries from previous terms by counting
    replicas". S1 leads term 2 (no no-op entry) over its entry of term 1; S2 stores it."""

    def leading(bugs: set[str]) -> Server:
        log = (Entry(1, 1, "x1"),)
        server = Server(
            1, THREE, StoredState(1, None, log), leader_noop=False, bugs=frozenset(bugs)
        )
        server.boot()
        server.election_timeout()
        server.handle(2, RequestVoteReply(term=2, vote_granted=True))
        assert server.role is Role.LEADER
        return server

    ack = AppendEntriesReply(term=2, success=True, match_index=1)
    kept = leading(set())
    assert "COMMIT.old" in rules(kept.handle(2, ack)) and kept.commit_index == 0
    buggy = leading({"commit_old_term"})
    assert "BUG.commit_old_term" in rules(buggy.handle(2, ack)) and buggy.commit_index == 1


def test_read_without_quorum_answers_before_a_majority_confirms() -> None:
    """Thesis §6.4, ReadIndex step 3: the leader "waits for their acknowledgments from a
    majority of the cluster" before it answers."""
    for bugs, answered in ((set(), False), ({"read_without_quorum"}, True)):
        cluster = le.Cluster(servers=3, seed=1, bugs=bugs)
        cluster.run_until(lambda c: c.leader is not None and c.servers[c.leader].commit_index)
        leader = cluster.leader
        cluster.disconnect(leader)  # no heartbeat reply can come back
        handle = cluster.read(lambda values: list(values))
        assert handle.accepted and handle.done is answered
        fired = any(e.rule == "BUG.read_without_quorum" for e in cluster.trace)
        assert fired is answered


# ------------------------------------------------------ the counterexamples


@pytest.mark.parametrize("name", ISSUE_16)
def test_each_counterexample_breaks_its_property_and_shows_the_bug(name: str) -> None:
    bug = le.BUGS[name]
    cluster = bug.scenario()
    assert bug.breaks in {v.property for v in cluster.violations}, cluster.violations
    fired = [e for e in cluster.trace if e.rule == f"BUG.{name}"]
    assert fired, cluster.trace.text(last=20)
    assert f"BUG {name}:" in fired[0].sentence and "§" in fired[0].sentence
    assert cluster.errors == []


@pytest.mark.parametrize("name", ISSUE_16)
def test_the_same_calls_with_the_rule_kept_break_nothing(name: str) -> None:
    cluster = le.BUGS[name].scenario(bug=False)
    assert cluster.violations == [] and cluster.check() == []
    assert not any(e.rule.startswith("BUG.") for e in cluster.trace)


# --------------------------------------------- what the explorer taught the checker


def test_a_leader_of_an_older_term_elected_late_may_lack_a_later_commit() -> None:
    """Leader Completeness: a committed entry "will be present in the logs of the
    leaders for all higher-numbered terms" (§5.4). S3 stands in term 1 and gets S2's
    vote, but the reply is slow; S2 times out, leads term 2 with S1 and commits a
    command. Then S2's old vote reaches S3, which leads term 1 without that command:
    legal (term 1 is lower; S3 will be deposed before it commits anything)."""
    c = le.Cluster(servers=3, seed=1)
    c.timeout(3)
    deliver(c, 3, 2, "RequestVote")  # S2 votes for S3 in term 1; the reply waits
    elect(c, 2, 1)  # S2: term 2, with S1's vote
    deliver(c, 2, 1, "AppendEntries")
    deliver(c, 1, 2, "AppendEntriesReply")  # S2 commits its no-op of term 2
    assert c.servers[2].commit_index == 1
    deliver(c, 2, 3, "RequestVoteReply")  # the vote of term 1 arrives
    assert c.servers[3].role is Role.LEADER and c.servers[3].current_term == 1
    assert c.violations == [] and c.check() == []


def test_a_leader_of_a_later_term_without_a_commit_is_still_reported() -> None:
    cluster = le.BUGS["no_election_restriction"].scenario()
    (violation,) = cluster.violations
    assert violation.property == LEADER_COMPLETENESS
    assert violation.detail.startswith("S3 became leader of term 2 without the committed entry")
