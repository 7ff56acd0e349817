"""Lesson 06 (log compaction) tells the truth.

The notebook's code cells run here, headless, in one namespace, and what its text says
about each run is checked right after the cell that makes it (the server names, indexes
and counts the prose and the predictions quote), on the reference run and on a
student's own run (another seed). The rules its exercises check are the
core's: ``term_at`` agrees with the log's own ``term_at`` (a Hypothesis property over
compacting clusters), and ``needs_snapshot`` names every follower the leader sends
InstallSnapshot to. Wrong handlers get the sentence meant for them. Set up, step, check.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lesson_runner import run_lesson
from test_exercises import load_solutions

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.exercises import lesson06
from luminous_edu.storage import GALLERY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_log_compaction.ipynb"


# The reference solutions, by exercise id, as tests/test_exercises.py loads them.
ANSWERS = load_solutions()
term_at = ANSWERS["06.term_at"]
needs_snapshot = ANSWERS["06.needs_snapshot"]
MyStorage = ANSWERS["06.storage_compaction"]

# ------------------------------------------------------------- the notebook

# What to record after the first code cell whose source contains the key.
Recorder = Callable[[dict[str, Any]], dict[str, Any]]


def _plain(ns: dict[str, Any]) -> dict[str, Any]:
    plain = ns["plain"]
    return {"log": len(plain.servers[1].log), "keys": len(plain.disk(1))}


def _compacted(ns: dict[str, Any]) -> dict[str, Any]:
    cluster = ns["cluster"]
    return {
        "snapshots": {i: cluster.servers[i].snapshot_index for i in cluster.servers},
        "first": {i: cluster.servers[i].log[0].index for i in cluster.servers},
        "log_keys": {
            i: sum(k.startswith("log/") for k in cluster.disk(i)) for i in cluster.servers
        },
        "violations": list(cluster.violations),
    }


def _snapshot_on_disk(ns: dict[str, Any]) -> dict[str, Any]:
    return {
        "fields": (ns["last_index"], ns["last_term"], ns["data"], ns["config"]),
        "view": (ns["s1"].snapshot_index, ns["s1"].snapshot_term),
    }


def _behind(ns: dict[str, Any]) -> dict[str, Any]:
    behind, leader, late = ns["behind"], ns["leader"], ns["late"]
    view = behind.servers[leader]
    return {
        "late": late,
        "late_entries": behind.servers[late].last_log_index,
        "next_index": view.next_index[late],
        "leader_snapshot": view.snapshot_index,
    }


def _caught_up(ns: dict[str, Any]) -> dict[str, Any]:
    behind, late = ns["behind"], ns["late"]
    rules = [e.rule for e in behind.trace.since(ns["mark"]) if e.server == late]
    return {
        "rules": rules,
        "same_state": behind.state_machine(late).values
        == behind.state_machine(ns["leader"]).values,
        "violations": list(behind.violations),
    }


def _before_restart(ns: dict[str, Any]) -> dict[str, Any]:
    cluster = ns["cluster"]
    follower = ns["follower"]
    view = cluster.servers[follower]
    return {
        "follower": follower,
        "is_the_predictions": follower == lesson06.restarted_follower(cluster),
        "snapshot": view.snapshot_index,
        "last": view.last_log_index,
    }


def _after_restart(ns: dict[str, Any]) -> dict[str, Any]:
    cluster = ns["cluster"]
    return {"commit": ns["s"].commit_index, "violations": list(cluster.violations)}


def _gallery(ns: dict[str, Any]) -> dict[str, Any]:
    buggy = ns["buggy"]
    return {
        "violations": [v.property for v in buggy.violations],
        "power": [e.sentence for e in buggy.trace if e.rule == "POWER"],
    }


RECORDERS: dict[str, tuple[str, Recorder]] = {
    "plain": ("plain = le.Cluster(", _plain),
    "compacted": ("cluster = le.Cluster(servers=3, seed=SEED", _compacted),
    "snapshot_on_disk": ("cluster.disk(1)[key]", _snapshot_on_disk),
    "behind": ("late = max(", _behind),
    "caught_up": ("behind.restart(late)", _caught_up),
    "before_restart": ("follower = min(", _before_restart),
    "after_restart": ("cluster.restart(follower)", _after_restart),
    "gallery": ('buggy = bug_scenario("CompactsBeforeSnapshot")', _gallery),
}


# The reference run (no student id) and a student's own run.
STUDENTS = [None, "ada@example.edu"]


@pytest.fixture(scope="module", params=STUDENTS, ids=["reference", "a student"])
def lesson(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Run every code cell of the notebook in order, as the reference run or as a
    student; what the recorders saw, by name, and the run's seed."""
    namespace, seen = run_lesson(NOTEBOOK, request.param, RECORDERS)
    seen["seed"] = namespace["SEED"]
    seen["reference"] = request.param is None
    return seen


def test_without_compaction_the_log_and_the_disk_hold_every_entry(lesson: dict) -> None:
    # "the log holds all 25 commands (and the leader's no-op)"
    assert lesson["plain"] == {"log": 26, "keys": 27}


def test_with_a_threshold_every_server_keeps_a_snapshot_and_a_short_log(lesson: dict) -> None:
    seen = lesson["compacted"]
    for sid, snapshot_index in seen["snapshots"].items():
        assert snapshot_index >= 10
        assert seen["first"][sid] == snapshot_index + 1
        assert 0 < seen["log_keys"][sid] < 10
    assert seen["violations"] == []


def test_the_prediction_about_the_disk_is_computed_on_the_same_run(lesson: dict) -> None:
    # 06.predict_disk runs the default state machine; the notebook runs KeyValue. The
    # state machine changes no timing, so the snapshots fall at the same indexes.
    default = lesson06.compacting_cluster(threshold=10, seed=lesson["seed"])
    assert {i: default.servers[i].snapshot_index for i in default.servers} == (
        lesson["compacted"]["snapshots"]
    )
    assert ex.get("06.predict_disk").right_answer(lesson["seed"]) == "b"


def test_the_snapshot_holds_index_term_state_and_configuration(lesson: dict) -> None:
    last_index, last_term, data, config = lesson["snapshot_on_disk"]["fields"]
    assert (last_index, last_term) == lesson["snapshot_on_disk"]["view"]
    assert sorted(data) == ["x", "y"]  # "two values, however many commands set them"
    assert config == {"voters": [1, 2, 3]}


def test_the_follower_far_behind_has_a_few_entries_the_leader_compacted(lesson: dict) -> None:
    seen = lesson["behind"]
    if lesson["reference"]:
        assert (seen["late"], seen["late_entries"], seen["next_index"]) == (5, 2, 3)
    # "restarts with the few entries it had": its no-op and 'x = 1'; the leader would
    # send from just after them, and that entry is gone from its log.
    assert seen["late_entries"] == 2 and seen["next_index"] == seen["late_entries"] + 1
    assert seen["leader_snapshot"] >= seen["next_index"]
    run = lesson06.behind(lesson["seed"])  # the prediction's run is the notebook's
    assert (run.late, run.cluster.servers[run.late].last_log_index) == (
        seen["late"],
        seen["late_entries"],
    )
    assert ex.get("06.predict_catch_up").right_answer(lesson["seed"]) == "b"


def test_the_late_follower_installs_the_snapshot_by_rule_7_and_rule_8(lesson: dict) -> None:
    seen = lesson["caught_up"]
    assert "IS.7" in seen["rules"] and "IS.8" in seen["rules"]
    assert "IS.6" not in seen["rules"]
    assert seen["same_state"] and seen["violations"] == []


def test_the_restarted_follower_starts_committed_at_its_snapshot(lesson: dict) -> None:
    before = lesson["before_restart"]
    assert before["is_the_predictions"]  # the same follower as 06.predict_restart_commit
    assert 0 < before["snapshot"] < before["last"]  # "a snapshot and a few more entries"
    assert lesson["after_restart"]["commit"] == before["snapshot"]
    assert lesson["after_restart"]["violations"] == []
    assert ex.get("06.predict_restart_commit").right_answer(lesson["seed"]) == "b"


def test_the_gallery_power_cut_falls_in_compact_log_and_loses_durable_entries(
    lesson: dict,
) -> None:
    seen = lesson["gallery"]
    assert seen["violations"] == ["Durability"]
    assert len(seen["power"]) == 1 and "CompactLog" in seen["power"][0]


# ----------------------------------------------- the exercises' rules are the core's


@settings(max_examples=20, derandomize=True, database=None, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    threshold=st.integers(1, 6),
    proposals=st.integers(0, 14),
    crash_leader=st.booleans(),
)
def test_term_at_agrees_with_the_logs_own_term_at(
    seed: int, threshold: int, proposals: int, crash_leader: bool
) -> None:
    cluster = le.Cluster(servers=3, seed=seed, snapshot_threshold=threshold)
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    for k in range(proposals):
        if k == proposals // 2 and crash_leader and cluster.leader is not None:
            cluster.crash(cluster.leader)
            cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
        cluster.propose(f"v{k}")
        cluster.run(20)
    for sid in cluster.servers:
        view = cluster.servers[sid]
        log = cluster._world.servers[sid].log  # the core's own log
        first = 0 if view.snapshot_index == 0 else 1  # index 0 is a sentinel, not an entry
        for index in range(first, view.last_log_index + 3):
            assert term_at(view, index) == log.term_at(index), (
                f"Cluster(servers=3, seed={seed}, snapshot_threshold={threshold}), "
                f"S{sid}, index {index}"
            )


@pytest.mark.parametrize(("seed", "threshold"), [(7, 4), (1, 3), (3, 2)])
def test_needs_snapshot_names_every_follower_the_leader_sends_its_snapshot(
    seed: int, threshold: int
) -> None:
    cluster = le.Cluster(servers=5, seed=seed, snapshot_threshold=threshold)
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = cluster.leader
    late = [i for i in cluster.servers if i != leader][:2]
    for sid in late:
        cluster.crash(sid)
    for k in range(10):
        cluster.propose(f"v{k}")
        cluster.run(20)
    for sid in late:
        cluster.restart(sid)
    cluster.run(500)
    sends = [e for e in cluster.trace if e.rule == "IS.send"]
    assert {e.args[1] for e in sends} == set(late), f"seed {seed}: {sends}"
    for event in sends:
        cluster.seek(event.step)
        assert event.args[1] in needs_snapshot(cluster), f"seed {seed}, step {event.step}: {event}"


# ------------------------------------------------------ wrong answers, right words


def test_a_handler_that_compacts_before_its_snapshot_is_durable_is_told_so() -> None:
    class Hasty(MyStorage):
        def save_snapshot(self, msg: Any) -> None:
            self.unwritten = msg  # in memory only

    result = ex.check("06.storage_compaction", Hasty)
    assert not result.passed
    assert "snapshot" in result.message and "missing" in result.message


def test_a_compact_log_that_deletes_one_entry_too_many_is_told_so() -> None:
    class OneTooMany(MyStorage):
        def compact_log(self, msg: Any) -> None:
            for key in self.disk.keys():
                if key.startswith("log/") and int(key[4:]) <= msg.through_index + 1:
                    self.disk.delete(key)
            self.disk.sync()

    result = ex.check("06.storage_compaction", OneTooMany)
    assert not result.passed and "compact" in result.message


def test_the_built_in_handler_is_not_an_answer() -> None:
    result = ex.check("06.storage_compaction", le.DiskStorage)
    assert not result.passed and "LogStorage" in result.message


def test_the_gallery_bug_unfixed_fails_with_its_violation() -> None:
    result = ex.check("06.fix_compacts_before_snapshot", GALLERY["CompactsBeforeSnapshot"])
    assert not result.passed and "Durability" in result.message


def test_needs_snapshot_off_by_one_is_caught() -> None:
    def strictly_before(cluster: le.Cluster) -> set[int]:
        if cluster.leader is None:
            return set()
        view = cluster.servers[cluster.leader]
        return {f for f, n in view.next_index.items() if n < view.snapshot_index}

    result = ex.check("06.needs_snapshot", strictly_before)
    assert not result.passed and "but the answer is" in result.message


def test_term_at_without_the_snapshot_term_is_caught() -> None:
    def log_only(server: Any, index: int) -> int | None:
        if index == 0:
            return 0
        if server.snapshot_index < index <= server.last_log_index:
            return int(server.log[index - server.snapshot_index - 1].term)
        return None

    result = ex.check("06.term_at", log_only)
    assert not result.passed and "snapshot_term" in result.message
