"""The lessons' structure keeps their promises (issue 14).

- Every lesson takes its seeds from one place: its first code cell chooses
  ``SEED = le.exercises.lesson_seed("NN")`` and every cluster, key-value store and
  ready-made story is built from ``SEED`` (except the ready-made scenarios that are the
  same for everybody).
- A prediction comes before anything that reveals it: with "Run All", a dashboard
  shown above a "predict, then run" question must not be brought up to date
  (``refresh``) with the run that answers it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from lesson_runner import LESSONS, code_cells

from luminous_edu import exercises as ex
from luminous_edu.kv import scenarios as kv_scenarios
from luminous_edu.sim import scenarios as sim_scenarios

# Clusters whose seed is their scenario's own, the same for every student.
SHARED_SCENARIOS = {
    "07": [
        "single_change_bug_scenario(bug=True, seed=1)",
        "single_change_bug_scenario(bug=False, seed=1)",
    ],
}
# The ready-made stories that take a seed: a lesson gives them SEED.
STORY_BUILDERS = sorted(
    name
    for module in (sim_scenarios, kv_scenarios)
    for name, function in vars(module).items()
    if inspect.isfunction(function)
    and function.__module__ == module.__name__
    and "seed" in inspect.signature(function).parameters
)
DRIVING = (
    "run|run_until|step|propose|crash|restart|heal|connect|disconnect|partition|timeout|"
    "fire|drop|transfer_leadership|add_server|remove_server|add_learner|promote|read|rewind|seek"
)


def lesson_of(path: Path) -> str:
    return path.name[:2]


@pytest.mark.parametrize("path", LESSONS, ids=lesson_of)
def test_the_first_code_cell_chooses_the_lessons_seed(path: Path) -> None:
    cells = code_cells(path)
    lesson = lesson_of(path)
    assert f'SEED = le.exercises.lesson_seed("{lesson}")' in cells[0], path.name


@pytest.mark.parametrize("path", LESSONS, ids=lesson_of)
def test_every_cluster_is_built_from_the_lessons_seed(path: Path) -> None:
    code = "\n".join(code_cells(path))
    for shared in SHARED_SCENARIOS.get(lesson_of(path), []):
        code = code.replace(shared, "")
    literal = re.findall(r"\bseed=\d", code)
    assert literal == [], f"{path.name} builds a cluster from a fixed seed: {literal}"
    for built in re.findall(r"le\.Cluster\(([^)]*)\)", code):
        assert "seed=SEED" in built, f"{path.name}: le.Cluster({built}) ignores SEED"
    for kind, built in re.findall(r"le\.(KVStore|KVStore\.restore)\(([^)]*)\)", code):
        assert "seed=SEED" in built, f"{path.name}: le.{kind}({built}) ignores SEED"
    for name in STORY_BUILDERS:
        for given in re.findall(rf"\b{name}\(([^)]*)\)", code):
            assert "seed=SEED" in given, f"{path.name}: {name}({given}) ignores SEED"


def _predictions(cells: list[str]) -> list[tuple[str, int, int]]:
    """(id, the cell that checks the prediction, the cell that reveals it)."""
    found = []
    for number, source in enumerate(cells):
        for exercise_id in re.findall(r'exercises\.check\("(\d\d\.[a-z0-9_]+)"', source):
            if ex.get(exercise_id).kind != "prediction":
                continue
            reveal = next(
                k
                for k in range(number, len(cells))
                if f'exercises.reveal("{exercise_id}")' in cells[k]
            )
            found.append((exercise_id, number, reveal))
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lesson_of)
def test_no_dashboard_above_a_prediction_is_refreshed_with_its_answer(path: Path) -> None:
    cells = code_cells(path)
    predictions = _predictions(cells)
    assert predictions, f"{path.name} asks no prediction?"
    for exercise_id, asked, revealed in predictions:
        answering = "\n".join(cells[asked + 1 : revealed + 1])
        driven = set(re.findall(rf"\b(\w+)\.(?:{DRIVING})\(", answering))
        above = "\n".join(cells[:asked])
        boards = dict(re.findall(r"\b(\w+) = (\w+)\.show\(", above))
        boards |= dict(re.findall(r"\b(\w+) = le\.Dashboard\((\w+)", above))
        later = "\n".join(cells[asked:])
        for board, cluster in boards.items():
            if cluster in driven:
                assert f"{board}.refresh(" not in later, (
                    f"{path.name}: {board} (a dashboard of {cluster}) is shown above "
                    f"{exercise_id} and refreshed after it: Run All shows the answer first"
                )


def test_the_structure_checks_see_a_spoiler() -> None:
    """The check above fails on the shape it is meant to catch."""
    cells = [
        'SEED = le.exercises.lesson_seed("00")\ncluster = le.Cluster(seed=SEED)\n'
        "dashboard = cluster.show()",
        'guess = ...\nle.exercises.check("00.first_leader", guess)',
        "cluster.run_until(lambda c: c.leader)\ndashboard.refresh()",
        'le.exercises.reveal("00.first_leader")',
    ]
    (exercise_id, asked, revealed) = _predictions(cells)[0]
    driven = set(re.findall(rf"\b(\w+)\.(?:{DRIVING})\(", "\n".join(cells[asked + 1 :])))
    assert (exercise_id, asked, revealed) == ("00.first_leader", 1, 3)
    assert "cluster" in driven and "dashboard.refresh(" in cells[2]
