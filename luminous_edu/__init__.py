"""luminous_edu: the Raft consensus algorithm, deterministic and seeded, to learn from.

import luminous_edu as le
cluster = le.Cluster(servers=5, seed=7)
cluster.run_until(lambda c: c.leader is not None)
cluster.propose("x=1")
cluster.run(100)
print(cluster.trace.text(last=10))
"""

from .check import FIGURE_3, Violation
from .core import Entry, Role
from .errors import (
    DataError,
    InvalidActionError,
    LuminousError,
    RecordError,
    UnknownServerError,
)
from .sim import (
    Cluster,
    Event,
    HandlerError,
    Network,
    ProposalResult,
    RecordingStateMachine,
    SafetyViolationError,
    Trace,
    TraceEvent,
)
from .storage import (
    Disk,
    DiskStorage,
    JsonCodec,
    LoadState,
    PickleCodec,
    SaveHardState,
    SaveLog,
    StorageError,
    StorageHandler,
    StoredState,
    TornWriteError,
    TruncateLog,
)

__version__ = "0.1.0"

__all__ = [
    "FIGURE_3",
    "Cluster",
    "DataError",
    "Disk",
    "DiskStorage",
    "Entry",
    "Event",
    "HandlerError",
    "InvalidActionError",
    "JsonCodec",
    "LoadState",
    "LuminousError",
    "Network",
    "PickleCodec",
    "ProposalResult",
    "RecordError",
    "RecordingStateMachine",
    "Role",
    "SafetyViolationError",
    "SaveHardState",
    "SaveLog",
    "StorageError",
    "StorageHandler",
    "StoredState",
    "TornWriteError",
    "Trace",
    "TraceEvent",
    "TruncateLog",
    "UnknownServerError",
    "Violation",
    "__version__",
]
