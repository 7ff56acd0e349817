"""Build, serve and open luminous_edu's JupyterLite site (``jupyterlite/``).

Shared by ``test_jupyterlite.py``, ``tests/test_lite_build.py`` and
``benchmarks/jupyterlite.py``; it does not import pytest.

- ``build_site`` runs ``jupyterlite/build.py`` (exit status 3: something the build needs
  is missing here: npm, the network, the JupyterLite packages).
- ``StaticSite`` serves the built site with ``python -m http.server --bind 127.0.0.1``
  on a free port and stops it by PID.
- ``keep_to_site`` makes a browser context abort (and record) every request that leaves
  the site: it must work with nothing but its own host reachable.
- ``run_lesson_in_cpython`` runs the lesson's code cells in CPython, in a fresh process,
  with bokeh made unimportable as it is in the browser, and returns what they print.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labdriver import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "jupyterlite" / "build.py"
LESSON_NAME = "raft_in_your_browser.ipynb"
LESSON = ROOT / "jupyterlite" / "content" / LESSON_NAME
#: build.py's exit status when npm, the network or the JupyterLite tools are missing.
MISSING_REQUIREMENT = 3


def build_site(
    out: Path, cache: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python jupyterlite/build.py --out OUT --cache CACHE`` (in ``env``)."""
    return subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out), "--cache", str(cache)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )


class StaticSite:
    """The built site served by Python's http.server on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def lesson_url(self, notebook: str = LESSON_NAME) -> str:
        return self.url(f"lab/index.html?path={notebook}")

    def start(self, timeout: float = 20.0) -> StaticSite:
        for _attempt in range(3):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                    str(self.directory),
                    str(self.port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url("jupyter-lite.json"), timeout=2) as r:
                        if r.status == 200:
                            return self
                except (urllib.error.URLError, OSError):
                    time.sleep(0.1)
            self.stop()  # the port was taken in the meantime, or it never came up
        raise RuntimeError(f"python -m http.server did not serve {self.directory}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def keep_to_site(context: Any, site: StaticSite) -> list[str]:
    """Abort every request of ``context`` that leaves the site; return the list that
    records them (it should stay empty: the site serves all it needs)."""
    blocked: list[str] = []
    prefix = site.base_url + "/"

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(prefix) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    return blocked


def lesson_cells(path: Path = LESSON) -> list[str]:
    """The lesson's code cells, in order."""
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


#: Run in a fresh CPython: make bokeh unimportable (as in the browser), run every code
#: cell of the notebook named in argv[1] in one namespace, as a kernel would.
_RUN_CELLS = """\
import json, sys
sys.modules["bokeh"] = None
sys.modules["jupyter_bokeh"] = None
namespace = {"__name__": "__main__"}
for source in json.loads(sys.argv[1]):
    exec(compile(source, "<cell>", "exec"), namespace)
"""


def run_lesson_in_cpython(path: Path = LESSON) -> str:
    """What the lesson's code cells print when CPython runs them without bokeh."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_CELLS, json.dumps(lesson_cells(path))],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise AssertionError(f"the lesson failed in CPython:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def printed_digest(text: str) -> str:
    """The lesson's "trace digest: ..." line, as printed in ``text``."""
    for line in text.splitlines():
        if line.startswith("trace digest:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no 'trace digest:' line in:\n{text}")


@contextlib.contextmanager
def served(directory: Path) -> Iterator[StaticSite]:
    """The site in ``directory``, served while the block runs."""
    site = StaticSite(directory).start()
    try:
        yield site
    finally:
        site.stop()
