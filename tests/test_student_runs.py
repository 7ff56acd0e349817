"""Per-student runs (issue 14): two students' lessons built from different seeds.

Every lesson takes its seed from one place (``le.exercises.lesson_seed``). For two
students, each lesson notebook runs headless as that student; what its cells show
agrees with the answers its predictions compute for that student's run; every exercise
of the lesson passes with the reference solution computed for that run; and where an
answer depends on the run, the two students' answers differ, so one cannot copy the
other's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lesson_runner import LESSONS, run_lesson
from solution_modules import SOLUTIONS_DIR, load_solutions_module

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.exercises import lesson02, seeds

STUDENTS = ("ada@example.edu", "alan@example.edu")
# The questions whose answer is a fact of the run (a server id, how many shards one
# server led), not of Raft.
RUN_DEPENDENT = ("00.first_leader", "01.predict_first_candidate", "09.predict_shard_leaders")


def solutions_for(lesson: str, seed: int) -> dict[str, Any]:
    module = load_solutions_module(SOLUTIONS_DIR / f"lesson{lesson}.py")
    solve = getattr(module, "solutions", None)
    return dict(solve(seed) if solve else module.SOLUTIONS)


# What each notebook shows about its run, read after the cell holding the marker: it
# must be what the lesson's prediction computes for the same seed.
def _leader(ns: dict[str, Any]) -> Any:
    return ns["cluster"].leader


def _candidate(ns: dict[str, Any]) -> Any:
    return ns["cluster"].trace[-1].server


def _rejections(ns: dict[str, Any]) -> Any:
    run = lesson02.Repair(ns["repair"], ns["down"], ns["new"], ns["start"])
    return lesson02.rejections(run)


def _lonely_term(ns: dict[str, Any]) -> Any:
    return ns["calm"].servers[ns["lonely"]].current_term


# Lesson 09's questions name their choices by letter.
LOST_REPLY_LETTERS = {"x": "a", "xx": "b", None: "c"}
LATE_REPLICA_LETTERS = {"alice!": "a", None: "b", "!": "c"}


def _read_after_retry(ns: dict[str, Any]) -> Any:
    return LOST_REPLY_LETTERS.get(ns["run"].get.value)


def _stale_value(ns: dict[str, Any]) -> Any:
    return ns["stale"].get.value


def _late_replica_holds(ns: dict[str, Any]) -> Any:
    run = ns["run"]
    return LATE_REPLICA_LETTERS.get(run.store.contents(run.late).get("lock"))


def _restored_k9(ns: dict[str, Any]) -> Any:
    return ns["gets"][9].value is not None


def _shards_led_by_shard_0s_leader(ns: dict[str, Any]) -> Any:
    leaders = ns["store"].leaders  # as printed before the crash
    return list(leaders.values()).count(leaders[0])


# Lesson 10's property question names Figure 3's properties by letter.
PROPERTY_LETTERS = dict(zip(le.FIGURE_3, "abcde", strict=True))


def _property_broken(ns: dict[str, Any]) -> Any:
    return PROPERTY_LETTERS.get(ns["result"].violation.property)


def _who_applied(ns: dict[str, Any]) -> Any:
    return "a" if ns["fired"][0].server == ns["c"].leader else "b"


def _lab_caught(ns: dict[str, Any]) -> Any:
    return not ns["late"].passed


SHOWN: dict[str, dict[str, tuple[str, Any]]] = {
    "00": {"00.first_leader": ("cluster.run_until(lambda c: c.leader is not None)", _leader)},
    "01": {"01.predict_first_candidate": ("cluster.step()", _candidate)},
    "02": {"02.predict_rejections": ("repair.run_until(lambda c: c.servers[down]", _rejections)},
    "08": {"08.predict_prevote_term": ("calm.run(2000)", _lonely_term)},
    "09": {
        "09.predict_lost_reply": ("scenarios.lost_reply(seed=SEED)", _read_after_retry),
        "09.predict_stale_read": ('scenarios.stale_read("local"', _stale_value),
        "09.predict_late_replica": ('late_replica(expiry_clock="local"', _late_replica_holds),
        "09.predict_restore": ("restored = le.KVStore.restore(", _restored_k9),
        "09.predict_shard_leaders": ("scenarios.sharded(", _shards_led_by_shard_0s_leader),
    },
    "10": {
        "10.predict_property": ('le.explore(bugs={"commit_past_last_new"}', _property_broken),
        "10.predict_who": ("c = result.replay()", _who_applied),
        "10.predict_lab": ('late = le.labs.run(storage=GALLERY["TermAfterVote"]', _lab_caught),
    },
}


def lesson_of(path: Path) -> str:
    return path.name[:2]


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], dict[str, Any]]:
    """Each lesson run as each student: its seed and what its cells showed."""
    done: dict[tuple[str, str], dict[str, Any]] = {}
    for path in LESSONS:
        lesson = lesson_of(path)
        for student in STUDENTS:
            namespace, shown = run_lesson(path, student, SHOWN.get(lesson, {}))
            done[lesson, student] = {"seed": namespace["SEED"], "shown": shown}
    return done


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("path", LESSONS, ids=lesson_of)
def test_each_lesson_runs_and_checks_on_the_students_own_seed(
    runs: dict[tuple[str, str], dict[str, Any]], path: Path, student: str
) -> None:
    lesson = lesson_of(path)
    seed = runs[lesson, student]["seed"]
    assert seed == seeds.seed_for(lesson, student) != seeds.REFERENCE_SEEDS[lesson]
    # What the notebook showed is what its questions compute for this run ...
    for exercise_id, shown in runs[lesson, student]["shown"].items():
        assert shown == ex.get(exercise_id).right_answer(seed), (exercise_id, student, seed)
    # ... and every check passes with the reference solution for this run.
    answers = solutions_for(lesson, seed)
    assert sorted(answers) == [e.id for e in ex.all_exercises(lesson)]
    for exercise_id, answer in answers.items():
        result = ex.check(exercise_id, answer, seed=seed)
        assert result.passed, f"{student}, seed {seed}: {result}"


def test_the_students_answers_differ_where_the_run_decides_them() -> None:
    for exercise_id in RUN_DEPENDENT:
        lesson = exercise_id[:2]
        first, second = (seeds.seed_for(lesson, s) for s in STUDENTS)
        mine = solutions_for(lesson, first)[exercise_id]
        theirs = solutions_for(lesson, second)[exercise_id]
        assert mine != theirs, exercise_id
        assert ex.check(exercise_id, mine, seed=first).passed
        assert not ex.check(exercise_id, mine, seed=second).passed  # no copying


def test_a_lessons_checks_follow_the_seed_it_chose() -> None:
    """``lesson_seed`` in a kernel decides what ``check`` and ``reveal`` use there."""
    seeds.forget()
    try:
        reference = seeds.seed_for("00")
        mine = ex.lesson_seed("00", STUDENTS[0])
        answer = solutions_for("00", mine)["00.first_leader"]
        assert ex.check("00.first_leader", answer).seed == mine
        assert ex.check("00.first_leader", answer).passed
        assert ex.reveal("00.first_leader").title == f"the answer is {answer}"
        assert ex.lesson_seed("00") == reference  # no student id: the reference run
        assert ex.check("00.first_leader", answer).seed == reference
    finally:
        seeds.forget()


def test_student_seed_is_stable_and_documented() -> None:
    # The same on every machine and every Python process: SHA-256, not hash().
    assert le.student_seed("ada@example.edu", course="raft-2026") == 812194
    assert le.student_seed("ada@example.edu", course="raft-2027") != 812194
    assert le.student_seed(" ada@example.edu ", course="raft-2026") == 812194
    assert 0 <= le.student_seed("x", course="c") < seeds.SEED_RANGE
    with pytest.raises(le.LuminousError, match="needs a student id"):
        le.student_seed()  # no id anywhere (the tests run with none set)
    with pytest.raises(le.LuminousError, match="student's id as text"):
        le.student_seed(42)  # type: ignore[arg-type]
    with pytest.raises(le.LuminousError, match="lesson's number"):
        ex.lesson_seed("lesson one")


def test_the_student_id_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(seeds.STUDENT_VARIABLE, "ada@example.edu")
    monkeypatch.setenv(seeds.COURSE_VARIABLE, "raft-2026")
    assert le.student_seed() == 812194
    assert seeds.seed_of("00") == seeds.seed_for("00", "ada@example.edu", "raft-2026")


# ------------------------------------------------------ on a JupyterHub (issue 17)


def test_on_a_hub_the_student_id_is_the_hub_user_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterHub puts the user's name in every server's environment: with nothing set
    up, each student of a course gets runs of their own, the same at every visit."""
    monkeypatch.setenv(seeds.COURSE_VARIABLE, "raft-2026")
    monkeypatch.setenv(seeds.HUB_USER_VARIABLE, "ada")
    assert le.student_seed() == le.student_seed("ada", course="raft-2026")
    assert le.student_seed(course="raft-2027") == le.student_seed("ada", course="raft-2027")
    seeds.forget()
    try:
        ada = seeds.seed_for("00", "ada", "raft-2026")
        assert ex.lesson_seed("00") == ada
        assert seeds.chosen()["00"] == (ada, "ada", "raft-2026")
        monkeypatch.setenv(seeds.HUB_USER_VARIABLE, "grace")  # another student's kernel
        grace = seeds.seed_for("00", "grace", "raft-2026")
        assert ex.lesson_seed("00") == grace != ada
    finally:
        seeds.forget()


def test_luminous_edu_student_wins_over_the_hub_user_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """An instructor who names students otherwise (a roster id, not the hub's login)
    sets LUMINOUS_EDU_STUDENT; an argument wins over both."""
    monkeypatch.setenv(seeds.HUB_USER_VARIABLE, "ada")
    monkeypatch.setenv(seeds.STUDENT_VARIABLE, "s1234567")
    assert seeds.current_student() == "s1234567"
    assert le.student_seed() == le.student_seed("s1234567")
    assert seeds.current_student("alan") == "alan"
    monkeypatch.setenv(seeds.STUDENT_VARIABLE, "  ")  # set but empty: not an id
    assert seeds.current_student() == "ada"


def test_on_binder_the_lessons_keep_their_reference_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """BinderHub makes up a user for every launch: that name is no student's."""
    monkeypatch.setenv(seeds.HUB_USER_VARIABLE, "owner-luminous_edu-x1y2z3")
    monkeypatch.setenv("BINDER_REPO_URL", "https://github.com/owner/luminous_edu")
    assert seeds.current_student() is None
    seeds.forget()
    try:
        assert ex.lesson_seed("00") == seeds.REFERENCE_SEEDS["00"]
    finally:
        seeds.forget()
    monkeypatch.setenv(seeds.STUDENT_VARIABLE, "ada")  # still honoured on Binder
    assert seeds.current_student() == "ada"
