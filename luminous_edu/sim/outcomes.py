"""What ``run_until`` answers when it gives up: a falsy result that says why.

``run_until(predicate, max_ms)`` returns ``True`` when the predicate became true. When
it gives up it returns a ``GaveUp``: falsy (``if not cluster.run_until(...)`` and
``== False`` work as they did when it returned ``False``), with a ``reason`` sentence;
its repr is that sentence, so a notebook cell ending with ``run_until(...)`` shows it.
It also issues a ``GaveUpWarning`` (a ``UserWarning``) so that a give-up in the middle
of a cell is seen too; ``run_until(..., warn=False)`` is for code that expects it.
"""

from __future__ import annotations

from typing import Any


class GaveUpWarning(UserWarning):
    """``run_until`` gave up: its predicate was still false at ``max_ms``."""


class GaveUp:
    """``run_until`` gave up; falsy. ``reason`` says why, ``now`` is the virtual time
    (ms) it stopped at, ``max_ms`` the limit it was given."""

    __slots__ = ("max_ms", "now", "reason")

    def __init__(self, reason: str, now: int, max_ms: int) -> None:
        self.reason = reason
        self.now = now
        self.max_ms = max_ms

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: Any) -> bool:
        # Equal to False, as run_until's result was before it said why.
        return other is False or isinstance(other, GaveUp)

    def __hash__(self) -> int:
        return hash(False)

    def __repr__(self) -> str:
        return f"False: {self.reason}"

    __str__ = __repr__
