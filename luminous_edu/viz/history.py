"""A history of client operations, drawn the way Porcupine draws one.

One horizontal lane per client; each operation a bar from its call to its return (an
operation whose outcome is unknown runs to the right edge, hatched). When the checker
found an order, a line per key joins the operations in that order, through a point of
each bar (the earliest that keeps the order). When it found none, the operations it
could order are drawn in their key's colour, joined in that order; the operation that
cannot be placed after them is red, a red line marks its return (it had to take effect
by then, and no order lets it), and the operations left over are grey.

``history_columns`` is plain Python (operations and a result -> columns); ``HistoryView``
is the widget: an ``ipywidgets.VBox`` with a verdict line over a bokeh figure whose data
sources are named ``history`` (the bars), ``history_order`` (the lines),
``history_points`` (where each operation takes effect in that order) and
``history_failure`` (the red mark). ``view.update(operations, result)`` redraws it.
"""

from __future__ import annotations

import html
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


def history_columns(
    operations: Sequence[Operation], result: LinearizabilityResult | None
) -> dict[str, dict[str, list[Any]]]:
    """The columns of the four sources for ``operations`` and the checker's
    ``result`` on them (None: not checked, every bar in its key's colour). With a
    result, the operations drawn are those it checked (``result.operations``)."""
    ops = list(result.operations if result is not None else operations)
    model = result.model if result is not None else None
    clients: list[Any] = []
    for op in sorted(ops, key=lambda o: o.call):
        if op.client not in clients:
            clients.append(op.client)
    lane = {client: i for i, client in enumerate(clients)}
    times = [t for op in ops for t in (op.call, op.ret) if t is not None]
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
            "alpha", "hatch", "status", "order", "call", "ret",
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
        bars["alpha"].append(0.9 if status in ("ordered", "cannot be placed") else 0.45)
        bars["hatch"].append("/" if op.ret is None else " ")
        bars["status"].append(status)
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
    return {
        "history": bars,
        "history_order": order,
        "history_points": points,
        "history_failure": failure,
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
    default) the view runs ``check_linearizable(operations, model)`` itself."""

    def __init__(
        self,
        operations: Sequence[Operation] = (),
        result: LinearizabilityResult | None = None,
        *,
        model: Any = "kv",
        check: bool = True,
        width: int = 860,
    ) -> None:
        self.model = model
        self.check = check
        self.verdict = widgets.HTML(value="")
        self.sources = {
            name: ColumnDataSource(name=name)
            for name in ("history", "history_order", "history_points", "history_failure")
        }
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
        fig.add_tools(
            HoverTool(
                renderers=[quads],
                tooltips=[
                    ("client", "@client"),
                    ("operation", "@text"),
                    ("key", "@key"),
                    ("called / returned", "@call / @ret ms"),
                    ("order", "@order (@status)"),
                ],
            )
        )

    def _fill(self, operations: Sequence[Operation], result: LinearizabilityResult | None) -> None:
        ops = list(operations if result is None else result.operations)
        if result is None and self.check and ops:
            result = check_linearizable(ops, self.model, timeout_s=2.0)
        self.result = result
        columns = history_columns(ops, result)
        for name, source in self.sources.items():
            source.data = columns[name]
        frame = columns["frame"]
        clients = frame["lanes"][0]
        self.x_range.start, self.x_range.end = frame["start"][0], frame["end"][0]
        self.y_range.end = max(len(clients), 1) - 0.4
        self.figure.yaxis.ticker = FixedTicker(ticks=list(range(len(clients))))
        self.figure.yaxis.major_label_overrides = {i: str(c) for i, c in enumerate(clients)}
        self.figure.height = 70 + 34 * max(len(clients), 1)
        self.verdict.value = _verdict(ops, result)

    def update(
        self, operations: Sequence[Operation], result: LinearizabilityResult | None = None
    ) -> None:
        """Draw ``operations`` (and ``result``, or a fresh check) instead."""
        with self.bokeh.batch():
            self._fill(operations, result)


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
