"""The step controller's memory: the recorded steps, checkpoints, and time travel.

Theory of operation
-------------------
Everything that changes lives in a ``World``. Every change to it is a *step*: the
automatic firing of the next scheduled event, or one input from the user (a proposal,
a crash, a network change, a manual ``fire``...). Steps are numbered from 1; the state
after construction is step 0. The history records one action per step, so:

- ``seek(k)`` restores the nearest checkpoint at or before step k and replays the
  recorded actions up to k (replay is deterministic, so this reproduces step k exactly);
- after a rewind, ``step``/``run`` replay the recorded future, inputs included;
- any new input while a future is recorded forks: the old future is discarded.

A step is a transaction. Its action is recorded only once it has completed; if anything
cuts it short (KeyboardInterrupt from Jupyter's Stop button, ``sys.exit()`` in student
code, an error), the world is rebuilt as of the last complete step, from a checkpoint
and the recorded actions, and the exception goes on. So history, ``export``, ``load``
and ``seek`` always agree with the state the cluster shows. The few statements that
commit a step touch several lists; a Ctrl-C arriving there waits until they are done.

Checkpoints are copies of the world, spaced by what they cost. The first is taken at
step 0, then one every ``CHECKPOINT_INTERVAL`` steps; as a run grows longer than
``CHECKPOINT_SPACING`` such intervals, the gap grows with it (after a checkpoint at step
k, the next comes k // CHECKPOINT_SPACING steps later), so that a world whose state
grows with the run costs memory in proportion to the run, not to its square. A seek
replays at most one gap, so the gap is also kept to what ``REPLAY_BUDGET_S`` seconds
of steps cover, at the speed measured since the checkpoint before (never under
``CHECKPOINT_INTERVAL`` steps): where steps grow slow, checkpoints come closer.
Where they fall does not change what any step does, only how long a seek takes.
"""

from __future__ import annotations

import bisect
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from ..check import Violation
from ..errors import InvalidActionError
from .effects import Effects, Records
from .events import DELIVER

Action = tuple[Any, ...]

CHECKPOINT_INTERVAL = 1024
CHECKPOINT_SPACING = 16
REPLAY_BUDGET_S = 0.25
_NEXT = ("next",)
FOREVER = sys.maxsize  # a deadline no event is due after


class SafetyViolationError(AssertionError):
    """Raised after a step by a ``strict=True`` cluster that broke a Figure 3 property."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


class Settings(Protocol):
    strict: bool


def _step_of(record: Any) -> int:
    return record[0] if type(record) is tuple else record.step  # type: ignore[no-any-return]


def truncate(records: Records, step: int) -> None:
    """Forget what steps after ``step`` produced."""
    for kept in (records.trace, records.violations, records.errors):
        del kept[bisect.bisect_right(kept, step, key=_step_of) :]


class History:
    """The actions of every step (``actions[k - 1]`` is step k's), what the steps up
    to the end of the history produced (``log``), and checkpoints of the world."""

    def __init__(self, settings: Settings, effects: Effects) -> None:
        self.settings = settings
        self.effects = effects
        self.actions: list[Action] = []
        self.log = effects.out  # what construction produced is step 0's
        self.checkpoints: dict[int, Any] = {0: effects.world.freeze()}
        self.next_checkpoint = CHECKPOINT_INTERVAL
        # (step, CPU time) at the last checkpoint passed while stepping forward, and how
        # many steps REPLAY_BUDGET_S seconds covered since the one before it
        self._mark: tuple[int, float] | None = (0, time.process_time())
        self._budget = sys.maxsize
        # Why the world can no longer be rebuilt (an interrupted step with real files).
        self.broken: str | None = None

    @property
    def step(self) -> int:
        return self.effects.world.step

    def records_end(self, records: list[Any]) -> int:
        """How many of ``records`` (trace events, violations or errors, all in step
        order) belong to steps up to the current one."""
        if self.step >= len(self.actions):
            return len(records)
        return bisect.bisect_right(records, self.step, key=_step_of)

    def peek(self) -> Any:
        """The next event the queue would fire (not a recorded input), or None."""
        try:
            return self.effects.world.queue.peek()  # drops stale timers: a change
        except BaseException:
            self._rebuild(self.step)
            raise

    def next_time(self) -> int | None:
        """When the next step would happen, or None if nothing is scheduled."""
        step = self.step
        if step < len(self.actions):
            action = self.actions[step]
            if action[0] != "next":
                return action[-1]  # type: ignore[no-any-return]  # inputs record their time last
        event = self.peek()
        return None if event is None else max(event.due, self.effects.world.now)

    # ------------------------------------------------------------- steps

    def input(self, action: Action) -> Any:
        """A new input from the user, as one step (its time is its last argument). If a
        future was recorded, it forks: once the step is complete, the old future goes."""
        self.require_usable()
        effects = self.effects
        world = effects.world
        stable = world.step
        fork = stable < len(self.actions)
        out = Records() if fork else self.log
        found_before = len(out.violations)
        effects.out = out
        try:
            world.step = stable + 1
            result = effects.apply(action)
        except BaseException:
            self._rebuild(stable)
            raise
        effects.out = self.log
        if fork:
            with deferred_interrupts():
                self._forget_after(stable)
                self.log.trace.extend(out.trace)
                self.log.violations.extend(out.violations)
                self.log.errors.extend(out.errors)
                self.actions.append(action)
        else:
            self.actions.append(action)
        self._after_step(out.violations[found_before:])
        return result

    def replay_next(self) -> Any:
        """Take the next recorded step again."""
        self.require_usable()
        effects = self.effects
        world = effects.world
        stable = world.step
        effects.out = Records()  # the log already holds what this step produces
        try:
            world.step = stable + 1
            result = effects.apply(self.actions[stable])
        except BaseException:
            self._rebuild(stable)
            raise
        effects.out = self.log
        self._after_step([])
        return result

    def run_live(self, target: int, limit: int = -1) -> int:
        """Fire scheduled events due by ``target`` (at most ``limit`` if >= 0) as new
        steps, at the end of the history; returns how many."""
        self.require_usable()
        try:
            return self._fire_events(target, limit, self.actions)
        except SafetyViolationError:
            raise  # raised after a complete step (strict mode): nothing to undo
        except BaseException:
            self._rebuild(len(self.actions))
            raise

    def _fire_events(self, target: int, limit: int, done: list[Action]) -> int:
        """Fire scheduled events as steps, appending each to ``done`` once complete:
        ``self.actions`` for new steps, another list for recorded ones being replayed.
        The hot loop of the simulator: the same as ``effects.apply(("next",))`` per
        event, without the dispatch."""
        effects = self.effects
        world = effects.world
        queue = world.queue
        violations = effects.out.violations
        servers, alive, links = world.servers, world.alive, world.links
        carry_out = effects.carry_out
        taken = 0
        pop_due = queue.pop_due
        found: list[Violation] = []
        while taken != limit:
            event = pop_due(target)
            if event is None:
                break
            world.step = step = world.step + 1
            now = world.now
            if event.due > now:
                world.now = now = event.due
            found_before = len(violations)
            sid = event.target
            if event.kind == DELIVER and alive[sid] and not links.some_cut:
                # fire() of a delivery on a whole network, inlined: most steps are one.
                carry_out(sid, servers[sid].handle(event.source, event.message, now))  # type: ignore[arg-type]
            else:
                effects.fire(event)
            done.append(_NEXT)  # the step is complete
            taken += 1
            if step >= self.next_checkpoint or len(violations) > found_before:
                if done is self.actions:
                    found = violations[found_before:]
                    if found and self.settings.strict:
                        self._after_step(found)
                self._after_step([])
        return taken

    def seek(self, step: int) -> None:
        """Go to step ``step`` of the recorded history (back or forward)."""
        self.require_usable()
        here = self.step
        if step == here:
            return
        base = max(k for k in self.checkpoints if k <= step)
        if step < here or base > here:  # a checkpoint is nearer than where we are
            self.effects.world = self.checkpoints[base].thaw()
        self._replay_to(step)

    def _after_step(self, new_violations: list[Violation]) -> None:
        """Checkpoint if one is due. In strict mode, raise for the violations a live
        step found."""
        step = self.step
        if step >= self.next_checkpoint:
            self._checkpoint()
        if new_violations and self.settings.strict:
            raise SafetyViolationError(list(new_violations))

    def _checkpoint(self) -> None:
        """Take a checkpoint here (unless there is one), and say when the next is due."""
        step = self.step
        if step not in self.checkpoints:
            # A user object that cannot be copied: no checkpoint, replay from further back.
            with suppress(Exception):
                self.checkpoints[step] = self.effects.world.freeze()
        now = time.process_time()
        if self._mark is not None and step > self._mark[0]:
            spent = now - self._mark[1]
            per_step = spent / (step - self._mark[0])
            self._budget = int(REPLAY_BUDGET_S / per_step) if per_step > 0 else sys.maxsize
        self._mark = (step, now)
        self.next_checkpoint = step + self._gap(step)

    def _gap(self, step: int) -> int:
        return max(CHECKPOINT_INTERVAL, min(step // CHECKPOINT_SPACING, self._budget))

    def _after_jump(self) -> None:
        """The world moved (seek, rebuild): time the next stretch afresh."""
        step = self.step
        last = max(k for k in self.checkpoints if k <= step)
        self.next_checkpoint = last + self._gap(last)
        self._mark = None

    def _forget_after(self, step: int) -> None:
        """Discard the recorded future after ``step``."""
        for k in [k for k in self.checkpoints if k > step]:
            del self.checkpoints[k]
        truncate(self.log, step)
        del self.actions[step:]

    # ---------------------------------------------------------- replaying

    def _replay_to(self, step: int) -> None:
        """Replay recorded actions until the world is at ``step``; if that is cut
        short, the world is rebuilt at the last step replayed whole."""
        try:
            self._replay(step)
        except BaseException:
            self._rebuild(self._replayed)
            raise

    _replayed = 0

    def _replay(self, step: int) -> None:
        """Replay recorded actions up to ``step`` (the recorded past keeps its
        checkpoints; a replay takes none)."""
        effects = self.effects
        actions = self.actions
        self._replayed = done = effects.world.step
        self.next_checkpoint = FOREVER
        try:
            while done < step:
                effects.out = Records()  # the log already holds what the steps produce
                action = actions[done]
                if action[0] == "next":
                    run = done + 1
                    while run < step and actions[run][0] == "next":
                        run += 1
                    replayed: list[Action] = []
                    try:
                        self._fire_events(FOREVER, run - done, replayed)
                    finally:
                        self._replayed = done = done + len(replayed)
                    if done < run:
                        raise RuntimeError(
                            f"replaying step {done + 1}, nothing was scheduled: the replay "
                            "differs from the run (student code that depends on something "
                            "outside the simulation: global counters, randomness, clocks?)"
                        )
                    continue
                world = effects.world
                world.step = done + 1
                effects.apply(action)
                self._replayed = done = done + 1
        finally:
            effects.out = self.log
            self._after_jump()

    def _rebuild(self, stable: int) -> None:
        """Something cut a step short: make the world the state after step ``stable``
        again, from the nearest checkpoint and the recorded actions."""
        effects = self.effects
        effects.out = self.log
        with deferred_interrupts():
            if stable >= len(self.actions):
                truncate(self.log, stable)  # what the step cut short had produced
            why = not_rewindable(effects)
            if why is not None:
                self.broken = (
                    f"the run was interrupted in the middle of step {stable + 1}, and {why}, "
                    "which cannot be rolled back. Build a new Cluster with the same storage: "
                    "it recovers what the files hold, as after a crash."
                )
                return
            for _ in range(3):
                try:
                    base = max(k for k in self.checkpoints if k <= stable)
                    effects.world = self.checkpoints[base].thaw()
                    self._replay(stable)
                    return
                except (KeyboardInterrupt, SystemExit):
                    continue  # raised by student code during the replay: try again
                except Exception as error:
                    self.broken = (
                        f"the run was interrupted in the middle of step {stable + 1}, and "
                        f"replaying the steps before it raised {type(error).__name__}: "
                        f"{error}. Student code that behaves differently on a replay "
                        "(global counters, randomness, clocks) cannot be rolled back; "
                        "build a new Cluster."
                    )
                    return
            self.broken = (
                f"the run was interrupted in the middle of step {stable + 1}, and replaying "
                "the steps before it was interrupted again three times; build a new Cluster."
            )

    def require_usable(self) -> None:
        if self.broken is not None:
            raise InvalidActionError(f"this cluster cannot go on: {self.broken}")


def not_rewindable(effects: Effects) -> str | None:
    """The storage that keeps its state outside the simulation (real files), which no
    checkpoint can take back, or None."""
    for handler in [effects.settings._storage, *effects.world.handlers.values()]:
        if handler is not None and not getattr(handler, "rewindable", True):
            name = getattr(handler, "__name__", None) or type(handler).__name__
            return f"{name} keeps its state outside the simulation (real files)"
    return None


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) while a few statements that must happen together run;
    an interrupt that arrives meanwhile is raised as soon as they are done. Only the
    main thread can change signal handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # not allowed here (an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt
