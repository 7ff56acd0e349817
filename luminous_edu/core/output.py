"""What one input to a server produces: the effects the world must carry out.

The order of effects within one output is fixed and safe: storage messages first, then
sends. Figure 2: persistent state is "updated on stable storage before responding to
RPCs"; the simulator stops the server if a storage message fails, so nothing that
depends on lost state ever leaves it.
"""

from __future__ import annotations

from typing import Any

from .log import Entry


class ProposalOutcome:
    """The answer to a client request at one server."""

    __slots__ = ("accepted", "index", "leader_hint", "term")

    def __init__(
        self, accepted: bool, index: int | None, term: int | None, leader_hint: int | None
    ) -> None:
        self.accepted = accepted
        self.index = index
        self.term = term
        self.leader_hint = leader_hint


# Timer instructions
RESET = "reset"
STOP = "stop"
START = "start"


class Output:
    """Effects of one step of one server."""

    __slots__ = (
        "applies",
        "became_leader",
        "election_timer",
        "heartbeat_timer",
        "log_changed_from",
        "reads",
        "restore",
        "save_through",
        "sends",
        "snapshot_due",
        "storage",
        "trace",
    )

    def __init__(self) -> None:
        self.storage: list[Any] = []  # storage messages, in order
        self.sends: list[tuple[int, Any]] = []  # (target, message)
        self.applies: list[Entry] = []  # newly committed entries, in index order
        self.trace: list[tuple[str, tuple[Any, ...]]] = []  # (rule id, args)
        self.election_timer: str | None = None  # RESET | STOP | None (unchanged)
        self.heartbeat_timer: str | None = None  # START | STOP | None (unchanged)
        self.log_changed_from: int | None = None  # lowest index appended or removed
        self.became_leader = False
        self.reads: list[tuple[int, int]] | None = None  # (read id, read index) now ready
        # Log compaction (§7): the server wants a snapshot of its state machine now
        # (the world calls ``take_snapshot`` with it), or installed one a leader sent
        # (the world restores its state machine from ``restore.data``).
        self.snapshot_due = False
        self.restore: Any = None  # the SaveSnapshot installed, if any
        # A leader appended entries through this index: once the storage messages
        # above are carried out, the world calls ``log_saved(save_through)``, and only
        # then does the leader's own copy count toward committing them (§5.3).
        self.save_through: int | None = None

    def answer_read(self, read_id: int, index: int) -> None:
        if self.reads is None:
            self.reads = []
        self.reads.append((read_id, index))

    def note_log_change(self, index: int) -> None:
        if self.log_changed_from is None or index < self.log_changed_from:
            self.log_changed_from = index
