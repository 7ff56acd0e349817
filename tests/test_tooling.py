"""The project's own checks run as tests, so the README's one test command covers them:
ruff (lint and format) and mypy (strict) on the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def require(module: str) -> None:
    if shutil.which(module) is None and not (Path(sys.executable).parent / module).exists():
        pytest.skip(f"{module} is not installed; pip install -e '.[test]' brings it")


def test_ruff_lint_is_clean() -> None:
    require("ruff")
    result = run_tool("ruff", "check", "luminous_edu", "tests", "benchmarks", "jupyterlite")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    require("ruff")
    result = run_tool(
        "ruff", "format", "--check", "luminous_edu", "tests", "benchmarks", "jupyterlite"
    )
    assert result.returncode == 0, "run `ruff format`:\n" + result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    require("mypy")
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_runs_in_a_terminal() -> None:
    result = run_tool("luminous_edu", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert "wins the election" in result.stdout
    assert "0 safety violations" in result.stdout
