"""``luminous-edu app`` without a browser: its arguments, its errors, the notebook it
serves and the Voila it runs (tests/browser/test_voila_browser.py runs it for real)."""

from __future__ import annotations

import importlib.util
import io
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from luminous_edu import app
from luminous_edu.__main__ import main as luminous_edu

ROOT = Path(__file__).resolve().parents[1]


def run_app(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    status = app.main(list(argv), err=err)
    return status, err.getvalue()


@pytest.mark.parametrize(
    ("absent", "named"),
    [
        ({"voila"}, "Voila is not installed"),
        ({"ipykernel"}, "ipykernel (the notebook's kernel) is not installed"),
        ({"voila", "ipykernel"}, "Voila and ipykernel (the notebook's kernel) are not installed"),
    ],
)
def test_without_voila_or_a_kernel_it_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, absent: set[str], named: str
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in absent else find_spec(name)
    )
    status, said = run_app("--no-browser")
    assert status == app.MISSING == 3
    assert f"{named} in this Python" in said
    assert 'pip install "luminous_edu[app]"' in said


def test_a_port_out_of_range_or_taken_is_refused() -> None:
    pytest.importorskip("voila")
    status, said = run_app("--port", "70000", "--no-browser")
    assert status == 2 and "give a port from 1 to 65535" in said
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, said = run_app("--port", str(port), "--no-browser")
    assert status == 2 and f"port {port} on 127.0.0.1 is taken" in said
    assert "leave --port out for a free one" in said


def test_a_notebook_that_is_not_there_is_named(tmp_path: Path) -> None:
    pytest.importorskip("voila")
    status, said = run_app(str(tmp_path / "nope.ipynb"), "--no-browser")
    assert status == 2 and f"no notebook at {tmp_path / 'nope.ipynb'}" in said


def test_it_serves_the_checkouts_playground_which_pip_installs_too() -> None:
    assert app.playground_notebook() == ROOT / "notebooks" / "playground.ipynb"
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert data["data-files"]["share/luminous_edu/notebooks"] == ["notebooks/playground.ipynb"]


def test_it_is_a_subcommand_of_luminous_edu(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        luminous_edu(["app", "--help"])
    assert stopped.value.code == 0
    assert "usage: luminous-edu app [-h] [--port PORT] [--no-browser] [NOTEBOOK]" in (
        capsys.readouterr().out
    )


def test_voila_runs_on_127_0_0_1_with_the_pages_extensions_only() -> None:
    notebook = ROOT / "notebooks" / "playground.ipynb"
    argv = app.voila_arguments(notebook, 8123, fixed_port=True, browser=False)
    assert argv[0] == str(notebook)
    assert "--Voila.ip=127.0.0.1" in argv and "--Voila.port=8123" in argv
    assert "--Voila.port_retries=0" in argv and "--Voila.open_browser=False" in argv
    assert f"--Voila.root_dir={notebook.parent}" in argv
    loose = app.voila_arguments(notebook, 8123, fixed_port=False, browser=True)
    assert "--Voila.port_retries=50" in loose and "--Voila.open_browser=True" in loose


@pytest.fixture
def voila_app() -> Iterator[Any]:
    """The app's Voila, configured as ``luminous-edu app`` does, not started; Voila
    takes SIGTERM when it is configured, given back afterwards."""
    pytest.importorskip("voila")
    before = signal.getsignal(signal.SIGTERM)
    try:
        voila = app.app_class()()
        notebook = ROOT / "notebooks" / "playground.ipynb"
        voila.initialize(app.voila_arguments(notebook, 8123, fixed_port=True, browser=False))
        with tempfile.TemporaryDirectory() as connections:
            voila.connection_dir = connections  # what start() would make
            voila.init_settings()
            yield voila
    finally:
        signal.signal(signal.SIGTERM, before)


def test_its_voila_serves_bokehjs_before_the_notebooks_page(voila_app: Any) -> None:
    """Voila's last handler answers every path with the notebook's page: BokehJS's must
    come first, or the loader gets the page (HTTP 403 here) instead of bokeh.min.js."""
    handlers = voila_app.init_handlers()
    assert handlers[0][0] == "/luminous_edu/bokehjs/([^/]+)/(.+)"
    assert handlers[-1][0] == "/(.*)"
    assert voila_app.ip == "127.0.0.1" and voila_app.port == 8123
    assert voila_app.voila_configuration.extension_allowlist == list(app.EXTENSIONS)
    assert voila_app.voila_configuration.strip_sources  # no code on the page
