"""The key-value state machine every replica runs: data, expiry and client sessions.

Each replica applies the same commands in the same order (§5.3), so each must reach
the same state from them, and nothing else may decide it. Three things here rest on
that:

- **Sessions (thesis §6.3).** A client numbers its commands; the machine remembers, per
  client, the last number it applied and its result. A command that comes again (the
  client retried after losing the reply, or the network duplicated it) is not applied
  again: the client gets the remembered result. The table is part of the state, so it
  is in every snapshot and survives restarts; otherwise a replica restored from a
  snapshot would apply a retried command twice.
- **Expiry by replicated time.** The leader stamps its clock into each command
  (``Command.stamp_ms``). The machine's clock is the largest stamp it has applied, so
  it is a function of the log: a key put with ``ttl_ms`` vanishes at the same log index
  on every replica, however late a replica applies the entry. The teaching switch
  ``local_clock`` replaces it by each server's own clock at the moment it applies the
  entry, as a naive implementation would; replicas that apply the same entry at
  different times then disagree (lesson 09 shows it).
- **Results.** ``apply`` keeps the result of each command in the client's session,
  where the server that took the request finds it to answer the client.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from ..check import freeze
from ..errors import LuminousError
from .commands import Append, Cas, Command, Delete, Put

_STATE_KEYS = ("clock", "data", "expires", "index", "sessions")


class KVStateMachine:
    """A replica's key-value state: ``data`` (key -> value), ``expires`` (key -> the
    replicated time at which it expires), ``sessions`` (client -> ``[seq, result]`` of
    its last applied command), ``clock`` (the largest time stamped into an applied
    command) and ``index`` (the log index of the last command applied).

    ``dedup=False`` applies retried commands again (unsafe: a teaching switch);
    ``local_clock`` (a function returning this server's time) decides expiry by it
    instead of by replicated time (unsafe: a teaching switch); ``on_snapshot(state)``
    hears every snapshot taken (the store backs it up); ``initial`` is a state to start
    from (a restored backup); ``on_apply()`` hears that a command was applied (the
    store then looks for the answers its servers owe)."""

    def __init__(
        self,
        *,
        dedup: bool = True,
        local_clock: Callable[[], int] | None = None,
        on_snapshot: Callable[[dict[str, Any]], None] | None = None,
        on_apply: Callable[[], None] | None = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        self.data: dict[str, Any] = {}
        self.expires: dict[str, int] = {}
        self.sessions: dict[str, list[Any]] = {}
        self.clock = 0
        self.index = 0
        # Not part of the state: how this replica got here.
        self.duplicates = 0  # retried commands recognised and not applied again
        self.ignored = 0  # entries that were not KV commands
        self.dedup = dedup
        self.local_clock = local_clock
        self.on_snapshot = on_snapshot
        self.on_apply = on_apply
        self._deadlines: list[tuple[int, str]] = []  # heap of (expiry time, key)
        if initial is not None:
            self.restore(initial)

    # ------------------------------------------------------------ the log

    def apply(self, index: int, data: Any) -> None:
        """Apply the command at log ``index``."""
        if type(data) is not Command:
            self.ignored += 1  # someone proposed to the group directly: not ours
            return
        self.index = index
        self.clock = max(self.clock, data.stamp_ms)
        now = self.now()
        self._expire(now)
        session = self.sessions.get(data.client)
        if self.dedup and session is not None and data.seq <= session[0]:
            self.duplicates += 1  # thesis §6.3: already applied; its result is kept
            return
        result = self._execute(data.op, data.stamp_ms)
        self.sessions[data.client] = [data.seq, result]
        self._expire(now)
        if self.on_apply is not None:
            self.on_apply()

    def now(self) -> int:
        """The time expiry is decided by: the replicated clock, or this server's own
        clock with the ``local_clock`` teaching switch."""
        return self.clock if self.local_clock is None else self.local_clock()

    def _execute(self, op: Any, stamp_ms: int) -> Any:
        kind = type(op)
        key = op.key
        if kind is Put:
            self.data[key] = op.value
            if op.ttl_ms is None:
                self.expires.pop(key, None)
            else:
                self._set_deadline(key, stamp_ms + op.ttl_ms)
            return None
        if kind is Append:
            current = self.data.get(key)
            if current is None:
                self.data[key] = op.value
            elif type(current) is str:
                self.data[key] = current + op.value
            else:
                return {"error": f"cannot append to {key!r}: it holds {current!r}, not a string"}
            return None
        if kind is Delete:
            self.data.pop(key, None)
            self.expires.pop(key, None)
            return None
        if kind is Cas:
            if freeze(self.data.get(key)) != freeze(op.expected):
                return False
            self.expires.pop(key, None)
            if op.new is None:
                self.data.pop(key, None)
            else:
                self.data[key] = op.new
            return True
        raise LuminousError(f"unknown operation {op!r}")

    def _set_deadline(self, key: str, deadline: int) -> None:
        self.expires[key] = deadline
        heapq.heappush(self._deadlines, (deadline, key))

    def _expire(self, now: int) -> None:
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            deadline, key = heapq.heappop(deadlines)
            if self.expires.get(key) == deadline:  # not put again since
                del self.expires[key]
                self.data.pop(key, None)

    # ------------------------------------------------------------- reads

    def read(self, key: str, at_ms: int) -> Any:
        """The value of ``key`` for a read the leader took at its time ``at_ms``: None
        if missing or expired by then. Reads go through ReadIndex and change nothing;
        a later write is stamped later still, so it sees the key expired too."""
        deadline = self.expires.get(key)
        if deadline is not None:
            now = max(self.clock, at_ms) if self.local_clock is None else self.local_clock()
            if deadline <= now:
                return None
        return self.data.get(key)

    def live(self, at_ms: int | None = None) -> dict[str, Any]:
        """Every key this replica holds and its value (at ``at_ms``, if given)."""
        if at_ms is None:
            return dict(sorted(self.data.items()))
        return {k: v for k in sorted(self.data) if (v := self.read(k, at_ms)) is not None}

    # --------------------------------------------------------- snapshots

    def state(self) -> dict[str, Any]:
        """The whole state as JSON values: data, expiry times, sessions, clock, index.
        Two replicas that applied the same commands have equal states."""
        return {
            "clock": self.clock,
            "data": dict(sorted(self.data.items())),
            "expires": dict(sorted(self.expires.items())),
            "index": self.index,
            "sessions": {client: list(s) for client, s in sorted(self.sessions.items())},
        }

    def snapshot(self) -> dict[str, Any]:
        """The state, for a snapshot (§7); ``on_snapshot`` hears of it (a backup)."""
        state = self.state()
        if self.on_snapshot is not None:
            self.on_snapshot(state)
        return state

    def restore(self, value: Any) -> None:
        """Start again from a snapshot's state."""
        check_state(value)
        self.clock = value["clock"]
        self.index = value["index"]
        self.data = dict(value["data"])
        self.expires = dict(value["expires"])
        self.sessions = {client: list(s) for client, s in value["sessions"].items()}
        self._deadlines = [(deadline, key) for key, deadline in self.expires.items()]
        heapq.heapify(self._deadlines)

    def __deepcopy__(self, memo: dict[int, Any]) -> KVStateMachine:
        # Checkpoints copy replicas. Values are never changed in place (a put or an
        # append stores a new value), so copying the tables is exact; the callbacks
        # belong to the store and are shared, not copied.
        twin = KVStateMachine(
            dedup=self.dedup,
            local_clock=self.local_clock,
            on_snapshot=self.on_snapshot,
            on_apply=self.on_apply,
        )
        twin.data = dict(self.data)
        twin.expires = dict(self.expires)
        twin.sessions = {client: list(s) for client, s in self.sessions.items()}
        twin.clock, twin.index = self.clock, self.index
        twin.duplicates, twin.ignored = self.duplicates, self.ignored
        twin._deadlines = list(self._deadlines)
        return twin

    def __repr__(self) -> str:
        return (
            f"<KVStateMachine through index {self.index}, clock {self.clock} ms: "
            f"{len(self.data)} keys, {len(self.sessions)} sessions>"
        )


def check_state(value: Any) -> None:
    """Raise LuminousError unless ``value`` has the shape of a snapshot's state."""
    if not isinstance(value, dict) or sorted(value) != list(_STATE_KEYS):
        raise LuminousError(
            f"a KV state is a dict with the keys {', '.join(_STATE_KEYS)}; got "
            f"{sorted(value) if isinstance(value, dict) else type(value).__name__}"
        )
    if not all(type(value[k]) is int for k in ("clock", "index")):
        raise LuminousError("a KV state's clock and index are whole numbers")
    for name in ("data", "expires", "sessions"):
        table = value[name]
        if not isinstance(table, dict) or not all(type(k) is str for k in table):
            raise LuminousError(f"a KV state's {name} is a dict with string keys")
    if not all(type(t) is int for t in value["expires"].values()):
        raise LuminousError("a KV state's expiry times are whole numbers")
    for session in value["sessions"].values():
        if not isinstance(session, list) or len(session) != 2 or type(session[0]) is not int:
            raise LuminousError("a KV state's sessions are [seq, result] pairs")


def rebased(state: dict[str, Any], now_ms: int = 0) -> dict[str, Any]:
    """``state`` moved to a store whose clock reads ``now_ms``: each key keeps the time
    it had left to live (a restored store starts its own clock from 0)."""
    shift = now_ms - state["clock"]
    return {
        **state,
        "clock": now_ms,
        "expires": {key: t + shift for key, t in state["expires"].items()},
    }
