"""The KV views: a history drawn as Porcupine draws it, and store.show() with the groups'
dashboards side by side or one chosen. Headless: the widgets and their data sources."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import luminous_edu as le
from luminous_edu.kv.scenarios import settle, stale_read
from luminous_edu.viz.history import (
    FADED,
    FAILING,
    IN_FLIGHT,
    MAX_LABELS,
    UNKNOWN,
    HistoryView,
    history_columns,
)
from luminous_edu.viz.kv import KVView

Op = le.Operation


def kv(
    client: str, op: str, key: str, call: int, ret: int | None, out: object = None, **f: object
) -> Op:
    return Op(client, {"op": op, "key": key, **f}, out if ret is not None else None, call, ret)


def test_a_failing_history_marks_the_operation_no_order_can_place() -> None:
    history = [
        kv("a", "put", "x", 0, 10, {"ok": True}, value="1"),
        kv("b", "put", "x", 20, 30, {"ok": True}, value="2"),
        kv("c", "get", "x", 40, 50, {"value": "1"}),
        kv("c", "get", "y", 60, 70, {"value": None}),
    ]
    result = le.check_linearizable(history)
    columns = history_columns(history, result)
    bars = columns["history"]
    assert bars["client"] == ["a", "b", "c", "c"]
    assert bars["bottom"][0] < bars["bottom"][1] < bars["bottom"][2] == bars["bottom"][3]
    assert bars["status"][:3] == ["ordered", "ordered", "cannot be placed"]
    assert bars["colour"][2] == FAILING and FAILING not in bars["colour"][:2]
    assert bars["order"][:3] == [1, 2, ""]
    assert columns["history_failure"]["x"] == [50]  # it had to take effect by its return
    (xs,) = columns["history_order"]["xs"]
    assert xs == [0, 20]  # the prefix, through a point of each bar
    assert columns["history_points"]["x"] == xs
    assert bars["text"][2] == "get('x') -> '1'"


def test_a_linearizable_history_has_an_order_per_key_through_its_bars() -> None:
    history = [
        kv("a", "put", "x", 0, 30, {"ok": True}, value="1"),
        kv("b", "get", "x", 10, 20, {"value": "1"}),
        kv("b", "append", "y", 25, 40, {"ok": True}, value="z"),
        kv("c", "put", "x", 5, None, value="9"),  # the client gave up
    ]
    result = le.check_linearizable(history)
    columns = history_columns(history, result)
    bars = columns["history"]
    assert set(bars["status"]) == {"ordered"} and columns["history_failure"]["x"] == []
    assert bars["hatch"][3] == "/" and bars["right"][3] > 40  # runs to the right edge
    assert sorted(columns["history_order"]["key"]) == ["x", "y"]
    for xs, key in zip(
        columns["history_order"]["xs"], columns["history_order"]["key"], strict=True
    ):
        assert xs == sorted(xs), key  # the points go forward in time
        ops = [op for op in history if op.input["key"] == key]
        assert all(any(o.call <= x <= (o.ret or 1e9) for o in ops) for x in xs)


def test_unchecked_and_long_histories() -> None:
    many = [kv(f"c{i % 5}", "get", "k", 10 * i, 10 * i + 5, {"value": None}) for i in range(70)]
    columns = history_columns(many, None)
    assert set(columns["history"]["status"]) == {"not checked"}
    assert len(many) > MAX_LABELS and set(columns["history"]["label"]) == {""}
    assert columns["frame"]["lanes"] == [["c0", "c1", "c2", "c3", "c4"]]


def test_the_history_view_draws_and_redraws() -> None:
    run = stale_read("local", seed=2)
    view = run.store.check().show()
    assert isinstance(view, HistoryView) and "luminous-history" in view._dom_classes
    assert "NOT linearizable on key &#x27;x&#x27;" in view.verdict.value
    assert [s.name for s in view.sources.values()] == [
        "history", "history_order", "history_points", "history_failure", "history_cursor",
    ]  # fmt: skip
    assert len(view.sources["history"].data["left"]) == 3
    fresh = HistoryView(run.store.history[:2])  # checks by itself
    assert fresh.result is not None and fresh.result.ok
    assert "linearizable" in fresh.verdict.value
    fresh.update(run.store.history)
    assert fresh.sources["history_failure"].data["x"] == [run.get.ret_ms]
    assert fresh.y_range.end > 1  # two client lanes


def test_store_show_puts_the_groups_side_by_side_or_one_alone() -> None:
    store = le.KVStore(servers=3, shards=2, seed=1)
    alice = store.client("alice")
    settle(store, *[alice.put(f"k{i}", i) for i in range(4)])
    view = store.show()
    assert isinstance(view, KVView) and "luminous-kv" in view._dom_classes
    assert view.shown == [0, 1] and len(view.groups_box.children) == 2
    assert sorted(view.dashboards) == [0, 1]
    assert len(view.history.sources["history"].data["left"]) == 4
    view.chooser.value = "shard 1"
    assert view.shown == [1] and len(view.groups_box.children) == 1
    before = store.now
    view.run_ms.value = 250
    view.run_button.click()
    assert store.now == before + 250 and f"t={store.now} ms" in view.status.value
    view.step_button.click()
    assert store.now >= before + 250
    alone = store.show(shard=0)
    assert alone.shown == [0]


def test_a_control_that_fails_says_so_and_raises_nothing() -> None:
    store = le.KVStore(servers=3, seed=1)
    view = KVView(store)
    view._act(lambda: store.crash(7))
    assert "UnknownServerError" in view.status.value and "no server 7" in view.status.value


# ----------------------------------------------------------------- the time cursor


def faded(view: HistoryView) -> list[bool]:
    return [a == FADED for a in view.sources["history"].data["alpha"]]


def test_the_time_cursor_fades_what_was_not_called_yet() -> None:
    history = [
        kv("a", "put", "x", 0, 10, {"ok": True}, value="1"),
        kv("b", "get", "x", 5, 30, {"value": "1"}),
        kv("a", "put", "y", 40, None, value="2"),  # the client gave up
    ]
    view = HistoryView(history)
    assert view.cursor is None and view.sources["history_cursor"].data["x"] == []
    assert view.sources["history"].data["when"] == ["", "", ""] and not any(faded(view))
    ticker = view.figure.yaxis[0].ticker
    view.show_time(20)
    bars = view.sources["history"].data
    assert view.sources["history_cursor"].data["x"] == [20]
    assert view.figure.yaxis[0].ticker is ticker, "a cursor move keeps the lanes' axis"
    assert bars["when"] == ["returned", "in flight", "not yet called"]
    assert faded(view) == [False, False, True]
    assert bars["hatch"] == [" ", IN_FLIGHT, UNKNOWN]  # unknown outcome keeps its hatch
    view.show_time(500)  # far right: the range follows, the unknown bar still reaches it
    assert view.x_range.end > 500 and bars["right"][2] > 500
    assert view.sources["history"].data["when"][2] == "in flight"
    view.update(history[:2])  # the cursor stays
    assert view.cursor == 500 and view.sources["history_cursor"].data["x"] == [500]
    view.show_time(None)
    assert view.sources["history_cursor"].data["x"] == [] and not any(faded(view))
    for bad in (True, "10", math.nan):
        with pytest.raises(ValueError, match="cursor time"):
            view.show_time(bad)  # type: ignore[arg-type]
    assert view.cursor is None


@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 200), st.one_of(st.none(), st.integers(0, 100))),
        min_size=1,
        max_size=8,
    ),
    t=st.integers(-20, 400),
)
def test_an_operation_is_faded_iff_called_after_the_cursor(
    spans: list[tuple[int, int | None]], t: int
) -> None:
    history = [
        kv(f"c{i % 3}", "get", "k", call, None if took is None else call + took, {"value": None})
        for i, (call, took) in enumerate(spans)
    ]
    columns = history_columns(history, None, t)
    bars = columns["history"]
    for i, op in enumerate(history):
        assert (bars["alpha"][i] == FADED) == (op.call > t), (op, t)
        in_flight = op.call <= t and (op.ret is None or op.ret > t)
        assert (bars["when"][i] == "in flight") == in_flight, (op, t)
        assert (bars["hatch"][i] == IN_FLIGHT) == (in_flight and op.ret is not None)
    assert columns["history_cursor"]["x"] == [t]
    assert columns["frame"]["start"][0] < t < columns["frame"]["end"][0]


def test_the_kv_views_cursor_follows_the_store_and_each_groups_dashboard() -> None:
    store = le.KVStore(servers=3, shards=2, seed=1)
    alice, bob = store.client("alice"), store.client("bob")
    settle(store, *[alice.put(f"k{i}", i) for i in range(3)])
    settle(store, bob.get("k0"), alice.append("k1", "x"))
    view = store.show()
    cursor = view.history.sources["history_cursor"]
    assert cursor.data["x"] == [store.now] and view.cursor_shard is None
    view.run_button.click()
    assert cursor.data["x"] == [store.now] and not any(faded(view.history))
    view.step_button.click()
    assert cursor.data["x"] == [store.now]

    dashboard = view.dashboards[0]  # shard 0's own controls move shard 0 alone
    group = store.groups[0]
    dashboard.seek(group.step_count // 2)
    assert 0 < group.now < store.now
    assert view.cursor_shard == 0 and cursor.data["x"] == [group.now]
    assert f"shard 0's time, t={group.now} ms" in view.status.value
    later = [op.call > group.now for op in store.history]
    assert any(later) and not all(later)
    assert faded(view.history) == later
    dashboard.back_button.click()
    assert cursor.data["x"] == [group.now]
    view.dashboards[1].step_button.click()
    assert view.cursor_shard == 1 and cursor.data["x"] == [store.groups[1].now]

    view.refresh()
    assert view.cursor_shard is None and cursor.data["x"] == [store.now]
    assert "shard" not in view.status.value.split("operations")[1]
    assert not any(faded(view.history))
