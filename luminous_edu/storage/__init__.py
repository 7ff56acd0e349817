"""Storage: the messages a server sends to stable storage, the handler API students
implement, the simulated Disk, codecs for entry data, the built-in handlers, the
compliance checks for a handler, and a gallery of buggy handlers for lessons."""

from ..core.persistence import (
    CompactLog,
    LoadState,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .builtin import DiskStorage, VolatileStorage
from .codec import MAX_NESTING, Codec, CodecError, JsonCodec, PickleCodec, carried, copy_value
from .compliance import CHECK_NAMES, SNAPSHOT_CHECK_NAMES, check_storage
from .disk import FAULT_MODES, Disk, DiskTable, PowerLoss
from .errors import StorageError, TornWriteError
from .functions import FunctionStorage
from .gallery import GALLERY
from .handler import StorageHandler
from .jsonlines import JsonLinesStorage
from .report import AFTER_CRASH, LIVE, CheckResult, StorageReport
from .stored import StoredStateError, validate_stored_state

__all__ = [
    "AFTER_CRASH",
    "CHECK_NAMES",
    "FAULT_MODES",
    "GALLERY",
    "LIVE",
    "MAX_NESTING",
    "SNAPSHOT_CHECK_NAMES",
    "CheckResult",
    "Codec",
    "CodecError",
    "CompactLog",
    "Disk",
    "DiskStorage",
    "DiskTable",
    "FunctionStorage",
    "JsonCodec",
    "JsonLinesStorage",
    "LoadState",
    "PickleCodec",
    "PowerLoss",
    "SaveHardState",
    "SaveLog",
    "SaveSnapshot",
    "StorageError",
    "StorageHandler",
    "StorageReport",
    "StoredState",
    "StoredStateError",
    "TornWriteError",
    "TruncateLog",
    "VolatileStorage",
    "carried",
    "check_storage",
    "copy_value",
    "validate_stored_state",
]
