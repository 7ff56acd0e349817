"""Lesson 08 (PreVote, CheckQuorum, leadership transfer) tells the truth.

The lesson's scenarios behave as its text says, on the dashboard too; the rules its
exercises check are the rules the core follows (a Hypothesis property per rule, against
a real ``Server``); wrong answers to ``08.hand_over`` get the sentence meant for them.
Set up, step, check."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solution_modules import SOLUTIONS_DIR, load_solutions_module

import luminous_edu as le
from luminous_edu import exercises as ex
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
from luminous_edu.exercises import lesson08
from luminous_edu.viz import palette, viewmodels

SOLVED = load_solutions_module(SOLUTIONS_DIR / "lesson08.py")
# The reference run, and a student's own (what lesson_seed("08") gives that student).
SEEDS = [lesson08.SEED, ex.seeds.seed_for("08", "ada@example.edu")]
per_run = pytest.mark.parametrize("seed", SEEDS, ids=["reference", "a student"])
DERANDOMIZED = settings(max_examples=200, derandomize=True, database=None, deadline=None)

# ------------------------------------------------- section 1 and 2: rejoining


@per_run
def test_without_prevote_a_rejoining_server_deposes_the_leader(seed: int) -> None:
    run = lesson08.rejoin(prevote=False, seed=seed)
    cluster = run.cluster
    assert run.term_away > 5  # it stood for election again and again, alone
    assert cluster.leader not in (None, run.lonely)  # it cannot win: its log is behind
    assert cluster.servers[cluster.leader].current_term > run.term_away
    assert any(e.rule == "TERM" and e.server == run.leader for e in cluster.trace)
    assert cluster.violations == []
    assert ex.get("08.predict_rejoin").right_answer(seed) == "b"


@per_run
def test_with_prevote_it_stays_a_precandidate_in_its_term_and_disrupts_nothing(
    seed: int,
) -> None:
    cluster = le.Cluster(servers=5, seed=seed, prevote=True)
    cluster.run_until(lambda c: c.leader is not None)
    cluster.run(100)
    leader = cluster.leader
    assert leader is not None
    term = cluster.servers[leader].current_term
    if seed == lesson08.SEED:
        assert term == 1
    lonely = max(i for i in cluster.ids if i != leader)
    cluster.disconnect(lonely)
    cluster.run(2_000)
    assert cluster.servers[lonely].role is Role.PRECANDIDATE
    assert cluster.servers[lonely].current_term == term
    # The dashboard draws it in the pre-candidate colour, and says so in words.
    row = viewmodels.server_rows(cluster)[lonely]
    assert row["role"] == "precandidate"
    assert row["colour"] == palette.ROLE_COLOURS["precandidate"]
    assert row["colour"] not in (
        palette.ROLE_COLOURS["candidate"],
        palette.ROLE_COLOURS["follower"],
    )
    cluster.connect(lonely)
    cluster.run(1_000)
    assert cluster.leader == leader and cluster.servers[leader].current_term == term
    assert cluster.servers[lonely].role is Role.FOLLOWER
    assert ex.get("08.predict_prevote_term").right_answer(seed) == term
    assert SOLVED.solutions(seed)["08.predict_prevote_term"] == term


# ------------------------------------------------------ section 3: CheckQuorum


@per_run
def test_a_cut_off_leader_keeps_leading_without_check_quorum(seed: int) -> None:
    run = lesson08.cut_off_leader(check_quorum=False, seed=seed)
    assert run.cluster.servers[run.old].role is Role.LEADER
    assert run.cluster.leader not in (None, run.old)  # the majority side elected another
    assert not any(e.rule == "CQ" for e in run.cluster.trace)


@per_run
def test_with_check_quorum_it_steps_down_and_the_dashboard_shows_it(seed: int) -> None:
    run = lesson08.cut_off_leader(check_quorum=True, seed=seed)
    cluster = run.cluster
    term = next(e.args[2] for e in cluster.trace if e.rule == "LEADER" and e.server == run.old)
    assert [e.server for e in cluster.trace if e.rule == "CQ"] == [run.old]
    rows = viewmodels.server_rows(cluster)
    for sid in run.minority:  # both wait as pre-candidates, their terms flat
        assert cluster.servers[sid].role is Role.PRECANDIDATE
        assert cluster.servers[sid].current_term == term
        assert rows[sid]["colour"] == palette.ROLE_COLOURS["precandidate"]
    majority_leader = cluster.leader
    assert majority_leader is not None and majority_leader not in run.minority
    assert rows[majority_leader]["colour"] == palette.ROLE_COLOURS["leader"]
    assert cluster.violations == []
    assert ex.get("08.predict_check_quorum").right_answer(seed) is True


@per_run
def test_a_read_on_the_cut_off_leader_never_completes(seed: int) -> None:
    run = lesson08.cut_off_leader(check_quorum=False, seed=seed)
    stale = run.cluster.read(lambda machine: list(machine.values), server=run.old)
    fresh = run.cluster.read(lambda machine: list(machine.values))
    run.cluster.run(1_000)
    assert stale.accepted and not stale.done
    assert fresh.done and fresh.value == ["a = 1"]
    aware = lesson08.cut_off_leader(check_quorum=True, seed=seed)
    assert not aware.cluster.read(lambda machine: 1, server=aware.old).accepted
    assert ex.get("08.predict_stale_read").right_answer(seed) is False


# ------------------------------------------------ section 4: leadership transfer


@per_run
def test_a_transfer_catches_the_target_up_then_sends_timeout_now(seed: int) -> None:
    run = lesson08.transfer_to_lagging_follower(seed)
    cluster = run.cluster
    term = cluster.servers[run.old].current_term
    assert run.during is False
    assert cluster.run_until(lambda c: c.leader == run.target, max_ms=2_000)
    rules = [e.rule for e in cluster.trace.since(run.mark)]
    assert rules.index("TR.start") < rules.index("AE.4") < rules.index("TR.timeout_now")
    assert rules.index("TR.timeout_now") < rules.index("TN") < rules.index("LEADER")
    assert cluster.servers[run.target].current_term == term + 1  # one election, no more
    assert cluster.propose("after").accepted
    assert ex.get("08.predict_transfer_propose").right_answer(seed) is False


def test_the_lessons_runs_replay_from_their_records() -> None:
    run = lesson08.transfer_to_lagging_follower()
    run.cluster.run(500)
    again = le.Cluster.load(run.cluster.export())
    assert again.trace_digest() == run.cluster.trace_digest()
    first, second = lesson08.rejoin(prevote=True), lesson08.rejoin(prevote=True)
    assert first.cluster.trace_digest() == second.cluster.trace_digest()


# ---------------------------------------- the exercises' rules are the core's


def pre_vote_granted_by_core(
    voter_term: int, request_term: int, heard_from_leader: bool, up_to_date: bool
) -> bool:
    """Ask a real server (S2 of three, with PreVote) for a pre-vote from S3."""
    server = Server(2, (1, 2, 3), StoredState(voter_term, None, [Entry(1, 1, "x")]), prevote=True)
    server.boot()
    # S1 leads the voter's term; the voter last heard from it at t=1000.
    server.handle(1, AppendEntries(voter_term, 1, 1, 1, (), 0), now=1_000)
    asked_at = 1_010 if heard_from_leader else 1_000 + server.min_election_timeout_ms + 10
    last_index, last_term = (1, 1) if up_to_date else (0, 0)
    request = RequestVote(request_term, 3, last_index, last_term, pre_vote=True)
    out = server.handle(3, request, now=asked_at)
    assert server.current_term == voter_term and out.storage == []  # a pre-vote changes nothing
    [(target, reply)] = out.sends
    assert target == 3 and isinstance(reply, RequestVoteReply) and reply.pre_vote
    return bool(reply.vote_granted)


@DERANDOMIZED
@given(
    voter_term=st.integers(min_value=1, max_value=6),
    request_term=st.integers(min_value=0, max_value=8),
    heard_from_leader=st.booleans(),
    up_to_date=st.booleans(),
)
def test_grants_pre_vote_is_the_cores_rule(
    voter_term: int, request_term: int, heard_from_leader: bool, up_to_date: bool
) -> None:
    args = (voter_term, request_term, heard_from_leader, up_to_date)
    assert SOLVED.grants_pre_vote(*args) == pre_vote_granted_by_core(*args), f"{args}"


def test_the_pre_vote_cases_students_see_are_the_cores_rule() -> None:
    for args, expected, why in lesson08._PRE_VOTE_CASES:
        assert pre_vote_granted_by_core(*args) == expected, (args, why)


def leader_steps_down_in_core(servers: int, heard_from: set[int]) -> bool:
    """Elect S1 of a real ``servers``-server cluster with CheckQuorum at t=0, let the
    followers in ``heard_from`` answer at t=200, and fire its heartbeat at t=300."""
    voters = tuple(range(1, servers + 1))
    leader = Server(1, voters, StoredState(), check_quorum=True)
    leader.boot()
    leader.election_timeout(now=0)
    for peer in voters[1:]:
        if leader.role is Role.LEADER:
            break
        leader.handle(peer, RequestVoteReply(1, True), now=0)
    assert leader.role is Role.LEADER
    for peer in sorted(heard_from):
        leader.handle(peer, AppendEntriesReply(1, True, match_index=0), now=200)
    leader.heartbeat_timeout(now=300)
    return leader.role is not Role.LEADER


@DERANDOMIZED
@given(
    st.integers(min_value=1, max_value=9).flatmap(
        lambda n: (
            st.tuples(st.just(n), st.sets(st.sampled_from(range(2, n + 1))))
            if n > 1
            else st.just((1, set()))
        )
    )
)
def test_steps_down_is_the_cores_check_quorum(case: tuple[int, set[int]]) -> None:
    servers, heard_from = case
    assert SOLVED.steps_down(servers, heard_from) == leader_steps_down_in_core(
        servers, heard_from
    ), f"steps_down({servers}, {heard_from})"


def test_the_steps_down_cases_students_see_are_the_cores_rule() -> None:
    for (servers, heard_from), expected, why in lesson08._STEPS_DOWN_CASES:
        # The cases name followers freely; the core's leader is S1, so renumber them.
        followers = {i + 2 for i in range(len(heard_from))}
        assert leader_steps_down_in_core(servers, followers) == expected, why


# ------------------------------------------------------ 08.hand_over answers


def transfer_to(choose: Any, wait: bool = True) -> Any:
    def answer(cluster: le.Cluster) -> int:
        leader = cluster.leader
        target = choose(cluster, leader)
        cluster.transfer_leadership(to=target)
        if wait:
            cluster.run_until(lambda c: c.leader == target, max_ms=2_000, warn=False)
        return int(target)

    return answer


def lowest_follower(cluster: le.Cluster, leader: int) -> int:
    return min(i for i in cluster.ids if i != leader)


def most_behind(cluster: le.Cluster, leader: int) -> int:
    match = cluster.servers[leader].match_index
    return min((i for i in match if cluster.servers[i].alive), key=lambda i: match[i])


def best(cluster: le.Cluster, leader: int) -> int:
    match = cluster.servers[leader].match_index
    return max((i for i in match if cluster.servers[i].alive), key=lambda i: match[i])


def test_hand_over_to_a_crashed_follower_is_explained() -> None:
    result = ex.check("08.hand_over", transfer_to(lowest_follower))
    assert not result.passed and "which is down" in result.message
    assert result.hint and "alive" in result.hint


def test_hand_over_to_a_follower_behind_is_explained() -> None:
    result = ex.check("08.hand_over", transfer_to(most_behind))
    assert not result.passed and "whose log was behind" in result.message
    assert "match_index" in result.message


def test_hand_over_that_does_not_wait_is_explained() -> None:
    result = ex.check("08.hand_over", transfer_to(best, wait=False))
    assert not result.passed and "wait until" in result.message


def test_hand_over_by_crashing_the_leader_is_not_a_transfer() -> None:
    def crash_it(cluster: le.Cluster) -> int | None:
        leader = cluster.leader
        assert leader is not None
        cluster.crash(leader)
        cluster.run_until(lambda c: c.leader is not None)
        return cluster.leader

    result = ex.check("08.hand_over", crash_it)
    assert not result.passed and "no leadership transfer started" in result.message


def test_every_maintenance_cluster_sets_both_traps() -> None:
    for servers, seed in lesson08.HAND_OVER_CLUSTERS:
        cluster, leader, crashed, lagging = lesson08.maintenance_cluster(servers, seed)
        match = cluster.servers[leader].match_index
        where = f"maintenance_cluster({servers}, {seed})"
        assert not cluster.servers[crashed].alive, where
        assert match[crashed] == max(match.values()), where  # the leader thinks it up to date
        assert match[lagging] < max(match.values()), where
    assert ex.check("08.hand_over", transfer_to(best)).passed


def test_arguments_are_shown_as_a_student_writes_them() -> None:
    result = ex.check("08.grants_pre_vote", lambda a, b, c, d: b > a and d)
    assert "grants_pre_vote(1, 2, True, True) returned yes, but the answer is no" in (
        result.message
    )
    result = ex.check("08.steps_down", lambda servers, heard_from: len(heard_from) < 1)
    assert "steps_down(5, {1}) returned no, but the answer is yes" in result.message
    result = ex.check("08.steps_down", lambda servers, heard_from: bool(heard_from))
    assert "steps_down(5, {1, 2}) returned yes" in result.message
