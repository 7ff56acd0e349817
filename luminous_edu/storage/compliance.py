"""``check_storage(MyStorage)``: compliance checks for a storage handler.

Each check sends a handler a short script of storage messages, the way a Raft server
would, and compares what ``load_state()`` returns with what a correct handler would
return. Every check runs twice, on a fresh simulated Disk each time:

- ``live``: ``load_state()`` is asked of the same handler that handled the messages;
- ``after crash``: before each ``load_state()`` the Disk crashes with disk faults on
  (writes not yet synced are lost) and a new handler is built over the same Disk, as a
  restarted server would build it.

A handler that raises, returns the wrong thing or loses data makes a check fail with a
sentence saying what happened and how to fix it; it never stops ``check_storage``.
"""

from __future__ import annotations

import copy
import random
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.log import noop_data
from ..core.persistence import (
    CompactLog,
    LoadState,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    TruncateLog,
)
from .builtin import DiskStorage
from .disk import Disk, PowerLoss
from .errors import TornWriteError
from .functions import FunctionStorage
from .handler import handles_snapshots
from .render import shorten
from .report import AFTER_CRASH, LIVE, PHASES, CheckResult, StorageReport
from .stored import StoredStateError, validate_stored_state

Factory = Callable[[Disk], Any]
# What load_state returned, checked: (current_term, voted_for, [(index, term, data)],
# snapshot), the snapshot as (last_index, last_term, data, config) or None; entries
# follow the snapshot.
State = tuple[int, int | None, list[tuple[int, int, Any]], Any]

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
CRASH_FAULTS = "unsynced"  # the fault mode of the after-crash phase
MAX_OPERATIONS_PER_CALL = 64  # disk operations one call may take before we stop cutting power
RANDOM_OPERATIONS = 200
RANDOM_CRASH_PROBABILITY = 0.1

METHODS = {
    SaveHardState: "save_hard_state",
    SaveLog: "save_log",
    TruncateLog: "truncate_log",
    SaveSnapshot: "save_snapshot",
    CompactLog: "compact_log",
    LoadState: "load_state",
}
SYNCED = "synced before returning"  # the check that finds a missing disk.sync()


def _crash_hint(disk: str) -> str:
    """What survives a crash, naming the Disk as the handler's code does (``disk`` in
    a FunctionStorage's functions, ``self.disk`` in a class)."""
    keep = (
        "keep everything on the disk your functions are given"
        if disk == "disk"
        else "keep everything on self.disk (attributes of the handler die with the server)"
    )
    return (
        f"Only what is on the Disk and synced survives a crash: {keep} and call "
        f"{disk}.sync() before returning."
    )


def check_storage(
    storage: Factory, *, seed: int = 0, snapshots: bool | None = None
) -> StorageReport:
    """Run the compliance checks on a storage handler and return a report.

    ``storage`` is what you would pass to ``le.Cluster(storage=...)``: a handler class
    built as ``MyStorage(disk)``, a ``le.FunctionStorage``, or
    ``le.JsonLinesStorage.in_directory(path)`` (give it an empty directory). ``seed``
    decides the random comparison with ``DiskStorage``; a failure names the seed that
    reproduces it. ``snapshots=True`` adds the log-compaction checks
    (``SNAPSHOT_CHECK_NAMES``: ``save_snapshot``, ``compact_log`` and the snapshot in
    ``load_state``, with a power cut at every point of saving a snapshot and
    compacting the log); by default they run when the handler defines
    ``save_snapshot`` and ``compact_log`` alongside its ``load_state``. The checks
    call ``load_state()`` more than once on one handler, so
    it must only read, never change what is stored.

    ``report.passed`` is True when every check passed; ``report.failures`` lists the
    failed ones, each with ``name``, ``phase`` and a ``message``. The report shows as a
    table in a notebook and as text with ``print(report)``.
    """
    label = _label(storage)
    if not isinstance(storage, type) and hasattr(storage, "handle"):
        raise TypeError(
            f"check_storage got a handler object, {storage!r}; give the class itself "
            f"(check_storage({type(storage).__name__})): each check builds its own "
            "handlers over fresh disks"
        )
    if not callable(storage):
        raise TypeError(
            f"check_storage got {storage!r}; give a handler class (built as "
            "MyStorage(disk)) or a le.FunctionStorage"
        )
    if type(seed) is not int:
        raise TypeError(f"seed={seed!r}: the seed must be a whole number")
    if snapshots not in (None, True, False):
        raise TypeError(f"snapshots={snapshots!r}: give True, False or None (decide for me)")
    run = _Run(storage, label, seed)
    try:
        run.trial(LIVE, start=False)
    except _Fail as failure:
        return StorageReport(label, seed, [CheckResult("builds", LIVE, False, str(failure))])
    results: list[CheckResult] = []
    if snapshots is None:
        snapshots = handles_snapshots(storage)
    checks = CHECKS + SNAPSHOT_CHECKS if snapshots else CHECKS
    for check in checks:
        for phase in PHASES:
            message = _run_check(check, run, phase)
            results.append(CheckResult(check.name, phase, not message, message))
    return StorageReport(label, seed, _blame_missing_sync(results, checks, run))


def _blame_missing_sync(
    results: list[CheckResult], checks: Sequence[_Check], run: _Run
) -> list[CheckResult]:
    """When a handler does not sync, every check that crashes a Disk loses data: one
    cause, many failures. An after-crash failure that goes away when a crash keeps the
    unsynced writes (disk faults off) is that cause's: it says so and points to the
    check that names the missing sync, so that the report leads with the root cause."""
    if not any(r.name == SYNCED and r.phase == LIVE and not r.passed for r in results):
        return results
    by_name = {check.name: check for check in checks}
    keeps_unsynced = _Run(run.factory, run.label, run.seed, crash_faults=None)
    blamed = []
    for result in results:
        if result.passed or result.phase != AFTER_CRASH or result.name not in by_name:
            blamed.append(result)
            continue
        if _run_check(by_name[result.name], keeps_unsynced, AFTER_CRASH):
            blamed.append(result)  # fails even when a crash loses nothing: its own cause
            continue
        message = (
            f"The crash lost writes that were not synced: the same cause as '{SYNCED}' "
            f"(live), so fix that first. {result.message}"
        )
        blamed.append(CheckResult(result.name, result.phase, False, message, SYNCED))
    return blamed


def _run_check(check: _Check, run: _Run, phase: str) -> str:
    """Run one check in one phase: "" if it passed, else the sentence saying why not."""
    try:
        check.run(run, phase)
    except _Fail as failure:
        return str(failure).strip()
    except Exception as error:  # the handler gave back something very odd
        return (
            f"The check stopped on an unexpected {_error(error)}. Make sure load_state "
            "returns le.StoredState with plain values (numbers, strings, lists, dicts)."
        )
    return ""


# ---------------------------------------------------------------- machinery


class _Fail(Exception):
    """A check failed; ``str()`` is the sentence for the report."""

    def __init__(
        self, message: str, cause: BaseException | None = None, framed: bool = False
    ) -> None:
        super().__init__(message)
        self.cause = cause  # the handler's own error, if it raised
        self.framed = framed  # already carries the caller's prefix and suffix


class _Default:
    """The type of ``_DEFAULT``: "the run's own crash faults" (None means no faults)."""


_DEFAULT = _Default()


class _Run:
    """One ``check_storage`` call: the handler factory, and a counter that gives each
    trial a Disk of its own (named, and numbered as ``server_id``, so that a handler
    keeping real files uses a new file per trial)."""

    def __init__(
        self, factory: Factory, label: str, seed: int, crash_faults: str | None = CRASH_FAULTS
    ) -> None:
        self.factory = factory
        self.label = label
        self.seed = seed
        self.crash_faults = crash_faults  # what a crash loses, unless a check says
        self.disks = 0
        # How the handler's code names its Disk: a FunctionStorage's functions get it
        # as their argument ``disk``; a handler class has ``self.disk``.
        self.disk_name = "disk" if isinstance(factory, FunctionStorage) else "self.disk"

    def trial(
        self,
        phase: str,
        *,
        faults: str | _Default | None = _DEFAULT,
        hint: str = "",
        factory: Factory | None = None,
        start: bool = True,
    ) -> _Trial:
        self.disks += 1
        if isinstance(faults, _Default):
            faults = self.crash_faults
        disk = Disk(f"check disk {self.disks}", faults, server_id=self.disks)
        return _Trial(self, disk, phase, hint, factory or self.factory, start)


class _Trial:
    """One handler over one fresh Disk, started as a server starts it (``LoadState``
    first), then sent messages. ``load()`` asks for the state the phase's way."""

    def __init__(
        self, run: _Run, disk: Disk, phase: str, hint: str, factory: Factory, start: bool
    ) -> None:
        self.run = run
        self.disk = disk
        self.phase = phase
        self.hint = hint
        self.factory = factory
        self.label = run.label if factory is run.factory else _label(factory)
        self.sent: list[str] = []  # the messages handled, described when sent
        self.restarting = False  # True while a restarted handler answers LoadState
        self.raw: Any = None  # what load_state last returned, unchecked
        self.handler = self.build()
        if start:
            self.started = self.send(LoadState())

    def build(self) -> Any:
        try:
            handler = self.factory(self.disk)
        except Exception as error:
            raise _Fail(
                _join(
                    f"Building the handler as {self.label}(disk) raised {_error(error)}.",
                    _fix_for(error, None, self.run.disk_name),
                ),
                error,
            ) from None
        if not callable(getattr(handler, "handle", None)):
            raise _Fail(
                f"{self.label}(disk) built {shorten(repr(handler))}, which has no "
                "handle(message) method; subclass le.StorageHandler and write "
                "save_hard_state, save_log, truncate_log and load_state."
            )
        return handler

    def send(self, message: Any) -> Any:
        """Handle one message; for ``LoadState``, return the checked ``State``."""
        try:
            result = self.handler.handle(message)
        except Exception as error:
            raise _Fail(self.raised(message, error), error) from None
        if type(message) is LoadState:
            self.raw = result
            return self.checked(result)
        self.sent.append(describe(message))
        return result

    def restart(self, crash: bool = True) -> None:
        """Crash the Disk (unless a power cut did already) and start a new handler
        over it, as a restarted server does."""
        if crash:
            self.disk.crash()
        self.restarting = True
        self.handler = self.build()
        self.started = self.send(LoadState())
        self.restarting = False

    # ------------------------------------------------------------- wording

    def history(self) -> str:
        """What this handler was sent so far, as the start of a sentence."""
        if not self.sent:
            return "on a fresh Disk"
        last = self.sent[-3:]
        text = "after " + ", ".join(last)
        if len(self.sent) > len(last):
            text += f" (the last {len(last)} of {len(self.sent)} messages)"
        return text

    def loaded(self) -> str:
        """Who is answering ``LoadState`` now, as words."""
        if self.restarting:
            return (
                f"then a crash (disk faults={self.disk.faults!r}) and a restart, "
                "load_state() on a new handler over the same Disk"
            )
        return "load_state()"

    def raised(self, message: Any, error: Exception) -> str:
        method = METHODS[type(message)]
        what = self.loaded() if type(message) is LoadState else f"{method}({describe(message)})"
        fix = _fix_for(error, method, self.run.disk_name)
        return _join(f"{self.history()}, {what} raised {_error(error)}.", fix)

    def checked(self, result: Any) -> State:
        """``result`` as a ``State``, or a failure saying what was expected."""
        start = _sentence(f"{self.history()}, {self.loaded()} returned")
        try:
            stored = validate_stored_state(result)
        except StoredStateError as error:
            if not str(error).startswith("entries"):
                raise _Fail(f"{start} {error}.") from None
            raise _Fail(
                f"{start} {error}.{_sort_hint(result.entries)} {self.hint}".rstrip()
            ) from None
        entries = [(e.index, e.term, e.data) for e in stored.entries]
        snap = stored.snapshot
        snapshot = None if snap is None else tuple(snap)
        return stored.current_term, stored.voted_for, entries, snapshot

    def compare(self, got: State, expected: State) -> None:
        difference = _difference(got, expected)
        if difference:
            raise _Fail(
                _join(
                    f"{self.history()}, {self.loaded()} returned {_summary(got)}, but "
                    f"{difference}.",
                    self.hint,
                )
            )

    def expect(
        self, expected: State, prefix: str = "", suffix: str = "", reference: str = ""
    ) -> None:
        """Ask for the state and compare it with ``expected`` (what ``reference``
        returned, if given). Live: ``load_state()`` on this handler. After crash: first
        on this handler, so that a wrong answer is not blamed on the crash; then crash
        the Disk, restart, and ask the new handler."""
        history = self.history()
        expected_text = f"{reference} returned {_summary(expected)}" if reference else ""
        got = self.send(LoadState())
        difference = _difference(got, expected)
        if difference:
            but = f"but {expected_text}: {difference}" if reference else f"but {difference}"
            raise _Fail(
                _join(
                    f"{prefix}{history}, load_state() returned {_summary(got)}, {but}.",
                    self.hint,
                    suffix,
                ),
                framed=True,
            )
        if self.phase == LIVE:
            return
        self.restart()
        got = self.started
        difference = _difference(got, expected)
        if difference:
            while_ = f", while {expected_text}" if reference else ""
            raise _Fail(
                _join(
                    f"{prefix}{history}, load_state() returned the right state, but after "
                    f"a crash (disk faults={self.disk.faults!r}) and a restart, "
                    f"load_state() on a new handler over the same Disk returned "
                    f"{_summary(got)}{while_}: {difference}.",
                    _crash_hint(self.run.disk_name),
                    suffix,
                ),
                framed=True,
            )


class _Model:
    """What a correct handler holds after the messages so far."""

    def __init__(self) -> None:
        self.current_term = 0
        self.voted_for: int | None = None
        self.log: dict[int, tuple[int, Any]] = {}
        self.snapshot: tuple[int, int, Any, Any] | None = None

    def apply(self, message: Any) -> None:
        kind = type(message)
        if kind is SaveHardState:
            self.current_term, self.voted_for = message.current_term, message.voted_for
        elif kind is SaveLog:
            self.log[message.index] = (message.term, copy.deepcopy(message.data))
        elif kind is TruncateLog:
            for index in [i for i in self.log if i >= message.from_index]:
                del self.log[index]
        elif kind is SaveSnapshot:
            self.snapshot = copy.deepcopy(tuple(message))
        elif kind is CompactLog:
            for index in [i for i in self.log if i <= message.through_index]:
                del self.log[index]

    def state(self) -> State:
        """As a server recovers it: entries after the snapshot (Figure 13's rules 6
        and 7 drop the ones it covers)."""
        entries = [(i, term, data) for i, (term, data) in sorted(self.log.items())]
        if self.snapshot is not None:
            last, last_term = self.snapshot[0], self.snapshot[1]
            at = self.log.get(last)
            entries = [] if at is not None and at[0] != last_term else entries
            entries = [e for e in entries if e[0] > last]
        return self.current_term, self.voted_for, entries, self.snapshot


LOAD = object()  # in a script: check what load_state returns here


def _play(run: _Run, phase: str, script: Sequence[Any], hint: str) -> None:
    """Send the script's messages; at each ``LOAD``, compare with the model."""
    trial = run.trial(phase, hint=hint)
    model = _Model()
    for step in script:
        if step is LOAD:
            trial.expect(model.state())
        else:
            trial.send(step)
            model.apply(step)


# ------------------------------------------------------------------ checks


def _fresh_disk(run: _Run, phase: str) -> None:
    hint = (
        "On a fresh, empty Disk load_state must return le.StoredState(0, None, []): "
        "term 0, no vote, no entries. Read with a default for missing keys, e.g. "
        "disk.read('hard_state', (0, None))."
    )
    trial = run.trial(phase, hint=hint)
    trial.compare(trial.started, _Model().state())
    trial.expect(_Model().state())


def _hard_state(run: _Run, phase: str) -> None:
    script = [
        SaveHardState(current_term=1, voted_for=None),
        LOAD,
        SaveHardState(current_term=1, voted_for=2),
        LOAD,
        SaveHardState(current_term=2, voted_for=None),
        LOAD,
        SaveHardState(current_term=5, voted_for=3),
        LOAD,
    ]
    hint = (
        "save_hard_state must store msg.current_term and msg.voted_for on the Disk, and "
        "load_state must return the pair last saved."
    )
    _play(run, phase, script, hint)


def _entries_in_order(run: _Run, phase: str) -> None:
    data: list[Any] = [
        "x=1",
        42,
        None,
        [1, "two", {"three": 3}],
        {"k": [1, 2]},
        noop_data(),
        True,
        2.5,
        "",
        {},
        [],
        "twelve",
    ]
    terms = [1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3]
    saves = [
        SaveLog(term=term, index=index, data=value)
        for index, (term, value) in enumerate(zip(terms, data, strict=True), start=1)
    ]
    script = [SaveHardState(current_term=3, voted_for=None), *saves[:3], LOAD, *saves[3:], LOAD]
    hint = (
        "save_log must store (msg.term, msg.data) at msg.index, and load_state must "
        "return every entry in index order from 1, each with its term and its data "
        "unchanged."
    )
    _play(run, phase, script, hint)


def _truncate_bounds(run: _Run, phase: str) -> None:
    saves = [SaveLog(term=t, index=i, data=f"e{i}") for i, t in enumerate([1, 1, 2, 2, 2], 1)]
    script = [
        SaveHardState(current_term=2, voted_for=None),
        *saves,
        LOAD,
        TruncateLog(from_index=4),
        LOAD,
        TruncateLog(from_index=4),
        LOAD,
        TruncateLog(from_index=2),
        LOAD,
    ]
    hint = (
        "TruncateLog(from_index=n) deletes every entry with index >= n, entry n itself "
        "included, and keeps entries 1..n-1; an n past the last entry deletes nothing."
    )
    _play(run, phase, script, hint)


def _overwrite_after_truncate(run: _Run, phase: str) -> None:
    saves = [SaveLog(term=1, index=i, data=c) for i, c in enumerate("abcd", 1)]
    script = [
        SaveHardState(current_term=3, voted_for=None),
        *saves,
        TruncateLog(from_index=3),
        SaveLog(term=3, index=3, data="C"),
        LOAD,
        SaveLog(term=3, index=4, data="D"),
        LOAD,
        SaveLog(term=3, index=4, data="D again"),
        LOAD,
    ]
    hint = (
        "TruncateLog(from_index=n) must delete entry n and every entry after it; the "
        "SaveLog messages that follow then fill the freed indexes. A SaveLog at an index "
        "already stored replaces that entry: key each entry by its index rather than "
        "appending to a list."
    )
    _play(run, phase, script, hint)


def _term_and_vote(run: _Run, phase: str) -> None:
    if phase == LIVE:
        script = [
            SaveHardState(current_term=5, voted_for=2),
            LOAD,
            SaveHardState(current_term=6, voted_for=None),
            LOAD,
            SaveHardState(current_term=6, voted_for=4),
            LOAD,
        ]
        hint = (
            "Each SaveHardState replaces both values: a new term with voted_for=None "
            "clears the vote of the old term. Store the pair as one value."
        )
        _play(run, phase, script, hint)
        return
    for faults in (None, "unsynced", "torn"):
        _power_cut_in_save_hard_state(run, faults)


def _cut_power_during(
    run: _Run,
    faults: str | None,
    setup: Sequence[Any],
    during: Sequence[Any],
    operations: int,
    hint: str = "",
) -> tuple[_Trial, bool, Any] | None:
    """A trial that handles ``setup``, then ``during`` with the power cut after
    ``operations`` disk operations, and restarts. Returns (trial, whether the power
    was cut, the message it was cut in), or None when a torn value keeps the handler
    from starting (safe: the server stays down)."""
    trial = run.trial(AFTER_CRASH, faults=faults, hint=hint)
    for message in setup:
        trial.send(message)
    trial.disk.cut_power_after(operations)
    current = during[0]
    try:
        for current in during:
            trial.handler.handle(current)
    except PowerLoss:
        pass
    except Exception as error:
        raise _Fail(trial.raised(current, error), error) from None
    cut = trial.disk.power_cut
    trial.disk.power_on()
    try:
        trial.restart(crash=not cut)  # a cut has crashed the disk already
    except _Fail as failure:
        if cut and isinstance(failure.cause, TornWriteError):
            return None
        raise
    return trial, cut, current


def _power_cut_in_save_hard_state(run: _Run, faults: str | None) -> None:
    """Cut the power inside one save_hard_state, after each of its disk operations in
    turn: a restarted server must find the old pair or the new one, never a mix."""
    before = SaveHardState(current_term=4, voted_for=1)
    during = SaveHardState(current_term=5, voted_for=3)
    for operations in range(MAX_OPERATIONS_PER_CALL):
        done = _cut_power_during(run, faults, [before], [during], operations)
        if done is None:
            continue
        trial, cut, _ = done
        where = (
            f"The power was cut in the middle of save_hard_state({describe(during)}), "
            f"{_after_operations(operations)}, with disk faults={faults!r}"
            if cut
            else f"After save_hard_state({describe(during)}) and a crash (disk faults={faults!r})"
        )
        got_term, got_vote = trial.started[:2]
        pair = (got_term, got_vote)
        allowed = [(4, 1), (5, 3)] if cut else [(5, 3)]
        if pair in allowed:
            if cut:
                continue
            return
        if got_vote == 3 and got_term != 5:
            problem = (
                f"the vote for S3, cast in term 5, now belongs to term {got_term}, and the "
                "server could vote again in term 5"
            )
        elif got_term == 5 and got_vote != 3:
            problem = (
                f"term 5 came back with voted_for={got_vote}, not the vote for S3 being "
                "saved, so the server could vote again in term 5"
            )
        elif got_term == 4 and got_vote != 1:
            problem = f"the vote for S1 in term 4, saved before, came back as voted_for={got_vote}"
        else:
            problem = "that is neither the pair saved before, (4, 1), nor the new one, (5, 3)"
        raise _Fail(
            f"{where}; after a restart load_state() returned current_term={got_term}, "
            f"voted_for={got_vote}: {problem}. Write current_term and voted_for together "
            "as one value, e.g. disk.write('hard_state', (msg.current_term, "
            "msg.voted_for)), then call disk.sync()."
        )
    raise _Fail(
        f"save_hard_state({describe(during)}) took more than {MAX_OPERATIONS_PER_CALL} "
        "disk operations; saving two numbers needs one write and one sync."
    )


def _synced(run: _Run, phase: str) -> None:
    script = [
        SaveHardState(current_term=2, voted_for=1),
        SaveLog(term=1, index=1, data="a"),
        SaveLog(term=2, index=2, data="b"),
        SaveLog(term=2, index=3, data="c"),
        TruncateLog(from_index=2),
        SaveLog(term=2, index=2, data="B"),
        SaveHardState(current_term=3, voted_for=None),
    ]
    trial = run.trial(phase)
    for message in script:
        trial.send(message)
        if phase == AFTER_CRASH:
            # Whatever the handler holds (right or wrong: other checks judge that)
            # must survive a crash.
            history = trial.history()
            before = trial.send(LoadState())
            trial.restart()
            difference = _difference(trial.started, before)
            if difference:
                raise _Fail(
                    _sentence(
                        f"{history}, load_state() returned {_summary(before)}; then, after "
                        f"a crash (disk faults={trial.disk.faults!r}) and a restart, "
                        f"load_state() on a new handler over the same Disk returned "
                        f"{_summary(trial.started)}: {difference}. "
                        f"{_crash_hint(run.disk_name)}"
                    )
                )
            continue
        unsynced = trial.disk.unsynced_keys
        if unsynced:
            method = METHODS[type(message)]
            keys = ", ".join(repr(k) for k in unsynced[:3]) + (", ..." if len(unsynced) > 3 else "")
            raise _Fail(
                f"When {method}({describe(message)}) returned, the Disk still held "
                f"changes not synced (keys {keys}). The server acts on them at once, "
                "granting its vote or acknowledging entries, so a crash now (with disk "
                f"faults on) would lose what it promised. Call {run.disk_name}.sync() before "
                f"{method} returns."
            )


def _aliasing(run: _Run, phase: str) -> None:
    # Disk faults off: a crash here tests that a new handler reads fresh copies, not
    # whether writes were synced (that is "synced before returning"'s job).
    trial = run.trial(phase, faults=None)
    model = _Model()
    mapping: dict[str, Any] = {"tags": ["a"]}
    sequence: list[Any] = [1, [2]]
    for message in (
        SaveHardState(current_term=2, voted_for=None),
        SaveLog(term=1, index=1, data=mapping),
        SaveLog(term=2, index=2, data=sequence),
    ):
        trial.send(message)
        model.apply(message)
    mapping["tags"].append("changed by the caller")
    sequence[1].append("changed by the caller")
    trial.hint = (
        "The caller changed the objects it had passed as msg.data after save_log "
        "returned, and the stored entries changed with them: the handler kept the very "
        "objects. Store a copy (disk.write stores a copy; keep msg.data on the Disk)."
    )
    trial.expect(model.state())
    _mutate(trial.raw)
    trial.hint = (
        "Code that changed what load_state() returned (its entries list and the data "
        "in it) changed what the next load_state() returned. Build new objects from "
        "the Disk each time (disk.read returns fresh copies) instead of returning "
        "objects the handler keeps."
    )
    trial.expect(model.state())


def _mutate(stored: Any) -> None:
    """Change, in place, everything mutable in what load_state returned."""
    entries = getattr(stored, "entries", None)
    for entry in list(entries) if isinstance(entries, list | tuple) else []:
        data = entry[2] if isinstance(entry, tuple) and len(entry) == 3 else None
        if isinstance(data, dict):
            data["changed"] = "by the caller"
        elif isinstance(data, list):
            data.append("changed by the caller")
    if isinstance(entries, list):
        entries.clear()


def _random_comparison(run: _Run, phase: str) -> None:
    seed = run.seed
    rng = random.Random(seed)
    trial = run.trial(phase)
    reference = run.trial(phase, factory=DiskStorage)
    messages = _RaftLikeMessages(rng)
    trial.hint = (
        "After each message your handler must hold what le.DiskStorage holds: compare "
        "what the two do with the last messages above (le.StorageHandler? gives the "
        "rules)."
    )
    prefix = f"In a random run (seed={seed}), "
    reproduce = f"Reproduce with le.check_storage({run.label}, seed={seed})."
    for number in range(1, RANDOM_OPERATIONS + 1):
        message = messages.next()
        try:
            trial.send(message)
        except _Fail as failure:
            raise _Fail(f"{prefix}{_lower_first(str(failure))} {reproduce}") from None
        reference.send(message)
        # Live: compare every 10 messages. After crash: crash at random moments.
        due = rng.random() < RANDOM_CRASH_PROBABILITY if phase == AFTER_CRASH else number % 10 == 0
        if due or number == RANDOM_OPERATIONS:
            try:
                expected = reference.send(LoadState())
                trial.expect(expected, prefix, reproduce, "the reference DiskStorage")
            except _Fail as failure:
                if failure.framed:
                    raise
                raise _Fail(f"{prefix}{_lower_first(str(failure))} {reproduce}") from None
            if phase == AFTER_CRASH:
                reference.restart()


class _RaftLikeMessages:
    """Random storage messages in an order a Raft server could send them: terms never
    go down, a vote only in the current term, entries appended at the end or after a
    TruncateLog, no entry from a term later than the current one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.current_term = 0
        self.voted_for: int | None = None
        self.terms: list[int] = []  # terms[k]: the term of entry k + 1

    def next(self) -> Any:
        draw = self.rng.random()
        if self.current_term == 0 or draw < 0.2:
            return self._hard_state()
        if draw < 0.32 and self.terms:
            from_index = self.rng.randint(1, len(self.terms) + 1)
            del self.terms[from_index - 1 :]
            return TruncateLog(from_index=from_index)
        low = self.terms[-1] if self.terms else 1
        term = self.rng.randint(low, self.current_term)
        self.terms.append(term)
        return SaveLog(term=term, index=len(self.terms), data=self._data())

    def _hard_state(self) -> SaveHardState:
        rng = self.rng
        if self.current_term > 0 and self.voted_for is None and rng.random() < 0.5:
            self.voted_for = rng.randint(1, 5)
        else:
            self.current_term += rng.randint(1, 2)
            self.voted_for = rng.choice([None, rng.randint(1, 5)])
        return SaveHardState(current_term=self.current_term, voted_for=self.voted_for)

    def _data(self) -> Any:
        rng = self.rng
        choices: list[Callable[[], Any]] = [
            lambda: rng.randint(-1000, 1000),
            lambda: f"set x={rng.randint(0, 99)}",
            lambda: None,
            lambda: [rng.randint(0, 9), str(rng.randint(0, 9))],
            lambda: {"key": f"k{rng.randint(0, 9)}", "value": [rng.random() < 0.5]},
            noop_data,
        ]
        return rng.choice(choices)()


def _snapshot_and_compaction(run: _Run, phase: str) -> None:
    terms = [1, 1, 2, 2, 2, 2]
    saves = [SaveLog(term=t, index=i, data=f"e{i}") for i, t in enumerate(terms, 1)]
    config = {"voters": [1, 2, 3]}
    script = [
        SaveHardState(current_term=2, voted_for=None),
        *saves,
        SaveSnapshot(last_index=3, last_term=2, data=["e1", "e2", "e3"], config=config),
        LOAD,
        CompactLog(through_index=3),
        LOAD,
        SaveLog(term=2, index=7, data="e7"),
        LOAD,
        SaveSnapshot(last_index=5, last_term=2, data={"applied": [1, 2, 3, 4, 5]}, config=config),
        CompactLog(through_index=5),
        LOAD,
        TruncateLog(from_index=7),
        LOAD,
    ]
    hint = (
        "save_snapshot must store msg.last_index, msg.last_term, msg.data and msg.config, "
        "replacing the snapshot before; compact_log(through_index=n) deletes every entry "
        "with index <= n and keeps the rest; load_state returns the last snapshot as "
        "StoredState(current_term, voted_for, entries, le.SaveSnapshot(...))."
    )
    _play(run, phase, script, hint)


def _installed_snapshot(run: _Run, phase: str) -> None:
    config = {"voters": [1, 2, 3]}
    script = [
        SaveHardState(current_term=3, voted_for=None),
        *(SaveLog(term=1, index=i, data=f"old{i}") for i in (1, 2, 3)),
        # A follower installs a leader's snapshot that its log disagrees with, and
        # discards its log (Figure 13, rule 7).
        SaveSnapshot(last_index=6, last_term=3, data=["s"], config=config),
        CompactLog(through_index=6),
        LOAD,
        SaveLog(term=3, index=7, data="new7"),
        LOAD,
    ]
    hint = (
        "A snapshot may reach past the last stored entry (a follower installing its "
        "leader's snapshot): compact_log then deletes the whole log, and the entries "
        "saved next continue after the snapshot's last_index."
    )
    _play(run, phase, script, hint)


def _snapshot_before_compaction(run: _Run, phase: str) -> None:
    """Live: the snapshot is there as soon as save_snapshot returns. After crash: a
    power cut at every point of SaveSnapshot then CompactLog leaves either nothing
    changed or the snapshot there; never entries gone without it."""
    if phase == LIVE:
        script = [
            SaveHardState(current_term=1, voted_for=None),
            *(SaveLog(term=1, index=i, data=f"e{i}") for i in (1, 2, 3, 4)),
            SaveSnapshot(last_index=3, last_term=1, data=["e1"], config={"voters": [1, 2]}),
            LOAD,
            CompactLog(through_index=3),
            LOAD,
        ]
        hint = (
            "The server deletes entries (compact_log) right after save_snapshot returns: "
            "store the snapshot in save_snapshot itself, not later; and "
            "compact_log(through_index=n) deletes only the entries with index <= n."
        )
        _play(run, phase, script, hint)
        return
    _power_cut_in_compaction(run, None)
    _power_cut_in_compaction(run, CRASH_FAULTS)


def _power_cut_in_compaction(run: _Run, faults: str | None) -> None:
    config = {"voters": [1, 2, 3]}
    setup = [
        SaveHardState(current_term=1, voted_for=None),
        *(SaveLog(term=1, index=i, data=f"e{i}") for i in (1, 2, 3, 4)),
    ]
    snapshot = SaveSnapshot(last_index=3, last_term=1, data=["e1", "e2", "e3"], config=config)
    compact = CompactLog(through_index=3)
    before = _Model()
    for message in setup:
        before.apply(message)
    after = _Model()
    for message in (*setup, snapshot, compact):
        after.apply(message)
    hint = (
        "Make the snapshot durable in save_snapshot (write it, then call disk.sync()) "
        "before returning: compact_log may delete entries only once the snapshot "
        "covering them is on the disk, and only the entries with index <= through_index."
    )
    for operations in range(2 * MAX_OPERATIONS_PER_CALL):
        done = _cut_power_during(run, faults, setup, [snapshot, compact], operations, hint)
        if done is None:
            continue
        trial, cut, current = done
        got = trial.started
        allowed = [before.state(), after.state()] if cut else [after.state()]
        if any(not _difference(got, state) for state in allowed):
            if cut:
                continue
            return
        where = (
            f"The power was cut in the middle of {METHODS[type(current)]}("
            f"{describe(current)}), {_after_operations(operations)}, with disk "
            f"faults={faults!r}"
            if cut
            else f"After save_snapshot and compact_log and a crash (disk faults={faults!r})"
        )
        raise _Fail(
            f"{where}; after a restart load_state() returned {_summary(got)}: "
            f"{_difference(got, after.state())}. That is neither the state before "
            "(entries 1..4, no snapshot) nor the state after (a snapshot through index 3 "
            f"and entry 4). {hint}"
        )
    raise _Fail(
        f"save_snapshot and compact_log together took more than "
        f"{2 * MAX_OPERATIONS_PER_CALL} disk operations."
    )


@dataclass(frozen=True)
class _Check:
    name: str
    run: Callable[[_Run, str], None]


CHECKS = (
    _Check("fresh-disk defaults", _fresh_disk),
    _Check("hard state saved and loaded", _hard_state),
    _Check("entries saved and read back in order", _entries_in_order),
    _Check("TruncateLog bounds", _truncate_bounds),
    _Check("overwrite after truncate", _overwrite_after_truncate),
    _Check("term and vote saved together", _term_and_vote),
    _Check("synced before returning", _synced),
    _Check("no aliasing", _aliasing),
    _Check("random comparison with DiskStorage", _random_comparison),
)
CHECK_NAMES = tuple(check.name for check in CHECKS)
# Run only on handlers that can compact (save_snapshot and compact_log): a handler
# written for a cluster without snapshot_threshold is not asked about snapshots.
SNAPSHOT_CHECKS = (
    _Check("snapshot saved, log compacted", _snapshot_and_compaction),
    _Check("installed snapshot replaces the log", _installed_snapshot),
    _Check("snapshot durable before compaction", _snapshot_before_compaction),
)
SNAPSHOT_CHECK_NAMES = tuple(check.name for check in SNAPSHOT_CHECKS)


# ------------------------------------------------------------------ wording


def describe(message: Any) -> str:
    """``SaveLog(term=1, index=2, data='b')``, cut short if long."""
    return shorten(repr(message), 90)


def _label(factory: Any) -> str:
    for attribute in ("__name__", "name"):
        name = getattr(factory, attribute, None)
        if isinstance(name, str):
            return name
    return shorten(repr(factory))


def _summary(state: State) -> str:
    term, vote, entries, snapshot = state
    if not entries:
        log = "no entries"
    elif len(entries) == 1:
        log = f"entry {entries[0][0]}"
    else:
        log = f"entries {entries[0][0]}..{entries[-1][0]}"
    if snapshot is not None:
        log = f"a snapshot through index {snapshot[0]} (term {snapshot[1]}) and {log}"
    return f"current_term={term}, voted_for={vote} and {log}"


def _difference(got: State, expected: State) -> str:
    """The first way ``got`` differs from ``expected``, as words; "" if none."""
    if got[0] != expected[0]:
        return f"current_term should be {expected[0]}"
    if got[1] != expected[1]:
        return f"voted_for should be {expected[1]}"
    if got[3] != expected[3] or not _same(got[3], expected[3]):
        if expected[3] is None:
            return "there should be no snapshot: none was saved"
        last, term, data, config = expected[3]
        if got[3] is None:
            return (
                f"the snapshot through index {last} (term {term}) saved by SaveSnapshot is "
                "missing; return it as StoredState(..., snapshot=le.SaveSnapshot(last_index, "
                "last_term, data, config))"
            )
        return (
            f"the snapshot should be SaveSnapshot(last_index={last}, last_term={term}, "
            f"data={shorten(repr(data))}, config={shorten(repr(config))}), the last one "
            "saved, stored exactly as given"
        )
    got_log, expected_log = got[2], expected[2]
    for (index, term, data), (_, want_term, want_data) in zip(got_log, expected_log, strict=False):
        if term != want_term:
            return f"entry {index} should have term {want_term}, not {term}"
        if not _same(data, want_data):
            return (
                f"entry {index} should hold {shorten(repr(want_data))}, not {shorten(repr(data))}"
            )
    if len(got_log) > len(expected_log):
        index, term, _ = got_log[len(expected_log)]
        return (
            f"entry {index} (term {term}) should not be there: it was never saved, or "
            "TruncateLog deleted it"
        )
    if len(got_log) < len(expected_log):
        index, term, _ = expected_log[len(got_log)]
        return f"entry {index} (term {term}) is missing"
    return ""


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple is not a list here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _sort_hint(entries: Any) -> str:
    """A hint when the entries are all there but out of order."""
    try:
        indexes = [int(entry[0]) for entry in entries]
    except Exception:
        return ""
    if indexes == sorted(indexes) or sorted(indexes) != list(range(1, len(indexes) + 1)):
        return ""
    return (
        " The entries are all there but out of order: as strings, 'log/10' sorts before "
        "'log/9', so pad the index in the key (f'log/{index:010d}') or sort by number."
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(*parts: str) -> str:
    """The non-empty parts as one text, starting with a capital."""
    return _sentence(" ".join(p.strip() for p in parts if p.strip()))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _after_operations(count: int) -> str:
    if count == 0:
        return "before its first disk operation"
    if count == 1:
        return "after its first disk operation (a write, delete or sync)"
    return f"after its first {count} disk operations (writes, deletes and syncs)"


def _error(error: BaseException) -> str:
    """``KeyError: 'x' (in save_log, line 3 of <cell>)``, without a final period."""
    text = shorten(str(error), 300).rstrip(". ")
    return (
        f"{type(error).__name__}: {text}{_where(error)}"
        if text
        else type(error).__name__ + _where(error)
    )


def _raised_by_us(error: BaseException) -> bool:
    """True if luminous_edu itself raised ``error``: its message says what to do."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(PACKAGE_DIR)


def _where(error: BaseException) -> str:
    """Where the handler's code raised ``error``: the innermost frame outside
    luminous_edu (the student's cell or module)."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not f.filename.startswith(PACKAGE_DIR)
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, line {frame.lineno} of {frame.filename})"


def _fix_for(error: BaseException, method: str | None, disk: str = "self.disk") -> str:
    if isinstance(error, NotImplementedError):
        return f"Write {method} (see le.StorageHandler.{method}?)." if method else ""
    if isinstance(error, TornWriteError):
        return (
            f"A crash tore a value that was not synced: call {disk}.sync() before "
            "returning from each method."
        )
    if _raised_by_us(error):
        return ""  # our own errors say what to do
    return (
        "Fix the error; raise le.StorageError, with a message, only when storage "
        "really cannot do its job."
    )
