"""A KVStore on screen: its Raft groups' dashboards, side by side or one chosen, and the
history of its clients' operations with the checker's verdict.

``KVView(store)`` (also ``store.show()``) is an ``ipywidgets.VBox`` (CSS class
``luminous-kv``): a row of controls (``Step``, ``Run`` for the chosen number of virtual
ms, ``Check``, and a ``Show`` choice between all shards side by side and one shard), a
status line, the groups' dashboards (``le.Dashboard(group)`` each, built when first
shown), and a ``HistoryView`` of ``store.history``. The controls drive the *store* (its
clients and every group together); each dashboard's own buttons drive its group alone,
which leaves the store's clients behind: use the controls above them. After driving the
store from Python, call ``view.refresh()``.

The history's time cursor (``HistoryView.show_time``) follows the time shown: after the
store's Step or Run, and ``refresh()``, it is at ``store.now``; when a group's own
dashboard moves its group (its Step, Back, Run, Reset, the slider, ``seek``), at that
group's ``cluster.now``, and the status line names the shard whose time it is
(``view.cursor_shard``; None for the store's time). The operations the cluster had not
seen yet at that time fade. It listens through each dashboard's ``listeners``.
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .bokehjs import LoadsBokehJS
from .history import HistoryView

if TYPE_CHECKING:
    from ..kv import KVStore

ALL = "all shards"


class KVView(LoadsBokehJS, widgets.VBox):  # type: ignore[misc]
    """The store's groups and its history (see the module docstring). ``shard=None``
    shows every group side by side; ``shard=i`` shows group i alone."""

    def __init__(
        self, store: KVStore, *, shard: int | None = None, projector: bool = False
    ) -> None:
        from ..kv import KVStore

        if not isinstance(store, KVStore):
            raise TypeError(f"KVView needs a le.KVStore, not {store!r}")
        if shard is not None and (type(shard) is not int or not 0 <= shard < store.shards):
            raise ValueError(
                f"shard={shard!r}: the shards are 0..{store.shards - 1}, or None for all"
            )
        self.store = store
        self.projector = projector
        #: The shard whose dashboard last set the history's cursor (None: the store's time).
        self.cursor_shard: int | None = None
        self._quiet = False  # refreshing the dashboards ourselves: not a move to follow
        self.dashboards: dict[int, Any] = {}
        self._titles: dict[int, widgets.HTML] = {}
        self._boxes: dict[int, widgets.VBox] = {}
        self.step_button = widgets.Button(description="Step", tooltip="fire the store's next event")
        self.run_button = widgets.Button(description="Run", tooltip="run the store this many ms")
        self.run_ms = widgets.BoundedIntText(value=100, min=1, max=60_000, description="ms")
        self.check_button = widgets.Button(description="Check", tooltip="check the history")
        choices = [ALL] + [f"shard {g}" for g in range(store.shards)]
        self.chooser = widgets.Dropdown(
            options=choices, value=ALL if shard is None else f"shard {shard}", description="Show"
        )
        self.status = widgets.HTML(value="")
        self.status.add_class("luminous-status")
        self.groups_box = widgets.HBox([], layout=widgets.Layout(overflow="auto"))
        self.history = HistoryView(store.history, store.check(timeout_s=2.0), cursor=store.now)
        controls = widgets.HBox(
            [self.step_button, self.run_button, self.run_ms, self.check_button, self.chooser]
        )
        controls.add_class("luminous-controls")
        super().__init__([controls, self.status, self.groups_box, self.history])
        self.add_class("luminous-kv")
        self.step_button.on_click(lambda _: self._act(store.step))
        self.run_button.on_click(lambda _: self._act(lambda: store.run(self.run_ms.value)))
        self.check_button.on_click(lambda _: self._act(lambda: None))
        self.chooser.observe(lambda _: self._show_groups(), names="value")
        self._show_groups()
        self._update_status()

    @property
    def shown(self) -> list[int]:
        """The shards whose dashboards are shown."""
        value = self.chooser.value
        return list(range(self.store.shards)) if value == ALL else [int(value.split()[1])]

    def _dashboard(self, shard: int) -> Any:
        if shard not in self.dashboards:
            from .dashboard import Dashboard

            dashboard = Dashboard(self.store.groups[shard], projector=self.projector)
            dashboard.listeners.append(functools.partial(self._on_dashboard, shard))
            self.dashboards[shard] = dashboard
        return self.dashboards[shard]

    def _on_dashboard(self, shard: int, dashboard: Any) -> None:
        """Group ``shard``'s dashboard drew a new state: the cursor goes to its time."""
        if self._quiet:
            return
        self.cursor_shard = shard
        self.history.show_time(dashboard.cluster.now)
        self._update_status()

    def _show_groups(self) -> None:
        """Show the chosen groups' dashboards, each brought up to date."""
        boxes = []
        for shard in self.shown:
            leader = self.store.groups[shard].leader
            dashboard = self._dashboard(shard)
            self._quiet = True
            try:
                dashboard.refresh()
            finally:
                self._quiet = False
            if shard not in self._boxes:
                self._titles[shard] = widgets.HTML()
                # Each at its own width, the row scrolling sideways, rather than squeezed.
                self._boxes[shard] = widgets.VBox(
                    [self._titles[shard], dashboard], layout=widgets.Layout(flex="0 0 auto")
                )
            name = f"S{leader}" if leader else "none"
            self._titles[shard].value = f"<b>shard {shard}</b> · leader {name}"
            boxes.append(self._boxes[shard])
        if tuple(boxes) != tuple(self.groups_box.children):
            self.groups_box.children = boxes

    def _act(self, action: Any) -> None:
        try:
            action()
        except Exception as error:  # never into the notebook: say it in the status line
            self._update_status(error=f"{type(error).__name__}: {error}")
            return
        self.refresh()

    def refresh(self) -> None:
        """Bring the picture up to date with the store (after driving it from Python);
        the history's cursor goes back to the store's time."""
        self._show_groups()
        self.cursor_shard = None
        with self.history.bokeh.batch():
            self.history.show_time(self.store.now)
            self.history.update(self.store.history, self.store.check(timeout_s=2.0))
        self._update_status()

    def _update_status(self, error: str | None = None) -> None:
        store = self.store
        leaders = ", ".join(
            f"shard {g}: {'S' + str(leader) if leader else 'none'}"
            for g, leader in store.leaders.items()
        )
        waiting = sum(len(c.pending) for c in store.clients.values())
        text = (
            f"t={store.now} ms · leaders {leaders} · {len(store.history)} operations, "
            f"{waiting} waiting"
        )
        if self.cursor_shard is not None:
            shard = self.cursor_shard
            text += (
                f" · history cursor: shard {shard}'s time, "
                f"t={self.store.groups[shard].now} ms (Check: back to the store's)"
            )
        if error is not None:
            text += f" · <span style='color:#d62728'>{html.escape(error)}</span>"
        self.status.value = text
