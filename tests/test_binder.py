"""The Binder configuration, checked without docker.

Binder builds the repository with repo2docker. ``repo2docker --no-build --debug`` picks
the build pack and prints the Dockerfile it would build, without a container engine
(it never connects to docker in that mode), so these tests read that Dockerfile: the
image uses Python 3.11, copies the repository, then installs it with ``pip install -e
.[hub]`` into the environment that also runs JupyterLab. Other tests check that
``binder/`` and ``pyproject.toml`` agree, and that the README's launch link opens a
notebook that exists.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PYTHON = "3.11"
WELCOME = "notebooks/00_welcome.ipynb"

# What repo2docker reads from the top of the repository when there is no binder/ folder.
# With binder/ present it ignores them all, so a file here would only mislead.
ROOT_CONFIG_FILES = [
    "requirements.txt",
    "environment.yml",
    "runtime.txt",
    "apt.txt",
    "postBuild",
    "start",
    "Pipfile",
    "Pipfile.lock",
    "Project.toml",
    "REQUIRE",
    "install.R",
    "DESCRIPTION",
    "default.nix",
    "Dockerfile",
]


def pyproject() -> dict:
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10; repo2docker depends on toml
        import toml

        return toml.loads(text)
    return tomllib.loads(text)


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.split(" #")[0].strip() for line in lines if line.strip() and line[0] != "#"]


@cache
def repo2docker() -> tuple[str, str]:
    """(Dockerfile, log) as repo2docker would build this repository on Binder."""
    try:
        import repo2docker as _  # noqa: F401
    except ImportError:
        pytest.fail(
            "jupyter-repo2docker is not installed; it is in the test extra: "
            "pip install -e '.[test]'"
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "repo2docker",
            "--no-build",
            "--no-run",
            "--debug",
            "--user-id",
            "1000",
            "--user-name",
            "jovyan",
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"repo2docker --no-build failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
    )
    assert "FROM " in result.stdout, f"no Dockerfile in the output:\n{result.stdout[:2000]}"
    return result.stdout, result.stderr


def copied_files(dockerfile: str) -> list[str]:
    """The build-script files the Dockerfile copies in, with repo2docker's escaping
    of their paths undone for the characters that matter here ("-2e" is ".", "-2d" is
    "-", "-2f" is "/"; a short hash follows each name)."""
    names = re.findall(r"^COPY .*?build_script_files/(\S+)", dockerfile, re.MULTILINE)
    plain = {"2e": ".", "2d": "-", "2f": "/", "5f": "_"}
    return [
        re.sub(r"-([0-9a-f]{2})", lambda m: plain.get(m.group(1), m.group(0)), name)
        for name in names
    ]


def test_binder_folder_holds_the_configuration() -> None:
    assert (BINDER / "requirements.txt").is_file()
    assert (BINDER / "runtime.txt").read_text().strip() == f"python-{PYTHON}"
    present = [name for name in ROOT_CONFIG_FILES if (ROOT / name).exists()]
    assert not present, (
        f"{present} at the top of the repository: repo2docker ignores them because "
        "binder/ exists; move them into binder/"
    )


def test_repo2docker_picks_python_3_11() -> None:
    dockerfile, log = repo2docker()
    assert f"Building conda environment for python={PYTHON}" in log, log
    lockfiles = [f for f in copied_files(dockerfile) if "/environment.py-" in f]
    assert lockfiles, "the Dockerfile copies no frozen conda environment"
    assert all(f"/environment.py-{PYTHON}-" in f for f in lockfiles), lockfiles


def test_repo2docker_installs_the_package_editable_after_copying_it() -> None:
    dockerfile, _ = repo2docker()
    install = 'pip install --no-cache-dir -r "binder/requirements.txt"'
    assert install in dockerfile, dockerfile
    copy_repo = dockerfile.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    # `-e .` needs the whole repository, so repo2docker installs it after copying it.
    assert copy_repo < dockerfile.index(install)


def test_kernel_and_jupyterlab_share_one_environment() -> None:
    # The JupyterLab extensions of ipywidgets and jupyter_bokeh come in the Python
    # packages; the server finds them only if the package is installed where it runs.
    dockerfile, _ = repo2docker()
    assert "ENV KERNEL_PYTHON_PREFIX=${NB_PYTHON_PREFIX}" in dockerfile


def test_binder_requirements_install_the_package_and_nothing_else() -> None:
    lines = requirement_lines()
    # the package with its hub extra (nbgitpuller, for a hub that runs this image)
    assert "-e .[hub]" in lines, lines
    assert "hub" in pyproject()["project"]["optional-dependencies"]
    # Anything else must be a package pyproject.toml names too, so that versions are
    # decided in one place.
    project = pyproject()["project"]
    named = {
        canonicalize_name(Requirement(spec).name)
        for spec in [
            *project["dependencies"],
            *(s for extra in project["optional-dependencies"].values() for s in extra),
        ]
    }
    for line in lines:
        if line != "-e .[hub]":
            name = canonicalize_name(Requirement(line).name)
            assert name in named, f"binder/requirements.txt installs {line!r}, not in pyproject"


def test_binder_python_is_one_pyproject_supports() -> None:
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert Version(PYTHON) in requires, f"pyproject requires-python {requires}"
    assert pyproject()["tool"]["mypy"]["python_version"] == PYTHON


def test_binder_jupyterlab_satisfies_the_lab_extra() -> None:
    # binder/ installs `-e .[hub]`, not `.[lab]`: JupyterLab comes with repo2docker's frozen
    # environment. Its version must be one the lab extra accepts.
    lab = [Requirement(s) for s in pyproject()["project"]["optional-dependencies"]["lab"]]
    (jupyterlab,) = [r for r in lab if r.name == "jupyterlab"]
    lockfile = (
        resources.files("repo2docker.buildpacks.conda") / f"environment.py-{PYTHON}-linux-64.lock"
    )
    found = re.search(r"/jupyterlab-(\d+\.\d+\.\d+)-", lockfile.read_text())
    assert found, "no jupyterlab in repo2docker's frozen environment"
    assert Version(found.group(1)) in jupyterlab.specifier, (found.group(1), str(jupyterlab))


def test_readme_links_binder_to_the_welcome_notebook() -> None:
    assert (ROOT / WELCOME).is_file()
    readme = (ROOT / "README.md").read_text()
    link = re.search(r"https://mybinder\.org/v2/gh/[^\s)]+", readme)
    assert link, "the README has no Binder link"
    assert link.group(0).endswith(f"/HEAD?urlpath=lab/tree/{WELCOME}"), link.group(0)
