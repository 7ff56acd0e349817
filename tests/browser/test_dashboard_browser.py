"""The dashboard in a real browser: JupyterLab, Debian's chromium, Playwright.

- One screen: at 1280x720, 1366x768 and 1920x1080, with the file browser open, the
  controls, the status line, the ring, the log matrix and the narration of a dashboard
  (``projector=True`` and not) lie inside the notebook's visible area at once, and
  nothing sticks out sideways. Screenshots: ``tests/artifacts/dashboard_<mode>_<size>.png``.
- Step, Back, then Run for two seconds and Pause: the page's data sources equal the
  kernel's and say what the cluster is; the browser acknowledged every update Run sent,
  echoed none of the kernel's patches, and animated the ring between updates.
- Exact after every jump: ``refresh()``, ``seek()``, ``attach()``, Back, the slider,
  Reset, and a dashboard built on a cluster that already ran: sources, ranges, cursors
  and the header in the page equal the kernel's.
- Under a base URL (``/user/alice/``, as on a JupyterHub): BokehJS comes from the Jupyter
  server extension there, once; a page reload draws the dashboard again; a kernel
  restart leaves no error in the page. Without the extension, the page says why the
  dashboard cannot draw.
- A server joins and a rewind takes it away (new views each time); log compaction and
  InstallSnapshot.

The browser console must be free of errors throughout.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    JUPYTERLAB,
    LabPage,
    LabServer,
    free_port,
    unexpected_errors,
    write_notebook,
)

pytestmark = pytest.mark.browser

STEPS = 6  # clicks of Step, then one click of Back

SETUP_CELL = """\
import json

import luminous_edu as le

cluster = le.Cluster(servers=5, seed=7)
# An elected leader and three commands, so that stepping changes logs and commits.
cluster.run_until(lambda c: c.leader is not None, 5000)
for command in ["x=1", "y=2", "z=3"]:
    cluster.propose(command)
    cluster.run(30)"""

# Three servers whose leader has committed in its term, so it may add a fourth (§4.1).
MEMBERSHIP_SETUP_CELL = """\
import json

import luminous_edu as le

cluster = le.Cluster(servers=3, seed=1)
cluster.run_until(lambda c: c.leader is not None, 5000)
cluster.propose("x=1")
cluster.run(300)"""

# Lesson 06's situation: S3 comes back behind the leader's snapshot (§7).
COMPACTION_SETUP_CELL = """\
import json

import luminous_edu as le
from luminous_edu.sim.scenarios import behind_the_snapshot

cluster = behind_the_snapshot()"""

DASHBOARD_CELL = """\
dash = le.Dashboard(cluster)
dash"""

KERNEL_STATE_CELL = """\
import html as _html
import re as _re


def plain(values):
    return values.tolist() if hasattr(values, "tolist") else list(values)


def kernel_state():
    servers = {}
    for sid, view in cluster.servers.items():
        servers[str(sid)] = {
            "role": str(view.role) if view.alive else "down",
            "term": view.current_term,
            "commit_index": view.commit_index,
            "log": [[entry.index, entry.term] for entry in view.log],
        }
    shown = [name for name in dash._visible()]
    sources = {
        name: {column: plain(values) for column, values in source.data.items()}
        for view in shown
        for name, source in dash.views[view].sources.items()
    }
    ranges = {
        r.name: [r.start, r.end] for view in shown for r in dash.views[view].ranges.values()
    }
    cursors = {c.name: c.location for view in shown for c in dash.views[view].cursors}
    bokeh = dash.bokeh
    return {
        "step": cluster.step_count,
        "now": cluster.now,
        "servers": servers,
        "sources": sources,
        "ranges": ranges,
        "cursors": cursors,
        "status": _html.unescape(_re.sub(r"<[^>]+>", "", dash.status.value)),
        "bokeh": {
            "echoes_ignored": sum(m.echoes_ignored for m in dash.models.values()),
            "render_sent": bokeh.render_sent,
            "render_applied": bokeh.render_applied,
        },
    }


print("KERNEL_STATE " + json.dumps(kernel_state()))"""

# The last cell runs whatever the test wrote to command.py, then prints the kernel's
# state: a test can act from code between two looks at the page.
COMMAND_CELL = """\
exec(open("command.py").read())
print("KERNEL_STATE " + json.dumps(kernel_state()))"""

# Run All reaches this while the browser is still building the dashboard's view: the
# change must reach every renderer (it did not reach the ring's circles and links).
REFRESH_CELL = """\
import time

cluster.propose("w=4")
for _ in range(8):  # refreshes spread over the seconds the view takes to build
    cluster.run(60)
    dash.refresh()
    time.sleep(0.25)"""

NOTEBOOK_CELLS = [SETUP_CELL, DASHBOARD_CELL, REFRESH_CELL, KERNEL_STATE_CELL]
MEMBERSHIP_CELLS = [MEMBERSHIP_SETUP_CELL, DASHBOARD_CELL, KERNEL_STATE_CELL]
COMPACTION_CELLS = [COMPACTION_SETUP_CELL, DASHBOARD_CELL, KERNEL_STATE_CELL]

# The dashboard's documents (those with a named source) carry the mark that their
# BROWSER_JS callback sets once their views are built (bokeh_fixes).
JS_DASHBOARD_DOCUMENTS_MARKED = r"""
() => {
  const docs = [...window.Bokeh.documents].filter(
      (d) => [...d._all_models.values()].some((m) => m.name === 'servers' || m.name === 'log'));
  return docs.length >= 2 && docs.every(
      (d) => d.luminous_plain_visuals === true && d.luminous_trigger_on_change !== undefined);
}
"""

# The ring's animation (plots.MOTION_JS): frames drawn and the virtual time shown.
JS_MOTION = r"""
() => {
  const docs = [...window.Bokeh.documents].filter((d) => d.luminous_motion !== undefined);
  const m = docs[docs.length - 1].luminous_motion;
  return {frames: m.frames, shown: m.shown, running: m.running, stopped: m.stopped};
}
"""


# What the views draw, against the data their source holds: for every renderer of a
# named source with no filter, the colours (fill, line) and texts its glyph view holds,
# read from the view, compared with the columns they come from. A view that missed a
# change keeps old values here while the document's data is current (the stale ring).
JS_VIEWS_VS_DATA = r"""
() => {
  const hex = (c) => '#' + [24, 16, 8]
      .map((s) => ((c >>> s) & 255).toString(16).padStart(2, '0')).join('').toUpperCase();
  const problems = [];
  let checked = 0;
  for (const doc of window.Bokeh.documents) {
    for (const m of doc._all_models.values()) {
      if (m.type !== 'GlyphRenderer' || !m.data_source.name) continue;
      if (m.view.filter.type !== 'AllIndices') continue;
      const view = window.Bokeh.index.find_one(m);
      if (view == null) continue;  // a document whose views are gone (an old output)
      const data = m.data_source.data instanceof Map
          ? m.data_source.data : new Map(Object.entries(m.data_source.data));
      for (const attr of ['fill_color', 'line_color', 'text']) {
        const prop = m.glyph.properties[attr];
        const spec = prop == null ? null : prop.get_value();
        if (spec == null || spec.field == null) continue;
        const column = Array.from(data.get(spec.field));
        const held = view.glyph[attr];
        for (let i = 0; i < column.length; i++) {
          let shown = held.get(i);
          let wanted = column[i];
          if (attr !== 'text') { shown = hex(shown); wanted = String(wanted).toUpperCase(); }
          checked += 1;
          if (shown !== wanted) {
            problems.push(
                `${m.data_source.name}.${spec.field}[${i}]: view ${shown}, data ${wanted}`);
            break;
          }
        }
      }
    }
  }
  return {checked, problems};
}
"""


def views_match_data(lab: LabPage, when: str) -> None:
    """Every renderer view draws the data its source holds (colours and texts)."""
    deadline = time.monotonic() + 5
    while True:
        result = lab.page.evaluate(JS_VIEWS_VS_DATA)
        if not result["problems"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result["checked"] > 0, f"{when}: no renderer view checked"
    assert not result["problems"], f"{when}, views draw stale data:\n" + "\n".join(
        result["problems"][:12]
    )


def at_rest(lab: LabPage, now: int, timeout: float = 5.0) -> dict[str, Any]:
    """Wait until the ring's animation rests at virtual time ``now``; its state."""
    deadline = time.monotonic() + timeout
    while True:
        motion: dict[str, Any] = lab.page.evaluate(JS_MOTION)
        if not motion["running"] and motion["shown"] == now:
            return motion
        assert time.monotonic() < deadline, f"the ring never came to rest at t={now}: {motion}"
        time.sleep(0.1)


def status(lab: LabPage) -> dict[str, Any] | None:
    return lab.status()


def wait_for_step(lab: LabPage, step: int, timeout: float = 30.0) -> dict[str, Any]:
    return lab.wait_for_step(step, timeout)


def kernel_state(lab: LabPage) -> dict[str, Any]:
    output = lab.run_last_cell()
    match = re.search(r"KERNEL_STATE (.*)", output)
    assert match, f"no kernel state printed: {output[:1500]!r}"
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or isinstance(a, str) or isinstance(b, str):
            return False
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def source_differences(page: dict[str, list[Any]], kernel: dict[str, list[Any]]) -> list[str]:
    problems = []
    if sorted(page) != sorted(kernel):
        problems.append(f"columns differ: page {sorted(page)}, kernel {sorted(kernel)}")
    for column in sorted(set(page) & set(kernel)):
        p, k = page[column], kernel[column]
        if len(p) != len(k):
            problems.append(f"{column}: {len(p)} rows in the page, {len(k)} in the kernel")
            continue
        for row, (x, y) in enumerate(zip(p, k, strict=True)):
            if not same_value(x, y):
                problems.append(f"{column}[{row}]: page {x!r}, kernel {y!r}")
                break
    return problems


def notebook(lab_server: LabServer, name: str, cells: list[str]) -> str:
    """Write notebook ``name`` with ``cells`` where the lab server serves it."""
    write_notebook(Path(lab_server.root) / name, cells)
    return name


def no_console_errors(lab: LabPage) -> None:
    errors = unexpected_errors(lab.errors)
    assert not errors, "browser console errors:\n" + "\n".join(errors)


def page_matches_kernel(lab: LabPage, when: str, state: dict[str, Any] | None = None) -> Any:
    """Print the kernel's state (or take ``state``), then check the page's sources,
    ranges, cursors and header hold what the kernel's do, and that those say what the
    cluster is. Returns the kernel state."""
    state = kernel_state(lab) if state is None else state
    # The kernel's messages arrive in order: the dashboard's updates came before this
    # cell's output. Allow a moment for them to be applied anyway.
    deadline = time.monotonic() + 5
    while True:
        sources = lab.sources()
        ranges = lab.ranges()
        problems = [
            f"{name}: {problem}"
            for name in sorted(state["sources"])
            for problem in source_differences(sources.get(name, {}), state["sources"][name])
        ]
        problems += [
            f"{name}: page {ranges.get(name)}, kernel {value}"
            for name, value in sorted((state["ranges"] | state["cursors"]).items())
            if not same_value(ranges.get(name), value)
        ]
        shown = status(lab)
        if shown is None or shown["text"].strip() != state["status"].strip():
            problems.append(f"header: page {shown and shown['text']!r}, kernel {state['status']!r}")
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not problems, f"{when}, page and kernel differ:\n" + "\n".join(problems[:12])
    assert {"servers", "log", "messages"} <= set(state["sources"]), when
    assert shown is not None and shown["step"] == state["step"], when
    assert f"t={state['now']} ms" in shown["text"], f"{when}: status {shown['text']!r}"

    servers = sources["servers"]
    assert sorted(servers["id"]) == sorted(int(s) for s in state["servers"]), when
    for row, sid in enumerate(servers["id"]):
        truth = state["servers"][str(sid)]
        assert servers["role"][row] == truth["role"], f"{when}: S{sid} role"
        assert servers["term"][row] == truth["term"], f"{when}: S{sid} term"
    log = sources["log"]
    cells = sorted(
        (s, i, t)
        for s, i, t in zip(log["server"], log["index"], log["term"], strict=True)
        if i > 0  # index 0 marks a blank (reusable) slot
    )
    truth_cells = sorted(
        (int(sid), index, term)
        for sid, server in state["servers"].items()
        for index, term in server["log"]
    )
    assert cells == truth_cells, f"{when}: log cells (server, index, term)"
    return state


def every_update_acknowledged(lab: LabPage, timeout: float = 15.0) -> None:
    """After Run and Pause: the browser acknowledged every update Run sent (a loaded
    browser may still be drawing for a while)."""
    deadline = time.monotonic() + timeout
    acks = kernel_state(lab)["bokeh"]
    while acks["render_applied"] != acks["render_sent"] and time.monotonic() < deadline:
        time.sleep(0.5)
        acks = kernel_state(lab)["bokeh"]
    assert 0 < acks["render_applied"] == acks["render_sent"], acks


def run_all(lab: LabPage, notebook: str, file_browser: bool = False) -> Any:
    """Open ``notebook``, run all its cells, wait for BokehJS; returns the output that
    holds the dashboard (for screenshots)."""
    page = lab.page
    lab.open(notebook, file_browser=file_browser)
    lab.run_all("button.jupyter-button:has-text('Step')")
    page.wait_for_function(
        "() => window.Bokeh && window.Bokeh.documents && window.Bokeh.documents.length >= 2"
    )
    return page.locator(".jp-OutputArea-output").filter(
        has=page.locator("button.jupyter-button", has_text="Step")
    )


# ------------------------------------------------------------------- one screen

SCREENS = [(1280, 720), (1366, 768), (1920, 1080)]
PARTS = ("controls", "status", "ring", "log", "narration")

ONE_SCREEN_CELLS = [
    SETUP_CELL,
    "cluster.run(7)\nle.Dashboard(cluster, projector=True)",
    "le.Dashboard(cluster)",
]

# Scroll dashboard ``k`` (0: projector, 1: laptop) to the top of the notebook, then
# measure: the notebook's visible area, each part's box, and any sideways overflow.
JS_MEASURE = r"""
(k) => {
  const board = document.querySelectorAll('.luminous-dashboard')[k];
  board.scrollIntoView({block: 'start'});
  const area = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')
      .getBoundingClientRect();
  const box = (e) => { const r = e.getBoundingClientRect();
      return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const parts = {};
  for (const part of @PARTS@) parts[part] = box(board.querySelector('.luminous-' + part));
  const output = board.closest('.jp-OutputArea-output');
  return {
    area: box({getBoundingClientRect: () => area}),
    parts,
    overflow: [board, output].map((e) => e.scrollWidth - e.clientWidth),
    browser: [...document.querySelectorAll('.jp-FileBrowser')]
        .reduce((w, e) => Math.max(w, e.getBoundingClientRect().width), 0),
  };
}
""".replace("@PARTS@", json.dumps(list(PARTS)))


def test_the_core_picture_fits_one_screen(
    lab_page: LabPage, lab_server: LabServer, artifacts: Path
) -> None:
    """Controls, status, ring, log and narration visible at once, without scrolling, in
    JupyterLab with its file browser open (DESIGN.md, "The dashboard")."""
    name = notebook(lab_server, "dashboard_one_screen.ipynb", ONE_SCREEN_CELLS)
    fits_one_screen(lab_page, name, SCREENS, artifacts / "dashboard")


def fits_one_screen(
    lab: LabPage, name: str, screens: list[tuple[int, int]], screenshots: Path
) -> None:
    """Open notebook ``name`` (``ONE_SCREEN_CELLS``), Run All, then at each screen size
    check that each dashboard's core parts lie inside the notebook's visible area and
    that nothing sticks out sideways; screenshots ``{screenshots}_{mode}_{size}.png``.
    In JupyterLab the file browser stays open beside the notebook."""
    page = lab.page
    file_browser = lab.front_end is JUPYTERLAB
    page.set_viewport_size({"width": screens[0][0], "height": screens[0][1]})
    lab.open(name, file_browser=file_browser)
    lab.run_all("button.jupyter-button:has-text('Step')")
    page.wait_for_function("() => document.querySelectorAll('.luminous-dashboard').length == 2")
    page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 4")
    measured = {}
    for width, height in screens:
        page.set_viewport_size({"width": width, "height": height})
        for k, mode in enumerate(("projector", "laptop")):
            time.sleep(1.0)  # the layout settles (BokehJS resizes the log matrix)
            found = page.evaluate(JS_MEASURE, k)
            time.sleep(0.3)
            page.screenshot(path=f"{screenshots}_{mode}_{width}x{height}.png")
            area = found["area"]
            where = f"{lab.front_end.name}, {mode} at {width}x{height}"
            if file_browser:
                assert found["browser"] > 100, f"{where}: the file browser is not open"
            for part, box in found["parts"].items():
                inside = (
                    box["left"] >= area["left"] - 1
                    and box["right"] <= min(area["right"], width) + 1
                    and box["top"] >= area["top"] - 1
                    and box["bottom"] <= min(area["bottom"], height) + 1
                )
                assert inside, f"{where}: {part} {box} is not inside the notebook's {area}"
            assert max(found["overflow"]) <= 1, f"{where}: cut off sideways {found['overflow']}"
            measured[where] = found["parts"]
    print(json.dumps(measured, indent=1))
    no_console_errors(lab)


# ---------------------------------------------------------- step, back, run


@pytest.fixture
def dashboard_notebook(lab_server: LabServer) -> str:
    return notebook(lab_server, "dashboard_browser_test.ipynb", NOTEBOOK_CELLS)


def test_step_back_and_run_in_a_real_browser(
    lab_page: LabPage, dashboard_notebook: str, artifacts: Path
) -> None:
    lab = lab_page
    page = lab.page
    dashboard = run_all(lab, dashboard_notebook)
    try:
        assert {"servers", "log", "messages", "terms"} <= set(lab.sources())
        start = page_matches_kernel(lab, "after Run All")
        views_match_data(lab, "after Run All")
        assert start["servers"] and any(s["log"] for s in start["servers"].values())

        before = page.evaluate(JS_MOTION)
        for i in range(1, STEPS + 1):
            lab.button("Step").click()
            wait_for_step(lab, start["step"] + i)
        stepped = page_matches_kernel(lab, f"after {STEPS} clicks of Step")
        # Each Step glides into place (plots.STEP_MS), then the ring rests at the
        # kernel's time.
        glided = at_rest(lab, stepped["now"])
        assert glided["frames"] - before["frames"] >= 2 * STEPS, (before, glided)

        lab.button("Back").click()
        wait_for_step(lab, start["step"] + STEPS - 1)
        after_back = page_matches_kernel(lab, "after Back")
        views_match_data(lab, "after Back")
        # The browser held back the echoes of the kernel's patches (bokeh_fixes).
        assert after_back["bokeh"]["echoes_ignored"] == start["bokeh"]["echoes_ignored"]
        assert lab.page.evaluate(JS_DASHBOARD_DOCUMENTS_MARKED) is True

        # Run, with its backpressure: the browser acknowledges the updates it applied,
        # and animates the ring between them (plots.MOTION_JS).
        before = page.evaluate(JS_MOTION)
        lab.button("Run").click()
        time.sleep(2.0)
        during = page.evaluate(JS_MOTION)
        lab.button("Pause").click()
        assert during["running"] and during["frames"] - before["frames"] > 20, (before, during)
        every_update_acknowledged(lab)
        after_run = page_matches_kernel(lab, "after Run and Pause")
        assert after_run["step"] > after_back["step"]
        views_match_data(lab, "after Run and Pause")
        # The ring's own clock came to rest at the kernel's time.
        at_rest(lab, after_run["now"])
    finally:
        # The dashboard alone, then the whole page: look at them.
        dashboard.first.screenshot(path=str(artifacts / "dashboard.png"))
        page.screenshot(path=str(artifacts / "dashboard_page.png"))

    no_console_errors(lab)


# ------------------------------------------------------- exact after every jump

JUMPS = {
    # Driven from code, then refreshed: 2.6 s later, hundreds of steps.
    "refresh()": "cluster.run(2600)\ndash.refresh()",
    "seek()": "dash.seek(cluster.step_count - 40)",
    "attach()": (
        "other = le.Cluster(servers=5, seed=8)\nother.run(1500)\ncluster = other\n"
        "dash.attach(other)"
    ),
    "the slider": "dash.slider.value = cluster.step_count // 2",
}

# The dashboard is built on a cluster that already ran, before and in the same cell.
JUMP_CELLS = [
    SETUP_CELL,
    "cluster.run(800)\ndash = le.Dashboard(cluster)\ndash",
    KERNEL_STATE_CELL,
    COMMAND_CELL,
]


def run_command(lab: LabPage, lab_server: LabServer, code: str, when: str) -> dict[str, Any]:
    """Run ``code`` in the kernel (the notebook's last cell), then check the page."""
    (Path(lab_server.root) / "command.py").write_text(code)
    state = kernel_state(lab)
    return page_matches_kernel(lab, when, state)


def test_every_view_is_exact_after_every_kind_of_jump(
    lab_page: LabPage, lab_server: LabServer
) -> None:
    lab = lab_page
    (Path(lab_server.root) / "command.py").write_text("pass")
    run_all(lab, notebook(lab_server, "dashboard_jumps.ipynb", JUMP_CELLS))
    page_matches_kernel(lab, "a dashboard built on a cluster that ran")
    for label, code in JUMPS.items():
        state = run_command(lab, lab_server, code, f"after {label}")
        views_match_data(lab, f"after {label}")
        low, high = state["ranges"]["time_range"]
        assert low <= state["now"] <= high, f"{label}: the time window left the cursor"
    lab.button("Back").click()
    state = run_command(lab, lab_server, "pass", "after Back")
    lab.button("Reset").click()
    wait_for_step(lab, 0)
    state = run_command(lab, lab_server, "pass", "after Reset")
    assert state["step"] == 0 and state["ranges"]["time_range"] == [0, 1000]
    # The space-time history is rebuilt from the recorded steps, not only the messages
    # in flight: open its tab on a cluster that ran, then jump.
    lab.page.locator(".lm-TabBar-tab", has_text=re.compile("^Space-time$")).first.click()
    state = run_command(lab, lab_server, "cluster.run(900)\ndash.refresh()", "space-time")
    assert state["sources"]["spacetime"]["status"].count("delivered") > 20
    state = run_command(lab, lab_server, "dash.seek(cluster.step_count - 30)", "space-time seek")
    assert state["sources"]["spacetime"]["status"].count("delivered") > 20
    no_console_errors(lab)


# -------------------------------------- base URL, reload, restart, no extension

BASE_URL = "/user/alice/"


@pytest.fixture(scope="module")
def alice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A second JupyterLab, under a base URL as a JupyterHub user's server runs."""
    from conftest import require_browser

    require_browser()
    server = LabServer(
        tmp_path_factory.mktemp("alice-root"),
        tmp_path_factory.mktemp("alice-work"),
        free_port(),
        base_url=BASE_URL,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_under_a_base_url_after_a_reload_and_across_a_kernel_restart(
    browser: Any, alice_server: LabServer, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    context.set_default_timeout(60_000)
    try:
        lab = LabPage(context.new_page(), alice_server)
        loads: list[str] = []
        lab.page.on("request", lambda r: loads.append(r.url) if "bokeh.min.js" in r.url else None)
        run_all(lab, notebook(alice_server, "alice.ipynb", NOTEBOOK_CELLS))
        page_matches_kernel(lab, "under a base URL")
        assert len(loads) == 1 and f"{BASE_URL}luminous_edu/bokehjs/" in loads[0], loads
        lab.page.keyboard.press("Control+s")
        time.sleep(2)

        lab.page.reload()
        lab.wait_idle()
        lab.page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 2")
        page_matches_kernel(lab, "after a page reload")
        lab.button("Step").click()
        page_matches_kernel(lab, "after a reload and a Step")

        lab.button("Run").click()
        time.sleep(1.0)
        lab.menu("Kernel", "Restart Kernel…")
        accept = lab.page.locator(".jp-Dialog-button.jp-mod-accept")
        accept.first.click()
        lab.wait_idle()
        time.sleep(3)  # what the page does after a restart (views relaid out, closed)
        lab.page.screenshot(path=str(artifacts / "dashboard_after_restart.png"))
        no_console_errors(lab)
    finally:
        context.close()


def test_without_the_server_extension_the_page_says_what_to_do(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from conftest import require_browser

    require_browser()
    server = LabServer(
        tmp_path_factory.mktemp("bare-root"),
        tmp_path_factory.mktemp("bare-work"),
        free_port(),
        extra_args=("--ServerApp.jpserver_extensions={'luminous_edu.viz.bokehjs': False}",),
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    try:
        server.start()
        lab = LabPage(context.new_page(), server)
        lab.open(notebook(server, "bare.ipynb", [SETUP_CELL, DASHBOARD_CELL]))
        lab.menu("Run", "Run All Cells")
        note = lab.page.locator(".luminous-bokehjs-missing")
        note.first.wait_for(timeout=90_000)
        text = note.first.inner_text()
        assert "HTTP 404" in text and "jupyter server extension list" in text, text
    finally:
        context.close()
        server.stop()


# ----------------------------------------------------- membership, compaction


@pytest.fixture
def membership_notebook(lab_server: LabServer) -> str:
    return notebook(lab_server, "dashboard_membership_test.ipynb", MEMBERSHIP_CELLS)


def wait_for_servers(lab: LabPage, count: int, timeout: float = 30.0) -> None:
    """Wait until the page's newest ``servers`` source has ``count`` rows."""
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        shown = lab.sources().get("servers", {}).get("id")
        if shown is not None and len(shown) == count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the page never showed {count} servers; last seen ids {shown}")


def test_a_server_joins_and_a_rewind_takes_it_away_in_a_real_browser(
    lab_page: LabPage, membership_notebook: str, artifacts: Path
) -> None:
    lab = lab_page
    page = lab.page
    dashboard = run_all(lab, membership_notebook)
    try:
        start = page_matches_kernel(lab, "after Run All")
        assert sorted(start["servers"]) == ["1", "2", "3"]
        # The dashboard's tab (has_text alone would also match the notebook's own tab).
        page.locator(".lm-TabBar-tab", has_text=re.compile("^Membership$")).first.click()
        lab.button("Add server").click()  # the id box offers 4, the next free id
        page.get_by_text("Add S4: started.").wait_for(timeout=30_000)
        wait_for_servers(lab, 4)
        joined = page_matches_kernel(lab, "after Add server")
        views_match_data(lab, "after Add server")
        assert sorted(joined["servers"]) == ["1", "2", "3", "4"]
        for i in range(1, STEPS + 1):
            lab.button("Step").click()
            wait_for_step(lab, joined["step"] + i)
        page_matches_kernel(lab, f"after {STEPS} steps with S4")
        dashboard.first.screenshot(path=str(artifacts / "dashboard_membership.png"))

        lab.button("Reset").click()  # step 0: before the join
        wait_for_step(lab, 0)
        wait_for_servers(lab, 3)
        back = page_matches_kernel(lab, "after Reset to before the join")
        assert sorted(back["servers"]) == ["1", "2", "3"]
        views_match_data(lab, "after Reset")
    finally:
        page.screenshot(path=str(artifacts / "dashboard_membership_page.png"))

    no_console_errors(lab)


@pytest.fixture
def compaction_notebook(lab_server: LabServer) -> str:
    return notebook(lab_server, "dashboard_compaction_test.ipynb", COMPACTION_CELLS)


def test_snapshots_and_install_snapshot_in_a_real_browser(
    lab_page: LabPage, compaction_notebook: str, artifacts: Path
) -> None:
    lab = lab_page
    page = lab.page
    dashboard = run_all(lab, compaction_notebook)
    try:
        start = page_matches_kernel(lab, "after Run All")
        blocks = lab.sources()["snapshots"]
        assert sorted(t for t in blocks["text"] if t) == [
            "snapshot through 12 (term 1)",
            "snapshot through 12 (term 1)",
        ], blocks
        page.locator(".lm-TabBar-tab", has_text=re.compile("^Space-time$")).first.click()
        labels: set[str] = set()
        for i in range(1, 31):
            lab.button("Step").click()
            wait_for_step(lab, start["step"] + i)
            labels |= set(lab.sources().get("spacetime", {}).get("label", []))
        assert "IS" in labels, labels
        page_matches_kernel(lab, "after stepping through InstallSnapshot")
        views_match_data(lab, "after stepping through InstallSnapshot")
        assert sum(1 for t in lab.sources()["snapshots"]["text"] if t) == 3
    finally:
        dashboard.first.screenshot(path=str(artifacts / "dashboard_compaction.png"))

    no_console_errors(lab)
