"""Determinism: one seed and one sequence of inputs give one run, byte for byte.

Checked within one process, across processes with different ``PYTHONHASHSEED``
values, through ``export()``/``Cluster.load`` (also through JSON text), and through the
step controller's time travel: ``rewind``, ``seek`` across checkpoints, forks, and
``run`` after a rewind (DESIGN.md, "Determinism" and "Options and exact meanings").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import luminous_edu as le
from luminous_edu.sim import CHECKPOINT_INTERVAL

TESTS_DIR = Path(__file__).resolve().parent


# ----------------------------------------------------------------- helpers


def server_state(c: le.Cluster) -> dict[int, tuple[Any, ...]]:
    """Everything a student can see about each server."""
    state = {}
    for i in c.servers:
        s = c.servers[i]
        state[i] = (
            s.alive,
            s.role,
            s.current_term,
            s.voted_for,
            s.log,
            s.commit_index,
            s.last_applied,
            tuple(c.applied(i)),
            s.next_index,
            s.match_index,
        )
    return state


def full_state(c: le.Cluster) -> dict[str, Any]:
    return {
        "servers": server_state(c),
        "pending": c.pending(),
        "step": c.step_count,
        "now": c.now,
        "leader": c.leader,
        "violations": list(c.violations),
    }


def raw_trace(c: le.Cluster) -> list[tuple[Any, ...]]:
    return [(e.step, e.time, e.server, e.rule, e.args, e.sentence) for e in c.trace]


def live_follower(c: le.Cluster) -> int:
    return next(
        i for i in c.servers if c.servers[i].alive and c.servers[i].role is not le.Role.LEADER
    )


def deliveries(c: le.Cluster) -> list[le.Event]:
    return [e for e in c.pending() if e.kind == "deliver"]


def scripted_run(seed: int = 7, servers: int = 5) -> le.Cluster:
    """A run that uses every kind of input: proposals, crashes, restarts, partitions,
    disconnects, network changes, and manual fire / drop / timeout."""
    c = le.Cluster(servers=servers, seed=seed)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    leader = c.leader
    others = [i for i in c.servers if i != leader]
    for n in range(3):
        assert c.propose({"n": n, "who": "alice", "tags": ["x", "y"], "w": 0.5}).accepted
    c.run(60)

    # Manual scheduling: fire the last pending message ahead of its turn, drop the first.
    c.propose("scheduled by hand")
    msgs = deliveries(c)
    assert len(msgs) >= 2
    c.fire(msgs[-1].id)
    c.drop(msgs[0].id)
    c.run(100)

    # Crash and restart a follower, with a proposal while it is down.
    c.crash(others[0])
    c.run(100)
    c.propose(["while", f"S{others[0]}", "is down"])
    c.run(50)
    c.restart(others[0])
    c.run(150)

    # Partition the leader into a minority; the majority elects someone else.
    c.partition({leader, others[0]}, set(others[1:]))
    c.run(800)
    c.propose("to the majority's leader")
    c.run(50)
    c.heal()
    c.run(400)

    # A lossy, duplicating, slower network for a while.
    c.network = le.Network(delay_ms=(2, 30), drop_rate=0.2, duplicate_rate=0.3)
    for n in range(5):
        c.propose({"lossy": n})
        c.run(40)
    c.network = le.Network()
    c.run(400)

    # Disconnect and reconnect one server; then force a follower to time out.
    c.disconnect(others[1])
    c.run(300)
    c.connect(others[1])
    c.run(300)
    c.timeout(live_follower(c))
    c.run(800)
    c.propose(["final", 1, 2.5, None, True, {"k": "v"}])
    c.run(300)
    assert c.violations == []
    return c


def fingerprint(c: le.Cluster) -> dict[str, Any]:
    """A JSON-able summary of a run, to compare runs made in different processes."""
    return {
        "digest": c.trace_digest(),
        "step_count": c.step_count,
        "now": c.now,
        "record": c.export(),
        "state": repr(server_state(c)),
        "pending": repr(c.pending()),
        "trace": [str(e) for e in c.trace],
    }


# -------------------------------------------------------- same seed, same run


def test_same_seed_same_inputs_same_digest() -> None:
    a, b = scripted_run(), scripted_run()
    assert a.step_count > 200
    assert a.trace_digest() == b.trace_digest()
    assert raw_trace(a) == raw_trace(b)
    assert full_state(a) == full_state(b)


def test_different_seeds_differ() -> None:
    digests = set()
    for seed in (1, 2, 3, 4):
        c = le.Cluster(servers=5, seed=seed)
        c.run(2000)
        digests.add(c.trace_digest())
    assert len(digests) == 4


def test_different_inputs_differ() -> None:
    runs = []
    for data in ("x", "y"):
        c = le.Cluster(servers=3, seed=1)
        assert c.run_until(lambda c: c.leader is not None, 3000)
        c.propose(data)
        c.run(200)
        runs.append(c.trace_digest())
    assert runs[0] != runs[1]


def test_same_run_in_separate_processes_with_different_hash_seeds() -> None:
    """String hashing is randomised per process; nothing may depend on it."""
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from test_determinism import fingerprint, scripted_run\n"
        "print(json.dumps(fingerprint(scripted_run())))\n"
    )
    here = json.loads(json.dumps(fingerprint(scripted_run())))
    for hash_seed in ("0", "1", "987654321"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=TESTS_DIR.parent,
        )
        assert done.returncode == 0, done.stderr
        there = json.loads(done.stdout)
        assert there["digest"] == here["digest"], f"PYTHONHASHSEED={hash_seed}"
        assert there == here, f"PYTHONHASHSEED={hash_seed}"


# ----------------------------------------------------------- export and load


def test_export_load_reproduces_the_run() -> None:
    c = scripted_run()
    loaded = le.Cluster.load(c.export())
    assert loaded.trace_digest() == c.trace_digest()
    assert loaded.step_count == c.step_count
    assert raw_trace(loaded) == raw_trace(c)
    assert full_state(loaded) == full_state(c)


def test_export_survives_json_text() -> None:
    c = scripted_run()
    record = c.export()
    text = json.dumps(record, allow_nan=False)
    again = json.loads(text)
    assert json.dumps(again, allow_nan=False) == text
    loaded = le.Cluster.load(again)
    assert loaded.trace_digest() == c.trace_digest()
    assert loaded.step_count == c.step_count
    assert full_state(loaded) == full_state(c)
    # The loaded cluster exports the same record.
    assert json.dumps(loaded.export(), allow_nan=False) == text


def test_loaded_cluster_has_the_same_future() -> None:
    """Random streams, timers and event ids are restored too, not just the state."""
    c = scripted_run()
    loaded = le.Cluster.load(json.loads(json.dumps(c.export())))
    for cluster in (c, loaded):
        if cluster.leader is not None:
            cluster.propose("after the load")
        cluster.run(700)
        cluster.crash(live_follower(cluster))
        cluster.run(300)
    assert loaded.trace_digest() == c.trace_digest()
    assert full_state(loaded) == full_state(c)


def test_export_after_rewind_records_up_to_the_current_step() -> None:
    c = scripted_run()
    c.rewind(150)
    loaded = le.Cluster.load(json.loads(json.dumps(c.export())))
    assert loaded.step_count == c.step_count
    assert loaded.trace_digest() == c.trace_digest()
    assert server_state(loaded) == server_state(c)
    assert loaded.pending() == c.pending()


def test_export_load_with_pickle_codec() -> None:
    c = le.Cluster(servers=3, seed=5, codec=le.PickleCodec())
    assert c.run_until(lambda c: c.leader is not None, 3000)
    c.propose((1, "tuple"))
    c.propose({1: frozenset({2, 3})})
    c.run(300)
    record = json.loads(json.dumps(c.export()))
    loaded = le.Cluster.load(record, codec=le.PickleCodec())
    assert loaded.trace_digest() == c.trace_digest()
    assert full_state(loaded) == full_state(c)


# -------------------------------------------------------------- time travel


def test_rewind_then_step_reproduces_the_same_events() -> None:
    c = scripted_run()
    n = c.step_count
    digest = c.trace_digest()
    original = raw_trace(c)
    servers = server_state(c)
    pending = c.pending()
    for k in (1, 7, 60, 333, n // 2, n):
        c.rewind(k)
        assert c.step_count == n - k
        assert raw_trace(c) == [t for t in original if t[0] <= n - k]
        for _ in range(k):
            assert c.step() is not None
        assert c.step_count == n
        assert c.trace_digest() == digest
        assert raw_trace(c)[-50:] == original[-50:]
        assert raw_trace(c) == original
        assert server_state(c) == servers
        assert c.pending() == pending


def test_rewind_zero_changes_nothing() -> None:
    c = scripted_run()
    before = full_state(c)
    c.rewind(0)
    assert full_state(c) == before


def _long_run(marks: set[int]) -> tuple[le.Cluster, dict[int, Any]]:
    """A run of more than three checkpoint intervals, stepped one at a time, keeping the
    state seen at each step in ``marks``."""
    seen: dict[int, Any] = {}
    c = le.Cluster(servers=5, seed=11)

    def look() -> None:
        if c.step_count in marks and c.step_count not in seen:
            seen[c.step_count] = (
                server_state(c),
                c.pending(),
                c.now,
                c.trace_digest(),
                len(c.trace),
            )

    look()
    crashed = None
    count = 0
    while c.step_count < 3 * CHECKPOINT_INTERVAL + 300:
        c.step()
        look()
        count += 1
        if count % 37 == 0 and c.leader is not None:
            c.propose({"count": count})
            look()
        if count % 700 == 0:
            if crashed is None:
                crashed = live_follower(c)
                c.crash(crashed)
            else:
                c.restart(crashed)
                crashed = None
            look()
        if count % 1100 == 0:
            c.timeout(live_follower(c))
            look()
    marks.add(c.step_count)
    look()
    return c, seen


def test_seek_back_and_forth_across_checkpoints() -> None:
    assert CHECKPOINT_INTERVAL <= 1024
    k = CHECKPOINT_INTERVAL
    marks = {0, 1, 2, 500, k - 1, k, k + 1, 2 * k - 1, 2 * k, 2 * k + 5, 3 * k + 100}
    c, seen = _long_run(marks)
    end = c.step_count
    assert end > 3 * k
    order = [0, end, 1, 2 * k + 5, k - 1, 3 * k + 100, k + 1, 500, 2 * k, end, k]
    order += [2 * k - 1, 2, 0, 3 * k + 100, k, end]
    for step in order:
        c.seek(step)
        assert c.step_count == step
        servers, pending, now, digest, length = seen[step]
        assert server_state(c) == servers, f"servers differ after seek({step})"
        assert c.pending() == pending, f"pending() differs after seek({step})"
        assert c.now == now, f"clock differs after seek({step})"
        assert len(c.trace) == length, f"trace length differs after seek({step})"
        assert c.trace_digest() == digest, f"trace differs after seek({step})"


def test_rewind_across_a_checkpoint_then_step_forward() -> None:
    c, _ = _long_run(set())
    end = c.step_count
    digest = c.trace_digest()
    state = full_state(c)
    c.rewind(CHECKPOINT_INTERVAL + 200)
    while c.step_count < end:
        c.step()
    assert c.trace_digest() == digest
    assert full_state(c) == state


INTERVENTIONS = {
    "crash": lambda c: c.crash(live_follower(c)),
    "timeout": lambda c: c.timeout(live_follower(c)),
    "fire": lambda c: c.fire(c.pending()[-1].id),
    "drop": lambda c: c.drop(deliveries(c)[-1].id),
    "partition": lambda c: c.partition({1, 2}),
    "heal": lambda c: c.heal(),
    "network": lambda c: setattr(c, "network", le.Network(drop_rate=0.5)),
    "disconnect": lambda c: c.disconnect(live_follower(c)),
}


@pytest.mark.parametrize("intervention", sorted(INTERVENTIONS))
def test_intervention_after_rewind_forks(intervention: str) -> None:
    c = scripted_run()
    n = c.step_count
    original = raw_trace(c)
    original_state = server_state(c)
    c.rewind(40)
    m = c.step_count
    # Make sure the recorded next step is a delivery or a timer, so a fork must differ.
    assert isinstance(c.step(), le.Event)
    c.rewind(1)
    if intervention == "drop":
        assert deliveries(c)
    INTERVENTIONS[intervention](c)
    assert c.step_count == m + 1
    # The recorded future was discarded: it is no longer there to seek to.
    with pytest.raises(le.LuminousError):
        c.seek(m + 2)
    with pytest.raises(le.LuminousError):
        c.seek(n)
    forked = raw_trace(c)
    assert forked[: len([t for t in original if t[0] <= m])] == [t for t in original if t[0] <= m]
    assert [t for t in forked if t[0] == m + 1] != [t for t in original if t[0] == m + 1]
    # Going on builds a new future, which differs from the old one.
    while c.step_count < n:
        c.step()
    assert raw_trace(c) != original
    assert (raw_trace(c), server_state(c)) != (original, original_state)
    # The new future is recorded: rewinding in it and stepping again reproduces it.
    digest = c.trace_digest()
    c.rewind(30)
    for _ in range(30):
        c.step()
    assert c.trace_digest() == digest


def test_proposal_after_rewind_forks() -> None:
    c = scripted_run()
    n = c.step_count
    original = raw_trace(c)
    c.rewind(25)
    assert c.leader is not None
    m = c.step_count
    assert c.propose("a different future").accepted
    with pytest.raises(le.LuminousError):
        c.seek(m + 2)
    while c.step_count < n:
        c.step()
    assert raw_trace(c) != original
    assert any(data == "a different future" for _, data in c.applied(c.leader))


def test_run_after_rewind_replays_recorded_inputs() -> None:
    c = scripted_run()
    n, digest, now = c.step_count, c.trace_digest(), c.now
    state = server_state(c)
    pending = c.pending()
    inputs_replayed = 0
    for back_to in (3, n // 3, n - 20):
        c.seek(back_to)
        before = len(c.trace)
        c.run(now - c.now)
        assert c.step_count == n
        assert c.now == now
        assert c.trace_digest() == digest
        assert server_state(c) == state
        assert c.pending() == pending
        inputs_replayed += sum(
            1
            for e in c.trace[before:]
            if e.rule.startswith(("USER.", "CRASH", "RESTART", "PARTITION", "HEAL", "NETWORK"))
        )
    assert inputs_replayed > 10


def test_run_until_after_rewind_replays_recorded_inputs() -> None:
    c = scripted_run()
    n, digest = c.step_count, c.trace_digest()
    c.seek(10)
    assert c.run_until(lambda c: c.step_count >= n, max_ms=100_000)
    assert c.step_count == n
    assert c.trace_digest() == digest


def test_step_replays_inputs_after_rewind() -> None:
    c = scripted_run()
    n = c.step_count
    original = raw_trace(c)
    c.rewind(n - 5)
    for _ in range(n - 5):
        assert c.step() is not None
    assert raw_trace(c) == original
    rules = {e.rule for e in c.trace.since(6)}
    for rule in ("USER.fire", "USER.drop", "USER.timeout", "CRASH", "RESTART", "PARTITION"):
        assert rule in rules
    for rule in ("HEAL", "NETWORK", "DISCONNECT", "CONNECT"):
        assert rule in rules


def pickle_run() -> le.Cluster:
    """A PickleCodec run whose data holds sets of strings: their iteration order (and so
    their repr and pickle bytes) depends on the process's string hash seed."""
    c = le.Cluster(servers=3, seed=12, codec=le.PickleCodec())
    assert c.run_until(lambda c: c.leader is not None, 3000)
    c.propose({"alpha", "beta", "gamma", "delta", "epsilon"})
    c.propose(("tuple", frozenset({"x", "y", "z", "w"})))
    c.run(300)
    return c


def _in_subprocess(code: str, hash_seed: str, stdin: str = "") -> str:
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "import luminous_edu as le\n"
        "from test_determinism import pickle_run\n" + code
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ, PYTHONHASHSEED=hash_seed),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TESTS_DIR.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pickle_run_elsewhere(hash_seed: str) -> dict[str, Any]:
    code = (
        "c = pickle_run()\nprint(json.dumps({'digest': c.trace_digest(), 'record': c.export()}))\n"
    )
    return json.loads(_in_subprocess(code, hash_seed))  # type: ignore[no-any-return]


def test_pickle_codec_runs_with_string_sets_agree_across_processes() -> None:
    digests = {_pickle_run_elsewhere(seed)["digest"] for seed in ("0", "1", "2", "3")}
    assert len(digests) == 1


def test_pickle_codec_record_loads_in_another_process() -> None:
    run = _pickle_run_elsewhere("0")
    loaded = _in_subprocess(
        "record = json.loads(sys.stdin.read())\n"
        "print(le.Cluster.load(record, codec=le.PickleCodec()).trace_digest())\n",
        "5",
        stdin=json.dumps(run["record"]),
    )
    assert loaded.strip() == run["digest"]
