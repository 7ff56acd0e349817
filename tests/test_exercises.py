"""Both sides of every exercise: the check passes with the reference solution in
``notebooks/solutions/`` and fails, with a helpful message and no exception, on the
starter the student sees. The registry enumerates the exercises, so a new exercise is
covered as soon as it is registered (and must then have a solution)."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from solution_modules import SOLUTIONS_DIR, load_solutions_module

import luminous_edu as le
from luminous_edu import exercises as ex

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = sorted(ex.REGISTRY)


def load_solutions() -> dict[str, Any]:
    solutions: dict[str, Any] = {}
    for path in sorted(SOLUTIONS_DIR.glob("lesson[0-9][0-9].py")):
        module = load_solutions_module(path)
        for exercise_id, answer in module.SOLUTIONS.items():
            assert exercise_id not in solutions, f"{exercise_id} solved twice"
            assert exercise_id.startswith(path.stem.removeprefix("lesson") + "."), (
                f"{path.name} solves {exercise_id}, which belongs to another lesson"
            )
            solutions[exercise_id] = answer
    return solutions


SOLUTIONS = load_solutions()


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text("utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


# ------------------------------------------------------------- the registry


def test_there_are_exercises_for_every_lesson_so_far() -> None:
    lessons = {e.lesson for e in ex.all_exercises()}
    assert {"00", "01", "02", "03"} <= lessons
    for lesson in ("01", "02", "03"):
        assert 2 <= len([e for e in ex.all_exercises(lesson) if e.kind != "prediction"]) <= 4


def test_every_exercise_has_a_reference_solution_and_every_solution_an_exercise() -> None:
    assert sorted(SOLUTIONS) == IDS


def test_ids_look_like_lesson_dot_name_and_prompts_are_one_line() -> None:
    for item in ex.all_exercises():
        assert re.fullmatch(r"\d\d\.[a-z0-9_]+", item.id), item.id
        assert item.prompt and "\n" not in item.prompt, item.id
        assert item.kind in ("value", "function", "prediction")


# --------------------------------------------------------- the two sides


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_solution_passes(exercise_id: str) -> None:
    result = le.exercises.check(exercise_id, SOLUTIONS[exercise_id])
    assert result.passed, str(result)
    assert str(result).startswith(f"✓ {exercise_id}: ")
    assert "✓" in result._repr_html_()


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_starter_fails_with_a_helpful_message(exercise_id: str) -> None:
    item = ex.get(exercise_id)
    result = le.check_exercise(exercise_id, item.starter)  # the same function
    assert not result.passed
    text = str(result)
    assert text.startswith(f"✗ {exercise_id}: ")
    assert len(result.message) > 30, text
    assert "Traceback" not in text
    assert "the check itself failed" not in text, text  # a checker bug, not a message
    assert "✗" in result._repr_html_()
    if item.kind == "function":
        assert "not written yet" in result.message


@pytest.mark.parametrize("exercise_id", IDS)
@pytest.mark.parametrize(
    "odd",
    [None, 42, "S9", "nonsense", [], {}, {1, 2}, object(), lambda: None, print],
    ids=repr,
)
def test_a_check_never_raises(exercise_id: str, odd: Any) -> None:
    result = le.exercises.check(exercise_id, odd)
    assert isinstance(result, ex.Result)
    assert "Traceback" not in str(result)
    assert "the check itself failed" not in str(result), str(result)


@pytest.mark.parametrize("exercise_id", [i for i in IDS if ex.get(i).kind == "function"])
def test_a_function_that_raises_or_returns_nothing_gets_a_sentence(exercise_id: str) -> None:
    def broken(*args: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    def silent(*args: Any) -> None:
        pass

    starter = ex.get(exercise_id).starter
    broken.__signature__ = silent.__signature__ = inspect.signature(starter)  # type: ignore[attr-defined]
    result = ex.check(exercise_id, broken)
    assert not result.passed and "ZeroDivisionError: division by zero" in result.message
    result = ex.check(exercise_id, silent)  # returns None: fails with a sentence
    assert not result.passed and len(result.message) > 20
    assert "the check itself failed" not in result.message, result.message


# ------------------------------------------------------ specific messages


def test_a_wrong_function_is_told_which_call_and_why() -> None:
    result = ex.check("01.votes_needed", lambda servers: servers // 2)
    assert not result.passed
    assert "votes_needed(5) returned 2, but the answer is 3" in result.message
    assert result.hint and "more than half" in result.hint


def test_wrong_arity_is_explained() -> None:
    result = ex.check("03.up_to_date", lambda a, b: True)
    assert not result.passed and "should take 4 arguments" in result.message


def test_passing_a_call_instead_of_the_function() -> None:
    result = ex.check("01.votes_needed", 3)
    assert not result.passed and "without calling it" in result.message


def test_a_split_vote_needs_every_vote_cast() -> None:
    def only_timeouts(cluster: le.Cluster) -> None:
        cluster.timeout(1)
        cluster.timeout(2)
        for event in cluster.pending():
            if event.kind == "deliver":
                cluster.drop(event.id)

    result = ex.check("01.split_vote", only_timeouts)
    assert not result.passed and "never voted" in result.message

    def one_winner(cluster: le.Cluster) -> None:
        cluster.run_until(lambda c: c.leader is not None)

    result = ex.check("01.split_vote", one_winner)
    assert not result.passed and "no term had two candidates" in result.message


def test_figure7_answers_say_which_letter_is_wrong() -> None:
    result = ex.check("03.figure7_electable", {"a", "c"})
    assert not result.passed and "(d) can win too" in result.message
    result = ex.check("03.figure7_electable", "acdf")
    assert not result.passed and "(f) cannot win" in result.message
    assert ex.check("03.figure7_electable", ["A", "c", "(d)"]).passed


def test_server_ids_are_accepted_in_every_spelling() -> None:
    right = ex.get("00.first_leader").right_answer()
    for spelling in (right, f"S{right}", f"s{right}", str(right)):
        assert ex.check("00.first_leader", spelling).passed, spelling


# ------------------------------------------------ predictions and reveal


@pytest.mark.parametrize("exercise_id", [i for i in IDS if ex.get(i).kind == "prediction"])
def test_reveal_gives_the_answer_and_why(exercise_id: str) -> None:
    answer = ex.reveal(exercise_id)
    assert answer.title.startswith("the answer is ")
    assert len(answer.text) > 40
    assert answer.text in answer._repr_html_() or "&" in answer._repr_html_()
    assert ex.get(exercise_id).section  # every question cites the paper


def test_reveal_on_an_exercise_does_not_give_it_away() -> None:
    answer = ex.reveal("01.votes_needed")
    assert answer.title == "no answer to reveal"
    assert "hint" in answer.text


def test_unknown_ids_never_raise() -> None:
    for bad in ("01.no_such_thing", 7, None):
        result = ex.check(bad, 1)  # type: ignore[arg-type]
        assert not result.passed and "there is no exercise" in result.message
        assert "unknown" in ex.reveal(bad).title  # type: ignore[arg-type]
        assert "unknown" in ex.hint(bad).title  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="known"):
        ex.get("01.no_such_thing")


def test_listing_shows_a_lessons_exercises() -> None:
    text = str(ex.listing("01"))
    assert "01.votes_needed" in text and "02." not in text
    assert "<table>" in ex.listing()._repr_html_()


def test_html_escapes_student_text() -> None:
    result = ex.check("03.figure7_electable", "<script>")
    assert "<script>" not in result._repr_html_()


# ------------------------------------------------------ the notebooks


def test_every_exercise_is_used_in_its_lesson_and_every_used_id_exists() -> None:
    used: set[str] = set()
    for path in NOTEBOOKS:
        code = notebook_code(path)
        found = set(re.findall(r"[\"'](\d\d\.[a-z0-9_]+)[\"']", code))
        for exercise_id in found:
            assert exercise_id in ex.REGISTRY, f"{path.name} names unknown {exercise_id}"
            assert exercise_id.startswith(path.name[:2] + "."), (path.name, exercise_id)
        used |= found
    lessons_with_notebooks = {p.name[:2] for p in NOTEBOOKS}
    missing = [i for i in IDS if i[:2] in lessons_with_notebooks and i not in used]
    assert missing == [], f"registered but not in their lesson: {missing}"


def test_notebooks_are_committed_without_outputs() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text("utf-8"))
        assert notebook["metadata"]["kernelspec"]["name"] == "python3", path.name
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_notebook_code_cells_are_valid_python() -> None:
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text("utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                ast.parse("".join(cell["source"]))
