"""The world around the servers: seeded randomness, virtual time, the event queue, the
network model, faults, and the Cluster with its step controller."""

from .cluster import (
    CHECKPOINT_INTERVAL,
    Cluster,
    HandlerError,
    Input,
    MembershipResult,
    ProposalResult,
    SafetyViolationError,
    TransferResult,
)
from .events import Event
from .narration import Trace, TraceEvent
from .network import Network
from .outcomes import GaveUp, GaveUpWarning
from .state_machine import RecordingStateMachine
from .views import ServerView

__all__ = [
    "CHECKPOINT_INTERVAL",
    "Cluster",
    "Event",
    "GaveUp",
    "GaveUpWarning",
    "HandlerError",
    "Input",
    "MembershipResult",
    "Network",
    "ProposalResult",
    "RecordingStateMachine",
    "SafetyViolationError",
    "ServerView",
    "Trace",
    "TraceEvent",
    "TransferResult",
]
