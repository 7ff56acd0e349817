"""What the Cluster's methods answer: proposals, transfers, membership changes, replayed
inputs, and ``run_until`` giving up.

``run_until(predicate, max_ms)`` returns ``True`` when the predicate became true. When
it gives up it returns a ``GaveUp``: falsy (``if not cluster.run_until(...)`` and
``== False`` work as they did when it returned ``False``), with a ``reason`` sentence;
its repr is that sentence, so a notebook cell ending with ``run_until(...)`` shows it.
It also issues a ``GaveUpWarning`` (a ``UserWarning``) so that a give-up in the middle
of a cell is seen too; ``run_until(..., warn=False)`` is for code that expects it.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class _Proposal(NamedTuple):
    accepted: bool
    index: int | None  # type: ignore[assignment]  # shadows tuple.index
    term: int | None
    leader_hint: int | None


class ProposalResult(_Proposal):
    """The answer to ``cluster.propose``: whether the server took the command, where it
    sits in the log (index, term), whom the server believes leads, and, when it was
    refused, the ``reason`` (a sentence; None when accepted).

    It is still the 4-tuple ``(accepted, index, term, leader_hint)``, so code that
    unpacks four values keeps working; ``reason`` is an attribute beside them."""

    reason: str | None

    def __new__(
        cls,
        accepted: bool,
        index: int | None,
        term: int | None,
        leader_hint: int | None,
        reason: str | None = None,
    ) -> ProposalResult:
        result = super().__new__(cls, accepted, index, term, leader_hint)
        result.reason = reason
        return result

    def __repr__(self) -> str:
        fields = (
            f"accepted={self.accepted!r}, index={self.index!r}, term={self.term!r}, "
            f"leader_hint={self.leader_hint!r}"
        )
        if self.reason is not None:
            fields += f", reason={self.reason!r}"
        return f"ProposalResult({fields})"


class TransferResult(NamedTuple):
    """The answer to ``cluster.transfer_leadership``."""

    accepted: bool
    reason: str | None


class MembershipResult(NamedTuple):
    """The answer to ``add_server``, ``remove_server``, ``add_learner`` and ``promote``:
    whether the leader started the change (``accepted``) and, if not, the ``reason``."""

    accepted: bool
    reason: str | None


class Input(NamedTuple):
    """A recorded user input, as returned by ``step()`` when it replays one."""

    kind: str
    args: tuple[Any, ...]


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
