"""The jupyter_bokeh workarounds (viz/bokeh_fixes.py) and the private internals they
rely on. If an upgrade of jupyter_bokeh, bokeh or ipywidgets changes those internals,
a test here fails: re-check JUPYTER_NOTES.md's traps against the new version before
widening the pin in pyproject.toml."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

pytest.importorskip("jupyter_bokeh")

from bokeh.core.serialization import Serializer
from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
    ModelChangedEvent,
)
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from ipywidgets import Widget
from jupyter_bokeh import __version__ as jupyter_bokeh_version
from jupyter_bokeh.widgets import BokehModel

from luminous_edu.viz.bokeh_fixes import (
    BROWSER_JS,
    RENDER_TAG,
    LiveBokehModel,
    is_echo,
    render_number,
)


def build(cls: type) -> tuple[BokehModel, ColumnDataSource]:
    source = ColumnDataSource(data={"x": [1, 2]}, name="s")
    fig = figure(tools="", toolbar_location=None)
    fig.scatter("x", "x", source=source)
    return cls(fig), source


def from_browser(source: ColumnDataSource, event: object) -> dict[str, object]:
    """What BokehJS sends for ``event`` (BokehView._change_event: the serialized
    document event plus ``event: "jsevent"``)."""
    assert source.document is not None
    content = dict(Serializer(references=set(source.document.models)).encode(event))
    content["event"] = "jsevent"
    return content


def test_the_pinned_version_is_the_one_tested() -> None:
    major, minor = (int(p) for p in jupyter_bokeh_version.split(".")[:2])
    assert (major, minor) in {(4, 0), (4, 1)}, (
        f"jupyter_bokeh {jupyter_bokeh_version}: re-check bokeh_fixes.py, then widen the pin"
    )


def test_the_private_internals_still_exist_with_the_same_shape() -> None:
    sync = inspect.signature(BokehModel._sync_model)
    assert list(sync.parameters) == ["self", "_model", "content", "_buffers"]
    assert list(inspect.signature(BokehModel._document_patched).parameters) == ["self", "event"]
    assert isinstance(inspect.getattr_static(BokehModel, "_model_to_traits"), classmethod)
    assert "render_bundle" in BokehModel.class_trait_names(sync=True)
    assert list(inspect.signature(Widget.get_state).parameters) == [
        "self",
        "key",
        "drop_defaults",
    ]
    # __init__ registers the bound _sync_model, so an override in a subclass is the one
    # that receives messages from the browser.
    assert "self.on_msg(self._sync_model)" in inspect.getsource(BokehModel.__init__)


def test_the_echo_trap_is_still_there_in_the_base_class() -> None:
    """The reason for LiveBokehModel: the base class applies a stream echoed back by
    the browser a second time. If this fails, jupyter_bokeh fixed it upstream."""
    widget, source = build(BokehModel)
    source.stream({"x": [3]})
    event = ColumnsStreamedEvent(source.document, source, "data", {"x": [3]}, None, None)
    widget._sync_model(widget, from_browser(source, event), [])
    assert source.data["x"] == [1, 2, 3, 3]


@pytest.mark.parametrize("kind", ["stream", "patch", "replace", "model_changed"])
def test_echoes_are_ignored(kind: str) -> None:
    widget, source = build(LiveBokehModel)
    document = source.document
    if kind == "stream":
        source.stream({"x": [3]})
        event: object = ColumnsStreamedEvent(document, source, "data", {"x": [3]}, None, None)
    elif kind == "patch":
        source.patch({"x": [(0, 9)]})
        event = ColumnsPatchedEvent(document, source, "data", {"x": [(0, 9)]})
    else:
        source.data = {"x": [5, 6]}
        event = ColumnDataChangedEvent(document, source, "data")
    before = list(source.data["x"])
    content = from_browser(source, event)
    if kind == "model_changed":  # the same replacement, as a plain attribute change
        content = {
            "event": "jsevent",
            "kind": "ModelChanged",
            "model": {"id": source.id},
            "attr": "data",
            "new": {"type": "map", "entries": [["x", [5, 6, 5, 6]]]},
        }
    assert is_echo(content)
    widget._sync_model(widget, content, [])
    assert source.data["x"] == before
    assert widget.echoes_ignored == 1


def test_other_browser_events_still_reach_the_model() -> None:
    widget, source = build(LiveBokehModel)
    content = {
        "event": "jsevent",
        "kind": "ModelChanged",
        "model": {"id": source.id},
        "attr": "name",
        "new": "renamed",
    }
    widget._sync_model(widget, content, [])
    assert source.name == "renamed"


def test_a_new_view_gets_the_current_data_not_the_first_snapshot() -> None:
    widget, source = build(LiveBokehModel)
    first = json.dumps(widget.get_state()["render_bundle"])
    source.data = {"x": [987654321]}
    state = widget.get_state()
    assert isinstance(state["render_bundle"], str)
    assert "987654321" in state["render_bundle"] and "987654321" not in first
    # Cached until the document changes again.
    assert widget.get_state()["render_bundle"] is state["render_bundle"]
    assert widget.get_state("render_bundle")["render_bundle"] is state["render_bundle"]


def test_the_base_class_snapshot_is_stale() -> None:
    """The reason for the fresh snapshot: the base class keeps the first one."""
    widget, source = build(BokehModel)
    source.data = {"x": [987654321]}
    assert "987654321" not in json.dumps(widget.get_state()["render_bundle"])


def test_what_is_sent_is_counted() -> None:
    widget, source = build(LiveBokehModel)
    source.patch({"x": [(0, 7)]})
    assert widget.messages_sent >= 3
    assert widget.bytes_sent > 0


def test_the_base_class_sends_one_patch_doc_per_event_as_three_messages() -> None:
    """What LiveBokehModel._send_patch copies for several events at once."""
    source = inspect.getsource(BokehModel._document_patched)
    assert 'Protocol().create("PATCH-DOC", [event])' in source
    for part in ("msg.header_json", "msg.metadata_json", "msg.content_json", "msg.buffers"):
        assert part in source


def test_a_batch_sends_one_patch_doc_whatever_the_number_of_changes() -> None:
    widget, source = build(LiveBokehModel)
    other = ColumnDataSource(data={"y": [1, 2]}, name="other")
    assert source.document is not None
    source.document.add_root(other)
    before, patches = widget.messages_sent, widget.patches_sent
    with widget.batch():
        source.patch({"x": [(0, 7)]})
        source.stream({"x": [8]})
        other.patch({"y": [(1, 5)]})
        with widget.batch():  # nested: still one
            other.stream({"y": [6]})
    assert widget.messages_sent - before == 3 and widget.patches_sent == patches + 1
    source.patch({"x": [(0, 9)]})  # outside a batch: one patch per event, as before
    assert widget.messages_sent - before == 6 and widget.patches_sent == patches + 2


def browser_applied(widget: LiveBokehModel, number: int) -> dict[str, object]:
    """What BokehJS echoes after applying a batch tagged ``render <number>``."""
    ack = widget.ack
    event = ModelChangedEvent(ack.document, ack, "tags", [f"{RENDER_TAG}{number}"])
    content = dict(Serializer(references=set(ack.document.models)).encode(event))
    content["event"] = "jsevent"
    return content


def test_with_track_renders_each_batch_is_numbered_and_its_echo_acknowledges_it() -> None:
    widget, source = build(LiveBokehModel)
    widget.track_renders = True
    with widget.batch():
        source.patch({"x": [(0, 7)]})
    with widget.batch():
        source.patch({"x": [(1, 8)]})
    # The tag travels in the same PATCH-DOC: still one per batch.
    assert widget.patches_sent == 2
    assert widget.ack.tags == [f"{RENDER_TAG}2"]
    assert widget._model.tags == [widget.ack]  # not on the plot: that would repaint it
    assert widget.in_flight == 2 and not widget.heard_from_browser

    widget._sync_model(widget, browser_applied(widget, 1), [])
    assert widget.in_flight == 1 and widget.heard_from_browser
    assert widget.ack.tags == [f"{RENDER_TAG}2"]  # an ack is not applied back
    widget._sync_model(widget, browser_applied(widget, 2), [])
    widget._sync_model(widget, browser_applied(widget, 1), [])  # a late one: no going back
    assert widget.in_flight == 0


def test_without_track_renders_nothing_is_tagged() -> None:
    widget, source = build(LiveBokehModel)
    with widget.batch():
        source.patch({"x": [(0, 7)]})
    with widget.batch():  # an empty batch sends nothing, tracked or not
        pass
    assert widget.ack.tags == [] and widget.render_sent == 0 and widget.in_flight == 0


def test_resync_forgets_what_a_silent_browser_owes() -> None:
    widget, source = build(LiveBokehModel)
    widget.track_renders = True
    widget.heard_from_browser = True
    with widget.batch():
        source.patch({"x": [(0, 7)]})
    widget.resync()
    assert widget.in_flight == 0 and not widget.heard_from_browser


def test_only_the_ack_models_render_tag_counts_as_an_acknowledgement() -> None:
    widget, source = build(LiveBokehModel)
    layout_id = widget.ack.id
    tagged = {"kind": "ModelChanged", "model": {"id": layout_id}, "attr": "tags"}
    assert render_number({**tagged, "new": [f"{RENDER_TAG}12"]}, layout_id) == 12
    assert render_number({**tagged, "new": ["render x"]}, layout_id) is None
    assert render_number({**tagged, "new": ["other", "tags"]}, layout_id) is None
    assert render_number({**tagged, "attr": "name", "new": [f"{RENDER_TAG}1"]}, layout_id) is None
    other = {**tagged, "model": {"id": source.id}, "new": [f"{RENDER_TAG}1"]}
    assert render_number(other, layout_id) is None


def test_the_browser_still_echoes_right_after_applying_a_patch() -> None:
    """The render acknowledgement relies on jupyter_bokeh's view replaying, right after
    ``apply_json_patch``, the document events it held while applying (its echo)."""
    import jupyter_bokeh

    static = Path(jupyter_bokeh.__file__).parent / "labextension" / "static"
    code = "".join(p.read_text(errors="replace") for p in static.glob("*.js"))
    patch = code[code.index("_consume_patch(") :]
    patch = patch[: patch.index("class ")]
    applied = patch.index("apply_json_patch(")
    assert "this._pending_events" in patch[applied:]
    assert "this._change_event(" in patch[applied:]


# ------------------------------------------- changes made while a view was being built


def layout_report(widget: LiveBokehModel) -> dict[str, object]:
    """What BokehJS sends once a plot is laid out (PlotView._after_layout's setv)."""
    plot = widget._model
    event = ModelChangedEvent(plot.document, plot, "inner_width", 512)
    content = dict(Serializer(references=set(plot.document.models)).encode(event))
    content["event"] = "jsevent"
    return content


def sent_events(widget: LiveBokehModel, action: object) -> list[dict[str, object]]:
    """The document events of the PATCH-DOCs ``action()`` makes the widget send."""
    payloads: list[object] = []
    original = widget.send

    def record(content: object, buffers: object = None) -> None:
        if isinstance(content, dict):
            payloads.append(content.get("payload"))
        original(content, buffers)

    widget.send = record  # type: ignore[method-assign]
    try:
        action()  # type: ignore[operator]
    finally:
        del widget.send
    events: list[dict[str, object]] = []
    for payload in payloads:
        if isinstance(payload, str) and '"events"' in payload:
            events.extend(json.loads(payload)["events"])
    return events


def test_a_view_built_while_the_data_changed_gets_the_data_again() -> None:
    widget, source = build(LiveBokehModel)
    # A view that renders from the first snapshot and lays out: nothing was missed.
    assert sent_events(widget, lambda: widget._sync_model(widget, layout_report(widget), [])) == []
    source.data = {"x": [5, 6, 7]}  # sent while (say) the view's renderers are built
    events = sent_events(widget, lambda: widget._sync_model(widget, layout_report(widget), []))
    assert [(e["kind"], e["model"]["id"]) for e in events] == [("ColumnDataChanged", source.id)]
    assert events[0]["data"]["entries"] == [["x", [5, 6, 7]]]
    assert widget.views_resynced == 1 and widget._model.inner_width == 512
    # Once is enough, until the data change again.
    assert sent_events(widget, lambda: widget._sync_model(widget, layout_report(widget), [])) == []
    source.patch({"x": [(0, 9)]})
    assert (
        len(sent_events(widget, lambda: widget._sync_model(widget, layout_report(widget), []))) == 1
    )
    # A view built from a fresh snapshot missed nothing.
    source.patch({"x": [(0, 4)]})
    widget.get_state()
    assert sent_events(widget, lambda: widget._sync_model(widget, layout_report(widget), [])) == []
    assert widget.views_resynced == 2


def test_bokehjs_still_builds_renderer_views_before_connecting_their_signals() -> None:
    """Why the resync is needed, read in BokehJS: ``build_views`` awaits each view's
    ``lazy_initialize`` and only then connects the signals of all of them; a plot
    reports its size (``inner_width``) after layout; a ModelChanged equal to the
    document's value changes nothing, a ColumnDataChanged always does."""
    import bokeh

    js = (Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.js").read_text()
    build_views = js[js.index("async function build_views(") :]
    build_views = build_views[: build_views.index("function remove_views(")]
    assert build_views.index("await _build_view(") < build_views.index("view.connect_signals()")
    assert "inner_width: Math.round(this.frame.bbox.width)" in js
    changed = js[js.index('case "ColumnDataChanged": {') :]
    assert "check_eq: false" in changed[: changed.index("break;")]


# ------------------------------------------------- what runs in the browser (BROWSER_JS)


def bokeh_js() -> str:
    import bokeh

    return (Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.js").read_text()


def test_the_document_runs_the_browser_code_once_its_views_are_built() -> None:
    widget, _ = build(LiveBokehModel)
    document = widget._document
    assert document is not None
    callbacks = document.callbacks._js_event_callbacks["document_ready"]
    assert [c.code for c in callbacks] == [BROWSER_JS]
    # It is part of what a view renders from, first snapshot and fresh ones alike.
    assert "luminous_plain_visuals" in json.dumps(widget.render_bundle)
    widget.stale = True
    assert "luminous_plain_visuals" in str(widget.get_state()["render_bundle"])


def test_a_model_already_in_a_document_gets_the_callback_too() -> None:
    from bokeh.document import Document

    fig = figure(tools="", toolbar_location=None)
    document = Document()
    document.add_root(fig)
    LiveBokehModel(fig)
    assert [c.code for c in document.callbacks._js_event_callbacks["document_ready"]] == [
        BROWSER_JS
    ]


def test_bokehjs_still_looks_up_css_for_every_visual_property() -> None:
    """What ``BROWSER_JS`` replaces for the dashboard's views: one method of
    ``VisualProperties``, consulted for every visual property; and what it relies on:
    a model knows its ``document``, and a document's ``document_ready`` callbacks get
    the document as ``cb_obj``."""
    js = bokeh_js()
    visual = js[js.index("/* core/visuals/visual.js */") :]
    visual = visual[: visual.index("exports.VisualProperties = VisualProperties;")]
    assert "_get_css_value(name) {" in visual
    assert "getComputedStyle(this.obj.el)" in visual
    assert js.count("_get_css_value(name) {") == 1  # no subclass overrides it
    assert 'this._get_css_value("line-color")' in js
    trigger = js[js.index("_trigger_on_event(event) {") :]
    assert "execute)(callback, this, event)" in trigger[: trigger.index("        on_event(")]
    assert "new bokeh_events_2.DocumentReady()" in js


def test_bokehjs_still_marks_what_it_applies_from_a_patch_as_not_to_sync() -> None:
    """The echo filter of ``BROWSER_JS`` keeps back events whose ``sync`` is false:
    BokehJS applies a PATCH-DOC's events with ``sync: false`` and hands every change to
    the listeners through the document's ``_trigger_on_change``."""
    js = bokeh_js()
    apply = js[js.index("_apply_json_patch(patch, buffers") :]
    apply = apply[: apply.index("set_title(event.title, { sync: false })")]
    assert "model.setv({ [attr]: value }, { sync: false })" in apply
    assert "model.setv({ data }, { sync: false, check_eq: false })" in apply
    assert "model.stream_to(prop, data, rollover, { sync: false })" in apply
    assert "model.patch_to(prop, patches, { sync: false })" in apply
    assert "event.sync = sync" in js
    assert "_trigger_on_change(event) {" in js
    for kind in ("ColumnsPatched", "ColumnsStreamed", "ColumnDataChanged", "ModelChanged"):
        assert f'this.kind = "{kind}";' in js
        assert kind in BROWSER_JS or kind == "ModelChanged"
