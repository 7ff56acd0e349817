"""Backups: each snapshot copied to a real directory, checked before it is trusted.

After a server snapshots its state machine (§7), the store writes that state to
``backup_dir/shard-<g>/`` as one file, a few header lines then the state as JSON::

    luminous_edu kv backup 1
    sha256 <hex digest of the body>
    bytes <length of the body>
    {"generation": 0, "index": 120, "shard": 0, "shards": 1, "state": {...}, ...}

A backup is written to a temporary file, flushed to the disk and only then renamed
into place, so a crash while writing never leaves a half-written backup under a backup's
name. Reading one checks the header, the length (a truncated file is refused) and the
digest (a file changed after it was written is refused) before the state is used.
Files are named by the store's generation (a restored store writes the next one) and
the log index the snapshot covers, so the newest sorts last; the newest few per shard
are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LuminousError
from .machine import check_state

MAGIC = "luminous_edu kv backup 1"
SUFFIX = ".kvbackup"


class BackupError(LuminousError):
    """A backup that cannot be trusted (missing, truncated, changed) or written."""


@dataclass(frozen=True)
class Backup:
    """One verified backup: which shard of how many, the store's generation, the log
    index its snapshot covers, the store's time when it was written, the number of
    servers, and the state machine's state."""

    path: Path
    shard: int
    shards: int
    generation: int
    index: int
    written_ms: int
    servers: int
    state: dict[str, Any]


def shard_directory(directory: Path, shard: int) -> Path:
    return directory / f"shard-{shard}"


def write_backup(directory: Path, backup: Backup, keep: int) -> Path:
    """Write ``backup`` under ``directory`` (its ``path`` is ignored); keep the newest
    ``keep`` files of its shard. Returns the path written."""
    folder = shard_directory(directory, backup.shard)
    body = json.dumps(
        {
            "generation": backup.generation,
            "index": backup.index,
            "servers": backup.servers,
            "shard": backup.shard,
            "shards": backup.shards,
            "state": backup.state,
            "written_ms": backup.written_ms,
        },
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")
    header = f"{MAGIC}\nsha256 {hashlib.sha256(body).hexdigest()}\nbytes {len(body)}\n"
    path = folder / f"g{backup.generation:04d}-i{backup.index:010d}{SUFFIX}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as file:
            file.write(header.encode("ascii") + body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        for old in sorted(folder.glob(f"*{SUFFIX}"))[:-keep]:
            old.unlink()
    except OSError as error:
        raise BackupError(f"cannot write the backup {path}: {error}") from error
    return path


def read_backup(path: Path | str) -> Backup:
    """Read and verify one backup file; BackupError says what is wrong with it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise BackupError(f"cannot read the backup {path}: {error}") from None
    lines = raw.split(b"\n", 3)
    if len(lines) < 4 or lines[0] != MAGIC.encode("ascii"):
        raise BackupError(
            f"{path} is not a luminous_edu KV backup (it should start with {MAGIC!r}), or "
            "it was cut short inside its header"
        )
    try:
        digest = lines[1].decode("ascii").removeprefix("sha256 ")
        length = int(lines[2].decode("ascii").removeprefix("bytes "))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{path}: its header is damaged; it cannot be trusted") from None
    body = lines[3]
    if len(body) < length:
        raise BackupError(
            f"{path} is truncated: its header promises {length} bytes of state and the file "
            f"holds {len(body)}. Do not restore from it; use an older backup."
        )
    if len(body) > length or hashlib.sha256(body).hexdigest() != digest:
        raise BackupError(
            f"{path} was changed after it was written: its SHA-256 checksum does not match "
            "its header. Do not restore from it; use an older backup."
        )
    try:
        record = json.loads(body)
        check_state(record["state"])
        backup = Backup(
            path,
            _whole(record, "shard"),
            _whole(record, "shards"),
            _whole(record, "generation"),
            _whole(record, "index"),
            _whole(record, "written_ms"),
            _whole(record, "servers"),
            record["state"],
        )
    except (ValueError, KeyError, TypeError, LuminousError) as error:
        raise BackupError(
            f"{path}: its checksum matches but its content is not a "
            f"backup this version can read ({error})"
        ) from None
    if not 0 <= backup.shard < backup.shards:
        raise BackupError(f"{path}: shard {backup.shard} of {backup.shards} makes no sense")
    return backup


def _whole(record: dict[str, Any], name: str) -> int:
    value = record[name]
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} should be a whole number, not {value!r}")
    return value


def latest_backups(path: Path | str) -> list[Backup]:
    """The newest backup of every shard under a ``backup_dir`` (or the one backup
    ``path`` names), verified. BackupError if one is missing or cannot be trusted:
    nothing is restored from a backup that fails its check, and an older one is never
    taken silently in its place."""
    path = Path(path)
    if path.is_file():
        backup = read_backup(path)
        if backup.shards != 1:
            raise BackupError(
                f"{path} holds shard {backup.shard} of {backup.shards}; restore from the "
                "directory that holds every shard"
            )
        return [backup]
    if not path.is_dir():
        raise BackupError(f"there is no backup directory {path}")
    folders = sorted(p for p in path.glob("shard-*") if p.is_dir())
    if not folders:
        raise BackupError(f"{path} holds no backups (no shard-<n> directories)")
    found: list[Backup] = []
    shards: int | None = None
    for number in range(len(folders)):
        files = sorted(shard_directory(path, number).glob(f"*{SUFFIX}"))
        if not files:
            raise BackupError(f"{path} has no backup of shard {number}")
        try:
            backup = read_backup(files[-1])
        except BackupError as error:
            older = f" (older: {', '.join(f.name for f in files[:-1])})" if files[:-1] else ""
            raise BackupError(
                f"{error}\nThe newest backup of shard {number} failed its check; remove "
                f"it to restore from an older one{older}."
            ) from None
        if backup.shard != number:
            raise BackupError(f"{backup.path} says it is shard {backup.shard}, not {number}")
        if shards is not None and backup.shards != shards:
            raise BackupError(f"the backups under {path} disagree on the number of shards")
        shards = backup.shards
        found.append(backup)
    if shards != len(found):
        raise BackupError(
            f"{path} holds backups of {len(found)} of the store's {shards} shards; restore "
            "from the directory that holds every shard-<n> directory"
        )
    return found
