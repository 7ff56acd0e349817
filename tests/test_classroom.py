"""Collecting a class's work (issue 14): ``progress()``, ``submission(path)`` and
``luminous-edu grade``, with a tampered file refused."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.__main__ import main
from luminous_edu.exercises import classroom, seeds
from luminous_edu.exercises.framework import ATTEMPTS


@pytest.fixture(autouse=True)
def fresh_kernel() -> Iterator[None]:
    """Each test starts like a new notebook kernel: no check made, no seed chosen."""
    ATTEMPTS.clear()
    seeds.forget()
    yield
    ATTEMPTS.clear()
    seeds.forget()


def votes_needed(servers: int) -> int:
    return servers // 2 + 1


def work_of(student: str, right: bool, path: Path, **options: Any) -> Path:
    """A student's lesson 01: a seed of their own, three answers, one run."""
    ATTEMPTS.clear()
    seeds.forget()
    seed = ex.lesson_seed("01", student)
    cluster = le.Cluster(servers=5, seed=seed)
    first = ex.get("01.predict_first_candidate").right_answer(seed)
    ex.check("01.predict_first_candidate", first if right else first % 5 + 1)
    ex.check("01.votes_needed", votes_needed if right else (lambda servers: servers // 2))
    ex.check("01.predict_after_split", "b")
    cluster.run_until(lambda c: c.leader is not None)
    return ex.submission(path, runs={"cluster": cluster}, **options)


# ------------------------------------------------------------------ progress


def test_progress_shows_done_tried_and_not_tried() -> None:
    seed = ex.lesson_seed("01")
    ex.check("01.votes_needed", votes_needed)
    ex.check("01.grants_vote", lambda *args: True)
    shown = ex.progress()
    assert [i for i, _, _ in shown.rows] == [e.id for e in ex.all_exercises("01")]
    assert shown.done == ["01.votes_needed"]
    assert "01.grants_vote" in shown.pending and "01.split_vote" in shown.pending
    text = str(shown)
    assert text.startswith("1 of 5 exercises done")
    assert "✓ 01.votes_needed" in text and "✗ 01.grants_vote" in text
    assert "· 01.split_vote" in text
    page = shown._repr_html_()
    assert page.startswith('<table class="luminous-progress">') and "1 of 5" in page
    assert seed == seeds.REFERENCE_SEEDS["01"]
    assert len(ex.progress("04").rows) == len(ex.all_exercises("04"))


# ---------------------------------------------------------------- submission


def test_a_submission_holds_what_the_instructor_needs(tmp_path: Path) -> None:
    path = work_of("ada@example.edu", right=True, path=tmp_path / "ada.json")
    document = json.loads(path.read_text("utf-8"))
    assert document["format"] == classroom.FORMAT
    assert document["student"] == "ada@example.edu"
    assert document["package_version"] == le.__version__
    seed = seeds.seed_for("01", "ada@example.edu")
    assert document["lessons"] == {"01": {"seed": seed, "reference": False}}
    record = document["exercises"]["01.votes_needed"]
    assert record["status"] == "passed" and "def votes_needed" in record["answer"]
    assert document["exercises"]["01.predict_first_candidate"]["seed"] == seed
    assert document["exercises"]["01.split_vote"] == {
        "lesson": "01",
        "kind": "function",
        "status": "not tried",
    }
    assert document["pending"] == ["01.grants_vote", "01.split_vote"]
    again = le.Cluster.load(document["runs"]["cluster"])
    assert again.leader is not None and again.seed == seed
    assert classroom.read_submission(path)["student"] == "ada@example.edu"


def test_by_default_every_cluster_of_the_notebook_is_exported(tmp_path: Path) -> None:
    main_module = sys.modules["__main__"]
    main_module.fig8 = le.Cluster(servers=5, seed=1)  # type: ignore[attr-defined]
    try:
        ex.check("03.figure7_electable", {"a", "c", "d"})
        document = json.loads(ex.submission(tmp_path / "s.json").read_text("utf-8"))
    finally:
        del main_module.fig8  # type: ignore[attr-defined]
    assert "fig8" in document["runs"] and document["student"] is None
    assert list(document["lessons"]) == ["03"]


def test_bad_arguments_are_told_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ex.SubmissionError, match=r"ending in \.json"):
        ex.submission(tmp_path / "work.txt")
    with pytest.raises(ex.SubmissionError, match="a dict of clusters by name"):
        ex.submission(tmp_path / "work.json", runs=[le.Cluster()])  # type: ignore[arg-type]


def test_on_a_hub_a_file_name_goes_to_the_courses_submissions_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub sets LUMINOUS_EDU_SUBMISSIONS to the student's folder in the course's
    shared directory: the lesson's submission("lesson01.json") hands the work in there,
    under the hub user's name, and luminous-edu grade reads it."""
    folder = tmp_path / "submissions" / "ada"
    monkeypatch.setenv(classroom.SUBMISSIONS_VARIABLE, str(folder))
    monkeypatch.setenv(seeds.HUB_USER_VARIABLE, "ada")
    monkeypatch.chdir(tmp_path)
    ex.lesson_seed("01")
    ex.check("01.predict_after_split", "b")
    written = ex.submission("lesson01.json", runs={})
    assert written == folder / "lesson01.json" and written.exists()
    document = classroom.read_submission(written)
    assert document["student"] == "ada"
    assert document["lessons"]["01"] == {"seed": seeds.seed_for("01", "ada"), "reference": False}
    elsewhere = ex.submission(tmp_path / "mine.json", runs={})  # a full path stays
    assert elsewhere == tmp_path / "mine.json" and elsewhere.exists()
    blocked = tmp_path / "not a folder"
    blocked.write_text("")
    monkeypatch.setenv(classroom.SUBMISSIONS_VARIABLE, str(blocked))
    with pytest.raises(ex.SubmissionError, match=r"LUMINOUS_EDU_SUBMISSIONS is .*instructor"):
        ex.submission("lesson01.json", runs={})


# ------------------------------------------------------------ tampering


def test_a_changed_submission_is_refused(tmp_path: Path) -> None:
    path = work_of("bob@example.edu", right=False, path=tmp_path / "bob.json")
    document = json.loads(path.read_text("utf-8"))
    document["exercises"]["01.votes_needed"]["status"] = "passed"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(ex.SubmissionError, match="tampered with") as refused:
        ex.read_submission(path)
    assert str(path) in str(refused.value) and "Ask the student" in str(refused.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not JSON"),
        ('{"format": "something else"}', "not a luminous_edu submission"),
        (json.dumps({"format": classroom.FORMAT}), "signature is missing"),
    ],
)
def test_a_file_that_is_no_submission_says_so(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ex.SubmissionError, match=words):
        ex.read_submission(path)
    with pytest.raises(ex.SubmissionError, match="no such file"):
        ex.read_submission(tmp_path / "missing.json")


def test_a_course_secret_is_needed_on_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = work_of("ada@example.edu", right=True, path=tmp_path / "plain.json")
    monkeypatch.setenv(classroom.SECRET_VARIABLE, "course secret")
    keyed = work_of("ada@example.edu", right=True, path=tmp_path / "keyed.json")
    assert ex.read_submission(keyed)["student"] == "ada@example.edu"
    with pytest.raises(ex.SubmissionError, match="signed without the course secret"):
        ex.read_submission(plain)
    with pytest.raises(ex.SubmissionError, match="tampered with"):
        ex.read_submission(keyed, secret=b"another secret")
    monkeypatch.delenv(classroom.SECRET_VARIABLE)
    with pytest.raises(ex.SubmissionError, match="signed with a course secret"):
        ex.read_submission(keyed)


# ------------------------------------------------------------ the grade command


def test_grade_prints_the_class_table_and_writes_csv(tmp_path: Path) -> None:
    ada = work_of("ada@example.edu", right=True, path=tmp_path / "ada.json")
    bob = work_of("bob@example.edu", right=False, path=tmp_path / "bob.json")
    out, err = io.StringIO(), io.StringIO()
    from luminous_edu.__main__ import grade

    assert grade([str(ada), str(bob)], str(tmp_path / "grades.csv"), out, err) == 0
    assert err.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["student", "lesson", "01", "done"]
    assert lines[1].split() == ["ada@example.edu", "3/5", "3/5"]
    assert lines[2].split() == ["bob@example.edu", "1/5", "1/5"]
    with (tmp_path / "grades.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    ids = [e.id for e in ex.all_exercises("01")]
    assert rows[0] == ["student", *ids, "passed"]
    by_student = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_student["ada@example.edu"]["01.votes_needed"] == "1"
    assert by_student["bob@example.edu"]["01.votes_needed"] == "0"
    assert by_student["bob@example.edu"]["01.split_vote"] == ""
    assert by_student["bob@example.edu"]["passed"] == "1"


def test_a_students_later_file_counts_for_what_it_tried(tmp_path: Path) -> None:
    first = work_of("bob@example.edu", right=False, path=tmp_path / "first.json")
    document = json.loads(first.read_text("utf-8"))
    document["created"] = "2000-01-01T00:00:00+00:00"  # earlier; sign it again
    document["signature"] = classroom._signature(document, None)
    first.write_text(json.dumps(document), "utf-8")
    later = work_of("bob@example.edu", right=True, path=tmp_path / "later.json")
    table = ex.classroom.class_table([ex.read_submission(later), ex.read_submission(first)])
    (student, statuses), *_ = table.rows
    assert student == "bob@example.edu" and statuses["01.votes_needed"] == "passed"


def test_grade_round_trip_refuses_a_tampered_file_with_a_clear_error(tmp_path: Path) -> None:
    """As an instructor runs it: the console command, in a process of its own."""
    ada = work_of("ada@example.edu", right=True, path=tmp_path / "ada.json")
    bob = work_of("bob@example.edu", right=False, path=tmp_path / "bob.json")
    command = [sys.executable, "-m", "luminous_edu", "grade", str(ada), str(bob)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ada@example.edu" in done.stdout and (tmp_path / "grades.csv").exists()

    text = bob.read_text("utf-8").replace('"status": "failed"', '"status": "passed"', 1)
    bob.write_text(text, "utf-8")
    done = subprocess.run(
        [*command, "--csv", str(tmp_path / "after.csv")], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert f"refused: {bob}: tampered with" in done.stderr
    assert "1 of 2 submissions refused" in done.stderr
    assert "ada@example.edu" in done.stdout and "bob@example.edu" not in done.stdout


def test_the_seed_command_lists_each_students_lesson_seeds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["seed", "ada@example.edu", "--course", "raft-2026"]) == 0
    lines = capsys.readouterr().out.splitlines()
    lessons = sorted(seeds.REFERENCE_SEEDS)
    assert lines[1].split()[2:] == [str(seeds.REFERENCE_SEEDS[n]) for n in lessons]
    assert lines[2].split()[1:] == [
        str(seeds.seed_for(n, "ada@example.edu", "raft-2026")) for n in lessons
    ]


def test_the_narrated_run_still_starts_without_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "luminous_edu", "--seed", "7", "--servers", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "3 servers start as followers (seed 7)" in done.stdout
    assert "0 safety violations" in done.stdout


def test_a_signed_file_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    document = {"format": classroom.FORMAT, "exercises": [], "lessons": {}, "runs": {}}
    document["signature"] = classroom._signature(document, None)
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(ex.SubmissionError, match="'exercises' is missing or not a dict"):
        ex.read_submission(path)
