"""Membership changes (paper §6, Ongaro's thesis chapter 4): the configuration as data,
its quorum rules, single-server changes, joint consensus, catching up new servers,
removing the leader, and the 2015 single-server-change bug. Set up, step, check."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_helpers import churn as shared_churn

import luminous_edu as le
from luminous_edu.core import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    RequestVote,
    Role,
    Server,
    StoredState,
)
from luminous_edu.core.membership import Configuration, config_entry_data, parse_config
from luminous_edu.core.reconfiguration import config_data, restore_config
from luminous_edu.core.rules import RULES
from luminous_edu.sim.scenarios import (
    add_server_scenario,
    joint_partition_scenario,
    remove_leader_scenario,
    single_change_bug_scenario,
)


def config_entry(index: int, term: int, voters: tuple[int, ...], **more: object) -> Entry:
    return Entry(index, term, config_entry_data(Configuration.of(voters, **more)))  # type: ignore[arg-type]


def elect(cluster: le.Cluster, leader: int = 1) -> int:
    cluster.timeout(leader)
    assert cluster.run_until(
        lambda c: c.leader == leader and c.servers[leader].commit_index >= 1, 2_000
    )
    return leader


def settle(cluster: le.Cluster, ms: int = 1_000) -> None:
    cluster.run(ms)
    assert cluster.violations == [], cluster.violations
    assert cluster.check() == []


def saved(server: Server, result: Any) -> Any:
    """What the world does after an input: once it has stored the entries a leader
    appended, it says so (``log_saved``), and the leader's own copy counts (§5.3).
    ``result`` is an Output, or a (value, Output) pair; returned as it is."""
    out = result[1] if isinstance(result, tuple) else result
    if out.save_through is not None:
        server.log_saved(out.save_through, now=server.now)
    return result


def leader_server(voters: tuple[int, ...], log: list[Entry], **options: object) -> Server:
    """A leader of term 1 over ``log``, all of whose entries it has committed."""
    server = Server(1, voters, StoredState(current_term=0, entries=log), **options)  # type: ignore[arg-type]
    server.boot()
    saved(server, server.election_timeout(now=300))
    for peer in server.vote_peers:
        saved(
            server,
            server.handle(peer, le.core.RequestVoteReply(term=1, vote_granted=True), now=301),
        )
    assert server.role is Role.LEADER
    return server


def ack(server: Server, peer: int, match: int, now: int = 400) -> le.core.Output:
    reply = AppendEntriesReply(term=server.current_term, success=True, match_index=match)
    return saved(server, server.handle(peer, reply, now))  # type: ignore[no-any-return]


# ------------------------------------------------------- configuration as data


def test_agreement_needs_a_majority_of_the_voters() -> None:
    config = Configuration.of((1, 2, 3), learners=(4, 5))
    assert config.has_quorum({1, 2}) and not config.has_quorum({1, 4, 5})
    assert config.committed_index({1: 9, 2: 7, 3: 1, 4: 9, 5: 9}) == 7


def test_joint_consensus_needs_separate_majorities_of_both_configurations() -> None:
    """ "Agreement (for elections and entry commitment) requires separate majorities
    from both the old and new configurations" (§6)."""
    joint = Configuration.of((3, 4, 5), old_voters=(1, 2, 3))
    assert joint.joint and joint.all_voters == (1, 2, 3, 4, 5)
    assert not joint.has_quorum({1, 2, 3})  # C_old only
    assert not joint.has_quorum({3, 4, 5})  # C_new only
    assert joint.has_quorum({2, 3, 4})
    assert joint.committed_index({1: 8, 2: 8, 3: 5, 4: 2, 5: 2}) == 2
    assert str(joint) == "C_old {S1, S2, S3} + C_new {S3, S4, S5}"


def test_a_configuration_travels_as_a_reserved_marker_entry() -> None:
    config = Configuration.of((2, 1), learners=(4,), old_voters=(1, 2, 3))
    data = config_entry_data(config)
    assert le.core.looks_like_marker(data) and Entry(5, 1, data).kind == "config"
    assert parse_config(json.loads(json.dumps(data))) == config
    with pytest.raises(ValueError, match="'voters' list"):
        Configuration.from_data({"learners": [1]})
    with pytest.raises(ValueError, match="list of server ids"):
        Configuration.from_data({"voters": ["S1"]})


def test_propose_refuses_a_value_that_looks_like_a_configuration() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    elect(cluster)
    with pytest.raises(le.DataError, match="reserved"):
        cluster.propose(config_entry_data(Configuration.of((1,))))


# ------------------------------------------- the latest configuration, always


def test_a_follower_uses_a_configuration_entry_as_soon_as_it_is_appended() -> None:
    """ "A server always uses the latest configuration in its log, regardless of
    whether the entry is committed" (thesis §4.1)."""
    server = Server(2, (1, 2, 3), StoredState(current_term=1))
    server.boot()
    entry = config_entry(1, 1, (1, 2, 3, 4))
    server.handle(1, AppendEntries(1, 1, 0, 0, (entry,), leader_commit=0), now=10)
    assert server.config.voters == (1, 2, 3, 4) and server.commit_index == 0


def test_a_follower_reverts_when_its_configuration_entry_is_truncated() -> None:
    log = [Entry(1, 1, "a"), config_entry(2, 1, (1, 2, 3, 4))]
    server = Server(2, (1, 2, 3), StoredState(current_term=1, entries=log))
    server.boot()
    assert server.config.voters == (1, 2, 3, 4)
    out = server.handle(3, AppendEntries(2, 3, 1, 1, (Entry(2, 2, "b"),), 0), now=10)
    assert server.config.voters == (1, 2, 3)
    assert "CONFIG.revert" in [rule for rule, _ in out.trace]


def test_a_restarted_server_recovers_its_configuration_from_its_log() -> None:
    log = [config_entry(1, 1, (1, 2), learners=(3,)), config_entry(2, 1, (1, 2, 3))]
    server = Server(3, (), StoredState(current_term=1, entries=log))
    assert server.config == Configuration.of((1, 2, 3))
    assert server.config_indexes == [1, 2]


def test_config_data_and_restore_config_keep_learners_and_joint_configurations() -> None:
    server = Server(1, (1, 2, 3), StoredState())
    joint = Configuration.of((1, 2, 4), learners=(5,), old_voters=(1, 2, 3))
    twin = Server(1, (1,), StoredState())
    restore_config(twin, joint.to_data())
    assert twin.config == joint and config_data(twin) == joint.to_data()
    assert config_data(server) == {"voters": [1, 2, 3]}


def test_a_snapshot_keeps_the_configuration_as_of_its_last_index() -> None:
    """§7: a snapshot holds "the latest configuration as of the last included index";
    configuration entries after it still count, and revert to it when truncated."""
    log = [
        config_entry(1, 1, (1, 2), learners=(3,)),
        Entry(2, 1, "a"),
        config_entry(3, 1, (1, 2, 3)),
    ]
    server = Server(1, (1, 2), StoredState(current_term=1, entries=log))
    assert config_data(server, through_index=2) == {"voters": [1, 2], "learners": [3]}
    assert config_data(server) == {"voters": [1, 2, 3]}
    # The log as a restart from a snapshot through index 2 rebuilds it.
    restored = Server(1, (), StoredState(current_term=1))
    restored.log = le.core.RaftLog(log[2:], snapshot_index=2, snapshot_term=1)
    restored.config_indexes = [1, 3]  # index 1 lies inside the snapshot now
    restore_config(restored, config_data(server, through_index=2))
    assert restored.config_indexes == [3] and restored.config == Configuration.of((1, 2, 3))
    restored.handle(2, AppendEntries(2, 2, 2, 1, (Entry(3, 2, "b"),), 0), now=10)
    assert restored.config == Configuration.of((1, 2), learners=(3,))


def test_a_server_that_is_not_a_voter_never_starts_an_election() -> None:
    log = [config_entry(1, 1, (1, 2, 3), learners=(4,))]
    learner = Server(4, (), StoredState(current_term=1, entries=log))
    learner.boot()
    out = learner.election_timeout(now=300)
    assert learner.role is Role.FOLLOWER and learner.current_term == 1 and out.sends == []
    assert [rule for rule, _ in out.trace] == ["ET.nonvoter"]
    assert out.election_timer == "stop"  # until a leader's message resets it
    newcomer = Server(5, (), StoredState())
    newcomer.boot()
    assert newcomer.election_timeout(now=300).sends == []


def test_a_server_removed_by_an_uncommitted_change_may_still_campaign() -> None:
    """ "a server that is not part of its own latest configuration should still start
    new elections, as it might still be needed until the C_new entry is committed"
    (thesis §4.2.2). It asks C_new's voters, and its own vote does not count."""
    log = [Entry(1, 1, "a"), config_entry(2, 1, (3,))]
    server = Server(1, (1, 3), StoredState(current_term=1, entries=log))
    server.boot()
    out = server.election_timeout(now=300)
    assert server.role is Role.CANDIDATE and [t for t, _ in out.sends] == [3]
    server.handle(3, le.core.RequestVoteReply(term=2, vote_granted=True), now=310)
    assert server.role is Role.LEADER
    # Once it knows the removal is committed, never again.
    removed = Server(1, (1, 3), StoredState(current_term=1, entries=log))
    removed.boot()
    removed.handle(3, AppendEntries(1, 3, 2, 1, (), leader_commit=2), now=100)
    assert removed.commit_index == 2 and removed.election_timeout(now=900).sends == []


def test_a_candidate_asks_and_counts_only_voters() -> None:
    log = [config_entry(1, 1, (1, 2, 3), learners=(4,))]
    server = Server(1, (1, 2, 3), StoredState(current_term=1, entries=log))
    server.boot()
    out = server.election_timeout(now=300)
    assert sorted(target for target, _ in out.sends) == [2, 3]
    server.handle(4, le.core.RequestVoteReply(term=2, vote_granted=True), now=301)
    assert server.role is Role.CANDIDATE  # a learner's vote does not count
    server.handle(2, le.core.RequestVoteReply(term=2, vote_granted=True), now=302)
    assert server.role is Role.LEADER


# ------------------------------------------------------------ leader rules


def test_a_learner_never_counts_for_commitment() -> None:
    log = [config_entry(1, 1, (1, 2, 3), learners=(4, 5))]
    leader = leader_server((1, 2, 3), log)
    saved(leader, leader.propose("x", now=310))
    last = leader.log.last_index
    ack(leader, 4, last)
    ack(leader, 5, last)
    assert leader.commit_index < last
    ack(leader, 2, last)
    assert leader.commit_index == last


def test_a_new_leader_may_not_change_the_configuration_before_committing_in_its_term() -> None:
    """The 2015 fix: "a leader may not append a new configuration entry until it has
    committed an entry from its current term" (thesis §4.1)."""
    leader = leader_server((1, 2, 3), [Entry(1, 1, "a")])
    assert "has not yet committed an entry of its term" in str(
        leader.membership_refusal("remove_server", 3)
    )
    ack(leader, 2, leader.log.last_index)
    assert leader.membership_refusal("remove_server", 3) is None
    buggy = leader_server((1, 2, 3), [Entry(1, 1, "a")], single_change_bug=True)
    assert buggy.membership_refusal("remove_server", 3) is None


def test_one_change_at_a_time() -> None:
    leader = leader_server((1, 2, 3), [])
    ack(leader, 2, leader.log.last_index)
    reason, _ = saved(leader, leader.change_membership("remove_server", 3, now=400))
    assert reason is None and leader.config.voters == (1, 2)
    assert "not committed yet" in str(leader.membership_refusal("add_learner", 4))
    ack(leader, 2, leader.log.last_index)
    assert leader.membership_refusal("add_learner", 4) is None


def test_refusals_name_what_is_wrong() -> None:
    follower = Server(2, (1, 2), StoredState())
    assert follower.membership_refusal("add_server", 3) == "S2 is not the leader"
    leader = leader_server((1,), [])
    assert leader.membership_refusal("remove_server", 1) == (
        "S1 is the last voter; a configuration needs at least one"
    )
    assert "is not a learner" in str(leader.membership_refusal("promote", 2))
    assert "not in the configuration" in str(leader.membership_refusal("remove_server", 7))
    assert leader.membership_refusal("add_server", 1) == "S1 is already a voter"
    with pytest.raises(ValueError, match="is not one of"):
        leader.change_membership("replace", 2)


def test_a_removed_leader_leads_without_counting_itself_then_steps_down() -> None:
    """ "the leader ... steps down once the C_new entry is committed"; until then it
    "manages a cluster that does not include itself" (thesis §4.2.2)."""
    leader = leader_server((1, 2, 3), [])
    ack(leader, 2, leader.log.last_index)
    saved(leader, leader.change_membership("remove_server", 1, now=410))
    index = leader.log.last_index
    ack(leader, 2, index, now=420)
    assert leader.role is Role.LEADER and leader.commit_index < index  # 1 of {S2, S3}
    out = ack(leader, 3, index, now=430)
    assert leader.commit_index == index and leader.role is Role.FOLLOWER
    assert "CONFIG.step_down" in [rule for rule, _ in out.trace]
    assert leader.election_timeout(now=900).sends == []  # and never campaigns again


def test_joint_consensus_appends_c_new_once_c_old_new_commits() -> None:
    leader = leader_server((1, 2, 3), [], joint_consensus=True)
    ack(leader, 2, leader.log.last_index)
    saved(leader, leader.change_membership("remove_server", 3, now=410))
    assert leader.config == Configuration.of((1, 2), old_voters=(1, 2, 3))
    ack(leader, 2, leader.log.last_index, now=420)
    assert leader.config == Configuration.of((1, 2))  # C_new appended
    assert leader.log.entry(leader.log.last_index).kind == "config"


def test_a_new_server_is_caught_up_in_rounds_before_it_votes() -> None:
    """Thesis §4.2.1: each round replicates everything the leader held when it began;
    a round shorter than an election timeout means the server has caught up."""
    leader = leader_server((1, 2, 3), [Entry(i, 1, i) for i in range(1, 6)])
    ack(leader, 2, leader.log.last_index)
    saved(leader, leader.change_membership("add_server", 4, now=400))
    assert leader.config.learners == (4,) and 4 in leader.peers
    ack(leader, 2, leader.log.last_index, now=405)  # the learner entry commits
    out = ack(leader, 4, leader.log.last_index, now=700)  # round 1 took 300 ms
    assert "CONFIG.round" in [rule for rule, _ in out.trace] and leader.config.learners == (4,)
    out = ack(leader, 4, leader.log.last_index, now=750)  # round 2 took 50 ms
    assert "CONFIG.caught_up" in [rule for rule, _ in out.trace]
    assert leader.config == Configuration.of((1, 2, 3, 4))


def test_a_server_that_never_catches_up_stays_a_learner() -> None:
    leader = leader_server((1, 2, 3), [])
    ack(leader, 2, leader.log.last_index)
    saved(leader, leader.change_membership("add_server", 4, now=400))
    out = leader.heartbeat_timeout(now=400 + 10 * leader.max_election_timeout_ms)
    assert "CONFIG.catchup_abort" in [rule for rule, _ in out.trace]
    assert leader.catchup is None and leader.config.learners == (4,)


def test_servers_that_reconfigured_ignore_disruptive_vote_requests() -> None:
    """ "if a server receives a RequestVote request within the minimum election timeout
    of hearing from a current leader, it does not update its term or grant its vote"
    (thesis §4.2.3), even without CheckQuorum once membership has changed."""
    log = [config_entry(1, 1, (1, 2))]
    server = Server(2, (1, 2, 3), StoredState(current_term=1, entries=log))
    server.boot()
    server.handle(1, AppendEntries(1, 1, 1, 1, (), 0), now=100)
    out = server.handle(3, RequestVote(9, 3, 5, 5), now=150)
    assert server.current_term == 1 and out.sends == []
    assert [rule for rule, _ in out.trace] == ["RV.sticky"]


def test_read_index_check_quorum_and_transfer_count_the_configuration() -> None:
    """ReadIndex (thesis §6.4), CheckQuorum (§6.2) and leadership transfer (§3.10)
    take their majorities from the configuration: learners never count."""
    cluster = le.Cluster(servers=3, seed=3, check_quorum=True)
    elect(cluster)
    for learner in (4, 5):
        assert cluster.add_learner(learner).accepted
        settle(cluster, 300)
    assert "not a voting member" in str(cluster.transfer_leadership(to=4).reason)
    cluster.partition({1, 4, 5}, {2, 3})
    handle = cluster.read(lambda machine: 1)
    cluster.run(100)
    assert handle.accepted and not handle.done  # two learners do not confirm a read
    assert cluster.run_until(lambda c: c.servers[1].role is Role.FOLLOWER, 1_000)
    assert "CQ" in [e.rule for e in cluster.trace if e.server == 1]


# ------------------------------------------------------------------ scenarios


def test_a_server_added_to_three_catches_up_then_votes() -> None:
    cluster = add_server_scenario(seed=1)
    assert 4 in cluster.ids and cluster.servers[4].log == ()
    assert cluster.config is not None and cluster.config.learners == (4,)
    settle(cluster, 500)
    assert cluster.config == Configuration.of((1, 2, 3, 4))
    assert [v for _, v in cluster.applied(4)] == ["x=0", "x=1", "x=2"]
    rules = [e.rule for e in cluster.trace]
    assert rules.index("JOIN") < rules.index("CONFIG.caught_up")
    # It votes: a transfer makes it leader, with votes from a majority of four.
    assert cluster.transfer_leadership(to=4).accepted
    assert cluster.run_until(lambda c: c.leader == 4, 1_000)
    assert cluster.propose("y").accepted
    settle(cluster)
    assert all(
        cluster.applied(i)[-1] == (cluster.servers[4].last_log_index, "y") for i in cluster.ids
    )


def test_removing_the_leader() -> None:
    cluster = remove_leader_scenario(seed=1)
    assert cluster.leader == 1 and cluster.config == Configuration.of((2, 3))
    assert cluster.run_until(lambda c: c.servers[1].role is Role.FOLLOWER, 500)
    assert cluster.run_until(lambda c: c.leader in (2, 3), 2_000)
    leader, term = cluster.leader, cluster.servers[cluster.leader].current_term
    settle(cluster, 3_000)  # S1 keeps running, but disrupts nothing (thesis §4.2.3)
    assert cluster.leader == leader and cluster.servers[leader].current_term == term
    assert cluster.propose("after").accepted


@pytest.mark.parametrize("membership", ["single", "joint"])
def test_removing_a_follower(membership: str) -> None:
    cluster = le.Cluster(servers=5, seed=2, membership=membership)
    elect(cluster)
    settle(cluster, 100)
    assert cluster.remove_server(5).accepted
    settle(cluster, 500)
    assert cluster.config == Configuration.of((1, 2, 3, 4))
    assert all(cluster.servers[i].config == cluster.config for i in (1, 2, 3, 4))
    term = cluster.servers[1].current_term
    cluster.partition({5})  # cut off, S5 times out again and again ...
    settle(cluster, 1_000)
    cluster.heal()  # ... and its higher term does not depose the leader
    settle(cluster, 2_000)
    assert cluster.leader == 1 and cluster.servers[1].current_term == term


def test_joint_consensus_with_a_partition_during_c_old_new() -> None:
    cluster = joint_partition_scenario(seed=1)
    before = {i: cluster.servers[i].commit_index for i in cluster.ids}
    settle(cluster, 2_000)
    assert all(cluster.servers[i].commit_index == before[i] for i in (2, 3))
    assert not any(cluster.propose("x", server=i).accepted for i in (2, 3))
    cluster.heal()
    assert cluster.run_until(
        lambda c: c.leader is not None and c.config == Configuration.of((1, 2, 3, 4)), 5_000
    )
    settle(cluster)
    assert cluster.propose("after").accepted
    settle(cluster)
    assert all(cluster.servers[i].config == Configuration.of((1, 2, 3, 4)) for i in cluster.ids)


def test_a_learner_never_votes_or_counts_for_commit() -> None:
    cluster = le.Cluster(servers=3, seed=3)
    elect(cluster)
    assert cluster.add_learner(4).accepted
    settle(cluster, 300)
    assert cluster.servers[4].commit_index == cluster.servers[1].commit_index
    cluster.crash(2)
    cluster.crash(3)
    result = cluster.propose("x")
    cluster.run(1_000)
    assert cluster.servers[4].last_log_index == result.index  # it stores the entry ...
    assert cluster.servers[1].commit_index < result.index  # ... which stays uncommitted
    cluster.crash(1)
    cluster.run(2_000)
    assert cluster.servers[4].role is Role.FOLLOWER  # and it never starts an election
    assert "ET.nonvoter" in [e.rule for e in cluster.trace if e.server == 4]


@pytest.mark.parametrize("membership", ["single", "joint"])
def test_promote_a_learner_and_replace_a_server(membership: str) -> None:
    cluster = le.Cluster(servers=3, seed=5, membership=membership)
    elect(cluster)
    assert cluster.add_learner(4).accepted
    settle(cluster, 300)
    assert cluster.promote(4).accepted
    settle(cluster, 500)
    assert cluster.remove_server(3).accepted
    settle(cluster, 500)
    assert cluster.config == Configuration.of((1, 2, 4))
    if membership == "joint":
        joint = [e for e in cluster.trace if e.rule == "CONFIG.append" and "C_old" in e.sentence]
        assert len(joint) == 2  # C_old,new for the promotion, and for the removal


# ----------------------------------------------------- the 2015 single-change bug


def test_the_single_change_bug_elects_two_leaders_in_one_term() -> None:
    cluster = single_change_bug_scenario(bug=True)
    assert [v.property for v in cluster.violations][:1] == ["Election Safety"]
    terms = [cluster.servers[i].current_term for i in (1, 3)]
    assert cluster.servers[1].role is cluster.servers[3].role is Role.LEADER
    assert terms[0] == terms[1]
    assert any("were all leaders of term" in v.detail for v in cluster.check())


def test_the_fix_refuses_the_change_and_keeps_one_leader_per_term() -> None:
    cluster = single_change_bug_scenario(bug=False)
    assert cluster.violations == [] and cluster.check() == []
    leaders: dict[int, list[int]] = {}
    for event in cluster.trace:
        if event.rule == "LEADER":
            leaders.setdefault(event.args[2], []).append(event.server)
    assert all(len(ids) == 1 for ids in leaders.values()), leaders


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad", ["4", 0, -1, 100, 2.0, None])
def test_bad_server_ids_raise_a_clear_error(bad: object) -> None:
    cluster = le.Cluster(servers=3, seed=1)
    elect(cluster)
    steps = cluster.step_count
    for change in (cluster.add_server, cluster.remove_server, cluster.add_learner, cluster.promote):
        with pytest.raises(le.LuminousError, match="give a server id"):
            change(bad)  # type: ignore[arg-type]
    assert cluster.step_count == steps and cluster.leader == 1


def test_refused_changes_say_why_and_change_nothing() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    assert cluster.add_server(4) == le.MembershipResult(
        False, "there is no leader to carry out the change"
    )
    elect(cluster)
    steps = cluster.step_count
    assert "there is no server S9" in str(cluster.remove_server(9).reason)
    assert "there is no server S9" in str(cluster.promote(9).reason)
    assert cluster.add_server(2).reason == "S2 is already a voter"
    assert cluster.step_count == steps and 9 not in cluster.ids
    assert cluster.add_server(4).accepted
    assert "still catching up" in str(cluster.add_server(5).reason) or (
        "not committed yet" in str(cluster.add_server(5).reason)
    )


def test_bad_cluster_options_raise() -> None:
    with pytest.raises(le.LuminousError, match="membership='half'"):
        le.Cluster(membership="half")
    with pytest.raises(le.LuminousError, match="single_change_bug"):
        le.Cluster(single_change_bug="yes")  # type: ignore[arg-type]


# ---------------------------------------------- the simulator around new servers


def test_a_new_server_joins_the_world() -> None:
    cluster = le.Cluster(servers=3, seed=4, disk_faults={4: "unsynced"})
    elect(cluster)
    cluster.partition({1, 2}, {3})
    assert cluster.add_server(4).accepted
    assert cluster.link_cut(3, 4) and not cluster.link_cut(4, 4)
    assert cluster.disk_stats(4)["keys"] == 0 and cluster._world.disks[4].faults == "unsynced"
    cluster.heal()
    settle(cluster, 500)
    assert cluster.config == Configuration.of((1, 2, 3, 4))
    cluster.crash(4)
    cluster.restart(4)
    assert cluster.servers[4].config == Configuration.of((1, 2, 3, 4))
    settle(cluster, 500)
    assert cluster.servers[4].commit_index == cluster.servers[1].commit_index


def test_a_server_added_into_a_partition_joins_the_unnamed_group() -> None:
    cluster = le.Cluster(servers=3, seed=4)
    elect(cluster)
    cluster.partition({3})  # S1 and S2 are named in no group
    cluster.add_server(4)
    assert not cluster.link_cut(1, 4) and cluster.link_cut(3, 4)


def test_rewind_and_seek_across_a_join() -> None:
    cluster = add_server_scenario(seed=1)
    joined = cluster.step_count
    settle(cluster, 500)
    digest, end = cluster.trace_digest(), cluster.step_count
    cluster.seek(joined - 1)
    assert 4 not in cluster.ids and len(cluster.servers) == 3
    with pytest.raises(le.UnknownServerError):
        cluster.servers[4]
    cluster.seek(end)
    assert cluster.trace_digest() == digest and cluster.servers[4].alive


def test_checkpoints_and_seek_across_membership_changes() -> None:
    """Seeking restores the nearest checkpoint and replays: servers that joined after
    it come back, those that joined later are gone again."""
    cluster = add_server_scenario(seed=2)
    while cluster.step_count < 2 * le.sim.CHECKPOINT_INTERVAL + 100:
        cluster.run(200)
    assert cluster.remove_server(2).accepted
    settle(cluster, 500)
    assert cluster.add_learner(5).accepted
    settle(cluster, 500)
    digest, end, config = cluster.trace_digest(), cluster.step_count, cluster.config
    cluster.seek(le.sim.CHECKPOINT_INTERVAL + 7)
    assert cluster.ids == (1, 2, 3, 4) and cluster.config == Configuration.of((1, 2, 3, 4))
    cluster.seek(end)
    assert cluster.trace_digest() == digest and cluster.config == config
    assert cluster.ids == (1, 2, 3, 4, 5)


def test_an_intervention_after_rewinding_past_a_join_forks_without_it() -> None:
    cluster = add_server_scenario(seed=1)
    settle(cluster, 200)
    cluster.rewind(cluster.step_count - 5)
    cluster.propose("instead")
    settle(cluster, 500)
    assert 4 not in cluster.ids


def test_same_seed_same_digest_with_membership_changes() -> None:
    digests = set()
    for _ in range(2):
        cluster = add_server_scenario(seed=7, membership="joint")
        settle(cluster, 300)
        cluster.remove_server(1)
        settle(cluster, 1_000)
        digests.add(cluster.trace_digest())
    assert len(digests) == 1


@pytest.mark.parametrize("membership", ["single", "joint"])
def test_export_load_round_trips_membership_changes(membership: str) -> None:
    cluster = add_server_scenario(seed=3, membership=membership)
    settle(cluster, 300)
    cluster.remove_server(cluster.leader or 1)
    settle(cluster, 1_000)
    cluster.add_learner(6)
    settle(cluster, 300)
    record = json.loads(json.dumps(cluster.export()))
    loaded = le.Cluster.load(record)
    assert loaded.trace_digest() == cluster.trace_digest()
    assert loaded.ids == cluster.ids == (1, 2, 3, 4, 6) and loaded.config == cluster.config
    assert loaded.membership == membership


def test_a_tampered_membership_record_is_refused() -> None:
    cluster = add_server_scenario(seed=3)
    record = cluster.export()
    member = next(a for a in record["actions"] if a[0] == "member")
    member[1] = "remove_server"
    with pytest.raises(le.RecordError, match="does not fit"):
        le.Cluster.load(record)


def test_every_membership_rule_cites_the_thesis() -> None:
    cluster = add_server_scenario(seed=1)
    settle(cluster, 500)
    rules = {e.rule for e in cluster.trace if e.rule.startswith("CONFIG")}
    assert {"CONFIG.start", "CONFIG.append", "CONFIG.use", "CONFIG.caught_up"} <= rules
    for rule in (r for r in RULES if r.startswith("CONFIG")):
        assert "§" in RULES[rule].template, rule


# ------------------------------------------------------------ log compaction


@pytest.mark.parametrize("membership", ["single", "joint"])
def test_membership_changes_with_log_compaction(membership: str) -> None:
    """Snapshots keep the configuration as of their last index (§7): a new server
    catches up from a snapshot and learns its configuration from it and the entries
    after it; a restart from a snapshot recovers it."""
    cluster = le.Cluster(servers=3, seed=2, membership=membership, snapshot_threshold=3)
    elect(cluster)
    for n in range(8):
        cluster.propose(n)
    settle(cluster, 300)
    assert cluster.servers[1].snapshot_index > 0
    assert cluster.add_server(4).accepted
    settle(cluster, 500)
    assert cluster.config == Configuration.of((1, 2, 3, 4))
    assert any(e.rule == "IS.8" and e.server == 4 for e in cluster.trace)
    for n in range(8, 16):
        cluster.propose(n)
    settle(cluster, 300)
    assert cluster.remove_server(2).accepted
    settle(cluster, 500)
    for sid in (1, 3, 4):
        cluster.crash(sid)
        cluster.restart(sid)
        assert cluster.servers[sid].config == Configuration.of((1, 3, 4)), sid
    assert cluster.run_until(lambda c: c.leader is not None, 5_000)
    settle(cluster, 500)
    assert cluster.state_machine(4).values[-3:] == [13, 14, 15]


# ----------------------------------------------------------------- sweeps


def churn(seed: int, membership: str, rounds: int) -> le.Cluster:
    """The shared fault churn, plus a random membership change in most rounds; with
    PreVote on odd seeds, and log compaction on two seeds in three."""
    rng = random.Random(seed)
    cluster = le.Cluster(
        servers=3,
        seed=seed,
        membership=membership,
        prevote=seed % 2 == 1,
        snapshot_threshold=(None, 2, 5)[seed % 3],
    )

    def change(n: int) -> None:
        roll, sid = rng.random(), rng.randint(1, 7)
        if roll < 0.25:
            cluster.add_server(sid)
        elif roll < 0.45:
            cluster.remove_server(sid)
        elif roll < 0.55:
            cluster.add_learner(sid)
        elif roll < 0.65:
            cluster.promote(sid)

    shared_churn(cluster, rng, rounds, change)
    return cluster


@settings(max_examples=15, derandomize=True, database=None, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**31),
    membership=st.sampled_from(["single", "joint"]),
    changes=st.lists(
        st.tuples(
            st.sampled_from(["add_server", "remove_server", "add_learner", "promote"]),
            st.integers(min_value=1, max_value=6),
        ),
        max_size=6,
    ),
)
def test_incremental_checker_and_full_scan_agree_across_membership_changes(
    seed: int, membership: str, changes: list[tuple[str, int]]
) -> None:
    cluster = le.Cluster(servers=3, seed=seed, membership=membership)
    cluster.run_until(lambda c: c.leader is not None, 5_000)
    for n, (change, sid) in enumerate(changes):
        getattr(cluster, change)(sid)
        cluster.propose(["value", n])
        cluster.run(150)
    cluster.run(500)
    assert cluster.violations == [] and cluster.check() == []
    record = cluster.export()
    unchecked = le.Cluster.load({**record, "config": {**record["config"], "checks": False}})
    assert unchecked.trace_digest() == cluster.trace_digest()
    assert unchecked.violations == [] and unchecked.check() == []


def check_churn(seed: int, rounds: int) -> None:
    for membership in ("single", "joint"):
        cluster = churn(seed, membership, rounds)
        reproduce = f"reproduce: tests/test_membership.py churn({seed}, {membership!r}, {rounds})"
        assert cluster.violations == [], f"{reproduce}: {cluster.violations}"
        assert cluster.check() == [], reproduce
        # Healed, every server running: a leader of the configuration emerges.
        assert cluster.run_until(lambda c: c.leader is not None, 10_000), reproduce


@pytest.mark.parametrize("seed", range(4))
def test_membership_churn_stays_safe(seed: int) -> None:
    check_churn(seed, 40)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 40))
def test_membership_churn_sweep(seed: int) -> None:
    check_churn(seed, 120)
