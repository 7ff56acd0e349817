"""Messages that say what is wrong (issue 14): each case a student met, set up as they
met it, and the sentence they now read."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.storage.compliance import CHECK_NAMES
from luminous_edu.storage.report import AFTER_CRASH, LIVE

# ----------------------------------------------- 03.figure3_properties answers

RIGHT = {1: "d", 2: "c", 3: "a", 4: "e"}


def test_property_names_instead_of_letters_are_told_to_use_letters() -> None:
    names = {
        1: "Leader Completeness",
        2: "Log Matching",
        3: "Election Safety",
        4: "State Machine Safety",
    }
    result = ex.check("03.figure3_properties", names)
    assert not result.passed
    assert "answer with letters a-e" in result.message
    assert "For Leader Completeness write 'd'" in result.message
    assert "is not about" not in result.message  # the old, false sentence


def test_string_keys_are_understood() -> None:
    assert ex.check("03.figure3_properties", {str(k): v for k, v in RIGHT.items()}).passed
    assert ex.check("03.figure3_properties", {" 1": "(D)", 2: "c", "3": "a", 4: "E"}).passed


def test_a_wrong_letter_names_the_property_it_was_given() -> None:
    result = ex.check("03.figure3_properties", {**RIGHT, 1: "a"})
    assert not result.passed
    assert result.message == "mechanism 1 is not about Election Safety (a)."


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({1: "d"}, "mechanism 2 has no letter yet"),
        ({**RIGHT, 5: "b"}, "5 is not a mechanism"),
        ({**RIGHT, "one": "b"}, "'one' is not a mechanism"),
        ({**RIGHT, 2: "z"}, "answer with letters a-e, not 'z' (mechanism 2)"),
        (["d", "c", "a", "e"], "expected a dict from mechanism number to letter"),
    ],
)
def test_other_misshapen_answers_say_what_to_write(answer: Any, words: str) -> None:
    result = ex.check("03.figure3_properties", answer)
    assert not result.passed and words in result.message, result.message


# ------------------------------------------------------- fire(Event), drop(Event)


def test_fire_takes_the_event_itself_as_well_as_its_id() -> None:
    by_id = le.Cluster(servers=3, seed=1)
    by_event = le.Cluster(servers=3, seed=1)
    fired = by_event.fire(by_event.pending()[0])
    assert fired == by_id.fire(by_id.pending()[0].id)
    assert by_event.trace_digest() == by_id.trace_digest()
    with pytest.raises(le.InvalidActionError, match="is not pending any more"):
        by_event.fire(fired)  # it fired already
    message = next(e for e in by_event.pending() if e.kind == "deliver")
    assert by_event.drop(message) == message
    assert by_event.trace[-1].rule == "USER.drop"


def test_an_event_of_another_cluster_is_refused_with_a_sentence() -> None:
    one, other = le.Cluster(servers=3, seed=1), le.Cluster(servers=3, seed=1)
    one.timeout(1)
    other.timeout(2)
    foreign = next(e for e in one.pending() if e.kind == "deliver")
    same_id = next(e for e in other.pending() if e.id == foreign.id)
    assert same_id.source != foreign.source  # same id, another message
    with pytest.raises(le.InvalidActionError, match="another cluster"):
        other.fire(foreign)


def test_fire_with_something_that_is_no_id_says_what_an_id_is() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    with pytest.raises(le.InvalidActionError, match=r"event\.id for an event from"):
        cluster.fire("#1")


# ------------------------------------------------ check_storage: a missing sync


def _list_storage(sync_in_save_log: bool) -> le.FunctionStorage:
    store = le.FunctionStorage(name="ListStorage")

    @store.save_hard_state
    def save_hard_state(disk: le.Disk, msg: Any) -> None:
        disk.write("hard_state", (msg.current_term, msg.voted_for))
        disk.sync()

    @store.save_log
    def save_log(disk: le.Disk, msg: Any) -> None:
        log = disk.read("log", [])
        log[msg.index - 1 :] = [(msg.term, msg.data)]
        disk.write("log", log)
        if sync_in_save_log:
            disk.sync()

    @store.truncate_log
    def truncate_log(disk: le.Disk, msg: Any) -> None:
        disk.write("log", disk.read("log", [])[: msg.from_index - 1])
        disk.sync()

    @store.load_state
    def load_state(disk: le.Disk) -> le.StoredState:
        term, vote = disk.read("hard_state", (0, None))
        log = disk.read("log", [])
        entries = [le.Entry(i, t, d) for i, (t, d) in enumerate(log, 1)]
        return le.StoredState(term, vote, entries)

    return store


class NoSyncInSaveLog(le.DiskStorage):
    def save_log(self, msg: le.SaveLog) -> None:
        self.disk.write(f"log/{msg.index:010d}", (msg.term, msg.data))


def test_a_function_storage_without_sync_is_told_the_root_cause_first() -> None:
    assert le.check_storage(_list_storage(sync_in_save_log=True)).passed
    report = le.check_storage(_list_storage(sync_in_save_log=False))
    first = report.failures[0]
    assert (first.name, first.phase) == ("synced before returning", LIVE)
    assert "Call disk.sync() before save_log returns." in first.message
    text = str(report)
    assert "self.disk" not in text  # a FunctionStorage's functions get `disk`
    # The same cause does not make "no aliasing" fail; the other after-crash failures
    # say they share it, and come after the root cause.
    assert not report.failed("no aliasing")
    for failure in report.failures[1:]:
        assert failure.phase == AFTER_CRASH
        assert failure.cause == "synced before returning"
        assert failure.message.startswith("The crash lost writes that were not synced")
    assert text.index("✗ synced before returning (live)") < text.index("✗ entries saved")


def test_the_lesson_check_counts_what_it_names() -> None:
    result = ex.check("04.storage_functions", _list_storage(sync_in_save_log=False))
    assert not result.passed
    head = re.match(r"(\d+) of (\d+) storage check runs fail: (.*?)\. Fix this", result.message)
    assert head, result.message
    count, total, listed = int(head[1]), int(head[2]), head[3]
    assert total == 2 * len(CHECK_NAMES)
    phases = re.findall(r"\(([^)]*)\)", listed)
    assert count == sum(len(p.split(", ")) for p in phases)  # every failing run named
    assert "Fix this first, 'synced before returning' (live)" in result.message
    assert "Call disk.sync() before save_log returns." in result.message
    assert f"The other {count - 1} lose data in a crash for the same reason." in result.message


def test_a_handler_class_without_sync_is_told_self_disk() -> None:
    report = le.check_storage(NoSyncInSaveLog)
    assert "Call self.disk.sync() before save_log returns." in report.failures[0].message
    assert not report.failed("no aliasing")


def test_a_failure_with_its_own_cause_is_not_blamed_on_the_missing_sync() -> None:
    class NoSyncAndNoTruncate(NoSyncInSaveLog):
        def truncate_log(self, msg: le.TruncateLog) -> None:
            self.disk.sync()  # deletes nothing

    report = le.check_storage(NoSyncAndNoTruncate)
    live = [f for f in report.failures if f.phase == LIVE]
    assert {f.name for f in live} >= {"TruncateLog bounds", "synced before returning"}
    truncate = next(
        f for f in report.failures if f.name == "TruncateLog bounds" and f.phase == AFTER_CRASH
    )
    assert truncate.cause == ""  # it fails even when a crash keeps every write


# ------------------------------------------------------------- propose's reason


def test_propose_says_why_it_was_refused() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    refused = cluster.propose("x")
    assert not refused.accepted and refused.reason is not None
    assert "there is no leader now" in refused.reason
    assert "run_until" in refused.reason
    cluster.run_until(lambda c: c.leader is not None)
    cluster.run(100)
    leader = cluster.leader
    follower = next(i for i in cluster.servers if i != leader)
    to_follower = cluster.propose("x", server=follower)
    assert to_follower.leader_hint == leader
    assert to_follower.reason == (
        f"S{follower} is a follower, not the leader, and only the leader takes client "
        f"commands (§5.1); it believes S{leader} leads: propose(data, server={leader})"
    )
    cluster.crash(follower)
    down = cluster.propose("x", server=follower)
    assert down.reason is not None and f"S{follower} is down" in down.reason
    assert f"cluster.restart({follower})" in down.reason and f"S{leader} leads" in down.reason
    accepted = cluster.propose("x")
    assert accepted.accepted and accepted.reason is None
    assert "reason" not in repr(accepted) and "reason=" in repr(down)


def test_propose_during_a_transfer_says_so() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.run_until(lambda c: c.leader is not None)
    cluster.run(100)
    leader = cluster.leader
    target = next(i for i in cluster.servers if i != leader)
    assert cluster.transfer_leadership(to=target).accepted
    result = cluster.propose("during")
    assert not result.accepted and result.reason is not None
    assert f"S{leader} is handing leadership over to S{target} (thesis §3.10)" in result.reason


def test_a_proposal_result_still_unpacks_as_four_values() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    cluster.run_until(lambda c: c.leader is not None)
    accepted, index, term, hint = cluster.propose("x")
    assert (accepted, term, hint) == (True, 1, cluster.leader) and index == 2
    refused = le.Cluster(servers=3, seed=1).propose("x")
    assert refused == (False, None, None, None) and len(refused) == 4
    assert refused._replace(accepted=True).accepted  # still a named tuple


# ------------------------------------------------------- run_until giving up


def test_run_until_that_gives_up_says_so_and_is_falsy() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    with pytest.warns(le.GaveUpWarning, match="max_ms=100 ms of virtual time passed"):
        result = cluster.run_until(lambda c: False, 100)
    assert not result and result == False  # noqa: E712 (what `== False` callers get)
    assert isinstance(result, le.GaveUp) and result.max_ms == 100 and result.now == cluster.now
    assert repr(result).startswith("False: run_until gave up at t=100 ms")
    assert "give a larger max_ms" in result.reason
    assert cluster.run_until(lambda c: c.leader is not None) is True


def test_run_until_with_nothing_left_to_happen_says_so() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    for i in cluster.servers:
        cluster.crash(i)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cluster.run_until(lambda c: c.leader is not None, 500, warn=False)
    assert not result
    assert isinstance(result, le.GaveUp) and "nothing was left to happen" in result.reason
    assert "are all the servers down?" in result.reason


# ---------------------------------------------------------------- narration


def test_the_trace_says_an_appendentries() -> None:
    cluster = le.Cluster(servers=5, seed=7)
    cluster.run_until(lambda c: c.leader is not None)
    old = cluster.leader
    assert old is not None
    cluster.disconnect(old)
    cluster.run_until(lambda c: c.leader not in (None, old))
    cluster.connect(old)
    cluster.run(500)  # the old leader hears of the new term in an AppendEntries
    sentences = [e.sentence for e in cluster.trace]
    assert any(re.search(r"in an AppendEntries(Reply)? from", s) for s in sentences)
    assert not [s for s in sentences if re.search(r"\ba [AEIOU]", s)]
