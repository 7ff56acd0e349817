"""``le.explore``: search the schedules of a cluster for a safety violation, shrink the
first one found, and hand it back ready to replay.

Theory of operation
-------------------
The random and PCT strategies run *schedules*, numbered 0, 1, 2...: schedule k builds
a cluster from a seed drawn from ``(seed, k)`` and takes a walk (walks.py) of choices
(schedule.py), checking the Figure 3 properties (and durability, and linearizable
reads) after every step.

A switched-on bug often fires without breaking anything yet: the wrong commit, the
second vote, only matter if the right things happen next. So when a bug fires in a
walk that breaks nothing, the walk up to that moment is kept as a *prefix*, and half
of the later walks start by replaying one of the kept prefixes, then go on at random
(a directed search: the explorer knows where the bug is, not which schedule makes it
matter). With no bug switched on, every walk starts afresh.

Schedules run in generations of ``GENERATION``; the walks of a generation start from
the prefixes kept by the generations before it, and worker processes run them in
batches. The process that started the search reads the batches' outcomes in schedule
order and takes the first schedule that broke a property. With ``budget_steps`` it
counts the events of the schedules in that order and stops where the budget ends, so
the same seed and ``budget_steps`` give the same result on any number of cores; with
``budget_s`` it stops when the time is up. The breadth-first strategy is in bfs.py.

The schedule found is then shrunk (shrink.py) by replaying candidates on new clusters
from the same seed, and returned as an ``ExploreResult``.

A progress display (events per second, schedules tried, what was found so far) is
whatever ``progress`` is: a function given a ``Progress`` after each batch, or True for
the notebook display that ``luminous_edu`` installs (``DISPLAY``; it lives in the
notebook layer, viz/, which this package never imports), or False for none.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..core.bugs import SINGLE_CHANGE_BEFORE_COMMIT, check_bugs
from ..errors import LuminousError
from .classic import BUGS
from .result import ExploreResult, SearchStats
from .schedule import Choice, apply, named
from .setup import Setup
from .shrink import ddmin
from .walks import PCTWalk, RandomWalk

STRATEGIES = ("random", "pct", "bfs")
WALKS: dict[str, type[RandomWalk]] = {"random": RandomWalk, "pct": PCTWalk}
#: Options the explorer sets itself, or needs as they are.
RESERVED = ("seed", "strict", "checks")
SEED_RANGE = 1_000_000
#: Schedules per generation, and per batch a worker runs.
GENERATION, BATCH = 64, 16
#: Prefixes kept (that led to a switched-on bug's firing), and the share of schedules
#: that start from one of them once there are any.
KEPT, FROM_PREFIX = 64, 0.5
MAX_SHRINK_TESTS = 4_000


@dataclass
class Progress:
    """A search under way, for a progress display. ``phase`` is "searching",
    "shrinking" or "done"; ``best`` says in a sentence what was found so far."""

    strategy: str
    phase: str
    schedules: int
    events: int
    elapsed_s: float
    done_fraction: float
    best: str
    result: ExploreResult | None = None

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.strategy}: {self.phase}, {self.schedules:,} schedules, {self.events:,} "
            f"events, {self.events_per_s:,.0f} events/s. {self.best}"
        )


#: The notebook's progress display: set by ``luminous_edu`` to a function that returns
#: a reporter (a callable taking a ``Progress``) when running in a notebook, else None.
DISPLAY: Callable[[], Callable[[Progress], None] | None] | None = None


def explore(
    servers: int | None = None,
    bugs: Iterable[str] = (),
    budget_s: float = 10,
    seed: int = 0,
    strategy: str = "random",
    *,
    budget_steps: int | None = None,
    processes: int | None = None,
    progress: bool | Callable[[Progress], None] = True,
    membership_changes: bool | None = None,
    bfs_depth: int = 12,
    max_shrink_tests: int = MAX_SHRINK_TESTS,
    **cluster_options: Any,
) -> ExploreResult:
    """Search schedules and faults for a safety violation, like a model checker.

    ``servers`` (3, or what the switched-on ``bugs`` need) are built as
    ``le.Cluster(servers=..., bugs=bugs, **cluster_options)``, with the options a bug
    needs to show (``le.BUGS[name].needs``) unless given. ``strategy``: ``"random"``
    (random walks over which event fires next, with drops, duplicates, crashes,
    restarts, partitions and client requests between), ``"pct"`` (PCT priority
    scheduling) or ``"bfs"`` (breadth-first over states, to ``bfs_depth`` steps).

    The search stops at the first violation, or when ``budget_s`` seconds have passed;
    with ``budget_steps`` (events) instead, it is deterministic: the same seed and
    budget give the same result on any machine and number of ``processes`` (default:
    every core). The violation's schedule is then shrunk by delta debugging.

    Returns an ``ExploreResult``: ``found``, ``violation``, ``steps``,
    ``shrunk_steps``, ``replay()`` (a Cluster at the violation) and ``to_python()``."""
    setup, strategy = _setup(servers, bugs, strategy, membership_changes, cluster_options)
    if budget_steps is not None and (type(budget_steps) is not int or budget_steps < 1):
        raise LuminousError(f"budget_steps={budget_steps!r}: give a whole number of events >= 1")
    if budget_steps is None and (
        isinstance(budget_s, bool) or not isinstance(budget_s, int | float) or budget_s <= 0
    ):
        raise LuminousError(f"budget_s={budget_s!r}: give a number of seconds > 0")
    if type(seed) is not int:
        raise LuminousError(f"seed={seed!r}: the seed must be a whole number")
    if processes is not None and (type(processes) is not int or processes < 1):
        raise LuminousError(f"processes={processes!r}: give a whole number >= 1, or None")
    if type(bfs_depth) is not int or not 1 <= bfs_depth <= 40:
        raise LuminousError(f"bfs_depth={bfs_depth!r}: give a whole number from 1 to 40")
    report = _reporter(progress)
    processes = processes or os.cpu_count() or 1
    if processes > 1 and not _picklable(setup):
        processes = 1  # a storage handler defined in a function: no worker can rebuild it
    budget = Budget(budget_s, budget_steps)
    if strategy == "bfs":
        from .bfs import breadth_first

        search = breadth_first(setup, seed, budget, processes, bfs_depth, report)
    else:
        search = _walks(setup, strategy, seed, budget, processes, report)
    found, stats = search
    result = ExploreResult(False, strategy, seed, setup, stats, budget=budget.describe())
    if found is not None:
        result = _shrunk(result, found, max_shrink_tests, report)
    if report is not None:
        report(progress_of(strategy, "done", result.stats, budget, _outcome(result), result))
    return result


def _setup(
    servers: Any,
    bugs: Any,
    strategy: Any,
    membership_changes: Any,
    options: dict[str, Any],
) -> tuple[Setup, str]:
    try:
        switched = check_bugs(bugs)
    except ValueError as error:
        raise LuminousError(str(error)) from None
    if strategy not in STRATEGIES:
        raise LuminousError(
            f"strategy={strategy!r}: give 'random' (random walks), 'pct' (PCT priority "
            "scheduling) or 'bfs' (breadth-first search over states)"
        )
    for name in RESERVED:
        if name in options:
            raise LuminousError(
                f"le.explore sets {name}= itself (each schedule's cluster seed comes from "
                "the search's seed; every step is checked); leave it out"
            )
    if "bugs" in options or "servers" in options:
        raise LuminousError("give servers= and bugs= once")
    needed = dict(options)
    for name in sorted(switched):
        for option, value in BUGS[name].needs.items():
            needed.setdefault(option, value)
    if servers is None:
        servers = max([3, *(BUGS[name].servers for name in switched)])
    if type(servers) is not int or not 1 <= servers <= 9:
        raise LuminousError(f"servers={servers!r}: give the number of servers, 1 to 9")
    if membership_changes is None:
        membership_changes = SINGLE_CHANGE_BEFORE_COMMIT in switched
    if type(membership_changes) is not bool:
        raise LuminousError(f"membership_changes={membership_changes!r}: give True or False")
    setup = Setup(servers, switched, needed, membership_changes)
    setup.build(0)  # bad options raise here, with the Cluster's own message
    return setup, strategy


class Budget:
    """Seconds of wall time, or (deterministic) events."""

    def __init__(self, seconds: float, steps: int | None) -> None:
        self.seconds = float(seconds)
        self.steps = steps
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def out_of_time(self) -> bool:
        return self.steps is None and self.elapsed() >= self.seconds

    def fraction(self, events: int) -> float:
        if self.steps is not None:
            return min(1.0, events / self.steps)
        return min(1.0, self.elapsed() / self.seconds)

    def describe(self) -> str:
        if self.steps is not None:
            return f"budget_steps={self.steps}"
        return f"budget_s={self.seconds:g}"


# ------------------------------------------------------------------- walks

#: Schedule (cluster seed, choices) that led up to a switched-on bug's firing.
Prefix = tuple[int, tuple[Choice, ...]]


def run_schedule(
    setup: Setup, strategy: str, seed: int, number: int, prefixes: Sequence[Prefix]
) -> tuple[int, int, list[Choice], str | None, frozenset[str], Prefix | None]:
    """Schedule ``number`` of the search: (cluster seed, steps, choices applied, the
    property broken or None, the trace's rule ids, and the prefix up to the last
    firing of a switched-on bug, if it fired in this walk)."""
    rng = random.Random(f"luminous_edu explore {seed} {number}")
    start: tuple[Choice, ...] = ()
    if prefixes and rng.random() < FROM_PREFIX:
        cluster_seed, start = prefixes[rng.randrange(len(prefixes))]
        cluster, applied, _ = setup.replay(cluster_seed, start)
    else:
        cluster_seed = rng.randrange(SEED_RANGE)
        cluster, applied = setup.build(cluster_seed), []
    walk = WALKS[strategy](rng, cluster.ids, setup.membership_changes, setup.early_timers)
    broken = None
    for _ in range(walk.length):
        choice = walk.choose(cluster)
        if choice is None:
            break
        if apply(cluster, choice) is None:
            continue
        applied.append(choice)
        violations = cluster.violations
        if violations:
            broken = violations[0].property
            break
    rules = frozenset(event.rule for event in cluster.trace)
    prefix = None
    if broken is None and setup.bugs:
        fired = [e.step for e in cluster.trace if e.rule.startswith("BUG.")]
        if fired and fired[-1] > len(start):
            prefix = (cluster_seed, tuple(applied[: fired[-1]]))
    return cluster_seed, cluster.step_count, applied, broken, rules, prefix


@dataclass(frozen=True)
class Outcome:
    """What one batch of schedules did: each schedule's steps and whether a
    switched-on bug fired in it, the prefixes that led to a firing, up to the first
    schedule that broke a property (``found``: its number, cluster seed, choices and
    the property)."""

    steps: list[int]
    fired: list[bool]
    rules: frozenset[str]
    prefixes: list[tuple[int, Prefix]]
    found: tuple[int, int, list[Choice], str] | None


def run_batch(
    setup: Setup, strategy: str, seed: int, first: int, count: int, prefixes: Sequence[Prefix]
) -> Outcome:
    steps: list[int] = []
    fired: list[bool] = []
    rules: set[str] = set()
    found_prefixes: list[tuple[int, Prefix]] = []
    for number in range(first, first + count):
        outcome = run_schedule(setup, strategy, seed, number, prefixes)
        cluster_seed, taken, applied, broken, seen, prefix = outcome
        steps.append(taken)
        fired.append(any(rule.startswith("BUG.") for rule in seen))
        rules |= seen
        if prefix is not None:
            found_prefixes.append((number, prefix))
        if broken is not None:
            found = (number, cluster_seed, applied, broken)
            return Outcome(steps, fired, frozenset(rules), found_prefixes, found)
    return Outcome(steps, fired, frozenset(rules), found_prefixes, None)


def _walks(
    setup: Setup,
    strategy: str,
    seed: int,
    budget: Budget,
    processes: int,
    report: Callable[[Progress], None] | None,
) -> tuple[tuple[int, list[Choice], str] | None, SearchStats]:
    """Generations of ``GENERATION`` schedules, in batches of ``BATCH``; the schedules
    of a generation start from the prefixes kept by the generations before it."""
    stats = SearchStats(processes=processes)
    rules: set[str] = set()
    prefixes: list[Prefix] = []
    found: tuple[int, list[Choice], str] | None = None
    last_report = 0.0
    with Workers(processes) as workers:
        for generation in itertools.count():
            first = generation * GENERATION
            kept = tuple(prefixes)
            tasks = (
                (setup, strategy, seed, start, BATCH, kept)
                for start in range(first, first + GENERATION, BATCH)
            )
            done = False
            for outcome in workers.results(run_batch, tasks):
                for k, taken in enumerate(outcome.steps):
                    if budget.steps is not None and stats.events >= budget.steps:
                        done = True
                        break
                    stats.schedules += 1
                    stats.events += taken
                    stats.bug_fired += outcome.fired[k]
                    if outcome.found is not None and k == len(outcome.steps) - 1:
                        _, cluster_seed, choices, broken = outcome.found
                        found = (cluster_seed, choices, broken)
                for number, prefix in outcome.prefixes:
                    _keep(prefixes, number, prefix)
                rules |= outcome.rules
                stats.elapsed_s = budget.elapsed()
                done = done or found is not None or budget.out_of_time()
                if report is not None and (done or stats.elapsed_s - last_report >= 0.25):
                    last_report = stats.elapsed_s
                    best = _best(setup, stats, rules, found)
                    report(progress_of(strategy, "searching", stats, budget, best))
                if done:
                    break
            if done:
                break
    stats.elapsed_s = budget.elapsed()
    return found, stats


def _keep(prefixes: list[Prefix], number: int, prefix: Prefix) -> None:
    """Keep ``prefix`` (found by schedule ``number``): at most ``KEPT`` of them, the
    newest in the place of an older one."""
    if len(prefixes) < KEPT:
        prefixes.append(prefix)
    else:
        prefixes[number % KEPT] = prefix


def _outcome(result: ExploreResult) -> str:
    if result.violation is None:
        return "Done: no violation found."
    return (
        f"Done: {result.violation.property} broken; the schedule shrunk from {result.steps} "
        f"to {result.shrunk_steps} steps."
    )


def _best(
    setup: Setup, stats: SearchStats, rules: set[str], found: tuple[int, list[Choice], str] | None
) -> str:
    if found is not None:
        return f"Found: {found[2]} broken after {len(found[1])} steps; shrinking it."
    fired = f" The bug fired in {stats.bug_fired:,} schedules." if setup.bugs else ""
    return f"No violation yet; {len(rules)} kinds of trace event seen.{fired}"


# ----------------------------------------------------------------- shrinking


def _shrunk(
    result: ExploreResult,
    found: tuple[int, list[Choice], str],
    max_tests: int,
    report: Callable[[Progress], None] | None,
) -> ExploreResult:
    cluster_seed, choices, broken = found
    setup = result.setup
    started = time.perf_counter()
    tests = 0

    def test(candidate: Sequence[Choice]) -> list[Choice] | None:
        nonlocal tests
        tests += 1
        cluster, applied, _ = setup.replay(cluster_seed, candidate)
        violations = cluster.violations
        if violations and violations[0].property == broken:
            return applied
        return None

    if report is not None:
        best = f"Found {broken}; shrinking {len(choices)} steps."
        report(progress_of(result.strategy, "shrinking", result.stats, None, best))
    shrunk = list(choices)
    named = _named(setup, cluster_seed, shrunk)
    if named != shrunk:
        shrunk = test(named) or shrunk
    shrunk = ddmin(shrunk, test, max_tests)
    cluster, applied, calls = setup.replay(cluster_seed, shrunk)
    violation = next(v for v in cluster.violations if v.property == broken)
    stats = replace(result.stats, shrink_tests=tests, shrink_s=time.perf_counter() - started)
    return replace(
        result,
        found=True,
        stats=stats,
        violation=violation,
        steps=len(choices),
        shrunk_steps=len(applied),
        cluster_seed=cluster_seed,
        schedule=applied,
        found_schedule=list(choices),
        calls=calls,
    )


def _named(setup: Setup, cluster_seed: int, choices: Sequence[Choice]) -> list[Choice]:
    """``choices`` with every ``step`` named by the event it fires."""
    cluster = setup.build(cluster_seed)
    result = []
    for choice in choices:
        name = named(cluster, choice, setup.early_timers)
        if apply(cluster, choice) is not None:
            result.append(name)
    return result


# --------------------------------------------------------------- processes


def _picklable(setup: Setup) -> bool:
    """Can worker processes be given ``setup`` (classes are sent by name)?"""
    try:
        pickle.dumps(setup)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


class Workers:
    """Runs a function over a stream of argument tuples, in worker processes when
    there are several, and yields the results in order. At most two tasks per process
    are in flight, so that stopping early wastes little."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool: Any = None

    def __enter__(self) -> Workers:
        if self.processes > 1:
            try:
                method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
                self.pool = multiprocessing.get_context(method).Pool(self.processes)
            except (OSError, ValueError, ImportError, NotImplementedError):
                self.pool = None  # no processes here (a browser, a sandbox): run inline
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def results(self, function: Callable[..., Any], arguments: Iterable[tuple[Any, ...]]) -> Any:
        if self.pool is None:
            for args in arguments:
                yield function(*args)
            return
        in_flight: list[Any] = []
        feed = iter(arguments)
        more = True
        while True:
            while more and len(in_flight) < 2 * self.processes:
                args = next(feed, ())
                more = args != ()
                if more:
                    in_flight.append(self.pool.apply_async(function, args))
            if not in_flight:
                return
            yield in_flight.pop(0).get()


# ------------------------------------------------------------------ progress


def _reporter(progress: Any) -> Callable[[Progress], None] | None:
    if progress is True:
        return DISPLAY() if DISPLAY is not None else None
    if progress is False or progress is None:
        return None
    if callable(progress):
        return progress  # type: ignore[no-any-return]
    raise LuminousError(
        f"progress={progress!r}: give True (a display in a notebook), False, or a function "
        "that takes a Progress"
    )


def progress_of(
    strategy: str,
    phase: str,
    stats: SearchStats,
    budget: Budget | None,
    best: str,
    result: ExploreResult | None = None,
) -> Progress:
    """A ``Progress`` for the display, from a search's numbers so far."""
    fraction = 1.0 if budget is None else budget.fraction(stats.events)
    return Progress(
        strategy, phase, stats.schedules, stats.events, stats.elapsed_s, fraction, best, result
    )
