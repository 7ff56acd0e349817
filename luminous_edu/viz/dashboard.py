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

The servers shown follow ``list(cluster.servers)`` at every update: a server that
joins (``cluster.add_server``) appears in every view, and one that a rewind takes back
to before it joined disappears. When the set changes the plots are built anew (a new
``BokehModel`` in the box, filled before it is shown); the old view is closed, never
sent a new render bundle (see ``bokeh_fixes``). Each server's membership (voter,
learner, removed, or its half of C_old,new during joint consensus) is written under
its role on the ring, and the status line names the configuration after a change.

Messages are labelled as the thesis names them: a pre-vote is ``pre-RV`` (thesis
§9.6), not ``RV``; TimeoutNow (§3.10) and InstallSnapshot (§7) have their own colours,
listed in the legend under the plots. A server that has compacted its log shows one
"snapshot through i (term t)" block (the ``snapshots`` source) where its compacted
cells were.
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

from ..sim.cluster import MAX_SERVER_ID
from . import bokehjs
from . import viewmodels as vm
from .bokeh_fixes import LiveBokehModel
from .palette import MESSAGE_MEANINGS, message_colour
from .plots import LOG_WINDOW, TIME_WINDOW_MS, Plots, Sizes, build

if TYPE_CHECKING:
    from ..sim import Cluster

MAX_UPDATES_PER_SECOND = 25
#: How long Run waits for the browser to acknowledge an update before it stops waiting.
BROWSER_TIMEOUT_S = 2.0
#: Run sends a new update only while fewer than this many await the browser's ack.
MAX_UPDATES_IN_FLIGHT = 2

#: The controls whose result says whether they started, and how the notice names them.
CHANGES = {
    "add_server": "Add S{sid}",
    "add_learner": "Add S{sid} as a learner",
    "promote": "Promote S{sid}",
    "remove_server": "Remove S{sid}",
    "transfer_leadership": "Transfer leadership to S{sid}",
}


def last_command(state_machine: Any) -> Any:
    """The Read button's query, on the state machine's ``snapshot()`` (a codec value):
    the last command applied when the snapshot is a list (the default state machine
    keeps every applied command), else the whole snapshot."""
    state = state_machine.snapshot()
    if isinstance(state, list):
        return state[-1] if state else None
    return state


def read_text(handle: Any) -> str:
    """What the Client tab says about a read."""
    if not handle.accepted:
        return "the last read was not accepted"
    if not handle.done:
        return "reading: the leader is confirming it still leads (a heartbeat round)…"
    if handle.error:
        return f"the read's query failed: {handle.error}"
    return f"read at index {handle.index}: {handle.value!r}"


def message_legend(font_size: str) -> str:
    """The legend of message colours and labels, as HTML."""
    items = "".join(
        f"<span style='white-space:nowrap; margin-right:10px'>"
        f"<span style='display:inline-block; width:10px; height:10px; border-radius:5px; "
        f"border:1px solid #000; background:{message_colour(label)}'></span> "
        f"<b>{html.escape(label)}</b> {html.escape(meaning)}</span> "
        for label, meaning in MESSAGE_MEANINGS
    )
    return f"<div style='font-size:{font_size}'>Messages: {items}</div>"


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
        self.cluster = cluster
        self.projector = projector
        self.max_updates_per_second = max_updates_per_second
        self.sizes = Sizes.pick(projector)
        self.ids = list(cluster.servers)
        self.plots: Plots = build(self.ids, self.sizes)
        self.sources: dict[str, ColumnDataSource] = self.plots.sources
        self._new_trackers()
        self.updates = {"full": 0, "patch": 0, "stream": 0, "rebuild": 0}
        self._seen = 0  # trace events already shown
        self._step = -1  # the step shown
        self._violations = -1
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._moving_slider = False
        self.bokeh: LiveBokehModel | None = None
        self._needs_full = False  # replace, not patch, at the next update
        self.reads: list[Any] = []  # the Read button's handles, newest last

        # Fill the sources before building the widget: the browser's first picture is
        # the model's snapshot at construction, and a view drops patches sent before
        # it exists (see bokeh_fixes).
        self._full()
        self.bokeh = LiveBokehModel(self.plots.layout)
        super().__init__(children=self._build_controls())
        self._step = cluster.step_count
        self._seen = len(cluster.trace)
        self._panels()

    def _ipython_display_(self) -> None:
        """Display BokehJS's loader (see ``bokehjs``), then the dashboard."""
        from IPython.display import display

        bokehjs.display_loader()
        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]

    def _new_trackers(self) -> None:
        """Fresh mirrors, trackers and range positions, for new plots."""
        self.mirrors = {
            "servers": vm.Mirror(vm.SERVER_COLUMNS, {}),
            "timers": vm.Mirror(vm.TIMER_COLUMNS, {}),
            "links": vm.Mirror(vm.LINK_COLUMNS, {}),
            "messages": vm.Mirror(vm.MESSAGE_COLUMNS, vm.MESSAGE_BLANK),
            "log": vm.Mirror(vm.LOG_COLUMNS, vm.LOG_BLANK),
            "markers": vm.Mirror(vm.MARKER_COLUMNS, vm.MARKER_BLANK),
            "snapshots": vm.Mirror(vm.SNAPSHOT_COLUMNS, vm.SNAPSHOT_BLANK),
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
        self._time_start = 0  # where the fixed ranges are now
        self._log_start = 0
        self._term_top = 3.5
        self._commit_top = 5.5

    def attach(self, cluster: Cluster) -> None:
        """Show another cluster (e.g. one loaded from a record) in this dashboard,
        without building a new one; the plots are rebuilt if its servers differ."""
        from ..sim import Cluster

        if not isinstance(cluster, Cluster):
            raise TypeError(f"Dashboard.attach needs a le.Cluster, not {cluster!r}")
        self.pause()
        self.cluster = cluster
        self._violations = -1
        self.flights = vm.Flights()
        self.reads = []
        self._update(full=True)

    # ------------------------------------------------------------ controls

    def _button(self, description: str, handler: Callable[..., Any], **kw: Any) -> Any:
        button = widgets.Button(description=description, **kw)
        button.style.font_size = self.sizes.normal
        button.on_click(lambda _b: handler())
        return button

    def _build_controls(self) -> list[Any]:
        normal = self.sizes.normal
        self.read_status = widgets.HTML(value="")
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

        # Per server: crash, restart, force a timeout, disconnect / connect, hand
        # leadership over; promote / remove in the Membership tab. Rebuilt when the
        # set of servers changes (_server_controls).
        self.server_buttons: dict[tuple[int, str], Any] = {}
        servers_tab = widgets.VBox([])
        self.servers_tab = servers_tab

        self.new_id = widgets.BoundedIntText(
            value=max(self.ids, default=0) + 1, min=1, max=MAX_SERVER_ID, description="server id",
            layout=widgets.Layout(width="180px"),
        )  # fmt: skip
        self.config_label = widgets.HTML(value="")
        self.member_rows = widgets.VBox([])
        membership_tab = widgets.VBox(
            [
                self.config_label,
                widgets.HBox(
                    [
                        self.new_id,
                        self._button(
                            "Add server",
                            self.on_add_server,
                            tooltip=(
                                "start a new, empty server (or take an existing one) and "
                                "make it a voter once it has caught up (thesis §4.2.1)"
                            ),
                        ),
                        self._button(
                            "Add learner",
                            self.on_add_learner,
                            tooltip=(
                                "a learner receives the log but neither votes nor counts "
                                "for commitment (thesis §4.2.1)"
                            ),
                        ),
                    ]
                ),
                self.member_rows,
            ]
        )

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
            options=[("the leader", 0)], value=0, description="to"
        )
        client_tab = widgets.VBox(
            [
                widgets.HBox(
                    [self.request, self.request_server, self._button("Propose", self.on_propose)]
                ),
                widgets.HBox(
                    [
                        self._button(
                            "Read",
                            self.on_read,
                            tooltip=(
                                "a linearizable read (ReadIndex, thesis §6.4) of the last "
                                "applied command, sent to the server chosen above"
                            ),
                        ),
                        self.read_status,
                    ]
                ),
            ]
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
        tabs = widgets.Tab(
            children=[servers_tab, network_tab, client_tab, manual_tab, membership_tab]
        )
        for k, title in enumerate(("Servers", "Network", "Client", "Manual", "Membership")):
            tabs.set_title(k, title)
        self.tabs = tabs
        tabs.observe(lambda _change: self._refresh_pending(), names="selected_index")
        self._server_controls()

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
            widgets.HTML(message_legend(self.sizes.small)),
            widgets.HBox([story, side]),
            tabs,
        ]

    def _server_controls(self) -> None:
        """The controls that name servers, for the servers shown now (``self.ids``)."""
        normal = self.sizes.normal
        small_button = widgets.Layout(width="auto")

        def button(verb: str, sid: int, description: str, tooltip: str = "") -> Any:
            b = widgets.Button(description=description, layout=small_button, tooltip=tooltip)
            b.style.font_size = normal
            b.on_click(functools.partial(self._on_server, verb, sid))
            self.server_buttons[(sid, verb)] = b
            return b

        self.server_buttons = {}
        rows, member_rows = [], []
        for sid in self.ids:
            buttons = [
                button(verb, sid, f"{verb} S{sid}")
                for verb in ("crash", "restart", "timeout", "disconnect", "connect")
            ]
            buttons.append(
                button(
                    "transfer_leadership",
                    sid,
                    f"transfer to S{sid}",
                    f"the leader brings S{sid} up to date, then sends it TimeoutNow (§3.10)",
                )
            )
            rows.append(widgets.HBox(buttons))
            member_rows.append(
                widgets.HBox(
                    [
                        button("promote", sid, f"promote S{sid}", "make a learner a voter"),
                        button(
                            "remove_server",
                            sid,
                            f"remove S{sid}",
                            "take it out of the "
                            "configuration (it keeps running until you crash it)",
                        ),
                    ]
                )
            )
        self.servers_tab.children = rows
        self.member_rows.children = member_rows
        chosen = self.request_server.value
        self.request_server.options = [("the leader", 0)] + [(f"S{i}", i) for i in self.ids]
        self.request_server.value = chosen if chosen in self.ids else 0

    def _follow_servers(self) -> bool:
        """If the cluster's servers are no longer those shown (one joined, or a rewind
        went back to before it joined), build the plots and the per-server controls
        anew and return True. The new plots are filled before their ``BokehModel``
        is built (its first picture), and that model replaces the old one in the box;
        the old one is closed. Nothing is re-sent to an existing view."""
        ids = list(self.cluster.servers)
        if ids == self.ids:
            return False
        old = self.bokeh
        flights = self.flights  # the space-time arrows so far stay (rows are by id)
        self.ids = ids
        self.plots = build(ids, self.sizes)
        self.sources = self.plots.sources
        self._new_trackers()
        self.flights = flights
        self._full()
        self.bokeh = LiveBokehModel(self.plots.layout)
        self.bokeh.track_renders = self._running  # Run's backpressure goes on (perf)
        children: tuple[Any, ...] = tuple(getattr(self, "children", ()))
        self.children = tuple(self.bokeh if child is old else child for child in children)
        if old is not None:
            old.close()
        self._server_controls()
        self.updates["rebuild"] += 1
        return True

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
        result = getattr(self.cluster, verb)(sid)
        self._update()
        if verb in CHANGES:
            self._report(verb, sid, result)

    def _report(self, verb: str, sid: int, result: Any) -> None:
        """Say whether a membership change or a transfer started, or why it did not."""
        what = CHANGES[verb].format(sid=sid)
        if result.accepted:
            self._notice(f"{what}: started.")
        else:
            self._notice(f"{what}: refused: {result.reason}.", error=True)

    def _new_server_id(self) -> int:
        value = self.new_id.value
        if type(value) is not int or not 1 <= value <= MAX_SERVER_ID:
            raise ValueError(f"server id {value!r}: give a whole number from 1 to {MAX_SERVER_ID}")
        return value

    @_guarded
    def on_add_server(self) -> None:
        self._server_action("add_server", self._new_server_id())

    @_guarded
    def on_add_learner(self) -> None:
        self._server_action("add_learner", self._new_server_id())

    @_guarded
    def on_read(self) -> None:
        server = self.request_server.value or None
        handle = self.cluster.read(last_command, server=server)
        self.reads.append(handle)
        self._update()
        if not handle.accepted:
            hint = f"; try S{handle.leader_hint}" if handle.leader_hint else ""
            self._notice(f"Read not accepted: only the leader serves reads{hint}.", error=True)

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
        cluster = self.cluster
        trace = cluster.trace
        if self._follow_servers():
            # New plots, filled when built: their view is not there yet to take more.
            self._step, self._seen = cluster.step_count, len(trace)
            self._needs_full = True
            self._panels()
            return
        if self._needs_full:
            full, self._needs_full = True, False
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
            "snapshots": vm.snapshot_rows(cluster),
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
        self._send_update("servers", m["servers"].sync(vm.server_rows(cluster)))
        self._send_update("timers", m["timers"].sync(vm.timer_rows(cluster, pending)))
        self._send_update("links", m["links"].sync(vm.link_rows(cluster)))
        self._send_update("log", m["log"].update(log_rows, log_gone))
        self._send_update("markers", m["markers"].sync(vm.marker_rows(cluster)))
        self._send_update("snapshots", m["snapshots"].sync(vm.snapshot_rows(cluster)))
        self._send_update("messages", m["messages"].sync(vm.message_rows(cluster, pending)))
        self._send_update("terms", m["terms"].update(self.terms.fold(cluster, events)))
        self._send_update("commits", m["commits"].update(self.commits.fold(cluster, events)))
        self._send_update("spacetime", m["spacetime"].update(arrows, gone))
        self._send_update("storage", m["storage"].sync(self.storage.rows(cluster)))
        self._ranges(jump=False)

    def _send_update(self, name: str, update: vm.Update) -> None:
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
        config = cluster.config
        described = "unknown (every server is down)" if config is None else config.describe()
        self.config_label.value = (
            f"<span style='font-size:{self.sizes.normal}'>Configuration (as the leader "
            f"sees it): <b>{html.escape(described)}</b></span>"
        )
        if self.reads:
            self.read_status.value = (
                f"<span style='font-size:{self.sizes.normal}'>"
                f"{html.escape(read_text(self.reads[-1]))}</span>"
            )

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
