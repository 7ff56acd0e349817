"""Scenario scripts (tests/scripts/*.txt): commands and the output they must produce.

See tests/scripts/README.md for the format and tests/script_runner.py for the commands.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from script_runner import REWRITE, ScriptError, parse, render, run_script

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.txt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path: Path) -> None:
    expected, actual = run_script(path)
    if REWRITE and actual != expected:
        path.write_text(actual)
        return
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{path.name} (expected)",
                f"{path.name} (actual)",
            )
        )
        pytest.fail(
            f"{path.name} printed something else:\n{diff}\nIf the new output is right, "
            "rewrite the script with: LUMINOUS_REWRITE_SCRIPTS=1 python -m pytest "
            f"tests/test_scripts.py -k {path.stem}",
            pytrace=False,
        )


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 3


def test_parse_and_render_round_trip() -> None:
    text = "# comment\ncluster servers=3\n----\n\nstatus 1\n----\nS1 follower term=0\n"
    blocks = parse(text)
    assert [b.command for b in blocks] == ["cluster servers=3", "status 1"]
    assert blocks[1].expected == "S1 follower term=0"
    assert render(blocks, [b.expected for b in blocks]) == text


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("cluster servers=3\nstatus\n", "must be followed by a line '----'"),
        ("cluster\n----\n\n# dangling\n", "comments after the last command"),
    ],
)
def test_malformed_scripts_are_refused_with_the_line(text: str, complaint: str) -> None:
    with pytest.raises(ScriptError, match=complaint):
        parse(text, "bad.txt")


def test_unknown_command_names_the_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("cluster\n----\n\nfly 3\n----\n")
    with pytest.raises(ScriptError, match=r"bad.txt:4: unknown command 'fly'"):
        run_script(script)
