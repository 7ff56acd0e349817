"""A broken safety property, as a record a student can read."""

from __future__ import annotations

from dataclasses import dataclass

ELECTION_SAFETY = "Election Safety"
LEADER_APPEND_ONLY = "Leader Append-Only"
LOG_MATCHING = "Log Matching"
LEADER_COMPLETENESS = "Leader Completeness"
STATE_MACHINE_SAFETY = "State Machine Safety"
#: Not in Figure 3: a read must see every entry committed before it was asked
#: (thesis §6.4). Checked when a ReadIndex or lease read completes.
LINEARIZABLE_READS = "Linearizable Reads"

#: The five properties of Figure 3, in the paper's order, with the paper's statement.
FIGURE_3 = {
    ELECTION_SAFETY: "at most one leader can be elected in a given term (§5.2)",
    LEADER_APPEND_ONLY: "a leader never overwrites or deletes entries in its log; it only "
    "appends new entries (§5.3)",
    LOG_MATCHING: "if two logs contain an entry with the same index and term, then the logs "
    "are identical in all entries up through the given index (§5.3)",
    LEADER_COMPLETENESS: "if a log entry is committed in a given term, then that entry will "
    "be present in the logs of the leaders for all higher-numbered terms (§5.4)",
    STATE_MACHINE_SAFETY: "if a server has applied a log entry at a given index to its state "
    "machine, no other server will ever apply a different log entry for the same index "
    "(§5.4.3)",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """``property`` was broken at ``step``; ``detail`` says how, in a sentence."""

    property: str
    step: int
    detail: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.property} violated: {self.detail}"
