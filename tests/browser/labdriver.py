"""Drive JupyterLab (or Notebook 7) in Debian's chromium with Playwright.

Shared by the browser tests (``tests/browser``) and ``benchmarks/dashboard.py``; it does
not import pytest. What it relies on is measured in ``JUPYTER_NOTES.md``:

- JupyterLab runs on 127.0.0.1 with an empty token, from a temporary root, with its own
  temporary settings, workspaces, runtime and config dirs (so nothing of the user's leaks
  in and nothing is left behind) and an ``overrides.json`` that silences the news pop-up.
  Notebook 7 (``jupyter notebook``: ``/tree``, ``/notebooks/<path>``) runs the same way
  (``LabServer(..., front_end=NOTEBOOK7)``); its pages have the same notebook, menus and
  widgets, but no file browser beside the notebook and no status bar.
- The browser is ``/usr/bin/chromium`` (Debian's package), never a downloaded one.
- Every process started here is stopped by PID: the server's process group, and the
  kernels it started (they run in sessions of their own).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

HOW_TO_INSTALL = (
    "install Debian's chromium (`apt-get install -y chromium`, giving /usr/bin/chromium) "
    "and the test extra (`pip install -e '.[test]'`, which brings playwright, jupyterlab, "
    "notebook and voila); "
    "never `playwright install`"
)

# Settings applied over every user setting: no "Jupyter news" pop-up, no update check.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# Browser console errors that are nobody's fault in this project, each with why it is
# harmless. Add to it only with a comment saying why; the browser tests share it. Each
# pattern names the file the error comes from, so that it excuses nothing else.
HARMLESS_ERRORS: list[tuple[str, str]] = [
    # JupyterLab's debugger sidebar asks the kernel for its state while the kernel is
    # still starting; the request is cancelled and retried. Nothing to do with widgets.
    (r"Could not restore the debugger state", "debugger probe during kernel start"),
    # Notebook 7's own front end (its bundle, /static/notebook/notebook_core.*.js), on
    # /tree and /notebooks pages alike, also in a fresh environment with `pip install
    # notebook` alone (notebook 7.6.5, measured 2026-12): at start its settings registry
    # announces a change for a plugin it does not hold (it loads settings of plugins the
    # page has not activated, cf. jupyter/notebook#7062), and JupyterLab's shortcuts
    # plugin, bundled in it, reads that plugin's schema. The page works; the shortcuts
    # are those of the plugins that are there.
    (
        r"pageerror: Cannot read properties of undefined \(reading 'schema'\) "
        r"\(at \S*/static/notebook/notebook_core\.",
        "Notebook 7: settings of plugins not on the page",
    ),
    # The same start, in Notebook 7's document manager plugin (same bundle): its settings
    # handler runs before its settings are loaded (Object.keys of the still undefined
    # "defaultViewers"). A race: seen here when nbgrader's or Voila's JupyterLab
    # extension is installed (the test extra installs both), in no run with `pip install
    # notebook` alone; the defaults stay in force.
    (
        r"console\.error: Cannot convert undefined or null to object "
        r"\(\{'url': '\S*/static/notebook/notebook_core\.",
        "Notebook 7: document manager settings read before they load",
    ),
    # Voila's page template links Font Awesome's stylesheets from cdn.jsdelivr.net
    # (voila 0.5, templates/lab/index.html.j2). Offline, or with the test's requests
    # outside 127.0.0.1 aborted, they fail; the dashboard uses no icon from them.
    (
        r"Failed to load resource: net::ERR_\w+ "
        r"\(\{'url': 'https://cdn\.jsdelivr\.net/npm/@fortawesome/",
        "Voila's template: Font Awesome from a CDN",
    ),
    # Voila as an extension of a Jupyter server (/voila/render/...) gives its page
    # MathJax's address on cdnjs (voila 0.5: utils.get_page_config's default, as the
    # server sets no mathjax_url); offline it fails. No output of ours uses MathJax.
    (
        r"Failed to load resource: net::ERR_\w+ "
        r"\(\{'url': 'https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/",
        "Voila in a Jupyter server: MathJax from a CDN",
    ),
]


def unexpected_errors(errors: list[str]) -> list[str]:
    """The collected console and page errors that HARMLESS_ERRORS does not excuse."""
    return [e for e in errors if not any(re.search(p, e) for p, _why in HARMLESS_ERRORS)]


def missing_requirements(modules: tuple[str, ...] = ("jupyterlab",)) -> str | None:
    """Why browser tests cannot run here, or None if they can: chromium, playwright and
    ``modules`` (what the test drives: jupyterlab, notebook, voila)."""
    problems = []
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} not found")
    for module in ("playwright", *modules):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the Python module {module!r} is not installed")
    if not problems:
        return None
    return (
        "browser tests need chromium and playwright: "
        + "; ".join(problems)
        + ". To run them, "
        + HOW_TO_INSTALL
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_of(pid: int) -> list[int]:
    """Direct children of pid, started by any of its threads, read from /proc (Linux);
    empty elsewhere."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(x) for x in path.read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in _children_of(todo.pop()):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie whose parent is gone is reaped by init; treat zombies as dead.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def wait_until_up(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """Wait until ``url`` answers 200; False if ``proc`` exits first (e.g. its port was
    taken in the meantime) or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def log_tail(path: Path, chars: int) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class LabServer:
    """A JupyterLab (or Notebook 7: ``front_end=NOTEBOOK7``) server on 127.0.0.1 serving
    ``root``; ``work`` holds its private dirs."""

    def __init__(
        self,
        root: Path,
        work: Path,
        port: int = 0,
        base_url: str = "/",
        extra_args: tuple[str, ...] = (),
        front_end: FrontEnd | None = None,
    ) -> None:
        self.root = root
        self.work = work
        self.port = port
        self.extra_args = extra_args  # more ``--ServerApp...`` options
        self.front_end = front_end or JUPYTERLAB
        #: The server's base URL, as on a JupyterHub (``/user/<name>/``): "/" or "/a/b/".
        self.base_url = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = work / f"{self.front_end.module}.log"
        self._known_pids: set[int] = set()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{self.base_url}{path.lstrip('/')}"

    def start(self, timeout: float = 90.0) -> LabServer:
        dirs = {
            name: self.work / name
            for name in ("app-settings", "user-settings", "workspaces", "runtime", "config", "data")
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        (dirs["app-settings"] / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2))

        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["user-settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(self.work / "ipython"),
            PYTHONUNBUFFERED="1",
        )
        # The kernel must import this checkout's luminous_edu even if the server's
        # working directory is elsewhere.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")) if p
        )
        first_port = self.port
        for attempt in range(3):
            self.port = first_port if attempt == 0 and first_port else free_port()
            app = self.front_end.app  # the settings dirs are options of its app class
            cmd = [
                sys.executable,
                "-m",
                self.front_end.module,
                "--no-browser",
                "--allow-root",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ServerApp.port_retries=0",
                "--ServerApp.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={self.root}",
                f"--ServerApp.base_url={self.base_url}",
                *self.extra_args,
                f"--{app}.app_settings_dir={dirs['app-settings']}",
                f"--{app}.user_settings_dir={dirs['user-settings']}",
                f"--{app}.workspaces_dir={dirs['workspaces']}",
            ]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=self.root,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group, stopped as a whole
                )
            if self._wait_until_up(timeout):
                return self
            self.stop()
            if attempt == 2:
                break
        raise RuntimeError(f"{self.front_end.name} did not start; its log:\n{self.log_tail()}")

    def _wait_until_up(self, timeout: float) -> bool:
        assert self.proc is not None
        return wait_until_up(self.proc, self.url("api/status"), timeout)

    def log_tail(self, chars: int = 4000) -> str:
        return log_tail(self.log_path, chars)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), method=method, data=data)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def note_processes(self) -> None:
        """Remember the server's descendants (kernels) so stop() can check on them."""
        if self.proc is not None:
            self._known_pids.update(descendants(self.proc.pid))

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self._known_pids.update(descendants(proc.pid))
        if proc.poll() is None:
            # Kernels run in sessions of their own: ask the server to shut them down.
            with contextlib.suppress(Exception):
                for kernel in self.api("GET", "api/kernels"):
                    self.api("DELETE", f"api/kernels/{kernel['id']}")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # Whatever it started and left behind (e.g. a kernel it could not stop).
        for pid in sorted(self._known_pids):
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in self._known_pids):
            time.sleep(0.05)

    def leftover_processes(self) -> list[int]:
        return [p for p in sorted(self._known_pids) if _alive(p)]


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells, without outputs."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))
    return path


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_*"))
    return dst


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


# JavaScript run in the page. Bokeh renders in shadow DOM, so read data from the models:
# every document BokehJS embeds is in window.Bokeh.documents.
JS_SOURCES = """
() => {
  // The latest document wins: re-running a cell leaves the old documents in the list.
  const out = {};
  if (!window.Bokeh || !window.Bokeh.documents) return out;
  const toList = (v) => (v != null && typeof v !== "string" && v.length !== undefined)
      ? Array.from(v, (x) => (x != null && typeof x === "object" && x.length !== undefined)
          ? Array.from(x) : x)
      : v;
  for (const doc of window.Bokeh.documents) {
    for (const m of doc._all_models.values()) {
      if (m.name && m.data !== undefined) {
        const data = m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
        const cols = {};
        for (const k of Object.keys(data)) cols[k] = toList(data[k]);
        out[m.name] = cols;
      }
    }
  }
  return out;
}
"""

# The named ranges of every bokeh document (the dashboard's log, time, term, commit
# ranges) and named spans (its cursors): {name: [start, end]} and {name: location}.
JS_RANGES = """
() => {
  const out = {};
  if (!window.Bokeh || !window.Bokeh.documents) return out;
  for (const doc of window.Bokeh.documents) {
    for (const m of doc._all_models.values()) {
      if (!m.name) continue;
      if (m.type === "Range1d") out[m.name] = [m.start, m.end];
      if (m.type === "Span") out[m.name] = m.location;
    }
  }
  return out;
}
"""

# How far Run All got: "done" (every code cell has an execution count and the kernel is
# idle), "error" (idle, with an error output), "running", or "not started".
JS_RUN_STATE = """
() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
      .map((p) => p.innerText.trim());
  const idle = [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')]
      .every((e) => e.dataset.status === 'idle');
  const error = document.querySelector(
      ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']") !== null;
  if (prompts.length > 0 && idle && prompts.every((p) => /\\[\\d+\\]/.test(p))) return "done";
  if (idle && error) return "error";
  if (prompts.some((p) => /\\[(\\*|\\d+)\\]/.test(p))) return "running";
  return "not started";
}
"""

# The kernel is connected and idle: the notebook's execution indicator says idle (it also
# does before any kernel is there) and the status bar names a kernel that is idle.
JS_KERNEL_IDLE = """
() => {
  const ind = [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')];
  const bar = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
      .some((e) => /\\S \\| Idle$/.test(e.innerText.trim()));
  return bar && ind.length > 0 && ind.every((e) => e.dataset.status === 'idle');
}
"""

# The same in Notebook 7, which has no status bar: the execution indicator (in the
# notebook's toolbar) says idle, and the kernel's name beside it is a kernel's, not
# "No Kernel" (as it is before the kernel starts).
JS_NOTEBOOK7_KERNEL_IDLE = """
() => {
  const ind = [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')];
  const name = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName');
  return name !== null && !/^(No Kernel|Kernel)?$/.test(name.innerText.trim())
      && ind.length > 0 && ind.every((e) => e.dataset.status === 'idle');
}
"""


@dataclass(frozen=True)
class FrontEnd:
    """What differs between JupyterLab and Notebook 7 for these tests."""

    name: str
    module: str  # started as ``python -m <module>``
    app: str  # its application class, which takes the settings dirs
    notebook_path: str  # a notebook's URL path under the base URL; {} is its path
    kernel_idle_js: str


JUPYTERLAB = FrontEnd("JupyterLab", "jupyterlab", "LabApp", "lab/tree/{}?reset", JS_KERNEL_IDLE)
NOTEBOOK7 = FrontEnd(
    "Notebook 7", "notebook", "JupyterNotebookApp", "notebooks/{}", JS_NOTEBOOK7_KERNEL_IDLE
)


# The dashboard's status line (``.luminous-status``): its step and virtual time.
JS_STATUS = r"""
() => {
  // The status line: "step N · t=N ms · ...". Narration lines say "step N · t=N" (no ms).
  // Its text content: a notebook scrolled away from it does not render it (innerText "").
  for (const e of document.querySelectorAll('.luminous-status')) {
    const m = /\bstep (\d+)\b.*?\bt=(\d+) ms\b/.exec(e.textContent || '');
    if (m) return {step: Number(m[1]), now: Number(m[2]), text: e.textContent};
  }
  return null;
}
"""


class LabPage:
    """A JupyterLab (or Notebook 7) tab in the browser, with its console errors
    collected. ``server`` needs only ``url(path)`` and, if not JupyterLab, a
    ``front_end``."""

    def __init__(self, page: Any, server: Any) -> None:
        self.page = page
        self.server = server
        self.front_end: FrontEnd = getattr(server, "front_end", JUPYTERLAB)
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text} ({message.location})")

    def _on_page_error(self, error: Any) -> None:
        # Where it was thrown: the first script named in its stack.
        where = re.search(r"\b(https?://\S+?):\d+:\d+", getattr(error, "stack", "") or "")
        at = f" (at {where.group(1)})" if where else ""
        self.errors.append(f"pageerror: {getattr(error, 'message', error)}{at}")

    def open(self, notebook: str, timeout: float = 60_000, file_browser: bool = False) -> None:
        """Open ``notebook``; in JupyterLab the left sidebar (the file browser) is
        collapsed for more room, or left open with ``file_browser`` (as a student's
        JupyterLab starts). Notebook 7 shows a notebook without a file browser."""
        path = self.front_end.notebook_path.format(notebook)
        self.page.goto(self.server.url(path), timeout=timeout)
        self.wait_idle(timeout)
        if self.front_end is not JUPYTERLAB:
            if file_browser:
                raise ValueError(f"{self.front_end.name} has no file browser beside a notebook")
            return
        tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if file_browser:
            if not tab.count():  # open it: its button is the sidebar's first tab
                self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
            self.page.wait_for_selector(".jp-FileBrowser", state="visible")
        elif tab.count():
            tab.first.click()

    def wait_idle(self, timeout: float = 60_000) -> None:
        self.page.wait_for_function(self.front_end.kernel_idle_js, timeout=timeout)

    def kernel_idle(self) -> bool:
        return bool(self.page.evaluate(self.front_end.kernel_idle_js))

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
        self.page.locator(".lm-Menu-itemLabel").filter(
            has_text=re.compile(f"^{re.escape(item)}$")
        ).first.click()

    def run_all(self, wait_for: str, timeout: float = 90.0) -> None:
        """Run All Cells, then wait for the selector ``wait_for``.

        Retries once if nothing started within 15 s, as the first run can race the kernel
        start. On failure the message carries the tracebacks shown in the notebook.
        """
        state = "not started"
        for _attempt in range(2):
            self.menu("Run", "Run All Cells")
            start = time.monotonic()
            while time.monotonic() - start < timeout:
                state = self.page.evaluate(JS_RUN_STATE)
                if os.environ.get("LABDRIVER_DEBUG"):
                    print(f"{time.monotonic() - start:.1f}s {state}")
                if state in ("done", "error"):
                    break
                if state == "not started" and time.monotonic() - start > 15:
                    break
                time.sleep(0.2)
            if state != "not started":
                break
            self.wait_idle()
        if state == "done":
            try:
                self.page.wait_for_selector(wait_for, timeout=timeout * 250)
                return
            except Exception as exc:
                state = f"done, but no {wait_for!r} ({exc})"
        raise AssertionError(
            f"Run All failed ({state}); notebook errors: {self.error_outputs()}; "
            f"browser errors: {self.errors}"
        )

    def error_outputs(self) -> list[str]:
        texts: list[str] = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts()
        return texts

    def button(self, text: str) -> Any:
        return self.page.locator("button.jupyter-button", has_text=text).first

    def sources(self) -> dict[str, dict[str, list[Any]]]:
        result: dict[str, dict[str, list[Any]]] = self.page.evaluate(JS_SOURCES)
        return result

    def ranges(self) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(JS_RANGES)
        return result

    def run_last_cell(self) -> str:
        """Run the notebook's last cell again and return the text of its output."""
        cell = self.page.locator(".jp-Notebook .jp-Cell").last
        cell.locator(".jp-InputArea-editor").click()
        before = cell.locator(".jp-InputPrompt").inner_text()
        self.page.keyboard.press("Control+Enter")  # run in place, do not add a cell
        self.page.wait_for_function(
            """([before]) => {
                const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
                const p = cells[cells.length - 1].querySelector('.jp-InputPrompt');
                const t = p ? p.innerText : '';
                return t !== before && /\\[\\d+\\]/.test(t);
            }""",
            arg=[before],
        )
        return str(cell.locator(".jp-OutputArea-output").last.inner_text())

    def status(self) -> dict[str, Any] | None:
        """The (first) dashboard's status line: ``{step, now, text}``, or None."""
        result: dict[str, Any] | None = self.page.evaluate(JS_STATUS)
        return result

    def wait_for_step(self, step: int, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the status line shows ``step``; return it."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.status()
            if seen is not None and seen["step"] == step:
                return seen
            time.sleep(0.05)
        raise AssertionError(f"status never showed step {step}; last seen: {seen}")
