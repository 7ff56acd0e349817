"""The default state machine: the list of applied values, in index order."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, overload

#: In the memo of a deep copy made for a checkpoint (World.freeze), under its own id.
CHECKPOINT = object()


class RecordingStateMachine:
    """Keeps every applied command in ``values``, and behaves as that list: a read
    query may do ``list(sm)``, ``sm[-1]``, ``len(sm)`` or ``x in sm``, and a machine
    equals a list holding the same values.

    A ``state_machine=`` class for a Cluster needs the same methods: ``apply(index,
    data)``, ``snapshot()`` and ``restore(value)``. Subclasses may keep state of their
    own beside ``values``: checkpoints copy all of it, and keep the subclass."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def apply(self, index: int, data: Any) -> None:
        self.values.append(data)

    def snapshot(self) -> list[Any]:
        return list(self.values)

    def restore(self, value: list[Any]) -> None:
        self.values = list(value)

    # ------------------------------------------------ the list of applied values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, position: int) -> Any: ...

    @overload
    def __getitem__(self, position: slice) -> list[Any]: ...

    def __getitem__(self, position: int | slice) -> Any:
        return self.values[position]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values)

    def __contains__(self, value: object) -> bool:
        return value in self.values

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordingStateMachine):
            other = other.values
        return bool(self.values == other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.values!r}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordingStateMachine:
        # Applied data is never changed inside the cluster, so a copy has its own list
        # of the same values; anything else (a subclass's own state) is deep-copied,
        # and the copy keeps the class. This class only ever appends to ``values`` or
        # replaces it, so a checkpoint's copy (CHECKPOINT in the memo) of one shares the
        # list itself and remembers its length (``_seen``); going back to the
        # checkpoint takes that many values.
        cls = type(self)
        twin = cls.__new__(cls)
        memo[id(self)] = twin
        for name, value in self.__dict__.items():
            if name not in ("values", "_seen"):
                twin.__dict__[name] = copy.deepcopy(value, memo)
        seen = self.__dict__.get("_seen")
        if seen is not None:  # a checkpoint's copy: back to a running machine
            twin.values = self.values[:seen]
        elif cls is RecordingStateMachine and id(CHECKPOINT) in memo:
            twin.values = self.values
            twin.__dict__["_seen"] = len(self.values)
        else:  # (a subclass may change its list in place)
            twin.values = list(self.values)
        return twin
