"""A lesson as an nbgrader assignment, graded by nbgrader itself (issue 14).

``luminous-edu nbgrader`` turns lesson 01 into an nbgrader source notebook; nbgrader
releases it; two students hand in copies, one right and one wrong; ``nbgrader
autograde`` runs each as that student (``LUMINOUS_EDU_STUDENT``, so the prediction
about the run is graded on the student's own seed), and the gradebook gives the
points each autograded cell earned. nbgrader is part of the ``test`` extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from luminous_edu import exercises as ex
from luminous_edu.exercises import nbgrader, seeds

pytest.importorskip("nbgrader")
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "01_leader_election.ipynb"
NAME = LESSON.stem


def test_the_source_notebook_adds_one_locked_test_cell_per_exercise() -> None:
    lesson = json.loads(LESSON.read_text("utf-8"))
    source = nbgrader.source_notebook(lesson, points=2)
    added = [c for c in source["cells"] if "nbgrader" in c.get("metadata", {})]
    assert sorted(c["metadata"]["nbgrader"]["grade_id"] for c in added) == [
        "check-" + e.id.replace(".", "-") for e in ex.all_exercises("01")
    ]
    for cell in added:
        meta = cell["metadata"]["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] == 2 and not meta["solution"]
        assert "le.exercises.require(" in "".join(cell["source"])
    assert len(source["cells"]) == len(lesson["cells"]) + len(added)
    with pytest.raises(Exception, match="checks no exercise"):
        nbgrader.source_notebook({"cells": [{"cell_type": "code", "source": ["1 + 1"]}]})


# nbgrader runs the `alembic` command of the environment it is installed in.
BIN = str(Path(sys.executable).parent)


def _nbgrader(course: Path, *args: str, student: str | None = None) -> str:
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.pop(seeds.STUDENT_VARIABLE, None)
    if student is not None:
        env[seeds.STUDENT_VARIABLE] = student
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _hand_in(course: Path, student: str, right: bool) -> None:
    released = course / "release" / "ps1" / f"{NAME}.ipynb"
    notebook = json.loads(released.read_text("utf-8"))
    seed = seeds.seed_for("01", student)
    first = ex.get("01.predict_first_candidate").right_answer(seed)
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if text.startswith("def votes_needed(servers):"):
            body = "servers // 2 + 1" if right else "servers // 2"
            text = text.replace("raise NotImplementedError  # your code here", f"return {body}")
        if text.startswith("first_candidate = ..."):
            answer = first if right else first % 5 + 1
            text = text.replace("first_candidate = ...", f"first_candidate = {answer}")
        cell["source"] = text.splitlines(keepends=True)
    target = course / "submitted" / student / "ps1" / released.name
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(notebook), "utf-8")


@pytest.mark.slow
def test_nbgrader_autogrades_a_lesson_on_each_students_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "raft"\n', "utf-8"
    )
    nbgrader.convert([LESSON], course / "source" / "ps1")
    _nbgrader(course, "db", "assignment", "add", "ps1")
    for student in ("ada", "bob"):
        _nbgrader(course, "db", "student", "add", student)
    _nbgrader(course, "generate_assignment", "ps1")
    _hand_in(course, "ada", right=True)
    _hand_in(course, "bob", right=False)
    for student in ("ada", "bob"):
        _nbgrader(course, "autograde", "ps1", "--student", student, student=student)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:

        def points(student: str, exercise_id: str) -> float:
            grade_id = "check-" + exercise_id.replace(".", "-")
            grade = book.find_grade(grade_id, NAME, "ps1", student)
            return float(grade.score)

        for exercise_id in ("01.votes_needed", "01.predict_first_candidate"):
            assert points("ada", exercise_id) == 1, exercise_id
            assert points("bob", exercise_id) == 0, exercise_id
        assert points("ada", "01.grants_vote") == points("bob", "01.grants_vote") == 0
        assert book.find_submission("ps1", "ada").score == 2
        assert book.find_submission("ps1", "bob").score == 0
    # The two students' runs differ, so the right answer differs too.
    assert seeds.seed_for("01", "ada") != seeds.seed_for("01", "bob")
