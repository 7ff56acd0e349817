"""PreVote, CheckQuorum and leadership transfer (Ongaro's thesis §9.6, §6.2, §4.2.3,
§3.10), each behind a Cluster switch. Set up, step, check, as for Figure 2."""

from __future__ import annotations

import random

import pytest
from scenario_helpers import churn

import luminous_edu as le
from luminous_edu.core import RequestVote, RequestVoteReply, Role, Server, StoredState
from luminous_edu.core.messages import TimeoutNow


def elect(cluster: le.Cluster) -> int:
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = cluster.leader
    assert leader is not None
    return leader


def follower_of(cluster: le.Cluster, leader: int) -> int:
    return next(i for i in cluster.ids if i != leader)


# ------------------------------------------------------------------ PreVote


def test_a_precandidate_keeps_its_term_and_asks_for_pre_votes() -> None:
    """ "a candidate would first ask other servers whether its log was up-to-date
    enough to get their vote" (thesis §9.6): no term change, no vote, nothing saved."""
    server = Server(1, (1, 2, 3), StoredState(current_term=4), prevote=True)
    server.boot()
    out = server.election_timeout(now=300)
    assert server.role is Role.PRECANDIDATE
    assert server.current_term == 4 and server.voted_for is None
    assert out.storage == []
    assert [m for _, m in out.sends] == [
        RequestVote(term=5, candidate_id=1, last_log_index=0, last_log_term=0, pre_vote=True)
    ] * 2


def test_a_pre_vote_changes_nothing_at_the_receiver() -> None:
    server = Server(2, (1, 2, 3), StoredState(current_term=4), prevote=True)
    server.boot()
    request = RequestVote(term=5, candidate_id=1, last_log_index=0, last_log_term=0, pre_vote=True)
    out = server.handle(1, request, now=500)
    assert server.current_term == 4 and server.voted_for is None and out.storage == []
    assert out.sends == [(1, RequestVoteReply(term=5, vote_granted=True, pre_vote=True))]


def test_a_majority_of_pre_votes_starts_a_real_election() -> None:
    server = Server(1, (1, 2, 3), StoredState(current_term=4), prevote=True)
    server.boot()
    server.election_timeout(now=300)
    out = server.handle(2, RequestVoteReply(term=5, vote_granted=True, pre_vote=True), now=310)
    assert server.role is Role.CANDIDATE and server.current_term == 5
    assert out.storage[0] == le.SaveHardState(current_term=5, voted_for=1)


def test_pre_vote_refused_within_minimum_election_timeout_of_a_leader() -> None:
    cluster = le.Cluster(servers=3, seed=1, prevote=True)
    leader = elect(cluster)
    cluster.run(100)
    other = follower_of(cluster, leader)
    cluster.timeout(other)
    cluster.run(50)
    assert cluster.leader == leader
    assert any(e.rule == "PV.leader" for e in cluster.trace)
    # The leader itself says that it leads; the pre-candidate, a follower again once
    # it heard the leader, ignores the late replies as pre-vote replies.
    said = {e.rule: e.sentence for e in cluster.trace}
    assert said["PV.self"] == (
        f"S{leader} would not vote for S{other}: S{leader} itself is the leader of term 1 "
        "(thesis §9.6)"
    )
    assert said["PV.stale"].startswith(f"S{other} ignores a pre-vote reply from S")


def test_a_refused_pre_vote_is_told_as_one_for_the_term_it_would_start() -> None:
    server = Server(1, (1, 2, 3), StoredState(current_term=4), prevote=True)
    server.boot()
    server.election_timeout(now=300)
    out = server.handle(2, RequestVoteReply(term=4, vote_granted=False, pre_vote=True), now=310)
    assert out.trace == [("PV.refused", (1, 2, 5))]
    assert server.role is Role.PRECANDIDATE


def test_a_precandidate_that_hears_the_leader_stops_being_a_precandidate() -> None:
    server = Server(2, (1, 2, 3), StoredState(current_term=1), prevote=True)
    server.boot()
    server.election_timeout(now=300)
    assert server.votes_granted == {2}
    heartbeat = le.core.messages.AppendEntries(
        term=1, leader_id=1, prev_log_index=0, prev_log_term=0, entries=(), leader_commit=0
    )
    out = server.handle(1, heartbeat, now=310)
    assert server.role is Role.FOLLOWER
    assert ("AE.candidate", (2, 1, 1, "precandidate")) in out.trace


def test_the_servers_view_shows_a_precandidates_pre_votes() -> None:
    cluster = le.Cluster(servers=3, seed=1, prevote=True)
    cluster.timeout(1)
    assert cluster.servers[1].role is Role.PRECANDIDATE
    assert cluster.servers[1].votes_granted == {1}
    cluster.run_until(lambda c: len(c.servers[1].votes_granted) == 2 or c.leader == 1)
    assert cluster.servers[1].role is not Role.FOLLOWER


def test_an_isolated_server_keeps_its_term_with_prevote_and_not_without() -> None:
    terms = {}
    for prevote in (False, True):
        cluster = le.Cluster(servers=5, seed=3, prevote=prevote)
        leader = elect(cluster)
        lonely = follower_of(cluster, leader)
        cluster.disconnect(lonely)
        cluster.run(3_000)
        terms[prevote] = cluster.servers[lonely].current_term
        cluster.connect(lonely)
        cluster.run(1_000)
        if prevote:  # rejoining disrupts nothing: same leader, same term
            assert cluster.leader == leader
            assert cluster.servers[leader].current_term == 1
        assert cluster.violations == []
    assert terms[True] == 1
    assert terms[False] > 5


# -------------------------------------------------------------- CheckQuorum


def test_a_leader_cut_off_from_a_majority_steps_down_with_check_quorum() -> None:
    for check_quorum in (False, True):
        cluster = le.Cluster(servers=5, seed=3, check_quorum=check_quorum)
        leader = elect(cluster)
        cluster.partition({leader})
        cluster.run(1_000)
        still_leads = cluster.servers[leader].role is Role.LEADER
        assert still_leads is (not check_quorum)
        if check_quorum:
            assert any(e.rule == "CQ" and e.server == leader for e in cluster.trace)


def test_leader_stickiness_ignores_a_disruptive_vote_request() -> None:
    """ "If a server receives a RequestVote request within the minimum election
    timeout of hearing from a current leader, it does not update its term or grant its
    vote" (thesis §4.2.3)."""
    cluster = le.Cluster(servers=3, seed=1, check_quorum=True)
    leader = elect(cluster)
    cluster.run(100)
    rogue = follower_of(cluster, leader)
    cluster.timeout(rogue)  # without PreVote: a real election in term 2
    cluster.run(40)
    others = [i for i in cluster.ids if i not in (leader, rogue)]
    assert all(cluster.servers[i].current_term == 1 for i in others)
    assert any(e.rule == "RV.sticky" for e in cluster.trace)


# ------------------------------------------------------ leadership transfer


def test_transfer_brings_the_target_up_to_date_then_it_leads() -> None:
    # PreVote keeps the target, cut off for a while, from disrupting the leader.
    cluster = le.Cluster(servers=5, seed=2, prevote=True)
    leader = elect(cluster)
    target = follower_of(cluster, leader)
    cluster.disconnect(target)
    for n in range(5):
        cluster.propose(n)
    cluster.run(200)
    cluster.connect(target)
    assert cluster.leader == leader
    assert cluster.servers[target].last_log_index < cluster.servers[leader].last_log_index
    assert cluster.transfer_leadership(to=target) == le.TransferResult(True, None)
    refused = cluster.propose("during the transfer")
    assert not refused.accepted
    cluster.run_until(lambda c: c.leader == target, max_ms=2_000)
    assert cluster.leader == target
    rules = [e.rule for e in cluster.trace]
    assert rules.index("TR.start") < rules.index("TR.timeout_now") < rules.index("TN")
    assert cluster.propose("after").accepted
    cluster.run(300)
    assert [d for _, d in cluster.applied(target)][-1] == "after"
    assert cluster.violations == []


def test_transfer_to_a_crashed_server_gives_up_after_an_election_timeout() -> None:
    cluster = le.Cluster(servers=5, seed=2)
    leader = elect(cluster)
    target = follower_of(cluster, leader)
    cluster.propose("x")
    cluster.crash(target)
    assert cluster.transfer_leadership(to=target) == le.TransferResult(False, f"S{target} is down")
    cluster.restart(target)
    cluster.disconnect(target)
    cluster.propose("y")  # the target cannot catch up: it is cut off
    assert cluster.transfer_leadership(to=target).accepted
    cluster.run(400)
    assert cluster.leader == leader
    assert any(e.rule == "TR.abort" for e in cluster.trace)
    assert cluster.propose("z").accepted


def test_transfer_refusals_name_the_reason() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    assert cluster.transfer_leadership(to=2).reason == "there is no leader to hand over from"
    leader = elect(cluster)
    assert cluster.transfer_leadership(to=leader).reason == f"S{leader} is already the leader"
    with pytest.raises(le.UnknownServerError):
        cluster.transfer_leadership(to=9)
    other = follower_of(cluster, leader)
    assert cluster.transfer_leadership(to=other).accepted
    third = next(i for i in cluster.ids if i not in (leader, other))
    assert "already under way" in str(cluster.transfer_leadership(to=third).reason)


def test_a_stale_timeout_now_is_ignored() -> None:
    server = Server(2, (1, 2, 3), StoredState(current_term=3))
    server.boot()
    out = server.handle(1, TimeoutNow(term=2, leader_id=1), now=10)
    assert server.role is Role.FOLLOWER and server.current_term == 3 and out.sends == []


# ------------------------------------------------------------- everything


def test_switches_are_recorded_and_replay() -> None:
    cluster = le.Cluster(servers=3, seed=4, prevote=True, check_quorum=True)
    leader = elect(cluster)
    cluster.transfer_leadership(to=follower_of(cluster, leader))
    cluster.run(500)
    loaded = le.Cluster.load(cluster.export())
    assert loaded.prevote and loaded.check_quorum
    assert loaded.trace_digest() == cluster.trace_digest()


@pytest.mark.parametrize("seed", range(8))
def test_churn_with_every_switch_on_stays_safe(seed: int) -> None:
    cluster = le.Cluster(
        servers=5,
        seed=seed,
        prevote=True,
        check_quorum=True,
        snapshot_threshold=None if seed % 2 else 4,  # log compaction (§7) in half the runs
    )
    churn(cluster, random.Random(seed), rounds=60)
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=10_000), f"seed {seed}"
    assert cluster.violations == [], f"seed {seed}: {cluster.violations}"


# ---------------------------------------------------------- ReadIndex reads


def test_a_read_sees_every_write_committed_before_it() -> None:
    cluster = le.Cluster(servers=5, seed=3)
    elect(cluster)
    cluster.propose("a")
    cluster.run(100)
    handle = cluster.read(lambda machine: list(machine.values))
    assert handle.accepted and not handle.done
    cluster.run(100)
    assert handle.done and handle.value == ["a"] and handle.index == 2
    rules = [e.rule for e in cluster.trace]
    assert rules.index("READ") < rules.index("READ.done")


def test_a_read_sent_to_a_follower_is_not_accepted() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    leader = elect(cluster)
    cluster.run(100)
    handle = cluster.read(lambda machine: 1, server=follower_of(cluster, leader))
    assert not handle.accepted and handle.leader_hint == leader and not handle.done


def test_a_leader_cut_off_never_answers_a_read() -> None:
    cluster = le.Cluster(servers=5, seed=3)
    leader = elect(cluster)
    cluster.run(100)
    cluster.partition({leader})
    handle = cluster.read(lambda machine: 1, server=leader)
    assert handle.accepted
    cluster.run(2_000)
    assert not handle.done


def test_a_read_waits_for_an_entry_of_the_leaders_term() -> None:
    """ "If the leader has not yet marked an entry from its current term committed, it
    waits until it has done so" (thesis §6.4): without the no-op, until a command."""
    cluster = le.Cluster(servers=3, seed=1, leader_noop=False)
    elect(cluster)
    cluster.run(200)
    handle = cluster.read(lambda machine: len(machine.values))
    cluster.run(200)
    assert not handle.done
    cluster.propose("x")
    cluster.run(200)
    assert handle.done and handle.value == 1


def test_a_query_that_raises_is_reported_on_the_handle() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    elect(cluster)
    handle = cluster.read(lambda machine: 1 / 0)
    cluster.run(200)
    assert handle.done and handle.error == "ZeroDivisionError: division by zero"
    assert cluster.errors == [] and cluster.leader is not None


def test_rewind_takes_a_read_back() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    elect(cluster)
    handle = cluster.read(lambda machine: "now")
    cluster.run(200)
    assert handle.done
    cluster.rewind(cluster.step_count - 10)
    assert not handle.done
    with pytest.raises(le.LuminousError, match="give a function of the state machine"):
        cluster.read("not a function")  # type: ignore[arg-type]
