"""Every error a student can meet reads what was wrong and what to do (issue 14).

The other message tests (test_messages.py, test_bad_input.py, test_contract.py, ...) cover
the mistakes of the lessons; these are the rest: calls with a wrong value that only an
unusual cell makes, each made the way a student would, and the sentence read back. Where
a cluster or a notebook object was involved, it still works after the error.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from scenario_helpers import varied_record

import luminous_edu as le
from luminous_edu import exercises as ex
from luminous_edu.kv import BackupError, read_backup
from luminous_edu.viz.history import HistoryView
from luminous_edu.viz.kv import KVView


def elected(seed: int = 1) -> le.Cluster:
    c = le.Cluster(servers=3, seed=seed)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    return c


def still_usable(c: le.Cluster) -> None:
    """The cluster takes the next step and still loads from its export."""
    before = c.step_count
    c.step()
    assert c.step_count == before + 1
    assert le.Cluster.load(json.loads(json.dumps(c.export()))).trace_digest() == c.trace_digest()


# ------------------------------------------------------------ Cluster arguments


def test_a_heartbeat_of_zero_asks_for_whole_milliseconds() -> None:
    with pytest.raises(le.LuminousError, match=r"heartbeat_interval_ms=0: give whole milliseconds"):
        le.Cluster(heartbeat_interval_ms=0)


def test_a_codec_without_encode_says_what_a_codec_needs() -> None:
    with pytest.raises(le.LuminousError, match=r"a codec needs encode\(value\) and decode\(blob\)"):
        le.Cluster(codec=json)


def test_an_initial_state_for_an_unknown_server_lists_the_servers() -> None:
    with pytest.raises(
        le.UnknownServerError,
        match="initial_state names server 7; the cluster starts with servers 1, 2, 3",
    ):
        le.Cluster(servers=3, initial_state={7: None})


def test_a_rate_outside_zero_one_asks_for_a_probability() -> None:
    with pytest.raises(
        le.LuminousError, match="drop_rate=2 is not a probability; give a number from 0 to 1"
    ):
        le.Network(drop_rate=2)


def test_deleting_a_network_setting_is_refused_by_name() -> None:
    c = elected()
    with pytest.raises(AttributeError, match="cannot delete the network's drop_rate"):
        del c.network.drop_rate
    still_usable(c)


# ------------------------------------------------------------- time and travel


def test_run_with_a_negative_duration_gives_the_range() -> None:
    c = elected()
    with pytest.raises(
        le.LuminousError, match=r"run\(ms=-1\): give a whole number of milliseconds from 0"
    ):
        c.run(-1)
    still_usable(c)


def test_run_until_with_a_negative_limit_asks_for_milliseconds() -> None:
    c = elected()
    with pytest.raises(
        le.LuminousError, match="max_ms=-1: give a whole number of milliseconds >= 0"
    ):
        c.run_until(lambda c: False, -1)
    still_usable(c)


def test_a_negative_rewind_asks_for_a_whole_number() -> None:
    c = elected()
    with pytest.raises(le.LuminousError, match=r"rewind\(steps=-1\): give a whole number >= 0"):
        c.rewind(-1)
    still_usable(c)


def test_a_rewind_past_the_start_says_how_many_steps_were_taken() -> None:
    c = elected()
    taken = c.step_count
    with pytest.raises(
        le.InvalidActionError,
        match=f"cannot rewind {taken + 1} steps: only {taken} steps have been taken",
    ):
        c.rewind(taken + 1)
    still_usable(c)


def test_a_seek_past_the_end_names_the_last_step() -> None:
    c = elected()
    end = c.step_count
    with pytest.raises(le.InvalidActionError, match=rf"the history has steps 0\.\.{end}"):
        c.seek(end + 5)
    still_usable(c)


# ----------------------------------------------------------------- faults


def test_a_partition_given_a_bare_id_asks_for_sets() -> None:
    c = elected()
    with pytest.raises(
        le.LuminousError,
        match=r"server ids; got 1: write each group in braces, e\.g\. partition\(\{1\}, \{2, 3\}\)",
    ):
        c.partition(1, {2, 3})
    still_usable(c)


@pytest.mark.parametrize("verb", ["cut", "mend"])
def test_a_link_from_a_server_to_itself_is_refused(verb: str) -> None:
    c = elected()
    with pytest.raises(
        le.LuminousError, match=rf"{verb}\(2, 2\): a link joins two different servers"
    ):
        getattr(c, verb)(2, 2)
    still_usable(c)


# ------------------------------------------------------------ hand-made messages


def test_an_injected_negative_index_asks_for_a_whole_number() -> None:
    c = elected()
    request = le.RequestVote(term=1, candidate_id=1, last_log_index=-1, last_log_term=0)
    with pytest.raises(
        le.LuminousError,
        match=r"RequestVote\.last_log_index=-1: give a whole number from 0 to 10\*\*15",
    ):
        c.inject(1, 2, request)
    still_usable(c)


def test_an_injected_snapshot_from_the_future_names_the_message_term() -> None:
    c = elected()
    snapshot = le.InstallSnapshot(
        1, 1, 1, 5, offset=0, data=[], done=True, config={"voters": [1, 2, 3]}
    )
    with pytest.raises(
        le.LuminousError, match="last_included_term=5 is later than the message's term 1"
    ):
        c.inject(1, 2, snapshot)
    still_usable(c)


def test_an_injected_conflict_term_that_is_no_number_asks_for_none_or_a_number() -> None:
    c = elected()
    reply = le.AppendEntriesReply(
        term=1, success=False, match_index=0, conflict_index=0, conflict_term="x"
    )
    with pytest.raises(
        le.LuminousError, match="conflict_term='x': give None or a whole number >= 0"
    ):
        c.inject(1, 2, reply)
    still_usable(c)


def test_an_injection_to_a_crashed_server_says_to_restart_it() -> None:
    c = elected()
    c.crash(2)
    with pytest.raises(le.InvalidActionError, match=r"restart it first \(cluster\.restart\(2\)\)"):
        c.inject(1, 2, le.TimeoutNow(term=1, leader_id=1))
    still_usable(c)


# ------------------------------------------------------------ trace and views


def test_a_trace_position_past_the_end_gives_the_range() -> None:
    c = elected()
    n = len(c.trace)
    with pytest.raises(IndexError, match=rf"give a position from {-n} to {n - 1}"):
        c.trace[n]
    still_usable(c)


def test_a_trace_slice_with_step_zero_asks_for_another_step() -> None:
    c = elected()
    with pytest.raises(le.LuminousError, match="give a step other than 0"):
        c.trace[::0]


def test_trace_since_a_word_asks_for_a_step_number() -> None:
    c = elected()
    with pytest.raises(
        le.LuminousError, match=r"since\('x'\): give a step number, e.g. since\(10\)"
    ):
        c.trace.since("x")


def test_trace_text_of_a_negative_count_says_what_last_means() -> None:
    c = elected()
    with pytest.raises(le.LuminousError, match="give how many of the latest events to show"):
        c.trace.text(last=-1)


def test_log_entries_by_name_ask_for_indexes() -> None:
    c = elected()
    with pytest.raises(le.LuminousError, match=r"entries\(first='a'\): give log indexes"):
        c.servers[1].entries("a", 2)


# ---------------------------------------------------------------- run records


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    return varied_record()


def edited(record: dict[str, Any], kind: str, change: Any) -> tuple[dict[str, Any], int]:
    """A copy of ``record`` whose first ``kind`` action went through ``change``, and that
    action's position."""
    rec = copy.deepcopy(record)
    number = next(i for i, a in enumerate(rec["actions"]) if a[0] == kind)
    change(rec["actions"][number])
    return rec, number


EDITED_ACTIONS: dict[str, tuple[str, Any, str]] = {
    "a fired timer turned into a drop": (
        "fire",
        lambda a: a.__setitem__(0, "drop"),
        "drops an event that is not a message",
    ),
    "a heal moved back in time": (
        "heal",
        lambda a: a.__setitem__(1, 0),
        "is at t=0 ms, before the time the record had reached, t=\\d+ ms: a record's "
        "actions go forward in time",
    ),
    "a heal with an extra field": (
        "heal",
        lambda a: a.insert(1, 5),
        r"\['heal', 5, \d+\] has the wrong number of fields",
    ),
    "a partition that is a number": (
        "partition",
        lambda a: a.__setitem__(1, 5),
        "is not a partition",
    ),
    "a restart without its time": (
        "restart",
        lambda a: a.__delitem__(slice(1, None)),
        r"\['restart'\] has no time",
    ),
    "a restart of a running server": (
        "crash",
        lambda a: a.__setitem__(0, "restart"),
        "does not fit the state of S",
    ),
    "an empty action": (
        "crash",
        lambda a: a.clear(),
        r"\[\] is not a recorded action",
    ),
}


@pytest.mark.parametrize("case", sorted(EDITED_ACTIONS))
def test_an_edited_action_is_refused_naming_its_position(record: dict[str, Any], case: str) -> None:
    kind, change, words = EDITED_ACTIONS[case]
    rec, number = edited(record, kind, change)
    with pytest.raises(le.RecordError, match=f"^action {number} of the record: .*{words}"):
        le.Cluster.load(rec)
    still_usable(le.Cluster.load(copy.deepcopy(record)))


def test_an_injected_message_with_a_field_missing_names_the_message_type() -> None:
    c = elected()
    c.inject(1, 2, le.TimeoutNow(term=1, leader_id=1))
    rec = json.loads(json.dumps(c.export()))
    number, action = next((i, a) for i, a in enumerate(rec["actions"]) if a[0] == "inject")
    del action[3]["leader_id"]
    with pytest.raises(
        le.RecordError,
        match=rf"action {number} of the record, .* does not have the fields of a TimeoutNow",
    ):
        le.Cluster.load(rec)


def test_a_negative_step_count_names_the_action(record: dict[str, Any]) -> None:
    rec, number = edited(record, "next", lambda a: a.__setitem__(1, -1))
    with pytest.raises(
        le.RecordError,
        match=rf"action {number} of the record, \['next', -1\]: a step count is a whole number",
    ):
        le.Cluster.load(rec)


def test_an_edited_digest_lists_what_can_make_a_replay_differ(record: dict[str, Any]) -> None:
    rec = {**copy.deepcopy(record), "digest": "0" * 64}
    with pytest.raises(le.RecordError, match="the replayed run differs from the recorded one"):
        le.Cluster.load(rec)


def test_a_record_longer_than_max_steps_says_to_pass_a_larger_one(record: dict[str, Any]) -> None:
    with pytest.raises(le.RecordError, match=r"pass a larger max_steps to Cluster\.load"):
        le.Cluster.load(copy.deepcopy(record), max_steps=3)


def test_a_negative_max_steps_asks_for_a_whole_number(record: dict[str, Any]) -> None:
    with pytest.raises(le.RecordError, match="max_steps=-1: give a whole number of steps"):
        le.Cluster.load(copy.deepcopy(record), max_steps=-1)


def test_a_record_that_is_a_list_says_what_a_record_is() -> None:
    with pytest.raises(
        le.RecordError, match=r"a run record is a dict made by cluster\.export\(\); got list"
    ):
        le.Cluster.load([])


# ------------------------------------------------------------- exercise checks


def test_a_prediction_left_as_dots_asks_for_a_guess() -> None:
    result = ex.check("01.predict_first_candidate", ...)
    assert not result.passed
    assert "you have not made a prediction yet: replace the ... with your guess" in result.message


def test_a_function_exercise_left_as_dots_asks_for_the_function() -> None:
    result = ex.check("01.votes_needed", ...)
    assert "pass your function votes_needed itself, e.g. check(..., votes_needed)" in result.message


def test_a_function_that_raises_is_shown_its_error_and_told_to_fix_it() -> None:
    def votes_needed(n: int) -> int:
        return {}[n]  # type: ignore[no-any-return]

    result = ex.check("01.votes_needed", votes_needed)
    assert result.message == "votes_needed(5) raised KeyError: 5"
    assert result.hint == "read the error, fix the function, run its cell again, then check again."


def test_figure7_left_as_dots_asks_for_letters() -> None:
    result = ex.check("03.figure7_electable", ...)
    assert "replace the ... with a set of letters" in result.message


def test_figure7_with_a_letter_past_f_says_which_letters() -> None:
    result = ex.check("03.figure7_electable", {"a", "z"})
    assert "is not a set of letters from a to f, e.g. {'a', 'c'}" in result.message


def test_figure3_left_as_dots_shows_the_shape_of_an_answer() -> None:
    result = ex.check("03.figure3_properties", ...)
    assert "replace the ... with a dict like {1: 'a', 2: 'b', ...}" in result.message


def test_a_storage_class_left_as_dots_shows_the_call() -> None:
    result = ex.check("04.storage_class", ...)
    assert "pass your class itself, e.g. check('04.storage_class', MyStorage)" in result.message


def test_the_builtin_disk_storage_is_not_an_answer() -> None:
    result = ex.check("04.storage_class", le.DiskStorage)
    assert "DiskStorage is the built-in DiskStorage" in result.message
    assert "write your own, starting from class MyStorage(le.StorageHandler)" in result.message


def test_storage_functions_left_as_dots_shows_the_call() -> None:
    result = ex.check("04.storage_functions", ...)
    assert "pass your store itself: check('04.storage_functions', store)" in result.message


def test_storage_functions_given_something_else_asks_for_the_store() -> None:
    result = ex.check("04.storage_functions", 5)
    assert "expected the le.FunctionStorage you built (store), got 5" in result.message


def test_a_compaction_handler_without_its_methods_names_them() -> None:
    class MyStorage(le.StorageHandler):
        pass

    result = ex.check("06.storage_compaction", MyStorage)
    assert result.message == (
        "MyStorage has no save_snapshot and no compact_log yet: the cluster refuses "
        "snapshot_threshold without them."
    )
    assert "def save_snapshot(self, msg)" in (result.hint or "")


def test_a_submission_of_a_list_of_runs_asks_for_a_dict(tmp_path: Any) -> None:
    with pytest.raises(le.LuminousError, match=r"runs= takes a dict of clusters by name"):
        ex.submission(tmp_path / "s.json", runs=[elected()])  # type: ignore[arg-type]
    assert not (tmp_path / "s.json").exists()


def test_a_lesson_seed_of_a_fraction_asks_for_the_lesson_number_as_text() -> None:
    with pytest.raises(le.LuminousError, match=r"lesson=1\.5: give the lesson's number as text"):
        ex.lesson_seed(1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------- storage and data


def test_a_snapshot_config_that_is_a_list_shows_the_dict_to_store() -> None:
    state = le.StoredState(1, None, [], le.SaveSnapshot(1, 1, None, [1, 2, 3]))
    with pytest.raises(le.LuminousError, match=r"a dict such as \{\"voters\": \[1, 2, 3\]\}"):
        le.Cluster(servers=3, initial_state={1: state})


def test_a_snapshot_config_with_a_stranger_names_it_and_the_servers() -> None:
    state = le.StoredState(1, None, [], le.SaveSnapshot(1, 1, None, {"voters": [1, 2, 9]}))
    with pytest.raises(
        le.LuminousError,
        match=r"which names server 9, not in this cluster \(its servers are 1, 2, 3\)",
    ):
        le.Cluster(servers=3, initial_state={1: state})


def test_a_disk_after_its_power_cut_says_to_power_it_on() -> None:
    disk = le.Disk()
    disk.cut_power_after(0)
    with pytest.raises(BaseException, match="the power of disk was cut"):
        disk.write("a", 1)
    with pytest.raises(
        BaseException, match=r"has no power since its power was cut; call power_on\(\) first"
    ):
        disk.write("a", 1)
    disk.power_on()
    disk.write("a", 1)
    assert disk.read("a") == 1


def test_a_hand_edited_json_lines_file_is_named_with_how_to_start_over(tmp_path: Any) -> None:
    storage = le.JsonLinesStorage.in_directory(tmp_path)
    c = le.Cluster(servers=3, seed=1, storage=storage)
    assert c.run_until(lambda c: c.leader is not None, 3000)
    edited = tmp_path / "S1.jsonl"
    edited.write_text(edited.read_text() + '{"type": "Nope"}\n')
    again = le.Cluster(servers=3, seed=1, storage=le.JsonLinesStorage.in_directory(tmp_path))
    again.run(10)
    (error,) = [e for e in again.errors if e.server == 1]
    assert re.search(r"line \d+ of .*S1\.jsonl is not a storage message", str(error.error))
    assert "in_directory(..., fresh=True)" in str(error.error)


def test_data_nested_too_deep_is_told_to_flatten_it() -> None:
    c = elected()
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(
        le.DataError, match=r"it is nested more than 100 levels deep .*; flatten it"
    ):
        c.propose(deep)
    still_usable(c)


def test_a_number_too_long_to_print_is_described_not_a_repr_error() -> None:
    c = elected()
    with pytest.raises(le.DataError) as info:
        c.propose(10**5000)
    assert str(info.value).startswith("cannot propose <a whole number of about 5,001 digits>:")
    assert "repr raised" not in str(info.value)
    still_usable(c)


class Touchy:
    """A value that cannot be compared with anything."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("do not compare me")

    __hash__ = object.__hash__


def test_data_that_cannot_be_compared_says_so_without_json_advice_for_pickle() -> None:
    c = le.Cluster(servers=3, seed=1, codec=le.PickleCodec())
    with pytest.raises(le.DataError) as info:
        c.propose(Touchy())
    message = str(info.value)
    assert "it cannot be compared with its copy (RuntimeError: do not compare me)" in message
    assert "Give a value this codec carries and brings back equal to itself." in message
    assert "PickleCodec()) takes most" not in message  # it already uses it
    c.run(100)


# ---------------------------------------------------------------- key-value store


def test_a_ttl_of_zero_asks_for_milliseconds_or_none() -> None:
    store = le.KVStore(servers=3)
    with pytest.raises(le.LuminousError, match=r"ttl_ms=0: give whole milliseconds >= 1, or None"):
        store.client("alice").put("x", "1", ttl_ms=0)
    assert store.client("alice").pending == [] and store.history == []


def test_zero_shards_gives_the_range() -> None:
    with pytest.raises(le.LuminousError, match=r"shards=0: give the number of shards, 1 to 32"):
        le.KVStore(shards=0)


def test_losing_zero_replies_says_what_count_counts() -> None:
    store = le.KVStore(servers=3)
    with pytest.raises(
        le.LuminousError, match=r"lose_next_reply\(count=0\): give how many answers to lose"
    ):
        store.lose_next_reply("alice", 0)
    store.run(100)


def test_store_run_and_run_until_ask_for_milliseconds() -> None:
    store = le.KVStore(servers=3)
    with pytest.raises(
        le.LuminousError, match=r"run\(ms=-1\): give a whole number of milliseconds"
    ):
        store.run(-1)
    with pytest.raises(le.LuminousError, match="max_ms=-1: give a whole number of milliseconds"):
        store.run_until(lambda s: False, max_ms=-1)
    store.run(100)


def test_a_replica_of_a_shard_that_does_not_exist_gives_the_shards() -> None:
    store = le.KVStore(servers=3, shards=2)
    with pytest.raises(le.LuminousError, match=r"shard=5: the shards are 0\.\.1"):
        store.replica(1, shard=5)


def test_a_file_that_is_no_backup_says_what_a_backup_starts_with(tmp_path: Any) -> None:
    junk = tmp_path / "junk.bak"
    junk.write_text("hello")
    with pytest.raises(
        BackupError, match="is not a luminous_edu KV backup \\(it should start with"
    ):
        read_backup(junk)


# --------------------------------------------------------- checkers and explorer


def test_an_operation_whose_input_is_a_word_shows_a_dict_to_give() -> None:
    history = [le.Operation("alice", "get x", {"value": None}, 0, 1)]
    with pytest.raises(le.LuminousError, match=r"its input should be a dict such as \{'op': 'get'"):
        le.check_linearizable(history)


def test_an_explorer_depth_past_forty_gives_the_range() -> None:
    with pytest.raises(le.LuminousError, match="bfs_depth=41: give a whole number from 1 to 40"):
        le.explore(servers=3, strategy="bfs", bfs_depth=41, progress=False)


def test_a_lab_seed_that_is_text_asks_for_a_whole_number() -> None:
    with pytest.raises(le.LuminousError, match="seed='1': the seed must be a whole number"):
        le.labs.run(seed="1")  # type: ignore[arg-type]


# ---------------------------------------------------------------- widgets


def test_a_kv_view_of_a_shard_that_does_not_exist_gives_the_shards() -> None:
    store = le.KVStore(servers=3, shards=2)
    with pytest.raises(ValueError, match=r"shard=2: the shards are 0\.\.1, or None for all"):
        store.show(shard=2)
    store.run(100)


def test_a_kv_view_of_a_cluster_asks_for_a_store() -> None:
    with pytest.raises(TypeError, match=r"KVView needs a le\.KVStore, not <Cluster"):
        KVView(le.Cluster(servers=3))  # type: ignore[arg-type]


def test_a_table_view_with_zero_log_columns_asks_for_a_whole_number() -> None:
    c = elected()
    with pytest.raises(le.LuminousError, match="log_columns must be a whole number >= 1, not 0"):
        le.TableView(c, log_columns=0)
    still_usable(c)


def test_a_dashboard_with_an_unknown_panel_lists_the_panels() -> None:
    with pytest.raises(ValueError, match=r"panels: unknown \['map'\]; choose from \["):
        le.Dashboard(le.Cluster(servers=3), panels=["map"])


def test_a_history_cursor_that_is_not_a_time_says_what_to_give() -> None:
    with pytest.raises(ValueError, match=r"give a virtual time in ms \(a finite number\), or None"):
        HistoryView([], cursor=float("nan"))
    view = HistoryView([])
    with pytest.raises(ValueError, match=r"cursor time 'x': give a virtual time in ms"):
        view.show_time("x")  # type: ignore[arg-type]
    view.show_time(5)
    assert view.cursor == 5


@pytest.fixture(scope="module")
def board() -> Any:
    board = le.Dashboard(le.Cluster(servers=3, seed=1))
    board._ensure_panel("network")
    board._ensure_panel("manual")
    return board


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "write the groups, e.g. 1,2 | 3,4,5"),
        ("1,2 | x", "'x' is not a server id: write the groups, e.g. 1,2 | 3,4,5"),
    ],
)
def test_partition_groups_the_dashboard_cannot_read_say_how_to_write_them(
    board: Any, text: str, words: str
) -> None:
    board.groups.value = text
    board.on_partition()
    assert words in board.notice_of("network")
    assert board.cluster.partition_groups is None or not board.cluster.partition_groups


def test_fire_and_drop_with_nothing_picked_ask_to_pick_an_event(board: Any) -> None:
    board.pending.value = None
    board.on_fire()
    assert "pick a pending event first" in board.notice_of("manual")
    board.on_drop()
    assert "pick a pending message first" in board.notice_of("manual")


# ------------------------------------------------------- more storage, data, backups


def test_a_function_storage_with_nothing_registered_stops_its_server_saying_what_to_write() -> None:
    c = le.Cluster(servers=3, seed=1, storage=le.FunctionStorage(name="store"))
    c.run(10)
    messages = {str(e.error) for e in c.errors}
    assert (
        "store has no save_hard_state(disk, msg), save_log(disk, msg), truncate_log(disk, msg) "
        "and load_state(disk) yet: write each "
        "as a function and register it with a decorator: `@store.save_hard_state` on the line "
        "above `def save_hard_state(disk, msg):`"
    ) in messages


def test_a_handler_class_without_save_log_is_told_what_save_log_stores() -> None:
    class Half(le.StorageHandler):
        def save_hard_state(self, msg: Any) -> None:
            pass

        def load_state(self) -> le.StoredState:
            return le.StoredState(0, None, [])

    c = le.Cluster(servers=3, seed=1, storage=Half)
    c.run(2000)
    told = (
        "Half has no save_log(self, msg): write one that stores (msg.term, msg.data) at "
        "msg.index on self.disk and syncs"
    )
    assert told in {str(e.error) for e in c.errors}


def test_data_the_pickle_codec_cannot_encode_names_the_codec_and_the_error() -> None:
    c = le.Cluster(servers=3, seed=1, codec=le.PickleCodec())
    with pytest.raises(
        le.DataError,
        match=r"the pickle codec cannot encode it \(TypeError: cannot pickle 'generator' object\)",
    ):
        c.propose(x for x in "ab")
    c.run(100)


class ForgetfulCodec:
    """A student's codec whose decode cannot read what encode wrote."""

    name = "forgetful"

    def encode(self, value: Any) -> str:
        return json.dumps(value)

    def decode(self, blob: str) -> Any:
        raise KeyError("no idea")


def test_a_codec_that_cannot_decode_its_own_output_is_named() -> None:
    c = le.Cluster(servers=3, seed=1, codec=ForgetfulCodec())
    with pytest.raises(
        le.DataError, match=r"the forgetful codec cannot decode it again \(KeyError: 'no idea'\)"
    ):
        c.propose("x")
    c.run(100)


def test_a_kv_value_with_the_stores_own_key_is_refused() -> None:
    from luminous_edu.kv.commands import TAG

    store = le.KVStore(servers=3)
    with pytest.raises(le.DataError, match=f"the key '{TAG}' is reserved for the store's commands"):
        store.client("alice").put("x", {TAG: 1})
    assert store.history == []


def test_a_backup_directory_missing_a_shard_says_to_restore_from_every_shard(
    tmp_path: Any,
) -> None:
    import shutil

    from luminous_edu.kv.scenarios import settle

    store = le.KVStore(servers=3, shards=2, seed=3, backup_dir=tmp_path, snapshot_threshold=4)
    a = store.client("alice")
    settle(store, *[a.put(f"k{i}", str(i)) for i in range(10)])
    store.run(200)
    shutil.rmtree(tmp_path / "shard-1")
    with pytest.raises(
        BackupError, match="holds backups of 1 of the store's 2 shards; restore from the directory"
    ):
        le.KVStore.restore(tmp_path)


def test_a_hidden_bug_answer_missing_one_asks_which() -> None:
    result = ex.check("04.hidden_without_faults", set())
    assert "one is missing: which bug does harm only when unsynced writes can be lost?" in (
        result.message
    )
