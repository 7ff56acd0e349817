"""A class on a real JupyterHub (issue 17): the course configuration of
``docs/jupyterhub/jupyterhub_config.py``, two students, lesson 00, in chromium.

The hub runs on 127.0.0.1 with DummyAuthenticator and SimpleLocalProcessSpawner in
place of the course's PAM and per-account servers (``hubdriver.py``); everything else is
the course's file: the course name and the submissions folder in each server's
environment, the lessons pulled by nbgitpuller from a git repository (here a local one
made from this checkout's ``notebooks/``), the idle culler as a hub-managed service.

- alice opens the link ``luminous-edu links`` prints for lesson 00: she logs in, the
  hub starts her server, nbgitpuller clones the lessons into her home and opens the
  lesson at ``/user/alice/lab/tree/luminous_edu/notebooks/00_welcome.ipynb``;
- bob just logs in: his server's default URL pulls the lessons and opens their folder;
  he then opens the lesson at ``/user/bob/lab/...``.
- Each runs the lesson (Run All) and clicks Step: the dashboard draws under the hub's
  base URL, with BokehJS from the package's server extension there
  (``/user/NAME/luminous_edu/bokehjs/``); the page shows the student's own run (the
  seed and the step and time after Step equal a headless run of the lesson as that
  student), and alice's run is not bob's.
- Each hands in ``le.exercises.submission("lesson00.json")``: the file lands in the
  student's folder of the course's submissions directory, and ``luminous-edu grade``
  reads both (alice answered the lesson's question right, bob did not answer).
- Every process the hub started listens on 127.0.0.1 only, and none outlives the hub.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require, require_browser
from hubdriver import (
    PROXY_VERSION,
    Hub,
    install_proxy,
    lessons_repository,
    listening_addresses,
    missing_requirements,
)
from labdriver import LabPage, unexpected_errors
from lesson_runner import NOTEBOOKS, run_lesson

from luminous_edu.exercises import seeds

pytestmark = pytest.mark.browser

COURSE = "raft-hub-test"
STUDENTS = ["alice", "bob"]
REPO_NAME = "luminous_edu"  # the folder nbgitpuller clones into
BRANCH = "students"
LESSON = "00_welcome.ipynb"
LESSON_PATH = f"lab/tree/{REPO_NAME}/notebooks/{LESSON}"
# A server idle this long is stopped by the course's idle culler (an hour in class). The
# hub learns of activity every ACTIVITY_INTERVAL_S (5 minutes in class), and a student's
# open JupyterLab polls its server every 10 s, so a student at work is never idle so long.
IDLE_TIMEOUT_S = 30
ACTIVITY_INTERVAL_S = 5

# What alice adds at the end of the lesson: the right answer to its question, then her
# work handed in; bob hands his in as it is.
HAND_IN = {
    "alice": 'le.exercises.check("00.first_leader", '
    'le.exercises.get("00.first_leader").right_answer(SEED))\n'
    'print("HANDED IN", le.exercises.submission("lesson00.json"))',
    "bob": 'print("HANDED IN", le.exercises.submission("lesson00.json"))',
}

JS_FIRST_OUTPUT = """
() => {
  const output = document.querySelector('.jp-Notebook .jp-CodeCell .jp-OutputArea-output');
  return output ? output.textContent : '';
}
"""


class UserServer:
    """A student's server behind the hub, for ``LabPage`` (which asks it for URLs)."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub = hub
        self.name = name

    def url(self, path: str) -> str:
        return f"{self.hub.url}/user/{self.name}/{path.lstrip('/')}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Hub]:
    require_browser()
    require(missing_requirements(), "the hub test is")
    # Installed once into pytest's cache folder (.pytest_cache), else for this run only.
    folder = f"configurable-http-proxy-{PROXY_VERSION}"
    cache = getattr(request.config, "cache", None)
    cache_dir = Path(cache.mkdir(folder)) if cache else tmp_path_factory.mktemp(folder)
    try:
        proxy = install_proxy(cache_dir)
    except RuntimeError as error:  # no npm registry here
        require(str(error), "the hub test is")
    work = tmp_path_factory.mktemp("hub")
    repo = lessons_repository(work / "git", REPO_NAME, BRANCH)
    hub = Hub(
        work / "hub",
        proxy,
        STUDENTS,
        environment={
            "LUMINOUS_EDU_COURSE": COURSE,
            "LUMINOUS_EDU_HUB_LESSONS_REPO": repo,
            "LUMINOUS_EDU_HUB_LESSONS_BRANCH": BRANCH,
            "LUMINOUS_EDU_HUB_SUBMISSIONS": str(work / "submissions"),
            "LUMINOUS_EDU_HUB_IDLE_TIMEOUT": str(IDLE_TIMEOUT_S),
        },
    )
    try:
        hub.start(activity_interval_s=ACTIVITY_INTERVAL_S)
        yield hub
    finally:
        outlived = hub.stop()
    assert not outlived, f"processes the hub started outlived it (killed now): {outlived}"
    assert not hub.leftover_processes()


def lesson_link(hub: Hub) -> str:
    """Lesson 00's link, as ``luminous-edu links`` prints it for this hub."""
    repo = hub.environment["LUMINOUS_EDU_HUB_LESSONS_REPO"]
    command = ["links", "--hub", hub.url, "--repo", repo, "--branch", BRANCH]
    result = subprocess.run(
        [sys.executable, "-m", "luminous_edu", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    (link,) = [line.split()[1] for line in result.stdout.splitlines() if line.startswith(LESSON)]
    return link


def log_in(page: Any, name: str) -> None:
    """Fill the hub's login form (DummyAuthenticator: any password)."""
    page.wait_for_selector("#username_input")
    page.fill("#username_input", name)
    page.fill("#password_input", "any password")
    page.click("#login_submit")


def expected_run(student: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Lesson 00 run headless as ``student`` of the course, then one step: what the
    student's page must show."""
    monkeypatch.setenv(seeds.COURSE_VARIABLE, COURSE)
    namespace, _ = run_lesson(NOTEBOOKS / LESSON, student)
    cluster = namespace["cluster"]
    cluster.step()
    return {"seed": namespace["SEED"], "step": cluster.step_count, "now": cluster.now}


def hand_in(lab: LabPage, code: str) -> str:
    """A new cell at the end of the notebook, with ``code``, run; its output."""
    page = lab.page
    page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a cell below, selected
    page.keyboard.press("Enter")  # edit it
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")  # run it (and add an empty cell below)
    output = page.locator(".jp-Notebook .jp-OutputArea-output", has_text="HANDED IN").first
    output.wait_for(timeout=60_000)
    return str(output.inner_text())


def run_the_lesson(lab: LabPage, name: str, artifacts: Path) -> dict[str, Any]:
    """Run All, read what the page shows, click Step, read it again, hand in."""
    lab.wait_idle()
    lab.run_all("button.jupyter-button:has-text('Step')")
    lab.page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 2")
    first = lab.page.evaluate(JS_FIRST_OUTPUT)
    seed = re.search(r"seed (\d+)", first)
    assert seed, f"{name}: lesson 00 printed no seed: {first[:300]!r}"
    before = lab.status()
    assert before is not None, f"{name}: no dashboard status line"
    lab.button("Step").click()
    after = lab.wait_for_step(before["step"] + 1)
    sources = lab.sources()
    assert sources.get("servers", {}).get("id"), f"{name}: no servers drawn: {sorted(sources)}"
    lab.page.screenshot(path=str(artifacts / f"hub_{name}.png"))
    return {
        "seed": int(seed.group(1)),
        "step": after["step"],
        "now": after["now"],
        "sources": sources,
        "handed_in": hand_in(lab, HAND_IN[name]),
    }


def census(hub: Hub, name: str) -> dict[str, list[int]]:
    """What runs for the hub now, as the student ``name`` finishes: the proxy, the idle
    culler, and the student's server and kernel; every process the hub started listens
    on 127.0.0.1 only. Returns the student's server and kernel PIDs."""
    hub.note_processes()
    running = hub.commands()
    mine = hub.processes_of(name)
    kinds = {
        "proxy": [p for p, c in running.items() if "configurable-http-proxy" in c],
        "idle culler": [p for p, c in running.items() if "jupyterhub_idle_culler" in c],
        "server": [p for p, c in mine.items() if "jupyterhub.singleuser" in c],
        "kernel": [p for p, c in mine.items() if "ipykernel_launcher" in c],
    }
    counts = {kind: len(pids) for kind, pids in kinds.items()}
    assert counts == {"proxy": 1, "idle culler": 1, "server": 1, "kernel": 1}, running
    assert hub.proc is not None
    listening = listening_addresses([hub.proc.pid, *running])
    assert len(listening) >= 3, f"hub, proxy and {name}'s server listen: {listening}"
    elsewhere = {p: a for p, a in listening.items() if any(not x.startswith("127.") for x in a)}
    assert not elsewhere, f"listening beyond 127.0.0.1: {elsewhere} ({running})"
    return {"server": kinds["server"], "kernel": kinds["kernel"]}


def culled(hub: Hub, name: str, timeout: float) -> bool:
    """Wait until the hub says ``name`` has no server running; False if it still has
    one after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (user,) = [u for u in hub.api("users") if u["name"] == name]
        if not user["servers"]:
            return True
        time.sleep(1)
    return False


def test_two_students_each_get_their_own_run_of_lesson_00_on_the_hub(
    hub: Hub, browser: Any, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = lesson_link(hub)
    seen: dict[str, dict[str, Any]] = {}
    for name in STUDENTS:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.set_default_timeout(90_000)
        page = context.new_page()
        lab = LabPage(page, UserServer(hub, name))  # type: ignore[arg-type]
        bokehjs: list[str] = []
        page.on("request", lambda r, b=bokehjs: b.append(r.url) if "bokeh.min" in r.url else 0)
        try:
            if name == "alice":  # the lesson's nbgitpuller link, logging in on the way
                page.goto(link)
                log_in(page, name)
            else:  # the hub's login page; the server's default URL pulls the lessons
                page.goto(f"{hub.url}/hub/login")
                log_in(page, name)
                page.wait_for_url(f"**/user/{name}/lab/tree/{REPO_NAME}/notebooks")
                page.goto(lab.server.url(LESSON_PATH))
            page.wait_for_url(f"**/user/{name}/{LESSON_PATH}")
            seen[name] = run_the_lesson(lab, name, artifacts)
            seen[name]["bokehjs"] = bokehjs
            assert not unexpected_errors(lab.errors), f"{name}: browser errors {lab.errors}"
            seen[name]["processes"] = census(hub, name)
        except Exception:
            page.screenshot(path=str(artifacts / f"hub_{name}_failed.png"))
            print(f"--- {name}'s browser errors ---\n{lab.errors}")
            print(f"--- the hub's log ---\n{hub.log_tail()}")
            raise
        finally:
            context.close()  # the student leaves: their server is idle from now on

    for name in STUDENTS:
        # The student's own run, the lesson's printed seed and the page's status after
        # Step both as computed headless for that student of this course.
        expected = expected_run(name, monkeypatch)
        shown = {key: seen[name][key] for key in ("seed", "step", "now")}
        assert shown == expected, (name, shown, expected)
        assert expected["seed"] == seeds.seed_for("00", name, COURSE)
        # BokehJS came once, from the package's server extension under the user's URL.
        (loaded,) = seen[name]["bokehjs"]
        assert f"/user/{name}/luminous_edu/bokehjs/" in loaded, loaded
    assert seen["alice"]["seed"] != seen["bob"]["seed"]
    assert seen["alice"]["sources"]["servers"] != seen["bob"]["sources"]["servers"]

    # The work handed in reached the course's submissions folder, one folder per student.
    submissions = Path(hub.environment["LUMINOUS_EDU_HUB_SUBMISSIONS"])
    files = [submissions / name / "lesson00.json" for name in STUDENTS]
    for name, path in zip(STUDENTS, files, strict=True):
        assert str(path) in seen[name]["handed_in"], seen[name]["handed_in"]
    grades = hub.work / "grades.csv"
    graded = subprocess.run(
        [sys.executable, "-m", "luminous_edu", "grade", *map(str, files), "--csv", str(grades)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert graded.returncode == 0, graded.stderr
    with grades.open(newline="") as stream:
        rows = {row["student"]: row for row in csv.DictReader(stream)}
    assert sorted(rows) == STUDENTS
    assert rows["alice"]["00.first_leader"] == "1" and rows["bob"]["00.first_leader"] != "1"

    # alice left first: after IDLE_TIMEOUT_S without activity the idle culler stops her
    # server, and her kernel with it; bob's, idle for less time, may still run.
    assert culled(hub, "alice", timeout=3 * IDLE_TIMEOUT_S), hub.log_tail()
    deadline = time.monotonic() + 15
    alice = [pid for pids in seen["alice"]["processes"].values() for pid in pids]
    while time.monotonic() < deadline and hub.leftover_processes_among(alice):
        time.sleep(0.2)
    assert not hub.leftover_processes_among(alice), hub.commands()
    assert "Culling server alice" in hub.log_tail(50_000)
