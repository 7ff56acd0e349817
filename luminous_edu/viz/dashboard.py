"""The live dashboard: ipywidgets controls over bokeh views of a running cluster.

``Dashboard(cluster)`` is an ``ipywidgets.VBox``, laid out to fit one screen (DESIGN.md,
"The dashboard"; 1280x720 with ``projector=True``, 1366x768 without, in JupyterLab with
its file browser open), top to bottom:

- the controls (CSS class ``luminous-controls``): Step, Back, Run/Pause, Reset, the
  speed of Run and the history slider;
- the status line (``luminous-status``): step, virtual time, every server that believes
  it leads, a broken safety property, and the error of the controls above, if any;
- the ring (``luminous-ring``) and the log matrix (``luminous-log``) side by side; the
  log matrix takes the rest of the width, and shows as many indexes as fit;
- the latest trace sentences (``luminous-narration``);
- tabs with the other views and controls, chosen with ``panels=[...]`` (``PANELS``; the
  first is open at the start): the timelines, the space-time diagram, the storage
  table, the Safety panel, and the Servers, Network, Client, Manual and Membership
  controls. A control in a tab shows its error next to itself, in that tab.

The root carries the class ``luminous-dashboard`` (and ``luminous-projector`` with
``projector=True``, which scales every font: buttons, sliders, tabs, the pending list).
Displaying it displays BokehJS's loader first (``bokehjs``).

Every control acts on the cluster through its public API, then the dashboard updates
its data sources: after a step or an input, one batched ``.patch()`` and/or one
``.stream()`` per source that changed; after a jump (Back, the slider, Reset, a click on
a safety failure, ``seek``, ``refresh()``, ``attach()``) everything is replaced and the
space-time history is rebuilt from the recorded steps (``flights``). A control that
fails shows its error in the widget; it never raises into the notebook. The bokeh views
of a tab are built when the tab is first opened and updated only while it is open;
opening it again brings it up to date.

Between two updates the browser animates the ring itself (``plots.MOTION_JS``): the
kernel sends the messages' send and arrival times and the timers' due times.

Run is an asyncio task in the kernel: at most ``max_updates_per_second`` updates, and
no more than ``MAX_UPDATES_IN_FLIGHT`` that the browser has not acknowledged yet (see
``bokeh_fixes``); each update plays the simulated time of the real time since the last,
one step at a time, so that every message sent and delivered in between is seen.

If you drive the cluster from Python while a dashboard shows it, call
``dashboard.refresh()`` to bring the picture up to date.

``dashboard.listeners`` is a list of callables, each called with the dashboard after
every update of the picture (a step, a jump, each update of Run, ``refresh()``): how
another widget follows the state shown (``KVView`` moves its history's time cursor to
the group's ``now``). A listener that raises shows its error under the controls.

The servers shown follow ``list(cluster.servers)`` at every update: a server that
joins (``cluster.add_server``) appears in every view, and one that a rewind takes back
to before it joined disappears. When the set changes the bokeh views are built anew
(new ``BokehModel`` widgets, filled before they are shown); the old ones are closed,
never sent a new render bundle (see ``bokeh_fixes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..sim.cluster import MAX_SERVER_ID
from . import viewmodels as vm
from .bokeh_fixes import LiveBokehModel
from .bokehjs import LoadsBokehJS
from .flights import MESSAGE_BLANK, SPACETIME_BLANK, MessageHistory
from .plots import BUILDERS, LOG_WINDOW, Sizes, View
from .timeaxis import AXES, WINDOWS, TimeAxis

if TYPE_CHECKING:
    from bokeh.models import ColumnDataSource

    from ..sim import Cluster

MAX_UPDATES_PER_SECOND = 25
#: How long Run waits for the browser to acknowledge an update before it stops waiting.
BROWSER_TIMEOUT_S = 2.0
#: Run sends a new update only while fewer than this many await the browser's ack.
MAX_UPDATES_IN_FLIGHT = 3
#: During Run the open tab's plots (timelines, space-time, storage), the history slider,
#: the narration and the tabs' widgets are updated at most this often (the ring, the log
#: and the status line at every update): the page has less to redraw.
PANEL_INTERVAL_S = 0.25

#: The panels under the picture, in their default order (the first is open at first).
PANELS = (
    "timelines",
    "spacetime",
    "storage",
    "safety",
    "servers",
    "network",
    "client",
    "manual",
    "membership",
)
TITLES = {
    "timelines": "Timelines",
    "spacetime": "Space-time",
    "storage": "Storage",
    "safety": "Safety",
    "servers": "Servers",
    "network": "Network",
    "client": "Client",
    "manual": "Manual",
    "membership": "Membership",
}
#: The panels drawn by bokeh (built when first opened); the ring and the log always are.
PLOT_PANELS = ("timelines", "spacetime", "storage")
#: The bokeh views whose x axis is time or steps (``timeaxis``).
TIME_VIEWS = ("timelines", "spacetime")

#: The controls whose result says whether they started, and how the notice names them.
CHANGES = {
    "add_server": "Add S{sid}",
    "add_learner": "Add S{sid} as a learner",
    "promote": "Promote S{sid}",
    "remove_server": "Remove S{sid}",
    "transfer_leadership": "Transfer leadership to S{sid}",
}
#: Where each per-server control sits, so that its error shows next to it.
MEMBERSHIP_VERBS = ("add_server", "add_learner", "promote", "remove_server")

#: Styles for the widgets (ipywidgets reads its sizes from CSS variables): projector
#: mode scales every font, tabs, slider labels and the pending list included.
STYLE = """
<style>
.luminous-dashboard {
  --jp-widgets-font-size: 12px;
  --jp-widgets-horizontal-tab-width: auto;
}
.luminous-dashboard.luminous-projector {
  --jp-widgets-font-size: 18px;
  --jp-widgets-inline-height: 34px;
  --jp-widgets-inline-label-width: 96px;
  --jp-widgets-slider-handle-size: 18px;
  --jp-widgets-horizontal-tab-height: 32px;
}
.luminous-dashboard .lm-TabBar-tab, .luminous-dashboard .jupyter-button,
.luminous-dashboard select, .luminous-dashboard input, .luminous-dashboard option,
.luminous-dashboard .widget-readout, .luminous-dashboard .widget-label {
  font-size: var(--jp-widgets-font-size);
}
.luminous-dashboard .luminous-controls .jupyter-button { padding: 0 0.9em; }
.luminous-dashboard .luminous-status .widget-html-content,
.luminous-dashboard .luminous-notice .widget-html-content { line-height: 1.3; }
.luminous-narration { overflow: hidden; }
.luminous-narration .widget-html-content {
  line-height: 1.35; min-width: 0; flex: 1 1 auto; overflow: hidden;
}
.luminous-narration .luminous-line {
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.luminous-narration .luminous-step { color: #666666; font-size: 85%; }
</style>
"""


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


def check_panels(panels: Sequence[str]) -> tuple[str, ...]:
    """``panels`` as a tuple, or a ValueError that names what is wrong."""
    if isinstance(panels, str) or not all(isinstance(p, str) for p in panels):
        raise ValueError(f"panels={panels!r}: give a list of panel names, e.g. {list(PANELS[:3])}")
    unknown = [p for p in panels if p not in PANELS]
    if unknown:
        raise ValueError(f"panels: unknown {unknown}; choose from {list(PANELS)}")
    if len(set(panels)) != len(panels):
        raise ValueError(f"panels={list(panels)!r}: each panel at most once")
    return tuple(panels)


def _guarded(area: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a control's handler; show any error next to the control (in ``area``)
    instead of raising."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def handler(self: Dashboard, *args: Any) -> Any:
            return self._guard(area, method, self, *args)

        return handler

    return decorate


class Dashboard(LoadsBokehJS, widgets.VBox):  # type: ignore[misc]
    """One widget that shows a cluster and drives it.

    ``projector=True`` uses large fonts; ``panels`` chooses the tabs under the picture
    (``PANELS``, the first open at the start); ``speed_ms_per_s`` is how many virtual
    milliseconds Run plays per real second."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        projector: bool = False,
        panels: Sequence[str] = PANELS,
        speed_ms_per_s: int = 200,
        max_updates_per_second: int = MAX_UPDATES_PER_SECOND,
    ) -> None:
        from ..sim import Cluster

        if not isinstance(cluster, Cluster):
            raise TypeError(f"Dashboard needs a le.Cluster, not {cluster!r}")
        self.panels = check_panels(panels)
        self.cluster = cluster
        self.projector = projector
        self.max_updates_per_second = max_updates_per_second
        self.sizes = Sizes.pick(projector)
        self.ids = list(cluster.servers)
        self.updates = {"full": 0, "patch": 0, "stream": 0, "rebuild": 0}
        self.reads: list[Any] = []  # the Read button's handles, newest last
        self.listeners: list[Callable[[Dashboard], None]] = []  # see the module docstring
        self.axis = TimeAxis()
        self.history = MessageHistory()
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._moving_slider = False
        self._needs_full = False  # replace, not patch, at the next update
        self._jumps = 0  # full updates so far: the browser snaps to the state after one
        self._violations = -1
        self._last_notice = ""
        self._log_cells = LOG_WINDOW
        self._view_seen: dict[str, int] = {}  # trace events each view has folded
        self._panel_shown = 0.0  # when the open tab's plots were last updated
        self._widgets_shown = 0.0  # when the slider, narration and tabs were
        self.views: dict[str, View] = {}
        self.models: dict[str, LiveBokehModel] = {}
        self._stale: set[str] = set()  # built views to fill before they are shown again
        self._new_trackers()
        self.open_panel = self.panels[0] if self.panels else None
        children = self._build_widgets(speed_ms_per_s)
        # Fill the views before building their widgets: the browser's first picture is
        # the model's snapshot at construction, and a view drops patches sent before it
        # exists (see bokeh_fixes).
        self._step, self._seen = cluster.step_count, len(cluster.trace)
        self._build_views(["ring", "log", *self._open_plot()])
        classes = ["luminous-dashboard"] + (["luminous-projector"] if projector else [])
        super().__init__(children=children, _dom_classes=classes)
        self._place_models()
        self._panels()

    # ------------------------------------------------------------- displaying

    @property
    def bokeh(self) -> LiveBokehModel | None:
        """The ring's bokeh widget (the one whose renders Run waits for)."""
        return self.models.get("ring")

    @property
    def sources(self) -> dict[str, ColumnDataSource]:
        """Every named data source of the bokeh views built so far."""
        return {name: s for view in self.views.values() for name, s in view.sources.items()}

    def _new_trackers(self) -> None:
        """Fresh mirrors and trackers, for new views."""
        blanks = {
            "messages": MESSAGE_BLANK,
            "log": vm.LOG_BLANK,
            "markers": vm.MARKER_BLANK,
            "snapshots": vm.SNAPSHOT_BLANK,
            "terms": vm.PERIOD_BLANK,
            "commits": vm.PERIOD_BLANK,
            "spacetime": SPACETIME_BLANK,
        }
        self._blanks = blanks
        self.mirrors: dict[str, vm.Mirror] = {}
        self.log_tracker = vm.LogTracker()
        self.terms = vm.Timeline("term")
        self.commits = vm.Timeline("commit")
        self.storage = vm.StorageCounts()
        self._log_start = 0
        self._term_top = 3.5
        self._commit_top = 5.5

    def attach(self, cluster: Cluster) -> None:
        """Show another cluster (e.g. one loaded from a record) in this dashboard,
        without building a new one; the views are rebuilt if its servers differ."""
        from ..sim import Cluster

        if not isinstance(cluster, Cluster):
            raise TypeError(f"Dashboard.attach needs a le.Cluster, not {cluster!r}")
        self.pause()
        self.cluster = cluster
        self._violations = -1
        self.reads = []
        if "network" in self._built:  # the Network tab shows this cluster's network
            network = cluster.network
            self.delay.value = list(network.delay_ms)
            self.drop_rate.value = network.drop_rate
            self.duplicate_rate.value = network.duplicate_rate
        self._update(full=True)

    # ------------------------------------------------------------- bokeh views

    def _open_plot(self) -> list[str]:
        return [self.open_panel] if self.open_panel in PLOT_PANELS else []

    def _visible(self) -> list[str]:
        return [name for name in ("ring", "log", *self._open_plot()) if name in self.views]

    def _build_views(self, names: list[str]) -> None:
        """Build the bokeh views ``names`` for the servers shown, fill them, and make
        their widgets (not yet placed in the layout)."""
        for name in names:
            view = BUILDERS[name](self.ids, self.sizes)
            self.views[name] = view
            for source in view.sources:
                blank = self._blanks.get(source, {})
                columns = tuple(view.sources[source].data)
                self.mirrors[source] = vm.Mirror(columns, blank)
            if name in TIME_VIEWS:
                self._set_x_fields(view)
        self._fill(names, jump=True)
        for name in names:
            old = self.models.get(name)
            model = LiveBokehModel(self.views[name].root)
            model.add_class(f"luminous-{name}")
            model.track_renders = self._running
            if name == "ring":
                model.layout = widgets.Layout(width=f"{self.sizes.ring + 4}px", flex="0 0 auto")
            elif name == "log":  # the rest of the width, as many indexes as fit in it
                model.layout = widgets.Layout(flex="1 1 300px", min_width="260px")
                self.views["log"].figures["log"].on_change("inner_width", self._on_log_width)
            self.models[name] = model
            self._stale.discard(name)
            if old is not None:
                self._replace(old, model)

    def _replace(self, old: Any, new: Any) -> None:
        """Put widget ``new`` where ``old`` is shown, then close ``old``."""
        for box in (self.picture, *self.panel_boxes.values()):
            if old in box.children:
                box.children = tuple(new if child is old else child for child in box.children)
        old.close()

    def _place_models(self) -> None:
        """Put the first views' widgets in their places (ring and log, the open tab)."""
        self.picture.children = (self.models["ring"], self.models["log"])
        for name in PLOT_PANELS:
            if name in self.models and name in self.panel_boxes:
                self._place_panel_model(name)

    def _place_panel_model(self, name: str) -> None:
        """Tab ``name`` shows its bokeh widget (under the axis controls of a time view)."""
        box = self.panel_boxes[name]
        keep = box.children[:1] if name in TIME_VIEWS else ()
        box.children = (*keep, self.models[name])

    def _follow_servers(self) -> bool:
        """If the cluster's servers are no longer those shown (one joined, or a rewind
        went back to before it joined), build the views and the per-server controls
        anew and return True. The new views are filled before their ``BokehModel`` is
        built (its first picture), and replace the old ones, which are closed."""
        ids = list(self.cluster.servers)
        if ids == self.ids:
            return False
        self.ids = ids
        self._new_trackers()
        built = list(self.views)
        self.views = {}
        self._step, self._seen = self.cluster.step_count, len(self.cluster.trace)
        self._build_views(built)  # the new widgets take the old ones' places
        self._server_controls()
        self.updates["rebuild"] += 1
        return True

    def _on_log_width(self, _attr: str, _old: Any, new: Any) -> None:
        """The browser laid the log matrix out ``new`` px wide: show as many indexes as
        fit cells of at least ``sizes.log_cell`` px."""
        if not isinstance(new, int) or new <= 0:
            return
        cells = max(6, min(60, new // self.sizes.log_cell))
        if cells != self._log_cells:
            self._log_cells = cells
            self._log_range(jump=True)

    def _set_x_fields(self, view: View) -> None:
        """Draw ``view`` over virtual time or over steps, as the time axis says."""
        view.unit = self.axis.unit
        step = view.unit == "step"
        for glyph, attr, time_field, step_field in view.x_fields:
            setattr(glyph, attr, step_field if step else time_field)
        label = "step" if step else "virtual time (ms)"
        for fig in view.figures.values():
            fig.xaxis.axis_label = label

    # ------------------------------------------------------------------ widgets

    def _button(self, description: str, handler: Callable[..., Any], **kw: Any) -> Any:
        kw.setdefault("layout", widgets.Layout(width="auto"))
        button = widgets.Button(description=description, **kw)
        button.on_click(lambda _b: handler())
        return button

    def _notice_box(self, area: str) -> Any:
        box = widgets.HTML(value="")
        box.add_class("luminous-notice")
        self.notices[area] = box
        return box

    def _build_widgets(self, speed_ms_per_s: int) -> list[Any]:
        sizes = self.sizes
        self.notices: dict[str, Any] = {}
        self.step_button = self._button("Step", self.on_step, tooltip="fire the next event")
        self.back_button = self._button("Back", self.on_back, tooltip="go back one step")
        wide = widgets.Layout(width="auto", min_width="5em")  # "Pause" is longer
        self.run_button = self._button("Run", self.on_run, tooltip="play / pause", layout=wide)
        self.reset_button = self._button("Reset", self.on_reset, tooltip="back to step 0")
        self.speed = widgets.IntSlider(
            value=speed_ms_per_s, min=10, max=2000, step=10, description="ms/s",
            tooltip="virtual milliseconds Run plays per real second",
            layout=widgets.Layout(width=f"{sizes.px(230)}px"),
            style={"description_width": "auto"},
        )  # fmt: skip
        self.slider = widgets.IntSlider(
            value=0, min=0, max=0, description="history", continuous_update=False,
            layout=widgets.Layout(flex="1 1 160px", min_width="140px"),
            style={"description_width": "auto"},
        )  # fmt: skip
        self.slider.observe(self._on_slider, names="value")
        controls = widgets.HBox(
            [
                self.step_button,
                self.back_button,
                self.run_button,
                self.reset_button,
                self.speed,
                self.slider,
            ],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center", width="100%"),
        )
        controls.add_class("luminous-controls")
        self.status = widgets.HTML(value="")
        self.status.add_class("luminous-status")
        status_row = widgets.HBox(
            [self.status, self._notice_box("main")],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.picture = widgets.HBox(
            [], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%")
        )
        self.narration = widgets.HTML(value="")
        self.narration.add_class("luminous-narration")

        # The tabs' contents are built when a tab is first opened (``_ensure_panel``):
        # most of a dashboard's widgets are there, and a saved notebook keeps the state
        # of every widget built (lesson 04 shows six dashboards).
        self._makers: dict[str, Callable[[], list[Any]]] = {
            "timelines": self._time_panel,
            "spacetime": self._time_panel,
            "storage": list,
            "safety": self._safety_panel,
            "servers": self._servers_panel,
            "network": self._network_panel,
            "client": self._client_panel,
            "manual": self._manual_panel,
            "membership": self._membership_panel,
        }
        self._built: set[str] = set()
        self.server_buttons: dict[tuple[int, str], Any] = {}
        self.panel_boxes = {name: widgets.VBox([]) for name in self.panels}
        self.tabs = widgets.Tab(
            children=[self.panel_boxes[name] for name in self.panels],
            titles=[TITLES[name] for name in self.panels],
        )
        self.tabs.observe(self._on_tab, names="selected_index")
        if self.open_panel is not None:
            self._ensure_panel(self.open_panel)
        style = widgets.HTML(STYLE, layout=widgets.Layout(height="0px", margin="0px"))
        children = [style, controls, status_row, self.picture, self.narration]
        if self.panels:
            children.append(self.tabs)
        return children

    def _ensure_panel(self, name: str) -> None:
        """Build the contents of tab ``name`` if they are not built yet."""
        if name in self._built:
            return
        self._built.add(name)
        self.panel_boxes[name].children = self._makers[name]()
        if name in ("servers", "membership", "client"):
            self._server_controls()

    def _time_panel(self) -> list[Any]:
        """The x axis of the timelines and the space-time diagram (``timeaxis``): one set
        of controls, shown in both panels."""
        if not hasattr(self, "axis_row"):
            self.axis_choice = widgets.Dropdown(
                options=list(AXES), value=self.axis.axis, description="x axis",
                tooltip="auto: steps when the virtual time stands still (manual scheduling)",
                layout=widgets.Layout(width="auto"),
            )  # fmt: skip
            self.window_choice = widgets.Dropdown(
                options=[(label, k) for k, (label, _ms, _steps) in enumerate(WINDOWS)],
                value=self.axis.window, description="window",
                layout=widgets.Layout(width="auto"),
            )  # fmt: skip
            self.pin = widgets.ToggleButton(
                value=self.axis.pinned, description="pin", tooltip="keep the window where "
                "it is while the cluster moves on (a jump elsewhere still brings it along)",
            )  # fmt: skip
            for control in (self.axis_choice, self.window_choice, self.pin):
                control.observe(lambda _change: self._on_axis(), names="value")
            self.axis_row = widgets.HBox([self.axis_choice, self.window_choice, self.pin])
        return [self.axis_row]

    def _safety_panel(self) -> list[Any]:
        self._violations = len(self.cluster.violations)
        self.safety = widgets.VBox(self._safety_rows())
        return [
            widgets.HTML(
                "The five properties of the paper's Figure 3, and Durability, checked after "
                "every step; a failure offers to go to its step."
            ),
            self.safety,
        ]

    def _servers_panel(self) -> list[Any]:
        self.servers_tab = widgets.VBox([])
        return [self._notice_box("servers"), self.servers_tab]

    def _network_panel(self) -> list[Any]:
        self.groups = widgets.Text(value="", placeholder="e.g. 1,2 | 3,4,5", description="groups")
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
        return [
            widgets.HBox(
                [
                    self.groups,
                    self._button("Partition", self.on_partition),
                    self._button("Heal", self.on_heal),
                ]
            ),
            widgets.HBox(
                [
                    self.delay,
                    self.drop_rate,
                    self.duplicate_rate,
                    self._button("Apply network", self.on_network),
                ],
                layout=widgets.Layout(flex_flow="row wrap"),
            ),
            self._notice_box("network"),
        ]

    def _client_panel(self) -> list[Any]:
        self.request = widgets.Text(value="x=1", description="command")
        self.request_server = widgets.Dropdown(
            options=[("the leader", 0)], value=0, description="to"
        )
        self.read_status = widgets.HTML(value="")
        read = self._button(
            "Read",
            self.on_read,
            tooltip="a linearizable read (ReadIndex, thesis §6.4) of the last applied "
            "command, sent to the server chosen above",
        )
        return [
            widgets.HBox(
                [self.request, self.request_server, self._button("Propose", self.on_propose)]
            ),
            widgets.HBox([read, self.read_status]),
            self._notice_box("client"),
        ]

    def _manual_panel(self) -> list[Any]:
        self.pending = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="100%"))
        self.fire_button = self._button("Fire", self.on_fire, tooltip="fire this event now")
        self.drop_button = self._button("Drop", self.on_drop, tooltip="lose this message")
        return [
            widgets.HTML("Pending events, in the order they would fire. Pick one:"),
            self.pending,
            widgets.HBox(
                [self.fire_button, self.drop_button, self._notice_box("manual")],
                layout=widgets.Layout(align_items="center"),
            ),
        ]

    def _membership_panel(self) -> list[Any]:
        self.config_label = widgets.HTML(value="")
        self.member_rows = widgets.VBox([])
        self.new_id = widgets.BoundedIntText(
            value=max(self.ids, default=0) + 1, min=1, max=MAX_SERVER_ID, description="server id",
            layout=widgets.Layout(width="auto"),
        )  # fmt: skip
        add = self._button(
            "Add server",
            self.on_add_server,
            tooltip="start a new, empty server (or take an existing one) and make it a "
            "voter once it has caught up (thesis §4.2.1)",
        )
        learner = self._button(
            "Add learner",
            self.on_add_learner,
            tooltip="a learner receives the log but neither votes nor counts for "
            "commitment (thesis §4.2.1)",
        )
        return [
            self.config_label,
            widgets.HBox([self.new_id, add, learner]),
            self._notice_box("membership"),
            self.member_rows,
        ]

    def _server_controls(self) -> None:
        """The controls that name servers, for the servers shown now (``self.ids``), in
        the tabs built so far."""
        small_button = widgets.Layout(width="auto")  # one layout for all of them

        def button(verb: str, sid: int, description: str, tooltip: str = "") -> Any:
            b = widgets.Button(description=description, layout=small_button, tooltip=tooltip)
            b.on_click(functools.partial(self._on_server, verb, sid))
            self.server_buttons[(sid, verb)] = b
            return b

        self.server_buttons = {}
        if "servers" in self._built:
            rows = []
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
                rows.append(widgets.HBox(buttons, layout=widgets.Layout(flex_flow="row wrap")))
            self.servers_tab.children = rows
        if "membership" in self._built:
            self.member_rows.children = [
                widgets.HBox(
                    [
                        button("promote", sid, f"promote S{sid}", "make a learner a voter"),
                        button(
                            "remove_server",
                            sid,
                            f"remove S{sid}",
                            "take it out of the configuration (it keeps running until you "
                            "crash it)",
                        ),
                    ]
                )
                for sid in self.ids
            ]
        if "client" in self._built:
            chosen = self.request_server.value
            self.request_server.options = [("the leader", 0)] + [(f"S{i}", i) for i in self.ids]
            self.request_server.value = chosen if chosen in self.ids else 0
        self._panels_widgets()

    # ------------------------------------------------------------ handlers

    def _guard(self, area: str, method: Callable[..., Any], *args: Any) -> Any:
        """Run a control's handler; show any error next to it (in ``area``). The main
        controls (Step, Back, Run, Reset, the slider) move the whole cluster on: they
        clear every notice, the others only their own."""
        try:
            for where in list(self.notices) if area == "main" else [area]:
                if where in self.notices:
                    self._notice("", area=where)
            return method(*args)
        except Exception as error:  # a control must never break the dashboard
            self._notice(f"{type(error).__name__}: {error}", error=True, area=area)
            try:
                self._update(full=True)
            except Exception as again:  # pragma: no cover - last resort
                self._notice(f"{error} (and the display failed: {again})", error=True, area=area)
            return None

    @_guarded("main")
    def on_step(self) -> None:
        if self.cluster.step() is None:
            self._notice("Nothing is scheduled: every server is down or idle.")
        self._update()

    @_guarded("main")
    def on_back(self) -> None:
        self.pause()
        if self.cluster.step_count == 0:
            self._notice("Already at step 0.")
            return
        self.cluster.rewind(1)
        self._update(full=True)

    @_guarded("main")
    def on_reset(self) -> None:
        self.pause()
        self.cluster.seek(0)
        self._update(full=True)

    @_guarded("main")
    def on_run(self) -> None:
        if self._running:
            self.pause()
            self._update()  # the browser's clock stops where the kernel's did
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
        for model in self.models.values():
            model.track_renders = True
            model.render_applied = model.render_sent
        self._task = loop.create_task(self._run_loop())

    def pause(self) -> None:
        self._running = False
        self.run_button.description = "Run"
        for model in self.models.values():
            model.track_renders = False
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
            self.pause()

    async def _wait_for_browser(self) -> None:
        """Wait until the browser has applied the latest update of every view shown (it
        acknowledges each, see ``bokeh_fixes``). With no browser view, or one that
        stopped answering for ``BROWSER_TIMEOUT_S``, do not wait (until a view is heard
        from again)."""
        deadline = time.monotonic() + BROWSER_TIMEOUT_S
        while self._running:
            waiting = [
                model
                for name in self._visible()
                if (model := self.models[name]).heard_from_browser
                and model.in_flight >= MAX_UPDATES_IN_FLIGHT
            ]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                for model in waiting:
                    model.resync()
                return
            await asyncio.sleep(0.004)

    def tick(self, seconds: float) -> int:
        """One Run update: play ``seconds`` of real time at the chosen speed, one step
        at a time (each watched, see ``flights``), then update the screen once.
        Returns the steps taken."""
        ms = max(1, round(self.speed.value * seconds))
        cluster, history = self.cluster, self.history
        before = cluster.step_count

        def watch(c: Cluster) -> bool:
            history.observe(c)
            return False  # never done: run_until plays the whole ``ms``

        cluster.run_until(watch, ms)
        self._update()
        return cluster.step_count - before

    def _on_server(self, verb: str, sid: int, _button: Any = None) -> None:
        area = "membership" if verb in MEMBERSHIP_VERBS else "servers"
        self._guard(area, self._server_action, verb, sid)

    def _server_action(self, verb: str, sid: int) -> None:
        result = getattr(self.cluster, verb)(sid)
        self._update()
        if verb in CHANGES:
            self._report(verb, sid, result)

    def _report(self, verb: str, sid: int, result: Any) -> None:
        """Say whether a membership change or a transfer started, or why it did not."""
        what = CHANGES[verb].format(sid=sid)
        area = "membership" if verb in MEMBERSHIP_VERBS else "servers"
        if result.accepted:
            self._notice(f"{what}: started.", area=area)
        else:
            self._notice(f"{what}: refused: {result.reason}.", error=True, area=area)

    def _new_server_id(self) -> int:
        value = self.new_id.value
        if type(value) is not int or not 1 <= value <= MAX_SERVER_ID:
            raise ValueError(f"server id {value!r}: give a whole number from 1 to {MAX_SERVER_ID}")
        return value

    @_guarded("membership")
    def on_add_server(self) -> None:
        self._server_action("add_server", self._new_server_id())

    @_guarded("membership")
    def on_add_learner(self) -> None:
        self._server_action("add_learner", self._new_server_id())

    @_guarded("client")
    def on_read(self) -> None:
        server = self.request_server.value or None
        handle = self.cluster.read(last_command, server=server)
        self.reads.append(handle)
        self._update()
        if not handle.accepted:
            hint = f"; try S{handle.leader_hint}" if handle.leader_hint else ""
            self._notice(
                f"Read not accepted: only the leader serves reads{hint}.", error=True, area="client"
            )

    @_guarded("network")
    def on_partition(self) -> None:
        text = self.groups.value.strip()
        if not text:
            raise ValueError("write the groups, e.g. 1,2 | 3,4,5")
        groups = []
        for part in text.split("|"):
            members = [p.strip().lstrip("Ss") for p in part.replace(" ", ",").split(",")]
            for m in members:
                if m and not m.isdecimal():
                    raise ValueError(
                        f"{m!r} is not a server id: write the groups, e.g. 1,2 | 3,4,5"
                    )
            groups.append({int(m) for m in members if m})
        self.cluster.partition(*groups)
        self._update()

    @_guarded("network")
    def on_heal(self) -> None:
        self.cluster.heal()
        self._update()

    @_guarded("network")
    def on_network(self) -> None:
        low, high = self.delay.value
        self.cluster.set_network(
            delay_ms=(int(low), int(high)),
            drop_rate=float(self.drop_rate.value),
            duplicate_rate=float(self.duplicate_rate.value),
        )
        self._update()

    @_guarded("client")
    def on_propose(self) -> None:
        server = self.request_server.value or None
        result = self.cluster.propose(self.request.value, server=server)
        self._update()
        if result.accepted:
            self._notice(f"Accepted at index {result.index} in term {result.term}.", area="client")
        else:
            hint = f"; try S{result.leader_hint}" if result.leader_hint else ""
            self._notice(f"Not accepted: no live leader took it{hint}.", error=True, area="client")

    @_guarded("manual")
    def on_fire(self) -> None:
        if self.pending.value is None:
            raise ValueError("pick a pending event first")
        self.cluster.fire(self.pending.value)
        self._update()

    @_guarded("manual")
    def on_drop(self) -> None:
        if self.pending.value is None:
            raise ValueError("pick a pending message first")
        self.cluster.drop(self.pending.value)
        self._update()

    @_guarded("main")
    def seek(self, step: int) -> None:
        """Go to step ``step`` of the recorded history, and show it."""
        self.pause()
        self.cluster.seek(step)
        self._update(full=True)

    def _on_slider(self, change: dict[str, Any]) -> None:
        if not self._moving_slider and change["new"] != self.cluster.step_count:
            self.seek(int(change["new"]))

    def _on_tab(self, change: dict[str, Any]) -> None:
        index = change["new"]
        self.open_panel = None if index is None else self.panels[index]
        self._guard("view", self._show_panel)  # an error shows under the main controls

    def _show_panel(self) -> None:
        """The open tab's contents, built or brought up to date."""
        name = self.open_panel
        if name is None:
            return
        self._ensure_panel(name)
        if name in PLOT_PANELS:
            if name not in self.views:
                self._build_views([name])
                self._place_panel_model(name)
            elif name in self._stale:
                self._stale.discard(name)
                with self._one_message():
                    self._fill([name], jump=True)
        self._panels_widgets()

    def _on_axis(self) -> None:
        self.axis.axis = self.axis_choice.value
        self.axis.window = self.window_choice.value
        self.axis.pinned = self.pin.value
        self._guard("view", self._redraw_axis)

    def _redraw_axis(self) -> None:
        """The time axis changed: its views anew, with the space-time history of the
        new window."""
        with self._one_message():
            self.axis.place(self.cluster, jump=True)
            self._rebuild_history()
            shown = [name for name in TIME_VIEWS if name in self._visible()]
            for name in TIME_VIEWS:
                if name in self.views:
                    self._set_x_fields(self.views[name])
                    if name not in shown:
                        self._stale.add(name)
            self._fill(shown, jump=True)

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
        """Bring the picture up to date with the cluster, then tell the listeners."""
        self._draw(full)
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception as error:  # another widget's bug must not break this one
                self._notice(f"a listener failed: {type(error).__name__}: {error}", error=True)

    def _draw(self, full: bool) -> None:
        """Bring the picture up to date with the cluster: incrementally if the cluster
        only moved forward, one step at a time, since the last update; else by
        replacing everything (and rebuilding the space-time history).

        Every bokeh change of one update goes to the browser as one PATCH-DOC per view,
        and the widgets' changes as one state update each."""
        cluster = self.cluster
        if self._follow_servers():
            # New views, filled when built: their widgets are not there yet to take more.
            self._needs_full = True
            self._panels()
            return
        if self._needs_full:
            full, self._needs_full = True, False
        watched = self.history.observe(cluster)  # False: steps were missed, rebuild
        if not watched or cluster.step_count < self._step or len(cluster.trace) < self._seen:
            full = True
        names = self._visible()
        clock = time.monotonic()
        panel = self.open_panel
        if panel in names:
            if self._running and not full and clock - self._panel_shown < PANEL_INTERVAL_S:
                names.remove(panel)  # Run: the tab's plots catch up at the next beat
            else:
                self._panel_shown = clock
        with self._one_message():
            self._fill(names, jump=full)
        for name in self.views:  # the views not shown are brought up to date later
            if name not in self._visible():
                self._stale.add(name)
        self._step, self._seen = cluster.step_count, len(cluster.trace)
        self.history.settle()
        self._panels()

    @contextlib.contextmanager
    def _one_message(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for name in self._visible():
                stack.enter_context(self.models[name].batch())
            yield

    def _fill(self, names: list[str], jump: bool) -> None:
        """Bring views ``names`` up to date: everything replaced after a jump (``jump``),
        else only what changed since the last update."""
        cluster = self.cluster
        if jump:
            self.axis.place(cluster, jump=True)
            if "ring" in names:  # a jump on screen: the browser shows it at once
                self._jumps += 1
                self._rebuild_history()
            self.updates["full"] += 1
        pending = cluster.pending()
        trace = cluster.trace
        for name in names:
            # Each view folds the trace events since its own last update (a tab's plots
            # skip some updates during Run).
            seen = self._view_seen.get(name, len(trace))
            events = [] if jump or name == "ring" else trace[seen:]
            for source, table in self._tables(name, jump, events, pending).items():
                self._send_table(source, table, jump)
            self._view_seen[name] = len(trace)
        self._ranges(names, jump)

    def _rebuild_history(self) -> None:
        """The space-time history of the window shown, replayed (``flights``)."""
        cluster = self.cluster
        width = self.axis.width()
        if self.axis.unit == "step":
            start = 0 if width is None else cluster.step_count - width
        else:
            start = vm.step_at_time(cluster, 0 if width is None else cluster.now - width)
        self.history.rebuild(cluster, start)

    def _tables(
        self, name: str, jump: bool, events: Sequence[Any], pending: Sequence[Any]
    ) -> dict[str, Any]:
        """What view ``name``'s sources hold now: rows by key (a source shown exactly),
        or (rows to write, keys to remove) for an incremental update."""
        cluster = self.cluster
        if name == "ring":
            where = vm.positions(cluster)
            speed = self.speed.value
            return {
                "servers": vm.server_rows(cluster),
                "timers": vm.timer_rows(cluster, pending),
                "links": vm.link_rows(cluster),
                "messages": self.history.ring_rows(where, cluster.now),
                "clock": vm.clock_rows(cluster, self._running, speed, self._jumps),
            }
        if name == "log":
            log = (
                self.log_tracker.reset(cluster)
                if jump
                else self.log_tracker.changes(cluster, events)
            )
            return {
                "log": log,
                "markers": vm.marker_rows(cluster),
                "snapshots": vm.snapshot_rows(cluster),
            }
        if name == "timelines":
            if jump:
                self.terms.reset(cluster)
                self.commits.reset(cluster)
                return {"terms": self.terms.rows, "commits": self.commits.rows}
            return {
                "terms": (self.terms.fold(cluster, events), []),
                "commits": (self.commits.fold(cluster, events), []),
            }
        if name == "spacetime":
            step = cluster.step_count
            if jump:
                return {"spacetime": self.history.all_arrows(step)}
            return {"spacetime": self.history.take_arrows(step)}
        assert name == "storage", name
        if jump:
            self.storage.reset(cluster)
            return {"storage": self.storage.rows(cluster, flash=False)}
        self.storage.fold(events)
        return {"storage": self.storage.rows(cluster)}

    def _send_table(self, name: str, table: Any, jump: bool) -> None:
        """Send source ``name`` its new ``table`` (see ``_tables``)."""
        source = self.sources[name]
        mirror = self.mirrors[name]
        if jump:
            source.data = mirror.full(table)
            return
        update = mirror.update(*table) if isinstance(table, tuple) else mirror.sync(table)
        if update.patches:
            source.patch(update.patches)
            self.updates["patch"] += 1
        if update.stream and any(update.stream.values()):
            source.stream(dict(update.stream))
            self.updates["stream"] += 1

    def _ranges(self, names: list[str], jump: bool) -> None:
        """Move the fixed ranges of views ``names`` for the data they show (see
        ``timeaxis`` for the time axis). After a jump they are set from the state
        alone; as the cluster moves on they only grow, in chunks (each change is a
        message to the browser)."""
        cluster = self.cluster
        if "log" in names:
            self._log_range(jump)
        if not jump:
            self.axis.place(cluster)
        cursor = self.axis.cursor(cluster)
        for name in TIME_VIEWS:
            if name not in names:
                continue
            view = self.views[name]
            if view.unit != self.axis.unit:
                self._set_x_fields(view)
            time_range = view.ranges["time"]
            if (time_range.start, time_range.end) != (self.axis.start, self.axis.end):
                time_range.update(start=self.axis.start, end=self.axis.end)
            for span in view.cursors:
                if span.location != cursor:
                    span.location = cursor
        if "timelines" in names:
            ranges = self.views["timelines"].ranges
            top_term = max(cluster.servers[s].current_term for s in self.ids)
            top_commit = max(cluster.servers[s].commit_index for s in self.ids)
            if jump or top_term > self._term_top - 0.7:
                self._term_top = top_term + 3.5
            if jump or top_commit > self._commit_top - 0.7:
                self._commit_top = top_commit + max(5, top_commit // 2) + 0.5
            if ranges["term"].end != self._term_top:
                ranges["term"].end = self._term_top
            if ranges["commit"].end != self._commit_top:
                ranges["commit"].end = self._commit_top

    def _log_range(self, jump: bool) -> None:
        """The log matrix shows ``_log_cells`` indexes: from 1 while the logs are that
        short, else ending a few cells after the longest log (moved in chunks)."""
        cluster = self.cluster
        window = self._log_cells
        last = max((cluster.servers[s].last_log_index for s in self.ids), default=0)
        first = self._log_start
        if jump or last > first + window or last < first:
            first = 0 if last + 2 <= window else last - window + 3
            self._log_start = first
        log_range = self.views["log"].ranges["log"]
        start, end = first + 0.5, first + window + 0.5
        if (log_range.start, log_range.end) != (start, end):
            log_range.update(start=start, end=end)

    def _panels(self) -> None:
        """The widgets: status, slider, narration, safety, pending events, buttons
        (during Run, all but the status at most every ``PANEL_INTERVAL_S``)."""
        cluster = self.cluster
        sizes = self.sizes
        safety = vm.safety_summary(cluster)
        alarm = f" <span style='color:#D55E00'>{html.escape(safety)}</span>" if safety else ""
        self.status.value = (
            f"<span style='font-size:{sizes.large}'><b>"
            f"{html.escape(vm.status_text(cluster))}</b>{alarm}</span>"
        )
        clock = time.monotonic()
        if self._running and clock - self._widgets_shown < PANEL_INTERVAL_S:
            return  # Run: the slider, the narration and the tabs catch up at the next beat
        self._widgets_shown = clock
        self._moving_slider = True
        try:
            with self.slider.hold_sync():  # max and value in one message
                self.slider.max = cluster.history_length
                self.slider.value = cluster.step_count
        finally:
            self._moving_slider = False
        lines = []
        for line in vm.narration(cluster, last=sizes.narration_lines):
            tip = html.escape(f"[{line.kind} · {line.rule}] {line.sentence}", quote=True)
            lines.append(
                f"<div class='luminous-line' title=\"{tip}\">"
                f"<span class='luminous-step'>step {line.step} · t={line.time}</span> "
                f"{html.escape(line.sentence)}</div>"
            )
        blank = "<div class='luminous-line'>&nbsp;</div>"
        lines = [blank] * (sizes.narration_lines - len(lines)) + lines
        self.narration.value = f"<div style='font-size:{sizes.normal}'>{''.join(lines)}</div>"
        self._panels_widgets()

    def _panels_widgets(self) -> None:
        """The widgets of the tabs built so far: safety, pending events, the buttons of
        the servers that are up or down, the configuration, the last read."""
        cluster = self.cluster
        count = len(cluster.violations)
        if "safety" in self._built and count != self._violations:
            self._violations = count
            self.safety.children = self._safety_rows()
        self._refresh_pending()
        for sid in self.ids:
            alive = cluster.servers[sid].alive
            for verb, off in (("crash", not alive), ("restart", alive), ("timeout", not alive)):
                button = self.server_buttons.get((sid, verb))
                if button is not None:
                    button.disabled = off
        if "membership" in self._built:
            config = cluster.config
            described = "unknown (every server is down)" if config is None else config.describe()
            self.config_label.value = (
                f"Configuration (as the leader sees it): <b>{html.escape(described)}</b>"
            )
        if "client" in self._built and self.reads:
            self.read_status.value = html.escape(read_text(self.reads[-1]))

    def _safety_rows(self) -> list[Any]:
        rows: list[Any] = []
        for row in vm.safety_rows(self.cluster):
            mark = "✔" if row.ok else "✘"
            colour = "#009E73" if row.ok else "#D55E00"
            label = widgets.HTML(
                f"<span title='{html.escape(row.statement)}'>"
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
        if self.open_panel != "manual" or "manual" not in self._built:  # hidden: no work
            return
        events = self.cluster.pending()
        self.pending.options = [(f"#{e.id} t={e.due}: {e.describe()}", e.id) for e in events]

    def _notice(self, text: str, error: bool = False, area: str = "main") -> None:
        """Show ``text`` (an error in red) next to the controls of ``area`` (under the
        main controls for an area without a place of its own)."""
        box = self.notices.get(area) or self.notices["main"]
        if not text:
            box.value = ""
            return
        self._last_notice = text
        colour = "#D55E00" if error else "#0072B2"
        box.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    @property
    def last_notice(self) -> str:
        """The latest message shown next to a control, as plain text ("" once the
        control that showed it is used again without a problem)."""
        shown = [html.unescape(re.sub(r"<[^>]+>", "", box.value)) for box in self.notices.values()]
        return self._last_notice if self._last_notice in shown else ""

    def notice_of(self, area: str) -> str:
        """The message shown next to the controls of ``area`` (``main``, ``servers``,
        ``network``, ``client``, ``manual``, ``membership``), as plain text."""
        box = self.notices.get(area)
        return "" if box is None else html.unescape(re.sub(r"<[^>]+>", "", box.value))

    def __repr__(self) -> str:
        return f"<luminous_edu Dashboard of {self.cluster!r}>"
