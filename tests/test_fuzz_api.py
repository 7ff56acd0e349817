"""Fuzzing the public API with hostile input (issue 13, item 4).

Hypothesis calls the Cluster's public methods with values nobody should pass: huge and
negative numbers, floats that are not numbers, strings, bytes, None, booleans, deeply
nested data, objects whose ``repr`` or ``==`` raise, wrong types everywhere. Each call
either works or raises a ``le.LuminousError`` whose message is a sentence; nothing else
may escape. After every refused call the cluster is checked: it still steps, and its
export loads and replays to the same trace digest.

``pytest tests/test_fuzz_api.py -s`` prints the counts: calls tried, accepted, refused
with a clear error, and refused calls after which the cluster was found corrupted (must
be 0). ``FUZZ_EXAMPLES=2000`` runs more programs than the 150 of the default run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import luminous_edu as le

COUNTS = {"tried": 0, "accepted": 0, "clear errors": 0, "corrupting": 0}


class Nasty:
    """An object that is not what it claims: its repr, == and hash raise."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("== refused")

    def __hash__(self) -> int:
        raise RuntimeError("hash refused")


class Deep:
    """Stands for a list nested ``depth`` deep (Hypothesis prints what it generates, and
    printing those recurses)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"deep({self.depth})"


class NastyStandIn:
    """Stands for a Nasty in generated input (Hypothesis prints what it generates)."""

    def __repr__(self) -> str:
        return "Nasty()"


class Number(int):
    """An int subclass (as numpy's integers are not ints, but this one is)."""


class Huge:
    """Stands for 10**5000 in generated input, so that Hypothesis can print the example
    (Python cannot print the number itself); ``real`` swaps the number in at call time."""

    def __repr__(self) -> str:
        return "10**5000"


def real(value: Any) -> Any:
    """``value`` with every Huge replaced by 10**5000."""
    if isinstance(value, Huge):
        return 10**5000
    if isinstance(value, NastyStandIn):
        return Nasty()
    if isinstance(value, Deep):
        return deep(value.depth)
    if isinstance(value, list):
        return [real(v) for v in value]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(real(v) for v in value))
    if isinstance(value, tuple):
        return tuple(real(v) for v in value)
    if isinstance(value, dict):
        return {k: real(v) for k, v in value.items()}
    return value


def deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.integers(-(10**6), 10**6),
    st.sampled_from([Huge(), -(10**40), 2**63, Number(2)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.sampled_from(
        [(), [], {}, set(), frozenset({1}), object(), NastyStandIn(), print, le.Cluster]
    ),
    st.builds(Deep, st.sampled_from([5, 150, 400, 2000])),
)
HOSTILE = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 3)), inner, max_size=3),
    ),
    max_leaves=6,
)
SERVER = st.one_of(st.integers(0, 6), HOSTILE)
MESSAGES = st.one_of(
    HOSTILE,
    st.builds(le.TimeoutNow, term=SERVER, leader_id=SERVER),
    st.builds(
        le.RequestVote,
        term=SERVER,
        candidate_id=SERVER,
        last_log_index=SERVER,
        last_log_term=SERVER,
    ),
    st.builds(
        le.AppendEntries,
        term=SERVER,
        leader_id=SERVER,
        prev_log_index=SERVER,
        prev_log_term=SERVER,
        entries=st.one_of(
            HOSTILE, st.lists(st.builds(le.Entry, SERVER, SERVER, HOSTILE), max_size=3)
        ),
        leader_commit=SERVER,
    ),
    st.builds(le.AppendEntriesReply, term=SERVER, success=HOSTILE, match_index=SERVER),
    st.builds(le.RequestVoteReply, term=SERVER, vote_granted=HOSTILE),
    st.builds(
        le.InstallSnapshot,
        term=SERVER,
        leader_id=SERVER,
        last_included_index=SERVER,
        last_included_term=SERVER,
        offset=SERVER,
        data=HOSTILE,
        done=HOSTILE,
        config=HOSTILE,
    ),
)

LIMIT = 3_000  # max_steps for run and run_until: hostile durations stay quick

CALLS: dict[str, Any] = {
    "propose": st.tuples(HOSTILE, st.one_of(st.none(), SERVER)),
    "crash": st.tuples(SERVER),
    "restart": st.tuples(SERVER),
    "disconnect": st.tuples(SERVER),
    "connect": st.tuples(SERVER),
    "timeout": st.tuples(SERVER),
    "partition": st.lists(st.one_of(st.sets(st.integers(0, 6), max_size=3), HOSTILE), max_size=3),
    "heal": st.tuples(),
    "fire": st.tuples(SERVER),
    "drop": st.tuples(SERVER),
    "seek": st.tuples(SERVER),
    "rewind": st.tuples(SERVER),
    "run": st.tuples(SERVER),
    "run_until": st.tuples(HOSTILE, SERVER),
    "cut": st.tuples(SERVER, SERVER),
    "mend": st.tuples(SERVER, SERVER),
    "inject": st.tuples(SERVER, SERVER, MESSAGES),
    "read": st.tuples(HOSTILE, st.one_of(st.none(), SERVER)),
    "transfer_leadership": st.tuples(SERVER),
    "add_server": st.tuples(SERVER),
    "remove_server": st.tuples(SERVER),
    "add_learner": st.tuples(SERVER),
    "promote": st.tuples(SERVER),
    "cut_power": st.tuples(SERVER, SERVER),
    "set_network": st.fixed_dictionaries(
        {}, optional={"delay_ms": HOSTILE, "drop_rate": HOSTILE, "duplicate_rate": HOSTILE}
    ),
    "network.": st.tuples(st.sampled_from(["delay_ms", "drop_rate", "duplicate_rate"]), HOSTILE),
    "trace[]": st.tuples(HOSTILE),
    "trace.text": st.tuples(HOSTILE),
    "servers[]": st.tuples(SERVER),
    "entries": st.tuples(SERVER, HOSTILE, HOSTILE),
    "applied": st.tuples(SERVER),
    "state_machine": st.tuples(SERVER),
    "disk": st.tuples(SERVER),
    "disk_stats": st.tuples(SERVER),
    "link_cut": st.tuples(SERVER, SERVER),
}


def call(c: le.Cluster, name: str, args: Any) -> Any:
    args = real(args)
    if name == "run":
        return c.run(*args, max_steps=LIMIT)
    if name == "run_until":
        predicate, ms = args
        return c.run_until(predicate, ms, max_steps=LIMIT, warn=False)
    if name == "partition":
        return c.partition(*args)
    if name == "set_network":
        return c.set_network(**args)
    if name == "network.":
        return setattr(c.network, *args)
    if name == "trace[]":
        return c.trace[args[0]]
    if name == "trace.text":
        return c.trace.text(last=args[0])
    if name == "servers[]":
        return c.servers[args[0]]
    if name == "entries":
        sid, first, last = args
        return c.servers[sid].entries(first, last)
    return getattr(c, name)(*args)


def replays(c: le.Cluster) -> bool:
    try:
        loaded = le.Cluster.load(json.loads(json.dumps(c.export())))
        return loaded.trace_digest() == c.trace_digest()
    except Exception:  # any failure here is the corruption being counted
        return False


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    if COUNTS["tried"]:
        print("\nfuzz counts: " + ", ".join(f"{name} {count:,}" for name, count in COUNTS.items()))


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    seed=st.integers(0, 30),
    calls=st.lists(
        st.sampled_from(sorted(CALLS)).flatmap(lambda n: st.tuples(st.just(n), CALLS[n])),
        min_size=1,
        max_size=12,
    ),
)
def test_hostile_calls_get_clear_errors_and_corrupt_nothing(
    seed: int, calls: list[tuple[str, Any]]
) -> None:
    c = le.Cluster(servers=3, seed=seed, snapshot_threshold=4)
    c.run_until(lambda c: c.leader is not None, 2000, warn=False)
    for name, args in calls:
        note(f"{name}{args!r}")
        COUNTS["tried"] += 1
        try:
            call(c, name, args)
        except le.LuminousError as error:
            message = str(error)
            assert len(message) > 20 and " " in message, message
            COUNTS["clear errors"] += 1
            c.run(20)
            if not replays(c):
                COUNTS["corrupting"] += 1
                pytest.fail(f"{name} was refused but left the cluster unable to replay")
        else:
            COUNTS["accepted"] += 1
    assert replays(c)


def test_hostile_cluster_options() -> None:
    """Constructor options get the same treatment."""
    bad: list[tuple[str, Any]] = [
        ("servers", 10**5000),
        ("servers", Nasty()),
        ("seed", float("nan")),
        ("seed", Nasty()),
        ("election_timeout_ms", (Nasty(), 3)),
        ("heartbeat_interval_ms", Number(5)),
        ("checks", "no"),
        ("strict", 0),
        ("snapshot_threshold", True),
        ("disk_faults", {"1": "torn"}),
        ("disk_faults", Nasty()),
        ("network", Nasty()),
        ("membership", Nasty()),
        ("initial_state", {1: Nasty()}),
        ("initial_state", Nasty()),
        ("clock_drift_bound", float("inf")),
    ]
    for name, value in bad:
        COUNTS["tried"] += 1
        with pytest.raises(le.LuminousError) as info:
            le.Cluster(**{name: value})
        assert name in str(info.value)
        COUNTS["clear errors"] += 1


def test_hostile_records() -> None:
    """Cluster.load of records changed in hostile ways."""
    c = le.Cluster(servers=3, seed=2)
    c.run_until(lambda c: c.leader is not None, 2000)
    c.propose("x")
    c.run(100)
    record = json.loads(json.dumps(c.export()))
    changes: list[Callable[[dict[str, Any]], None]] = [
        lambda r: r.__setitem__("steps", 10**5000),
        lambda r: r["actions"].append(["next", 10**5000]),
        lambda r: r["actions"].append(["propose", deep(2000), 1, 10**9]),
        lambda r: r["actions"].append(["propose", 10**5000, 1, 10**9]),
        lambda r: r["actions"].append(["inject", 1, 2, {"type": "Nope"}, 10**9]),
        lambda r: r["actions"].append(["cut", 1, 1, 10**9]),
        lambda r: r["config"].__setitem__("initial_state", {"1": {"current_term": -1}}),
        lambda r: r["config"].__setitem__("checks", "yes"),
        lambda r: r["config"].__setitem__("seed", 10**5000),
        lambda r: r["config"]["network"].__setitem__("drop_rate", float("nan")),
    ]
    for change in changes:
        rec = json.loads(json.dumps(record))
        change(rec)
        COUNTS["tried"] += 1
        with pytest.raises(le.RecordError):
            le.Cluster.load(rec)
        COUNTS["clear errors"] += 1
