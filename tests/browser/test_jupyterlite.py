"""The JupyterLite site in a real browser: Raft in Pyodide, with no server behind it.

Once per session the site is built with ``jupyterlite/build.py`` into a temporary
folder (from the registries: Pyodide from npm, wheels from PyPI), then served by
``python -m http.server`` on 127.0.0.1; the browser may reach nothing else (every other
request is aborted and recorded, and there must be none). The lesson
``raft_in_your_browser.ipynb`` is run top to bottom, then:

- the trace digest it prints equals the one CPython prints for the same cells (the
  simulation is the same, byte for byte, in the browser);
- ``le.TableView``'s Step and Back buttons change the view in the page;
- ``cluster.show()`` printed the MissingLibraryError naming bokeh and le.TableView;
- no cell failed and the page logged no error.

A second test runs more of the API (records, check_storage, the KV store and its
checker, PreVote, CheckQuorum, snapshots and a membership change, an exercise check) in
the site's own Pyodide under Node.js, loading luminous_edu through the site's lock file,
and compares what it prints with CPython's output for the same code.

Without chromium, npm or the network the test is skipped, saying what is missing; in CI
(the ``CI`` environment variable set, as ``.ci/run`` sets it) it fails instead. A
screenshot goes to ``tests/artifacts/jupyterlite.png``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_ci, require_browser
from labdriver import LabPage, unexpected_errors
from litesite import (
    MISSING_REQUIREMENT,
    build_site,
    keep_to_site,
    printed_digest,
    run_lesson_in_cpython,
    served,
)

pytestmark = pytest.mark.browser


def require(reason: str) -> None:
    if in_ci():
        pytest.fail(f"CI is set, so the JupyterLite test is mandatory, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lite_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session into a temporary folder."""
    require_browser()
    if shutil.which("npm") is None:
        require("the JupyterLite site's build needs npm (Node.js) to fetch Pyodide")
    work = tmp_path_factory.mktemp("jupyterlite")
    result = build_site(work / "site", work / "cache")
    if result.returncode == MISSING_REQUIREMENT:
        require(f"the JupyterLite site cannot be built here: {result.stderr.strip()}")
    assert result.returncode == 0, f"build.py failed:\n{result.stdout}\n{result.stderr}"
    return work / "site"


@pytest.fixture
def lite_page(browser: Any, lite_site: Path) -> Iterator[tuple[LabPage, list[str]]]:
    """The lesson open in a fresh browser context that can reach only the site."""
    with served(lite_site) as site:
        context = browser.new_context(viewport={"width": 1400, "height": 2400})
        context.set_default_timeout(60_000)
        blocked = keep_to_site(context, site)
        try:
            page = LabPage(context.new_page(), site)  # it asks its server only for url()
            page.page.goto(site.lesson_url())
            page.wait_idle(120_000)
            yield page, blocked
        finally:
            context.close()


def view_state(page: LabPage) -> dict[str, Any]:
    """The last TableView in the page: its status line and its servers' rows."""
    result: dict[str, Any] = page.page.evaluate(
        """() => {
            const views = document.querySelectorAll('.luminous-tableview');
            const view = views[views.length - 1];
            const rows = [...view.querySelectorAll('.luminous-servers tr[data-server]')];
            return {
                status: view.querySelector('.luminous-status').innerText,
                rows: rows.map((r) => ({...r.dataset})),
                narration: view.querySelector('.luminous-narration').innerText,
            };
        }"""
    )
    return result


def step_number(status: str) -> int:
    match = re.search(r"step (\d+)", status)
    assert match, status
    return int(match.group(1))


def click(page: LabPage, label: str, before: dict[str, Any]) -> dict[str, Any]:
    """Click ``label`` in the last view and wait until its status line changes."""
    page.page.locator(".luminous-tableview").last.locator(
        "button.jupyter-button", has_text=label
    ).click()
    page.page.wait_for_function(
        """(before) => {
            const views = document.querySelectorAll('.luminous-tableview');
            return views[views.length - 1].querySelector('.luminous-status').innerText
                !== before;
        }""",
        arg=before["status"],
        timeout=20_000,
    )
    return view_state(page)


def test_lesson_runs_in_the_browser_as_in_cpython(
    lite_page: tuple[LabPage, list[str]], artifacts: Path
) -> None:
    page, blocked = lite_page
    page.run_all(wait_for=".luminous-tableview .luminous-servers tr[data-server]", timeout=180)
    assert page.error_outputs() == []
    outputs = "\n".join(page.page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "emscripten" in outputs, "the lesson did not run in the browser's Python"
    assert printed_digest(outputs) == printed_digest(run_lesson_in_cpython())

    message = next(line for line in outputs.splitlines() if "cluster.show()" in line)
    assert "bokeh" in message and "le.TableView(cluster)" in message, message

    # The view shown last follows the cluster, rewound to just before the crash.
    before = view_state(page)
    assert len(before["rows"]) == 5
    stepped = click(page, "Step", before)
    assert step_number(stepped["status"]) == step_number(before["status"]) + 1
    assert stepped["narration"] != before["narration"]
    back = click(page, "Back", stepped)
    assert back["status"] == before["status"] and back["rows"] == before["rows"]
    # Run 100 ms replays the recorded crash: the old leader goes down.
    leader = next(r["server"] for r in before["rows"] if r["role"] == "leader")
    run = click(page, "Run 100 ms", back)
    assert next(r["role"] for r in run["rows"] if r["server"] == leader) == "down"

    page.page.screenshot(path=str(artifacts / "jupyterlite.png"), full_page=True)
    assert blocked == [], f"the site asked for files outside it: {blocked}"
    assert unexpected_errors(page.errors) == []


#: Runs in Pyodide (Node.js) and in CPython; both must print the same line.
API_TOUR = """\
import json
import luminous_edu as le

out = {}
c = le.Cluster(servers=5, seed=3)
c.run_until(lambda c: c.leader is not None, 2000)
for i in range(5):
    c.propose(f"x={i}")
    c.run(30)
c.crash(c.leader)
c.run(800)
out["digest"] = c.trace_digest()
out["record replays"] = le.Cluster.load(json.loads(json.dumps(c.export()))).trace_digest()
out["check_storage"] = le.check_storage(le.DiskStorage).passed
store = le.KVStore(servers=3, seed=1)
client = store.client("a")
put = client.put("k", "v")
store.run(500)
get = client.get("k")
store.run(500)
out["kv"] = [put.done, get.value, store.check().ok]
m = le.Cluster(servers=3, seed=1, snapshot_threshold=4, prevote=True, check_quorum=True)
m.run_until(lambda c: c.leader is not None, 2000)
for i in range(10):
    m.propose(i)
    m.run(30)
out["add_server"] = m.add_server(4).accepted
m.run(1000)
out["membership digest"] = m.trace_digest()
out["violations"] = len(c.violations) + len(m.violations)
out["exercise"] = str(le.exercises.check("00.first_leader", 2))
print(json.dumps(out, sort_keys=True))
"""

#: Node.js: load the site's Pyodide, luminous_edu through its lock file, run argv[2].
NODE_RUNNER = """\
const [site, code] = process.argv.slice(1);
const { loadPyodide } = await import(`${site}/static/pyodide/pyodide.mjs`);
const py = await loadPyodide({ indexURL: `${site}/static/pyodide/` });
await py.loadPackage("luminous-edu", { messageCallback: () => {} });
py.runPython(code);
"""


def test_the_api_runs_in_the_sites_pyodide_as_in_cpython(lite_site: Path) -> None:
    node = shutil.which("node")
    if node is None:
        require("Node.js (node) is not on PATH")
    in_node = subprocess.run(
        [node, "--input-type=module", "-e", NODE_RUNNER, str(lite_site), API_TOUR],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert in_node.returncode == 0, in_node.stderr[-3000:]
    in_cpython = subprocess.run(
        [sys.executable, "-c", API_TOUR], capture_output=True, text=True, check=True
    )
    pyodide, cpython = json.loads(in_node.stdout), json.loads(in_cpython.stdout)
    assert pyodide == cpython
    assert pyodide["record replays"] == pyodide["digest"]
    assert pyodide["kv"] == [True, "v", True] and pyodide["violations"] == 0
