"""The roles a server can be in (Figure 2: "Rules for Servers")."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    PRECANDIDATE = "precandidate"  # Not in Figure 2: asking for pre-votes (thesis §9.6)

    def __str__(self) -> str:
        return self.value
