"""Linearizable reads: a read must see every entry committed before it was asked.

Not in Figure 3. A read (ReadIndex or a lease, thesis §6.4) is linearizable only if the
state it reads includes every entry committed when it was asked. So, when a read is
asked, remember the highest commit index of any running server (its *floor*); when it
completes at a read index below that floor, it missed a committed entry: a stale read.
"""

from __future__ import annotations

from collections.abc import Iterable

from .violation import LINEARIZABLE_READS, Violation


class ReadFloors:
    """Per read in progress, the commit index it must see."""

    __slots__ = ("floors",)

    def __init__(self) -> None:
        self.floors: dict[int, int] = {}  # read id -> highest commit index when asked

    def clone(self) -> ReadFloors:
        twin = ReadFloors()
        twin.floors = dict(self.floors)
        return twin

    def asked(self, read_id: int, commit_indexes: Iterable[int]) -> None:
        """Read ``read_id`` was asked while running servers had these commit indexes."""
        self.floors[read_id] = max(commit_indexes, default=0)

    def answered(self, step: int, read_id: int, server: int, index: int) -> list[Violation]:
        """Read ``read_id`` completed on ``server``, seeing the state machine through
        ``index``."""
        floor = self.floors.pop(read_id, 0)
        if index >= floor:
            return []
        return [
            Violation(
                LINEARIZABLE_READS,
                step,
                f"read #{read_id} on S{server} saw the state machine through index "
                f"{index}, but index {floor} was already committed when the read was "
                "asked: a stale read",
            )
        ]
