"""Lessons as nbgrader assignments: ``luminous-edu nbgrader LESSON.ipynb... --out DIR``.

nbgrader (https://nbgrader.readthedocs.io) grades a notebook by running it again and
awarding each *autograded test cell* its points if the cell runs without an error. A
lesson already checks each exercise in the cell where the student answers it
(``le.exercises.check("01.votes_needed", votes_needed)``). ``source_notebook`` keeps
every cell as it is and adds, after each of those, a locked test cell worth ``points``::

    le.exercises.require("01.votes_needed", votes_needed)

which raises ``AssertionError`` with the check's sentence when the answer is wrong, so
nbgrader gives no points and the student's feedback says why. Put the result in the
course's ``source/<assignment>/`` folder, then ``nbgrader generate_assignment``, and
after collecting, ``nbgrader autograde``. For per-student runs, autograde each student
with their id set: ``LUMINOUS_EDU_STUDENT=ada nbgrader autograde ps1 --student ada``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from ..errors import LuminousError
from .framework import REGISTRY

# le.exercises.check("01.votes_needed", votes_needed): the id and the answer's name.
_CHECK = re.compile(
    r"""le\.exercises\.check\(\s*["'](\d\d\.[a-z0-9_]+)["']\s*,\s*([A-Za-z_]\w*)\s*\)"""
)
SCHEMA_VERSION = 3  # nbgrader's cell metadata schema


def source_notebook(notebook: dict[str, Any], *, points: int = 1) -> dict[str, Any]:
    """``notebook`` (a lesson, as parsed JSON) with an autograded test cell after the
    first cell that checks each exercise. Raises ``LuminousError`` if it checks none."""
    if type(points) is not int or points < 1:
        raise LuminousError(f"points={points!r}: give a whole number of points >= 1")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise LuminousError("not a notebook: it has no list of cells")
    out = copy.deepcopy(notebook)
    out["cells"] = []
    seen: set[str] = set()
    for cell in cells:
        out["cells"].append(copy.deepcopy(cell))
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        for exercise_id, answer in _CHECK.findall(source):
            if exercise_id in seen or exercise_id not in REGISTRY:
                continue
            seen.add(exercise_id)
            out["cells"].append(_test_cell(cell, exercise_id, answer, points))
    if not seen:
        raise LuminousError(
            'this notebook checks no exercise (no le.exercises.check("NN.name", answer) '
            "cell): nothing to grade"
        )
    return out


def _test_cell(after: dict[str, Any], exercise_id: str, answer: str, points: int) -> dict[str, Any]:
    grade_id = "check-" + exercise_id.replace(".", "-")
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {
            "deletable": False,
            "editable": False,
            "nbgrader": {
                "grade": True,
                "grade_id": grade_id,
                "locked": True,
                "points": points,
                "schema_version": SCHEMA_VERSION,
                "solution": False,
                "task": False,
            },
        },
        "outputs": [],
        "source": [
            f"# Graded ({points} point{'s' if points > 1 else ''}): fails with the check's "
            "sentence until the answer above is right.\n",
            f'le.exercises.require("{exercise_id}", {answer})',
        ],
    }
    if "id" in after:
        cell["id"] = f"{after['id']}-{grade_id}"[:64]
    return cell


def convert(paths: list[Path], out: Path, *, points: int = 1) -> list[Path]:
    """Write each lesson in ``paths`` as an nbgrader source notebook into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        try:
            notebook = json.loads(Path(path).read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise LuminousError(f"{path}: cannot read it as a notebook ({error})") from None
        try:
            graded = source_notebook(notebook, points=points)
        except LuminousError as error:
            raise LuminousError(f"{path}: {error}") from None
        target = out / Path(path).name
        target.write_text(json.dumps(graded, indent=1, ensure_ascii=False) + "\n", "utf-8")
        written.append(target)
    return written
