"""Safety checks: the five properties of the paper's Figure 3."""

from .durability import DURABILITY, DurableState
from .figure3 import SafetyChecker, data_key, scan
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
    "SafetyChecker",
    "Violation",
    "data_key",
    "scan",
]
