"""luminous_edu: the Raft consensus algorithm, deterministic and seeded, to learn from.

import luminous_edu as le
cluster = le.Cluster(servers=5, seed=7)
cluster.run_until(lambda c: c.leader is not None)
cluster.propose("x=1")
cluster.run(100)
print(cluster.trace.text(last=10))
"""

from typing import Any

from . import exercises
from .check import FIGURE_3, Violation
from .core import Configuration, Entry, Role
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
    GaveUp,
    GaveUpWarning,
    HandlerError,
    MembershipResult,
    Network,
    ProposalResult,
    RecordingStateMachine,
    SafetyViolationError,
    Trace,
    TraceEvent,
    TransferResult,
)
from .storage import (
    CompactLog,
    Disk,
    DiskStorage,
    FunctionStorage,
    JsonCodec,
    JsonLinesStorage,
    LoadState,
    PickleCodec,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StorageError,
    StorageHandler,
    StorageReport,
    StoredState,
    TornWriteError,
    TruncateLog,
    VolatileStorage,
    check_storage,
)

__version__ = "0.1.0"

#: ``le.check_exercise("01.votes_needed", votes_needed)``: same as ``le.exercises.check``.
check_exercise = exercises.check
#: ``le.student_seed("ada@example.edu", course="raft-2026")``: a student's own seed.
student_seed = exercises.student_seed


def _show(self: Cluster, **options: Any) -> Any:
    """Show this cluster in a live dashboard: ``cluster.show(projector=True)``.
    Same as ``le.Dashboard(cluster, **options)``."""
    from .viz.dashboard import Dashboard

    return Dashboard(self, **options)


# The dashboard lives in viz/, the only layer that may import notebook libraries, and
# is imported on first use: ``import luminous_edu`` stays free of bokeh and ipywidgets.
Cluster.show = _show  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "Dashboard":
        from .viz.dashboard import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FIGURE_3",
    "Cluster",
    "CompactLog",
    "Configuration",
    "DataError",
    "Disk",
    "DiskStorage",
    "Entry",
    "Event",
    "FunctionStorage",
    "GaveUp",
    "GaveUpWarning",
    "HandlerError",
    "InvalidActionError",
    "JsonCodec",
    "JsonLinesStorage",
    "LoadState",
    "LuminousError",
    "MembershipResult",
    "Network",
    "PickleCodec",
    "ProposalResult",
    "RecordError",
    "RecordingStateMachine",
    "Role",
    "SafetyViolationError",
    "SaveHardState",
    "SaveLog",
    "SaveSnapshot",
    "StorageError",
    "StorageHandler",
    "StorageReport",
    "StoredState",
    "TornWriteError",
    "Trace",
    "TraceEvent",
    "TransferResult",
    "TruncateLog",
    "UnknownServerError",
    "Violation",
    "VolatileStorage",
    "__version__",
    "check_exercise",
    "check_storage",
    "exercises",
    "student_seed",
]
