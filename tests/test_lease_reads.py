"""Lease reads (Ongaro's thesis §6.4.1) and the check that every read is linearizable.

"the leader would use the normal heartbeat mechanism to maintain a lease. Once the
leader's heartbeats were acknowledged by a majority of the cluster, it would extend its
lease to start + election timeout / clock drift bound, since the followers shouldn't time
out before then. While the leader held its lease, it would service read-only queries
without communicating with any other servers." Set up, step, check.
"""

from __future__ import annotations

import random

import pytest
from scenario_helpers import churn

import luminous_edu as le
from luminous_edu.core import Role, Server, StoredState
from luminous_edu.core.messages import AppendEntriesReply, RequestVoteReply

LEASE_MS = 150


def leader_with_committed_noop(lease_ms: int | None = LEASE_MS) -> Server:
    """S1 of {S1, S2, S3}, elected at t=300 and with its no-op committed at t=320."""
    server = Server(1, (1, 2, 3), StoredState(), check_quorum=True, lease_ms=lease_ms)
    server.boot()
    server.election_timeout(now=300)
    server.handle(2, RequestVoteReply(term=1, vote_granted=True), now=310)
    assert server.role is Role.LEADER
    server.log_saved(1, now=310)  # the world reports the no-op stored
    server.handle(2, AppendEntriesReply(term=1, success=True, match_index=1), now=320)
    assert server.commit_index == 1
    return server


def confirm_heartbeat_round(server: Server, sent: int, answered: int) -> int:
    """The heartbeat timer fires at ``sent``; S2 answers at ``answered``."""
    out = server.heartbeat_timeout(now=sent)
    rounds = {m.read_round for _, m in out.sends}
    assert len(rounds) == 1
    (round_,) = rounds
    server.handle(
        2, AppendEntriesReply(term=1, success=True, match_index=1, read_round=round_), answered
    )
    return round_


def test_a_leader_holding_a_lease_answers_a_read_at_once() -> None:
    server = leader_with_committed_noop()
    confirm_heartbeat_round(server, sent=350, answered=360)
    # The lease starts when the confirmed round was sent, not when it was answered.
    assert server.lease_until == 350 + LEASE_MS
    accepted, out = server.read(read_id=7, now=499)
    assert accepted
    assert out.reads == [(7, 1)]
    assert out.sends == []  # no round of heartbeats: that is the point of a lease
    assert [rule for rule, _ in out.trace] == ["READ.lease"]


def test_after_the_lease_ends_a_read_falls_back_to_read_index() -> None:
    server = leader_with_committed_noop()
    confirm_heartbeat_round(server, sent=350, answered=360)
    accepted, out = server.read(read_id=8, now=350 + LEASE_MS)
    assert accepted and out.reads is None
    assert [rule for rule, _ in out.trace] == ["READ"]
    assert {m.read_round for _, m in out.sends} == {server.read_round}


def test_a_new_leader_has_no_lease_until_a_heartbeat_round_is_answered() -> None:
    server = leader_with_committed_noop()
    accepted, out = server.read(read_id=1, now=330)
    assert accepted and out.reads is None  # ReadIndex: a round of heartbeats first


def test_an_older_round_answered_late_does_not_extend_the_lease_past_its_own_start() -> None:
    server = leader_with_committed_noop()
    first = server.heartbeat_timeout(now=350)
    second_round = confirm_heartbeat_round(server, sent=400, answered=405)
    assert server.lease_until == 400 + LEASE_MS
    (late,) = {m.read_round for _, m in first.sends}
    assert late < second_round
    server.handle(
        3, AppendEntriesReply(term=1, success=True, match_index=1, read_round=late), now=410
    )
    assert server.lease_until == 400 + LEASE_MS


def test_a_leader_handing_over_leadership_gives_up_its_lease() -> None:
    """The target's election ignores leader stickiness (thesis §3.10), so another leader
    can be elected before the lease would end."""
    server = leader_with_committed_noop()
    confirm_heartbeat_round(server, sent=350, answered=360)
    server.transfer_leadership(2, now=370)
    assert server.lease_until == 0
    accepted, _ = server.read(read_id=1, now=380)
    assert not accepted  # and no reads at all during a transfer
    # The transfer is abandoned after an election timeout, but the TimeoutNow may still
    # be on its way: no lease for the rest of the term, only ReadIndex.
    for sent in (500, 620):  # S2 answers, so CheckQuorum keeps S1 leader
        confirm_heartbeat_round(server, sent=sent, answered=sent + 5)
        assert server.transfer_target == 2 and server.lease_until == 0
    confirm_heartbeat_round(server, sent=680, answered=685)
    assert server.role is Role.LEADER and server.transfer_target is None  # abandoned
    assert server.lease_until == 0
    accepted, out = server.read(read_id=2, now=690)
    assert accepted and out.reads is None and out.sends


def test_without_lease_reads_every_read_takes_a_round_of_heartbeats() -> None:
    server = leader_with_committed_noop(lease_ms=None)
    confirm_heartbeat_round(server, sent=350, answered=360)
    accepted, out = server.read(read_id=1, now=370)
    assert accepted and out.reads is None and out.sends


# ------------------------------------------------------------------ in a cluster


def lease_cluster(seed: int = 3) -> le.Cluster:
    return le.Cluster(servers=5, seed=seed, check_quorum=True, lease_reads=True)


def test_in_a_cluster_a_lease_read_completes_in_the_step_it_is_asked() -> None:
    cluster = lease_cluster()
    assert cluster.run_until(lambda c: c.leader is not None)
    cluster.propose("a")
    cluster.run(200)
    step = cluster.step_count
    handle = cluster.read(lambda machine: list(machine.values))
    assert handle.done and handle.value == ["a"] and handle.index == 2
    assert cluster.step_count == step + 1
    assert cluster.trace[-1].rule == "READ.lease"


def test_a_leader_cut_off_stops_answering_once_its_lease_ends() -> None:
    cluster = lease_cluster()
    assert cluster.run_until(lambda c: c.leader is not None)
    cluster.run(200)
    leader = cluster.leader
    assert leader is not None
    cluster.partition({leader})
    cluster.run(cluster.lease_ms or 0)
    handle = cluster.read(lambda machine: 1, server=leader)
    cluster.run(2_000)
    assert not handle.done


def test_lease_reads_are_recorded_and_replay() -> None:
    cluster = lease_cluster()
    assert cluster.run_until(lambda c: c.leader is not None)
    cluster.run(200)
    cluster.read(lambda machine: 1)
    cluster.run(300)
    loaded = le.Cluster.load(cluster.export())
    assert loaded.lease_reads and loaded.lease_ms == cluster.lease_ms == 150
    assert loaded.trace_digest() == cluster.trace_digest()


def test_the_lease_is_the_minimum_election_timeout_over_the_clock_drift_bound() -> None:
    cluster = le.Cluster(
        servers=3,
        check_quorum=True,
        lease_reads=True,
        clock_drift_bound=1.5,
        election_timeout_ms=(300, 600),
    )
    assert cluster.lease_ms == 200
    assert le.Cluster(servers=3).lease_ms is None


@pytest.mark.parametrize(
    "options, complaint",
    [
        ({"lease_reads": True}, "lease_reads=True needs check_quorum=True"),
        ({"lease_reads": "yes", "check_quorum": True}, "lease_reads='yes': give True or False"),
        ({"clock_drift_bound": 0.5}, "clock_drift_bound=0.5: give a number from 1 to 10"),
        ({"clock_drift_bound": "1"}, "clock_drift_bound='1'"),
    ],
)
def test_bad_lease_options_are_refused_with_what_to_do(
    options: dict[str, object], complaint: str
) -> None:
    with pytest.raises(le.LuminousError, match=complaint):
        le.Cluster(servers=3, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_reads_under_churn_are_linearizable(seed: int) -> None:
    """Reads of both kinds, amid crashes, partitions and transfers: the cluster checks
    each completed read against the highest commit index when it was asked."""
    cluster = le.Cluster(
        servers=5, seed=seed, prevote=True, check_quorum=True, lease_reads=seed % 2 == 0
    )
    handles = []
    churn(
        cluster,
        random.Random(seed),
        rounds=60,
        each_round=lambda n: handles.append(cluster.read(lambda machine: len(machine.values))),
    )
    done = [h for h in handles if h.done]
    assert done, f"seed {seed}: no read completed"
    assert cluster.violations == [], (
        f"seed {seed}: {cluster.violations}; reproduce with "
        f"pytest tests/test_lease_reads.py -k 'churn and {seed}'"
    )


def test_a_stale_read_is_reported() -> None:
    """The check itself: a read answered below the commit index it must see."""
    cluster = le.Cluster(servers=3, seed=1)
    assert cluster.run_until(lambda c: c.leader is not None)
    cluster.propose("a")
    cluster.run(200)
    handle = cluster.read(lambda machine: 1)
    read_id = handle.id
    assert read_id is not None
    cluster._world.read_floors.floors[read_id] = 99  # as if index 99 had been committed
    cluster.run(200)
    assert handle.done
    (violation,) = cluster.violations
    assert violation.property == "Linearizable Reads"
    assert f"read #{read_id}" in violation.detail and "stale read" in violation.detail
