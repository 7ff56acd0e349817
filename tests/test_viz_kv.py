"""The KV views: a history drawn as Porcupine draws it, and store.show() with the groups'
dashboards side by side or one chosen. Headless: the widgets and their data sources."""

from __future__ import annotations

import luminous_edu as le
from luminous_edu.kv.scenarios import settle, stale_read
from luminous_edu.viz.history import FAILING, MAX_LABELS, HistoryView, history_columns
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
        "history", "history_order", "history_points", "history_failure",
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
