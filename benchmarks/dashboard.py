"""Dashboard benchmark: what a step costs, in the kernel and in a real browser.

Run from the repository root, after the README's install (needs the ``test`` extra)::

    .venv/bin/python benchmarks/dashboard.py            # everything (~2 minutes)
    .venv/bin/python benchmarks/dashboard.py --no-browser  # in-process part only

It prints numbers and asserts nothing. The targets (issues 4 and 11): per-step cost
independent of the log length; median click-to-render within 1.5x of the bare round
trip; during Run, the ring's animation at 0.8 or more of the frame rate of a bare bokeh
figure animated the same way, and kernel updates at 0.8 or more of what a one-point
plot reaches (the ceiling below).

1. In process (no browser): a 5-server cluster whose log holds 100 or 10,000 entries.
   Every comm message a widget sends (ipywidgets state updates and jupyter_bokeh's
   PATCH-DOC messages alike) goes through ``comm.create_comm``'s comm; here that comm
   serializes each message with ``jupyter_client.session.Session`` exactly as a kernel
   would put it on the wire (header, metadata, content and binary buffers) and counts
   the bytes. Python time is the wall time of the ``Step`` button's click handler.
2. In JupyterLab, in Debian's chromium (``/usr/bin/chromium``), all in one page:
   - the time from a click on ``Step`` (dispatched in the page) to the animation frame
     after the last kernel-driven change of a dashboard data source it caused; median
     and 95th percentile over 50 clicks. Beside it, interleaved, the bare round trip: a
     button whose click handler patches one point of a one-point plain
     ``jupyter_bokeh`` plot, timed the same way. Their ratio is the click ratio.
   - Run for 5 s: kernel updates per second (animation frames in which a kernel-driven
     source of the dashboard changed) and, in the same 5 s, the ring's animation frames
     per second (frames in which the browser moved the ring: ``plots.MOTION_JS`` counts
     them). After Pause, how long the page kept changing (a kernel that sends more than
     the browser draws leaves a backlog, and frames counted then show a past state:
     updates per second alone would reward that flood).
   - the ceiling of kernel updates: the bare one-point plot patched
     ``MAX_UPDATES_PER_SECOND`` times a second (the Run loop's cap) from an asyncio task
     in the kernel, frames counted the same way. No dashboard update can be shown more
     often than a one-point one.
   - the bare animation: a 400x400 bokeh figure whose 20 dots a ``document_ready``
     ``requestAnimationFrame`` loop moves, as the ring's are moved, frames counted the
     same way, with nothing else going on.
   It prints both ratios and the click ratio. The machine's load average is printed
   first: the numbers swing with it.
"""

from __future__ import annotations

import argparse
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

from luminous_edu.viz.dashboard import MAX_UPDATES_PER_SECOND  # noqa: E402

CLICKS = 50
RUN_SECONDS = 5.0
LAG_SECONDS = 10.0


# --------------------------------------------------------------------- in process


class Meter:
    """Counts the bytes of every comm message, as a kernel would send them."""

    def __init__(self) -> None:
        from jupyter_client.session import Session

        self.session = Session(key=b"secret-for-the-signature")
        self.bytes = 0
        self.messages = 0

    def install(self) -> None:
        import comm
        from comm.base_comm import BaseComm

        meter = self

        class CountingComm(BaseComm):  # type: ignore[misc]
            def publish_msg(
                self,
                msg_type: str,
                data: Any = None,
                metadata: Any = None,
                buffers: Any = None,
                **keys: Any,
            ) -> None:
                content = {"data": data or {}, "comm_id": self.comm_id, **keys}
                msg = meter.session.msg(msg_type, content=content, metadata=metadata or {})
                frames = meter.session.serialize(msg)
                meter.bytes += sum(len(f) for f in frames)
                meter.bytes += sum(len(memoryview(b).cast("B")) for b in buffers or ())
                meter.messages += 1

        comm.create_comm = CountingComm

    def reset(self) -> None:
        self.bytes = 0
        self.messages = 0


def cluster_with_log(entries: int) -> Any:
    import luminous_edu as le

    cluster = le.Cluster(servers=5, seed=7, checks=False)
    cluster.run_until(lambda c: c.leader is not None, 10_000)
    proposed = 0
    while proposed < entries - 1:  # the leader's no-op is entry 1
        batch = min(100, entries - 1 - proposed)
        for i in range(batch):
            cluster.propose(f"x={proposed + i}")
        proposed += batch
        cluster.run(20)
    cluster.run(200)
    return cluster


def find_button(widget: Any, description: str) -> Any:
    import ipywidgets

    todo = [widget]
    while todo:
        w = todo.pop()
        if isinstance(w, ipywidgets.Button) and w.description == description:
            return w
        todo.extend(getattr(w, "children", ()))
    raise LookupError(f"no button {description!r}")


def in_process(meter: Meter, entries: int, steps: int = 200) -> None:
    import luminous_edu as le

    cluster = cluster_with_log(entries)
    longest = max(len(cluster.servers[s].log) for s in cluster.servers)
    meter.reset()
    t0 = time.perf_counter()
    dash = le.Dashboard(cluster)
    build_ms = (time.perf_counter() - t0) * 1000
    build_bytes = meter.bytes
    step = find_button(dash, "Step")
    back = find_button(dash, "Back")
    sizes, times, counts = [], [], []
    for _ in range(steps):
        meter.reset()
        t0 = time.perf_counter()
        step.click()
        times.append((time.perf_counter() - t0) * 1000)
        sizes.append(meter.bytes)
        counts.append(meter.messages)
    meter.reset()
    t0 = time.perf_counter()
    back.click()
    back_ms = (time.perf_counter() - t0) * 1000
    back_bytes = meter.bytes
    print(
        f"  log {longest:>6} entries: per Step  bytes median {statistics.median(sizes):>8.0f}"
        f"  mean {statistics.mean(sizes):>8.0f}  max {max(sizes):>8}"
        f" | messages mean {statistics.mean(counts):5.1f}"
        f" | Python ms median {statistics.median(times):6.2f}  mean {statistics.mean(times):6.2f}"
        f"  max {max(times):6.2f}"
    )
    print(
        f"  {'':>19}  (build: {build_bytes / 1e3:,.0f} KB, {build_ms:,.0f} ms;"
        f" Back = full replace: {back_bytes / 1e3:,.0f} KB, {back_ms:,.0f} ms)"
    )


# ----------------------------------------------------------------------- browser

NOTEBOOK = [
    """\
import luminous_edu as le

cluster = le.Cluster(servers=5, seed=7)
cluster.run_until(lambda c: c.leader is not None, 5000)
for command in ["x=1", "y=2", "z=3"]:
    cluster.propose(command)
    cluster.run(30)
dash = le.Dashboard(cluster)
dash""",
    """\
import asyncio

import ipywidgets
from bokeh.document import Document
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.plotting import figure
from jupyter_bokeh.widgets import BokehModel

bare_source = ColumnDataSource({"x": [0], "y": [0]}, name="bare")
bare_plot = figure(width=200, height=150, x_range=(0, 10), y_range=(0, 10), toolbar_location=None)
RUN_SECONDS, MAX_UPDATES_PER_SECOND = @RUN@
bare_plot.scatter("x", "y", source=bare_source, size=10)
bare_button = ipywidgets.Button(description="Bare")
bare_count = [0]


def bare_click(_button):
    bare_count[0] += 1
    bare_source.patch({"x": [(0, bare_count[0] % 10)]})


bare_button.on_click(bare_click)


async def bare_run(seconds, rate):
    for k in range(round(seconds * rate)):
        bare_source.patch({"x": [(0, k % 10)]})
        await asyncio.sleep(1 / rate)


bare_run_button = ipywidgets.Button(description="Bare run")
bare_run_button.on_click(
    lambda _button: asyncio.get_running_loop().create_task(
        bare_run(RUN_SECONDS, MAX_UPDATES_PER_SECOND)
    )
)

# The bare animation: 20 dots on a 400x400 figure, moved by the browser at every
# animation frame while switched on, as plots.MOTION_JS moves the ring's messages.
dots = ColumnDataSource({"x": [], "y": []})
moving = figure(width=400, height=400, x_range=(-1.5, 1.5), y_range=(-1.5, 1.5),
                toolbar_location=None, tools="")
moving.scatter("x", "y", source=dots, size=12, level="overlay")
moving_doc = Document()
moving_doc.add_root(moving)
MOVE = '''
const state = cb_obj.bare_motion = {frames: 0, on: false}
function frame(t) {
  requestAnimationFrame(frame)
  if (!state.on) return
  const x = [], y = []
  for (let i = 0; i < 20; i++) {
    const a = t / 1000 + i
    x.push(Math.cos(a))
    y.push(Math.sin(a))
  }
  dots.data = {x, y}
  state.frames += 1
}
requestAnimationFrame(frame)
'''
moving_doc.js_on_event("document_ready", CustomJS(args={"dots": dots}, code=MOVE))
bare_plots = [BokehModel(bare_plot), BokehModel(moving)]
ipywidgets.VBox([bare_button, bare_run_button, *bare_plots])""".replace(
        "@RUN@", f"{RUN_SECONDS}, {MAX_UPDATES_PER_SECOND}"
    ),
]

JS_HOOK = """
() => {
  // Record, for every change of a named data source, the next animation frame's time.
  window.__bench = {events: []};
  for (const doc of window.Bokeh.documents) {
    for (const m of doc._all_models.values()) {
      if (!m.name || m.data === undefined || m.__hooked) continue;
      m.__hooked = true;
      const note = () => requestAnimationFrame(
          (t) => window.__bench.events.push([m.name, performance.now(), t]));
      for (const signal of [m.change, m.streaming, m.patching]) signal.connect(note);
    }
  }
}
"""

JS_CLICK = """
(text) => {
  const b = [...document.querySelectorAll('button.jupyter-button')]
      .find((e) => e.innerText.trim() === text);
  window.__bench.events = [];
  const t0 = performance.now();
  b.click();
  return t0;
}
"""


# Animation frames drawn so far: the ring's (plots.MOTION_JS) and the bare figure's.
JS_FRAMES = """
() => {
  const docs = [...window.Bokeh.documents];
  const ring = docs.filter((d) => d.luminous_motion !== undefined).pop();
  const bare = docs.filter((d) => d.bare_motion !== undefined).pop();
  return {ring: ring.luminous_motion.frames, bare: bare.bare_motion.frames};
}
"""
JS_BARE_MOTION = """
(on) => { for (const d of window.Bokeh.documents) if (d.bare_motion) d.bare_motion.on = on; }
"""


def events(page: Any) -> list[list[Any]]:
    result: list[list[Any]] = page.evaluate("() => window.__bench.events")
    return result


def click_latency(page: Any, text: str, names: set[str], quiet: float = 0.25) -> float | None:
    t0 = page.evaluate(JS_CLICK, text)
    deadline = time.monotonic() + 10
    seen, last_change = 0, time.monotonic()
    while time.monotonic() < deadline:
        n = len([e for e in events(page) if e[0] in names])
        if n != seen:
            seen, last_change = n, time.monotonic()
        elif n and time.monotonic() - last_change > quiet:
            break
        time.sleep(0.01)
    mine = [e for e in events(page) if e[0] in names]
    if not mine:
        return None
    return float(max(e[1] for e in mine) - t0)


def ratio_text(steps: list[float], bare: list[float]) -> str:
    if not steps or not bare:
        return "n/a"
    return f"{statistics.median(steps) / statistics.median(bare):.2f}"


def summary(values: list[float]) -> str:
    if not values:
        return "no data"
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   (n={len(values)})"


def in_browser() -> None:
    from labdriver import (
        LabPage,
        LabServer,
        launch_chromium,
        missing_requirements,
        unexpected_errors,
        write_notebook,
    )

    reason = missing_requirements()
    if reason:
        print(f"  skipped: {reason}")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "root", Path(tmp) / "work"
        root.mkdir()
        write_notebook(root / "bench.ipynb", NOTEBOOK)
        server = LabServer(root, work).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 2400})
                    lab = LabPage(page, server)
                    lab.open("bench.ipynb")
                    lab.run_all("button.jupyter-button:has-text('Bare')")
                    page.wait_for_function(
                        "() => [...(window.Bokeh?.documents ?? [])].some((d) => d.bare_motion)"
                    )
                    time.sleep(1)
                    dashboard = set(lab.sources()) - {"bare"}
                    page.evaluate(JS_HOOK)
                    # Back replaces every source: page and kernel agree from here on.
                    click_latency(page, "Back", dashboard)
                    steps, bare = [], []
                    for _ in range(CLICKS):  # interleaved, so both see the same load
                        ms = click_latency(page, "Step", dashboard)
                        if ms is not None:
                            steps.append(ms)
                        ms = click_latency(page, "Bare", {"bare"})
                        if ms is not None:
                            bare.append(ms)
                    print(f"  click Step -> render:       {summary(steps)}")
                    print(f"  bare one-point round trip:  {summary(bare)}")

                    print(f"  click ratio, medians: {ratio_text(steps, bare)} (target <= 1.5)")

                    before = page.evaluate(JS_FRAMES)
                    page.evaluate(JS_CLICK, "Run")
                    started = time.monotonic()
                    time.sleep(RUN_SECONDS)
                    frames = {e[2] for e in events(page) if e[0] in dashboard}
                    ring = page.evaluate(JS_FRAMES)["ring"] - before["ring"]
                    ring_rate = ring / (time.monotonic() - started)
                    paused = page.evaluate(JS_CLICK, "Pause")
                    time.sleep(LAG_SECONDS)
                    later = [e[1] - paused for e in events(page) if e[0] in dashboard]
                    updates = len(frames) / RUN_SECONDS
                    print(
                        f"  Run, 5 servers: {updates:.1f} kernel updates/s and {ring_rate:.1f}"
                        f" ring animation frames/s over {RUN_SECONDS:.0f} s; after Pause the"
                        f" page kept changing for {max(later, default=0.0):.0f} ms"
                        f" (watched for {LAG_SECONDS:.0f} s)"
                    )
                    page.evaluate(JS_CLICK, "Bare run")
                    time.sleep(RUN_SECONDS)
                    bare_frames = {e[2] for e in events(page) if e[0] == "bare"}
                    ceiling = len(bare_frames) / RUN_SECONDS
                    print(
                        f"  ceiling: the bare one-point plot, patched {MAX_UPDATES_PER_SECOND}"
                        f" times a second from an asyncio task in the kernel: {ceiling:.1f}"
                        " updates/s"
                    )
                    time.sleep(1)
                    page.evaluate(JS_BARE_MOTION, True)
                    before = page.evaluate(JS_FRAMES)
                    started = time.monotonic()
                    time.sleep(RUN_SECONDS)
                    moved = page.evaluate(JS_FRAMES)["bare"] - before["bare"]
                    page.evaluate(JS_BARE_MOTION, False)
                    bare_rate = moved / (time.monotonic() - started)
                    print(
                        f"  bare animation: a 400x400 figure, 20 dots moved by the browser:"
                        f" {bare_rate:.1f} frames/s"
                    )
                    print(
                        f"  RATIOS: animation {ring_rate / max(bare_rate, 1e-9):.2f}"
                        f" (ring during Run / bare, target >= 0.8);"
                        f" kernel updates {updates / max(ceiling, 1e-9):.2f}"
                        f" (Run / ceiling, target >= 0.8);"
                        f" click {ratio_text(steps, bare)} (Step / bare, target <= 1.5)"
                    )
                    errors = unexpected_errors(lab.errors)
                    if errors:
                        print(f"  browser console errors during the run: {len(errors)}, e.g.")
                        for e in sorted(set(errors))[:3]:
                            print(f"    {e[:160]}")
                finally:
                    browser.close()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the browser part")
    args = parser.parse_args()

    print(f"machine load average (1, 5, 15 min): {os.getloadavg()}")
    meter = Meter()
    meter.install()
    print("In process: bytes on the wire and Python time per Step (5 servers)")
    for entries in (100, 10_000):
        in_process(meter, entries)
    if not args.no_browser:
        print("In JupyterLab + chromium:")
        in_browser()


if __name__ == "__main__":
    main()
