"""The dashboard in a real browser: JupyterLab, Debian's chromium, Playwright.

A notebook with a dashboard is run top to bottom; ``Step`` is clicked several times,
``Back`` once, then ``Run`` plays for two seconds until ``Pause``; each time the bokeh
data sources in the page are compared with the cluster in the kernel and with the
kernel's own copy of those sources. The browser must have acknowledged every update Run
sent and sent no echo of the kernel's patches back (bokeh_fixes), the browser console
must be free of errors, and a screenshot is saved to ``tests/artifacts/dashboard.png``.

A third test steps a cluster with log compaction until the leader has sent its
snapshot to a follower that was behind (``tests/artifacts/dashboard_compaction.png``).

A second test adds a server from the *Membership* tab (the dashboard builds new plots
for four servers), steps, then goes back in history to before the join (new plots for
three servers again), comparing page and kernel each time
(``tests/artifacts/dashboard_membership.png``).
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabPage, LabServer, unexpected_errors, write_notebook

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
    sources = {
        name: {column: plain(values) for column, values in source.data.items()}
        for name, source in dash.sources.items()
    }
    bokeh = dash.bokeh
    return {
        "step": cluster.step_count,
        "now": cluster.now,
        "servers": servers,
        "sources": sources,
        "bokeh": {
            "echoes_ignored": bokeh.echoes_ignored,
            "render_sent": bokeh.render_sent,
            "render_applied": bokeh.render_applied,
        },
    }


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

JS_STATUS = r"""
() => {
  // The status line: "step N · t=N ms · ...". Narration lines say "step N t=N" (no ms).
  for (const e of document.querySelectorAll('.widget-html-content, .widget-label')) {
    const m = /\bstep (\d+)\b.*?\bt=(\d+) ms\b/.exec(e.innerText || '');
    if (m) return {step: Number(m[1]), now: Number(m[2]), text: e.innerText};
  }
  return null;
}
"""


# The dashboard's document (the one with a source named "servers") carries the mark
# that its BROWSER_JS callback sets once its views are built (bokeh_fixes).
JS_DASHBOARD_DOCUMENT_MARKED = r"""
() => {
  const docs = [...window.Bokeh.documents].reverse();
  const doc = docs.find((d) => [...d._all_models.values()].some((m) => m.name === 'servers'));
  return doc != null && doc.luminous_plain_visuals === true
      && doc.luminous_trigger_on_change !== undefined;
}
"""


# What the views draw, against the data their source holds: for every renderer of a
# named source with no filter, the colours (fill, line) and texts its glyph view holds,
# read from the view, compared with the columns they come from. A view that missed a
# change keeps old values here while the document's data is current (the stale ring).
JS_VIEWS_VS_DATA = r"""
() => {
  const docs = window.Bokeh.documents;
  const doc = docs[docs.length - 1];
  const hex = (c) => '#' + [24, 16, 8]
      .map((s) => ((c >>> s) & 255).toString(16).padStart(2, '0')).join('').toUpperCase();
  const problems = [];
  let checked = 0;
  for (const m of doc._all_models.values()) {
    if (m.type !== 'GlyphRenderer' || !m.data_source.name) continue;
    if (m.view.filter.type !== 'AllIndices') continue;
    const view = window.Bokeh.index.find_one(m);
    if (view == null) { problems.push(`no view for ${m.data_source.name}`); continue; }
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
          problems.push(`${m.data_source.name}.${spec.field}[${i}]: view ${shown}, data ${wanted}`);
          break;
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


def status(lab: LabPage) -> dict[str, Any] | None:
    result: dict[str, Any] | None = lab.page.evaluate(JS_STATUS)
    return result


def wait_for_step(lab: LabPage, step: int, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = status(lab)
        if seen is not None and seen["step"] == step:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"status never showed step {step}; last seen: {seen}")


def kernel_state(lab: LabPage) -> dict[str, Any]:
    output = lab.run_last_cell()
    match = re.search(r"KERNEL_STATE (.*)", output)
    assert match, f"no kernel state printed: {output[:500]!r}"
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


@pytest.fixture
def dashboard_notebook(lab_server: LabServer) -> str:
    return notebook(lab_server, "dashboard_browser_test.ipynb", NOTEBOOK_CELLS)


def page_matches_kernel(lab: LabPage, when: str) -> dict[str, Any]:
    """Print the kernel's state, then check the page's sources hold what the kernel's
    sources hold, and that those say what the cluster is. Returns the kernel state."""
    state = kernel_state(lab)
    # The kernel's messages arrive in order: the dashboard's updates came before this
    # cell's output. Allow a moment for them to be applied anyway.
    deadline = time.monotonic() + 5
    while True:
        sources = lab.sources()
        problems = [
            f"{name}: {problem}"
            for name in ("servers", "log", "messages", "terms")
            for problem in source_differences(sources.get(name, {}), state["sources"][name])
        ]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not problems, f"{when}, page and kernel sources differ:\n" + "\n".join(problems[:12])

    shown = status(lab)
    assert shown is not None, f"{when}: no status line"
    assert shown["step"] == state["step"], f"{when}: status {shown['text']!r}"
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


def run_all(lab: LabPage, notebook: str) -> Any:
    """Open ``notebook``, run all its cells, wait for BokehJS; returns the output that
    holds the dashboard (for screenshots)."""
    page = lab.page
    lab.open(notebook)
    lab.run_all("button.jupyter-button:has-text('Step')")
    page.wait_for_function(
        "() => window.Bokeh && window.Bokeh.documents && window.Bokeh.documents.length > 0"
    )
    return page.locator(".jp-OutputArea-output").filter(
        has=page.locator("button.jupyter-button", has_text="Step")
    )


def test_step_and_back_in_a_real_browser(
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

        for i in range(1, STEPS + 1):
            lab.button("Step").click()
            wait_for_step(lab, start["step"] + i)
        page_matches_kernel(lab, f"after {STEPS} clicks of Step")

        lab.button("Back").click()
        wait_for_step(lab, start["step"] + STEPS - 1)
        after_back = page_matches_kernel(lab, "after Back")
        views_match_data(lab, "after Back")
        # The browser held back the echoes of the kernel's patches (bokeh_fixes).
        assert after_back["bokeh"]["echoes_ignored"] == start["bokeh"]["echoes_ignored"]
        assert lab.page.evaluate(JS_DASHBOARD_DOCUMENT_MARKED) is True

        # Run, with its backpressure: the browser acknowledges the updates it applied.
        lab.button("Run").click()
        time.sleep(2.0)
        lab.button("Pause").click()
        deadline = time.monotonic() + 15  # a loaded browser may still be drawing
        acks = kernel_state(lab)["bokeh"]
        while acks["render_applied"] != acks["render_sent"] and time.monotonic() < deadline:
            time.sleep(0.5)
            acks = kernel_state(lab)["bokeh"]
        assert 0 < acks["render_applied"] == acks["render_sent"], acks
        after_run = page_matches_kernel(lab, "after Run and Pause")
        assert after_run["step"] > after_back["step"]
        views_match_data(lab, "after Run and Pause")
    finally:
        # The dashboard alone, then the whole page: look at them.
        dashboard.first.screenshot(path=str(artifacts / "dashboard.png"))
        page.screenshot(path=str(artifacts / "dashboard_page.png"))

    no_console_errors(lab)


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
    dashboard = run_all(lab, compaction_notebook)
    try:
        start = page_matches_kernel(lab, "after Run All")
        blocks = lab.sources()["snapshots"]
        assert sorted(t for t in blocks["text"] if t) == [
            "snapshot through 12 (term 1)",
            "snapshot through 12 (term 1)",
        ], blocks
        labels: set[str] = set()
        for i in range(1, 31):
            lab.button("Step").click()
            wait_for_step(lab, start["step"] + i)
            labels |= set(lab.sources()["spacetime"]["label"])
        assert "IS" in labels, labels
        page_matches_kernel(lab, "after stepping through InstallSnapshot")
        views_match_data(lab, "after stepping through InstallSnapshot")
        assert sum(1 for t in lab.sources()["snapshots"]["text"] if t) == 3
    finally:
        dashboard.first.screenshot(path=str(artifacts / "dashboard_compaction.png"))

    no_console_errors(lab)
