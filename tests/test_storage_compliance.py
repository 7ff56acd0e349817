"""``le.check_storage``: correct handlers pass every check, each gallery bug fails the
checks that should catch it, and a handler that raises or returns garbage makes a check
fail with a sentence, never ``check_storage`` itself."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from test_storage_api import correct_function_storage

import luminous_edu as le
from luminous_edu.storage import AFTER_CRASH, CHECK_NAMES, GALLERY, LIVE, SNAPSHOT_CHECK_NAMES
from luminous_edu.storage.builtin import entry_key, read_hard_state, read_log

# A handler with save_snapshot and compact_log also gets the snapshot checks.
ALL_NAMES = CHECK_NAMES + SNAPSHOT_CHECK_NAMES

# ------------------------------------------------------ correct handlers


def assert_all_passed(report: le.StorageReport, snapshots: bool = True) -> None:
    assert report.passed, str(report)
    assert report.failures == []
    names = ALL_NAMES if snapshots else CHECK_NAMES
    assert [(r.name, r.phase) for r in report.results] == [
        (name, phase) for name in names for phase in (LIVE, AFTER_CRASH)
    ]
    assert all(r.passed and r.message == "" for r in report.results)


def test_disk_storage_passes_every_check() -> None:
    assert_all_passed(le.check_storage(le.DiskStorage))


def test_a_correct_function_storage_passes_every_check() -> None:
    # Written without save_snapshot and compact_log: not asked about snapshots.
    assert_all_passed(le.check_storage(correct_function_storage()), snapshots=False)


def test_snapshot_checks_run_for_handlers_that_know_snapshots() -> None:
    class OldLoad(le.DiskStorage):
        """Rewrites load_state as written before compaction: inherits save_snapshot."""

        def load_state(self) -> le.StoredState:
            state = super().load_state()
            return le.StoredState(state.current_term, state.voted_for, state.entries)

    assert_all_passed(le.check_storage(OldLoad), snapshots=False)
    forced = le.check_storage(OldLoad, snapshots=True)
    assert {f.name for f in forced.failures} == {
        "snapshot saved, log compacted",
        "installed snapshot replaces the log",
        "snapshot durable before compaction",
    }
    with pytest.raises(TypeError, match="snapshots="):
        le.check_storage(le.DiskStorage, snapshots="yes")  # type: ignore[arg-type]


def test_json_lines_storage_passes_every_check(tmp_path: Path) -> None:
    assert_all_passed(le.check_storage(le.JsonLinesStorage.in_directory(tmp_path)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_disk_storage_passes_with_other_seeds(seed: int) -> None:
    assert_all_passed(le.check_storage(le.DiskStorage, seed=seed))


def test_the_checks_are_the_ones_the_design_lists() -> None:
    assert CHECK_NAMES == (
        "fresh-disk defaults",
        "hard state saved and loaded",
        "entries saved and read back in order",
        "TruncateLog bounds",
        "overwrite after truncate",
        "term and vote saved together",
        "synced before returning",
        "no aliasing",
        "random comparison with DiskStorage",
    )


# -------------------------------------------------------------- gallery

# For each bug: checks that must fail (name, phase), and checks it must still pass,
# to show the failure is the bug's and not noise.
GALLERY_EXPECTATIONS: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {
    "ForgetsVote": (
        {
            ("hard state saved and loaded", AFTER_CRASH),
            ("term and vote saved together", AFTER_CRASH),
            ("random comparison with DiskStorage", AFTER_CRASH),
        },
        {
            ("hard state saved and loaded", LIVE),
            ("entries saved and read back in order", AFTER_CRASH),
        },
    ),
    "MemoryLog": (
        {
            ("entries saved and read back in order", AFTER_CRASH),
            ("no aliasing", LIVE),
            ("random comparison with DiskStorage", AFTER_CRASH),
        },
        {
            ("entries saved and read back in order", LIVE),
            ("hard state saved and loaded", AFTER_CRASH),
        },
    ),
    "IgnoresTruncate": (
        {
            ("TruncateLog bounds", LIVE),
            ("TruncateLog bounds", AFTER_CRASH),
            ("overwrite after truncate", LIVE),
            ("random comparison with DiskStorage", LIVE),
        },
        {
            ("entries saved and read back in order", AFTER_CRASH),
            ("synced before returning", AFTER_CRASH),
        },
    ),
    "NeverSyncs": (
        {
            ("synced before returning", LIVE),
            ("synced before returning", AFTER_CRASH),
            ("entries saved and read back in order", AFTER_CRASH),
        },
        {("entries saved and read back in order", LIVE), ("TruncateLog bounds", LIVE)},
    ),
    "CompactsBeforeSnapshot": (
        {
            ("snapshot saved, log compacted", LIVE),
            ("snapshot durable before compaction", LIVE),
            ("snapshot durable before compaction", AFTER_CRASH),
        },
        {(name, phase) for name in CHECK_NAMES for phase in (LIVE, AFTER_CRASH)}
        | {("installed snapshot replaces the log", LIVE)},
    ),
    "TermAfterVote": (
        {("term and vote saved together", AFTER_CRASH)},
        {(name, phase) for name in CHECK_NAMES for phase in (LIVE, AFTER_CRASH)}
        - {("term and vote saved together", AFTER_CRASH)},
    ),
}


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_each_gallery_bug_fails_the_checks_that_catch_it(name: str) -> None:
    report = le.check_storage(GALLERY[name])
    must_fail, must_pass = GALLERY_EXPECTATIONS[name]
    failed = {(f.name, f.phase) for f in report.failures}
    assert not report.passed
    assert must_fail <= failed, str(report)
    assert not (must_pass & failed), str(report)


def test_forgets_vote_is_told_what_it_lost() -> None:
    failure = _failure(le.check_storage(GALLERY["ForgetsVote"]), "hard state saved and loaded")
    assert "voted_for should be 2" in failure
    assert "after a crash" in failure
    assert "self.disk.sync()" in failure


def test_term_after_vote_is_told_which_term_got_the_vote() -> None:
    failure = _failure(le.check_storage(GALLERY["TermAfterVote"]), "term and vote saved together")
    assert "current_term=4, voted_for=3" in failure
    assert "the vote for S3, cast in term 5, now belongs to term 4" in failure
    assert "after its first disk operation" in failure
    assert "as one value" in failure


def test_memory_log_is_told_it_kept_the_callers_object() -> None:
    report = le.check_storage(GALLERY["MemoryLog"])
    failure = next(f for f in report.failures if f.name == "no aliasing" and f.phase == LIVE)
    assert "entry 1 should hold {'tags': ['a']}" in failure.message
    # The history shows the messages as they were sent, before the caller's change.
    assert "SaveLog(term=1, index=1, data={'tags': ['a']})" in failure.message


def test_never_syncs_is_told_which_keys_were_not_synced() -> None:
    report = le.check_storage(GALLERY["NeverSyncs"])
    failure = next(
        f for f in report.failures if f.name == "synced before returning" and f.phase == LIVE
    )
    assert "'hard_state/b'" in failure.message
    assert "Call self.disk.sync() before save_hard_state returns." in failure.message


def test_volatile_storage_passes_live_and_fails_after_a_crash() -> None:
    report = le.check_storage(le.VolatileStorage)
    assert all(r.passed for r in report.results if r.phase == LIVE), str(report)
    failed = {f.name for f in report.failures}
    assert failed == set(ALL_NAMES) - {"fresh-disk defaults"}
    assert all(f.phase == AFTER_CRASH for f in report.failures)


# -------------------------------------------------------- messages


def _failure(report: le.StorageReport, name: str) -> str:
    matches = [f.message for f in report.failures if f.name == name]
    assert matches, f"{name} did not fail:\n{report}"
    return matches[0]


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_failure_message_is_a_sentence_that_says_what_to_do(name: str) -> None:
    for failure in le.check_storage(GALLERY[name]).failures:
        text = failure.message
        assert text[0].isupper() and text.endswith("."), text
        assert any(
            word in text for word in ("Call", "call", "Write", "Store", "keep", "delete", "compare")
        ), text


def test_the_random_comparison_names_its_seed() -> None:
    report = le.check_storage(GALLERY["IgnoresTruncate"], seed=1234)
    failure = _failure(report, "random comparison with DiskStorage")
    assert failure.startswith("In a random run (seed=1234), ")
    assert failure.endswith("Reproduce with le.check_storage(IgnoresTruncate, seed=1234).")


def test_the_same_seed_gives_the_same_report() -> None:
    first = le.check_storage(GALLERY["IgnoresTruncate"], seed=9)
    second = le.check_storage(GALLERY["IgnoresTruncate"], seed=9)
    assert str(first) == str(second)


class LosesLateEntries(le.DiskStorage):
    """Drops every entry after index 12: only a long random run sees it."""

    def load_state(self) -> le.StoredState:
        state = super().load_state()
        entries = list(state.entries)[:12]
        return le.StoredState(state.current_term, state.voted_for, entries, state.snapshot)


def test_only_the_random_comparison_catches_a_bug_the_scripts_miss() -> None:
    report = le.check_storage(LosesLateEntries)
    assert {f.name for f in report.failures} == {"random comparison with DiskStorage"}
    failure = report.failures[0].message
    assert "the reference DiskStorage returned" in failure
    assert "entry 13" in failure and "is missing" in failure


# --------------------------------------------------- handlers gone wrong


class RaisesInSaveLog(le.DiskStorage):
    def save_log(self, msg: le.SaveLog) -> None:
        raise KeyError("oops")


class ReturnsNone(le.DiskStorage):
    def load_state(self) -> Any:
        return None


class ReturnsTextTerm(le.DiskStorage):
    def load_state(self) -> le.StoredState:
        return le.StoredState("1", None, [])  # type: ignore[arg-type]


class ReturnsNamedVote(le.DiskStorage):
    def load_state(self) -> le.StoredState:
        state = super().load_state()
        vote = None if state.voted_for is None else f"S{state.voted_for}"
        return le.StoredState(state.current_term, vote, state.entries)  # type: ignore[arg-type]


class ReturnsPairs(le.DiskStorage):
    def load_state(self) -> le.StoredState:
        state = super().load_state()
        return le.StoredState(
            state.current_term, state.voted_for, [(e.index, e.term) for e in state.entries]
        )


class SortsKeysAsText(le.StorageHandler):
    """The DESIGN example's keys (f"log/{index}") sorted as strings: 10 before 9."""

    def save_hard_state(self, msg: le.SaveHardState) -> None:
        self.disk.write("hard_state", (msg.current_term, msg.voted_for))
        self.disk.sync()

    def save_log(self, msg: le.SaveLog) -> None:
        self.disk.write(f"log/{msg.index}", (msg.term, msg.data))
        self.disk.sync()

    def truncate_log(self, msg: le.TruncateLog) -> None:
        for key in self.disk.keys():
            if key.startswith("log/") and int(key[4:]) >= msg.from_index:
                self.disk.delete(key)
        self.disk.sync()

    def load_state(self) -> le.StoredState:
        term, vote = self.disk.read("hard_state", (0, None))
        keys = [k for k in self.disk.keys() if k.startswith("log/")]
        return le.StoredState(term, vote, [le.Entry(int(k[4:]), *self.disk.read(k)) for k in keys])


class ExclusiveTruncate(le.DiskStorage):
    def truncate_log(self, msg: le.TruncateLog) -> None:
        for key in self.disk.keys():
            if key.startswith("log/") and key > entry_key(msg.from_index):
                self.disk.delete(key)
        self.disk.sync()


class AppendsInsteadOfReplacing(le.DiskStorage):
    """Keeps the log as one list and appends to it."""

    def save_log(self, msg: le.SaveLog) -> None:
        log = self.disk.read("log", [])
        log.append((msg.index, msg.term, msg.data))
        self.disk.write("log", log)
        self.disk.sync()

    def truncate_log(self, msg: le.TruncateLog) -> None:
        log = self.disk.read("log", [])
        self.disk.write("log", [e for e in log if e[0] < msg.from_index])
        self.disk.sync()

    def load_state(self) -> le.StoredState:
        term, vote = read_hard_state(self.disk)
        return le.StoredState(term, vote, self.disk.read("log", []))


class KeepsOldVote(le.DiskStorage):
    """Writes voted_for only when there is one: a new term keeps the old vote."""

    def save_hard_state(self, msg: le.SaveHardState) -> None:
        _, vote = self.disk.read("hard_state", (0, None))
        self.disk.write("hard_state", (msg.current_term, msg.voted_for or vote))
        self.disk.sync()


class CachesWhatItLoads(le.DiskStorage):
    """Hands out the same list every time: a caller's change reaches the next load."""

    def __init__(self, disk: le.Disk) -> None:
        super().__init__(disk)
        self.cache: le.StoredState | None = None

    def save_log(self, msg: le.SaveLog) -> None:
        super().save_log(msg)
        self.cache = None

    def load_state(self) -> le.StoredState:
        if self.cache is None:
            term, vote = read_hard_state(self.disk)
            self.cache = le.StoredState(term, vote, read_log(self.disk))
        return self.cache


@pytest.mark.parametrize(
    ("handler", "check", "words"),
    [
        (
            RaisesInSaveLog,
            "entries saved and read back in order",
            [
                "save_log(SaveLog(term=1",
                "KeyError: 'oops'",
                "test_storage_compliance.py",
                "Fix the error",
            ],
        ),
        (
            ReturnsNone,
            "fresh-disk defaults",
            ["returned None (NoneType)", "le.StoredState(current_term, voted_for, entries)"],
        ),
        (ReturnsTextTerm, "fresh-disk defaults", ["current_term='1'", "whole number >= 0"]),
        (
            ReturnsNamedVote,
            "hard state saved and loaded",
            ["voted_for='S2'", "None or a server id"],
        ),
        (
            ReturnsPairs,
            "entries saved and read back in order",
            ["not a log", "Entry(index, term, data)"],
        ),
        (
            SortsKeysAsText,
            "entries saved and read back in order",
            ["out of order", "'log/10' sorts before 'log/9'"],
        ),
        (
            ExclusiveTruncate,
            "TruncateLog bounds",
            [
                "TruncateLog(from_index=4)",
                "entry 4 (term 2) should not be there",
                "entry n itself included",
            ],
        ),
        (AppendsInsteadOfReplacing, "overwrite after truncate", ["replaces that entry"]),
        (
            KeepsOldVote,
            "term and vote saved together",
            ["SaveHardState(current_term=6, voted_for=None)", "voted_for should be None"],
        ),
        (CachesWhatItLoads, "no aliasing", ["changed what the next load_state() returned"]),
    ],
)
def test_a_broken_handler_fails_a_check_with_a_message_never_a_crash(
    handler: type[le.StorageHandler], check: str, words: list[str]
) -> None:
    report = le.check_storage(handler)
    assert not report.passed
    message = _failure(report, check)
    for word in words:
        assert word in message, message


def test_a_factory_that_fails_to_build_reports_one_failure() -> None:
    def explodes(disk: le.Disk) -> Any:
        raise RuntimeError("no handler today")

    report = le.check_storage(explodes)
    assert [(f.name, f.phase) for f in report.failures] == [("builds", LIVE)]
    assert "Building the handler as explodes(disk) raised RuntimeError: no handler today" in (
        report.failures[0].message
    )
    nothing = le.check_storage(lambda disk: 42)
    assert "which has no handle(message) method" in nothing.failures[0].message


def test_a_function_storage_with_missing_functions_names_them() -> None:
    store = le.FunctionStorage()
    store.save_log(lambda disk, msg: None)
    report = le.check_storage(store)
    message = report.failures[0].message
    assert "save_hard_state(disk, msg), truncate_log(disk, msg) and load_state(disk)" in message


def test_a_handler_that_raises_everywhere_still_gets_a_full_report() -> None:
    class Broken(le.StorageHandler):
        def load_state(self) -> le.StoredState:
            raise ValueError("bad disk")

    report = le.check_storage(Broken)
    assert len(report.results) == 2 * len(CHECK_NAMES)
    assert not any(r.passed for r in report.results)
    assert all("ValueError: bad disk" in f.message for f in report.failures)


@pytest.mark.parametrize("wrong", [42, le.DiskStorage(le.Disk())])
def test_check_storage_wants_a_handler_class(wrong: Any) -> None:
    with pytest.raises(TypeError, match="check_storage got"):
        le.check_storage(wrong)


# --------------------------------------------------------------- report


def test_the_report_prints_as_text_with_marks_and_failures() -> None:
    report = le.check_storage(GALLERY["TermAfterVote"])
    text = str(report)
    assert text.splitlines()[0] == (
        "check_storage(TermAfterVote): 17 of 18 checks passed, 1 failed (seed=0)"
    )
    assert text.count("✓") == 17
    assert "✗  term and vote saved together          after crash" in text
    assert "✗ term and vote saved together (after crash):" in text
    assert repr(report) == text
    assert report.failed("term and vote saved together", AFTER_CRASH)
    assert not report.failed("term and vote saved together", LIVE)


def test_the_report_renders_as_an_html_table_for_notebooks() -> None:
    report = le.check_storage(GALLERY["MemoryLog"])
    page = report._repr_html_()
    assert page.startswith("<table")
    assert page.count("<tr") == 1 + len(report.results)
    assert page.count("✓") == sum(r.passed for r in report.results)
    assert page.count("✗") == len(report.failures)
    assert html.escape(report.failures[0].message) in page
    assert "{'tags': ['a']}" not in page  # escaped, not raw


def test_a_passing_report_says_all_passed() -> None:
    report = le.check_storage(le.DiskStorage)
    assert "24 of 24 checks passed, all passed" in str(report)
    assert "✗" not in str(report) + report._repr_html_()


def test_compaction_past_its_bound_is_told_so() -> None:
    """A compact_log that deletes one entry too many leaves the snapshot in place: the
    finding names the bound, not only a snapshot saved too late."""

    class OneTooMany(le.DiskStorage):
        def compact_log(self, msg: le.CompactLog) -> None:
            super().compact_log(le.CompactLog(msg.through_index + 1))

    report = le.check_storage(OneTooMany)
    assert not report.passed
    compaction = [f for f in report.failures if f.name in SNAPSHOT_CHECK_NAMES]
    assert compaction, str(report)
    for failure in compaction:
        assert "index <= n" in failure.message or "index <= through_index" in failure.message
