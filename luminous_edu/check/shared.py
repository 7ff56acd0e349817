"""A list whose copies cost almost nothing: what the checks keep per log index.

The safety checks keep something for every log index ever seen (digests of log
prefixes, the entry applied at each index), the simulator keeps every command each
server applied, and it copies all of that with every checkpoint of the world. Copied as
plain lists, those copies cost memory and time in proportion to the run's length, once
per checkpoint. A ``SharedList`` copy shares
its items with the original instead: each copy sees the first ``len(copy)`` items of
one Python list. Appending where the shared list ends (nearly every change the checks
make) writes into it in place, and no copy can see the new item, since each sees only
its own length. Any other change (cutting the list shorter, then appending; setting an
item) first gives the changed copy a private list of its own: copy on write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class SharedList(Generic[T]):
    """A sequence with ``append``, ``extend``, ``truncate`` and item assignment, whose
    ``copy()`` is O(1)."""

    __slots__ = ("_items", "_length", "_shared")

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T] = list(items)
        self._length = len(self._items)
        self._shared = False  # another SharedList may see a prefix of _items

    def copy(self, stop: int | None = None) -> SharedList[T]:
        """A copy holding the first ``stop`` items (all of them by default)."""
        twin: SharedList[T] = SharedList.__new__(SharedList)
        twin._items = self._items
        twin._length = self._length if stop is None else max(0, min(stop, self._length))
        twin._shared = self._shared = True
        return twin

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, position: int) -> T: ...

    @overload
    def __getitem__(self, position: slice) -> list[T]: ...

    def __getitem__(self, position: int | slice) -> T | list[T]:
        if isinstance(position, slice):
            return self._items[: self._length][position]
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"position {position} of a list of {self._length}")
        return self._items[position]

    def __iter__(self) -> Iterator[T]:
        items = self._items
        for position in range(self._length):
            yield items[position]

    def last(self) -> T:
        return self._items[self._length - 1]

    def slice(self, start: int, stop: int) -> list[T]:
        """The items from ``start`` to ``stop`` (exclusive), as a plain list."""
        return self._items[start : min(stop, self._length)]

    def append(self, item: T) -> None:
        items = self._items
        if len(items) != self._length:  # others appended past our end, or we were cut
            items = self._own()
        items.append(item)
        self._length += 1

    def extend(self, new: Iterable[T]) -> None:
        items = self._items if len(self._items) == self._length else self._own()
        items.extend(new)
        self._length = len(items)

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` items."""
        if length >= self._length:
            return
        if not self._shared:
            del self._items[length:]
        self._length = max(length, 0)  # shared: the next append takes a private copy

    def __setitem__(self, position: int, item: T) -> None:
        if not 0 <= position < self._length:
            raise IndexError(f"position {position} of a list of {self._length}")
        items = self._own() if self._shared else self._items
        items[position] = item

    def _own(self) -> list[T]:
        self._items = self._items[: self._length]
        self._shared = False
        return self._items

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SharedList):
            other = other.slice(0, len(other))
        return bool(self.slice(0, self._length) == other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SharedList({self.slice(0, self._length)!r})"
