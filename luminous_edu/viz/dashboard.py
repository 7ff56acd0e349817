"""The live dashboard: ipywidgets controls over bokeh views of a running cluster.

``Dashboard(cluster)`` is an ``ipywidgets.VBox``. Every control acts on the cluster
through its public API, then the dashboard updates its data sources: after a step or
an input, one batched ``.patch()`` and/or one ``.stream()`` per source that changed;
after a history jump (Back, the time slider, Reset, a click on a safety failure) a full
replacement. A control that fails (crash a crashed server, a bad partition, ...) shows
its error in the widget; it never raises into the notebook.

Run is an asyncio task in the kernel: at most ``max_updates_per_second`` updates, and
no more than ``MAX_UPDATES_IN_FLIGHT`` that the browser has not acknowledged yet (see
``bokeh_fixes``); each update folds the simulated time of the real time since the last.

If you drive the cluster from Python while a dashboard shows it, call
``dashboard.refresh()`` to bring the picture up to date.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from bokeh.models import ColumnDataSource

from . import viewmodels as vm
from .bokeh_fixes import LiveBokehModel, load_bokehjs
from .plots import LOG_WINDOW, TIME_WINDOW_MS, Plots, Sizes, build

if TYPE_CHECKING:
    from ..sim import Cluster

MAX_UPDATES_PER_SECOND = 25
#: How long Run waits for the browser to acknowledge an update before it stops waiting.
BROWSER_TIMEOUT_S = 2.0
#: Run sends a new update only while fewer than this many await the browser's ack.
MAX_UPDATES_IN_FLIGHT = 2


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a control's handler; show any error in the widget instead of raising."""

    @functools.wraps(method)
    def handler(self: Dashboard, *args: Any) -> Any:
        try:
            self._notice("")
            return method(self, *args)
        except Exception as error:  # a control must never break the dashboard
            self._notice(f"{type(error).__name__}: {error}", error=True)
            try:
                self._update(full=True)
            except Exception as again:  # pragma: no cover - last resort
                self._notice(f"{error} (and the display failed: {again})", error=True)
            return None

    return handler


class Dashboard(widgets.VBox):  # type: ignore[misc]
    """One widget that shows a cluster and drives it.

    ``projector=True`` uses large fonts and plots; ``speed_ms_per_s`` is how many
    virtual milliseconds Run plays per real second."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        projector: bool = False,
        speed_ms_per_s: int = 200,
        max_updates_per_second: int = MAX_UPDATES_PER_SECOND,
    ) -> None:
        from ..sim import Cluster

        if not isinstance(cluster, Cluster):
            raise TypeError(f"Dashboard needs a le.Cluster, not {cluster!r}")
        load_bokehjs(force=True)
        self.cluster = cluster
        self.projector = projector
        self.max_updates_per_second = max_updates_per_second
        self.sizes = Sizes.pick(projector)
        self.ids = list(cluster.servers)
        self.plots: Plots = build(self.ids, self.sizes)
        self.sources: dict[str, ColumnDataSource] = self.plots.sources
        self.mirrors = {
            "servers": vm.Mirror(vm.SERVER_COLUMNS, {}),
            "timers": vm.Mirror(vm.TIMER_COLUMNS, {}),
            "links": vm.Mirror(vm.LINK_COLUMNS, {}),
            "messages": vm.Mirror(vm.MESSAGE_COLUMNS, vm.MESSAGE_BLANK),
            "log": vm.Mirror(vm.LOG_COLUMNS, vm.LOG_BLANK),
            "markers": vm.Mirror(vm.MARKER_COLUMNS, vm.MARKER_BLANK),
            "terms": vm.Mirror(vm.PERIOD_COLUMNS, vm.PERIOD_BLANK),
            "commits": vm.Mirror(vm.PERIOD_COLUMNS, vm.PERIOD_BLANK),
            "spacetime": vm.Mirror(vm.SPACETIME_COLUMNS, vm.SPACETIME_BLANK),
            "storage": vm.Mirror(vm.STORAGE_COLUMNS, {}),
        }
        self.log_tracker = vm.LogTracker()
        self.flights = vm.Flights()
        self.terms = vm.Timeline("term")
        self.commits = vm.Timeline("commit")
        self.storage = vm.StorageCounts()
        self.updates = {"full": 0, "patch": 0, "stream": 0}
        self._seen = 0  # trace events already shown
        self._step = -1  # the step shown
        self._violations = -1
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._moving_slider = False
        self._time_start = 0  # where the fixed ranges are now
        self._log_start = 0
        self._term_top = 3.5
        self._commit_top = 5.5
        self.bokeh: LiveBokehModel | None = None
        self._needs_full = False  # replace, not patch, at the next update

        # Fill the sources before building the widget: the browser's first picture is
        # the model's snapshot at construction, and a view drops patches sent before
        # it exists (see bokeh_fixes).
        self._full()
        self.bokeh = LiveBokehModel(self.plots.layout)
        super().__init__(children=self._build_controls())
        self._step = cluster.step_count
        self._seen = len(cluster.trace)
        self._panels()

    def attach(self, cluster: Cluster) -> None:
        """Show another cluster with the same server ids (e.g. one loaded from a
        record) in this dashboard, without building a new one."""
        if list(cluster.servers) != self.ids:
            raise ValueError(
                f"this dashboard shows servers {self.ids}; build a new one for "
                f"{list(cluster.servers)}"
            )
        self.pause()
        self.cluster = cluster
        self._violations = -1
        self.flights = vm.Flights()
        self._update(full=True)

    # ------------------------------------------------------------ controls

    def _button(self, description: str, handler: Callable[..., Any], **kw: Any) -> Any:
        button = widgets.Button(description=description, **kw)
        button.style.font_size = self.sizes.normal
        button.on_click(lambda _b: handler())
        return button

    def _build_controls(self) -> list[Any]:
        normal = self.sizes.normal
        small_button = widgets.Layout(width="auto")
        self.step_button = self._button("Step", self.on_step, tooltip="fire the next event")
        self.back_button = self._button("Back", self.on_back, tooltip="go back one step")
        self.run_button = self._button("Run", self.on_run, tooltip="play / pause")
        self.reset_button = self._button("Reset", self.on_reset, tooltip="back to step 0")
        self.speed = widgets.IntSlider(
            value=200, min=10, max=2000, step=10, description="ms/s",
            tooltip="virtual milliseconds played per real second",
            layout=widgets.Layout(width="260px"),
        )  # fmt: skip
        self.status = widgets.HTML(value="")
        self.slider = widgets.IntSlider(
            value=0, min=0, max=0, description="history", continuous_update=False,
            layout=widgets.Layout(width="100%"),
        )  # fmt: skip
        self.slider.observe(self._on_slider, names="value")
        self.notice = widgets.HTML(value="")

        # Per server: crash, restart, force a timeout, disconnect / connect.
        rows = []
        self.server_buttons: dict[tuple[int, str], Any] = {}
        for sid in self.ids:
            buttons = []
            for verb in ("crash", "restart", "timeout", "disconnect", "connect"):
                b = widgets.Button(description=f"{verb} S{sid}", layout=small_button)
                b.style.font_size = normal
                b.on_click(functools.partial(self._on_server, verb, sid))
                self.server_buttons[(sid, verb)] = b
                buttons.append(b)
            rows.append(widgets.HBox(buttons))
        servers_tab = widgets.VBox(rows)

        self.groups = widgets.Text(value="", placeholder="e.g. 1,2 | 3,4,5", description="groups")
        partition = self._button("Partition", self.on_partition)
        heal = self._button("Heal", self.on_heal)
        network = self.cluster.network
        self.delay = widgets.IntRangeSlider(
            value=list(network.delay_ms), min=0, max=200, description="delay ms"
        )
        self.drop_rate = widgets.FloatSlider(
            value=network.drop_rate, min=0, max=1, step=0.05, description="drop rate"
        )
        self.duplicate_rate = widgets.FloatSlider(
            value=network.duplicate_rate, min=0, max=1, step=0.05, description="duplicate"
        )
        apply_network = self._button("Apply network", self.on_network)
        network_tab = widgets.VBox(
            [
                widgets.HBox([self.groups, partition, heal]),
                widgets.HBox([self.delay, self.drop_rate, self.duplicate_rate]),
                apply_network,
            ]
        )

        self.request = widgets.Text(value="x=1", description="command")
        self.request_server = widgets.Dropdown(
            options=[("the leader", 0)] + [(f"S{sid}", sid) for sid in self.ids],
            value=0,
            description="to",
        )
        client_tab = widgets.HBox(
            [self.request, self.request_server, self._button("Propose", self.on_propose)]
        )

        self.pending = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="520px"))
        self.fire_button = self._button("Fire", self.on_fire, tooltip="fire this event now")
        self.drop_button = self._button("Drop", self.on_drop, tooltip="lose this message")
        manual_tab = widgets.VBox(
            [
                widgets.HTML("Pending events, in the order they would fire. Pick one:"),
                self.pending,
                widgets.HBox([self.fire_button, self.drop_button]),
            ]
        )
        tabs = widgets.Tab(children=[servers_tab, network_tab, client_tab, manual_tab])
        for k, title in enumerate(("Servers", "Network", "Client", "Manual")):
            tabs.set_title(k, title)
        self.tabs = tabs
        tabs.observe(lambda _change: self._refresh_pending(), names="selected_index")

        self.narration = widgets.HTML(value="")
        self.safety = widgets.VBox([])
        side = widgets.VBox(
            [widgets.HTML(f"<b style='font-size:{normal}'>Safety</b>"), self.safety],
            layout=widgets.Layout(width="34%"),
        )
        story = widgets.VBox(
            [widgets.HTML(f"<b style='font-size:{normal}'>What happened</b>"), self.narration],
            layout=widgets.Layout(width="66%"),
        )
        return [
            widgets.HBox(
                [self.step_button, self.back_button, self.run_button, self.reset_button, self.speed]
            ),
            self.status,
            self.slider,
            self.notice,
            self.bokeh,
            widgets.HBox([story, side]),
            tabs,
        ]

    # ------------------------------------------------------------ handlers

    @_guarded
    def on_step(self) -> None:
        if self.cluster.step() is None:
            self._notice("Nothing is scheduled: every server is down or idle.")
        self._update()

    @_guarded
    def on_back(self) -> None:
        self.pause()
        if self.cluster.step_count == 0:
            self._notice("Already at step 0.")
            return
        self.cluster.rewind(1)
        self._update(full=True)

    @_guarded
    def on_reset(self) -> None:
        self.pause()
        self.cluster.seek(0)
        self._update(full=True)

    @_guarded
    def on_run(self) -> None:
        if self._running:
            self.pause()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._notice(
                "Run needs the notebook's event loop; use Step, or call "
                "dashboard.tick(seconds) from Python.",
                error=True,
            )
            return
        self._running = True
        self.run_button.description = "Pause"
        if self.bokeh is not None:
            self.bokeh.track_renders = True
            self.bokeh.render_applied = self.bokeh.render_sent
        self._task = loop.create_task(self._run_loop())

    def pause(self) -> None:
        self._running = False
        self.run_button.description = "Run"
        if self.bokeh is not None:
            self.bokeh.track_renders = False
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()

    async def _run_loop(self) -> None:
        """At most one screen update per ``1 / max_updates_per_second`` s, on a fixed
        beat: the time an update takes comes out of the wait, not on top of it. Before
        each update the loop also waits until the browser has applied the previous one
        (backpressure, see ``_wait_for_browser``): a slow browser gets fewer updates,
        each folding more simulated time, rather than a backlog that it would show late.
        The loop yields to the kernel (clicks, comm messages) all the while."""
        interval = 1 / self.max_updates_per_second
        last = time.monotonic()
        beat = last
        try:
            while self._running:
                beat += interval
                wait = beat - time.monotonic()
                if wait < 0:  # behind the beat: start a new one, do not catch up
                    beat, wait = time.monotonic(), 0.0
                await asyncio.sleep(wait)
                await self._wait_for_browser()
                if not self._running:
                    break
                now = time.monotonic()
                # Cap the catch-up after a stall, so the picture does not lurch.
                elapsed = min(now - last, 0.25)
                last = now
                self.tick(elapsed)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # never leave a dead Run button behind
            self._notice(f"Run stopped: {type(error).__name__}: {error}", error=True)
            self._running = False
            self.run_button.description = "Run"

    async def _wait_for_browser(self) -> None:
        """Wait until the browser has applied the latest update (it acknowledges it, see
        ``bokeh_fixes``). With no browser view, or one that stopped answering for
        ``BROWSER_TIMEOUT_S``, do not wait (until a view is heard from again)."""
        bokeh = self.bokeh
        if bokeh is None or not bokeh.heard_from_browser:
            return
        deadline = time.monotonic() + BROWSER_TIMEOUT_S
        while self._running and bokeh.in_flight >= MAX_UPDATES_IN_FLIGHT:
            if time.monotonic() >= deadline:
                bokeh.resync()
                return
            await asyncio.sleep(0.004)

    def tick(self, seconds: float) -> int:
        """One Run update: play ``seconds`` of real time at the chosen speed, then
        update the screen once. Returns the steps taken."""
        ms = max(1, round(self.speed.value * seconds))
        taken = self.cluster.run(ms)
        self._update()
        return taken

    def _on_server(self, verb: str, sid: int, _button: Any = None) -> None:
        self._server_action(verb, sid)

    @_guarded
    def _server_action(self, verb: str, sid: int) -> None:
        getattr(self.cluster, verb)(sid)
        self._update()

    @_guarded
    def on_partition(self) -> None:
        text = self.groups.value.strip()
        if not text:
            raise ValueError("write the groups, e.g. 1,2 | 3,4,5")
        groups = []
        for part in text.split("|"):
            members = [p.strip().lstrip("Ss") for p in part.replace(" ", ",").split(",")]
            groups.append({int(m) for m in members if m})
        self.cluster.partition(*groups)
        self._update()

    @_guarded
    def on_heal(self) -> None:
        self.cluster.heal()
        self._update()

    @_guarded
    def on_network(self) -> None:
        low, high = self.delay.value
        self.cluster.set_network(
            delay_ms=(int(low), int(high)),
            drop_rate=float(self.drop_rate.value),
            duplicate_rate=float(self.duplicate_rate.value),
        )
        self._update()

    @_guarded
    def on_propose(self) -> None:
        server = self.request_server.value or None
        result = self.cluster.propose(self.request.value, server=server)
        self._update()
        if result.accepted:
            self._notice(f"Accepted at index {result.index} in term {result.term}.")
        else:
            hint = f"; try S{result.leader_hint}" if result.leader_hint else ""
            self._notice(f"Not accepted: no live leader took it{hint}.", error=True)

    @_guarded
    def on_fire(self) -> None:
        if self.pending.value is None:
            raise ValueError("pick a pending event first (Manual tab)")
        self.cluster.fire(self.pending.value)
        self._update()

    @_guarded
    def on_drop(self) -> None:
        if self.pending.value is None:
            raise ValueError("pick a pending message first (Manual tab)")
        self.cluster.drop(self.pending.value)
        self._update()

    @_guarded
    def seek(self, step: int) -> None:
        self.pause()
        self.cluster.seek(step)
        self._update(full=True)

    def _on_slider(self, change: dict[str, Any]) -> None:
        if not self._moving_slider and change["new"] != self.cluster.step_count:
            self.seek(int(change["new"]))

    # ------------------------------------------------------------- drawing

    def refresh(self) -> None:
        """Bring the picture up to date after driving the cluster from code.

        A refresh from code replaces the data rather than patching it: during "Run
        All" the browser may not have drawn the dashboard yet, and a view drops what
        reaches it before it exists. The next update after it replaces the data too,
        so a view drawn late is never patched out of step (see ``bokeh_fixes``)."""
        self._update(full=True)
        self._needs_full = True

    def _update(self, full: bool = False) -> None:
        """Bring the picture up to date with the cluster: incrementally if the cluster
        only moved forward since the last update, else by replacing everything.

        Every bokeh change of one update goes to the browser as one PATCH-DOC, and
        the widgets' changes as one state update each (see ``_one_message``)."""
        if self._needs_full:
            full, self._needs_full = True, False
        cluster = self.cluster
        trace = cluster.trace
        with self._one_message():
            if full or cluster.step_count < self._step or len(trace) < self._seen:
                self._full()
            else:
                self._incremental()
            self._step = cluster.step_count
            self._seen = len(trace)
            self._panels()

    @contextlib.contextmanager
    def _one_message(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            if self.bokeh is not None:
                stack.enter_context(self.bokeh.batch())
            yield

    def _full(self) -> None:
        cluster = self.cluster
        pending = cluster.pending()
        self.flights.reset(cluster, pending)
        self.terms.reset(cluster)
        self.commits.reset(cluster)
        self.storage.reset(cluster)
        tables: dict[str, Mapping[Any, vm.Row]] = {
            "servers": vm.server_rows(cluster),
            "timers": vm.timer_rows(cluster, pending),
            "links": vm.link_rows(cluster),
            "log": self.log_tracker.reset(cluster),
            "markers": vm.marker_rows(cluster),
            "messages": vm.message_rows(cluster, pending),
            "terms": self.terms.rows,
            "commits": self.commits.rows,
            "spacetime": self.flights.arrows,
            "storage": self.storage.rows(cluster, flash=False),
        }
        for name, rows in tables.items():
            self.sources[name].data = self.mirrors[name].full(rows)
        self.updates["full"] += 1
        self._ranges(jump=True)

    def _incremental(self) -> None:
        cluster = self.cluster
        events = cluster.trace[self._seen :]
        pending = cluster.pending()
        arrows, gone = self.flights.observe(cluster, pending, events)
        log_rows, log_gone = self.log_tracker.changes(cluster, events)
        self.storage.fold(events)
        m = self.mirrors
        self._send("servers", m["servers"].sync(vm.server_rows(cluster)))
        self._send("timers", m["timers"].sync(vm.timer_rows(cluster, pending)))
        self._send("links", m["links"].sync(vm.link_rows(cluster)))
        self._send("log", m["log"].update(log_rows, log_gone))
        self._send("markers", m["markers"].sync(vm.marker_rows(cluster)))
        self._send("messages", m["messages"].sync(vm.message_rows(cluster, pending)))
        self._send("terms", m["terms"].update(self.terms.fold(cluster, events)))
        self._send("commits", m["commits"].update(self.commits.fold(cluster, events)))
        self._send("spacetime", m["spacetime"].update(arrows, gone))
        self._send("storage", m["storage"].sync(self.storage.rows(cluster)))
        self._ranges(jump=False)

    def _send(self, name: str, update: vm.Update) -> None:
        source = self.sources[name]
        if update.patches:
            source.patch(update.patches)
            self.updates["patch"] += 1
        if update.stream and any(update.stream.values()):
            stream: dict[str, Any] = dict(update.stream)
            source.stream(stream)
            self.updates["stream"] += 1

    def _ranges(self, jump: bool) -> None:
        """Move the fixed ranges when the data outgrow them, in chunks, so that this is
        rare: the time window follows the current time (kept between 10% and 90% of
        the window, moved to 40% in steps of 100 ms)."""
        cluster = self.cluster
        plots = self.plots
        now, window = cluster.now, TIME_WINDOW_MS
        start = self._time_start
        if now > start + 0.9 * window or (jump and now < start + 0.1 * window):
            start = max(0, (now - 4 * window // 10) // 100 * 100)
            if start != self._time_start:
                self._time_start = start
                plots.time_range.update(start=start, end=start + window)
        last = max((cluster.servers[s].last_log_index for s in self.ids), default=0)
        first = self._log_start
        if last > first + LOG_WINDOW or (jump and last < first):
            first = max(0, last - LOG_WINDOW + 4)
            self._log_start = first
            plots.log_range.update(start=first + 0.5, end=first + LOG_WINDOW + 0.5)
        top_term = max(cluster.servers[s].current_term for s in self.ids)
        if top_term > self._term_top - 0.7:
            self._term_top = top_term + 3.5
            plots.term_range.end = self._term_top
        top_commit = max(cluster.servers[s].commit_index for s in self.ids)
        if top_commit > self._commit_top - 0.7:
            self._commit_top = top_commit + max(5, top_commit // 2) + 0.5
            plots.commit_range.end = self._commit_top

    def _panels(self) -> None:
        cluster = self.cluster
        size = self.sizes.large
        self.status.value = (
            f"<span style='font-size:{size}'><b>{html.escape(vm.status_text(cluster))}</b></span>"
        )
        self._moving_slider = True
        try:
            with self.slider.hold_sync():  # max and value in one message
                self.slider.max = cluster.history_length
                self.slider.value = cluster.step_count
        finally:
            self._moving_slider = False
        lines = []
        for line in vm.narration(cluster, last=8):
            lines.append(
                f"<div><code>step {line.step} t={line.time}</code> "
                f"<b>[{html.escape(line.kind)} · {html.escape(line.rule)}]</b> "
                f"{html.escape(line.sentence)}</div>"
            )
        self.narration.value = (
            f"<div style='font-size:{self.sizes.normal}; line-height:1.35'>"
            + "".join(lines)
            + "</div>"
        )
        count = len(cluster.violations)
        if count != self._violations:
            self._violations = count
            self.safety.children = self._safety_rows()
        self._refresh_pending()
        for sid in self.ids:
            alive = cluster.servers[sid].alive
            self.server_buttons[(sid, "crash")].disabled = not alive
            self.server_buttons[(sid, "restart")].disabled = alive
            self.server_buttons[(sid, "timeout")].disabled = not alive

    def _safety_rows(self) -> list[Any]:
        rows: list[Any] = []
        size = self.sizes.normal
        for row in vm.safety_rows(self.cluster):
            mark = "✔" if row.ok else "✘"
            colour = "#009E73" if row.ok else "#D55E00"
            label = widgets.HTML(
                f"<span style='font-size:{size}' title='{html.escape(row.statement)}'>"
                f"<b style='color:{colour}'>{mark}</b> {html.escape(row.property)}</span>"
            )
            if row.ok or row.first_step is None:
                rows.append(label)
                continue
            go = widgets.Button(
                description=f"go to step {row.first_step}",
                tooltip=row.detail,
                layout=widgets.Layout(width="auto"),
            )
            go.on_click(functools.partial(self._go_to, row.first_step))
            rows.append(widgets.HBox([label, go]))
        return rows

    def _go_to(self, step: int, _button: Any = None) -> None:
        self.seek(step)

    def _refresh_pending(self) -> None:
        if self.tabs.selected_index != 3:  # the Manual tab is hidden: save the work
            return
        events = self.cluster.pending()
        self.pending.options = [(f"#{e.id} t={e.due}: {e.describe()}", e.id) for e in events]

    def _notice(self, text: str, error: bool = False) -> None:
        if not text:
            self.notice.value = ""
            return
        colour = "#D55E00" if error else "#0072B2"
        self.notice.value = (
            f"<span style='color:{colour}; font-size:{self.sizes.normal}'>"
            f"{html.escape(text)}</span>"
        )

    @property
    def last_notice(self) -> str:
        """The message shown under the controls, as plain text."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self.notice.value))
