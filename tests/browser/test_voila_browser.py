"""The instructor's playground served by ``luminous-edu app`` (Voila), in a real browser.

``python -m luminous_edu app --no-browser`` runs from a temporary directory with Jupyter
directories of its own; the test reads the address it prints, opens it in chromium (every
request that is not to 127.0.0.1 is aborted: the page must work offline) and drives the
page as an instructor would: Step, crash a server, a new seed, Reset, a scenario (the
paper's Figure 8) and its panels, the number of servers. After each action the bokeh
sources in the page (``window.Bokeh.documents``) and the status line must say what the
same calls say in this process (same seed, same run). No code is on the page, the
dashboard fits a 1280x720 projector, and the console has no errors but Voila's own
(``labdriver.HARMLESS_ERRORS``). Then Ctrl-C (SIGINT) must stop the app, exit status 0,
with no process it started left (checked by PID). Screenshots:
``tests/artifacts/playground_*.png``.

Voila as an extension of a Jupyter server (``/voila/render/<notebook>``, as on a
JupyterHub user's server or Binder) needs no app: the server loads luminous_edu's
extension, and the loader finds the base URL on Voila's page. A second test opens the
playground that way under the base URL ``/user/bob/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    JS_SOURCES,
    LabPage,
    LabServer,
    _alive,
    copy_tree,
    descendants,
    free_port,
    unexpected_errors,
)
from test_dashboard_browser import PARTS, status, wait_for_step

import luminous_edu as le
import luminous_edu.app
from luminous_edu.exercises.lesson03 import figure8

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


class App:
    """``luminous-edu app --no-browser`` in a process of its own, stopped with Ctrl-C."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""
        self.output: list[str] = []
        self.known: set[int] = set()

    def start(self) -> App:
        env = dict(os.environ)
        for name in ("config", "data", "runtime", "ipython"):
            (self.work / name).mkdir(exist_ok=True)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.work / "config"),
            JUPYTER_DATA_DIR=str(self.work / "data"),
            JUPYTER_RUNTIME_DIR=str(self.work / "runtime"),
            IPYTHONDIR=str(self.work / "ipython"),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        )
        with open(self.work / "app.log", "w") as log:  # the app keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "luminous_edu", "app", "--no-browser"],
                cwd=self.work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            found = re.search(r"http://127\.0\.0\.1:\d+/", "".join(self.output))
            if found:
                self.address = found.group(0)
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"luminous-edu app printed no address: {self.output}\n{self.log()}")

    def _read(self, stdout: Any) -> None:
        """Keep the app's output, line by line as it comes, until it closes it."""
        for line in stdout:
            self.output.append(line)

    def log(self) -> str:
        return (self.work / "app.log").read_text(errors="replace")[-4000:]

    def url(self, path: str = "") -> str:
        return self.address + path.lstrip("/")

    def note_processes(self) -> None:
        if self.proc is not None:
            self.known.update(descendants(self.proc.pid))

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: SIGINT to the app; its exit status."""
        assert self.proc is not None
        self.note_processes()
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Whatever is still running, by PID: the app, then what it started."""
        if self.proc is not None and self.proc.poll() is None:
            self.note_processes()
            self.proc.kill()
            self.proc.wait(timeout=10)
        for pid in sorted(self.known):
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def leftover_processes(self) -> list[int]:
        return [pid for pid in sorted(self.known) if _alive(pid)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    from conftest import require_browser

    require_browser("voila")
    running = App(tmp_path).start()
    try:
        yield running
    finally:
        running.stop()


def offline(route: Any) -> None:
    """Let requests to the app through; abort the rest (fonts from a CDN...)."""
    if route.request.url.startswith("http://127.0.0.1:"):
        route.continue_()
    else:
        route.abort()


def servers_shown(lab: LabPage) -> dict[int, tuple[str, int]]:
    """Each server's role and term in the page's newest ``servers`` source."""
    servers = lab.page.evaluate(JS_SOURCES).get("servers", {})
    ids = servers.get("id", [])
    return {
        sid: (role, term)
        for sid, role, term in zip(ids, servers["role"], servers["term"], strict=True)
    }


def expected_servers(cluster: le.Cluster) -> dict[int, tuple[str, int]]:
    return {
        sid: (str(view.role) if view.alive else "down", view.current_term)
        for sid, view in cluster.servers.items()
    }


def shows(lab: LabPage, cluster: le.Cluster, when: str, timeout: float = 20.0) -> None:
    """The page shows ``cluster``: its step and time, and each server's role and term."""
    deadline = time.monotonic() + timeout
    wanted = expected_servers(cluster)
    while True:
        seen, line = servers_shown(lab), status(lab)
        at = line is not None and (line["step"], line["now"]) == (cluster.step_count, cluster.now)
        if (at and seen == wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert line is not None and at, f"{when}: status {line}, want step {cluster.step_count}"
    assert seen == wanted, f"{when}: page {seen}, cluster {wanted}"


# Each core part of the dashboard inside the window (the page scrolls as a whole).
JS_PARTS = """
(parts) => {
  const board = document.querySelector('.luminous-dashboard');
  const out = {};
  for (const part of parts) {
    const r = board.querySelector('.luminous-' + part).getBoundingClientRect();
    out[part] = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  }
  return out;
}
"""


def test_the_playground_app_in_a_real_browser(browser: Any, app: App, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(60_000)
    context.route("**/*", offline)
    try:
        lab = LabPage(context.new_page(), app)
        page = lab.page
        page.goto(app.url())
        lab.button("Step").wait_for()
        page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 2")
        app.note_processes()  # the kernel
        assert "import Playground" not in page.content(), "code is shown"
        expected = le.Cluster(servers=5, seed=7)
        shows(lab, expected, "at the start")
        parts = page.evaluate(JS_PARTS, list(PARTS))
        outside = {
            part: box
            for part, box in parts.items()
            if box["left"] < 0 or box["top"] < 0 or box["right"] > 1280 or box["bottom"] > 720
        }
        assert not outside, f"not on a 1280x720 screen: {outside}"
        page.screenshot(path=str(artifacts / "playground_1280x720.png"))

        for _ in range(3):
            lab.button("Step").click()
            expected.step()
            wait_for_step(lab, expected.step_count)
        shows(lab, expected, "after 3 steps")

        lab.button("crash S1").click()  # the Servers tab is open at the start
        expected.crash(1)
        shows(lab, expected, "after crash S1")

        seed = page.locator(".luminous-seed input")
        seed.fill("8")
        seed.press("Enter")
        expected = le.Cluster(servers=5, seed=8)
        wait_for_step(lab, 0)
        lab.button("Step").click()
        expected.step()
        seven = le.Cluster(servers=5, seed=7)
        seven.step()
        assert (seven.now, seven.trace_digest()) != (expected.now, expected.trace_digest())
        shows(lab, expected, "after Step with seed 8")

        lab.button("Reset").click()
        expected.seek(0)
        shows(lab, expected, "after Reset")

        page.locator(".luminous-scenario select").select_option(
            label="Figure 8 (a)-(d): a majority is not enough (§5.4.2)"
        )
        figure = figure8("d", 8)
        shows(lab, figure.cluster, "Figure 8 with seed 8")
        page.locator(".luminous-stages button", has_text="(c)").click()
        figure.cluster.seek(figure.stages["(c)"])
        shows(lab, figure.cluster, "Figure 8, panel (c)")
        page.screenshot(path=str(artifacts / "playground_figure8_c.png"))

        page.locator(".luminous-scenario select").select_option(label="A new cluster")
        servers = page.locator(".luminous-servers input")
        servers.fill("3")
        servers.press("Enter")
        shows(lab, le.Cluster(servers=3, seed=8), "3 servers")

        errors = unexpected_errors(lab.errors)
        assert not errors, "browser console errors:\n" + "\n".join(errors)
    finally:
        context.close()

    assert app.interrupt() == 0, app.log()
    assert "Kernel shutdown" in app.log()
    deadline = time.monotonic() + 10
    while app.leftover_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert app.known, "the kernel's process was never seen"
    assert not app.leftover_processes(), f"left running after Ctrl-C: {app.leftover_processes()}"


def test_the_playground_in_voila_inside_a_jupyter_server_under_a_base_url(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from conftest import require_browser

    require_browser("voila")
    extensions = [f"--VoilaConfiguration.extension_allowlist={name}" for name in le.app.EXTENSIONS]
    server = LabServer(
        tmp_path_factory.mktemp("bob-root"),
        tmp_path_factory.mktemp("bob-work"),
        free_port(),
        base_url="/user/bob/",
        extra_args=tuple(extensions),
    )
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(60_000)
    context.route("**/*", offline)
    try:
        server.start()
        copy_tree(ROOT / "notebooks", Path(server.root) / "notebooks")
        lab = LabPage(context.new_page(), server)
        loads: list[str] = []
        lab.page.on("request", lambda r: loads.append(r.url) if "bokeh.min.js" in r.url else None)
        lab.page.goto(server.url("voila/render/notebooks/playground.ipynb"))
        lab.button("Step").wait_for()
        lab.page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 2")
        assert len(loads) == 1 and "/user/bob/luminous_edu/bokehjs/" in loads[0], loads
        server.note_processes()
        lab.button("Step").click()
        expected = le.Cluster(servers=5, seed=7)
        expected.step()
        shows(lab, expected, "after a Step, under /user/bob/")
        errors = unexpected_errors(lab.errors)
        assert not errors, "browser console errors:\n" + "\n".join(errors)
    finally:
        context.close()
        server.stop()
    assert not server.leftover_processes()
