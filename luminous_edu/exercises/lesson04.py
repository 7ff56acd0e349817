"""Exercises of lesson 04: storage handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# ======================================================= 04: storage handlers
# Imported here, not at the top: only lesson 04's checks need the storage layer.
from ..sim.scenarios import bug_scenario
from ..storage import (
    GALLERY,
    DiskStorage,
    FunctionStorage,
    StorageHandler,
    StoredState,
    check_storage,
)
from ..storage.disk import Disk
from .framework import (
    Wrong,
    _show,
    as_choice,
    as_yes_no,
    exercise,
    not_answered,
    prediction,
)

prediction(
    "04.predict_vote_saved",
    "A follower is about to grant its vote to a candidate in term 1. Which storage "
    "message does the follower's handler get before its reply leaves? (a) SaveLog; (b) "
    "SaveHardState with voted_for set to the candidate; (c) none: a vote lives in "
    "memory only.",
    "b",
    "votedFor is persistent state in Figure 2, 'updated on stable storage before "
    "responding to RPCs'. The voter saves (current_term=1, voted_for=the candidate) "
    "first, and only then answers: a server that forgot its vote in a crash could vote "
    "twice in one term.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Which of Figure 2's persistent fields does a vote change?",
    section="Figure 2, §5.2",
)


def _handler_report(answer: Any, name: str) -> str:
    """Run check_storage on a student's handler; Wrong with the first failure to fix."""
    report = check_storage(answer)
    if report.passed:
        return report.summary()
    failures = report.failures  # root causes first
    first = failures[0]
    if "NotImplementedError" in first.message:
        raise Wrong(
            f"{name} is not finished yet: {first.message}",
            hint="replace each `raise NotImplementedError(...)` line with your code, run "
            "the cell, then check again.",
        )
    phases: dict[str, list[str]] = {}
    for failure in failures:
        phases.setdefault(failure.name, []).append(failure.phase)
    listed = "; ".join(f"{check} ({', '.join(where)})" for check, where in phases.items())
    same = [f for f in failures if f.cause == first.name]
    then = (
        f" The other {len(same)} lose data in a crash for the same reason."
        if same and len(same) == len(failures) - 1
        else ""
    )
    raise Wrong(
        f"{len(failures)} of {len(report.results)} storage check runs fail: {listed}. "
        f"Fix this first, '{first.name}' ({first.phase}): {first.message}{then}",
        hint=f"run le.check_storage({name}) to see every check, fix the first failure, "
        "then check again.",
    )


def _handler_class(
    answer: Any, exercise_id: str, name: str, *, not_builtin: str | None = None
) -> type[StorageHandler]:
    """``answer`` if it is a handler class (not an object), else ``Wrong``. With
    ``not_builtin`` (what to do instead), the built-in DiskStorage is refused too."""
    if not_answered(answer):
        raise Wrong(f"pass your class itself, e.g. check({exercise_id!r}, {name}).")
    if not isinstance(answer, type) or not issubclass(answer, StorageHandler):
        raise Wrong(
            f"expected a class that subclasses le.StorageHandler, got {_show(answer)}. "
            f"Pass the class itself ({name}), not an object ({name}(disk))."
        )
    if not_builtin is not None and issubclass(answer, DiskStorage):
        raise Wrong(
            f"{answer.__name__} is the built-in DiskStorage (or a subclass of it): {not_builtin}."
        )
    return answer


def _scenario_passes(name: str, handler: type[StorageHandler], power_hint: str) -> None:
    """Gallery scenario ``name`` with ``handler``: ``Wrong`` on a handler error or any
    violation."""
    raised: list[tuple[Any, BaseException]] = []

    class Watched(handler):  # type: ignore[valid-type, misc]
        """The student's handler, noting what it raised (its server then stops)."""

        def handle(self, message: Any) -> Any:
            try:
                return super().handle(message)
            except Exception as error:
                raised.append((message, error))
                raise

    Watched.__name__ = Watched.__qualname__ = handler.__name__
    rerun = f"bug_scenario({name!r}, {handler.__name__})"
    try:
        cluster = bug_scenario(name, Watched)
    except Exception as error:
        # A server stopped, so the scenario's script could not go on (it needs that
        # server's messages): say what the handler raised, which is why.
        if raised:
            message, cause = raised[0]
            raise Wrong(
                f"in the scenario your handler raised {type(cause).__name__}: {cause} while "
                f"handling {message}; its server stopped, and the scenario could not go on.",
                hint="a handler raises only when storage really cannot do its job.",
            ) from None
        raise Wrong(
            f"the scenario could not go on with your handler ({type(error).__name__}: {error}).",
            hint=f"run {rerun} and read the error.",
        ) from None
    if cluster.errors:
        raise Wrong(
            f"in the scenario your handler raised: {cluster.errors[0].error!r}",
            hint=f"run {rerun} and read cluster.errors.",
        )
    if cluster.violations:
        raise Wrong(f"the power cut still does harm: {cluster.violations[0]}", hint=power_hint)


@exercise(
    "04.storage_class",
    "Write MyStorage, a storage handler class (a subclass of le.StorageHandler) that "
    "keeps the term, the vote and the log on self.disk and passes le.check_storage.",
    starter=type("MyStorage", (StorageHandler,), {}),
    hint="one key for (current_term, voted_for) written in ONE write; one key per entry "
    "such as f'log/{msg.index:010d}' (zero-padded so that disk.keys() sorts them by "
    "index); self.disk.sync() at the end of every method that writes.",
    section="Figure 2",
)
def _check_storage_class(answer: Any) -> str:
    answer = _handler_class(
        answer,
        "04.storage_class",
        "MyStorage",
        not_builtin="write your own, starting from class MyStorage(le.StorageHandler)",
    )
    summary = _handler_report(answer, answer.__name__)
    return (
        f"{summary}. Your handler keeps Figure 2's persistent state on the Disk and syncs "
        "before returning, so a crash loses nothing the server has promised."
    )


def _list_storage_starter() -> FunctionStorage:
    """What the starter cell of exercise 04.storage_functions builds."""
    store = FunctionStorage(name="ListStorage")

    @store.save_hard_state
    def save_hard_state(disk: Disk, msg: Any) -> None:
        disk.write("hard_state", (msg.current_term, msg.voted_for))
        disk.sync()

    @store.save_log
    def save_log(disk: Disk, msg: Any) -> None:
        raise NotImplementedError("store (msg.term, msg.data) as entry msg.index")

    @store.truncate_log
    def truncate_log(disk: Disk, msg: Any) -> None:
        raise NotImplementedError("delete the entries from msg.from_index on")

    @store.load_state
    def load_state(disk: Disk) -> StoredState:
        term, vote = disk.read("hard_state", (0, None))
        log = disk.read("log", [])
        return StoredState(term, vote, [(i, t, d) for i, (t, d) in enumerate(log, 1)])

    return store


@exercise(
    "04.storage_functions",
    "Finish ListStorage, a le.FunctionStorage that keeps the whole log as one list under "
    "the key 'log' (entry i at log[i - 1]): write save_log and truncate_log.",
    starter=_list_storage_starter(),
    hint="read the list (disk.read('log', [])), change it, write it back, then "
    "disk.sync(). Entry msg.index goes at position msg.index - 1, and everything after it "
    "goes; TruncateLog(from_index) keeps log[:from_index - 1].",
    section="Figure 2, §5.3",
)
def _check_storage_functions(answer: Any) -> str:
    if not_answered(answer):
        raise Wrong("pass your store itself: check('04.storage_functions', store).")
    if not isinstance(answer, FunctionStorage):
        raise Wrong(f"expected the le.FunctionStorage you built (store), got {_show(answer)}.")
    missing = answer.missing()
    if missing:
        raise Wrong(
            f"{answer.name} has no {', '.join(missing)} yet.",
            hint=f"register each with a decorator: @store.{missing[0]} on the line above "
            f"def {missing[0]}(...).",
        )
    summary = _handler_report(answer, "store")
    return (
        f"{summary}. Note the price of this layout: every SaveLog rewrites the whole log. "
        "Real systems append instead (le.JsonLinesStorage is a write-ahead log)."
    )


prediction(
    "04.predict_all_crash",
    "A 3-server cluster with a correct handler has committed 'x = 1' and 'y = 2'. All "
    "three servers crash at the same moment and restart. Are both commands still "
    "committed after the next election? (yes/no)",
    True,
    "Each server had saved and synced its log before acknowledging it (Figure 2), "
    "so every restarted server loads its term, its vote and its log from its Disk. The "
    "new leader has both entries (Leader Completeness, §5.4) and commits them again.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What survives a crash?",
    section="Figure 2, §5.4",
)

prediction(
    "04.predict_volatile",
    "The same cluster with le.VolatileStorage, which keeps everything in Python "
    "attributes: after all three servers crash and restart, are 'x = 1' and 'y = 2' "
    "still there? (yes/no)",
    False,
    "A crash throws the handler object away, and with it the term, the vote and "
    "the log. The servers come back in term 0 with empty logs and elect a leader that "
    "never heard of the commands: committed entries are gone, against Leader "
    "Completeness and State Machine Safety.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Where does VolatileStorage keep the log?",
    section="Figure 2, §5.4",
)

prediction(
    "04.predict_forgets_vote",
    "With the ForgetsVote handler, S2 votes for S1 in term 1, crashes and restarts. Then "
    "S3, a candidate in the same term 1, asks S2 for its vote. Does S2 grant it? (yes/no)",
    True,
    "That is the bug. ForgetsVote keeps voted_for in a Python attribute, so "
    "the restarted S2 believes it has not voted in term 1 and votes again. With its own "
    "vote, S3 now has a majority too: two leaders in term 1, against Election Safety "
    "(§5.2: 'each server will vote for at most one candidate in a given term').",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What does the restarted S2 remember of its vote?",
    section="§5.2",
)

_SILENT_WITHOUT_FAULTS = frozenset({"NeverSyncs"})


@exercise(
    "04.hidden_without_faults",
    "Which gallery handlers look correct in every scenario when the disk never loses an "
    "unsynced write (disk_faults=None)? Answer a set of names, e.g. {'MemoryLog'}.",
    hint="with disk_faults=None every disk.write is durable at once. A bug that only "
    "forgets to sync is then invisible; a bug that keeps data in Python attributes, "
    "ignores a message or splits one value over two writes still shows (the last one "
    "with a power cut in the middle of a call: TermAfterVote's scenario uses "
    "disk_faults=None).",
    section="Figure 2",
)
def _check_hidden_without_faults(answer: Any) -> str:
    if not_answered(answer):
        raise Wrong("replace the ... with a set of gallery names, e.g. {'MemoryLog'}.")
    if isinstance(answer, str):
        answer = {answer}
    if not isinstance(answer, Iterable):
        raise Wrong(f"expected a set of names such as {{'MemoryLog'}}, got {_show(answer)}.")
    names = {str(n).strip() for n in answer}
    unknown = sorted(names - set(GALLERY))
    if unknown:
        raise Wrong(f"{unknown[0]!r} is not in the gallery; the names are {', '.join(GALLERY)}.")
    extra = sorted(names - _SILENT_WITHOUT_FAULTS)
    if extra:
        raise Wrong(
            f"{extra[0]} shows even with disk_faults=None: run bug_scenario({extra[0]!r}) "
            "and look at cluster.violations. Its data never reaches the Disk, or reaches "
            "it in the wrong shape, whatever the fault mode."
        )
    if _SILENT_WITHOUT_FAULTS - names:
        raise Wrong(
            "one is missing: which bug does harm only when unsynced writes can be lost? "
            f"(It is not {', '.join(sorted(names)) or 'an empty set'}.)"
        )
    return (
        "Right: only NeverSyncs. Its writes are all there, just never synced, which costs "
        "nothing until a crash can lose unsynced writes. Test your handlers with "
        "disk_faults='unsynced': le.check_storage does."
    )


@exercise(
    "04.fix_term_after_vote",
    "Fix TermAfterVote: write FixedTermAfterVote (a subclass of it) whose save_hard_state "
    "and load_state keep the term and the vote together, so that its scenario records "
    "no violation and le.check_storage passes.",
    starter=type("FixedTermAfterVote", (GALLERY["TermAfterVote"],), {}),
    hint="store (msg.current_term, msg.voted_for) as ONE value under one key, with one "
    "disk.write, then disk.sync(); load_state reads that one key back (default (0, None)).",
    section="§5.2",
)
def _check_fix_term_after_vote(answer: Any) -> str:
    answer = _handler_class(answer, "04.fix_term_after_vote", "FixedTermAfterVote")
    _scenario_passes(
        "TermAfterVote",
        answer,
        "a crash can fall between two writes of one call: after it, the disk holds the "
        "first write only. Make it one write.",
    )
    summary = _handler_report(answer, answer.__name__)
    return (
        f"Fixed: the power cut leaves either the old (term, vote) or the new one, never "
        f"a mix. {summary}."
    )
