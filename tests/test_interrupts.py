"""Interrupts: Jupyter's Stop button, or ``sys.exit()`` in student code, never leaves a
half-done step behind.

DESIGN.md: "An interrupt (KeyboardInterrupt, SystemExit) at any point leaves the
cluster at its last complete step." After one, the cluster is exactly what an
uninterrupted twin is after the same number of steps: same trace digest, same
servers, same pending events; its export loads and replays to the same digest;
``seek`` back and forth lands on the same state; and the run goes on as the twin's
does. Interrupts come from student code (a storage handler, a state machine, a read
query, a ``run_until`` predicate) and, through ``sys.settrace``, from any line of the
package, at random points chosen by Hypothesis.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from scenario_helpers import server_states

import luminous_edu as le

PACKAGE = str(Path(le.__file__).resolve().parent)


# ------------------------------------------------------------------ helpers


def state(c: le.Cluster) -> tuple[Any, ...]:
    servers = server_states(c, disks=True)
    return (c.step_count, c.now, c.trace_digest(), tuple(c.pending()), servers, c.violations)


def consistent(c: le.Cluster, **load_options: Any) -> None:
    """History, export, load and seek agree with the state the cluster is in."""
    here = state(c)
    assert c.step_count <= c.history_length
    loaded = le.Cluster.load(json.loads(json.dumps(c.export())), **load_options)
    assert loaded.trace_digest() == c.trace_digest()
    assert state(loaded)[:5] == here[:5]
    step = c.step_count
    c.seek(0)
    c.seek(c.history_length)
    c.seek(step)
    # (The clock may differ: run(ms) moves it past the last step, and a seek lands on
    # the step's own time.)
    assert state(c)[:1] + state(c)[2:] == here[:1] + here[2:]


def raising_after(calls: int, error: type[BaseException]) -> Callable[[], None]:
    """A function that raises ``error`` on its ``calls``-th call, once."""
    count = [0]

    def tick() -> None:
        count[0] += 1
        if count[0] == calls:
            raise error("interrupted by the test")

    return tick


# ------------------------------------------------------ from student code


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupt_inside_a_storage_handler(error: type[BaseException]) -> None:
    tick = raising_after(40, error)

    class Interrupted(le.DiskStorage):
        def save_log(self, msg: Any) -> None:
            super().save_log(msg)
            tick()

    def drive(c: le.Cluster) -> None:
        c.run_until(lambda c: c.leader is not None, 3000)
        for n in range(30):
            c.propose(n)
            c.run(20)

    c = le.Cluster(servers=3, seed=5, storage=Interrupted)
    with pytest.raises(error):
        drive(c)
    twin = le.Cluster(servers=3, seed=5)
    drive(twin)
    twin.seek(c.step_count)
    assert state(c) == state(twin)
    consistent(c, storage=Interrupted)
    again = le.Cluster.load(c.export(), storage=Interrupted)
    c.run(500)  # goes on as a replay of its own record does
    again.run(500)
    assert state(c) == state(again)


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_interrupt_inside_a_state_machine(error: type[BaseException]) -> None:
    tick = raising_after(25, error)

    class Machine(le.RecordingStateMachine):
        def apply(self, index: int, data: Any) -> None:
            tick()
            super().apply(index, data)

    def drive(c: le.Cluster) -> None:
        c.run_until(lambda c: c.leader is not None, 3000)
        for n in range(40):
            c.propose(n)
            c.run(15)

    c = le.Cluster(servers=5, seed=2, state_machine=Machine, snapshot_threshold=4)
    with pytest.raises(error):
        drive(c)
    twin = le.Cluster(servers=5, seed=2, snapshot_threshold=4)
    drive(twin)
    twin.seek(c.step_count)
    assert state(c) == state(twin)
    consistent(c, state_machine=Machine)


def test_interrupt_inside_a_proposal_leaves_no_half_recorded_input() -> None:
    """The input itself is the step that is interrupted: it is not recorded."""
    tick = raising_after(1, KeyboardInterrupt)

    class Interrupted(le.DiskStorage):
        def save_log(self, msg: Any) -> None:
            if msg.data == "stop here":
                tick()
            super().save_log(msg)

    c = le.Cluster(servers=3, seed=1, storage=Interrupted)
    c.run_until(lambda c: c.leader is not None, 3000)
    c.propose("go on")
    c.run(100)
    before = state(c)
    with pytest.raises(KeyboardInterrupt):
        c.propose("stop here")
    assert state(c) == before
    assert c.history_length == c.step_count
    consistent(c, storage=Interrupted)


def test_interrupted_input_after_a_rewind_keeps_the_recorded_future() -> None:
    tick = raising_after(1, KeyboardInterrupt)

    class Interrupted(le.DiskStorage):
        def save_log(self, msg: Any) -> None:
            if msg.data == "fork":
                tick()
            super().save_log(msg)

    c = le.Cluster(servers=3, seed=4, storage=Interrupted)
    c.run_until(lambda c: c.leader is not None, 3000)
    c.propose("a")
    c.run(300)
    end, end_digest = c.step_count, c.trace_digest()
    c.rewind(20)
    before = state(c)
    with pytest.raises(KeyboardInterrupt):
        c.propose("fork")
    assert state(c) == before
    assert c.history_length == end  # the fork never happened
    c.seek(end)
    assert c.trace_digest() == end_digest


def test_interrupt_in_a_read_query_and_a_predicate() -> None:
    c = le.Cluster(servers=3, seed=3)
    c.run_until(lambda c: c.leader is not None, 3000)

    def query(machine: Any) -> Any:
        raise KeyboardInterrupt

    c.read(query)
    with pytest.raises(KeyboardInterrupt):
        c.run(200)
    twin = le.Cluster(servers=3, seed=3)
    twin.run_until(lambda c: c.leader is not None, 3000)
    twin.read(lambda machine: None)
    twin.run(200)
    twin.seek(c.step_count)
    assert state(c)[:5] == state(twin)[:5]

    calls = [0]

    def predicate(cluster: le.Cluster) -> bool:
        calls[0] += 1
        if calls[0] == 30:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        twin.run_until(predicate, 5000)
    consistent(twin)


def test_interrupt_during_seek_lands_on_a_complete_step() -> None:
    c = le.Cluster(servers=5, seed=8)
    c.run_until(lambda c: c.leader is not None, 3000)
    for n in range(30):
        c.propose(n)
        c.run(40)
    end = c.step_count
    twin = le.Cluster.load(c.export())
    probe = le.Cluster.load(c.export())
    middle = lines_of(lambda: probe.seek(5)) // 2
    with interrupting_at_line(middle), pytest.raises(KeyboardInterrupt):
        c.seek(5)
    where = c.step_count
    assert 0 <= where <= end
    twin.seek(where)
    assert state(c) == state(twin)
    consistent(c)
    c.seek(end)
    twin.seek(end)
    assert state(c) == state(twin)


def test_an_interrupt_with_real_files_asks_for_a_new_cluster(tmp_path: Path) -> None:
    """Real files cannot be rolled back: the cluster says so and refuses to go on,
    and a new cluster over the same directory recovers what the files hold."""
    tick = raising_after(10, KeyboardInterrupt)
    factory = le.JsonLinesStorage.in_directory(tmp_path)

    class Interrupted(le.JsonLinesStorage):
        def save_log(self, msg: Any) -> None:
            tick()
            super().save_log(msg)

    def storage(disk: le.Disk) -> Any:
        return Interrupted(disk, tmp_path)

    c = le.Cluster(servers=3, seed=1, storage=storage)
    with pytest.raises(KeyboardInterrupt):
        c.run_until(lambda c: c.leader is not None, 3000)
        for n in range(20):
            c.propose(n)
            c.run(20)
    with pytest.raises(le.InvalidActionError, match="new Cluster"):
        c.run(10)
    again = le.Cluster(servers=3, seed=1, storage=factory)
    assert again.run_until(lambda c: c.leader is not None, 3000)


# ---------------------------------------------------- anywhere, at random


class interrupting_at_line:
    """Raise ``error`` at the ``line``-th line the package executes (sys.settrace)."""

    def __init__(self, line: int, error: type[BaseException] = KeyboardInterrupt) -> None:
        self.line = line
        self.error = error
        self.count = 0

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None
        return self._local

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.count += 1
            if self.count == self.line:
                sys.settrace(None)
                raise self.error("interrupted by the test")
        return self._local

    def __enter__(self) -> interrupting_at_line:
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)


def lines_of(operation: Callable[[], Any]) -> int:
    """How many package lines ``operation`` executes."""
    counter = interrupting_at_line(10**12)
    with counter:
        operation()
    return counter.count


OPERATIONS = ["run", "step", "propose", "crash", "restart", "partition", "heal", "seek", "load"]


def apply(c: le.Cluster, op: str, arg: int) -> le.Cluster:
    """One operation of a program; returns the cluster to go on with (``load`` builds a
    new one)."""
    ids = list(c.ids)
    if op == "run":
        c.run(10 + arg % 120)
    elif op == "step":
        for _ in range(1 + arg % 15):
            c.step()
    elif op == "propose":
        c.propose({"n": arg, "list": [arg % 7, "x"]})
    elif op == "crash":
        alive = [i for i in ids if c.servers[i].alive]
        if len(alive) > 2:
            c.crash(alive[arg % len(alive)])
    elif op == "restart":
        down = [i for i in ids if not c.servers[i].alive]
        if down:
            c.restart(down[arg % len(down)])
    elif op == "partition":
        c.partition({ids[arg % len(ids)]})
    elif op == "heal":
        c.heal()
    elif op == "seek":
        c.seek(arg % (c.history_length + 1))
    elif op == "load":
        return le.Cluster.load(c.export())
    return c


OPTIONS = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 50),
        "snapshot_threshold": st.sampled_from([None, 3]),
        "prevote": st.booleans(),
        "disk_faults": st.sampled_from([None, "torn"]),
    }
)
PROGRAMS = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 10_000)), min_size=2, max_size=8
)

SEEN: dict[str, int] = {"runs": 0, "interrupted": 0}


@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    options=OPTIONS,
    start=st.sampled_from([0, 0, 2 * le.sim.CHECKPOINT_INTERVAL + 100]),
    program=PROGRAMS,
    which=st.integers(0, 7),
    where=st.floats(0, 1),
)
def test_an_interrupt_anywhere_leaves_the_last_complete_step(
    options: dict[str, Any],
    start: int,
    program: list[tuple[str, int]],
    which: int,
    where: float,
) -> None:
    """Run a program twice: a twin straight through, the other with a KeyboardInterrupt
    at a random line of one operation. The interrupted cluster equals the twin at the
    same step, its history, export, load and seek agree, and the rest of the program
    gives both the same run."""
    which %= len(program)
    note(f"le.Cluster(servers=3, **{options}); from step {start}, program {program}; op {which}")
    twin = le.Cluster(servers=3, **options)
    c = le.Cluster(servers=3, **options)
    for cluster in (twin, c):  # the same start, past a few checkpoints if ``start``
        cluster.run_until(lambda c: c.leader is not None, 2000, warn=False)
        n = 0
        while cluster.step_count < start:
            cluster.propose(n)
            n += 1
            cluster.run(25)
    for op, arg in program[:which]:
        twin = apply(twin, op, arg)
        c = apply(c, op, arg)
    op, arg = program[which]
    probe = le.Cluster.load(c.export())
    probe.seek(c.step_count)
    total = lines_of(lambda: apply(probe, op, arg))
    line = 1 + int(where * max(total - 1, 0))
    note(f"{op}({arg}) runs {total} package lines; interrupt at line {line}")
    SEEN["runs"] += 1
    try:
        with interrupting_at_line(line):
            c = apply(c, op, arg)
    except KeyboardInterrupt:
        SEEN["interrupted"] += 1
    # The twin ran the operation through; seeking it to the interrupted cluster's step
    # must give the same state: the interrupted cluster recorded no step the twin did
    # not take, and left no step half done.
    twin = apply(twin, op, arg)
    twin.seek(c.step_count)
    # (Clocks may differ by run's move past the last step, which is not a step.)
    assert state(c)[:1] + state(c)[2:] == state(twin)[:1] + state(twin)[2:]
    consistent(c)
    # Going on: the rest of the program gives the same run as on a replay of its record
    # (the whole of it, recorded future included).
    here = c.step_count
    c.seek(c.history_length)
    again = le.Cluster.load(c.export())
    c.seek(here)
    again.seek(here)
    for op, arg in program[which:]:
        c = apply(c, op, arg)
        again = apply(again, op, arg)
    assert state(c)[:5] == state(again)[:5]


def test_the_random_interrupts_did_interrupt() -> None:
    """The property above is not vacuous: most of its runs were interrupted."""
    if SEEN["runs"] == 0:
        pytest.skip("run with the property test")
    print(f"\ninterrupts: {SEEN['interrupted']} of {SEEN['runs']} runs were interrupted")
    assert SEEN["interrupted"] >= SEEN["runs"] // 2
