"""Loading the instructors' reference solutions (``notebooks/solutions/lessonNN.py``),
which are plain files, not a package that tests can import."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SOLUTIONS_DIR = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"


def load_solutions_module(path: Path) -> ModuleType:
    """The module in ``path`` (e.g. ``SOLUTIONS_DIR / "lesson07.py"``), executed afresh."""
    spec = importlib.util.spec_from_file_location(f"solutions_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
