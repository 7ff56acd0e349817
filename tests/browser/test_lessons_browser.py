"""Every lesson in a real browser: JupyterLab, Debian's chromium, Playwright.

Each lesson notebook (a copy, so the committed notebooks are never touched) is opened in a
fresh browser tab, run with Run All from the menu, and waited on until the kernel is idle
and every code cell shows an execution count. Then the page must show no error output (no
traceback, nothing on stderr, no widget that failed to display) and the browser console
must be free of errors. A full-page screenshot of each lesson is saved to
``tests/artifacts/lesson_<name>.png``: look at them.

One JupyterLab server serves all the lessons; each lesson's kernel is shut down before the
next lesson opens.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabPage, LabServer, copy_tree, unexpected_errors

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = [
    "00_welcome",
    "01_leader_election",
    "02_log_replication",
    "03_safety",
    "04_storage_handlers",
    "05_faults_and_partitions",
    "06_log_compaction",
    "07_membership_changes",
    "08_prevote_and_friends",
    "09_kv_store",
    "10_hunting_bugs",
    "instructor_guide",
    "instructor_demo",
]

RUN_TIMEOUT = 240.0  # seconds for Run All of one lesson, kernel start included
START_TIMEOUT = 15.0  # Run All is clicked again if no cell started by then
HALT_SECONDS = 3.0  # idle this long with cells not run: Run All stopped (at an error)
SETTLE_MS = 2000  # after the plots rendered: errors can come late (a re-render)
SCREENSHOT_MAX_HEIGHT = 30_000  # px; the longest lesson (04) is ~21,000 px tall

# What the notebook shows, read from the DOM. Every cell of the notebook is in the DOM
# (JupyterLab 4's default windowing mode, "contentVisibility", keeps off-screen cells), but
# off-screen cells are not rendered, so their `innerText` is empty: read `textContent`.
# An error output and a stream to stderr are both rendered as
# `.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]`; an error is
# the one with a traceback (or, for a SyntaxError, an "...Error:" line).
JS_NOTEBOOK_STATE = """
() => {
  const text = (e) => (e ? e.textContent : '');
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const code = [];
  cells.forEach((cell, index) => {
    if (!cell.classList.contains('jp-CodeCell')) return;
    code.push({
      index,
      prompt: text(cell.querySelector('.jp-InputPrompt')).trim(),
      source: [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')]
          .map(text).join('\\n'),
      stderr: [...cell.querySelectorAll(
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map(text),
      widgetErrors: [...cell.querySelectorAll('.jp-OutputArea-output')]
          .map(text)
          .filter((t) => /Error displaying widget|Loading widget\\.\\.\\./.test(t)),
    });
  });
  return {code};
}
"""

# How much taller than the window the notebook is: its scrolling panel (JupyterLab 4's
# windowed list) scrolls inside a fixed-size app, so a full-page screenshot alone would
# show one window's worth. Scrolls it to the top on the way.
JS_NOTEBOOK_OVERFLOW = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  if (!panel) return 0;
  panel.scrollTop = 0;
  return Math.max(0, Math.ceil(panel.scrollHeight - panel.clientHeight));
}
"""

# BokehJS has finished rendering every plot (a document is idle once all its roots are).
JS_BOKEH_IDLE = """
() => !window.Bokeh || !window.Bokeh.documents
    || window.Bokeh.documents.every((d) => d.is_idle)
"""

ERROR_OUTPUT = re.compile(r"Traceback|^\s*\w*(Error|Exception|Exit|Interrupt)\b.*:", re.MULTILINE)
EXECUTED = re.compile(r"^\[\d+\]:?$")
RUNNING = re.compile(r"^\[\*\]:?$")


def code_cell_count(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum(1 for cell in cells if cell["cell_type"] == "code")


def first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return lines[0].strip()[:70] if lines else "(empty)"


def describe(cell: dict[str, Any]) -> str:
    return f"cell {cell['index']} ({cell['prompt'] or 'no prompt'} {first_line(cell['source'])!r})"


def notebook_state(lab: LabPage) -> dict[str, Any]:
    """The code cells as the page shows them, and whether the kernel is idle."""
    state: dict[str, Any] = lab.page.evaluate(JS_NOTEBOOK_STATE)
    state["idle"] = lab.kernel_idle()
    return state


def progress(state: dict[str, Any]) -> str:
    """Where Run All is, for telling when a browser error came."""
    cells = state["code"]
    running = [cell for cell in cells if RUNNING.match(cell["prompt"])]
    if running:
        return f"while {describe(running[0])} ran"
    done = [cell for cell in cells if EXECUTED.match(cell["prompt"])]
    if not done:
        return "before any cell ran"
    last = max(done, key=lambda cell: int(cell["prompt"].strip("[]:")))
    return f"after {describe(last)} ran"


class LessonRun:
    """Run All on the open notebook, waiting and noting when each browser error came."""

    def __init__(self, lab: LabPage) -> None:
        self.lab = lab
        self.state = notebook_state(lab)
        self.when: list[str] = []  # for each of lab.errors: where Run All was

    def look(self, phase: str = "") -> dict[str, Any]:
        self.state = notebook_state(self.lab)
        while len(self.when) < len(self.lab.errors):
            self.when.append(phase or progress(self.state))
        return self.state

    def run_all(self, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        """Run All Cells; return the notebook's state once every code cell has executed
        and the kernel is idle, or once Run All has stopped short (an error) or the time
        is up."""
        deadline = time.monotonic() + timeout
        for attempt in range(2):
            self.lab.menu("Run", "Run All Cells")
            clicked = time.monotonic()
            halted_since: float | None = None
            while time.monotonic() < deadline:
                state = self.look()
                prompts = [cell["prompt"] for cell in state["code"]]
                if not any(EXECUTED.match(p) or RUNNING.match(p) for p in prompts):
                    if attempt == 0 and time.monotonic() - clicked > START_TIMEOUT:
                        break  # nothing started: the first run can race the kernel start
                elif state["idle"] and not any(RUNNING.match(p) for p in prompts):
                    if all(EXECUTED.match(p) for p in prompts):
                        return state
                    # Idle with cells not run: between two cells, or Run All stopped.
                    halted_since = halted_since or time.monotonic()
                    if time.monotonic() - halted_since > HALT_SECONDS:
                        return state
                else:
                    halted_since = None
                time.sleep(0.2)
            else:
                return self.state  # out of time
            self.lab.wait_idle()
        return self.state

    def settle(self, timeout: float = 30.0) -> dict[str, Any]:
        """Give plots still rendering and widgets still loading time to finish, then a
        quiet moment for late errors; return the final state."""
        deadline = time.monotonic() + timeout
        phase = "after the last cell ran, while plots and widgets rendered"
        self.look()
        with contextlib.suppress(Exception):  # a plot that never renders is reported
            self.lab.page.wait_for_function(JS_BOKEH_IDLE, timeout=timeout * 1000)
        self.lab.page.wait_for_timeout(SETTLE_MS)
        state = self.look(phase)
        while time.monotonic() < deadline:
            texts = [text for cell in state["code"] for text in cell["widgetErrors"]]
            if not any("Loading" in text for text in texts):
                break
            time.sleep(0.25)
            state = self.look(phase)
        return state

    def browser_errors(self) -> list[str]:
        self.look("at the end")
        return unexpected_errors(
            [f"{error} [{when}]" for error, when in zip(self.lab.errors, self.when, strict=True)]
        )


def screenshot_whole_notebook(lab: LabPage, path: Path) -> None:
    """Make the window tall enough to hold the whole notebook, then take the page."""
    page = lab.page
    viewport = page.viewport_size or {"width": 1400, "height": 2400}
    extra = int(page.evaluate(JS_NOTEBOOK_OVERFLOW))
    if extra > 0:
        height = min(viewport["height"] + extra, SCREENSHOT_MAX_HEIGHT)
        page.set_viewport_size({"width": viewport["width"], "height": height})
        # Let JupyterLab lay out again and off-screen cells paint.
        page.wait_for_timeout(1000)
        page.evaluate(JS_NOTEBOOK_OVERFLOW)
    page.screenshot(path=str(path), full_page=True)


def problems_in(state: dict[str, Any], expected_code_cells: int) -> list[str]:
    problems = []
    cells = state["code"]
    if len(cells) != expected_code_cells:
        problems.append(f"{len(cells)} code cells in the page, {expected_code_cells} in the file")
    not_run = [cell for cell in cells if not EXECUTED.match(cell["prompt"])]
    if not_run:
        problems.append(
            f"{len(not_run)} code cells did not run (kernel idle: {state['idle']}), "
            f"the first: {describe(not_run[0])}"
        )
    for cell in cells:
        for text in cell["stderr"]:
            kind = "error output" if ERROR_OUTPUT.search(text) else "output on stderr"
            problems.append(f"{kind} in {describe(cell)}:\n{text.strip()[-1500:]}")
        for text in cell["widgetErrors"]:
            problems.append(f"widget not displayed in {describe(cell)}: {text.strip()[:300]}")
    return problems


@pytest.fixture(scope="module")
def lessons_dir(lab_server: LabServer) -> str:
    """The lessons, copied into the server's root (autosave must not touch the originals)."""
    copy_tree(NOTEBOOKS, Path(lab_server.root) / "lessons")
    return "lessons"


@pytest.fixture(scope="module")
def lessons_context(browser: Any, lab_server: LabServer) -> Iterator[Any]:
    """One browser context for all the lessons: its HTTP cache makes opening JupyterLab
    again quicker. Each lesson still gets a page of its own."""
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(60_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def own_kernel(lab_server: LabServer) -> Iterator[None]:
    """Shut every session and kernel down after the test, so the next lesson starts fresh."""
    yield
    lab_server.note_processes()  # the kernels' PIDs, checked again when the server stops
    with contextlib.suppress(Exception):
        for session in lab_server.api("GET", "api/sessions"):
            lab_server.api("DELETE", f"api/sessions/{session['id']}")
    with contextlib.suppress(Exception):
        for kernel in lab_server.api("GET", "api/kernels"):
            lab_server.api("DELETE", f"api/kernels/{kernel['id']}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and lab_server.api("GET", "api/kernels"):
        time.sleep(0.1)
    assert not lab_server.api("GET", "api/kernels"), "a kernel did not shut down"


@pytest.fixture
def lesson_page(lessons_context: Any, lab_server: LabServer, own_kernel: None) -> Iterator[LabPage]:
    """A fresh tab, collecting console errors; closed before its kernel is shut down."""
    page = lessons_context.new_page()
    try:
        yield LabPage(page, lab_server)
    finally:
        page.close()


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_clean_in_a_real_browser(
    name: str, lessons_dir: str, lesson_page: LabPage, artifacts: Path
) -> None:
    lab = lesson_page
    expected = code_cell_count(NOTEBOOKS / f"{name}.ipynb")
    clock = [time.monotonic()]

    def lap() -> str:
        clock.append(time.monotonic())
        return f"{clock[-1] - clock[-2]:.1f} s"

    lab.open(f"{lessons_dir}/{name}.ipynb")
    times = [f"open {lap()}"]
    run = LessonRun(lab)
    state = run.run_all()
    times.append(f"run all {lap()}")
    try:
        state = run.settle()
        times.append(f"settle {lap()}")
    finally:
        screenshot_whole_notebook(lab, artifacts / f"lesson_{name}.png")
        times.append(f"screenshot {lap()}")
        print(f"{name}: " + ", ".join(times))  # shown with -rP or -s

    problems = problems_in(state, expected)
    errors = run.browser_errors()
    if errors:
        problems.append("browser console errors:\n" + "\n".join(errors))
    assert not problems, f"{name}:\n" + "\n\n".join(problems)
