"""Storage: the messages a server sends to stable storage, the handler API students
implement, the simulated Disk, codecs for entry data, the built-in handlers, the
compliance checks for a handler, and a gallery of buggy handlers for lessons."""

from ..core.persistence import LoadState, SaveHardState, SaveLog, StoredState, TruncateLog
from .builtin import DiskStorage, VolatileStorage
from .codec import Codec, JsonCodec, PickleCodec, copy_value
from .compliance import CHECK_NAMES, check_storage
from .disk import FAULT_MODES, Disk, DiskTable, PowerLoss
from .errors import StorageError, TornWriteError
from .functions import FunctionStorage
from .gallery import GALLERY
from .handler import StorageHandler
from .jsonlines import JsonLinesStorage
from .report import AFTER_CRASH, LIVE, CheckResult, StorageReport

__all__ = [
    "AFTER_CRASH",
    "CHECK_NAMES",
    "FAULT_MODES",
    "GALLERY",
    "LIVE",
    "CheckResult",
    "Codec",
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
    "StorageError",
    "StorageHandler",
    "StorageReport",
    "StoredState",
    "TornWriteError",
    "TruncateLog",
    "VolatileStorage",
    "check_storage",
    "copy_value",
]
