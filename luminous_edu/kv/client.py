"""Clients of a KVStore: what a call returns, and the client's side of a request.

A client sends one request at a time, in order (a second call waits until the first
is answered). It sends each request to the server it believes leads the key's shard;
a server that does not lead answers with a hint of who does, and the client goes
there. If no answer comes within ``retry_timeout_ms`` (virtual time), the client
sends the same request again, with the same sequence number, to the next server; the
servers' session tables make sure that a request that was applied but whose answer was
lost is not applied twice (thesis §6.3). After ``give_up_after_ms`` the client gives
up: the call ends with an error, and whether it took effect is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..check import Operation
from ..errors import LuminousError
from .commands import Append, Cas, Delete, Get, Put, check_value, op_name

if TYPE_CHECKING:
    from .store import KVStore


class Handle:
    """What a client call returns. ``done`` turns True when the client hears back (or
    gives up); then ``value`` holds the answer (a get's value, a cas's True/False,
    None for the others) and ``error`` a sentence if the operation failed or the client
    gave up. ``call_ms`` and ``ret_ms`` are the virtual times the client sent the
    request and heard back; ``attempts`` counts the times it sent it."""

    def __init__(self, client: str, op: Any, input: dict[str, Any]) -> None:
        self.client = client
        self.op = op
        self.input = input
        self.seq = 0
        self.shard = 0  # the shard of its key
        self.call_ms: int | None = None
        self.ret_ms: int | None = None
        self.output: dict[str, Any] | None = None
        self.done = False
        self.value: Any = None
        self.error: str | None = None
        self.attempts = 0
        self.server: int | None = None  # the server whose answer the client took

    @property
    def operation(self) -> Operation | None:
        """This call as an ``le.Operation`` for the history (None until it is sent)."""
        if self.call_ms is None:
            return None
        return Operation(self.client, self.input, self.output, self.call_ms, self.ret_ms)

    def __repr__(self) -> str:
        text = describe(self.op)
        if not self.done:
            state = "queued" if self.call_ms is None else f"waiting since {self.call_ms} ms"
            return f"<{self.client}: {text}: {state}>"
        if self.error is not None:
            return f"<{self.client}: {text}: error at {self.ret_ms} ms: {self.error}>"
        return f"<{self.client}: {text} -> {self.value!r} (S{self.server}, {self.ret_ms} ms)>"


def describe(op: Any) -> str:
    """``put('x', '1')``, ``get('x')``... for an operation."""
    if type(op) is Get or type(op) is Delete:
        return f"{op_name(op)}({op.key!r})"
    if type(op) is Put:
        ttl = "" if op.ttl_ms is None else f", ttl_ms={op.ttl_ms}"
        return f"put({op.key!r}, {op.value!r}{ttl})"
    if type(op) is Append:
        return f"append({op.key!r}, {op.value!r})"
    return f"cas({op.key!r}, {op.expected!r}, {op.new!r})"


@dataclass
class _Session:
    """The client's side of its session: numbering, leader guesses, its queue."""

    next_seq: int
    leader: dict[int, int] = field(default_factory=dict)  # shard -> server it believes leads
    queue: list[Handle] = field(default_factory=list)
    current: Handle | None = None
    attempt: int = 0  # of the current request
    events: int = 0  # events created for this client, to order those due together


class KVClient:
    """A client of a KVStore, from ``store.client(name)``. Each call returns a
    ``Handle`` at once; run the store (``store.run(ms)``, ``store.run_until(lambda s:
    handle.done)``) for the answer to come."""

    def __init__(self, store: KVStore, name: str, first_seq: int) -> None:
        self.store = store
        self.name = name
        self.session = _Session(first_seq)

    def get(self, key: str) -> Handle:
        """Read ``key``: its value, or None if it is missing or expired. Linearizable:
        the server answers through ReadIndex (thesis §6.4)."""
        return self._call(Get(_key(key)), {"op": "get", "key": key})

    def put(self, key: str, value: Any, ttl_ms: int | None = None) -> Handle:
        """Set ``key`` to ``value`` (a JSON value, not None: use delete); with
        ``ttl_ms``, the key expires that many ms after the leader takes the request."""
        key = _key(key)
        if value is None:
            raise LuminousError(f"put({key!r}, None): a missing key reads as None; use delete")
        value = check_value(value, "value")
        if ttl_ms is not None and (type(ttl_ms) is not int or ttl_ms < 1):
            raise LuminousError(f"ttl_ms={ttl_ms!r}: give whole milliseconds >= 1, or None")
        given = {"op": "put", "key": key, "value": value}
        if ttl_ms is not None:
            given["ttl_ms"] = ttl_ms
        return self._call(Put(key, value, ttl_ms), given)

    def append(self, key: str, value: str) -> Handle:
        """Add the string ``value`` to the end of ``key``'s string."""
        key = _key(key)
        if type(value) is not str:
            raise LuminousError(f"append({key!r}, {value!r}): append adds a string")
        return self._call(Append(key, value), {"op": "append", "key": key, "value": value})

    def delete(self, key: str) -> Handle:
        """Remove ``key``."""
        key = _key(key)
        return self._call(Delete(key), {"op": "delete", "key": key})

    def cas(self, key: str, expected: Any, new: Any) -> Handle:
        """Compare-and-set: if ``key`` holds ``expected`` (None: it is missing), set it
        to ``new`` (None: remove it). The handle's value says whether it did."""
        key = _key(key)
        expected, new = check_value(expected, "expected"), check_value(new, "new")
        given = {"op": "cas", "key": key, "from": expected, "to": new}
        return self._call(Cas(key, expected, new), given)

    @property
    def pending(self) -> list[Handle]:
        """The calls not answered yet: the one in flight, then those queued."""
        current = self.session.current
        return ([current] if current is not None else []) + list(self.session.queue)

    def _call(self, op: Any, given: dict[str, Any]) -> Handle:
        handle = Handle(self.name, op, given)
        handle.seq = self.session.next_seq
        self.session.next_seq += 1
        self.store._submit(self, handle)
        return handle

    def __repr__(self) -> str:
        return f"<KVClient {self.name!r}: {len(self.pending)} pending>"


def _key(key: Any) -> str:
    if type(key) is not str or not key:
        raise LuminousError(f"key={key!r}: keys are non-empty strings")
    return key
