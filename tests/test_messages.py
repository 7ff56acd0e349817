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


def test_no_trace_sentence_puts_a_before_a_message_name_that_starts_with_a_vowel() -> None:
    cluster = le.Cluster(servers=5, seed=7)
    cluster.run_until(lambda c: c.leader is not None)
    old = cluster.leader
    assert old is not None
    cluster.disconnect(old)
    cluster.run_until(lambda c: c.leader not in (None, old))
    cluster.connect(old)
    cluster.run(500)  # the old leader hears of the new term in an AppendEntries
    sentences = [e.sentence for e in cluster.trace]
    assert any(re.search(r"in S\d's AppendEntries(Reply)?, newer", s) for s in sentences)
    assert not [s for s in sentences if re.search(r"\ba [AEIOU]", s)]


# ------------------------------------- checker messages no other test reads


def test_a_split_vote_that_one_candidate_wins_is_told_so() -> None:
    def one_candidate_wins(cluster: le.Cluster) -> None:
        cluster.timeout(1)
        cluster.timeout(2)  # two candidates in term 1 ...
        for target in (3, 4):  # ... but S3 and S4 both hear S1 first
            request = next(e for e in cluster.pending() if e.source == 1 and e.target == target)
            cluster.fire(request.id)
        while messages := [e for e in cluster.pending() if e.kind == "deliver"]:
            cluster.fire(messages[0].id)

    result = ex.check("01.split_vote", one_candidate_wins)
    assert not result.passed and "won term 1: the votes did not split" in result.message


def test_a_fixed_handler_that_raises_in_the_scenario_is_shown_its_error() -> None:
    from luminous_edu.storage import GALLERY

    class Raises(GALLERY["TermAfterVote"]):  # type: ignore[misc, valid-type]
        def save_hard_state(self, msg: le.SaveHardState) -> None:
            raise KeyError("hard_state")

    result = ex.check("04.fix_term_after_vote", Raises)
    assert not result.passed and "the check itself failed" not in result.message
    assert result.message.startswith(
        "in the scenario your handler raised KeyError: 'hard_state' while handling SaveHardState("
    )

    class OnlyInClusters(GALLERY["TermAfterVote"]):  # type: ignore[misc, valid-type]
        """Passes check_storage, raises on a cluster's disks: the scenario stops."""

        def save_hard_state(self, msg: le.SaveHardState) -> None:
            if not self.disk.name.startswith("check disk") and msg.voted_for is not None:
                raise le.StorageError("no votes on this disk")
            self.disk.write("hard_state", (msg.current_term, msg.voted_for))
            self.disk.sync()

        def load_state(self) -> le.StoredState:
            term, vote = self.disk.read("hard_state", (0, None))
            entries = GALLERY["TermAfterVote"].load_state(self).entries
            return le.StoredState(term, vote, entries)

    assert le.check_storage(OnlyInClusters).passed
    result = ex.check("04.fix_term_after_vote", OnlyInClusters)
    assert result.message == (
        "in the scenario your handler raised StorageError: no votes on this disk while "
        "handling SaveHardState(current_term=1, voted_for=1); its server stopped, and the "
        "scenario could not go on."
    )


def test_a_function_storage_with_functions_missing_names_them() -> None:
    store = le.FunctionStorage(name="ListStorage")
    store.save_log(lambda disk, msg: None)
    result = ex.check("04.storage_functions", store)
    assert result.message == "ListStorage has no save_hard_state, truncate_log, load_state yet."
    assert result.hint and "@store.save_hard_state" in result.hint


def test_a_bug_that_shows_without_faults_is_named() -> None:
    result = ex.check("04.hidden_without_faults", {"MemoryLog"})
    assert not result.passed
    assert result.message.startswith("MemoryLog shows even with disk_faults=None")
    result = ex.check("04.hidden_without_faults", {"NoSuchBug"})
    assert "'NoSuchBug' is not in the gallery" in result.message


@pytest.mark.parametrize(
    ("split", "words"),
    [
        (lambda leader, rest: [{leader}, set(rest)], "has 1 server(s), smaller than it could be"),
        (lambda leader, rest: [{leader, *rest[:2]}, set(rest[2:])], "too big: it has a majority"),
        (
            lambda leader, rest: [{leader, rest[0]}, {rest[1]}, set(rest[2:])],
            "the other servers are split into 2 groups",
        ),
    ],
)
def test_isolate_leader_answers_are_told_what_is_wrong(split: Any, words: str) -> None:
    def isolate_leader(cluster: le.Cluster) -> None:
        leader = cluster.leader
        rest = [i for i in cluster.servers if i != leader]
        cluster.partition(*split(leader, rest))

    result = ex.check("05.isolate_leader", isolate_leader)
    assert not result.passed and words in result.message, result.message
    assert result.message.startswith("With 5 servers (leader S")


def test_isolate_leader_with_a_majority_that_cannot_elect_is_told_so() -> None:
    def isolate_and_disconnect(cluster: le.Cluster) -> None:
        leader = cluster.leader
        rest = [i for i in cluster.servers if i != leader]
        group = {leader, *rest[: (len(rest) + 1) // 2 - 1]}
        cluster.partition(group, set(cluster.servers) - group)
        cluster.disconnect(max(set(cluster.servers) - group))  # the majority loses one

    result = ex.check("05.isolate_leader", isolate_and_disconnect)
    assert not result.passed
    assert "the majority side did not elect a new leader" in result.message


def test_all_applied_answers_are_told_what_is_wrong() -> None:
    result = ex.check("05.all_applied", lambda cluster, commands: "maybe")
    assert result.message == "all_applied should return True or False."
    result = ex.check("05.all_applied", lambda cluster, commands: True)
    assert "returned yes: nothing has been applied yet on a fresh cluster" in result.message


def test_a_compacting_handler_that_fails_only_in_a_cluster_is_shown_the_error() -> None:
    from test_exercises import SOLUTIONS

    class FailsOnACommand(SOLUTIONS["06.storage_compaction"]):  # type: ignore[misc]
        def save_log(self, msg: le.SaveLog) -> None:
            if msg.data == "v5":  # a command of the check's cluster, not of check_storage
                raise le.StorageError("disk full")
            super().save_log(msg)

    result = ex.check("06.storage_compaction", FailsOnACommand)
    assert not result.passed
    assert "with a crash and restart every 4 commands, disk full" in result.message
    assert result.hint == "run that cluster yourself and read cluster.errors."


def test_a_pair_where_none_exists_is_told_to_return_none() -> None:
    from luminous_edu.exercises.lesson07 import find_disjoint_majorities

    def always_a_pair(old: set[int], new: set[int]) -> Any:
        return find_disjoint_majorities(old, new) or ({min(old)}, {max(new)})

    result = ex.check("07.disjoint_majorities", always_a_pair)
    assert not result.passed
    assert "but every majority of the old configuration overlaps" in result.message
    assert result.hint and "Return None" in result.hint


def test_hand_over_that_returns_no_id_or_the_old_leader_is_told_so() -> None:
    result = ex.check("08.hand_over", lambda cluster: "the best one")
    assert "hand_over returned 'the best one': return the id" in result.message
    result = ex.check("08.hand_over", lambda cluster: cluster.leader)
    assert "the leader that is leaving" in result.message


def test_require_raises_the_checks_sentence_for_an_autograder() -> None:
    assert ex.require("01.votes_needed", lambda servers: servers // 2 + 1).passed
    with pytest.raises(AssertionError, match=r"✗ 01.votes_needed: votes_needed\(5\) returned 2"):
        ex.require("01.votes_needed", lambda servers: servers // 2)


# --------------------------------------------- API errors a student can hit


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"leader_noop": "yes"}, "leader_noop='yes': give True or False"),
        ({"prevote": 1}, "prevote=1: give True or False"),
        ({"storage": 42}, "storage=42: give a handler class"),
        ({"state_machine": "list"}, "state_machine='list': give a class with apply"),
        ({"lease_reads": "on"}, "lease_reads='on': give True or False"),
    ],
)
def test_cluster_options_that_make_no_sense_are_named(options: dict[str, Any], words: str) -> None:
    with pytest.raises(le.LuminousError, match=re.escape(words)):
        le.Cluster(servers=3, **options)


def test_cut_power_needs_a_number_of_operations() -> None:
    cluster = le.Cluster(servers=3, seed=1)
    with pytest.raises(le.LuminousError, match="after_operations=-1: give a whole number"):
        cluster.cut_power(1, after_operations=-1)


def test_check_storage_wants_a_whole_number_seed() -> None:
    with pytest.raises(TypeError, match="seed='1': the seed must be a whole number"):
        le.check_storage(le.DiskStorage, seed="1")  # type: ignore[arg-type]


def test_class_kit_arguments_are_told_what_to_give(tmp_path: Any) -> None:
    from luminous_edu.exercises import nbgrader

    with pytest.raises(le.LuminousError, match="course='': give the course's name"):
        le.student_seed("ada", course="")
    with pytest.raises(le.LuminousError, match="points=0: give a whole number of points"):
        nbgrader.source_notebook({"cells": []}, points=0)
    with pytest.raises(le.LuminousError, match="not a notebook: it has no list of cells"):
        nbgrader.source_notebook({})
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{", "utf-8")
    with pytest.raises(le.LuminousError, match=r"broken\.ipynb: cannot read it as a notebook"):
        nbgrader.convert([broken], tmp_path / "out")
    empty = tmp_path / "empty.ipynb"
    empty.write_text('{"cells": []}', "utf-8")
    with pytest.raises(le.LuminousError, match=r"empty\.ipynb: this notebook checks no exercise"):
        nbgrader.convert([empty], tmp_path / "out")


def test_a_lesson_author_is_told_about_a_bad_exercise_id() -> None:
    with pytest.raises(ValueError, match=r"exercise '01\.votes_needed' is defined twice"):
        ex.prediction("01.votes_needed", "again?", "a", "no")
    with pytest.raises(ValueError, match=r"must look like '01\.name'"):
        ex.prediction("votes", "no lesson?", "a", "no")
