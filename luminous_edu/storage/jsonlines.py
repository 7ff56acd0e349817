"""A storage handler on real files: one JSON-lines file per server, surviving a kernel
restart (the seed's "automatic disk backup").

Each storage message becomes one line appended to the server's file and forced to
the physical disk (``os.fsync``) before the call returns, for example::

    {"message": "SaveHardState", "current_term": 2, "voted_for": 1}
    {"message": "SaveLog", "term": 2, "index": 1, "data": "x=1"}
    {"message": "TruncateLog", "from_index": 1}
    {"message": "SaveSnapshot", "last_index": 5, "last_term": 2, "data": [...], "config": {...}}
    {"message": "CompactLog", "through_index": 5}

``load_state`` replays the lines from the top. This is a write-ahead log, the way many
real databases keep their state: appending is the only write, so a crash can at worst
cut the last line short, and a line cut short was never acknowledged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..core.log import Entry
from ..core.persistence import (
    CompactLog,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .codec import CodecError, JsonCodec, carried, shown
from .disk import Disk
from .errors import StorageError
from .handler import StorageHandler

SUFFIX = ".jsonl"


class JsonLinesStorage(StorageHandler):
    """Keeps a server's durable state in a real file, ``<directory>/S3.jsonl``.

    Build it with a directory: ``le.Cluster(storage=le.JsonLinesStorage.in_directory(
    "runs/demo"))``. Every storage message is appended to the server's file as one JSON
    line and ``fsync``ed before the call returns; ``load_state`` replays the file. A
    new cluster (even after a kernel restart) over the same directory starts from
    what the files hold; ``in_directory(..., fresh=True)`` starts over.

    Limits, because the files are real:

    - ``cluster.rewind`` and ``cluster.seek`` cannot rewind a file, so a cluster
      using this handler refuses them (``rewindable = False``). Rewind with the default
      ``DiskStorage``.
    - Disk fault modes (``disk_faults=``) do not apply: this handler never writes to
      the simulated Disk, and what ``fsync`` made durable survives a crash.
    - Entry data must be JSON values (the default codec's): anything JSON would change
      (tuples, dicts with non-string keys) raises ``StorageError``.
    - The file only grows, even with log compaction: ``CompactLog`` is one more line.
      A real system would start a new file from the snapshot now and then (§7).
    """

    #: Real files cannot be rewound: the cluster refuses rewind and seek.
    rewindable = False

    def __init__(self, disk: Disk, directory: str | os.PathLike[str] | None = None) -> None:
        super().__init__(disk)
        if directory is None:
            raise StorageError(
                "JsonLinesStorage keeps its files in a directory: build it with "
                "le.JsonLinesStorage.in_directory('runs/demo'), e.g. "
                "le.Cluster(storage=le.JsonLinesStorage.in_directory('runs/demo'))"
            )
        self.path = Path(directory) / file_name(disk)

    @classmethod
    def in_directory(
        cls, directory: str | os.PathLike[str], *, fresh: bool = False
    ) -> JsonLinesDirectory:
        """A factory for ``le.Cluster(storage=...)`` or ``le.check_storage(...)``
        that keeps each server's file in ``directory`` (created if needed).
        ``fresh=True`` deletes the ``*.jsonl`` files already there first."""
        return JsonLinesDirectory(directory, fresh=fresh)

    # ------------------------------------------------------------ messages

    def save_hard_state(self, msg: SaveHardState) -> None:
        self._append(
            {
                "message": "SaveHardState",
                "current_term": msg.current_term,
                "voted_for": msg.voted_for,
            }
        )

    def save_log(self, msg: SaveLog) -> None:
        _check_json_exact(msg.data)
        self._append({"message": "SaveLog", "term": msg.term, "index": msg.index, "data": msg.data})

    def truncate_log(self, msg: TruncateLog) -> None:
        self._append({"message": "TruncateLog", "from_index": msg.from_index})

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        _check_json_exact(msg.data)
        _check_json_exact(msg.config)
        self._append(
            {
                "message": "SaveSnapshot",
                "last_index": msg.last_index,
                "last_term": msg.last_term,
                "data": msg.data,
                "config": msg.config,
            }
        )

    def compact_log(self, msg: CompactLog) -> None:
        self._append({"message": "CompactLog", "through_index": msg.through_index})

    def load_state(self) -> StoredState:
        """Replay the file from the top: later lines win, as they did when written."""
        current_term, voted_for = 0, None
        snapshot = None
        log: dict[int, tuple[int, Any]] = {}  # index -> (term, data)
        for number, record in self._records():
            kind = record.get("message") if type(record) is dict else None
            if kind == "SaveHardState":
                current_term, voted_for = record["current_term"], record["voted_for"]
            elif kind == "SaveLog":
                log[record["index"]] = (record["term"], record["data"])
            elif kind == "TruncateLog":
                for index in [i for i in log if i >= record["from_index"]]:
                    del log[index]
            elif kind == "SaveSnapshot":
                snapshot = SaveSnapshot(
                    record["last_index"], record["last_term"], record["data"], record["config"]
                )
            elif kind == "CompactLog":
                for index in [i for i in log if i <= record["through_index"]]:
                    del log[index]
            else:
                raise StorageError(
                    f"line {number} of {self.path} is not a storage message; the file was "
                    "changed by hand, or written by another program. To start over (this "
                    "deletes the saved state), use le.JsonLinesStorage.in_directory(..., "
                    "fresh=True)"
                )
        entries = [Entry(index, term, data) for index, (term, data) in sorted(log.items())]
        return StoredState(current_term, voted_for, entries, snapshot)

    # --------------------------------------------------------------- files

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n"
        new_file = not self.path.exists()
        with open(self.path, "ab") as file:
            file.write(line.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())  # on the physical disk before we return
        if new_file:
            _sync_directory(self.path.parent)  # so the file's name survives too

    def _records(self) -> list[tuple[int, Any]]:
        """The file's complete lines, parsed. A last line without its newline was cut
        short by a crash while being appended, before its call returned: it is cut off
        the file, as if never written."""
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return []
        *lines, tail = blob.split(b"\n")
        if tail:
            with open(self.path, "r+b") as file:
                file.truncate(len(blob) - len(tail))
                os.fsync(file.fileno())
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append((number, json.loads(line)))
            except ValueError:
                raise StorageError(
                    f"line {number} of {self.path} is not JSON; the file was changed "
                    "by something other than JsonLinesStorage"
                ) from None
        return records

    def __repr__(self) -> str:
        return f"<JsonLinesStorage {self.path}>"


class JsonLinesDirectory:
    """Builds a ``JsonLinesStorage`` per server, all keeping their files in one
    directory. Made by ``JsonLinesStorage.in_directory(directory)``."""

    #: What it builds keeps its state in real files, which cannot be rewound.
    rewindable = False

    def __init__(self, directory: str | os.PathLike[str], *, fresh: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.reset()

    def __call__(self, disk: Disk) -> JsonLinesStorage:
        return JsonLinesStorage(disk, self.directory)

    def files(self) -> list[Path]:
        """The servers' files, sorted by name."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def reset(self) -> None:
        """Delete every server's file: the next cluster starts from empty disks."""
        for path in self.files():
            path.unlink()

    def __repr__(self) -> str:
        return f"JsonLinesStorage.in_directory({str(self.directory)!r})"


def file_name(disk: Disk) -> str:
    """``S3.jsonl`` for server 3's disk; from the disk's name if it has no server id."""
    if disk.server_id is not None:
        return f"S{disk.server_id}{SUFFIX}"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in disk.name)
    return f"{safe or 'disk'}{SUFFIX}"


def _check_json_exact(data: Any) -> None:
    try:
        carried(JSON, data)
    except CodecError as error:
        raise StorageError(
            f"JsonLinesStorage cannot store {shown(data)}: {error}. Use the default "
            "codec's values: None, booleans, numbers, strings, lists (not tuples) and "
            "dicts with string keys."
        ) from None


JSON = JsonCodec()


def _sync_directory(directory: Path) -> None:
    # POSIX makes a new file's directory entry durable only when the directory is
    # fsynced; other systems cannot open a directory, and do not need to.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
