"""The storage-handler API students write against: ``StorageHandler`` and its
messages, ``FunctionStorage``, codecs, and the built-in handlers (DESIGN.md "Storage
handlers"; the seed's ``SaveLog`` handled by a user ``Handler``)."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import luminous_edu as le
from luminous_edu.storage import GALLERY, copy_value
from luminous_edu.storage.jsonlines import JsonLinesStorage

MESSAGES = [
    le.SaveHardState(current_term=2, voted_for=1),
    le.SaveLog(term=2, index=1, data="x"),
    le.TruncateLog(from_index=1),
    le.LoadState(),
]


class Recorder(le.StorageHandler):
    def __init__(self, disk: le.Disk) -> None:
        super().__init__(disk)
        self.calls: list[tuple[str, Any]] = []

    def save_hard_state(self, msg: le.SaveHardState) -> None:
        self.calls.append(("save_hard_state", msg))

    def save_log(self, msg: le.SaveLog) -> None:
        self.calls.append(("save_log", msg))

    def truncate_log(self, msg: le.TruncateLog) -> None:
        self.calls.append(("truncate_log", msg))

    def load_state(self) -> le.StoredState:
        self.calls.append(("load_state", None))
        return le.StoredState(0, None, [])


# ------------------------------------------------------- StorageHandler


def test_handle_dispatches_each_message_to_its_method() -> None:
    handler = Recorder(le.Disk())
    results = [handler.handle(m) for m in MESSAGES]
    assert [name for name, _ in handler.calls] == [
        "save_hard_state",
        "save_log",
        "truncate_log",
        "load_state",
    ]
    assert [msg for _, msg in handler.calls[:3]] == MESSAGES[:3]
    assert results == [None, None, None, le.StoredState(0, None, [])]


@pytest.mark.parametrize(
    "wrong",
    [
        {"term": 1, "index": 1, "data": "x"},
        (1, 1, "x"),  # a plain tuple is not a SaveLog
        None,
        le.Entry(1, 1, "x"),
        "SaveLog",
    ],
)
def test_handle_refuses_what_is_not_a_storage_message(wrong: Any) -> None:
    handler = Recorder(le.Disk())
    with pytest.raises(TypeError) as caught:
        handler.handle(wrong)
    text = str(caught.value)
    assert "Recorder.handle()" in text
    assert type(wrong).__name__ in text
    for name in ("SaveHardState", "SaveLog", "TruncateLog", "LoadState"):
        assert name in text
    assert handler.calls == []


@pytest.mark.parametrize("message", MESSAGES)
def test_a_method_not_written_raises_naming_it(message: Any) -> None:
    class Empty(le.StorageHandler):
        pass

    method = {
        le.SaveHardState: "save_hard_state",
        le.SaveLog: "save_log",
        le.TruncateLog: "truncate_log",
        le.LoadState: "load_state",
    }[type(message)]
    with pytest.raises(NotImplementedError, match=f"Empty has no {method}"):
        Empty(le.Disk()).handle(message)


def test_the_docstrings_say_the_bounds_and_what_must_be_durable() -> None:
    """What a student reads with ``le.StorageHandler.truncate_log?``."""
    docs = {
        name: getattr(le.StorageHandler, name).__doc__
        for name in ("save_hard_state", "save_log", "truncate_log", "load_state")
    }
    assert "index is ``>= msg.from_index``" in docs["truncate_log"]
    assert "inclusive" in docs["truncate_log"]
    assert "keeps 1 and 2" in docs["truncate_log"]
    assert "§5.3" in docs["truncate_log"]
    assert "together" in docs["save_hard_state"]
    assert "updated on" in docs["save_hard_state"] and "Figure 2" in docs["save_hard_state"]
    assert "from 1" in docs["save_log"] and "replace it" in docs["save_log"]
    assert "Durable when this returns" in docs["save_log"]
    assert "StoredState(0, None, [])" in docs["load_state"]
    assert "sync()" in (le.StorageHandler.__doc__ or "")


def test_the_example_in_the_class_docstring_is_a_start_not_lesson_04s_answer() -> None:
    """The docstring shows the contract and a start; lesson 04 asks for the rest."""
    doc = le.StorageHandler.__doc__ or ""
    source = doc[doc.index("class MyStorage") : doc.index("A key per entry")]
    lines = source.rstrip().splitlines()
    code = "\n".join([lines[0], *(line[8:] for line in lines[1:])])
    namespace: dict[str, Any] = {"le": le}
    exec(compile(ast.parse(code), "<docstring>", "exec"), namespace)
    start = namespace["MyStorage"]
    disk = le.Disk("docstring", faults="unsynced")
    start(disk).handle(le.SaveHardState(current_term=3, voted_for=2))
    disk.crash()
    assert disk.read("hard_state") == (3, 2)  # what it does write, it writes durably
    assert not le.exercises.check("04.storage_class", start).passed


# ------------------------------------------------------ FunctionStorage


def correct_function_storage() -> le.FunctionStorage:
    """The short notebook form of a correct handler, keys as in DESIGN's example."""
    store = le.FunctionStorage()

    @store.save_hard_state
    def save_hard_state(disk: le.Disk, msg: le.SaveHardState) -> None:
        disk.write("hard_state", (msg.current_term, msg.voted_for))
        disk.sync()

    @store.save_log
    def save_log(disk: le.Disk, msg: le.SaveLog) -> None:
        disk.write(f"log/{msg.index}", (msg.term, msg.data))
        disk.sync()

    @store.truncate_log
    def truncate_log(disk: le.Disk, msg: le.TruncateLog) -> None:
        for key in disk.keys():
            if key.startswith("log/") and int(key[4:]) >= msg.from_index:
                disk.delete(key)
        disk.sync()

    @store.load_state
    def load_state(disk: le.Disk) -> le.StoredState:
        term, vote = disk.read("hard_state", (0, None))
        keys = sorted((k for k in disk.keys() if k.startswith("log/")), key=lambda k: int(k[4:]))
        return le.StoredState(term, vote, [le.Entry(int(k[4:]), *disk.read(k)) for k in keys])

    return store


def test_the_decorators_register_and_return_the_function() -> None:
    store = le.FunctionStorage()

    def save_log(disk: le.Disk, msg: le.SaveLog) -> None:
        pass

    assert store.save_log(save_log) is save_log
    assert store.functions["save_log"] is save_log
    assert store.missing() == ["save_hard_state", "truncate_log", "load_state"]


def test_a_function_storage_builds_a_handler_that_calls_the_functions() -> None:
    store = correct_function_storage()
    disk = le.Disk()
    handler = store(disk)
    assert isinstance(handler, le.StorageHandler)
    assert handler.disk is disk
    handler.handle(le.SaveHardState(current_term=3, voted_for=2))
    handler.handle(le.SaveLog(term=3, index=1, data="x=1"))
    assert disk.contents() == {"hard_state": (3, 2), "log/1": (3, "x=1")}
    assert handler.handle(le.LoadState()) == le.StoredState(3, 2, [le.Entry(1, 3, "x=1")])


def test_functions_can_be_given_by_keyword_and_registered_again() -> None:
    calls: list[str] = []
    store = le.FunctionStorage(
        save_hard_state=lambda disk, msg: calls.append("first"),
        save_log=lambda disk, msg: None,
        truncate_log=lambda disk, msg: None,
        load_state=lambda disk: le.StoredState(),
        name="mine",
    )
    store.save_hard_state(lambda disk, msg: calls.append("second"))  # a cell run again
    store(le.Disk()).handle(le.SaveHardState(1, None))
    assert calls == ["second"]
    assert "mine(" in repr(store)


def test_missing_functions_are_named_when_the_handler_is_built() -> None:
    store = le.FunctionStorage()

    @store.save_log
    def save_log(disk: le.Disk, msg: le.SaveLog) -> None:
        pass

    with pytest.raises(NotImplementedError) as caught:
        store(le.Disk())
    text = str(caught.value)
    for name in ("save_hard_state(disk, msg)", "truncate_log(disk, msg)", "load_state(disk)"):
        assert name in text
    assert "save_log(disk" not in text
    assert "@store.save_hard_state" in text


def test_a_function_with_the_wrong_parameters_is_refused_at_once() -> None:
    store = le.FunctionStorage()
    with pytest.raises(TypeError, match=r"load_state must take \(disk\)"):

        @store.load_state
        def load_state(disk: le.Disk, msg: Any) -> None:
            pass

    with pytest.raises(TypeError, match=r"save_log must take \(disk, msg\)"):
        store.save_log(lambda msg: None)
    with pytest.raises(TypeError, match="registers a function"):
        store.truncate_log("not a function")  # type: ignore[type-var]
    assert store.missing() == ["save_hard_state", "save_log", "truncate_log", "load_state"]


def test_a_function_storage_runs_a_cluster() -> None:
    cluster = le.Cluster(servers=3, seed=1, storage=correct_function_storage())
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    leader = cluster.leader
    assert leader is not None
    assert cluster.propose("x=1").accepted
    cluster.run(500)
    assert all(cluster.applied(i) == [(2, "x=1")] for i in cluster.ids)
    assert cluster.errors == []


# --------------------------------------------------------------- codecs


@dataclasses.dataclass(frozen=True)
class Move:
    piece: str
    to: tuple[int, int]


@dataclasses.dataclass
class Account:
    owner: str
    balance: int = 0
    history: list[int] = dataclasses.field(default_factory=list)


class ReprCodec:
    """A user codec: Python literals as text (tuples and sets survive, unlike JSON)."""

    name = "repr"

    def encode(self, value: Any) -> str:
        text = repr(value)
        ast.literal_eval(text)  # refuses what is not a literal
        return text

    def decode(self, blob: Any) -> Any:
        return ast.literal_eval(blob)


JSON_VALUES = [
    0,
    -7,
    2**70,
    1.5,
    "x=1",
    "",
    "ünïcode",
    None,
    True,
    [1, [2, "3"]],
    {"k": {"n": [1]}},
]


@pytest.mark.parametrize("value", JSON_VALUES)
def test_the_json_codec_round_trips_json_values(value: Any) -> None:
    codec = le.JsonCodec()
    back = codec.decode(codec.encode(value))
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize(
    ("value", "comes_back_as"),
    [((1, 2), [1, 2]), ({1: "a"}, {"1": "a"}), ([(1, "x")], [[1, "x"]])],
)
def test_the_json_codec_changes_tuples_and_int_keys_so_the_cluster_refuses_them(
    value: Any, comes_back_as: Any
) -> None:
    codec = le.JsonCodec()
    back = codec.decode(codec.encode(value))
    assert back == comes_back_as
    assert back != value  # the cluster compares, and refuses the proposal


@pytest.mark.parametrize("value", [{1, 2}, Move("k", (1, 2)), float("nan"), object()])
def test_the_json_codec_cannot_encode_other_values(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        le.JsonCodec().encode(value)


@pytest.mark.parametrize(
    "value",
    [
        42,
        "x=1",
        (1, "two", (3.0,)),
        {"k": (1, 2), 3: {4, 5}},
        Move("knight", (2, 3)),
        Account("ann", 5, [1, 2]),
        [Move("a", (0, 0)), {"nested": Account("bo")}],
    ],
)
def test_the_pickle_codec_round_trips_python_values_and_dataclasses(value: Any) -> None:
    codec = le.PickleCodec()
    back = codec.decode(codec.encode(value))
    assert back == value and type(back) is type(value)


def test_a_dataclass_copied_by_the_pickle_codec_shares_nothing() -> None:
    account = Account("ann", 5, [1])
    copy = copy_value(le.PickleCodec(), account)
    account.history.append(2)
    assert copy == Account("ann", 5, [1])


@pytest.mark.parametrize("value", [(1, 2), {"a": (1, {2, 3})}, [None, True, "s"]])
def test_a_user_codec_round_trips(value: Any) -> None:
    codec = ReprCodec()
    assert codec.decode(codec.encode(value)) == value


def test_a_user_codec_carries_tuples_through_a_cluster() -> None:
    cluster = le.Cluster(servers=3, seed=2, codec=ReprCodec())
    assert cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    assert cluster.propose(("move", (2, 3))).accepted
    cluster.run(500)
    assert cluster.applied(1) == [(2, ("move", (2, 3)))]


def test_copy_value_returns_atoms_as_they_are_and_copies_the_rest() -> None:
    codec = le.JsonCodec()
    for atom in (1, "s", None, True, 2.5):
        assert copy_value(codec, atom) is atom
    value = {"k": [1]}
    copy = copy_value(codec, value)
    assert copy == value and copy is not value and copy["k"] is not value["k"]


# ------------------------------------------------------ built-in handlers


def test_volatile_storage_works_while_running_and_forgets_everything_on_restart() -> None:
    disk = le.Disk()
    handler = le.VolatileStorage(disk)
    handler.handle(le.SaveHardState(4, 2))
    handler.handle(le.SaveLog(term=4, index=1, data={"k": 1}))
    assert handler.handle(le.LoadState()) == le.StoredState(4, 2, [le.Entry(1, 4, {"k": 1})])
    assert disk.keys() == []  # nothing ever reached the Disk
    restarted = le.VolatileStorage(disk)
    assert restarted.handle(le.LoadState()) == le.StoredState(0, None, [])


def test_disk_storage_keeps_term_and_vote_in_one_write() -> None:
    disk = le.Disk()
    le.DiskStorage(disk).handle(le.SaveHardState(current_term=5, voted_for=3))
    assert disk.contents() == {"hard_state/b": (1, 5, 3)}  # (version, term, vote)
    assert disk.writes == 1


def test_the_gallery_holds_the_six_bugs_each_a_storage_handler_with_its_story() -> None:
    assert sorted(GALLERY) == [
        "CompactsBeforeSnapshot",
        "ForgetsVote",
        "IgnoresTruncate",
        "MemoryLog",
        "NeverSyncs",
        "TermAfterVote",
    ]
    for name, cls in GALLERY.items():
        assert cls.__name__ == name
        assert issubclass(cls, le.StorageHandler)
        assert (cls.__doc__ or "").startswith("Bug:"), name


# ----------------------------------------------------- JsonLinesStorage


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_json_lines_appends_one_record_per_message(tmp_path: Path) -> None:
    factory = le.JsonLinesStorage.in_directory(tmp_path)
    handler = factory(le.Disk("S3's disk", server_id=3))
    handler.handle(le.SaveHardState(current_term=2, voted_for=1))
    handler.handle(le.SaveLog(term=2, index=1, data={"set": "x"}))
    handler.handle(le.TruncateLog(from_index=1))
    assert factory.files() == [tmp_path / "S3.jsonl"]
    assert lines_of(tmp_path / "S3.jsonl") == [
        {"message": "SaveHardState", "current_term": 2, "voted_for": 1},
        {"message": "SaveLog", "term": 2, "index": 1, "data": {"set": "x"}},
        {"message": "TruncateLog", "from_index": 1},
    ]


def test_json_lines_survives_a_kernel_restart(tmp_path: Path) -> None:
    """A new factory, a new Disk, a new handler: only the file connects them."""
    before = le.JsonLinesStorage.in_directory(tmp_path / "run")(le.Disk(server_id=1))
    for message in [
        le.SaveHardState(3, 2),
        le.SaveLog(term=1, index=1, data="a"),
        le.SaveLog(term=3, index=2, data="b"),
        le.SaveLog(term=3, index=3, data="c"),
        le.TruncateLog(from_index=3),
    ]:
        before.handle(message)
    after = le.JsonLinesStorage.in_directory(tmp_path / "run")(le.Disk(server_id=1))
    assert after.handle(le.LoadState()) == le.StoredState(
        3, 2, [le.Entry(1, 1, "a"), le.Entry(2, 3, "b")]
    )
    other = le.JsonLinesStorage.in_directory(tmp_path / "run")(le.Disk(server_id=2))
    assert other.handle(le.LoadState()) == le.StoredState(0, None, [])


def test_json_lines_drops_a_last_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    handler = JsonLinesStorage(le.Disk(server_id=1), tmp_path)
    handler.handle(le.SaveHardState(1, None))
    with open(tmp_path / "S1.jsonl", "ab") as file:
        file.write(b'{"message": "SaveHardState", "current_ter')  # the crash
    assert handler.handle(le.LoadState()) == le.StoredState(1, None, [])
    handler.handle(le.SaveHardState(2, 1))  # appends after the repaired end
    assert handler.handle(le.LoadState()) == le.StoredState(2, 1, [])


def test_json_lines_refuses_a_corrupt_file(tmp_path: Path) -> None:
    handler = JsonLinesStorage(le.Disk(server_id=1), tmp_path)
    (tmp_path / "S1.jsonl").write_text("not json\n{}\n")
    with pytest.raises(le.StorageError, match=r"line 1 .* is not JSON"):
        handler.handle(le.LoadState())


@pytest.mark.parametrize("data", [(1, 2), {1: "a"}, {"s": {1, 2}}, float("inf")])
def test_json_lines_refuses_data_json_would_change(tmp_path: Path, data: Any) -> None:
    handler = JsonLinesStorage(le.Disk(server_id=1), tmp_path)
    with pytest.raises(le.StorageError, match="JsonLinesStorage cannot store"):
        handler.handle(le.SaveLog(term=1, index=1, data=data))
    assert handler.handle(le.LoadState()) == le.StoredState(0, None, [])


def test_json_lines_needs_a_directory_and_names_files_without_a_server_id(
    tmp_path: Path,
) -> None:
    with pytest.raises(le.StorageError, match="in_directory"):
        le.JsonLinesStorage(le.Disk())
    handler = le.JsonLinesStorage(le.Disk("S1's disk"), tmp_path)
    assert handler.path == tmp_path / "S1_s_disk.jsonl"


def test_json_lines_fresh_starts_over(tmp_path: Path) -> None:
    factory = le.JsonLinesStorage.in_directory(tmp_path)
    factory(le.Disk(server_id=1)).handle(le.SaveHardState(7, None))
    (tmp_path / "notes.txt").write_text("kept")
    le.JsonLinesStorage.in_directory(tmp_path, fresh=True)
    assert factory.files() == []
    assert (tmp_path / "notes.txt").exists()
    assert repr(factory) == f"JsonLinesStorage.in_directory({str(tmp_path)!r})"


def test_json_lines_runs_a_cluster_and_a_second_cluster_recovers_its_log(
    tmp_path: Path,
) -> None:
    storage = le.JsonLinesStorage.in_directory(tmp_path)
    first = le.Cluster(servers=3, seed=4, storage=storage)
    assert first.run_until(lambda c: c.leader is not None, max_ms=5_000)
    assert first.propose("x=1").accepted
    first.run(500)
    logs = {i: list(first.servers[i].log) for i in first.ids}
    assert all(any(e.data == "x=1" for e in log) for log in logs.values())
    terms = {i: first.servers[i].current_term for i in first.ids}
    # A new cluster in a new kernel would do the same: only the files connect them.
    second = le.Cluster(servers=3, seed=5, storage=le.JsonLinesStorage.in_directory(tmp_path))
    for i in second.ids:
        assert list(second.servers[i].log)[: len(logs[i])] == logs[i]
        assert second.servers[i].current_term >= terms[i]
    assert second.errors == []


# ------------------------------------------------------------- exports


def test_the_storage_names_are_exported_from_le() -> None:
    for name in (
        "StorageHandler",
        "FunctionStorage",
        "DiskStorage",
        "VolatileStorage",
        "JsonLinesStorage",
        "check_storage",
        "StorageReport",
        "StorageError",
        "TornWriteError",
        "Disk",
    ):
        assert name in le.__all__
        assert hasattr(le, name)
