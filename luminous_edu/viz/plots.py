"""The bokeh figures of the dashboard: one bokeh document ("view") per part.

The ring and the log matrix are always shown; the timelines, the space-time diagram and
the storage table sit in the dashboard's tabs and are built when their tab is first
opened (``BUILDERS``). Each view is its own ``BokehModel`` widget, so each part of the
page carries its own CSS class and a hidden one costs nothing.

Every range is a fixed ``Range1d`` that the dashboard moves itself when the data
outgrow it: auto-ranging would send range updates back from the browser after every
change (JUPYTER_NOTES.md). No figure has edit tools, so the browser never changes the
kernel's data; it changes only the ring's two sources of its own (``BROWSER_OWNED``).

Motion (``MOTION_JS``). The ring is animated by the browser, as RaftScope is: between
two kernel updates it moves each message along its lane, at
``(shown - sent) / (arrival - sent)`` of the way, and drains each election timer's arc
from its due time, with a clock of its own. The kernel sends what it knows (the
``messages`` rows with send, due and arrival times; the ``timers`` rows with due times;
one ``clock`` row: the kernel's virtual time and step, Run or not, the speed, and a
counter of jumps), and the browser draws the ``dots`` and ``arcs`` sources from them at
every animation frame:

- during Run, the shown time runs at the chosen speed, a little more than one update
  behind the kernel (so that a message sent and delivered between two updates is still
  seen flying) and never ahead of what the kernel has sent;
- after a Step (or anything else that takes one step while Run is off) it glides from
  the old state to the new one in ``STEP_MS``: the delivered message reaches its
  target, new ones leave theirs, a lost one fades; it does so even when the step took
  no virtual time (manual scheduling);
- after a jump (Back, the slider, Reset, ``refresh()``) it shows the new state at once.

Levels. BokehJS paints a plot on two canvases: everything on the "primary" one, and the
renderers of level "overlay" on a second one above it; a change to an overlay renderer
repaints only that canvas. What moves at every frame or changes at most steps is drawn
there (the ring's dots and timer arcs, the log's cells and marks, the timelines' lines,
the space-time arrows, the cursors), so that the axes, legends and titles are not drawn
again each time.

The callback starts from the document's ``document_ready`` event (JUPYTER_NOTES.md,
"Motion in the browser") and runs a ``requestAnimationFrame`` loop that does nothing
while nothing moves, and stops once the ring's view has left the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bokeh.document import Document
from bokeh.layouts import row
from bokeh.models import (
    AdaptiveTicker,
    CDSView,
    ColumnDataSource,
    CustomJS,
    FixedTicker,
    GroupFilter,
    HoverTool,
    LayoutDOM,
    Range1d,
)
from bokeh.models.annotations import Legend, LegendItem, Span
from bokeh.plotting import figure

from . import flights
from . import viewmodels as vm
from .bokeh_fixes import BROWSER_OWNED
from .palette import BLUE, GREY, LIGHT_GREY, MESSAGE_KINDS, MESSAGE_SHAPES, VERMILLION

#: Log indexes shown before the browser has said how wide the log matrix is.
LOG_WINDOW = 12
#: How far the ring's data range reaches (the ring's radius is 1).
RING_REACH = 1.42
#: A timer's arc: its radius around a server, and how long a Step takes on screen.
TIMER_RADIUS = vm.SERVER_RADIUS + 0.045
STEP_MS = 450


@dataclass
class Sizes:
    """Pixel sizes and fonts; ``projector`` makes every font larger and fits the core
    picture (controls, status, ring, log, narration) in 1280x720 (DESIGN.md)."""

    projector: bool
    scale: float
    small: str
    normal: str
    large: str
    ring: int  # the ring's side, px; the log matrix is as tall
    log_cell: int  # the narrowest a log cell may be, px
    panel: int  # the height of a plot in a tab, px
    narration_lines: int

    @classmethod
    def pick(cls, projector: bool) -> Sizes:
        if projector:
            return cls(True, 1.35, "15px", "18px", "22px", 380, 46, 280, 3)
        return cls(False, 1.0, "11px", "12px", "15px", 400, 34, 230, 4)

    def px(self, value: float) -> int:
        return round(value * self.scale)


@dataclass
class View:
    """One bokeh document of the dashboard: its root, its data sources by name, and the
    ranges, glyphs and cursors the dashboard moves in it."""

    name: str
    root: LayoutDOM
    sources: dict[str, ColumnDataSource]
    ranges: dict[str, Range1d] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    #: (glyph, attribute, field over virtual time, field over steps): switched by the
    #: time axis (``timeaxis``).
    x_fields: list[tuple[Any, str, str, str]] = field(default_factory=list)
    cursors: list[Span] = field(default_factory=list)
    unit: str = "time"  # what its x axis counts now: "time" or "step"


def empty_source(name: str, columns: tuple[str, ...]) -> ColumnDataSource:
    return ColumnDataSource(data={c: [] for c in columns}, name=name)


def _style(fig: Any, sizes: Sizes) -> None:
    fig.toolbar_location = None
    fig.title.text_font_size = sizes.normal
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_label_text_font_size = sizes.normal
        axis.major_label_text_font_size = sizes.normal
    fig.min_border_left = 10
    fig.min_border_right = 10


def _server_axis(fig: Any, server_ids: list[int]) -> None:
    fig.yaxis.ticker = FixedTicker(ticks=list(server_ids))
    fig.yaxis.major_label_overrides = {sid: f"S{sid}" for sid in server_ids}


def _legend(items: list[tuple[str, Any]], sizes: Sizes, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "label_text_font_size": sizes.small,
        "label_height": sizes.px(12),
        "glyph_height": sizes.px(12),
        "glyph_width": sizes.px(14),
        "padding": 3,
        "spacing": 1,
        "margin": 2,
        "border_line_alpha": 0,
        "background_fill_alpha": 0.75,
        **options,
    }
    return Legend(items=[LegendItem(label=label, renderers=[r]) for label, r in items], **settings)


# ----------------------------------------------------------------------- the ring

MOTION_JS = """
const doc = cb_obj
if (doc.luminous_motion !== undefined) return
const state = doc.luminous_motion = {frames: 0, shown: null, running: false, stopped: false}
const column = (source, name) => {
  const data = source.data
  return data instanceof Map ? data.get(name) : data[name]
}
const TWO_PI = 2 * Math.PI
let base = {now: 0, step: -1, running: false, speed: 0, jump: -1, t: 0}
let gap = 0.1  // seconds between kernel updates during Run, smoothed
let tween = null  // a step shown gliding: {from, to, t0}
let known = new Map()  // message id -> row, as the kernel sent it last
let ghosts = new Map()  // rows the kernel has let go that are still arriving on screen
let drawn = new Map()  // message id -> position along its lane drawn last (0..1)
let before = new Map()  // the positions when the glide started
let dirty = true

function read_clock() {
  const now = column(clock, "now")[0], step = column(clock, "step")[0]
  if (now === undefined) return
  const running = column(clock, "running")[0] === 1
  const jump = column(clock, "jump")[0], t = performance.now()
  if (running && base.running) gap = 0.8 * gap + 0.2 * Math.min(1, (t - base.t) / 1000)
  const jumped = jump !== base.jump || state.shown === null
  const stepped = step !== base.step || now !== base.now
  base = {now, step, running, speed: column(clock, "speed")[0], jump, t}
  if (jumped) {
    state.shown = now
    tween = null
    ghosts.clear()
    drawn.clear()
  } else if (!running && stepped) {
    tween = {from: state.shown, to: now, t0: t}
    before = new Map(drawn)
  }
  state.running = running
  dirty = true
}

function read_messages(replaced) {
  const names = ["id", "source", "target", "x0", "y0", "x1", "y1", "sent", "due", "end",
    "status", "colour", "marker", "size", "short", "fields"]
  const cols = {}
  for (const name of names) cols[name] = column(messages, name)
  const rows = new Map()
  for (let i = 0; i < cols.id.length; i++) {
    if (cols.status[i] === "") continue  // a blank slot, kept for reuse
    const row = {}
    for (const name of names) row[name] = cols[name][i]
    rows.set(row.id, row)
  }
  if (!replaced) {  // a patch: a message delivered since is still arriving on screen
    for (const [id, row] of known) {
      if (!rows.has(id) && row.status === "delivered") ghosts.set(id, row)
    }
  }
  for (const id of rows.keys()) ghosts.delete(id)
  known = rows
  dirty = true
}

// Where a message is along its lane at virtual time `at` (0..1), or null if it is not
// on screen (not sent yet, or arrived / lost by then).
function position(row, at) {
  if (at < row.sent) return null
  const flying = row.status === "flight"
  const arrival = flying ? row.due : row.end
  if (!flying && at >= arrival) return null
  const span = arrival - row.sent
  return span <= 0 ? 1 : Math.min(1, (at - row.sent) / span)
}

function draw(t) {
  if (state.shown === null) return
  let shown = state.shown, glide = null
  if (tween !== null) {
    const f = Math.min(1, (t - tween.t0) / step_ms)
    glide = f * (2 - f)  // ease out
    shown = tween.from + (tween.to - tween.from) * glide
    if (f >= 1) tween = null
  } else if (base.running) {
    const behind = base.speed * (1.3 * gap + 0.03)
    const target = base.now - behind + (t - base.t) * base.speed / 1000
    shown = Math.max(shown, Math.min(target, base.now))
  } else {
    shown = base.now
  }
  if (shown === state.shown && !dirty && glide === null) return
  state.shown = shown
  dirty = false
  const out = {x: [], y: [], colour: [], marker: [], size: [], alpha: [], short: [],
    fields: [], sent: [], due: [], source: [], target: []}
  const now_drawn = new Map()
  const add = (row, p, alpha) => {
    out.x.push(row.x0 + (row.x1 - row.x0) * p)
    out.y.push(row.y0 + (row.y1 - row.y0) * p)
    out.colour.push(row.colour)
    out.marker.push(row.marker)
    out.size.push(row.size * scale)
    out.alpha.push(alpha)
    for (const name of ["short", "fields", "sent", "due", "source", "target"]) {
      out[name].push(row[name])
    }
    now_drawn.set(row.id, p)
  }
  for (const rows of [ghosts, known]) {
    for (const [id, row] of rows) {
      if (glide === null) {
        const p = position(row, shown)
        if (p !== null) add(row, p, 1)
        continue
      }
      // A step, gliding: from where it was drawn (a new message: from its sender) to
      // where it is after the step; a delivered one reaches its target, a lost one fades.
      const arrived = row.status === "delivered" && base.now >= row.end
      const p1 = arrived ? 1 : position(row, base.now)
      const p0 = before.has(id) ? before.get(id) : 0
      if (p1 === null) {
        if (p0 !== null && glide < 1) add(row, p0, 1 - glide)
      } else if (!(arrived && glide >= 1)) {
        add(row, p0 + (p1 - p0) * glide, 1)
      }
    }
  }
  drawn = now_drawn
  if (tween === null) {
    for (const [id, row] of ghosts) if (shown >= row.end) ghosts.delete(id)
  }
  dots.data = out
  const arc = {x: [], y: [], start: [], end: [], alpha: []}
  const ids = column(timers, "id"), xs = column(timers, "x"), ys = column(timers, "y")
  const dues = column(timers, "due"), spans = column(timers, "span")
  for (let i = 0; i < ids.length; i++) {
    const left = dues[i] < 0 ? 0 : Math.min(1, Math.max(0, (dues[i] - shown) / spans[i]))
    arc.x.push(xs[i])
    arc.y.push(ys[i])
    arc.start.push(Math.PI / 2)
    arc.end.push(Math.PI / 2 - TWO_PI * left)
    arc.alpha.push(left > 0 ? 1 : 0)
  }
  arcs.data = arc
  state.frames += 1
}

clock.change.connect(() => read_clock())
clock.patching.connect(() => read_clock())
messages.change.connect(() => read_messages(true))
messages.patching.connect(() => read_messages(false))
messages.streaming.connect(() => read_messages(false))
timers.change.connect(() => { dirty = true })
timers.patching.connect(() => { dirty = true })
timers.streaming.connect(() => { dirty = true })
read_messages(true)
read_clock()

let seen = false, lost_at = null
function frame(t) {
  const view = Bokeh.index.find_one(ring)
  const here = view != null && view.el.isConnected
  if (here) {
    seen = true
    lost_at = null
  } else if (seen) {
    if (lost_at === null) lost_at = t
    if (t - lost_at > 2000) {  // the ring's view left the page: stop
      state.stopped = true
      return
    }
  }
  if (here) draw(t)
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)
"""


def build_ring(server_ids: list[int], sizes: Sizes) -> View:
    """The cluster as a ring: servers, links, messages in flight, election timers."""
    sources = {
        "servers": empty_source("servers", vm.SERVER_COLUMNS),
        "timers": empty_source("timers", vm.TIMER_COLUMNS),
        "links": empty_source("links", vm.LINK_COLUMNS),
        "messages": empty_source("messages", flights.MESSAGE_COLUMNS),
        "clock": empty_source("clock", vm.CLOCK_COLUMNS),
    }
    dots = ColumnDataSource(
        data={
            c: []
            for c in (
                "x",
                "y",
                "colour",
                "marker",
                "size",
                "alpha",
                "short",
                "fields",
                "sent",
                "due",
                "source",
                "target",
            )
        },
        tags=[BROWSER_OWNED],
    )
    arcs = ColumnDataSource(
        data={c: [] for c in ("x", "y", "start", "end", "alpha")}, tags=[BROWSER_OWNED]
    )
    reach = RING_REACH
    ring = figure(
        name="ring",
        width=sizes.ring,
        height=sizes.ring,
        x_range=Range1d(start=-reach, end=reach),
        y_range=Range1d(start=-reach, end=reach),
        tools="",
        match_aspect=True,
        min_border=4,
        outline_line_alpha=0.15,
    )
    ring.toolbar_location = None
    ring.axis.visible = False
    ring.grid.visible = False
    links = ring.segment(
        "x0",
        "y0",
        "x1",
        "y1",
        source=sources["links"],
        line_color="colour",
        line_alpha="alpha",
        line_width="width",
        line_dash="solid",
    )
    cut = ring.segment(
        "x0",
        "y0",
        "x1",
        "y1",
        source=sources["links"],
        view=CDSView(filter=GroupFilter(column_name="label", group="cut")),
        line_color=VERMILLION,
        line_width=2.5,
        line_dash="dashed",
    )
    ring.text(  # type: ignore[call-arg]
        "mx",
        "my",
        text="label",
        source=sources["links"],
        text_align="center",
        text_baseline="middle",
        text_font_size=sizes.small,
        text_font_style="bold italic",
        text_color=VERMILLION,
        background_fill_color="#FFFFFF",
        background_fill_alpha=0.8,
    )
    ring.add_tools(HoverTool(renderers=[links, cut], tooltips=[("", "@why")]))
    # The election timer: a thin track all round, and the time left as a thick arc.
    # What the browser moves is drawn at the "overlay" level: BokehJS paints that level
    # on a canvas of its own, so an animation frame repaints only the moving parts.
    ring.arc(
        "x",
        "y",
        radius=TIMER_RADIUS,
        start_angle=0,
        end_angle=2 * math.pi,
        source=sources["servers"],
        line_color=LIGHT_GREY,
        line_width=1,
    )
    ring.arc(
        "x",
        "y",
        radius=TIMER_RADIUS,
        start_angle="start",
        end_angle="end",
        direction="clock",
        source=arcs,
        line_color="#444444",
        line_alpha="alpha",
        line_width=sizes.px(4),
        level="overlay",
    )
    circles = ring.circle(
        "x",
        "y",
        radius=vm.SERVER_RADIUS,
        source=sources["servers"],
        fill_color="colour",
        fill_alpha="fill_alpha",
        line_color="line_colour",
        line_dash="line_dash",
        line_width=2.5,
    )
    ring.add_tools(
        HoverTool(
            renderers=[circles],
            tooltips=[("", "@name @role_text, term @term"), ("", "@config_text")],
        )
    )
    for text, offset, font, style in (
        ("name", -15, sizes.large, "bold"),
        ("term_text", 1, sizes.normal, "normal"),
        ("role_text", 15, sizes.small, "normal"),
    ):
        ring.text(
            "x",
            "y",
            text=text,
            source=sources["servers"],
            text_align="center",
            text_baseline="middle",
            y_offset=sizes.px(offset),
            text_font_size=font,
            text_font_style=style,
        )
    ring.text(
        "x",
        "votes_y",
        text="votes_text",
        source=sources["servers"],
        text_align="center",
        text_baseline="top",
        text_font_size=sizes.small,
        text_font_style="bold",
        text_color="#8A5A00",
    )
    messages = ring.scatter(
        "x",
        "y",
        marker="marker",
        size="size",
        source=dots,
        fill_color="colour",
        line_color="#000000",
        fill_alpha="alpha",
        line_alpha="alpha",
        level="overlay",
    )
    # The browser draws these dots and arcs from the kernel's ``messages``, ``timers``
    # and ``clock``, which no renderer draws: this renderer names them in its tags, which
    # keeps them in the document (bokeh would leave them out: only the document_ready
    # callback uses them), and kernel updates to them repaint nothing by themselves.
    messages.tags = [sources["messages"], sources["timers"], sources["clock"]]
    ring.add_tools(
        HoverTool(
            renderers=[messages],
            tooltips=[
                ("", "@short S@source → S@target"),
                ("", "@fields"),
                ("", "sent at @sent ms, due at @due ms"),
            ],
        )
    )
    # The legends: what colour and shape say. Their renderers draw one point, far out
    # of sight (BokehJS draws no legend glyph for a renderer without data).
    legend_source = ColumnDataSource(data={"x": [99.0], "y": [99.0]})
    kinds: list[tuple[str, Any]] = [
        (
            label,
            ring.scatter(
                "x", "y", source=legend_source, marker="circle", size=sizes.px(10), color=colour
            ),
        )
        for label, _meaning, colour in MESSAGE_KINDS
    ]
    shapes: list[tuple[str, Any]] = [
        (
            meaning,
            ring.scatter(
                "x",
                "y",
                source=legend_source,
                marker=marker,
                size=sizes.px(10),
                fill_color="#FFFFFF",
                line_color="#000000",
            ),
        )
        for marker, meaning in MESSAGE_SHAPES
    ]
    shapes.append(
        (
            "cut link",
            ring.segment(
                "x",
                "y",
                "x",
                "y",
                source=legend_source,
                line_color=VERMILLION,
                line_width=2.5,
                line_dash="dashed",
            ),
        )
    )
    ring.add_layout(_legend(kinds, sizes, location="top_left"))
    ring.add_layout(_legend(shapes, sizes, location="top_right"))

    document = Document()
    document.add_root(ring)
    document.js_on_event(
        "document_ready",
        CustomJS(
            args={
                "clock": sources["clock"],
                "messages": sources["messages"],
                "timers": sources["timers"],
                "dots": dots,
                "arcs": arcs,
                "ring": ring,
                "scale": sizes.scale,
                "step_ms": STEP_MS,
            },
            code=MOTION_JS,
        ),
    )
    return View("ring", ring, sources, figures={"ring": ring})


# ------------------------------------------------------------------- the log matrix


def build_log(server_ids: list[int], sizes: Sizes) -> View:
    """The log matrix: a row of cells per server, as wide as the page allows (the
    dashboard picks how many indexes fit from the width the browser reports)."""
    sources = {
        "log": empty_source("log", vm.LOG_COLUMNS),
        "markers": empty_source("markers", vm.MARKER_COLUMNS),
        "snapshots": empty_source("snapshots", vm.SNAPSHOT_COLUMNS),
    }
    n = max(server_ids, default=1)
    log_range = Range1d(start=0.5, end=LOG_WINDOW + 0.5, name="log_range")
    log = figure(
        title="Logs · filled: committed · dashed: not committed yet",
        height=sizes.ring,
        sizing_mode="stretch_width",
        min_width=260,
        x_range=log_range,
        y_range=Range1d(start=n + 0.6, end=min(server_ids, default=1) - 0.6),
        tools="",
        x_axis_label="log index",
    )
    _style(log, sizes)
    log.title.text_font_size = sizes.small  # type: ignore[union-attr]
    _server_axis(log, server_ids)
    log.xaxis.ticker = AdaptiveTicker(min_interval=1, num_minor_ticks=0)
    log.xgrid.visible = False
    log.ygrid.visible = False
    cells = log.rect(
        "x",
        "y",
        width=0.9,
        height=0.72,
        source=sources["log"],
        fill_color="fill",
        fill_alpha="fill_alpha",
        line_color="#000000",
        line_alpha="line_alpha",
        line_dash="line_dash",
        line_width="line_width",
        level="overlay",  # the logs change often, the axes and legend rarely
    )
    # Log compaction (§7): the indexes a server's snapshot covers, as one block.
    snapshots = log.rect(
        "x",
        "y",
        width="width",
        height=0.72,
        source=sources["snapshots"],
        fill_color="#EEEEEE",
        fill_alpha="alpha",
        line_color="#555555",
        line_alpha="alpha",
        line_dash="dotted",
        level="overlay",
    )
    log.text(
        "end",
        "y",
        text="text",
        source=sources["snapshots"],
        x_offset=-4,
        text_align="right",
        text_baseline="middle",
        text_font_size=sizes.small,
        text_font_style="italic",
        text_alpha="alpha",
        level="overlay",
    )
    log.add_tools(
        HoverTool(
            renderers=[snapshots],
            tooltips=[("", "S@server: @text; its log holds only the entries after it")],
        )
    )
    for text, offset, style in (("term_text", -7, "bold"), ("label", 7, "normal")):
        log.text(
            "x",
            "y",
            text=text,
            source=sources["log"],
            y_offset=sizes.px(offset),
            text_align="center",
            text_baseline="middle",
            text_font_size=sizes.small,
            text_font_style=style,
            text_color="text_colour",
            text_alpha="line_alpha",
            level="overlay",
        )
    items: list[tuple[str, Any]] = []
    marks: list[Any] = []
    # The legend draws its samples from renderers of its own, one point out of sight.
    legend_source = ColumnDataSource(data={"x": [-99.0], "y": [-99.0]})
    for kind, label, marker, size, angle, colour in (
        ("commit", "committed up to here", "dash", 26, math.pi / 2, "#000000"),
        ("next", "leader sends next", "inverted_triangle", 9, 0.0, VERMILLION),
        ("match", "leader knows it holds up to here", "triangle", 9, 0.0, BLUE),
    ):
        look: dict[str, Any] = {
            "marker": marker,
            "size": sizes.px(size),
            "angle": angle,
            "line_width": 3 if kind == "commit" else 1,
        }
        marks.append(
            log.scatter(
                "x",
                "y",
                source=sources["markers"],
                view=CDSView(filter=GroupFilter(column_name="kind", group=kind)),
                fill_color="colour",
                line_color="colour",
                level="overlay",
                **look,
            )
        )
        sample = log.scatter("x", "y", source=legend_source, color=colour, **look)
        items.append((label, sample))
    log.add_layout(_legend(items, sizes, orientation="horizontal", ncols=2), "below")
    log.add_tools(
        HoverTool(
            renderers=[cells],
            tooltips=[
                ("entry", "S@server index @index, term @term"),
                ("data", "@data"),
                ("committed", "@committed"),
            ],
        )
    )
    log.add_tools(HoverTool(renderers=marks, tooltips=[("", "@text")]))
    return View("log", log, sources, ranges={"log": log_range}, figures={"log": log})


# ------------------------------------------------------------- the tabs' views


def _cursor(fig: Any, name: str) -> Span:
    """A dashed vertical line at the current time (or step): the cursor."""
    span = Span(
        location=0,
        dimension="height",
        line_color=GREY,
        line_dash="dashed",
        line_width=1,
        name=name,
        level="overlay",  # it moves at every step: drawn on the canvas of what moves
    )
    fig.add_layout(span)
    return span


def build_timelines(server_ids: list[int], sizes: Sizes) -> View:
    """Terms and commit indexes over time (or steps), side by side, one x range."""
    sources = {
        "terms": empty_source("terms", vm.PERIOD_COLUMNS),
        "commits": empty_source("commits", vm.PERIOD_COLUMNS),
    }
    time_range = Range1d(start=0, end=1000, name="time_range")
    ranges = {
        "time": time_range,
        "term": Range1d(start=-0.3, end=3.5, name="term_range"),
        "commit": Range1d(start=-0.3, end=5.5, name="commit_range"),
    }
    view = View("timelines", row(), sources, ranges=ranges)
    figures = []
    for name, title, y_range, label in (
        ("terms", "Terms (thick: leader)", ranges["term"], "term"),
        ("commits", "Commit index", ranges["commit"], "commit index"),
    ):
        fig = figure(
            title=title,
            height=sizes.panel,
            sizing_mode="stretch_width",
            min_width=240,
            x_range=time_range,
            y_range=y_range,
            tools="",
            x_axis_label="virtual time (ms)",
            y_axis_label=label,
        )
        _style(fig, sizes)
        fig.yaxis.ticker = AdaptiveTicker(min_interval=1, num_minor_ticks=0)
        fig.ygrid.ticker = fig.yaxis.ticker
        lines = fig.segment(
            "x0",
            "y",
            "x1",
            "y",
            source=sources[name],
            line_color="colour",
            line_width="width",
            line_alpha="alpha",
            level="overlay",  # redrawn at every step: its own canvas (see MOTION_JS)
        )
        view.x_fields += [(lines.glyph, "x0", "x0", "s0"), (lines.glyph, "x1", "x1", "s1")]
        names: Any = {"field": "name"}  # one legend item per server, from the data
        fig.add_layout(_legend([(names, lines)], sizes, spacing=0), "right")
        fig.add_tools(
            HoverTool(
                renderers=[lines],
                tooltips=[
                    ("", "@name @role"),
                    (label, "@value"),
                    ("time", "@x0 to @x1 ms"),
                    ("steps", "@s0 to @s1"),
                ],
            )
        )
        view.cursors.append(_cursor(fig, f"{name}_cursor"))
        view.figures[name] = fig
        figures.append(fig)
    view.root = row(*figures, sizing_mode="stretch_width")
    return view


def build_spacetime(server_ids: list[int], sizes: Sizes) -> View:
    """Every message as an arrow from its sender's line to its receiver's, over time."""
    sources = {"spacetime": empty_source("spacetime", flights.SPACETIME_COLUMNS)}
    n = max(server_ids, default=1)
    time_range = Range1d(start=0, end=1000, name="spacetime_range")
    space = figure(
        title="Messages over time (x: lost or dropped)",
        height=max(sizes.panel, sizes.px(60 + 34 * len(server_ids))),
        sizing_mode="stretch_width",
        min_width=300,
        x_range=time_range,
        y_range=Range1d(start=n + 0.5, end=min(server_ids, default=1) - 0.5),
        tools="",
        x_axis_label="virtual time (ms)",
    )
    _style(space, sizes)
    _server_axis(space, server_ids)
    arrows = space.segment(
        "x0",
        "y0",
        "x1",
        "y1",
        source=sources["spacetime"],
        line_color="colour",
        line_alpha="alpha",
        line_width=2,
        level="overlay",  # redrawn at every step: its own canvas
    )
    ends = space.scatter(
        "x1",
        "y1",
        marker="marker",
        size=sizes.px(8),
        source=sources["spacetime"],
        fill_color="colour",
        line_color="colour",
        alpha="alpha",
        level="overlay",
    )
    space.add_tools(
        HoverTool(
            renderers=[arrows],
            tooltips=[
                ("", "@label: @fields"),
                ("", "@status, @x0 to @x1 ms, steps @s0 to @s1"),
            ],
        )
    )
    view = View(
        "spacetime", space, sources, ranges={"time": time_range}, figures={"spacetime": space}
    )
    view.x_fields += [
        (arrows.glyph, "x0", "x0", "s0"),
        (arrows.glyph, "x1", "x1", "s1"),
        (ends.glyph, "x", "x1", "s1"),
    ]
    view.cursors.append(_cursor(space, "spacetime_cursor"))
    return view


def build_storage(server_ids: list[int], sizes: Sizes) -> View:
    """Storage activity per server: a small table of counts."""
    sources = {"storage": empty_source("storage", vm.STORAGE_COLUMNS)}
    n = max(server_ids, default=1)
    headers = vm.STORAGE_HEADERS
    store = figure(
        title="Storage per server (counts since step 0; orange: changed in the last update)",
        width=sizes.px(560),
        height=sizes.px(90 + 30 * len(server_ids)),
        x_range=Range1d(start=-0.5, end=len(headers) - 0.5),
        y_range=Range1d(start=n + 0.5, end=min(server_ids, default=1) - 0.5),
        tools="",
        x_axis_location="above",
    )
    _style(store, sizes)
    store.grid.visible = False
    _server_axis(store, server_ids)
    store.xaxis.ticker = FixedTicker(ticks=list(range(len(headers))))
    store.xaxis.major_label_overrides = {
        k: header.replace("Save", "Save\n")
        .replace("Truncate", "Truncate\n")
        .replace("Compact", "Compact\n")
        .replace(" ", "\n")
        for k, (_, header) in enumerate(headers)
    }
    store.xaxis.major_label_text_font_size = sizes.small
    store.xaxis.major_tick_line_color = None
    boxes = store.rect(
        "x",
        "y",
        width=0.94,
        height=0.84,
        source=sources["storage"],
        fill_color="#E69F00",
        fill_alpha="flash",
        line_color="#CCCCCC",
    )
    store.text(
        "x",
        "y",
        text="text",
        source=sources["storage"],
        text_align="center",
        text_baseline="middle",
        text_font_size=sizes.normal,
    )
    store.add_tools(HoverTool(renderers=[boxes], tooltips=[("", "S@server @what: @text")]))
    return View("storage", store, sources, figures={"storage": store})


#: The views by name: the two always shown, then those of the tabs.
BUILDERS = {
    "ring": build_ring,
    "log": build_log,
    "timelines": build_timelines,
    "spacetime": build_spacetime,
    "storage": build_storage,
}
