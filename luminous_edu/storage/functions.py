"""A storage handler written as a few plain functions, for the shortest notebook cells.

The same four jobs as ``StorageHandler``'s methods, as functions that take the Disk
first (there is no ``self``, so there is nowhere to keep state but the Disk)::

    store = le.FunctionStorage()

    @store.save_hard_state
    def save_hard_state(disk, msg):
        disk.write("hard_state", (msg.current_term, msg.voted_for))
        disk.sync()

    @store.save_log
    def save_log(disk, msg): ...

    @store.truncate_log
    def truncate_log(disk, msg): ...

    @store.load_state
    def load_state(disk): ...

    le.check_storage(store)
    cluster = le.Cluster(storage=store)   # store(disk) builds each server's handler
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..core.persistence import (
    CompactLog,
    SaveHardState,
    SaveLog,
    SaveSnapshot,
    StoredState,
    TruncateLog,
)
from .disk import Disk
from .handler import StorageHandler

F = TypeVar("F", bound=Callable[..., Any])

# The functions a FunctionStorage needs, with the parameters each takes.
PARAMETERS = {
    "save_hard_state": "disk, msg",
    "save_log": "disk, msg",
    "truncate_log": "disk, msg",
    "load_state": "disk",
    # Needed only with log compaction on (Cluster(snapshot_threshold=N)):
    "save_snapshot": "disk, msg",
    "compact_log": "disk, msg",
}
COMPACTION = ("save_snapshot", "compact_log")


class FunctionStorage:
    """A storage handler made of four plain functions registered on this object.

    Register each with a decorator (``@store.save_log``) or pass them by keyword
    (``le.FunctionStorage(save_log=f, ...)``); registering again replaces the old
    function, so re-running a notebook cell is fine. Each function does what the
    ``le.StorageHandler`` method of the same name does (read ``le.StorageHandler?``),
    with the Disk as its first argument:

    - ``save_hard_state(disk, msg)``: store ``msg.current_term`` and
      ``msg.voted_for`` together, then ``disk.sync()``;
    - ``save_log(disk, msg)``: store ``(msg.term, msg.data)`` at ``msg.index``
      (1-based), replacing any entry there, then ``disk.sync()``;
    - ``truncate_log(disk, msg)``: delete every entry with index >= ``msg.from_index``
      (inclusive), then ``disk.sync()``;
    - ``load_state(disk)``: return ``le.StoredState(current_term, voted_for,
      entries)``, entries in index order from 1; ``StoredState(0, None, [])`` on a
      fresh disk (with a snapshot saved: ``StoredState(current_term, voted_for,
      entries, snapshot)``).

    With log compaction on (``le.Cluster(snapshot_threshold=N)``), two more:

    - ``save_snapshot(disk, msg)``: store ``msg.last_index``, ``msg.last_term``,
      ``msg.data`` and ``msg.config``, replacing the snapshot before, then
      ``disk.sync()``; ``load_state`` returns it as ``le.SaveSnapshot(...)``;
    - ``compact_log(disk, msg)``: delete every entry with index <=
      ``msg.through_index`` (the snapshot has them), then ``disk.sync()``.

    ``store(disk)`` builds a handler (a ``StorageHandler``) over ``disk``, so ``store``
    goes wherever a handler class goes: ``le.Cluster(storage=store)``,
    ``le.check_storage(store)``.
    """

    def __init__(
        self,
        *,
        save_hard_state: Callable[[Disk, SaveHardState], Any] | None = None,
        save_log: Callable[[Disk, SaveLog], Any] | None = None,
        truncate_log: Callable[[Disk, TruncateLog], Any] | None = None,
        load_state: Callable[[Disk], StoredState] | None = None,
        save_snapshot: Callable[[Disk, SaveSnapshot], Any] | None = None,
        compact_log: Callable[[Disk, CompactLog], Any] | None = None,
        name: str = "FunctionStorage",
    ) -> None:
        self.name = name
        self.functions: dict[str, Callable[..., Any]] = {}
        given = {
            "save_hard_state": save_hard_state,
            "save_log": save_log,
            "truncate_log": truncate_log,
            "load_state": load_state,
            "save_snapshot": save_snapshot,
            "compact_log": compact_log,
        }
        for role, function in given.items():
            if function is not None:
                self._register(role, function)

    # The decorators. Each returns the function unchanged, so the notebook keeps it.

    def save_hard_state(self, function: F) -> F:
        """Register ``function(disk, msg)`` to handle ``SaveHardState``."""
        return self._register("save_hard_state", function)

    def save_log(self, function: F) -> F:
        """Register ``function(disk, msg)`` to handle ``SaveLog``."""
        return self._register("save_log", function)

    def truncate_log(self, function: F) -> F:
        """Register ``function(disk, msg)`` to handle ``TruncateLog``."""
        return self._register("truncate_log", function)

    def load_state(self, function: F) -> F:
        """Register ``function(disk)`` to handle ``LoadState``; it returns a
        ``StoredState``."""
        return self._register("load_state", function)

    def save_snapshot(self, function: F) -> F:
        """Register ``function(disk, msg)`` to handle ``SaveSnapshot`` (log compaction)."""
        return self._register("save_snapshot", function)

    def compact_log(self, function: F) -> F:
        """Register ``function(disk, msg)`` to handle ``CompactLog`` (log compaction)."""
        return self._register("compact_log", function)

    def missing(self, compaction: bool = False) -> list[str]:
        """The functions not registered yet; the two of log compaction only if
        ``compaction``."""
        return [
            role
            for role in PARAMETERS
            if role not in self.functions and (compaction or role not in COMPACTION)
        ]

    def __call__(self, disk: Disk) -> FunctionHandler:
        """Build a handler over ``disk``; raises if a function is missing."""
        missing = self.missing()
        if missing:
            first = missing[0]
            raise NotImplementedError(
                f"{self.name} has no {_and(missing)} yet: write "
                f"{'it' if len(missing) == 1 else 'each'} as a function and register it "
                f"with a decorator: `@store.{first}` on the line above "
                f"`def {first}({PARAMETERS[first]}):`"
            )
        return FunctionHandler(disk, self)

    def __repr__(self) -> str:
        parts = [
            f"{role}={getattr(self.functions[role], '__name__', '?')}"
            if role in self.functions
            else f"{role}=<missing>"
            for role in PARAMETERS
            if role in self.functions or role not in COMPACTION
        ]
        return f"{self.name}({', '.join(parts)})"

    def _register(self, role: str, function: F) -> F:
        if not callable(function):
            raise TypeError(
                f"{self.name}.{role} registers a function; got {function!r}. Write "
                f"`@store.{role}` on the line above `def {role}({PARAMETERS[role]}):`"
            )
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # some builtins have none: trust them
            signature = None
        if signature is not None:
            arguments = (None,) * len(PARAMETERS[role].split(", "))
            try:
                signature.bind(*arguments)
            except TypeError:
                raise TypeError(
                    f"{role} must take ({PARAMETERS[role]}), but "
                    f"{getattr(function, '__name__', function)!r} takes {signature}"
                ) from None
        self.functions[role] = function
        return function


class FunctionHandler(StorageHandler):
    """The handler a ``FunctionStorage`` builds: each method calls its function."""

    def __init__(self, disk: Disk, store: FunctionStorage) -> None:
        super().__init__(disk)
        self.store = store
        self.functions = dict(store.functions)  # as registered when the server started

    def save_hard_state(self, msg: SaveHardState) -> None:
        self.functions["save_hard_state"](self.disk, msg)

    def save_log(self, msg: SaveLog) -> None:
        self.functions["save_log"](self.disk, msg)

    def truncate_log(self, msg: TruncateLog) -> None:
        self.functions["truncate_log"](self.disk, msg)

    def load_state(self) -> StoredState:
        return self.functions["load_state"](self.disk)  # type: ignore[no-any-return]

    def save_snapshot(self, msg: SaveSnapshot) -> None:
        self._compaction("save_snapshot")(self.disk, msg)

    def compact_log(self, msg: CompactLog) -> None:
        self._compaction("compact_log")(self.disk, msg)

    def _compaction(self, role: str) -> Callable[..., Any]:
        function = self.functions.get(role)
        if function is None:
            raise NotImplementedError(
                f"{self.store.name} has no {role}({PARAMETERS[role]}): the cluster compacts "
                f"its logs (snapshot_threshold), so write one and register it with "
                f"`@store.{role}`"
            )
        return function

    def __repr__(self) -> str:
        return f"<{self.store.name} handler on {self.disk.name}>"


def _and(names: list[str]) -> str:
    names = [f"{n}({PARAMETERS[n]})" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
