"""A replicated key-value store on the public Cluster API: the seed's promise.

``le.KVStore(servers=5, shards=1, seed=0, backup_dir=None, **cluster_options)``: typed
commands through the codec, client sessions with deduplication (thesis §6.3),
linearizable gets by ReadIndex (§6.4), keys that expire by replicated time, backups of
every snapshot to a real directory (verified before a restore), and shards, one Raft
group each. A layer above ``sim/``: it uses ``sim`` and ``check``, never ``viz``.
"""

from .backup import Backup, BackupError, latest_backups, read_backup
from .client import Handle, KVClient
from .commands import Append, Cas, Command, Delete, Get, KVCodec, Put
from .machine import KVStateMachine
from .store import ClientEvent, KVStore, KVTrace, shard_of

__all__ = [
    "Append",
    "Backup",
    "BackupError",
    "Cas",
    "ClientEvent",
    "Command",
    "Delete",
    "Get",
    "Handle",
    "KVClient",
    "KVCodec",
    "KVStateMachine",
    "KVStore",
    "KVTrace",
    "Put",
    "latest_backups",
    "read_backup",
    "shard_of",
]
