"""The default state machine: the list of applied values, in index order."""

from __future__ import annotations

from typing import Any


class RecordingStateMachine:
    """Keeps every applied command in ``values``. A ``state_machine=`` class for a
    Cluster needs the same methods: ``apply(index, data)``, ``snapshot()`` and
    ``restore(value)``."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def apply(self, index: int, data: Any) -> None:
        self.values.append(data)

    def snapshot(self) -> list[Any]:
        return list(self.values)

    def restore(self, value: list[Any]) -> None:
        self.values = list(value)

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordingStateMachine:
        # Applied data is never mutated inside the cluster, so a shallow copy is exact.
        twin = RecordingStateMachine()
        twin.values = list(self.values)
        return twin
