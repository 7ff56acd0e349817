"""Pure Raft: one server's state machine, its log, its messages and its effects.

Standard library only. No clock, no randomness source, no I/O and no threads: time and
chance reach a server only as inputs from the world around it (``luminous_edu.sim``).
"""

from .log import Entry, RaftLog, looks_like_marker, noop_data
from .membership import Configuration
from .messages import (
    AppendEntries,
    AppendEntriesReply,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from .output import Output, ProposalOutcome
from .persistence import (
    CompactLog,
    LoadState,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .roles import Role
from .rules import RULES, Rule
from .server import MAX_ENTRIES_PER_MESSAGE, Server

__all__ = [
    "MAX_ENTRIES_PER_MESSAGE",
    "RULES",
    "AppendEntries",
    "AppendEntriesReply",
    "CompactLog",
    "Configuration",
    "Entry",
    "InstallSnapshot",
    "InstallSnapshotReply",
    "LoadState",
    "Output",
    "ProposalOutcome",
    "RaftLog",
    "RequestVote",
    "RequestVoteReply",
    "Role",
    "Rule",
    "SaveHardState",
    "SaveLog",
    "SaveSnapshot",
    "Server",
    "StoredState",
    "TimeoutNow",
    "TruncateLog",
    "looks_like_marker",
    "noop_data",
]
