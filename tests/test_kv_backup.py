"""KVStore backups: every snapshot copied to a real directory, verified before a restore,
and a restore in another process (a kernel restart)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import luminous_edu as le
from luminous_edu.kv import BackupError, latest_backups, read_backup
from luminous_edu.kv.scenarios import settle


def filled_store(directory: Path, shards: int = 1) -> le.KVStore:
    store = le.KVStore(servers=3, shards=shards, seed=3, backup_dir=directory, snapshot_threshold=4)
    a = store.client("alice")
    settle(store, *[a.put(f"k{i}", str(i)) for i in range(10)], a.put("t", "x", ttl_ms=4000))
    store.run(200)
    return store


def test_each_snapshot_is_backed_up_and_the_newest_few_are_kept(tmp_path: Path) -> None:
    store = le.KVStore(servers=3, seed=3, backup_dir=tmp_path, snapshot_threshold=2, backups_kept=2)
    a = store.client("alice")
    settle(store, *[a.append("log", str(i)) for i in range(12)])
    store.run(200)
    files = sorted((tmp_path / "shard-0").iterdir())
    assert len(store.backups) >= 4 and len(files) == 2
    assert files == sorted(store.backups[-2:])
    newest = read_backup(files[-1])
    assert (
        newest.state["data"]["log"]
        == "".join(str(i) for i in range(12))[: len(newest.state["data"]["log"])]
    )
    assert newest.state["sessions"]["alice"][0] == newest.state["index"] - 1  # after the no-op
    assert not list(tmp_path.rglob("*.tmp"))  # written aside, then renamed into place


def test_a_store_restored_from_its_backups(tmp_path: Path) -> None:
    store = filled_store(tmp_path, shards=2)
    backups = latest_backups(tmp_path)
    assert [b.shard for b in backups] == [0, 1] and all(b.shards == 2 for b in backups)
    restored = le.KVStore.restore(tmp_path)
    assert restored.shards == 2 and restored.generation == 1 and restored.now == 0
    saved = {k: v for b in backups for k, v in b.state["data"].items()}
    c = restored.client("carol")
    gets = {key: c.get(key) for key in sorted(saved)}
    settle(restored, *gets.values())
    assert {key: h.value for key, h in gets.items()} == saved
    assert set(saved) <= set(store.contents(1))  # a backup holds what the store held then
    assert restored.check().ok  # the checker starts from the restored values


def test_a_restored_key_keeps_the_time_it_had_left(tmp_path: Path) -> None:
    filled_store(tmp_path)
    (backup,) = latest_backups(tmp_path)
    left = backup.state["expires"]["t"] - backup.state["clock"]
    restored = le.KVStore.restore(tmp_path)
    c = restored.client("carol")
    before = c.get("t")
    settle(restored, before)
    restored.run(left - restored.now + 1)
    after = c.get("t")
    settle(restored, after)
    assert (before.value, after.value) == ("x", None)
    assert restored.check().ok


def test_a_client_continues_its_numbering_after_a_restore(tmp_path: Path) -> None:
    filled_store(tmp_path)
    (backup,) = latest_backups(tmp_path)
    restored = le.KVStore.restore(tmp_path)
    h = restored.client("alice").put("k0", "new")
    assert h.seq == backup.state["sessions"]["alice"][0] + 1
    settle(restored, h)
    get = restored.client("alice").get("k0")
    settle(restored, get)
    assert get.value == "new"  # not mistaken for an old, already applied command


def test_a_tampered_backup_is_refused(tmp_path: Path) -> None:
    filled_store(tmp_path)
    newest = sorted((tmp_path / "shard-0").iterdir())[-1]
    newest.write_bytes(newest.read_bytes().replace(b'"k1":"1"', b'"k1":"9"'))
    with pytest.raises(BackupError, match="changed after it was written") as refused:
        le.KVStore.restore(tmp_path)
    assert "remove it to restore from an older one" in str(refused.value)


def test_a_truncated_backup_is_refused(tmp_path: Path) -> None:
    filled_store(tmp_path)
    newest = sorted((tmp_path / "shard-0").iterdir())[-1]
    newest.write_bytes(newest.read_bytes()[:-20])
    with pytest.raises(BackupError, match="is truncated"):
        le.KVStore.restore(tmp_path)
    newest.write_bytes(newest.read_bytes()[:30])  # cut inside the header
    with pytest.raises(BackupError, match="cut short inside its header"):
        le.KVStore.restore(newest)


def test_what_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no backup directory"):
        le.KVStore.restore(tmp_path / "nowhere")
    with pytest.raises(BackupError, match="holds no backups"):
        le.KVStore.restore(tmp_path)
    filled_store(tmp_path, shards=2)
    with pytest.raises(le.LuminousError, match="has 2 shards"):
        le.KVStore.restore(tmp_path, shards=3)
    for path in (tmp_path / "shard-1").iterdir():
        path.unlink()
    with pytest.raises(BackupError, match="no backup of shard 1"):
        le.KVStore.restore(tmp_path)
    one = sorted((tmp_path / "shard-0").iterdir())[-1]
    with pytest.raises(BackupError, match="shard 0 of 2"):
        le.KVStore.restore(one)


def test_a_backup_survives_a_kernel_restart(tmp_path: Path) -> None:
    """One Python process fills a store and exits; a new one restores from the files."""
    write = textwrap.dedent(
        f"""
        import luminous_edu as le
        store = le.KVStore(servers=3, seed=5, backup_dir={str(tmp_path)!r}, snapshot_threshold=3)
        a = store.client("alice")
        hs = [a.put("k" + str(i), [i, "v"]) for i in range(8)] + [a.append("s", "abc")]
        assert store.run_until(lambda s: all(h.done for h in hs), 20000)
        store.run(300)
        print(len(store.backups))
        """
    )
    read = textwrap.dedent(
        f"""
        import json, luminous_edu as le
        store = le.KVStore.restore({str(tmp_path)!r})
        c = store.client("carol")
        hs = {{k: c.get(k) for k in ["k0", "k3", "k5", "s", "none"]}}
        assert store.run_until(lambda s: all(h.done for h in hs.values()), 20000)
        print(json.dumps({{k: h.value for k, h in hs.items()}}))
        """
    )
    first = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert int(first.stdout) >= 2
    second = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    (backup,) = latest_backups(tmp_path)
    expected = {k: backup.state["data"].get(k) for k in ["k0", "k3", "k5", "s", "none"]}
    assert json.loads(second.stdout) == expected
    assert expected["k0"] == [0, "v"] and expected["none"] is None
