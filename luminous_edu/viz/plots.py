"""The bokeh figures of the dashboard, built over named data sources.

Every range is a fixed ``Range1d`` that the dashboard moves itself when the data
outgrow it: auto-ranging would send range updates back from the browser after every
change (JUPYTER_NOTES.md). No figure has edit tools, so the browser never changes data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bokeh.layouts import column, row
from bokeh.models import (
    AdaptiveTicker,
    CDSView,
    ColumnDataSource,
    FixedTicker,
    GroupFilter,
    HoverTool,
    LayoutDOM,
    Range1d,
)
from bokeh.models.annotations import Legend, LegendItem
from bokeh.plotting import figure

from . import viewmodels as vm

#: Virtual milliseconds shown on the time axes; the window follows the current time.
TIME_WINDOW_MS = 1000
#: Log indexes shown at once: few enough that a cell holds its term and its command.
LOG_WINDOW = 16
#: The radius of a server on the ring, and where its election timer bar sits below it.
SERVER_RADIUS = 0.28


@dataclass
class Sizes:
    """Pixel sizes and fonts; ``projector`` makes everything larger."""

    scale: float
    small: str
    normal: str
    large: str

    @classmethod
    def pick(cls, projector: bool) -> Sizes:
        if projector:
            return cls(1.3, "15px", "19px", "24px")
        return cls(1.0, "10px", "12px", "15px")

    def px(self, value: int) -> int:
        return int(value * self.scale)


@dataclass
class Plots:
    """The layout and the sources and ranges the dashboard updates."""

    layout: LayoutDOM
    sources: dict[str, ColumnDataSource]
    time_range: Range1d
    log_range: Range1d
    term_range: Range1d
    commit_range: Range1d


def empty_source(name: str, columns: tuple[str, ...]) -> ColumnDataSource:
    return ColumnDataSource(data={c: [] for c in columns}, name=name)


def _style(fig: figure, sizes: Sizes) -> None:
    fig.toolbar_location = None
    fig.title.text_font_size = sizes.large  # type: ignore[union-attr]
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_label_text_font_size = sizes.normal
        axis.major_label_text_font_size = sizes.normal
    fig.min_border_left = 10


def _legend_item(label: Any, renderer: Any) -> Any:
    return LegendItem(label=label, renderers=[renderer])


def _legend(**options: Any) -> Any:
    return Legend(**options)


def build(server_ids: list[int], sizes: Sizes) -> Plots:
    """The figures for servers ``server_ids``. A server's row in the log matrix, the
    space-time diagram and the storage table is at y = its id, so the rows go up to the
    highest id (a gap stays where an id was never used). The dashboard builds them anew
    when the set of servers changes (a server joins, or a rewind takes it away)."""
    n = max(server_ids, default=1)
    sources = {
        "servers": empty_source("servers", vm.SERVER_COLUMNS),
        "timers": empty_source("timers", vm.TIMER_COLUMNS),
        "links": empty_source("links", vm.LINK_COLUMNS),
        "messages": empty_source("messages", vm.MESSAGE_COLUMNS),
        "log": empty_source("log", vm.LOG_COLUMNS),
        "markers": empty_source("markers", vm.MARKER_COLUMNS),
        "snapshots": empty_source("snapshots", vm.SNAPSHOT_COLUMNS),
        "terms": empty_source("terms", vm.PERIOD_COLUMNS),
        "commits": empty_source("commits", vm.PERIOD_COLUMNS),
        "spacetime": empty_source("spacetime", vm.SPACETIME_COLUMNS),
        "storage": empty_source("storage", vm.STORAGE_COLUMNS),
    }
    names = {sid: f"S{sid}" for sid in server_ids}

    # --- the cluster: servers around a ring, messages in flight between them
    ring = figure(
        title="Cluster (bar under a server: its election timer running down)",
        width=sizes.px(380),
        height=sizes.px(400),
        x_range=Range1d(start=-1.5, end=1.5),
        y_range=Range1d(start=-1.62, end=1.42),
        tools="",
        match_aspect=True,
    )
    _style(ring, sizes)
    ring.title.text_font_size = sizes.normal  # type: ignore[union-attr]
    ring.axis.visible = False
    ring.grid.visible = False
    ring.segment(
        "x0",
        "y0",
        "x1",
        "y1",
        source=sources["links"],
        line_color="colour",
        line_alpha="alpha",
        line_width="width",
    )
    # A removed server (no longer in the configuration) is drawn faded.
    circles = ring.circle(
        "x",
        "y",
        radius=SERVER_RADIUS,
        source=sources["servers"],
        fill_color="colour",
        fill_alpha="fill_alpha",
        line_color="line_colour",
        line_width=3,
    )
    ring.add_tools(HoverTool(renderers=[circles], tooltips=[("", "@config_text")]))
    for text, baseline, offset, font, style in (
        ("name", "bottom", -3, sizes.large, "bold"),
        ("term_text", "top", 1, sizes.normal, "normal"),
        ("role_text", "top", 15, sizes.small, "normal"),
    ):
        ring.text(
            "x",
            "y",
            text=text,
            source=sources["servers"],
            text_align="center",
            text_baseline=baseline,
            y_offset=sizes.px(offset),
            text_font_size=font,
            text_font_style=style,
        )
    # The timer: a grey track (a full timer) and the time left drawn over it.
    ring.rect(
        "x",
        "timer_y",
        width=0.5,
        height=0.07,
        source=sources["servers"],
        fill_color="#EEEEEE",
        line_color="#999999",
    )
    ring.rect(
        "timer_x",
        "timer_y",
        width="timer_width",
        height=0.07,
        source=sources["timers"],
        fill_color="#444444",
        line_alpha=0,
    )
    ring.text(
        "x",
        "timer_y",
        text="votes_text",
        source=sources["servers"],
        text_align="center",
        text_baseline="top",
        y_offset=sizes.px(7),
        text_font_size=sizes.small,
        text_font_style="bold",
        text_color="#B07800",
    )
    dots = ring.scatter(
        "x",
        "y",
        size=sizes.px(13),
        source=sources["messages"],
        fill_color="colour",
        line_color="#000000",
        fill_alpha="alpha",
        line_alpha="alpha",
    )
    ring.text(
        "x",
        "y",
        text="short",
        source=sources["messages"],
        x_offset=8,
        text_baseline="middle",
        text_font_size=sizes.small,
        text_alpha="alpha",
    )
    ring.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[("message", "@fields"), ("sent", "@sent ms"), ("due", "@due ms")],
        )
    )

    # --- the log matrix
    log_range = Range1d(start=0.5, end=LOG_WINDOW + 0.5)
    log = figure(
        title="Logs (in each cell: term on top, command below · solid: committed · "
        "hatched: not yet)",
        width=sizes.px(700),
        height=sizes.px(100 + 46 * n),
        x_range=log_range,
        y_range=Range1d(start=n + 0.6, end=0.4),
        tools="",
        x_axis_label="log index",
    )
    _style(log, sizes)
    log.title.text_font_size = sizes.normal  # type: ignore[union-attr]
    log.yaxis.ticker = server_ids
    log.yaxis.major_label_overrides = {sid: name for sid, name in names.items()}
    log.xaxis.ticker = AdaptiveTicker(min_interval=1, num_minor_ticks=0)
    log.xgrid.visible = False
    cells = log.rect(
        "x",
        "y",
        width=0.92,
        height=0.7,
        source=sources["log"],
        fill_color="fill",
        fill_alpha="fill_alpha",
        line_color="#000000",
        line_alpha="line_alpha",
        hatch_pattern="hatch",
        hatch_color="#555555",
        hatch_alpha="line_alpha",
    )
    # Log compaction (§7): the indexes a server's snapshot covers, as one block.
    snapshots = log.rect(
        "x",
        "y",
        width="width",
        height=0.7,
        source=sources["snapshots"],
        fill_color="#EEEEEE",
        fill_alpha="alpha",
        line_color="#555555",
        line_alpha="alpha",
        line_dash="dashed",
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
    )
    log.add_tools(
        HoverTool(
            renderers=[snapshots],
            tooltips=[("", "S@server: @text; its log holds only the entries after it")],
        )
    )
    for text, offset, style in (("term_text", -8, "bold"), ("label", 7, "normal")):
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
        )
    legend_items = []
    marks: list[Any] = []
    for kind, label, marker, size, angle in (
        ("commit", "commit index (after this cell)", "dash", 30, 1.5708),
        ("next", "leader's next_index for this server", "inverted_triangle", 10, 0.0),
        ("match", "leader's match_index for this server", "triangle", 10, 0.0),
    ):
        mark = log.scatter(
            "x",
            "y",
            marker=marker,
            size=sizes.px(size),
            angle=angle,
            line_width=3 if kind == "commit" else 1,
            source=sources["markers"],
            view=CDSView(filter=GroupFilter(column_name="kind", group=kind)),
            fill_color="colour",
            line_color="colour",
        )
        marks.append(mark)
        legend_items.append(_legend_item(label, mark))
    log.add_layout(
        _legend(
            items=legend_items,
            orientation="horizontal",
            label_text_font_size=sizes.small,
            padding=2,
            spacing=12,
            border_line_alpha=0,
        ),
        "below",
    )
    log.add_tools(
        HoverTool(
            renderers=[cells],
            tooltips=[
                ("entry", "S@server index @index"),
                ("term", "@term"),
                ("data", "@data"),
                ("committed", "@committed"),
            ],
        )
    )
    log.add_tools(HoverTool(renderers=marks, tooltips=[("", "@text")]))

    # --- terms and commit indexes over virtual time (one shared time axis)
    time_range = Range1d(start=0, end=TIME_WINDOW_MS)
    term_range = Range1d(start=-0.3, end=3.5)
    commit_range = Range1d(start=-0.3, end=5.5)
    timelines = []
    for name, title, y_range, label in (
        ("terms", "Terms over time (thick: leader)", term_range, "term"),
        ("commits", "Commit index over time", commit_range, "commit index"),
    ):
        fig = figure(
            title=title,
            width=sizes.px(540),
            height=sizes.px(230),
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
        )
        fig.add_layout(
            _legend(
                items=[_legend_item({"field": "name"}, lines)],
                label_text_font_size=sizes.small,
                padding=2,
                spacing=0,
                glyph_width=14,
                border_line_alpha=0,
            ),
            "right",
        )
        fig.add_tools(
            HoverTool(
                renderers=[lines],
                tooltips=[
                    ("", "@name @role"),
                    (label, "@value"),
                    ("from", "@x0 ms"),
                    ("to", "@x1 ms"),
                ],
            )
        )
        timelines.append(fig)

    # --- the space-time diagram
    space = figure(
        title="Messages: space-time (x: lost)",
        width=sizes.px(680),
        height=sizes.px(60 + 34 * n),
        x_range=time_range,
        y_range=Range1d(start=n + 0.5, end=0.5),
        tools="",
        x_axis_label="virtual time (ms)",
    )
    _style(space, sizes)
    space.yaxis.ticker = server_ids
    space.yaxis.major_label_overrides = {sid: name for sid, name in names.items()}
    arrows = space.segment(
        "x0",
        "y0",
        "x1",
        "y1",
        source=sources["spacetime"],
        line_color="colour",
        line_alpha="alpha",
        line_width=2,
    )
    space.scatter(
        "x1",
        "y1",
        marker="marker",
        size=sizes.px(8),
        source=sources["spacetime"],
        fill_color="colour",
        line_color="colour",
        alpha="alpha",
    )
    space.add_tools(
        HoverTool(
            renderers=[arrows],
            tooltips=[("", "@label: @fields"), ("", "@status, @x0 -> @x1 ms")],
        )
    )

    # --- storage activity per server: a small table of counts
    headers = vm.STORAGE_HEADERS
    store = figure(
        title="Storage per server (counts since step 0)",
        width=sizes.px(400),
        height=sizes.px(60 + 34 * n),
        x_range=Range1d(start=-0.5, end=len(headers) - 0.5),
        y_range=Range1d(start=n + 0.5, end=0.5),
        tools="",
        x_axis_location="above",
    )
    _style(store, sizes)
    store.title.text_font_size = sizes.normal  # type: ignore[union-attr]
    store.grid.visible = False
    store.yaxis.ticker = server_ids
    store.yaxis.major_label_overrides = {sid: name for sid, name in names.items()}
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
    store.add_tools(
        HoverTool(
            renderers=[boxes],
            tooltips=[("", "S@server @what: @text (orange: changed in the last update)")],
        )
    )

    # The ring in a column of its own: in a row, bokeh gives plots the same borders, and
    # the ring took the log matrix's axis border (89 px) as empty space under its frame.
    layout = column(row(column(ring), log), row(*timelines), row(space, store))
    return Plots(layout, sources, time_range, log_range, term_range, commit_range)
