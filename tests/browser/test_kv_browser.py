"""The KV view (``store.show()``) in a real browser: JupyterLab, Debian's chromium,
Playwright, at 1280x720.

Its history's time cursor follows the time shown (``luminous_edu/viz/kv.py``): after the
store's own Run it is at ``store.now``; after the group's own dashboard goes Back, at
that group's ``cluster.now``, the operations called after it faded and the status line
naming the shard's time. Each time, the page's ``history_cursor`` and ``history`` sources
and the KV view's status line must equal the kernel's. The store's controls must not
stick out sideways, and the browser console must be free of errors.
Screenshot: ``tests/artifacts/kv_history_cursor.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabPage, LabServer
from test_dashboard_browser import (
    kernel_state,
    no_console_errors,
    notebook,
    source_differences,
    wait_for_step,
)

from luminous_edu.viz.history import FADED

pytestmark = pytest.mark.browser

BACKS = 4  # clicks of the group dashboard's Back: the cursor goes before the last call

# Operations at different times; bob's four appends queue (a client sends one request at
# a time), so the store's Run in the page calls some of them at times of its own.
SETUP_CELL = """\
import json

import luminous_edu as le

store = le.KVStore(servers=3, shards=1, seed=3)
alice, bob = store.client("alice"), store.client("bob")
store.run(400)
alice.put("x", "1")
store.run(120)
bob.get("x")
alice.append("x", "2")
store.run(150)
for i in range(4):
    bob.append("y", str(i))
alice.get("y")"""

VIEW_CELL = """\
view = store.show()
view"""

KERNEL_STATE_CELL = """\
import html as _html
import re as _re


def kernel_state():
    group = store.groups[0]
    sources = view.history.sources
    return {
        "store_now": store.now,
        "group_now": group.now,
        "step": group.step_count,
        "cursor": view.history.cursor,
        "cursor_shard": view.cursor_shard,
        "sources": {
            name: {column: list(values) for column, values in sources[name].data.items()}
            for name in ("history", "history_cursor")
        },
        "status": _html.unescape(_re.sub(r"<[^>]+>", "", view.status.value)),
    }


print("KERNEL_STATE " + json.dumps(kernel_state()))"""

CELLS = [SETUP_CELL, VIEW_CELL, KERNEL_STATE_CELL]

# The KV view's own parts: its controls and status line are its direct children, apart
# from those of the group dashboards inside it.
KV_CONTROLS = ".luminous-kv > .luminous-controls"
KV_STATUS = ".luminous-kv > .luminous-status"

# The store's controls, measured: sideways overflow, and each control's right edge
# against the notebook's visible area.
JS_CONTROLS = r"""
([selector]) => {
  const controls = document.querySelector(selector);
  const area = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')
      .getBoundingClientRect();
  return {
    overflow: controls.scrollWidth - controls.clientWidth,
    right: Math.max(...[...controls.children].map((e) => e.getBoundingClientRect().right)),
    area_right: Math.min(area.right, window.innerWidth),
  };
}
"""


def kv_status(lab: LabPage) -> str:
    return str(lab.page.locator(KV_STATUS).first.text_content() or "").strip()


def page_matches_kernel(lab: LabPage, when: str) -> dict[str, Any]:
    """Print the kernel's state, then wait (5 s at most) until the page's history sources
    and the KV view's status line equal it. Returns the kernel's state."""
    state = kernel_state(lab)
    deadline = time.monotonic() + 5
    while True:
        sources = lab.sources()
        problems = [
            f"{name}: {problem}"
            for name, kernel in state["sources"].items()
            for problem in source_differences(sources.get(name, {}), kernel)
        ]
        shown = kv_status(lab)
        if shown != state["status"].strip():
            problems.append(f"status line: page {shown!r}, kernel {state['status']!r}")
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not problems, f"{when}, page and kernel differ:\n" + "\n".join(problems[:12])
    return state


def faded(state: dict[str, Any]) -> list[bool]:
    return [alpha == FADED for alpha in state["sources"]["history"]["alpha"]]


def test_the_history_cursor_follows_the_store_then_a_groups_dashboard(
    lab_page: LabPage, lab_server: LabServer, artifacts: Path
) -> None:
    lab = lab_page
    page = lab.page
    page.set_viewport_size({"width": 1280, "height": 720})
    lab.open(notebook(lab_server, "kv_history_cursor.ipynb", CELLS))
    lab.run_all(f"{KV_CONTROLS} button.jupyter-button:has-text('Run')")
    page.wait_for_function("() => (window.Bokeh?.documents?.length ?? 0) >= 3")
    try:
        start = page_matches_kernel(lab, "after Run All")
        assert start["cursor"] == start["store_now"] and start["cursor_shard"] is None
        assert not any(faded(start))

        controls = page.evaluate(JS_CONTROLS, [KV_CONTROLS])
        assert controls["overflow"] <= 1, f"the store's controls stick out sideways: {controls}"
        assert controls["right"] <= controls["area_right"] + 1, controls

        # The store's Run (not a dashboard's): every group and the clients, run_ms on.
        page.locator(KV_CONTROLS).locator("button.jupyter-button", has_text="Run").click()
        page.wait_for_function(
            "([sel, before]) => !document.querySelector(sel).textContent.includes(before)",
            arg=[KV_STATUS, f"t={start['store_now']} ms"],
        )
        ran = page_matches_kernel(lab, "after the store's Run")
        assert ran["store_now"] > start["store_now"]
        assert ran["cursor"] == ran["store_now"] and ran["cursor_shard"] is None
        assert ran["sources"]["history_cursor"]["x"] == [ran["store_now"]]
        assert len(ran["sources"]["history"]["call"]) > len(start["sources"]["history"]["call"])
        assert not any(faded(ran))
        assert "shard 0's time" not in kv_status(lab)

        # The group's own dashboard goes Back: the cursor goes to the group's time.
        back = page.locator(".luminous-kv .luminous-dashboard").first.locator(
            "button.jupyter-button", has_text="Back"
        )
        for i in range(1, BACKS + 1):
            back.click()
            wait_for_step(lab, ran["step"] - i)
        state = page_matches_kernel(lab, f"after {BACKS} clicks of the group's Back")
        now = state["group_now"]
        assert now < state["store_now"] == ran["store_now"]
        assert state["cursor"] == now and state["cursor_shard"] == 0
        assert state["sources"]["history_cursor"]["x"] == [now]
        assert state["sources"]["history_cursor"]["text"] == [f"t={now} ms"]
        calls = state["sources"]["history"]["call"]
        assert faded(state) == [call > now for call in calls]
        assert any(faded(state)) and not all(faded(state)), (now, calls)
        assert f"history cursor: shard 0's time, t={now} ms" in kv_status(lab)
        when = state["sources"]["history"]["when"]
        assert "in flight" in when and "not yet called" in when, when
    finally:
        # The history at the bottom of the window, the group's dashboard above it.
        page.evaluate(
            "() => document.querySelector('.luminous-kv > .luminous-history')"
            "?.scrollIntoView({block: 'end'})"
        )
        time.sleep(0.5)
        page.screenshot(path=str(artifacts / "kv_history_cursor.png"))

    no_console_errors(lab)
