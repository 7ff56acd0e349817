"""Workarounds for the three jupyter_bokeh traps listed in JUPYTER_NOTES.md.

Measured with jupyter_bokeh 4.1.0 (``widgets.py``), bokeh 3.9 and ipywidgets 8.1:

1. Echo. BokehJS sends every change it applies back to the kernel, the changes that
   came *from* the kernel included (``BokehView._consume_patch`` queues them while
   blocked and replays them through ``_change_event`` afterwards). The base class's
   ``_sync_model`` then applies a Python ``.stream()`` a second time, so the Python
   source ends up with duplicated rows. ``LiveBokehModel._sync_model`` drops incoming
   ``ColumnsStreamed`` / ``ColumnsPatched`` / ``ColumnDataChanged`` events and
   ``ModelChanged`` of a data source's ``data``: the browser never edits data here (no
   edit tools), so every such event is an echo. Other events (selection, ranges, bokeh
   events) go through.
2. Stale first picture. ``render_bundle`` (the document snapshot a view renders from)
   is computed once, in ``__init__``; a page reload or Voila renders the data of that
   moment. ``LiveBokehModel.get_state`` takes the snapshot afresh whenever a view asks
   for the widget state and the document changed since the last snapshot (a snapshot
   costs ~0.3 s for the dashboard), without setting the trait (that would send it again).
   A related trap, found by the browser test: the browser view applies patches only
   once it exists, and renders from ``render_bundle``. Patches sent between the
   widget's display and the view's first render (Run All: later cells step the
   cluster) are lost, and the next patch then fails in the browser ("Size mismatch").
   So the dashboard fills its sources before building the model, and an update
   from notebook code replaces the data instead of patching it (so does the update
   after it). Re-sending ``render_bundle`` instead re-renders the view, and a
   re-render that starts while the previous one is still building fails in BokehJS
   ("configuration is missing"), so that is not done.
3. BokehJS loading race. With bokeh's default CDN resources, "Run All" can render the
   widget before BokehJS has loaded ("Could not create a view for model id"); inline
   resources weigh ~8 MB per output. ``bokehjs`` loads it once per page from the
   Jupyter server instead, synchronously, before each dashboard's widget.

Batching (not a trap, a cost): the base class sends every document event as its own
PATCH-DOC, three comm messages each (header, metadata, content), so an update touching
eight data sources cost 24 messages and as many browser renders. Inside
``LiveBokehModel.batch()`` the events are collected and sent as one PATCH-DOC (BokehJS
applies a multi-event patch at once, as from a bokeh server), whatever the count.

Render acknowledgement (backpressure). The echo of trap 1 has a use: BokehJS sends it
right after applying a PATCH-DOC, in the same task. With ``track_renders`` on, every
batch also sets the ``tags`` of a model that nothing draws (``ack``, a ``CustomJS``
named in the layout's tags, so that it is in the document) to ``["render N"]`` (N
counts the batches; on the layout itself, each change made BokehJS repaint the whole
plot); the echo of that change says exactly which update the browser has applied, whatever the
echoes of other events do (not every event is echoed, and echoes of an older batch can
arrive late). ``in_flight`` counts the batches sent and not yet acknowledged. The
dashboard's Run loop keeps it small (a window of a few updates, to cover the round
trip), so that a slow browser gets fewer, fuller updates instead of a backlog it would
show seconds late.
``heard_from_browser`` is False until some view has sent anything: with no view (plain
Python, a closed notebook) there is nothing to wait for; ``resync()`` forgets what the
browser still owes after it stopped answering.

Changes made while a view is still being built (found by the lesson browser test: the
ring's fill colours and links stayed stale while its text was current). The browser
view renders with ``add_document_standalone`` without awaiting it, and applies incoming
PATCH-DOCs to its document at once. BokehJS builds a plot's renderer views one after
the other (``build_views``: each ``await``s its ``lazy_initialize``, which reads the
data) and connects their signals only after the last one is built. A data change that
arrives meanwhile (on 2 cores the dashboard takes seconds to build; "Run All" goes on
running cells that refresh it) reaches the renderers built after it, but not those
built before it, which never hear of it: the ring's links and circles (built first)
kept the old colours, its text (built later, behind font loading) showed the new
state. The plots report their size once laid out (``inner_width``, ``outer_width``,
... from ``PlotView._after_layout``), which happens only after the whole document's
views are built and listening. So when that report comes and the document has changed
since the snapshot the view was built from, ``LiveBokehModel`` sends the current data
of every data source once more, in one PATCH-DOC of ``ColumnDataChanged`` events,
which BokehJS applies even when the data equal what it holds (``views_resynced``
counts these).
That also covers what a view dropped because it did not exist yet.

Plain visuals (not a trap, a cost found by profiling the browser). BokehJS 3.9 reads
every visual property (colours, widths, alphas, fonts, ...) of every renderer, axis and
grid through ``getComputedStyle(el).getPropertyValue("--bk-...")`` before it uses the
model's value, on every paint, so that a page's CSS can theme a plot (bokeh issue
#15286). The dashboard defines no ``--bk-*`` variable, yet paid for it: about 1,100
lookups per Step, and half of each plot's paint time in chromium (a Step's paints,
measured in the page: 115 ms with the lookups, 68 ms without). ``LiveBokehModel`` gives
its document a ``document_ready`` callback (``BROWSER_JS``) that marks the document
and makes ``VisualProperties._get_css_value`` answer "no CSS value" for views of marked
documents, without a lookup; other bokeh documents in the page still consult their CSS.
The answer is exactly what the lookup returned for this dashboard, as no stylesheet in
it sets a ``--bk-*`` variable; a user who wants CSS theming of the dashboard's canvas
would have to drop the mark.

Echoes stopped at the source (a cost of trap 1). The echo is not free: for every event
of a PATCH-DOC the view serializes the event, data included, and sends it as its own
comm message; each message makes the kernel busy, then idle, and JupyterLab redraws its
kernel status (the favicon too) at each change; the kernel parses the data only to drop
it. BokehJS marks the events it applies from a patch ``sync: false`` (its own client
session sends only ``sync`` events back); jupyter_bokeh ignores the mark. The same
``document_ready`` callback makes the marked document hold back, from its change
listeners, the events applied from the kernel that only echo: data changes and model
changes, except ``tags`` (the render acknowledgement below). The data
sources the browser fills itself (tagged ``BROWSER_OWNED``: the ring's moving messages
and timers, ``plots.MOTION_JS``, set up to 60 times a second) are held back whatever the
change. What the browser itself changes otherwise (plot sizes, selections, ranges)
still goes to the kernel, and
``_sync_model`` still drops echoes (for a page whose view was built before the callback
ran, or one where it cannot run).

Both (1) and (2) override private methods of ``jupyter_bokeh.BokehModel``; the package
is pinned to a tested range in pyproject.toml and ``tests/test_viz_bokeh_fixes.py``
fails if an upgrade changes what these overrides rely on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent
from bokeh.models import ColumnDataSource, CustomJS, LayoutDOM
from bokeh.protocol import Protocol
from jupyter_bokeh.widgets import BokehModel

#: Events from the browser that only ever echo changes made in Python.
ECHOED_KINDS = frozenset({"ColumnsStreamed", "ColumnsPatched", "ColumnDataChanged"})

#: The layout's tag that numbers a batch, for the render acknowledgement.
RENDER_TAG = "render "

#: The tag of data sources that the browser fills itself (the ring's motion): their
#: changes are held back in the browser and never re-sent by ``_resync_views``.
BROWSER_OWNED = "luminous-browser"

#: Plot sizes a browser view reports once it has laid the plots out (every view built).
LAYOUT_REPORTS = frozenset({"inner_width", "inner_height", "outer_width", "outer_height"})

#: Run in the browser once a view of a LiveBokehModel's document is built (see the
#: module docstring: "Plain visuals" and "Echoes stopped at the source"). ``cb_obj`` is
#: that document.
BROWSER_JS = """
const visuals = Bokeh.require("core/visuals/visual").VisualProperties.prototype
if (visuals._get_css_value_with_lookup === undefined) {
  const lookup = visuals._get_css_value
  visuals._get_css_value_with_lookup = lookup
  visuals._get_css_value = function (name) {
    const document = this.obj.model.document
    return document != null && document.luminous_plain_visuals === true
      ? ""
      : lookup.call(this, name)
  }
}
cb_obj.luminous_plain_visuals = true

if (cb_obj.luminous_trigger_on_change === undefined) {
  const trigger = cb_obj._trigger_on_change
  cb_obj.luminous_trigger_on_change = trigger
  const echoed = new Set(["ColumnsPatched", "ColumnsStreamed", "ColumnDataChanged"])
  const owned = (model) => model != null && Array.isArray(model.tags)
      && model.tags.includes("@OWNED@")
  cb_obj._trigger_on_change = function (event) {
    const echo = echoed.has(event.kind) || (event.kind === "ModelChanged" && event.attr !== "tags")
    if (owned(event.model)) {
      return  // the browser's own data (the ring's motion): never the kernel's business
    }
    if (!(echo && event.sync === false)) {  // sync false: applied from the kernel's patch
      try {
        trigger.call(this, event)
      } catch (error) {
        // The widget's comm is closed: the kernel restarted or shut down, and the views
        // still report their sizes as the page relays them out. Nobody is listening.
        if (!(error instanceof Error && error.message === "Cannot send")) throw error
      }
    }
  }
}
""".replace("@OWNED@", BROWSER_OWNED)


class LiveBokehModel(BokehModel):  # type: ignore[misc]
    """``BokehModel`` without the echo and with a fresh snapshot for every new view.

    It also counts what it sends (``messages_sent``, ``bytes_sent``) for the benchmark
    and the tests."""

    messages_sent = 0
    bytes_sent = 0
    echoes_ignored = 0

    def __init__(self, model: LayoutDOM, **kwargs: Any) -> None:
        # The render acknowledgement's tag lives on a model of its own that nothing
        # draws: on the layout, each tag change made BokehJS repaint the whole plot.
        self.ack = CustomJS(code="", tags=[])
        model.tags = [*model.tags, self.ack]
        document = model.document
        if document is None:
            document = Document()
            document.add_root(model)
        document.js_on_event("document_ready", CustomJS(code=BROWSER_JS))
        super().__init__(model, **kwargs)

    #: Tag each batch so that the browser's echo acknowledges it (see the docstring).
    track_renders = False
    render_sent = 0  # the number of the latest tagged batch
    render_applied = 0  # the latest one a browser view acknowledged
    #: True once a view has sent anything: a browser is drawing this widget.
    heard_from_browser = False

    @property
    def in_flight(self) -> int:
        """Tagged batches sent that no browser view has acknowledged yet."""
        return self.render_sent - self.render_applied

    def resync(self) -> None:
        """Forget what the browser still owes (after it stopped answering)."""
        self.render_applied = self.render_sent
        self.heard_from_browser = False

    views_resynced = 0  # data re-sent to views that were built while it changed
    _sent_since_resync = False

    def _sync_model(self, model: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if content.get("event", "") == "jsevent":
            self.heard_from_browser = True
            if is_layout_report(content):
                self._resync_views()
            applied = render_number(content, self.ack.id)
            if applied is not None:
                self.render_applied = max(self.render_applied, applied)
                return
            if is_echo(content):
                self.echoes_ignored += 1
                return
        super()._sync_model(model, content, buffers)

    #: True once the document changed after the snapshot in ``render_bundle`` was taken.
    stale = False
    _snapshot: str | None = None  # the latest fresh snapshot, serialized

    _batch: list[Any] | None = None  # events held by batch(), in order
    patches_sent = 0  # PATCH-DOC messages sent

    def _resync_views(self) -> None:
        """A view has laid out its plots, so all its renderers listen now. If the data
        changed since the snapshot it was built from, some may have missed it: send
        every data source's current data, once (see the module docstring)."""
        if not (self.stale and self._sent_since_resync) or self._document is None:
            return
        self._sent_since_resync = False
        self.views_resynced += 1
        document = self._document
        # ColumnDataChanged, not ModelChanged: BokehJS ignores a ModelChanged whose value
        # equals what its document holds already, and here it does (only views missed it).
        events = [
            ColumnDataChangedEvent(document, model, "data")
            for model in sorted(document.models, key=lambda m: m.id)
            if isinstance(model, ColumnDataSource) and BROWSER_OWNED not in model.tags
        ]
        if events:
            self._send_patch(events)

    def _document_patched(self, event: Any) -> None:
        if event.setter is not self:
            self.stale = True
            self._sent_since_resync = True
            if self._batch is not None:
                self._batch.append(event)
                return
            self.patches_sent += 1
        super()._document_patched(event)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Send every document change made inside as one PATCH-DOC, at the end."""
        if self._batch is not None:  # nested: the outer batch sends
            yield
            return
        self._batch = []
        try:
            yield
        finally:
            if self._batch and self.track_renders:
                self.render_sent += 1
                self.ack.tags = [f"{RENDER_TAG}{self.render_sent}"]  # joins the batch
            events, self._batch = self._batch, None
            if events:
                self._send_patch(events)

    def _send_patch(self, events: list[Any]) -> None:
        """What the base class's ``_document_patched`` sends, for several events."""
        self.patches_sent += 1
        msg = Protocol().create("PATCH-DOC", events)
        self.send({"msg": "patch", "payload": msg.header_json})
        self.send({"msg": "patch", "payload": msg.metadata_json})
        self.send({"msg": "patch", "payload": msg.content_json})
        for buffer in msg.buffers:
            self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
            self.send({"msg": "patch"}, [buffer.to_bytes()])

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state(key, drop_defaults)
        if "render_bundle" in state:
            if self.stale:
                self._snapshot = serialize_json(self._model_to_traits(self._model))
                self.stale = False
            if self._snapshot is not None:
                state["render_bundle"] = self._snapshot
        return state

    _closed = False

    def close(self) -> None:
        """Close once: the base class's ``close`` fails when called again (from
        ``__del__`` after the dashboard closed a model it replaced)."""
        if self._closed:
            return
        self._closed = True
        super().close()

    def send(self, content: Any, buffers: Any = None) -> None:
        self.messages_sent += 1
        payload = content.get("payload") if isinstance(content, dict) else None
        if isinstance(payload, str):
            self.bytes_sent += len(payload.encode())
        elif payload is not None:
            self.bytes_sent += len(json.dumps(payload).encode())
        for buffer in buffers or ():
            self.bytes_sent += len(buffer)
        super().send(content, buffers)


def render_number(content: dict[str, Any], ack_id: str) -> int | None:
    """N if this serialized BokehJS event is the echo of a batch's ``render N`` tag
    (on the model whose id is ``ack_id``)."""
    if content.get("kind") != "ModelChanged" or content.get("attr") != "tags":
        return None
    model = content.get("model")
    if not isinstance(model, dict) or model.get("id") != ack_id:
        return None
    new = content.get("new")
    if isinstance(new, list) and len(new) == 1 and isinstance(new[0], str):
        text = new[0]
        if text.startswith(RENDER_TAG) and text[len(RENDER_TAG) :].isdigit():
            return int(text[len(RENDER_TAG) :])
    return None


def is_layout_report(content: dict[str, Any]) -> bool:
    """Is this BokehJS event a plot reporting its size after laying itself out?"""
    return content.get("kind") == "ModelChanged" and content.get("attr") in LAYOUT_REPORTS


def is_echo(content: dict[str, Any]) -> bool:
    """Is this serialized BokehJS document event one that only echoes our own change?"""
    kind = content.get("kind")
    if kind in ECHOED_KINDS:
        return True
    return kind == "ModelChanged" and content.get("attr") == "data"
