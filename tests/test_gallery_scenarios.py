"""Each buggy handler of the gallery, in the scenario made to expose it: the running
cluster reports the bug; the same calls with a correct handler report nothing."""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.check import (
    DURABILITY,
    ELECTION_SAFETY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
)
from luminous_edu.sim.scenarios import SCENARIOS, bug_scenario
from luminous_edu.storage.gallery import GALLERY

EXPECTED = {
    "ForgetsVote": {DURABILITY, ELECTION_SAFETY},
    "MemoryLog": {DURABILITY, LEADER_COMPLETENESS, STATE_MACHINE_SAFETY},
    "IgnoresTruncate": {DURABILITY, LOG_MATCHING},
    "NeverSyncs": {DURABILITY},
    "TermAfterVote": {DURABILITY},
    "CompactsBeforeSnapshot": {DURABILITY},
}


def test_every_gallery_handler_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(GALLERY) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_scenario_exposes_the_bug(name: str) -> None:
    cluster = bug_scenario(name)
    assert {v.property for v in cluster.violations} == EXPECTED[name], cluster.violations
    assert cluster.errors == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("storage", [le.DiskStorage], ids=["DiskStorage"])
def test_a_correct_handler_passes_the_same_scenario(name: str, storage: type) -> None:
    cluster = bug_scenario(name, storage)
    assert cluster.violations == []
    assert cluster.errors == []


def test_forgotten_vote_gives_two_leaders_in_one_term() -> None:
    cluster = bug_scenario("ForgetsVote")
    details = [str(v) for v in cluster.violations]
    assert details == [
        "step 8: Durability violated: S2 recovered voted_for=None in term 1, but it voted "
        "for S1: after a crash it could vote twice in one term (Figure 2: votedFor is "
        "persistent)",
        "step 11: Election Safety violated: S3 became leader of term 1, but S1 was already "
        "elected leader of term 1",
    ]


def test_a_torn_hard_state_puts_the_vote_in_the_wrong_term() -> None:
    cluster = bug_scenario("TermAfterVote")
    (violation,) = cluster.violations
    assert violation.detail.startswith("S2 recovered voted_for=S1 in term 0, but it cast no vote")
    assert cluster.servers[2].current_term == 0 and cluster.servers[2].voted_for == 1


def test_scenarios_are_deterministic_and_replay_from_their_record() -> None:
    for name in sorted(EXPECTED):
        first, second = bug_scenario(name), bug_scenario(name)
        assert first.trace_digest() == second.trace_digest()
        loaded = le.Cluster.load(first.export(), storage=GALLERY[name])
        assert loaded.trace_digest() == first.trace_digest()
        assert [str(v) for v in loaded.violations] == [str(v) for v in first.violations]


def test_compaction_before_the_snapshot_is_durable_is_found_on_restart() -> None:
    cluster = bug_scenario("CompactsBeforeSnapshot")
    (violation,) = cluster.violations
    assert violation.detail == (
        "S1 recovered no snapshot, but its snapshot through index 3 (term 1) had been "
        "saved: save_snapshot must be durable when it returns, and compact_log must never "
        "delete entries whose snapshot is not on the disk"
    )
    assert any(e.rule == "POWER" and "CompactLog" in e.sentence for e in cluster.trace)


def test_a_restart_that_cannot_recover_still_reports_the_lost_snapshot() -> None:
    cluster = le.Cluster(
        servers=3, seed=6, storage=GALLERY["CompactsBeforeSnapshot"], snapshot_threshold=3
    )
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = cluster.leader
    cluster.propose("a")
    cluster.run(200)
    follower = next(i for i in cluster.ids if i != leader)
    cluster.propose("b")
    cluster.cut_power(follower, after_operations=3)  # one entry deleted, no snapshot yet
    cluster.run(300)
    cluster.restart(follower)
    assert [v.property for v in cluster.violations] == [DURABILITY]
    assert cluster.violations[0].detail.startswith(f"S{follower} recovered no snapshot")
    assert "Entry 1 is missing and there is no snapshot" in str(cluster.errors[-1])


def test_check_storage_fails_the_compaction_bug_and_passes_correct_handlers() -> None:
    report = le.check_storage(GALLERY["CompactsBeforeSnapshot"])
    failed = {(f.name, f.phase) for f in report.failures}
    assert ("snapshot durable before compaction", le.storage.LIVE) in failed
    assert "before returning: compact_log may delete entries only once" in str(report) or any(
        "compact_log" in f.message for f in report.failures
    )
    for correct in (le.DiskStorage,):
        assert le.check_storage(correct).passed


def test_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(KeyError, match="choose one of"):
        bug_scenario("NoSuchBug")
