"""Safety checks: the five properties of the paper's Figure 3, and linearizability of a
history of client operations."""

from .durability import DURABILITY, DurableState
from .figure3 import SafetyChecker, data_key, scan
from .linearizable import (
    LinearizabilityResult,
    Operation,
    PartitionOrder,
    check_linearizable,
)
from .models import KVModel, Model, RegisterModel, freeze
from .violation import (
    ELECTION_SAFETY,
    FIGURE_3,
    LEADER_APPEND_ONLY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
    Violation,
)

__all__ = [
    "DURABILITY",
    "ELECTION_SAFETY",
    "FIGURE_3",
    "LEADER_APPEND_ONLY",
    "LEADER_COMPLETENESS",
    "LOG_MATCHING",
    "STATE_MACHINE_SAFETY",
    "DurableState",
    "KVModel",
    "LinearizabilityResult",
    "Model",
    "Operation",
    "PartitionOrder",
    "RegisterModel",
    "SafetyChecker",
    "Violation",
    "check_linearizable",
    "data_key",
    "freeze",
    "scan",
]
