"""The JupyterLite site's build script and lesson, without a browser or the network.

``jupyterlite/build.py``'s argument checks and its rewriting of Pyodide's lock file (on
a small made-up lock file and wheels); its one-sentence error when npm is missing; the
site's settings; and the lesson: committed without outputs, for Pyodide's kernel, and
running in CPython with bokeh unimportable as it is in the browser. The site itself is
built and driven in ``tests/browser/test_jupyterlite.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from litesite import (  # noqa: E402
    BUILD_SCRIPT,
    LESSON,
    MISSING_REQUIREMENT,
    printed_digest,
    run_lesson_in_cpython,
)


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lite_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lite_build"] = module  # dataclasses and typing look modules up by name
    spec.loader.exec_module(module)
    return module


build = load_build()


def run_build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
    )


def make_wheel(folder: Path, name: str, version: str, requires: list[str], top: str) -> Path:
    """A small wheel: one module ``top`` and METADATA with these Requires-Dist lines."""
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{top}/__init__.py", "")
        zf.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(meta) + "\n")
    return wheel


# ---------------------------------------------------------------- arguments


def test_out_may_not_replace_the_sources_or_the_cache(tmp_path: Path) -> None:
    check = build.check_out_dir
    cache = tmp_path / "cache"
    assert check(tmp_path / "site", cache) is None
    assert "would replace" in check(ROOT, cache)
    assert "would replace" in check(ROOT / "jupyterlite", cache)
    assert "inside the site's content folder" in check(
        ROOT / "jupyterlite" / "content" / "x", cache
    )
    assert "separate folders" in check(cache, cache)
    assert "separate folders" in check(cache / "site", cache)


def test_out_may_be_an_earlier_site_but_not_any_full_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "jupyter-lite.json").write_text("{}")
    assert build.check_out_dir(earlier, cache) is None
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("")
    assert "not empty and holds no earlier JupyterLite site" in build.check_out_dir(other, cache)
    result = run_build("--out", str(other), "--cache", str(cache))
    assert result.returncode == 2
    assert "holds no earlier JupyterLite site" in result.stderr
    assert (other / "thesis.tex").exists()


def test_without_npm_the_build_stops_with_one_sentence(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path / "empty"))  # no npm on it
    result = run_build("--out", str(tmp_path / "site"), "--cache", str(tmp_path / "cache"), env=env)
    assert result.returncode == MISSING_REQUIREMENT, result.stderr
    assert "npm is not on PATH" in result.stderr and "Node.js" in result.stderr
    assert not (tmp_path / "site").exists()


def test_the_wheel_is_rebuilt_only_when_its_sources_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "luminous_edu" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "jupyter-config").mkdir()
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "playground.ipynb").write_text("{}")
    (tmp_path / "luminous_edu" / "core.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("")
    (tmp_path / "LICENSE").write_text("")
    monkeypatch.setattr(build, "REPO", tmp_path)
    first = build.source_digest(build.wheel_sources())
    (tmp_path / "luminous_edu" / "__pycache__" / "core.pyc").write_bytes(b"\0")
    assert build.source_digest(build.wheel_sources()) == first
    (tmp_path / "luminous_edu" / "core.py").write_text("x = 2\n")
    assert build.source_digest(build.wheel_sources()) != first


def test_the_wheel_is_built_from_every_data_file_the_package_installs() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    named = {ROOT / name for names in data_files.values() for name in names}
    assert named and named <= set(build.wheel_sources())


# ---------------------------------------------------------------- the lock file


def test_lock_closure_follows_depends_and_refuses_an_unknown_root() -> None:
    packages = {
        "ipython": {"depends": ["traitlets", "Pygments"]},
        "traitlets": {"depends": []},
        "Pygments": {"depends": []},
        "numpy": {"depends": []},
    }
    assert build.lock_closure(packages, ["ipython"]) == ["ipython", "traitlets", "Pygments"]
    with pytest.raises(build.BuildError, match="no package 'micropip'"):
        build.lock_closure(packages, ["micropip"])


def test_site_lock_serves_only_its_wheels_with_their_own_hashes(tmp_path: Path) -> None:
    ipython = make_wheel(tmp_path, "ipython", "9.1", ["traitlets"], "IPython")
    traitlets = make_wheel(tmp_path, "traitlets", "5.1", [], "traitlets")
    ours = make_wheel(
        tmp_path,
        "luminous_edu",
        "0.1.0",
        ["traitlets>=5", "bokeh<4,>=3.4", 'pytest>=8; extra == "test"'],
        "luminous_edu",
    )

    def entry(name: str, file_name: str, depends: list[str]) -> dict[str, object]:
        return {
            "name": name,
            "version": file_name.split("-")[1],
            "file_name": file_name,
            "sha256": "0" * 64,  # Pyodide's own build: not the file served
            "imports": [name],
            "depends": depends,
            "install_dir": "site",
            "package_type": "package",
        }

    lock = {
        "info": {"python": "3.14.2"},
        "packages": {
            "ipython": entry("ipython", ipython.name, ["traitlets"]),
            "traitlets": entry("traitlets", traitlets.name, []),
            "numpy": entry("numpy", "numpy-2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl", []),
        },
    }
    new, notes = build.site_lock(lock, {"ipython": ipython, "traitlets": traitlets}, [ours])
    assert new["info"] == lock["info"]
    assert list(new["packages"]) == ["ipython", "luminous-edu", "traitlets"]  # numpy left out
    for key, wheel in [("ipython", ipython), ("traitlets", traitlets), ("luminous-edu", ours)]:
        got = new["packages"][key]
        assert got["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert got["file_name"] == wheel.name
    added = new["packages"]["luminous-edu"]
    assert added["imports"] == ["luminous_edu"]  # `import luminous_edu` loads it
    assert added["depends"] == ["traitlets"]  # served; bokeh is not; pytest only for an extra
    assert notes == ["luminous-edu: not in the site: bokeh"]
    assert lock["packages"]["ipython"]["sha256"] == "0" * 64  # the input is left alone


def test_site_lock_refuses_a_wheel_the_lock_does_not_name(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "traitlets", "5.2", [], "traitlets")
    lock = {"packages": {"traitlets": {"file_name": "traitlets-5.1-py3-none-any.whl"}}}
    with pytest.raises(build.BuildError, match=r"PyPI served traitlets-5\.2"):
        build.site_lock(lock, {"traitlets": wheel}, [])


def test_a_built_site_must_load_everything_from_itself(tmp_path: Path) -> None:
    def site(kernel: dict[str, object]) -> Path:
        (tmp_path / "static" / "pyodide").mkdir(parents=True, exist_ok=True)
        for name in ("pyodide.mjs", "pyodide-lock.json"):
            (tmp_path / "static" / "pyodide" / name).write_text("")
        news = {"fetchNews": "false", "checkForUpdates": False}
        data = {
            "litePluginSettings": {build.KERNEL_PLUGIN: kernel},
            "settingsOverrides": {"@jupyterlab/apputils-extension:notification": news},
        }
        (tmp_path / "jupyter-lite.json").write_text(json.dumps({"jupyter-config-data": data}))
        return tmp_path

    good = {"pyodideUrl": "./static/pyodide/pyodide.mjs", "disablePyPIFallback": True}
    assert build.site_problems(site(good)) == []
    # What an incremental build once left behind: the kernel's settings not written.
    problems = build.site_problems(site({}))
    assert "loads Pyodide from its default CDN" in problems[0]
    assert "fall back to PyPI" in problems[1]
    folder = site(good)
    (folder / "static" / "pyodide" / "pyodide-lock.json").unlink()
    (problem,) = build.site_problems(folder)
    assert "no ./static/pyodide/pyodide.mjs or no pyodide-lock.json beside it" in problem


# ---------------------------------------------------------------- settings and lesson


def test_the_site_never_falls_back_to_pypi_and_shows_no_news() -> None:
    config = json.loads((ROOT / "jupyterlite" / "jupyter-lite.json").read_text())
    data = config["jupyter-config-data"]
    kernel = data["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    news = data["settingsOverrides"]["@jupyterlab/apputils-extension:notification"]
    assert news["fetchNews"] == "false" and news["checkForUpdates"] is False


def test_the_lesson_is_committed_without_outputs_for_pyodides_kernel() -> None:
    notebook = json.loads(LESSON.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python"  # JupyterLite's Pyodide
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_lesson_runs_in_cpython_without_bokeh() -> None:
    printed = run_lesson_in_cpython()
    assert "S2 wins the election" in printed
    assert len(printed_digest(printed)) == 64
    assert "cluster.show() cannot draw the dashboard here: it needs bokeh" in printed
