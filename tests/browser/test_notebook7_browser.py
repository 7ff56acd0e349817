"""Lesson 00 and the dashboard in Notebook 7 (``jupyter notebook``), in a real browser.

- ``/tree`` lists the lessons; ``/notebooks/lessons/00_welcome.ipynb`` (a copy, with one
  cell added at the end that prints the kernel's state): Run All from Notebook 7's Run
  menu runs every cell without an error output or a widget that failed to display; then
  the dashboard's Step, Back, Run and Pause change the bokeh sources in the page
  (``window.Bokeh.documents``) exactly as they change the kernel's cluster. Screenshots:
  ``tests/artifacts/notebook7_lesson_00_welcome.png`` (the whole notebook) and
  ``notebook7_lesson_dashboard.png``.
- One screen: at 1280x720 and 1366x768 the controls, status line, ring, log matrix and
  narration of a dashboard (``projector=True`` and not) lie inside the notebook's
  visible area, under Notebook 7's header, menu and toolbar; Notebook 7 has no file
  browser beside the notebook. Screenshots: ``tests/artifacts/notebook7_dashboard_*.png``.
- Every lesson and the instructor's guide and demo, as test_lessons_browser runs them in
  JupyterLab: in CI, or with ``LUMINOUS_EDU_NOTEBOOK7_ALL=1`` (about three minutes).

The browser console must be free of errors, but for the two Notebook 7 logs by itself
(``labdriver.HARMLESS_ERRORS`` says what they are). The helpers come from the JupyterLab
tests of the dashboard and the lessons, which these tests repeat in Notebook 7.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci, new_page
from labdriver import LabPage, LabServer, copy_tree, write_notebook
from test_dashboard_browser import (
    KERNEL_STATE_CELL,
    ONE_SCREEN_CELLS,
    every_update_acknowledged,
    fits_one_screen,
    no_console_errors,
    page_matches_kernel,
    wait_for_step,
)
from test_lessons_browser import (
    LESSONS,
    NOTEBOOKS,
    LessonRun,
    code_cell_count,
    problems_in,
    screenshot_whole_notebook,
)

pytestmark = pytest.mark.browser

LESSON = "00_welcome"
STEPS = 3
SCREENS = [(1280, 720), (1366, 768)]
# Added at the end of the lesson's copy: the state of the lesson's cluster and dashboard,
# printed by the cell the tests run again (``kernel_state``).
STATE_CELLS = ["import json\n\ndash = dashboard\ndash.refresh()", KERNEL_STATE_CELL]


@pytest.fixture
def notebook7_page(browser: Any, notebook7_server: LabServer) -> Iterator[LabPage]:
    """A fresh tab on Notebook 7; every kernel is shut down after the test."""
    try:
        with new_page(browser, notebook7_server) as page:
            yield page
    finally:
        shut_down_kernels(notebook7_server)


def shut_down_kernels(server: LabServer) -> None:
    server.note_processes()  # their PIDs, checked again when the server stops
    with contextlib.suppress(Exception):
        for kernel in server.api("GET", "api/kernels"):
            server.api("DELETE", f"api/kernels/{kernel['id']}")


def lesson_with_state_cells(server: LabServer) -> tuple[str, int]:
    """Lesson 00 copied into the server's root, with ``STATE_CELLS`` added; its path and
    how many code cells it has."""
    copy_tree(NOTEBOOKS, Path(server.root) / "lessons")
    path = Path(server.root) / "lessons" / f"{LESSON}.ipynb"
    notebook = json.loads(path.read_text())
    for number, source in enumerate(STATE_CELLS):
        notebook["cells"].append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"state-{number}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        )
    path.write_text(json.dumps(notebook, indent=1))
    return f"lessons/{LESSON}.ipynb", code_cell_count(path)


def test_lesson_00_runs_and_its_dashboard_steps_in_notebook_7(
    notebook7_page: LabPage, notebook7_server: LabServer, artifacts: Path
) -> None:
    lab = notebook7_page
    page = lab.page
    name, expected = lesson_with_state_cells(notebook7_server)

    page.goto(notebook7_server.url("tree/lessons"))
    page.locator(".jp-DirListing-itemText", has_text=f"{LESSON}.ipynb").first.wait_for()

    lab.open(name)
    run = LessonRun(lab)
    state = run.run_all()
    try:
        state = run.settle()
    finally:
        screenshot_whole_notebook(lab, artifacts / f"notebook7_lesson_{LESSON}.png")
    problems = problems_in(state, expected)
    errors = run.browser_errors()
    assert not problems and not errors, f"{LESSON} in Notebook 7:\n" + "\n\n".join(
        problems + errors
    )

    # A laptop's screen, the dashboard at its top (Notebook 7 renders only the cells in
    # view, and the status line is read from the page).
    page.set_viewport_size({"width": 1366, "height": 768})
    page.evaluate("document.querySelector('.luminous-dashboard').scrollIntoView()")
    start = page_matches_kernel(lab, "after Run All")
    for i in range(1, STEPS + 1):
        lab.button("Step").click()
        wait_for_step(lab, start["step"] + i)
    page_matches_kernel(lab, f"after {STEPS} clicks of Step")
    lab.button("Back").click()
    wait_for_step(lab, start["step"] + STEPS - 1)
    after_back = page_matches_kernel(lab, "after Back")

    lab.button("Run").click()
    time.sleep(2.0)
    lab.button("Pause").click()
    every_update_acknowledged(lab)
    after_run = page_matches_kernel(lab, "after Run and Pause")
    assert after_run["step"] > after_back["step"]
    page.locator(".luminous-dashboard").first.screenshot(
        path=str(artifacts / "notebook7_lesson_dashboard.png")
    )
    no_console_errors(lab)


def test_the_core_picture_fits_one_screen_in_notebook_7(
    notebook7_page: LabPage, notebook7_server: LabServer, artifacts: Path
) -> None:
    name = "dashboard_one_screen.ipynb"
    write_notebook(Path(notebook7_server.root) / name, ONE_SCREEN_CELLS)
    fits_one_screen(notebook7_page, name, SCREENS, artifacts / "notebook7_dashboard")


@pytest.mark.skipif(
    not (in_ci() or os.environ.get("LUMINOUS_EDU_NOTEBOOK7_ALL")),
    reason="every lesson in Notebook 7 takes about three minutes; CI runs them, and "
    "LUMINOUS_EDU_NOTEBOOK7_ALL=1 does here",
)
def test_every_lesson_runs_clean_in_notebook_7(
    browser: Any, notebook7_server: LabServer, artifacts: Path
) -> None:
    """test_lessons_browser's check, lesson by lesson, in Notebook 7."""
    copy_tree(NOTEBOOKS, Path(notebook7_server.root) / "all")
    failures = []
    for name in LESSONS:
        try:
            started = time.monotonic()
            with new_page(browser, notebook7_server) as lab:
                lab.open(f"all/{name}.ipynb")
                run = LessonRun(lab)
                run.run_all()
                state = run.settle()
                screenshot_whole_notebook(lab, artifacts / f"notebook7_lesson_{name}.png")
                problems = problems_in(state, code_cell_count(NOTEBOOKS / f"{name}.ipynb"))
                problems += run.browser_errors()
            print(f"{name}: {time.monotonic() - started:.1f} s, {len(problems)} problems")
            if problems:
                failures.append(f"{name}:\n" + "\n".join(problems))
        finally:
            shut_down_kernels(notebook7_server)
    assert not failures, "\n\n".join(failures)
