"""Storage: the messages a server sends to stable storage, the handler API students
implement, the simulated Disk, codecs for entry data and the built-in handlers."""

from ..core.persistence import LoadState, SaveHardState, SaveLog, StoredState, TruncateLog
from .builtin import DiskStorage
from .codec import Codec, JsonCodec, PickleCodec, copy_value
from .disk import FAULT_MODES, Disk
from .errors import StorageError, TornWriteError
from .handler import StorageHandler

__all__ = [
    "FAULT_MODES",
    "Codec",
    "Disk",
    "DiskStorage",
    "JsonCodec",
    "LoadState",
    "PickleCodec",
    "SaveHardState",
    "SaveLog",
    "StorageError",
    "StorageHandler",
    "StoredState",
    "TornWriteError",
    "TruncateLog",
    "copy_value",
]
