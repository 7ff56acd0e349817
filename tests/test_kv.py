"""The replicated key-value store (le.KVStore): set up, step, check, with faults.

Each test builds a store, drives clients and faults in virtual time, and checks what the
clients saw, what the replicas hold, and that the checker accepts the history (or, with
a teaching switch on, that it catches what the switch breaks).
"""

from __future__ import annotations

import hashlib
import json

import pytest

import luminous_edu as le
from luminous_edu.kv import Append, Command, KVCodec, Put, shard_of
from luminous_edu.kv.scenarios import elect as led
from luminous_edu.kv.scenarios import late_replica, lost_reply, settle, stale_read

# ------------------------------------------------------------- the basics


def test_every_operation_and_its_answer() -> None:
    store = le.KVStore(servers=3, seed=1)
    a = store.client("alice")
    calls = [
        a.get("x"),
        a.put("x", "1"),
        a.append("x", "2"),
        a.get("x"),
        a.cas("x", "1", "z"),
        a.cas("x", "12", {"n": [1, 2]}),
        a.get("x"),
        a.append("x", "!"),
        a.delete("x"),
        a.get("x"),
        a.cas("x", None, True),
        a.get("x"),
    ]
    settle(store, *calls)
    assert [h.value for h in calls] == [
        None, None, None, "12", False, True, {"n": [1, 2]}, None, None, None, True, True,
    ]  # fmt: skip
    assert "cannot append to 'x'" in (calls[7].error or "")
    assert [h.error for i, h in enumerate(calls) if i != 7] == [None] * 11
    assert store.check().ok


def test_the_history_records_each_call_in_virtual_time() -> None:
    store = le.KVStore(servers=3, seed=1)
    a, b = store.client("alice"), store.client("bob")
    put = a.put("k", "v", ttl_ms=500)
    get = b.get("k")
    settle(store, put, get)
    history = store.history
    assert [op.client for op in history] == ["alice", "bob"]
    assert history[0] == le.Operation(
        "alice", {"op": "put", "key": "k", "value": "v", "ttl_ms": 500}, {"ok": True}, 0, put.ret_ms
    )
    assert history[1].input == {"op": "get", "key": "k"}
    assert history[1].output == {"value": get.value}
    assert 0 == history[1].call < history[1].ret == get.ret_ms <= store.now


def test_a_client_sends_one_request_at_a_time_in_order() -> None:
    store = le.KVStore(servers=3, seed=2)
    a = store.client("alice")
    first, second = a.append("log", "a"), a.append("log", "b")
    assert a.pending == [first, second] and second.call_ms is None
    settle(store, first)
    assert second.call_ms == first.ret_ms
    third = a.get("log")
    settle(store, third)
    assert third.value == "ab"


def test_commands_are_typed_values_carried_through_the_codec() -> None:
    """The seed's generic T: the log holds Command objects, not strings."""
    store = le.KVStore(servers=3, seed=1)
    h = store.client("alice").put("x", [1, "two"], ttl_ms=30)
    settle(store, h)
    leader = store.leaders[0]
    assert leader is not None
    (entry,) = [e for e in store.groups[0].servers[leader].log if e.kind == "command"]
    assert entry.data == Command("alice", 1, entry.data.stamp_ms, Put("x", [1, "two"], 30))
    codec = KVCodec()
    assert codec.decode(codec.encode(entry.data)) == entry.data
    assert type(codec.decode(codec.encode(Command("b", 2, 5, Append("k", "s")))).op) is Append


def test_bad_input_is_refused_with_a_sentence() -> None:
    store = le.KVStore(servers=3)
    a = store.client("alice")
    with pytest.raises(le.LuminousError, match="keys are non-empty strings"):
        a.get(3)  # type: ignore[arg-type]
    with pytest.raises(le.LuminousError, match="use delete"):
        a.put("x", None)
    with pytest.raises(le.DataError, match="brings it back as"):
        a.put("x", (1, 2))
    with pytest.raises(le.DataError, match="cannot be stored"):
        a.put("x", {1, 2})
    with pytest.raises(le.LuminousError, match="append adds a string"):
        a.append("x", 5)  # type: ignore[arg-type]
    with pytest.raises(le.LuminousError, match="ttl_ms"):
        a.put("x", "1", ttl_ms=0)
    with pytest.raises(le.LuminousError, match="read_mode"):
        le.KVStore(read_mode="fast")
    with pytest.raises(le.LuminousError, match="expiry_clock"):
        le.KVStore(expiry_clock="wall")
    with pytest.raises(le.LuminousError, match="the store's own"):
        le.KVStore(state_machine=list)
    with pytest.raises(le.LuminousError, match="shards"):
        le.KVStore(shards=0)
    with pytest.raises(le.UnknownServerError, match="no server 9"):
        store.crash(9)
    with pytest.raises(le.LuminousError, match="non-empty string"):
        store.client("")
    assert a.pending == [] and store.history == []  # nothing half-done


# --------------------------------------------------- sessions (thesis §6.3)


def test_a_retry_after_a_lost_reply_is_applied_once() -> None:
    store, append, get = lost_reply(dedup=True, seed=3)
    assert append.attempts >= 2  # the client retried...
    assert get.value == "x"  # ...and the append was applied once
    assert "lost (lose_next_reply)" in store.trace.text()
    leader = store.leaders[0]
    assert leader is not None
    replica = store.replica(leader)
    assert replica is not None and replica.duplicates == 1
    assert replica.sessions["alice"][0] == append.seq
    assert store.check().ok


def test_without_deduplication_the_retry_applies_twice_and_the_checker_sees_it() -> None:
    store, append, get = lost_reply(dedup=False, seed=3)
    assert append.attempts >= 2 and append.value is None
    assert get.value == "xx"
    result = store.check()
    assert result.ok is False
    assert result.failing is not None and result.failing.output == {"value": "xx"}


def test_the_session_table_survives_snapshots_and_restarts() -> None:
    """The dedup table is part of the state machine's snapshot: every server restarts
    from a snapshot that holds alice's applied append, and her retry, which comes only
    after the restarts, is still not applied again."""
    store = le.KVStore(servers=3, seed=5, snapshot_threshold=2, retry_timeout_ms=3000)
    a, b = store.client("alice"), store.client("bob")
    settle(store, a.get("k"))  # alice learns who leads
    store.lose_next_reply("alice")
    append = a.append("k", "x")

    def applied(s: le.KVStore) -> bool:
        replica = s.replica(s.leaders[0] or 1)
        return replica is not None and replica.sessions.get("alice", [0])[0] == append.seq

    assert store.run_until(applied)
    leader = store.leaders[0]
    assert leader is not None
    index = store.replica(leader).index  # type: ignore[union-attr]
    settle(store, *[b.put(f"w{i}", "v") for i in range(4)])  # snapshots move past it
    store.run(100)
    for server in store.servers:
        store.crash(server)
        store.restart(server)
        assert store.groups[0].servers[server].snapshot_index >= index
        replica = store.replica(server)
        assert replica is not None and replica.sessions["alice"][0] == append.seq
    assert append.attempts == 1 and not append.done
    settle(store, append)
    get = a.get("k")
    settle(store, get)
    assert get.value == "x" and append.attempts >= 2
    assert store.check().ok


def test_a_client_follows_the_leader_hint() -> None:
    store = le.KVStore(servers=5, seed=2)
    leader = led(store)
    store.run(100)  # S1 hears from the leader
    assert leader != 1  # the client starts at S1
    h = store.client("alice").put("x", "1")
    settle(store, h)
    assert h.server == leader and h.attempts == 2
    assert f"S1 does not lead; S{leader} leads" in store.trace.text()


def test_a_client_that_hears_nothing_gives_up_and_the_outcome_is_unknown() -> None:
    store = le.KVStore(servers=3, seed=1, give_up_after_ms=1000)
    led(store)
    for server in store.servers:
        store.crash(server)
    h = store.client("alice").put("x", "1")
    settle(store, h, max_ms=2000)
    assert h.error is not None and "unknown" in h.error and h.value is None
    (op,) = store.history
    assert op.ret is None and op.output is None
    assert store.check().ok


# --------------------------------------------- linearizable reads (§6.4)


def test_a_read_index_read_never_returns_a_stale_value() -> None:
    store, get, old = stale_read("index", seed=2)
    assert get.value == "2" and get.server != old
    assert store.check().ok


def test_a_deposed_leader_answering_reads_locally_is_caught_by_the_checker() -> None:
    store, get, old = stale_read("local", seed=2)
    assert get.value == "1" and get.server == old
    result = store.check()
    assert result.ok is False and result.key == "x"
    assert result.failing == store.history[-1]
    assert [op.input.get("value") for op in result.prefix] == ["1", "2"]


# ------------------------------------------------------------ expiry


def test_an_expired_key_reads_as_none_even_with_no_write_since() -> None:
    store = le.KVStore(servers=3, seed=1)
    a = store.client("alice")
    put = a.put("s", "v", ttl_ms=300)
    settle(store, put)
    early = a.get("s")
    settle(store, early)
    store.run(400)
    late = a.get("s")
    settle(store, late)
    assert (early.value, late.value) == ("v", None)
    assert store.check().ok


def test_a_key_vanishes_at_the_same_log_index_on_every_replica() -> None:
    store, late, *_ = late_replica("replicated", seed=4)
    states = [store.replica(s).state() for s in store.servers]  # type: ignore[union-attr]
    assert all(state == states[late - 1] for state in states)  # the late one too
    assert states[0]["data"] == {"lock": "alice!"}  # no entry since has a later stamp...
    assert [store.contents(s) for s in store.servers] == [{}] * 5  # ...but reads see it gone


def test_expiry_by_each_servers_own_clock_makes_replicas_diverge() -> None:
    store, late, _, _, seen = late_replica("local", seed=4)
    assert seen.value == "alice!"
    assert store.contents(late) == {"lock": "!"}  # it applied the put already expired
    assert all(store.contents(s) == {} for s in store.servers if s != late)
    assert store.groups[0].transfer_leadership(to=late).accepted
    store.run(500)
    get = store.client("bob").get("lock")
    settle(store, get)
    assert get.value == "!"
    result = store.check()
    assert result.ok is False and result.failing == store.history[-1]


def test_with_replicated_time_the_same_story_is_linearizable() -> None:
    store, late, *_ = late_replica("replicated", seed=4)
    assert store.groups[0].transfer_leadership(to=late).accepted
    store.run(500)
    get = store.client("bob").get("lock")
    settle(store, get)
    assert get.value is None and store.check().ok


# ------------------------------------------------------------- shards


def test_keys_go_to_shards_by_a_stable_hash() -> None:
    for key in ("x", "user:42", "ключ"):
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        assert shard_of(key, 3) == int.from_bytes(digest[:8], "big") % 3
    assert [shard_of(k, 3) for k in "abcdefgh"] == [shard_of(k, 3) for k in "abcdefgh"]
    assert len({shard_of(k, 3) for k in "abcdefgh"}) == 3


def test_each_shard_is_its_own_raft_group_on_the_same_servers() -> None:
    store = le.KVStore(servers=5, shards=3, seed=7)
    assert len(store.groups) == 3 and all(g.ids == (1, 2, 3, 4, 5) for g in store.groups)
    a = store.client("alice")
    keys = [f"k{i}" for i in range(12)]
    settle(store, *[a.put(k, k.upper()) for k in keys])
    for g, group in enumerate(store.groups):
        leader = group.leader
        assert leader is not None
        logged = {e.data.op.key for e in group.servers[leader].log if e.kind == "command"}
        assert logged == {k for k in keys if store.shard_of(k) == g}
    gets = [a.get(k) for k in keys]
    settle(store, *gets)
    assert [h.value for h in gets] == [k.upper() for k in keys]
    assert store.check().ok


def test_crashing_a_server_crashes_it_in_every_group() -> None:
    store = le.KVStore(servers=5, shards=3, seed=7)
    store.run(1000)
    store.crash(2)
    assert [g.servers[2].alive for g in store.groups] == [False] * 3
    with pytest.raises(le.InvalidActionError, match="cannot crash S2"):
        store.crash(2)
    store.restart(2)
    assert [g.servers[2].alive for g in store.groups] == [True] * 3
    store.partition({1, 2}, {3, 4, 5})
    assert all(g.partition_groups == ((1, 2), (3, 4, 5)) for g in store.groups)
    store.heal()
    assert all(g.partition_groups == () for g in store.groups)


def test_a_crashed_leader_in_one_shard_does_not_stop_the_others() -> None:
    store = le.KVStore(servers=5, shards=3, seed=11)
    a = store.client("alice")
    settle(store, *[a.put(f"k{i}", "v") for i in range(6)])
    victim = store.leaders[0]
    assert victim is not None
    store.crash(victim)
    gets = [a.get(f"k{i}") for i in range(6)]
    settle(store, *gets)
    assert [h.value for h in gets] == ["v"] * 6
    assert all(leader != victim for leader in store.leaders.values())
    assert store.check().ok


# -------------------------------------------------------------- faults


def test_a_lossy_duplicating_network_with_crashes() -> None:
    store = le.KVStore(servers=5, seed=8, retry_timeout_ms=200)
    store.set_network(drop_rate=0.2, duplicate_rate=0.2)
    clients = [store.client(n) for n in ("a", "b", "c")]
    handles = []
    for round_ in range(8):
        for i, c in enumerate(clients):
            handles.append(c.append("log", f"{i}{round_}"))
            handles.append(c.get("log"))
        store.run(150)
        if round_ == 2:
            store.crash(store.leaders[0] or 1)
        if round_ == 5:
            store.restart(next(s for s in store.servers if not store.groups[0].servers[s].alive))
    store.set_network(drop_rate=0.0, duplicate_rate=0.0)
    settle(store, *handles, max_ms=30_000)
    assert "duplicated" in store.trace.text() and "(drop_rate)" in store.trace.text()
    final = clients[0].get("log")
    settle(store, final)
    appended = sorted(h.input["value"] for h in handles if h.input["op"] == "append")
    pieces = [final.value[i : i + 2] for i in range(0, len(final.value), 2)]
    assert sorted(pieces) == appended  # every append once: no loss, no double
    assert store.check().ok


def test_power_cuts_with_unsynced_writes_lost() -> None:
    """A storage call interrupted half-way on the leader, with disks that lose what was
    not synced: the clients' history stays linearizable."""
    store = le.KVStore(servers=3, seed=9, disk_faults="unsynced")
    a, b = store.client("alice"), store.client("bob")
    handles = [a.append("k", "1"), b.append("k", "2")]
    for cut in range(3):
        leader = led(store)
        store.groups[0].cut_power(leader, after_operations=cut)
        handles += [a.append("k", str(cut)), b.get("k")]
        store.run(400)
        for server in store.servers:
            if not store.groups[0].servers[server].alive:
                store.restart(server)
    settle(store, *handles, max_ms=20_000)
    assert sum(e.rule == "POWER" for e in store.groups[0].trace) >= 2
    assert all(g.violations == [] for g in store.groups)
    assert store.check().ok


def test_run_and_step_give_the_same_history() -> None:
    def drive(by_steps: bool) -> le.KVStore:
        store = le.KVStore(servers=3, shards=2, seed=12)
        clients = [store.client(n) for n in ("a", "b")]
        for round_ in range(6):
            for c in clients:
                c.append(f"k{round_ % 3}", c.name)
                c.get(f"k{(round_ + 1) % 3}")
            if round_ == 3:
                store.crash(2)
            if by_steps:
                store.run_until(lambda s: False, 200)
            else:
                store.run(200)
        return store

    stepped, ran = drive(True), drive(False)
    assert stepped.history == ran.history and len(ran.history) > 10
    assert [g.trace_digest() for g in stepped.groups] == [g.trace_digest() for g in ran.groups]


def test_same_seed_same_run() -> None:
    def run(seed: int) -> str:
        store = le.KVStore(servers=3, shards=2, seed=seed)
        store.set_network(drop_rate=0.1)
        c = store.client("c")
        for i in range(10):
            c.append(f"k{i % 4}", str(i))
        store.run(3000)
        return json.dumps([list(op) for op in store.history]) + "".join(
            g.trace_digest() for g in store.groups
        )

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_run_until_stops_at_its_limit() -> None:
    store = le.KVStore(servers=3, seed=1)
    assert store.run_until(lambda s: False, 700) is False
    assert store.now == 700 and all(g.now == 700 for g in store.groups)
