"""The layers import one way only: viz -> (kv | explore) -> sim -> (check | storage) -> core.

An AST scan of every module under ``luminous_edu/`` (every import statement, also those
inside functions or ``if TYPE_CHECKING:``, and ``importlib.import_module`` /
``__import__`` calls with a literal name), checked against DESIGN.md's "Layers".
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import luminous_edu

PACKAGE_DIR = Path(luminous_edu.__file__).resolve().parent
ROOT = PACKAGE_DIR.name  # "luminous_edu"
STDLIB = set(sys.stdlib_module_names)
NOTEBOOK_LIBRARIES = {"ipywidgets", "bokeh", "jupyter_bokeh", "IPython"}
# No randomness, clock, threads or I/O in core (DESIGN.md "Layers"): the modules named
# in the brief, and the standard library's other ways to the same things.
CORE_FORBIDDEN = {"random", "time", "threading", "asyncio", "os", "socket"} | {
    "secrets",
    "uuid",
    "datetime",
    "_thread",
    "subprocess",
    "multiprocessing",
    "concurrent",
    "signal",
    "select",
    "selectors",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "importlib",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """Absolute names of every module ``source`` (the text of ``module``) imports."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: -(node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if node.module is None or target == ROOT:
                # "from .. import errors": the names are modules or the package's attributes.
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if _is_module(sub) else target)
            else:
                found.add(target)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if (
                name in ("import_module", "__import__")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def _is_module(name: str) -> bool:
    if not name.startswith(ROOT + ".") and name != ROOT:
        return False
    path = PACKAGE_DIR.parent.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def all_modules() -> dict[str, set[str]]:
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = module_name(path)
        modules[name] = imports_of(path.read_text("utf-8"), name, path.name == "__init__.py")
    return modules


MODULES = all_modules()


def layer_of(name: str) -> str | None:
    """The layer ("core", "storage", ...) of a luminous_edu module; "" for the package's
    own top-level modules (luminous_edu, luminous_edu.errors); None outside it."""
    parts = name.split(".")
    if parts[0] != ROOT:
        return None
    if len(parts) > 1 and (PACKAGE_DIR / parts[1]).is_dir():
        return parts[1]
    return ""


def in_layer(layer: str) -> dict[str, set[str]]:
    return {m: imps for m, imps in MODULES.items() if m.startswith(f"{ROOT}.{layer}")}


def top(name: str) -> str:
    return name.split(".")[0]


def violations(modules: dict[str, set[str]], allowed: Callable[[str], bool]) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module, imported_names in modules.items()
        for imported in imported_names
        if not allowed(imported)
    )


# ------------------------------------------------------------ the scanner


def test_the_package_is_found_and_has_every_layer() -> None:
    layers = {layer_of(m) for m in MODULES}
    assert {"core", "storage", "check", "sim", "viz"} <= layers
    assert len(in_layer("core")) >= 3


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        ("import random", "luminous_edu.core.x", False, {"random"}),
        ("import os.path", "luminous_edu.core.x", False, {"os.path"}),
        ("from ..sim import Cluster", "luminous_edu.core.x", False, {"luminous_edu.sim"}),
        ("from . import log", "luminous_edu.core", True, {"luminous_edu.core.log"}),
        ("from .log import Entry", "luminous_edu.core", True, {"luminous_edu.core.log"}),
        ("from .. import errors", "luminous_edu.storage.x", False, {"luminous_edu.errors"}),
        ("from .. import Cluster", "luminous_edu.core.x", False, {"luminous_edu"}),
        ("def f():\n    import bokeh.plotting", "luminous_edu.sim.x", False, {"bokeh.plotting"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..viz import D",
            "luminous_edu.sim.x",
            False,
            {"typing", "luminous_edu.viz"},
        ),
        ("importlib.import_module('ipywidgets')", "luminous_edu.sim.x", False, {"ipywidgets"}),
        ("__import__('socket')", "luminous_edu.core.x", False, {"socket"}),
    ],
)
def test_the_scanner_sees_every_kind_of_import(
    source: str, module: str, is_package: bool, expected: set[str]
) -> None:
    assert imports_of(source, module, is_package) == expected


# ------------------------------------------------------------------ rules


def test_core_uses_only_harmless_standard_library_modules() -> None:
    """core/: no randomness, clock, threads, I/O or third-party code of its own."""

    def allowed(name: str) -> bool:
        if top(name) == ROOT:
            return layer_of(name) == "core"
        return top(name) in STDLIB and top(name) not in CORE_FORBIDDEN

    assert violations(in_layer("core"), allowed) == []


def test_core_imports_no_other_layer() -> None:
    def allowed(name: str) -> bool:
        return top(name) != ROOT or name.startswith(f"{ROOT}.core")

    assert violations(in_layer("core"), allowed) == []


@pytest.mark.parametrize("layer", ["storage", "check"])
def test_storage_and_check_import_only_core_and_errors(layer: str) -> None:
    def allowed(name: str) -> bool:
        if top(name) != ROOT:
            return top(name) in STDLIB
        return name.startswith((f"{ROOT}.core", f"{ROOT}.{layer}")) or name == f"{ROOT}.errors"

    assert violations(in_layer(layer), allowed) == []


def test_sim_does_not_import_viz() -> None:
    def allowed(name: str) -> bool:
        return not name.startswith(f"{ROOT}.viz") and name != ROOT

    assert violations(in_layer("sim"), allowed) == []


def test_kv_builds_on_sim_and_check_and_never_on_viz() -> None:
    """kv/ is an application on the public Cluster API (DESIGN.md "Layers")."""
    below = ("core", "storage", "check", "sim", "kv")

    def allowed(name: str) -> bool:
        if top(name) != ROOT:
            return top(name) in STDLIB
        return layer_of(name) in below or name == f"{ROOT}.errors"

    assert in_layer("kv")
    assert violations(in_layer("kv"), allowed) == []


def test_explore_builds_on_sim_and_check_and_never_on_viz() -> None:
    """explore/ searches schedules through the public Cluster API; it runs in worker
    processes and headless, so never viz (DESIGN.md "Layers"), nor kv or exercises."""
    below = ("core", "storage", "check", "sim", "explore")

    def allowed(name: str) -> bool:
        if top(name) != ROOT:
            return top(name) in STDLIB
        return layer_of(name) in below or name == f"{ROOT}.errors"

    assert in_layer("explore")
    assert violations(in_layer("explore"), allowed) == []


def test_only_viz_imports_notebook_libraries() -> None:
    outside = {m: imps for m, imps in MODULES.items() if not m.startswith(f"{ROOT}.viz")}

    def allowed(name: str) -> bool:
        return top(name) not in NOTEBOOK_LIBRARIES

    assert violations(outside, allowed) == []


def test_nothing_below_viz_imports_viz() -> None:
    below = {
        m: imps
        for m, imps in MODULES.items()
        if layer_of(m) in ("core", "storage", "check", "sim", "kv", "explore")
        or m == f"{ROOT}.errors"
    }

    def allowed(name: str) -> bool:
        return not name.startswith(f"{ROOT}.viz")

    assert violations(below, allowed) == []


def test_importing_the_simulation_loads_no_notebook_library() -> None:
    """At run time too: a fresh interpreter that imports luminous_edu.sim (and runs a
    few steps), checks an exercise and shows the progress table as HTML, explores (with
    the default progress display) and runs a lab test, has loaded none of ipywidgets,
    bokeh, jupyter_bokeh or IPython."""
    script = (
        "import sys, luminous_edu.sim as sim\n"
        "c = sim.Cluster(servers=3, seed=1)\n"
        "c.run(500)\n"
        "import luminous_edu.exercises as ex\n"
        "ex.check('01.votes_needed', lambda n: n // 2 + 1)\n"
        "ex.progress()._repr_html_()\n"
        "import luminous_edu as le\n"
        "r = le.explore(bugs={'vote_twice'}, budget_steps=2000, processes=1)\n"
        "r._repr_html_(), r.to_python(), le.labs.run(tests=['InitialElection3A'])._repr_html_()\n"
        f"names = {sorted(NOTEBOOK_LIBRARIES)!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
