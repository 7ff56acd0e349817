"""``le.labs``: the MIT 6.5840 Raft tests as a gallery, against any storage handler.

Green on the built-in ``DiskStorage``; red on the storage gallery's handlers whose bug
a crash between storage calls shows (``ForgetsVote``, ``MemoryLog``, and
``NeverSyncs``, since the gallery's crashes lose what was not synced). The lab never
crashes a server inside a storage call, so ``TermAfterVote`` and
``CompactsBeforeSnapshot`` pass it, and ``IgnoresTruncate`` shows only on rare seeds
(test_explore.py shows the explorer finding all three).
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.explore import labs
from luminous_edu.storage.gallery import GALLERY

NAMES_OF_6_5840 = [
    "InitialElection3A",
    "ReElection3A",
    "ManyElections3A",
    "BasicAgree3B",
    "FollowerFailure3B",
    "LeaderFailure3B",
    "FailAgree3B",
    "FailNoAgree3B",
    "ConcurrentStarts3B",
    "Rejoin3B",
    "Backup3B",
    "Count3B",
    "Persist13C",
    "Persist23C",
    "Persist33C",
    "Figure83C",
    "UnreliableAgree3C",
    "Figure8Unreliable3C",
    "ReliableChurn3C",
    "UnreliableChurn3C",
    "SnapshotBasic3D",
    "SnapshotInstall3D",
    "SnapshotInstallUnreliable3D",
    "SnapshotInstallCrash3D",
    "SnapshotInstallUnCrash3D",
    "SnapshotAllCrash3D",
    "SnapshotInit3D",
]


@pytest.fixture(scope="module")
def green() -> labs.LabReport:
    return le.labs.run(storage=le.DiskStorage)


def test_the_gallery_holds_the_labs_tests_by_their_names() -> None:
    assert list(labs.TESTS) == NAMES_OF_6_5840


def test_every_test_passes_on_disk_storage_in_seconds_of_virtual_time(
    green: labs.LabReport,
) -> None:
    assert green.passed, green
    assert green.results == dict.fromkeys(NAMES_OF_6_5840, True)
    assert green.failures == {}
    assert all(test.virtual_ms > 0 for test in green.tests)
    assert "27 of 27 passed" in green.summary()


def test_the_report_shows_a_badge_per_test(green: labs.LabReport) -> None:
    html = green._repr_html_()
    assert html.count('class="luminous-lab-badge"') == len(NAMES_OF_6_5840)
    assert "&#10007;" not in html
    assert repr(green).count("PASS") == len(NAMES_OF_6_5840)


@pytest.mark.parametrize(
    ("name", "failing"),
    [
        ("ForgetsVote", "Persist13C"),
        ("MemoryLog", "Persist13C"),
        ("NeverSyncs", "InitialElection3A"),
    ],
)
def test_a_buggy_handler_of_the_storage_gallery_turns_tests_red(name: str, failing: str) -> None:
    report = le.labs.run(storage=GALLERY[name])
    assert not report.passed
    assert report.results[failing] is False, report
    assert report.results["Figure83C"] is False
    assert failing in report._repr_html_() and "&#10007;" in report._repr_html_()
    # The failed test replays to the moment its check failed, with what broke.
    cluster = report.replay(failing)
    assert isinstance(cluster, le.Cluster)
    assert cluster.violations or cluster.errors or report.failures[failing]


def test_the_lab_misses_what_needs_a_crash_inside_a_storage_call() -> None:
    for name in ("TermAfterVote", "CompactsBeforeSnapshot"):
        assert le.labs.run(storage=GALLERY[name], tests=["Persist13C", "Figure83C"]).passed


def test_a_replayed_test_is_the_same_run(green: labs.LabReport) -> None:
    first = green.replay("Backup3B")
    again = green.replay("Backup3B")
    assert first.trace_digest() == again.trace_digest()
    assert first.now == green.tests[NAMES_OF_6_5840.index("Backup3B")].virtual_ms


def test_a_handler_without_log_compaction_fails_the_snapshot_tests_saying_why() -> None:
    class NoCompaction(le.StorageHandler):
        """A handler written before log compaction: DiskStorage's first four methods."""

        save_hard_state = le.DiskStorage.save_hard_state
        save_log = le.DiskStorage.save_log
        truncate_log = le.DiskStorage.truncate_log
        load_state = le.DiskStorage.load_state

    report = le.labs.run(storage=NoCompaction, tests=["BasicAgree3B", "SnapshotBasic3D"])
    assert report.results == {"BasicAgree3B": True, "SnapshotBasic3D": False}
    assert "save_snapshot" in report.failures["SnapshotBasic3D"]
    with pytest.raises(le.LuminousError, match=r"snapshot_threshold=10: .* has no save_snapshot"):
        report.replay("SnapshotBasic3D")


def test_unknown_test_names_are_refused_with_the_names() -> None:
    with pytest.raises(le.LuminousError, match=r"no 6\.5840 test is called 'Figure9'.*Figure83C"):
        le.labs.run(tests=["Figure9"])
