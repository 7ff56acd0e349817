"""The cluster as a table, drawn with ipywidgets alone: where bokeh cannot go.

``TableView(cluster)`` is an ``ipywidgets.VBox``: Step, Back and Run buttons, a status
line, one row per server (role, term, vote, commit index and log) in plain HTML and
CSS, and the latest lines of the trace. It needs no library but ipywidgets, so it works
in JupyterLite, where bokeh cannot be installed (see ``missing``), and anywhere else a
widget renders. The dashboard (``cluster.show()``) shows much more: messages in flight,
timers, the time line, faults and the safety panel.

Log cells line up by index across the servers: one column per index, headed by its
number, the newest ``log_columns`` indexes shown. A cell is coloured by its entry's term
(and shows the term), solid once the server knows it committed, dashed before; hover
for the entry's data. Indexes a server has compacted into a snapshot are grey.

Stable names, as the dashboard's: buttons ``Step``, ``Back`` and ``Run 100 ms`` (for
the default ``run_ms``); a status line with ``step N`` and ``t=N ms``; CSS classes
``luminous-tableview`` on the root and ``luminous-controls``, ``luminous-status``,
``luminous-servers``, ``luminous-narration`` on its parts. Each server's row carries
``data-server``, ``data-role``, ``data-term``, ``data-commit`` and ``data-last-index``.
If you drive the cluster from code while a view shows it, call ``view.refresh()``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import LuminousError
from .palette import GREY, LIGHT_GREY, ROLE_COLOURS, term_colour, term_text_colour

if TYPE_CHECKING:
    from ..sim import Cluster

#: How many log indexes the table shows (the newest).
LOG_COLUMNS = 16
#: How many trace lines the view shows under the table.
NARRATION_LINES = 4
CELL = (
    "display:inline-block; width:1.9em; margin-right:2px; text-align:center; box-sizing:border-box"
)


def status_text(cluster: Cluster) -> str:
    """The status line: step, virtual time, leader, safety."""
    leader = cluster.leader
    who = f"leader S{leader}" if leader is not None else "no leader"
    seen = len(cluster.violations)
    safety = "safety checks: all hold" if not seen else f"safety: {seen} violation(s)"
    return f"step {cluster.step_count} · t={cluster.now} ms · {who} · {safety}"


def _cell(style: str, text: str, title: str) -> str:
    return (
        f"<span style='{CELL}; {style}' title='{html.escape(title, quote=True)}'>"
        f"{html.escape(text)}</span>"
    )


def log_cells(server: Any, first: int, last: int) -> str:
    """Server ``server``'s log from index ``first`` to ``last`` (at most), as cells."""
    by_index = {entry.index: entry for entry in server.log}
    cells = []
    for index in range(first, last + 1):
        entry = by_index.get(index)
        if entry is None:
            if index <= server.snapshot_index:
                cells.append(
                    _cell(f"background:{LIGHT_GREY}; color:{GREY}", "s", f"{index}: in a snapshot")
                )
            continue
        committed = index <= server.commit_index
        border = "solid 2px #000" if committed else "dashed 1px #000"
        data = "no-op" if entry.kind == "noop" else repr(entry.data)
        state = "committed" if committed else "not committed yet"
        cells.append(
            _cell(
                f"background:{term_colour(entry.term)}; color:{term_text_colour(entry.term)}; "
                f"border:{border}",
                str(entry.term),
                f"index {index}, term {entry.term}, {state}: {data}",
            )
        )
    return "".join(cells)


def servers_html(cluster: Cluster, log_columns: int = LOG_COLUMNS) -> str:
    """The servers' table as HTML: one row per server, logs aligned by index."""
    servers = [cluster.servers[i] for i in cluster.servers]
    last = max((s.log[-1].index if s.log else s.snapshot_index for s in servers), default=0)
    first = max(1, last - log_columns + 1)
    header = "".join(_cell("color:#555", str(i), f"index {i}") for i in range(first, last + 1))
    if first > 1:
        header = f"<span style='color:#555'>… </span>{header}"
    th = "style='text-align:left; padding:2px 8px'"
    rows = [
        f"<tr><th {th}>server</th><th {th}>role</th><th {th}>term</th><th {th}>voted for</th>"
        f"<th {th}>commit</th><th {th}>log (index →)<br>{header}</th></tr>"
    ]
    for s in servers:
        role = s.role.value if s.alive else "down"
        last_index = s.log[-1].index if s.log else s.snapshot_index
        voted = f"S{s.voted_for}" if s.voted_for is not None else "–"
        colour = ROLE_COLOURS.get(role, GREY)
        weight = "bold" if role == "leader" else "normal"
        td = "style='padding:2px 8px'"
        rows.append(
            f"<tr data-server='{s.id}' data-role='{role}' data-term='{s.current_term}' "
            f"data-commit='{s.commit_index}' data-last-index='{last_index}'>"
            f"<td {td}><b>S{s.id}</b></td>"
            f"<td {td}><span style='background:{colour}; padding:1px 6px; border-radius:8px; "
            f"font-weight:{weight}'>{role}</span></td>"
            f"<td {td}>{s.current_term}</td><td {td}>{voted}</td><td {td}>{s.commit_index}</td>"
            f"<td {td}>{'… ' if first > 1 else ''}{log_cells(s, first, last)}</td></tr>"
        )
    return (
        "<table style='border-collapse:collapse; font-family:monospace; font-size:13px'>"
        + "".join(rows)
        + "</table>"
    )


def _guarded(method: Callable[[TableView], None]) -> Callable[[TableView], None]:
    """A control's handler: any error shows in the view, never raises into the notebook."""

    @functools.wraps(method)
    def handler(self: TableView) -> None:
        self._notice("")
        try:
            method(self)
        except Exception as error:  # a control must never break the view
            self._notice(f"{type(error).__name__}: {error}")
        self.refresh()

    return handler


class TableView(widgets.VBox):  # type: ignore[misc]
    """A cluster as a table with Step, Back and Run buttons, in ipywidgets alone.

    ``run_ms`` is how much virtual time the Run button plays; ``log_columns`` how many
    log indexes the table shows; ``narration_lines`` how many trace lines."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        run_ms: int = 100,
        log_columns: int = LOG_COLUMNS,
        narration_lines: int = NARRATION_LINES,
    ) -> None:
        from ..sim import Cluster

        if not isinstance(cluster, Cluster):
            raise TypeError(f"TableView needs a le.Cluster, not {cluster!r}")
        for name, value, least in (
            ("run_ms", run_ms, 1),
            ("log_columns", log_columns, 1),
            ("narration_lines", narration_lines, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise LuminousError(
                    f"TableView: {name} must be a whole number >= {least}, not {value!r}"
                )
        self.cluster = cluster
        self.run_ms = run_ms
        self.log_columns = log_columns
        self.narration_lines = narration_lines
        self.step_button = self._button("Step", self.on_step, "fire the next event")
        self.back_button = self._button("Back", self.on_back, "go back one step")
        self.run_button = self._button(
            f"Run {run_ms} ms", self.on_run, f"play {run_ms} ms of virtual time"
        )
        controls = widgets.HBox([self.step_button, self.back_button, self.run_button])
        controls.add_class("luminous-controls")
        self.status = widgets.HTML()
        self.status.add_class("luminous-status")
        self.notice = widgets.HTML()
        self._last_notice = ""
        self.table = widgets.HTML()
        self.table.add_class("luminous-servers")
        self.narration = widgets.HTML()
        self.narration.add_class("luminous-narration")
        super().__init__(children=[controls, self.status, self.notice, self.table, self.narration])
        self.add_class("luminous-tableview")
        self.refresh()

    def _button(self, description: str, handler: Callable[[], None], tooltip: str) -> Any:
        button = widgets.Button(description=description, tooltip=tooltip)
        button.on_click(lambda _button: handler())
        return button

    @_guarded
    def on_step(self) -> None:
        if self.cluster.step() is None:
            self._notice("Nothing is scheduled: every server is down or idle.")

    @_guarded
    def on_back(self) -> None:
        if self.cluster.step_count == 0:
            self._notice("Already at step 0.")
            return
        self.cluster.rewind(1)

    @_guarded
    def on_run(self) -> None:
        self.cluster.run(self.run_ms)

    def refresh(self) -> None:
        """Redraw from the cluster (after driving it from code)."""
        cluster = self.cluster
        self.status.value = f"<b>{html.escape(status_text(cluster))}</b>"
        self.table.value = servers_html(cluster, self.log_columns)
        lines = cluster.trace.text(last=self.narration_lines) if self.narration_lines else ""
        self.narration.value = (
            f"<pre style='margin:4px 0; white-space:pre-wrap'>{html.escape(lines)}</pre>"
        )
        self.back_button.disabled = cluster.step_count == 0

    @property
    def last_notice(self) -> str:
        """The message shown under the controls, as plain text ("" when none)."""
        return self._last_notice

    def _notice(self, text: str) -> None:
        self._last_notice = text
        self.notice.value = (
            f"<span style='color:#D55E00'>{html.escape(text)}</span>" if text else ""
        )
