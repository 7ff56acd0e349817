"""le.check_linearizable: Wing & Gong's search with Lowe's cache, partitioned by key.

Porcupine's own test histories with its expected answers, small histories whose answer
is plain by hand, a brute-force search that agrees on random small histories, and
histories built from a real sequential run that must pass.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from porcupine_logs import load, parse_etcd, parse_kv

import luminous_edu as le
from luminous_edu.check import KVModel, RegisterModel

Op = le.Operation

# ------------------------------------------------------- Porcupine's histories

ETCD = load("etcd")
KV = load("kv")


@pytest.mark.parametrize("name", sorted(ETCD))
def test_agrees_with_porcupine_on_jepsen_etcd(name: str) -> None:
    expected, ops = ETCD[name]
    assert le.check_linearizable(ops, "register").ok is expected


@pytest.mark.parametrize("name", sorted(KV))
def test_agrees_with_porcupine_on_its_kv_logs(name: str) -> None:
    expected, ops = KV[name]
    assert le.check_linearizable(ops, "kv").ok is expected


def test_the_converted_data_holds_every_porcupine_history() -> None:
    """102 etcd logs with an answer in Porcupine's tests (etcd_095 is empty: its etcd
    failed to start), 23 of them linearizable; six kv logs, half of them."""
    assert len(ETCD) == 102 and sum(ok for ok, _ in ETCD.values()) == 23
    assert sorted(KV) == ["c01-bad", "c01-ok", "c10-bad", "c10-ok", "c50-bad", "c50-ok"]
    assert [KV[n][0] for n in sorted(KV)] == [False, True, False, True, False, True]


def test_the_jepsen_parser_reads_calls_returns_timeouts_and_crashes() -> None:
    log = "\n".join(
        [
            "INFO  jepsen.util - 0\t:invoke\t:write\t1",
            "INFO  jepsen.util - 1\t:invoke\t:read\tnil",
            "INFO  jepsen.util - 0\t:ok\t:write\t1",
            "INFO  jepsen.util - 1\t:fail\t:read\t:timed-out",
            "INFO  jepsen.util - 2\t:invoke\t:cas\t[1 4]",
            "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 5]",
            "INFO  jepsen.util - 2\t:fail\t:cas\t[1 4]",
            "INFO  jepsen.util - 3\t:info\t:cas\t[1 5]",  # crashed: outcome unknown
            "INFO  jepsen.util - 4\t:invoke\t:read\tnil",
            "INFO  jepsen.util - 4\t:ok\t:read\tnil",
        ]
    )
    assert parse_etcd(log) == [
        Op(0, {"op": "write", "value": 1}, {"ok": True}, 0, 2),
        Op(1, {"op": "read"}, None, 1, 3),
        Op(2, {"op": "cas", "from": 1, "to": 4}, {"ok": False}, 4, 6),
        Op(3, {"op": "cas", "from": 1, "to": 5}, None, 5, None),
        Op(4, {"op": "read"}, {"value": None}, 7, 8),
    ]


def test_the_kv_parser_reads_a_missing_key_as_none() -> None:
    log = "\n".join(
        [
            '{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}',
            '{:process 1, :type :invoke, :f :get, :key "5", :value nil}',
            '{:process 0, :type :ok, :f :append, :key "4", :value "x 0 1 y"}',
            '{:process 1, :type :ok, :f :get, :key "5", :value ""}',
        ]
    )
    assert parse_kv(log) == [
        Op(0, {"op": "append", "key": "4", "value": "x 0 1 y"}, {"ok": True}, 0, 2),
        Op(1, {"op": "get", "key": "5"}, {"value": None}, 1, 3),
    ]


# --------------------------------------------------------- plain histories


def write(client: Any, value: Any, call: int, ret: int | None) -> Op:
    return Op(
        client, {"op": "write", "value": value}, None if ret is None else {"ok": True}, call, ret
    )


def read(client: Any, value: Any, call: int, ret: int) -> Op:
    return Op(client, {"op": "read"}, {"value": value}, call, ret)


def test_a_read_may_see_a_concurrent_write_or_not() -> None:
    ops = [write("a", 1, 0, 10), write("b", 2, 5, 20), read("c", 1, 15, 25)]
    assert le.check_linearizable(ops, "register").ok
    ops = [write("a", 1, 0, 10), write("b", 2, 5, 20), read("c", 2, 15, 25)]
    assert le.check_linearizable(ops, "register").ok


def test_a_stale_read_is_caught_with_the_prefix_and_the_operation_that_cannot_be_placed() -> None:
    """Real time: the write of 2 returned before the read began, so the read must see
    2 (or something later); it saw 1."""
    w1, w2, stale = write("a", 1, 0, 10), write("b", 2, 20, 30), read("c", 1, 40, 50)
    result = le.check_linearizable([w1, w2, stale], "register")
    assert result.ok is False and not result
    assert result.prefix == [w1, w2]
    assert result.failing == stale
    text = result.explain()
    assert "read() -> 1" in text and "2 operations long" in text and "state is then 2" in text


def test_operations_that_touch_in_time_overlap() -> None:
    """Porcupine reads [call, ret] as closed: a read called at the instant a write
    returns may still come before it."""
    ops = [write("a", 1, 0, 10), read("b", None, 10, 20)]
    assert le.check_linearizable(ops, "register").ok
    ops = [write("a", 1, 0, 10), read("b", None, 11, 20)]
    assert not le.check_linearizable(ops, "register").ok


def test_an_unknown_outcome_may_take_effect_later_or_never() -> None:
    lost = write("a", 1, 0, None)
    assert le.check_linearizable([lost, read("b", None, 50, 60)], "register").ok
    assert le.check_linearizable([lost, read("b", 1, 50, 60)], "register").ok
    # ...but once seen, it stays: it cannot be undone
    later = [lost, read("b", 1, 50, 60), read("b", None, 70, 80)]
    assert not le.check_linearizable(later, "register").ok


def test_register_compare_and_set() -> None:
    cas_ok = Op("a", {"op": "cas", "from": None, "to": 3}, {"ok": True}, 0, 10)
    cas_fail = Op("b", {"op": "cas", "from": None, "to": 4}, {"ok": False}, 20, 30)
    assert le.check_linearizable([cas_ok, cas_fail, read("c", 3, 40, 50)], "register").ok
    wrong = Op("b", {"op": "cas", "from": None, "to": 4}, {"ok": True}, 20, 30)
    result = le.check_linearizable([cas_ok, wrong], "register")
    assert result.failing == wrong and result.prefix == [cas_ok]


def kv(
    client: Any, op: str, key: str, call: int, ret: int | None, out: Any = None, **fields: Any
) -> Op:
    output = out if ret is not None else None
    return Op(client, {"op": op, "key": key, **fields}, output, call, ret)


def test_kv_is_checked_key_by_key_and_names_the_failing_key() -> None:
    ops = [
        kv("a", "put", "x", 0, 10, {"ok": True}, value="1"),
        kv("a", "append", "y", 20, 30, {"ok": True}, value="p"),
        kv("b", "append", "y", 25, 35, {"ok": True}, value="q"),
        kv("c", "get", "y", 40, 50, {"value": "qp"}),
        kv("c", "get", "x", 60, 70, {"value": "2"}),
    ]
    result = le.check_linearizable(ops)
    assert result.ok is False
    assert result.key == "x"
    assert result.failing == ops[4] and result.prefix == [ops[0]]


def test_kv_append_delete_cas_and_errors() -> None:
    ops = [
        kv("a", "append", "k", 0, 1, {"ok": True}, value="ab"),
        kv("a", "cas", "k", 2, 3, {"ok": False}, **{"from": "a", "to": "z"}),
        kv("a", "cas", "k", 4, 5, {"ok": True}, **{"from": "ab", "to": 7}),
        kv("a", "append", "k", 6, 7, {"error": "not a string"}, value="c"),
        kv("a", "get", "k", 8, 9, {"value": 7}),
        kv("a", "delete", "k", 10, 11, {"ok": True}),
        kv("a", "get", "k", 12, 13, {"value": None}),
    ]
    assert le.check_linearizable(ops).ok
    # an append to a number cannot succeed
    bad = [*ops[:3], kv("a", "append", "k", 6, 7, {"ok": True}, value="c")]
    assert le.check_linearizable(bad).failing == bad[3]


def test_kv_booleans_are_not_numbers() -> None:
    ops = [
        kv("a", "put", "k", 0, 1, {"ok": True}, value=True),
        kv("a", "get", "k", 2, 3, {"value": 1}),
    ]
    assert not le.check_linearizable(ops).ok


def test_a_key_put_with_a_time_to_live_may_vanish_but_not_come_back() -> None:
    put = kv("a", "put", "s", 0, 10, {"ok": True}, value="v", ttl_ms=100)
    seen = kv("b", "get", "s", 20, 30, {"value": "v"})
    gone = kv("b", "get", "s", 40, 50, {"value": None})
    back = kv("b", "get", "s", 60, 70, {"value": "v"})
    assert le.check_linearizable([put, seen, gone]).ok
    result = le.check_linearizable([put, seen, gone, back])
    assert result.failing == back and result.prefix == [put, seen, gone]
    # appending keeps the time to live; a cas that succeeds ends it
    app = kv("a", "append", "s", 20, 30, {"ok": True}, value="w")
    assert le.check_linearizable([put, app, kv("b", "get", "s", 40, 50, {"value": "vw"})]).ok
    assert le.check_linearizable([put, app, kv("b", "get", "s", 40, 50, {"value": "w"})]).ok
    cas = kv("a", "cas", "s", 20, 30, {"ok": True}, **{"from": "v", "to": "u"})
    assert not le.check_linearizable([put, cas, kv("b", "get", "s", 40, 50, {"value": None})]).ok


def test_kv_initial_values_and_keys_that_may_expire_from_the_start() -> None:
    get_a = kv("a", "get", "x", 0, 1, {"value": "old"})
    assert not le.check_linearizable([get_a]).ok
    assert le.check_linearizable([get_a], KVModel(initial={"x": "old"})).ok
    gone = kv("a", "get", "x", 2, 3, {"value": None})
    assert not le.check_linearizable([get_a, gone], KVModel(initial={"x": "old"})).ok
    assert le.check_linearizable([get_a, gone], KVModel({"x": "old"}, expiring={"x"})).ok


class Counter:
    """A custom model: a counter with increments and reads, partitioned by name, each
    starting at the length of its name (to show that init gets the label)."""

    def init(self, label: str) -> int:
        return len(label)

    def step(self, state: int, input: dict[str, Any], output: Any) -> tuple[bool, int]:
        if input["op"] == "inc":
            return True, state + 1
        return output is None or output["value"] == state, state

    def partition(self, ops: list[Op]) -> list[tuple[str, list[Op]]]:
        names = sorted({op.input["name"] for op in ops})
        return [(n, [op for op in ops if op.input["name"] == n]) for n in names]

    def describe(self, input: dict[str, Any], output: Any) -> str:
        return f"{input['op']}({input['name']})"


def test_a_custom_model_with_partitions() -> None:
    inc = Op("a", {"op": "inc", "name": "ab"}, {}, 0, 10)
    good = Op("b", {"op": "get", "name": "ab"}, {"value": 3}, 20, 30)
    other = Op("b", {"op": "get", "name": "xyz"}, {"value": 3}, 20, 30)
    assert le.check_linearizable([inc, good, other], Counter()).ok
    bad = Op("b", {"op": "get", "name": "ab"}, {"value": 2}, 20, 30)
    result = le.check_linearizable([inc, bad], Counter())
    assert result.key == "ab" and result.failing == bad
    assert "get(ab)" in result.explain()


def test_bad_input_is_refused_with_a_sentence() -> None:
    with pytest.raises(le.LuminousError, match="built-in models are 'kv' and 'register'"):
        le.check_linearizable([], "queue")
    with pytest.raises(le.LuminousError, match="init"):
        le.check_linearizable([], object())
    with pytest.raises(le.LuminousError, match="operation 0"):
        le.check_linearizable(["get x"])
    with pytest.raises(le.LuminousError, match="returns before it is called"):
        le.check_linearizable([read("a", 1, 10, 5)], "register")
    with pytest.raises(le.LuminousError, match="a kv put needs value"):
        le.check_linearizable([Op("a", {"op": "put", "key": "x"}, {}, 0, 1)])
    with pytest.raises(le.LuminousError, match="not 'incr'"):
        le.check_linearizable([Op("a", {"op": "incr", "key": "x"}, {}, 0, 1)])
    with pytest.raises(le.LuminousError, match=r"list of le\.Operation"):
        le.check_linearizable("history")  # type: ignore[arg-type]


def test_an_empty_history_and_tuples_for_operations() -> None:
    assert le.check_linearizable([]).ok
    assert le.check_linearizable([("a", {"op": "read"}, {"value": None}, 0, 1)], "register").ok


def test_a_search_that_runs_out_of_time_says_so() -> None:
    """One key of Porcupine's c50-bad needs many backtracks (its failure is found on
    another key first): alone, with no time at all, the answer is unknown."""
    _, ops = KV["c50-bad"]
    hard = [op for op in ops if op.input["key"] == "0"]
    result = le.check_linearizable(hard, timeout_s=0)
    assert result.ok is None and result.timed_out
    assert "gave up" in result.explain()


# ----------------------------------------------------- against brute force


def brute_force(ops: list[Op], model: Any) -> bool:
    """Every order of the operations that respects real time, tried in the model. (An
    operation with an unknown outcome that never took effect is one placed last.)"""
    n = len(ops)
    inf = float("inf")
    for order in itertools.permutations(range(n)):
        placed = set()
        legal = True
        for i in order:
            if any(
                j not in placed and (ops[j].ret if ops[j].ret is not None else inf) < ops[i].call
                for j in range(n)
            ):
                legal = False
                break
            placed.add(i)
        if not legal:
            continue
        state = model.init()
        for i in order:
            output = None if ops[i].ret is None else ops[i].output
            ok, state = model.step(state, ops[i].input, output)
            if not ok:
                break
        else:
            return True
    return False


@st.composite
def small_register_histories(draw: Any) -> list[Op]:
    n = draw(st.integers(1, 5))
    ops = []
    for k in range(n):
        call = draw(st.integers(0, 20))
        length = draw(st.integers(0, 10))
        ret: int | None = call + length if draw(st.integers(0, 5)) else None
        kind = draw(st.sampled_from(["read", "write", "cas"]))
        value = draw(st.integers(0, 2))
        if kind == "read":
            given, output = {"op": "read"}, {"value": draw(st.sampled_from([None, 0, 1, 2]))}
        elif kind == "write":
            given, output = {"op": "write", "value": value}, {"ok": True}
        else:
            given = {"op": "cas", "from": draw(st.sampled_from([None, 0, 1])), "to": value}
            output = {"ok": draw(st.booleans())}
        ops.append(Op(k, given, output if ret is not None else None, call, ret))
    return ops


@settings(max_examples=300, deadline=None)
@given(small_register_histories())
def test_the_search_agrees_with_brute_force(ops: list[Op]) -> None:
    assert le.check_linearizable(ops, "register").ok is brute_force(ops, RegisterModel())


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_history_from_a_real_sequential_run_is_linearizable(seed: int) -> None:
    """Run operations one at a time on a dict at instants t_1 < t_2 < ...; give each a
    call time before its instant and a return time after it, so that many overlap;
    the checker must find an order. Then make one get lie: it must not."""
    rng = random.Random(seed)
    store: dict[str, Any] = {}
    ops = []
    for k in range(60):
        instant = 10 * k
        key = rng.choice("xyz")
        kind = rng.choice(["get", "put", "append", "delete", "cas"])
        given: dict[str, Any] = {"op": kind, "key": key}
        output: dict[str, Any] = {"ok": True}
        if kind == "get":
            output = {"value": store.get(key)}
        elif kind == "put":
            given["value"] = store[key] = rng.choice("abc")
        elif kind == "append":
            given["value"] = rng.choice("abc")
            store[key] = store.get(key, "") + given["value"]
        elif kind == "delete":
            store.pop(key, None)
        else:
            given["from"], given["to"] = rng.choice([None, "a", store.get(key)]), rng.choice("abc")
            output = {"ok": given["from"] == store.get(key)}
            if output["ok"]:
                store[key] = given["to"]
        client = f"c{k % 7}"
        ops.append(
            Op(client, given, output, instant - rng.randint(0, 35), instant + rng.randint(0, 35))
        )
    assert le.check_linearizable(ops).ok, f"seed={seed}"
    gets = [i for i, op in enumerate(ops) if op.input["op"] == "get"]
    if gets:
        i = rng.choice(gets)
        ops[i] = ops[i]._replace(output={"value": "never written"})
        assert le.check_linearizable(ops).ok is False, f"seed={seed}"
