"""luminous_edu: the Raft consensus algorithm, deterministic and seeded, to learn from.

import luminous_edu as le
cluster = le.Cluster(servers=5, seed=7)
cluster.run_until(lambda c: c.leader is not None)
cluster.propose("x=1")
cluster.run(100)
print(cluster.trace.text(last=10))
"""

import sys
from typing import Any

from . import exercises
from .check import FIGURE_3, LinearizabilityResult, Operation, Violation, check_linearizable
from .core import (
    AppendEntries,
    AppendEntriesReply,
    Configuration,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    Role,
    TimeoutNow,
)
from .errors import (
    DataError,
    InvalidActionError,
    LuminousError,
    MissingLibraryError,
    RecordError,
    UnknownServerError,
)
from .explore import BUGS, ExploreResult, explore, labs
from .explore import search as _search
from .kv import BackupError, KVStore
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
from .viz.missing import view_libraries

__version__ = "0.1.0"

#: ``le.check_exercise("01.votes_needed", votes_needed)``: same as ``le.exercises.check``.
check_exercise = exercises.check
#: ``le.student_seed("ada@example.edu", course="raft-2026")``: a student's own seed.
student_seed = exercises.student_seed


#: What to use where the dashboard's libraries are missing (in JupyterLite: bokeh).
_INSTEAD = "le.TableView(cluster): the servers as a table with Step and Back, ipywidgets only"


def _show(self: Cluster, **options: Any) -> Any:
    """Show this cluster in a live dashboard: ``cluster.show(projector=True)``.
    Same as ``le.Dashboard(cluster, **options)``. Where bokeh cannot be imported (in
    JupyterLite), a ``MissingLibraryError`` says so and points at ``le.TableView``."""
    with view_libraries("cluster.show()", "the dashboard", _INSTEAD):
        from .viz.dashboard import Dashboard

    return Dashboard(self, **options)


def _show_store(self: KVStore, shard: int | None = None, **options: Any) -> Any:
    """Show this store: its groups' dashboards side by side (or shard ``shard``'s alone)
    and the history of its clients' operations with the checker's verdict. Same as
    ``luminous_edu.viz.kv.KVView(store, shard=shard, **options)``."""
    with view_libraries(
        "store.show()", "the store", "le.TableView(store.groups[0]) for a group's servers"
    ):
        from .viz.kv import KVView

    return KVView(self, shard=shard, **options)


def _show_result(self: LinearizabilityResult, **options: Any) -> Any:
    """Draw the history this result checked, Porcupine's way: a lane per client, each
    operation a bar, the order found, and the operation no order can place in red.
    Same as ``luminous_edu.viz.history.HistoryView(result=result, **options)``."""
    with view_libraries("result.show()", "the history", "print(result)"):
        from .viz.history import HistoryView

    return HistoryView(result=self, **options)


def _explore_display() -> Any:
    """``le.explore``'s progress display: a bar in a Jupyter kernel, else nothing (and
    no notebook library imported)."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from .viz.explorer import notebook_progress
    except ImportError:  # a kernel without ipywidgets: the result says it all
        return None
    return notebook_progress()


# The dashboard lives in viz/, the only layer that may import notebook libraries, and
# is imported on first use: ``import luminous_edu`` stays free of bokeh and ipywidgets.
_search.DISPLAY = _explore_display
Cluster.show = _show  # type: ignore[attr-defined]
KVStore.show = _show_store  # type: ignore[attr-defined]
LinearizabilityResult.show = _show_result  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "Dashboard":
        with view_libraries("le.Dashboard", "the dashboard", _INSTEAD):
            from .viz.dashboard import Dashboard

        return Dashboard
    if name == "TableView":
        with view_libraries("le.TableView", "the table", None):
            from .viz.table import TableView

        return TableView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUGS",
    "FIGURE_3",
    "AppendEntries",
    "AppendEntriesReply",
    "BackupError",
    "Cluster",
    "CompactLog",
    "Configuration",
    "DataError",
    "Disk",
    "DiskStorage",
    "Entry",
    "Event",
    "ExploreResult",
    "FunctionStorage",
    "GaveUp",
    "GaveUpWarning",
    "HandlerError",
    "InstallSnapshot",
    "InstallSnapshotReply",
    "InvalidActionError",
    "JsonCodec",
    "JsonLinesStorage",
    "KVStore",
    "LoadState",
    "LuminousError",
    "MembershipResult",
    "MissingLibraryError",
    "Network",
    "Operation",
    "PickleCodec",
    "ProposalResult",
    "RecordError",
    "RecordingStateMachine",
    "RequestVote",
    "RequestVoteReply",
    "Role",
    "SafetyViolationError",
    "SaveHardState",
    "SaveLog",
    "SaveSnapshot",
    "StorageError",
    "StorageHandler",
    "StorageReport",
    "StoredState",
    "TimeoutNow",
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
    "check_linearizable",
    "check_storage",
    "exercises",
    "explore",
    "labs",
    "student_seed",
]
