"""DESIGN.md's "Contract details settled in the second round", one test per sentence:
outside tests rely on these exact behaviours.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import luminous_edu as le

PACKAGE = str(Path(le.__file__).resolve().parent)


@pytest.fixture
def c() -> le.Cluster:
    cluster = le.Cluster(servers=5, seed=3)
    assert cluster.run_until(lambda c: c.leader is not None, 3000)
    for n in range(3):
        cluster.propose(f"v{n}")
    cluster.run(200)
    return cluster


def unchanged_by(c: le.Cluster, action: Callable[[], Any]) -> None:
    before = (c.step_count, c.history_length, c.trace_digest(), c.pending(), c.disconnected)
    assert action() is None
    assert (c.step_count, c.history_length, c.trace_digest(), c.pending(), c.disconnected) == before


def test_connect_and_disconnect_of_a_server_already_so_do_nothing(c: le.Cluster) -> None:
    """ "connect(i) / disconnect(i) of a server already in that state do nothing." """
    unchanged_by(c, lambda: c.connect(2))
    c.disconnect(2)
    unchanged_by(c, lambda: c.disconnect(2))
    assert c.disconnected == {2}
    c.connect(2)
    unchanged_by(c, lambda: c.connect(2))
    with pytest.raises(le.UnknownServerError):
        c.connect(9)


def test_network_settings_change_by_attribute_and_replay(c: le.Cluster) -> None:
    """ "cluster.network.drop_rate = 0.2, cluster.network.delay_ms = (0, 400) and
    cluster.network = le.Network(...) all change the network from the next event on, and
    are recorded for replay." """
    steps = c.step_count
    c.network.drop_rate = 0.2
    assert c.network.drop_rate == 0.2
    assert c.step_count == steps + 1
    c.network.delay_ms = (0, 400)
    assert c.network == le.Network(delay_ms=(0, 400), drop_rate=0.2)
    c.network.duplicate_rate = 0.1
    c.run(2000)
    assert any(e.rule == "NET.drop" for e in c.trace)
    assert max(e.due - e.sent for e in c.pending() if e.kind == "deliver") > 15
    c.network = le.Network()
    assert c.network.delay_ms == (5, 15) and c.network.drop_rate == 0.0
    c.run(200)
    loaded = le.Cluster.load(json.loads(json.dumps(c.export())))
    assert loaded.trace_digest() == c.trace_digest()
    assert loaded.network == c.network
    with pytest.raises(le.LuminousError, match="drop_rate"):
        c.network.drop_rate = 2
    with pytest.raises(le.LuminousError, match="delay_ms"):
        c.network.delay_ms = (400, 0)
    assert c.network == le.Network()
    assert "drop_rate=0.0" in repr(c.network)


def test_the_default_state_machine_is_the_list_of_applied_values(c: le.Cluster) -> None:
    """ "The default state machine is the list of applied values: a read query may do
    list(sm), sm[-1], len(sm)." """
    handle = c.read(lambda sm: {"all": list(sm), "last": sm[-1], "n": len(sm), "first": sm[0]})
    c.run(200)
    assert handle.value == {"all": ["v0", "v1", "v2"], "last": "v2", "n": 3, "first": "v0"}
    machine = c.state_machine(c.leader)
    assert machine == ["v0", "v1", "v2"]
    assert machine.values == ["v0", "v1", "v2"]
    assert "v1" in machine and machine[1:] == ["v1", "v2"]


def test_propose_says_why_it_was_refused(c: le.Cluster) -> None:
    follower = next(i for i in c.servers if i != c.leader)
    result = c.propose("x", server=follower)
    assert not result.accepted and "leader" in result.reason


BAD_CALLS: dict[str, Callable[[le.Cluster], Any]] = {
    "crash(9)": lambda c: c.crash(9),
    "propose({1})": lambda c: c.propose({1}),
    "propose(10**5000)": lambda c: c.propose(10**5000),
    "propose(server='1')": lambda c: c.propose("x", server="1"),
    "partition({1, 2}, {2, 3})": lambda c: c.partition({1, 2}, {2, 3}),
    "network = 5": lambda c: setattr(c, "network", 5),
    "set_network(drop_rate=2)": lambda c: c.set_network(drop_rate=2),
    "network.drop_rate = 2": lambda c: setattr(c.network, "drop_rate", 2),
    "fire('x')": lambda c: c.fire("x"),
    "drop(10**9)": lambda c: c.drop(10**9),
    "seek(-1)": lambda c: c.seek(-1),
    "rewind(10**9)": lambda c: c.rewind(10**9),
    "trace['x']": lambda c: c.trace["x"],
    "trace.text(last='x')": lambda c: c.trace.text(last="x"),
    "servers[1].entries('a', 3)": lambda c: c.servers[1].entries("a", 3),
    "read(1)": lambda c: c.read(1),
    "add_server('x')": lambda c: c.add_server("x"),
    "transfer_leadership('x')": lambda c: c.transfer_leadership("x"),
    "cut_power(1, -1)": lambda c: c.cut_power(1, -1),
    "run(-1)": lambda c: c.run(-1),
    "run_until(..., max_ms=-1)": lambda c: c.run_until(lambda c: True, -1),
    "restart(1)": lambda c: c.restart(1),
    "timeout(leader)": lambda c: c.timeout(c.leader),
    "cut(1, 1)": lambda c: c.cut(1, 1),
    "inject(1, 2, 'hello')": lambda c: c.inject(1, 2, "hello"),
    "Cluster.load({})": lambda c: le.Cluster.load({}),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_api_errors_are_raised_from_the_public_method(c: le.Cluster, name: str) -> None:
    """ "API errors are raised from the public method, not 20 frames into cluster.py":
    the error is a LuminousError raised in the method called or in a check it calls
    itself, never from inside the machinery that carries out a step."""
    before = (c.step_count, c.trace_digest())
    with pytest.raises(le.LuminousError) as info:
        BAD_CALLS[name](c)
    frames = [f for f in traceback.extract_tb(info.value.__traceback__) if PACKAGE in f.filename]
    assert 1 <= len(frames) <= 3, [f"{f.name} ({Path(f.filename).name})" for f in frames]
    assert (c.step_count, c.trace_digest()) == before
