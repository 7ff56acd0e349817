"""The simulated Disk: copies in and out, the three fault modes, power cuts, the table.

DESIGN.md "Storage handlers": durable data lives only on the Disk; "with disk faults
switched on, writes not yet ``sync``ed are lost on a crash"; ``torn`` leaves the last
unsynced write garbled.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import luminous_edu as le
from luminous_edu.storage import PowerLoss

# ------------------------------------------------------------ the basics


def test_a_write_stores_a_copy_and_a_read_returns_a_fresh_one() -> None:
    disk = le.Disk()
    value = {"k": [1, 2]}
    disk.write("a", value)
    value["k"].append(3)  # the caller changes its object after the write
    assert disk.read("a") == {"k": [1, 2]}
    first = disk.read("a")
    first["k"].clear()  # and changes what it read
    assert disk.read("a") == {"k": [1, 2]}
    assert disk.read("a") is not disk.read("a")


def test_read_gives_the_default_for_a_missing_key_and_delete_ignores_one() -> None:
    disk = le.Disk()
    assert disk.read("missing") is None
    assert disk.read("missing", (0, None)) == (0, None)
    disk.delete("missing")
    assert disk.keys() == []


def test_keys_are_sorted_and_deletes_remove_them() -> None:
    disk = le.Disk()
    for key in ["log/0000000010", "hard_state", "log/0000000002"]:
        disk.write(key, 1)
    assert disk.keys() == ["hard_state", "log/0000000002", "log/0000000010"]
    disk.delete("hard_state")
    assert disk.keys() == ["log/0000000002", "log/0000000010"]
    assert "hard_state" not in disk
    assert len(disk) == 2


@pytest.mark.parametrize("key", [1, None, ("log", 1), b"bytes"])
def test_keys_must_be_strings(key: Any) -> None:
    disk = le.Disk()
    with pytest.raises(le.StorageError, match="keys are strings"):
        disk.write(key, 1)
    with pytest.raises(le.StorageError, match="keys are strings"):
        disk.read(key)
    with pytest.raises(le.StorageError, match="keys are strings"):
        disk.delete(key)


def test_a_value_that_cannot_be_serialized_is_refused_with_a_storage_error() -> None:
    disk = le.Disk("S1's disk")
    with pytest.raises(le.StorageError, match="S1's disk cannot store"):
        disk.write("f", lambda: 1)
    assert disk.keys() == []


def test_an_unknown_fault_mode_is_refused() -> None:
    with pytest.raises(le.LuminousError, match="'sometimes' is not a fault mode"):
        le.Disk(faults="sometimes")


def test_a_disk_may_know_its_server_id() -> None:
    assert le.Disk().server_id is None
    assert le.Disk("S3's disk", None, server_id=3).server_id == 3
    with pytest.raises(le.LuminousError, match="server_id"):
        le.Disk(server_id="S3")  # type: ignore[arg-type]


def test_a_clone_is_independent() -> None:
    disk = le.Disk(faults="unsynced")
    disk.write("a", 1)
    twin = disk.clone()
    twin.write("b", 2)
    disk.crash()
    assert disk.keys() == []
    assert twin.keys() == ["a", "b"]


# --------------------------------------------------------------- faults


def test_without_faults_every_write_and_delete_survives_a_crash() -> None:
    disk = le.Disk(faults=None)
    disk.write("kept", 1)
    disk.sync()
    disk.write("written", 2)
    disk.delete("kept")
    assert disk.unsynced_keys == []  # nothing is ever waiting: writes are durable at once
    disk.crash()
    assert disk.contents() == {"written": 2}


def test_unsynced_mode_loses_unsynced_writes_and_deletes() -> None:
    disk = le.Disk(faults="unsynced")
    disk.write("synced", 1)
    disk.write("overwritten", "old")
    disk.write("deleted", "still here")
    disk.sync()
    disk.write("new", 2)
    disk.write("overwritten", "new")
    disk.delete("deleted")
    disk.write("brief", 3)
    disk.delete("brief")
    assert disk.unsynced_keys == ["brief", "deleted", "new", "overwritten"]
    disk.crash()
    assert disk.contents() == {"deleted": "still here", "overwritten": "old", "synced": 1}
    assert disk.unsynced_keys == []


def test_unsynced_mode_keeps_everything_synced() -> None:
    disk = le.Disk(faults="unsynced")
    disk.write("a", 1)
    disk.delete("a")
    disk.write("b", 2)
    disk.sync()
    assert disk.unsynced_keys == []
    disk.crash()
    assert disk.contents() == {"b": 2}


def test_torn_mode_garbles_the_last_unsynced_write_and_loses_the_earlier_ones() -> None:
    disk = le.Disk(faults="torn")
    disk.write("synced", 1)
    disk.write("earlier", "old")
    disk.sync()
    disk.write("earlier", "new")
    disk.write("lost", 2)
    disk.write("last", 3)
    disk.crash()
    assert disk.read("synced") == 1
    assert disk.read("earlier") == "old"
    assert "lost" not in disk
    assert "last" in disk.keys()
    with pytest.raises(le.TornWriteError, match=r"'last'.*torn"):
        disk.read("last")
    assert disk.contents()["last"] == "<torn>"


def test_a_torn_overwrite_of_a_synced_key_is_torn_too() -> None:
    disk = le.Disk(faults="torn")
    disk.write("hard_state", (1, None))
    disk.sync()
    disk.write("hard_state", (2, 3))
    disk.crash()
    with pytest.raises(le.TornWriteError):
        disk.read("hard_state")


def test_in_torn_mode_a_last_unsynced_delete_is_simply_lost() -> None:
    disk = le.Disk(faults="torn")
    disk.write("a", 1)
    disk.write("b", 2)
    disk.sync()
    disk.write("c", 3)
    disk.delete("a")
    disk.crash()
    assert disk.contents() == {"a": 1, "b": 2}


def test_writing_a_torn_key_again_repairs_it() -> None:
    disk = le.Disk(faults="torn")
    disk.write("k", 1)
    disk.crash()
    disk.write("k", 2)
    assert disk.read("k") == 2


def test_a_torn_write_is_a_storage_error() -> None:
    assert issubclass(le.TornWriteError, le.StorageError)


def test_a_crash_with_nothing_unsynced_changes_nothing() -> None:
    for faults in le.storage.FAULT_MODES:
        disk = le.Disk(faults=faults)
        disk.write("a", [1])
        disk.sync()
        disk.crash()
        assert disk.contents() == {"a": [1]}, faults


# ------------------------------------------------------------ power cuts


def test_a_power_cut_crashes_the_disk_at_the_chosen_operation() -> None:
    disk = le.Disk(faults=None)
    disk.cut_power_after(1)
    disk.write("voted_for", 3)  # operation 1 happens
    with pytest.raises(PowerLoss):
        disk.write("current_term", 5)  # operation 2 does not
    assert disk.power_cut
    with pytest.raises(PowerLoss):
        disk.sync()  # nothing works until the power is back
    disk.power_on()
    assert disk.contents() == {"voted_for": 3}


def test_a_power_cut_applies_the_fault_mode() -> None:
    disk = le.Disk(faults="unsynced")
    disk.write("a", 1)
    disk.sync()
    disk.cut_power_after(1)
    disk.write("b", 2)
    with pytest.raises(PowerLoss):
        disk.sync()
    disk.power_on()
    assert disk.contents() == {"a": 1}


def test_a_power_loss_is_not_swallowed_by_except_exception() -> None:
    disk = le.Disk()
    disk.cut_power_after(0)

    def careless_write() -> None:
        # A handler that hides its errors cannot hide a power cut.
        with contextlib.suppress(Exception):
            disk.write("a", 1)

    with pytest.raises(PowerLoss):
        careless_write()


def test_power_cut_counts_must_be_whole_numbers() -> None:
    with pytest.raises(le.LuminousError):
        le.Disk().cut_power_after(-1)


# ----------------------------------------------------------------- table


def _synced_column(disk: le.Disk) -> dict[str, str]:
    return {key: synced for key, _, synced in disk.table().rows}


def test_the_table_shows_each_key_its_value_and_whether_it_is_synced() -> None:
    disk = le.Disk("S2's disk", faults="unsynced")
    disk.write("hard_state", (3, 2))
    disk.write("gone", 1)
    disk.sync()
    disk.write("log/0000000001", (3, "x=1"))
    disk.delete("gone")
    table = disk.table()
    assert table.rows == [
        ("gone", "(deleted)", "no: a crash would bring it back"),
        ("hard_state", "(3, 2)", "yes"),
        ("log/0000000001", "(3, 'x=1')", "no: a crash would lose it"),
    ]
    text = str(table)
    lines = text.splitlines()
    assert lines[0].startswith("S2's disk")
    assert lines[1].split() == ["key", "value", "synced?"]
    # Aligned: every row starts its value column at the same place.
    starts = {line.index("(") for line in lines[3:]}
    assert len(starts) == 1


def test_the_table_marks_torn_values_and_disks_without_faults() -> None:
    disk = le.Disk(faults="torn")
    disk.write("k", 1)
    disk.crash()
    assert _synced_column(disk) == {"k": "torn: read() raises TornWriteError"}
    calm = le.Disk(faults=None)
    calm.write("k", 1)  # never synced, but durable at once
    assert _synced_column(calm) == {"k": "yes"}
    assert "durable at once" in str(calm.table())


def test_the_table_renders_as_escaped_html_for_notebooks() -> None:
    disk = le.Disk("<S1>")
    disk.write("<b>key</b>", "a & b")
    html = disk._repr_html_()
    assert html.startswith("<table")
    assert "&lt;b&gt;key&lt;/b&gt;" in html
    assert "&#x27;a &amp; b&#x27;" in html
    assert "<b>key" not in html
    assert html == disk.table()._repr_html_()


def test_an_empty_disk_says_so_and_long_values_are_cut_short() -> None:
    assert str(le.Disk("d").table()).endswith("empty")
    disk = le.Disk()
    disk.write("big", "x" * 500)
    value = disk.table().rows[0][1]
    assert len(value) <= 60
    assert value.endswith("…")


def test_a_snapshot_torn_while_written_leaves_the_one_before_it() -> None:
    """DiskStorage writes each snapshot under a new key and syncs it before deleting the
    old one, so a power cut inside save_snapshot, with the write torn, loses only the
    snapshot that was never acknowledged (§7: write the new snapshot, then discard)."""
    disk = le.Disk(faults="torn")
    storage = le.DiskStorage(disk)
    first = le.SaveSnapshot(last_index=5, last_term=1, data=["a"], config={"voters": [1]})
    storage.handle(first)
    disk.cut_power_after(1)  # the write happens, its sync does not
    with pytest.raises(PowerLoss):
        storage.handle(le.SaveSnapshot(last_index=9, last_term=2, data=["b"], config={}))
    disk.power_on()
    assert le.DiskStorage(disk).load_state().snapshot == first
    with pytest.raises(le.TornWriteError):
        disk.read("snapshot/0000000009")  # the torn one stays until the next snapshot
    storage = le.DiskStorage(disk)
    storage.handle(le.SaveSnapshot(last_index=12, last_term=2, data=["c"], config={}))
    assert [k for k in disk.keys() if k.startswith("snapshot")] == ["snapshot/0000000012"]


def test_a_hard_state_torn_while_written_leaves_the_pair_before_it() -> None:
    """Figure 2's persistent state is "updated on stable storage before responding to
    RPCs": the pair DiskStorage acknowledged (its sync returned) survives a power cut
    that tears the next one. The torn pair was never acknowledged and is discarded."""
    disk = le.Disk(faults="torn")
    storage = le.DiskStorage(disk)
    storage.handle(le.SaveHardState(current_term=4, voted_for=1))
    disk.cut_power_after(1)  # the write happens, its sync does not
    with pytest.raises(PowerLoss):
        storage.handle(le.SaveHardState(current_term=5, voted_for=3))
    disk.power_on()
    assert "<torn>" in disk.contents().values()
    restarted = le.DiskStorage(disk).load_state()
    assert (restarted.current_term, restarted.voted_for) == (4, 1)
    # The next save writes over the torn slot, and the pair after it is the one loaded.
    le.DiskStorage(disk).handle(le.SaveHardState(current_term=6, voted_for=2))
    assert "<torn>" not in disk.contents().values()
    state = le.DiskStorage(disk).load_state()
    assert (state.current_term, state.voted_for) == (6, 2)


def test_an_entry_torn_while_written_is_left_out_on_load() -> None:
    disk = le.Disk(faults="torn")
    storage = le.DiskStorage(disk)
    storage.handle(le.SaveLog(term=1, index=1, data="x"))
    disk.cut_power_after(1)
    with pytest.raises(PowerLoss):
        storage.handle(le.SaveLog(term=1, index=2, data="y"))  # never acknowledged
    disk.power_on()
    assert le.DiskStorage(disk).load_state().entries == [le.Entry(1, 1, "x")]


def test_disk_storage_keeps_the_hard_state_in_two_slots_in_turn() -> None:
    disk = le.Disk()
    storage = le.DiskStorage(disk)
    storage.handle(le.SaveHardState(current_term=1, voted_for=2))
    storage.handle(le.SaveHardState(current_term=2, voted_for=None))
    assert disk.contents() == {"hard_state/a": (2, 2, None), "hard_state/b": (1, 1, 2)}
    state = storage.load_state()
    assert (state.current_term, state.voted_for) == (2, None)
