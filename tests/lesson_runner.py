"""Running a lesson notebook's code headless, as a given student, to check what its
text says about the run it makes.

``run_lesson(path, student, recorders)`` executes every code cell in order in one
namespace, with ``LUMINOUS_EDU_STUDENT`` set to ``student`` (None: the reference run,
the one the text was written on), and after the first cell whose source contains a
recorder's marker, calls the recorder on the namespace. Dashboards are not built
(``Cluster.show`` returns a stand-in): nbval and the browser tests run them."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import luminous_edu as le
from luminous_edu.exercises import seeds

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

Recorder = Callable[[dict[str, Any]], Any]


class NoDashboard:
    """What ``cluster.show()`` returns here: every dashboard method does nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text("utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@contextmanager
def as_student(student: str | None) -> Iterator[None]:
    """``LUMINOUS_EDU_STUDENT`` set to ``student`` (unset for None), and no seed chosen
    yet in this process; both restored afterwards."""
    saved = os.environ.get(seeds.STUDENT_VARIABLE)
    if student is None:
        os.environ.pop(seeds.STUDENT_VARIABLE, None)
    else:
        os.environ[seeds.STUDENT_VARIABLE] = student
    seeds.forget()
    try:
        yield
    finally:
        seeds.forget()
        if saved is None:
            os.environ.pop(seeds.STUDENT_VARIABLE, None)
        else:
            os.environ[seeds.STUDENT_VARIABLE] = saved


def run_lesson(
    path: Path, student: str | None = None, recorders: dict[str, tuple[str, Recorder]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the notebook's code cells as ``student``; returns (namespace, what each
    recorder returned, by name). Fails if a recorder's marker matches no cell."""
    recorders = recorders or {}
    namespace: dict[str, Any] = {"__name__": path.stem}
    seen: dict[str, Any] = {}
    show = le.Cluster.show  # type: ignore[attr-defined]
    le.Cluster.show = lambda self, **options: NoDashboard()  # type: ignore[attr-defined]
    try:
        with as_student(student), warnings.catch_warnings():
            warnings.simplefilter("ignore", le.GaveUpWarning)
            for number, source in enumerate(code_cells(path)):
                code = compile(source, f"{path.name}, code cell {number}", "exec")
                exec(code, namespace)
                for name, (marker, record) in recorders.items():
                    if name not in seen and marker in source:
                        seen[name] = record(namespace)
    finally:
        le.Cluster.show = show  # type: ignore[attr-defined]
    missing = sorted(set(recorders) - set(seen))
    assert not missing, f"no cell of {path.name} matches the recorders {missing}"
    return namespace, seen
