"""Lesson 07 (membership changes): the rules its exercises teach are the core's rules,
its scenarios tell the truth the notebook and the predictions tell, and its checkers
say what is wrong. tests/test_exercises.py covers both sides of every exercise."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solution_modules import SOLUTIONS_DIR, load_solutions_module

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.exercises import lesson07
from luminous_edu.exercises.lesson07 import (
    cut_off_and_back,
    find_disjoint_majorities,
    learner_cut_off,
)

SOLUTIONS = load_solutions_module(SOLUTIONS_DIR / "lesson07.py")
# The reference run, and a student's own (what lesson_seed("07") gives that student).
SEEDS = [lesson07.SEED, ex.seeds.seed_for("07", "ada@example.edu")]
per_run = pytest.mark.parametrize("seed", SEEDS, ids=["reference", "a student"])
server_sets = st.frozensets(st.integers(min_value=1, max_value=8), min_size=1, max_size=7)


def disjoint_majorities_exist(old: frozenset[int], new: frozenset[int]) -> bool:
    """Counting, not searching: a majority of old takes its servers outside new first,
    a majority of new its servers outside old; do the shared servers suffice for both?"""
    only_old, only_new, shared = len(old - new), len(new - old), len(old & new)
    need_old = max(0, len(old) // 2 + 1 - only_old)
    need_new = max(0, len(new) // 2 + 1 - only_new)
    return need_old + need_new <= shared


# ------------------------------------------------- the rules are the core's


@settings(max_examples=300, deadline=None)
@given(old=server_sets, new=server_sets)
def test_disjoint_majorities_are_found_exactly_when_they_exist(
    old: frozenset[int], new: frozenset[int]
) -> None:
    found = find_disjoint_majorities(old, new)
    assert (found is not None) == disjoint_majorities_exist(old, new), (old, new, found)
    if found is not None:
        a, b = found
        assert not a & b
        assert le.Configuration.of(old).has_quorum(a)
        assert le.Configuration.of(new).has_quorum(b)


@settings(max_examples=200, deadline=None)
@given(old=server_sets, other=st.integers(min_value=1, max_value=9))
def test_a_single_server_change_never_has_disjoint_majorities(
    old: frozenset[int], other: int
) -> None:
    """Thesis §4.1: any majority of C overlaps any majority of C plus or minus one."""
    new = old - {other} if other in old else old | {other}
    if new:
        assert find_disjoint_majorities(old, new) is None
        assert find_disjoint_majorities(new, old) is None


def test_the_joint_cases_are_the_cores_quorum_rule() -> None:
    for (old, new, granted), expected, why in lesson07._JOINT_CASES:
        joint = le.Configuration.of(new, old_voters=old)
        assert joint.has_quorum(granted) is expected, why


@settings(max_examples=300, deadline=None)
@given(old=server_sets, new=server_sets, granted=st.frozensets(st.integers(1, 8)))
def test_the_reference_joint_agreement_is_the_cores_rule(
    old: frozenset[int], new: frozenset[int], granted: frozenset[int]
) -> None:
    expected = le.Configuration.of(new, old_voters=old).has_quorum(granted)
    assert SOLUTIONS.joint_agreement(set(old), set(new), set(granted)) is expected


# --------------------------------------------- the scenarios tell the truth


@per_run
def test_a_learner_that_never_catches_up_does_not_stall_the_cluster(seed: int) -> None:
    cluster = learner_cut_off(seed)
    config = cluster.config
    assert config is not None and config.voters == (1, 2, 3) and config.learners == (4,)
    assert not cluster.servers[3].alive
    assert [d for _, d in cluster.applied(1)][-1] == "y"
    assert [d for _, d in cluster.applied(2)][-1] == "y"
    assert cluster.servers[4].log == ()
    assert cluster.violations == []


@per_run
def test_a_removed_server_that_does_not_know_it_cannot_depose_the_leader(seed: int) -> None:
    cluster = cut_off_and_back(remove=True, seed=seed)
    assert cluster.leader == 1 and cluster.servers[1].current_term == 1
    assert 3 not in cluster.servers[1].config.members
    assert 3 in cluster.servers[3].config.voters  # it never heard of its removal
    assert cluster.servers[3].current_term > 5  # it kept standing for election
    sticky = [e for e in cluster.trace if e.rule.startswith("RV.sticky")]
    assert {(e.server, e.rule) for e in sticky} == {(1, "RV.sticky.self"), (2, "RV.sticky")}
    assert cluster.violations == []


@per_run
def test_without_a_configuration_change_the_rejoining_server_deposes_the_leader(
    seed: int,
) -> None:
    cluster = cut_off_and_back(remove=False, seed=seed)
    leader = cluster.leader
    assert leader is not None and cluster.servers[leader].current_term > 1
    assert not any(e.rule.startswith("RV.sticky") for e in cluster.trace)
    assert cluster.violations == []


def test_the_lesson_scenarios_are_deterministic() -> None:
    assert learner_cut_off().trace_digest() == learner_cut_off().trace_digest()
    for remove in (True, False):
        first, again = cut_off_and_back(remove), cut_off_and_back(remove)
        assert first.trace_digest() == again.trace_digest(), remove


def test_the_lesson_scenarios_round_trip_through_records() -> None:
    """A student can send the instructor any of them: export, JSON, load, same run."""
    for cluster in (learner_cut_off(), cut_off_and_back(remove=True)):
        again = le.Cluster.load(json.loads(json.dumps(cluster.export())))
        assert again.step_count == cluster.step_count
        assert again.trace_digest() == cluster.trace_digest()
        assert again.config == cluster.config


@per_run
def test_the_predictions_answers_come_from_the_scenarios(seed: int) -> None:
    expected = {
        "07.predict_switch_at_once": True,
        "07.predict_new_server_votes": False,
        "07.predict_learner_availability": True,
        "07.predict_removed_leader": "b",
        "07.predict_disruptive": False,
        "07.predict_joint_partition": "c",
        "07.predict_bug_two_leaders": True,
    }
    assert {i for i in ex.REGISTRY if i.startswith("07.predict")} == set(expected)
    for exercise_id, answer in expected.items():
        assert ex.get(exercise_id).right_answer(seed) == answer, exercise_id


# ------------------------------------------------ the checkers' sentences


def test_disjoint_majorities_answers_are_told_what_is_wrong() -> None:
    result = ex.check("07.disjoint_majorities", lambda old, new: None)
    assert not result.passed and "there are disjoint majorities here" in result.message
    result = ex.check("07.disjoint_majorities", lambda old, new: (old, new))
    assert not result.passed and "which share" in result.message
    result = ex.check("07.disjoint_majorities", lambda old, new: ({min(old)}, {max(new)}))
    assert not result.passed and "is not a majority" in result.message


def test_grow_that_does_not_retry_or_wait_is_told_why() -> None:
    def no_retry(cluster: le.Cluster, new_ids: list[int]) -> None:
        for i in new_ids:
            cluster.add_server(i)

    result = ex.check("07.grow", no_retry)
    assert not result.passed and "when grow returned, the configuration was" in result.message

    def no_wait_for_commit(cluster: le.Cluster, new_ids: list[int]) -> None:
        for i in new_ids:
            while not cluster.add_server(i).accepted:
                cluster.run(50)
            cluster.run_until(lambda c, i=i: i in c.config.voters, 10_000)

    result = ex.check("07.grow", no_wait_for_commit)
    assert not result.passed and "not committed yet" in result.message
