"""A history of client operations, drawn the way Porcupine draws one.

One horizontal lane per client; each operation a bar from its call to its return (an
operation whose outcome is unknown runs to the right edge, hatched). When the checker
found an order, a line per key joins the operations in that order, through a point of
each bar (the earliest that keeps the order). When it found none, the operations it
could order are drawn in their key's colour, joined in that order; the operation that
cannot be placed after them is red, a red line marks its return (it had to take effect
by then, and no order lets it), and the operations left over are grey.

The time cursor: a dashed vertical line at a virtual time t, to see the history as the
cluster had seen it at t. Operations not yet called at t are faded (their ``alpha`` is
``FADED``); those called and not yet returned at t are in flight, dotted (``hatch`` is
``IN_FLIGHT``; an operation whose outcome is unknown keeps its ``/`` hatch, and is in
flight at every t after its call). The ``when`` column says which, for the tooltip:
``"not yet called"``, ``"in flight"``, ``"returned"`` (``""`` with no cursor). The x
range includes the cursor.

``history_columns`` is plain Python (operations, a result and a cursor -> columns);
``HistoryView`` is the widget: an ``ipywidgets.VBox`` with a verdict line over a bokeh
figure whose data sources are named ``history`` (the bars), ``history_order`` (the
lines), ``history_points`` (where each operation takes effect in that order),
``history_failure`` (the red mark) and ``history_cursor`` (the cursor: its time ``x``,
empty with no cursor). ``view.update(operations, result)`` redraws it (the cursor
stays); ``view.show_time(t)`` moves the cursor to t (None: no cursor, the default), and
``view.cursor`` is where it is. ``KVView`` (``store.show()``) keeps its history's cursor
at the time its dashboards show (see ``kv``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import ipywidgets as widgets
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, Range1d
from bokeh.plotting import figure

from ..check import LinearizabilityResult, Operation, check_linearizable
from .bokeh_fixes import LiveBokehModel
from .bokehjs import LoadsBokehJS

#: Colours of the keys' operations and order lines (Okabe & Ito, without red).
KEY_COLOURS = ("#0072b2", "#009e73", "#e69f00", "#56b4e9", "#cc79a7", "#f0e442", "#000000")
FAILING = "#d62728"
LEFT_OVER = "#bbbbbb"
CURSOR = "#555555"
#: The fill alpha of an operation not yet called at the cursor.
FADED = 0.1
#: The hatch of an operation called and not yet returned at the cursor; an operation
#: whose outcome is unknown keeps ``UNKNOWN`` (it never returns).
IN_FLIGHT = "."
UNKNOWN = "/"
#: Bars get a text label when there are at most this many operations.
MAX_LABELS = 60
BAR_HALF_HEIGHT = 0.32


def _describe(model: Any, op: Operation) -> str:
    describe = getattr(model, "describe", None)
    if describe is None:
        return f"{op.input} -> {op.output}"
    try:
        return str(describe(op.input, op.output))
    except Exception:  # a model of the student's own: never fail the picture for it
        return f"{op.input} -> {op.output}"


def at_cursor(op: Operation, t: float | None) -> str:
    """What the cluster had seen of ``op`` at virtual time ``t``: ``"not yet called"``,
    ``"in flight"`` (called, not returned: its outcome unknown at t) or ``"returned"``;
    ``""`` when there is no cursor (``t`` is None)."""
    if t is None:
        return ""
    if op.call > t:
        return "not yet called"
    return "in flight" if op.ret is None or op.ret > t else "returned"


def history_columns(
    operations: Sequence[Operation],
    result: LinearizabilityResult | None,
    cursor: float | None = None,
) -> dict[str, dict[str, list[Any]]]:
    """The columns of the five sources for ``operations`` and the checker's
    ``result`` on them (None: not checked, every bar in its key's colour), with the
    time cursor at ``cursor`` (None: no cursor). With a result, the operations drawn
    are those it checked (``result.operations``)."""
    ops = list(result.operations if result is not None else operations)
    model = result.model if result is not None else None
    clients: list[Any] = []
    for op in sorted(ops, key=lambda o: o.call):
        if op.client not in clients:
            clients.append(op.client)
    lane = {client: i for i, client in enumerate(clients)}
    times = [t for op in ops for t in (op.call, op.ret) if t is not None]
    if cursor is not None:
        times.append(cursor)
    start = min(times, default=0)
    end = max(times, default=1)
    margin = max(1.0, (end - start) * 0.04)
    right_edge = end + margin

    parts = result.parts if result is not None else ()
    label_of: dict[int, Any] = {}  # id(op) -> partition label
    place: dict[int, int] = {}  # id(op) -> position in its part's order
    for part in parts:
        for op in part.operations:
            label_of[id(op)] = part.label
        for position, op in enumerate(part.order, 1):
            place[id(op)] = position
    failing = result.failing if result is not None and result.ok is False else None
    labels = sorted({repr(v) for v in label_of.values()})
    colour_of = {label: KEY_COLOURS[i % len(KEY_COLOURS)] for i, label in enumerate(labels)}

    bars: dict[str, list[Any]] = {
        name: []
        for name in (
            "left", "right", "bottom", "top", "client", "text", "label", "key", "colour",
            "alpha", "line_alpha", "hatch", "status", "when", "order", "call", "ret",
        )
    }  # fmt: skip
    for op in ops:
        key = label_of.get(id(op))
        if op is failing:
            colour, status = FAILING, "cannot be placed"
        elif id(op) in place:
            colour, status = colour_of[repr(key)], "ordered"
        elif result is None:
            colour, status = KEY_COLOURS[0], "not checked"
        else:
            colour, status = LEFT_OVER, "left over" if key is not None else "not checked"
        text = _describe(model, op) if model is not None else _plain(op)
        y = lane[op.client]
        bars["left"].append(op.call)
        bars["right"].append(right_edge if op.ret is None else op.ret)
        bars["bottom"].append(y - BAR_HALF_HEIGHT)
        bars["top"].append(y + BAR_HALF_HEIGHT)
        bars["client"].append(str(op.client))
        bars["text"].append(text)
        bars["label"].append(text if len(ops) <= MAX_LABELS else "")
        bars["key"].append("" if key is None else str(key))
        bars["colour"].append(colour)
        state = at_cursor(op, cursor)
        seen = state != "not yet called"
        bars["alpha"].append(
            (0.9 if status in ("ordered", "cannot be placed") else 0.45) if seen else FADED
        )
        bars["line_alpha"].append(1.0 if seen else 0.3)
        hatch = IN_FLIGHT if state == "in flight" else " "
        bars["hatch"].append(UNKNOWN if op.ret is None else hatch)
        bars["status"].append(status)
        bars["when"].append(state)
        bars["order"].append(place.get(id(op), ""))
        bars["call"].append(op.call)
        bars["ret"].append("unknown" if op.ret is None else op.ret)

    order: dict[str, list[Any]] = {"xs": [], "ys": [], "colour": [], "key": []}
    points: dict[str, list[Any]] = {"x": [], "y": [], "colour": []}
    for part in parts:
        xs, ys = _path(part.order, lane)
        if xs:
            colour = colour_of[repr(part.label)]
            order["xs"].append(xs)
            order["ys"].append(ys)
            order["colour"].append(colour)
            order["key"].append("" if part.label is None else str(part.label))
            points["x"] += xs
            points["y"] += ys
            points["colour"] += [colour] * len(xs)

    failure: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    if failing is not None:
        when = right_edge if failing.ret is None else failing.ret
        failure["x"].append(when)
        failure["y"].append(lane[failing.client])
        failure["text"].append("no order works past here")
    marks: dict[str, list[Any]] = {"x": [], "y": [], "text": []}
    if cursor is not None:
        marks["x"].append(cursor)
        marks["y"].append(max(len(clients), 1) - 0.4)  # the top edge: the label hangs below
        marks["text"].append(f"t={cursor} ms")
    return {
        "history": bars,
        "history_order": order,
        "history_points": points,
        "history_failure": failure,
        "history_cursor": marks,
        "frame": {"start": [start - margin], "end": [right_edge + margin], "lanes": [clients]},
    }


def _plain(op: Operation) -> str:
    given = op.input if isinstance(op.input, dict) else {}
    name = given.get("op", "?")
    key = f"{given['key']!r}" if "key" in given else ""
    got = "" if op.output is None else f" -> {op.output}"
    return f"{name}({key}){got}"


def _path(order: Iterable[Operation], lane: dict[Any, int]) -> tuple[list[float], list[float]]:
    """Points through the bars in linearization order: each at the earliest moment
    inside its bar that is not before the previous point."""
    xs: list[float] = []
    ys: list[float] = []
    at = float("-inf")
    for op in order:
        at = max(at, op.call)
        if op.ret is not None:
            at = min(at, op.ret)  # a valid order never needs this; a prefix may
        xs.append(at)
        ys.append(lane[op.client])
    return xs, ys


class HistoryView(LoadsBokehJS, widgets.VBox):  # type: ignore[misc]
    """A history drawn as Porcupine draws it (see the module docstring). Give the
    operations, and the checker's result if you have it; with ``check=True`` (the
    default) the view runs ``check_linearizable(operations, model)`` itself.
    ``cursor`` is the time cursor's virtual time (None: no cursor; ``show_time``)."""

    def __init__(
        self,
        operations: Sequence[Operation] = (),
        result: LinearizabilityResult | None = None,
        *,
        model: Any = "kv",
        check: bool = True,
        width: int = 860,
        cursor: float | None = None,
    ) -> None:
        self.model = model
        self.check = check
        self._cursor = _checked_time(cursor)
        self._lanes: list[Any] | None = None  # the clients the y axis shows, once drawn
        self.verdict = widgets.HTML(value="")
        self.sources = {
            name: ColumnDataSource(name=name)
            for name in (
                "history", "history_order", "history_points", "history_failure",
                "history_cursor",
            )
        }  # fmt: skip
        # Fixed ranges: auto-ranging would send updates back after every change.
        self.x_range = Range1d(start=0, end=1)
        self.y_range = Range1d(start=-0.6, end=0.6)
        self.figure = figure(
            width=width,
            height=160,
            x_range=self.x_range,
            y_range=self.y_range,
            toolbar_location=None,
            x_axis_label="virtual time (ms)",
        )
        self._draw()
        self._fill(operations, result)
        self.bokeh = LiveBokehModel(self.figure)
        super().__init__([self.verdict, self.bokeh])
        self.add_class("luminous-history")

    def _draw(self) -> None:
        fig, bars = self.figure, self.sources["history"]
        fig.ygrid.grid_line_color = None
        fig.yaxis.ticker = FixedTicker(ticks=[])
        quads = fig.quad(
            left="left",
            right="right",
            bottom="bottom",
            top="top",
            source=bars,
            fill_color="colour",
            fill_alpha="alpha",
            line_color="colour",
            line_alpha="line_alpha",
            hatch_pattern="hatch",
            hatch_color="white",
            hatch_alpha=0.6,
        )
        fig.text(
            x="left",
            y="bottom",
            text="label",
            source=bars,
            x_offset=3,
            y_offset=-3,
            text_font_size="9px",
            text_baseline="bottom",
            text_color="black",
            text_alpha="line_alpha",
        )
        fig.multi_line(
            xs="xs", ys="ys", source=self.sources["history_order"], line_color="colour",
            line_width=1.5, line_alpha=0.8,
        )  # fmt: skip
        fig.scatter(
            x="x", y="y", source=self.sources["history_points"], size=6, fill_color="white",
            line_color="colour", line_width=1.5,
        )  # fmt: skip
        failure = self.sources["history_failure"]
        fig.segment(
            x0="x", x1="x", y0=-1e6, y1=1e6, source=failure, line_color=FAILING, line_width=2
        )
        fig.scatter(x="x", y="y", source=failure, size=12, marker="x", line_color=FAILING)
        fig.text(
            x="x", y="y", text="text", source=failure, x_offset=-6, y_offset=-14,
            text_color=FAILING, text_font_size="10px", text_align="right",
        )  # fmt: skip
        cursor = self.sources["history_cursor"]
        fig.segment(
            x0="x", x1="x", y0=-1e6, y1=1e6, source=cursor, line_color=CURSOR, line_width=1.5,
            line_dash="dashed",
        )  # fmt: skip
        fig.text(
            x="x", y="y", text="text", source=cursor, x_offset=-4, y_offset=1,
            text_color=CURSOR, text_font_size="10px", text_align="right", text_baseline="top",
        )  # fmt: skip
        fig.add_tools(
            HoverTool(
                renderers=[quads],
                tooltips=[
                    ("client", "@client"),
                    ("operation", "@text"),
                    ("key", "@key"),
                    ("called / returned", "@call / @ret ms"),
                    ("order", "@order (@status)"),
                    ("at the cursor", "@when"),
                ],
            )
        )

    def _fill(self, operations: Sequence[Operation], result: LinearizabilityResult | None) -> None:
        ops = list(operations if result is None else result.operations)
        if result is None and self.check and ops:
            result = check_linearizable(ops, self.model, timeout_s=2.0)
        self.result = result
        self._ops = ops
        self._draw_columns()
        self.verdict.value = _verdict(ops, result)

    def _draw_columns(self) -> None:
        """Send the columns of the operations, result and cursor held: only the
        columns that changed, when a source keeps its length (a cursor move changes a
        few)."""
        columns = history_columns(self._ops, self.result, self._cursor)
        for name, source in self.sources.items():
            new, old = columns[name], source.data
            if set(old) == set(new) and all(len(old[k]) == len(v) for k, v in new.items()):
                changed = {k: v for k, v in new.items() if list(old[k]) != v}
                if changed:
                    source.data.update(changed)
            else:
                source.data = new
        frame = columns["frame"]
        self.x_range.start, self.x_range.end = frame["start"][0], frame["end"][0]
        clients = list(frame["lanes"][0])
        if clients != self._lanes:  # not on a cursor move: a new ticker is a new model
            self._lanes = clients
            self.y_range.end = max(len(clients), 1) - 0.4
            self.figure.yaxis.ticker = FixedTicker(ticks=list(range(len(clients))))
            self.figure.yaxis.major_label_overrides = {i: str(c) for i, c in enumerate(clients)}
            self.figure.height = 70 + 34 * max(len(clients), 1)

    def update(
        self, operations: Sequence[Operation], result: LinearizabilityResult | None = None
    ) -> None:
        """Draw ``operations`` (and ``result``, or a fresh check) instead; the cursor
        stays where it is."""
        with self.bokeh.batch():
            self._fill(operations, result)

    @property
    def cursor(self) -> float | None:
        """The time cursor's virtual time in ms (None: no cursor)."""
        return self._cursor

    def show_time(self, t: float | None) -> None:
        """Put the time cursor at virtual time ``t`` (ms): the operations not yet
        called by then fade, those in flight are dotted. ``None`` takes it away."""
        t = _checked_time(t)
        if t == self._cursor:
            return
        self._cursor = t
        with self.bokeh.batch():
            self._draw_columns()


def _checked_time(t: Any) -> float | None:
    if t is None:
        return None
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise ValueError(
            f"cursor time {t!r}: give a virtual time in ms (a finite number), or None for no cursor"
        )
    return t


def _verdict(ops: list[Operation], result: LinearizabilityResult | None) -> str:
    if result is None:
        return f"<span class='luminous-verdict'>{len(ops)} operations, not checked</span>"
    if result.ok:
        text, colour = f"{len(ops)} operations: linearizable", "#2a7d2a"
    elif result.ok is None:
        text, colour = f"{len(ops)} operations: the check ran out of time", "#8a6d00"
    else:
        assert result.failing is not None
        where = "" if result.key is None else f" on key {result.key!r}"
        text = (
            f"{len(ops)} operations: NOT linearizable{where}; no order can place "
            f"{result.describe(result.failing)}"
        )
        colour = FAILING
    return f"<span class='luminous-verdict' style='color:{colour}'>{html.escape(text)}</span>"
