"""The bokeh figures of the dashboard, built over named data sources.

Every range is a fixed ``Range1d`` that the dashboard moves itself when the data
outgrow it: auto-ranging would send range updates back from the browser after every
change (JUPYTER_NOTES.md). No figure has edit tools, so the browser never changes data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bokeh.layouts import column, row
from bokeh.models import (
    ColumnDataSource,
    HoverTool,
    LayoutDOM,
    Range1d,
)
from bokeh.plotting import figure

from . import viewmodels as vm

TIME_WINDOW_MS = 2000
LOG_WINDOW = 24


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


def build(server_ids: list[int], sizes: Sizes) -> Plots:
    n = len(server_ids)
    sources = {
        "servers": empty_source("servers", vm.SERVER_COLUMNS),
        "links": empty_source("links", vm.LINK_COLUMNS),
        "messages": empty_source("messages", vm.MESSAGE_COLUMNS),
        "log": empty_source("log", vm.LOG_COLUMNS),
        "markers": empty_source("markers", vm.MARKER_COLUMNS),
        "terms": empty_source("terms", vm.PERIOD_COLUMNS),
        "commits": empty_source("commits", vm.PERIOD_COLUMNS),
        "spacetime": empty_source("spacetime", vm.SPACETIME_COLUMNS),
    }
    names = {sid: f"S{sid}" for sid in server_ids}

    # --- the cluster: servers around a ring, messages in flight between them
    ring = figure(
        title="Cluster",
        width=sizes.px(380),
        height=sizes.px(380),
        x_range=Range1d(start=-1.45, end=1.45),
        y_range=Range1d(start=-1.45, end=1.5),
        tools="",
        match_aspect=True,
    )
    _style(ring, sizes)
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
    ring.circle(
        "x",
        "y",
        radius=0.24,
        source=sources["servers"],
        fill_color="colour",
        line_color="line_colour",
        line_width=3,
    )
    ring.text(
        "x",
        "y",
        text="name",
        source=sources["servers"],
        text_align="center",
        text_baseline="bottom",
        text_font_size=sizes.large,
        text_font_style="bold",
    )
    ring.text(
        "x",
        "y",
        text="term_text",
        source=sources["servers"],
        text_align="center",
        text_baseline="top",
        text_font_size=sizes.normal,
    )
    ring.text(
        "x",
        "y",
        text="role",
        source=sources["servers"],
        text_align="center",
        text_baseline="top",
        y_offset=sizes.px(16),
        text_font_size=sizes.small,
    )
    ring.text(
        "x",
        "y",
        text="votes_text",
        source=sources["servers"],
        text_align="center",
        text_baseline="bottom",
        y_offset=-sizes.px(30),
        text_font_size=sizes.small,
        text_color="#E69F00",
    )
    ring.rect(
        "timer_x",
        "timer_y",
        width="timer_width",
        height=0.05,
        source=sources["servers"],
        fill_color="#444444",
        line_alpha=0,
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
        title="Logs (solid: committed; hatched: not yet committed)",
        width=sizes.px(620),
        height=sizes.px(60 + 46 * n),
        x_range=log_range,
        y_range=Range1d(start=n + 0.6, end=0.4),
        tools="",
        x_axis_label="log index",
    )
    _style(log, sizes)
    log.yaxis.ticker = server_ids
    log.yaxis.major_label_overrides = {sid: name for sid, name in names.items()}
    log.xgrid.visible = False
    cells = log.rect(
        "x",
        "y",
        width=0.92,
        height=0.8,
        source=sources["log"],
        fill_color="fill",
        fill_alpha="fill_alpha",
        line_color="#000000",
        line_alpha="line_alpha",
        hatch_pattern="hatch",
        hatch_color="#555555",
        hatch_alpha="line_alpha",
    )
    log.text(
        "x",
        "y",
        text="label",
        source=sources["log"],
        text_align="center",
        text_baseline="middle",
        text_font_size=sizes.small,
        text_color="text_colour",
        text_alpha="line_alpha",
    )
    log.text(
        "x",
        "y",
        text="term_text",
        source=sources["log"],
        x_offset=-sizes.px(13),
        y_offset=-sizes.px(8),
        text_font_size=sizes.small,
        text_color="text_colour",
        text_alpha="line_alpha",
        text_font_style="bold",
    )
    marks = log.scatter(
        "x",
        "y",
        marker="marker",
        size=sizes.px(12),
        source=sources["markers"],
        fill_color="colour",
        line_color="colour",
    )
    log.add_tools(
        HoverTool(
            renderers=[cells],
            tooltips=[
                ("entry", "S@server index @index"),
                ("term", "@term"),
                ("data", "@label"),
                ("committed", "@committed"),
            ],
        )
    )
    log.add_tools(HoverTool(renderers=[marks], tooltips=[("", "@text")]))

    # --- terms and commit indexes over virtual time (one shared time axis)
    time_range = Range1d(start=0, end=TIME_WINDOW_MS)
    term_range = Range1d(start=-0.5, end=3.5)
    commit_range = Range1d(start=-0.5, end=5.5)
    timelines = []
    for name, title, y_range, label in (
        ("terms", "Terms over time (thick: leader)", term_range, "term"),
        ("commits", "Commit index over time", commit_range, "commit index"),
    ):
        fig = figure(
            title=title,
            width=sizes.px(500),
            height=sizes.px(230),
            x_range=time_range,
            y_range=y_range,
            tools="",
            x_axis_label="virtual time (ms)",
            y_axis_label=label,
        )
        _style(fig, sizes)
        lines = fig.segment(
            "x0",
            "y",
            "x1",
            "y",
            source=sources[name],
            line_color="colour",
            line_width="width",
            line_alpha="alpha",
            legend_field="name",
        )
        fig.legend.location = "top_left"
        fig.legend.orientation = "horizontal"
        fig.legend.label_text_font_size = sizes.small
        fig.legend.background_fill_alpha = 0.6
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
        width=sizes.px(1010),
        height=sizes.px(50 + 34 * n),
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
        HoverTool(renderers=[arrows], tooltips=[("", "@fields"), ("", "@status, @x0 -> @x1 ms")])
    )

    layout = column(row(ring, log), row(*timelines), space)
    return Plots(layout, sources, time_range, log_range, term_range, commit_range)
