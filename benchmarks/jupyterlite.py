"""JupyterLite benchmark: what the static site costs to build, to download and to start.

Run from the repository root, after the README's install (needs the ``test`` extra, npm
and the network)::

    .venv/bin/python benchmarks/jupyterlite.py               # everything (~2 minutes)
    .venv/bin/python benchmarks/jupyterlite.py --no-browser  # the builds and sizes only

It prints numbers and asserts nothing.

1. Builds with ``jupyterlite/build.py``: cold as on a fresh machine (empty npm and pip
   caches, an empty build cache), then with the registries' downloads in npm's and
   pip's caches but an empty build cache (what the browser test does on a developer's
   machine), then again on the same build cache (a rebuild after an edit).
2. The site's size: every file, and gzipped (what a server that compresses sends).
3. In Debian's chromium, with the site served by ``python -m http.server`` on 127.0.0.1
   and nothing else reachable: the lesson opened, Run All clicked once the kernel is
   idle; the time from opening the page to the first cluster output (the first
   ``le.TableView`` drawn) and to the end of Run All; the bytes the page fetched; the
   trace digest against CPython's; the time from a click on Step to the view's change
   (median and 95th percentile over 20 clicks); then the same page opened again in the
   same browser.
4. The simulation's speed in the browser against CPython here: a 5-server cluster
   (seed 7) run for 10 s of virtual time with commands, wall time in each.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from labdriver import JS_KERNEL_IDLE, LabPage, launch_chromium  # noqa: E402
from litesite import (  # noqa: E402
    build_site,
    keep_to_site,
    printed_digest,
    run_lesson_in_cpython,
    served,
)

CLICKS = 20
#: The same work timed in the browser and in CPython: 10 s of virtual time, a command
#: every 100 ms once there is a leader.
SPEED_CODE = """\
import time as _time
_t0 = _time.perf_counter()
_c = le.Cluster(servers=5, seed=7)
for _i in range(100):
    _c.run(100)
    if _c.leader is not None:
        _c.propose(_i)
print(f"SPEED {_time.perf_counter() - _t0:.3f} s, {len(_c.trace)} trace events")"""


def build(out: Path, cache: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = build_site(out, cache, env)
    if done.returncode != 0:
        raise SystemExit(f"build.py failed:\n{done.stdout}\n{done.stderr}")
    phases = next(line for line in done.stdout.splitlines() if line.startswith("built "))
    print(f"    {phases.split(' in ', 1)[1]}")
    return time.perf_counter() - start


def sizes(site: Path) -> tuple[int, int, int]:
    files = [p for p in site.rglob("*") if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    packed = sum(len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in files)
    return len(files), raw, packed


def in_the_browser(site_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    cpython_digest = printed_digest(run_lesson_in_cpython())
    with served(site_dir) as site, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 2400})
            context.set_default_timeout(180_000)
            blocked = keep_to_site(context, site)
            fetched = {"bytes": 0, "gzipped": 0, "requests": 0}
            gzipped: dict[Path, int] = {}

            def count(response: Any) -> None:
                # The site's service worker passes requests on: count each one once,
                # as the network (the server) sees it.
                if response.from_service_worker or response.status != 200:
                    return
                path = site_dir / response.url.split("?")[0][len(site.base_url) + 1 :]
                if not path.is_file():
                    return
                if path not in gzipped:
                    gzipped[path] = len(gzip.compress(path.read_bytes(), compresslevel=6))
                fetched["requests"] += 1
                fetched["bytes"] += path.stat().st_size
                fetched["gzipped"] += gzipped[path]

            context.on("response", count)
            first = open_and_run(context, site)
            print(
                f"  first visit: page open -> notebook shown {first['shown']:.1f} s, "
                f"kernel idle {first['idle']:.1f} s, first cluster output "
                f"{first['first_output']:.1f} s, Run All done {first['done']:.1f} s"
            )
            print(
                f"    fetched {fetched['requests']} files, {fetched['bytes'] / 1e6:.1f} MB, "
                f"{fetched['gzipped'] / 1e6:.1f} MB gzipped (what a host that compresses sends; "
                f"http.server does not); blocked outside the site: {len(blocked)}"
            )
            page: LabPage = first["page"]
            outputs = "\n".join(page.page.locator(".jp-OutputArea-output").all_inner_texts())
            digest = printed_digest(outputs)
            print(
                f"  trace digest in the browser {digest[:16]}..., in CPython "
                f"{cpython_digest[:16]}...: {'equal' if digest == cpython_digest else 'DIFFERENT'}"
            )
            latencies = step_clicks(page)
            print(
                f"  Step click -> view changed: median {statistics.median(latencies):.0f} ms, "
                f"95th percentile {percentile(latencies, 95):.0f} ms ({CLICKS} clicks)"
            )
            speed = run_code(page, SPEED_CODE)
            print(f"  simulation in the browser: {speed}")
            page.page.close()
            before = fetched["bytes"]
            second = open_and_run(context, site)
            print(
                f"  second visit, same browser: first cluster output "
                f"{second['first_output']:.1f} s, fetched again "
                f"{(fetched['bytes'] - before) / 1e6:.1f} MB (http.server sends no "
                f"caching headers)"
            )
            context.close()
        finally:
            browser.close()


def open_and_run(context: Any, site: Any) -> dict[str, Any]:
    page = LabPage(context.new_page(), site)
    start = time.perf_counter()
    page.page.goto(site.lesson_url())
    page.page.wait_for_selector(".jp-Notebook .jp-Cell")
    shown = time.perf_counter() - start
    page.page.wait_for_function(JS_KERNEL_IDLE)
    idle = time.perf_counter() - start
    page.menu("Run", "Run All Cells")
    page.page.wait_for_selector(".luminous-tableview .luminous-servers tr[data-server]")
    first_output = time.perf_counter() - start
    page.page.wait_for_selector(".jp-OutputArea-output:has-text('cannot draw the dashboard')")
    done = time.perf_counter() - start
    return {"page": page, "shown": shown, "idle": idle, "first_output": first_output, "done": done}


def step_clicks(page: LabPage) -> list[float]:
    view = page.page.locator(".luminous-tableview").last
    status = view.locator(".luminous-status")
    latencies = []
    for _ in range(CLICKS):
        before = status.inner_text()
        start = time.perf_counter()
        view.locator("button.jupyter-button", has_text="Step").click()
        page.page.wait_for_function(
            """(before) => {
                const views = document.querySelectorAll('.luminous-tableview');
                return views[views.length - 1].querySelector('.luminous-status').innerText
                    !== before;
            }""",
            arg=before,
        )
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def run_code(page: LabPage, code: str) -> str:
    """Add a cell at the end of the notebook, run it, return its output."""
    page.page.locator(".jp-Notebook .jp-Cell").last.click()
    page.page.keyboard.press("Escape")
    page.page.keyboard.press("b")  # a new cell below, selected
    page.page.keyboard.press("Enter")
    page.page.keyboard.insert_text(code)
    page.page.keyboard.press("Shift+Enter")
    page.page.wait_for_selector(".jp-OutputArea-output:has-text('SPEED')")
    text = page.page.locator(".jp-OutputArea-output", has_text="SPEED").last.inner_text()
    return text.strip().removeprefix("SPEED ")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def speed_in_cpython() -> str:
    import luminous_edu as le

    namespace: dict[str, Any] = {"le": le}
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        exec(SPEED_CODE, namespace)
    return out.getvalue().strip().removeprefix("SPEED ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-browser", action="store_true", help="builds and sizes only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lite-bench-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, npm_config_cache=str(work / "npm"), PIP_CACHE_DIR=str(work / "pip"))
        print("build, cold (empty npm, pip and build caches):")
        cold = build(work / "site", work / "cache-cold", env)
        print(f"    {cold:.1f} s in all")
        print("build, registry downloads in npm's and pip's caches, empty build cache:")
        warm = build(work / "site", work / "cache", env)
        print(f"    {warm:.1f} s in all")
        print("rebuild on the same build cache:")
        again = build(work / "site", work / "cache", env)
        print(f"    {again:.1f} s in all")
        count, raw, packed = sizes(work / "site")
        print(f"site: {count} files, {raw / 1e6:.1f} MB, {packed / 1e6:.1f} MB gzipped")
        print(f"simulation in CPython {sys.version.split()[0]}: {speed_in_cpython()}")
        if not args.no_browser:
            print("in chromium (headless, this machine):")
            in_the_browser(work / "site")


if __name__ == "__main__":
    main()
