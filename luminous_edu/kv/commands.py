"""The commands a KVStore's log carries: typed values, not strings.

The seed made Raft generic over the data its log entries carry (``SaveLog<T, E>``)
because a store that keeps every entry as a string must parse and re-serialize at every
step and cannot grow features like expiry. Here ``T`` is ``Command``: who sent it
(``client`` and ``seq``, its session and sequence number, thesis §6.3), the time the
leader stamped into it when it took the request (``stamp_ms``: expiry is decided by
that time, never by a server's own clock), and the operation (``Put``, ``Append``,
``Delete`` or ``Cas``). ``Get`` is a command too, but gets are answered by ReadIndex
(thesis §6.4) without entering the log.

``KVCodec`` carries commands wherever the cluster copies data (a proposal, a snapshot, a
read's answer): JSON underneath, with commands tagged so that they come back as the same
typed values. User values are JSON values (None, booleans, numbers, strings, lists and
dicts with string keys).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from ..errors import DataError
from ..storage.codec import CodecError, JsonCodec, carried, shown

#: The key that marks a command in its JSON form. User values may not use it at the top
#: level of a dict (``check_value`` refuses them).
TAG = "__luminous_kv__"


@dataclass(frozen=True, slots=True)
class Get:
    """Read ``key`` (None if it is missing or expired)."""

    key: str


@dataclass(frozen=True, slots=True)
class Put:
    """Set ``key`` to ``value``; with ``ttl_ms``, the key expires that many
    milliseconds after the time the leader stamped into the command."""

    key: str
    value: Any
    ttl_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Append:
    """Add the string ``value`` to the end of ``key``'s string (a missing key starts
    empty). Keeps the key's expiry."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove ``key``."""

    key: str


@dataclass(frozen=True, slots=True)
class Cas:
    """Compare-and-set: if ``key`` holds ``expected`` (None: missing), set it to ``new``
    (None: remove it) and end its expiry. The result says whether it did."""

    key: str
    expected: Any
    new: Any


Operation = Get | Put | Append | Delete | Cas
_OPS: dict[str, type[Any]] = {
    "get": Get,
    "put": Put,
    "append": Append,
    "delete": Delete,
    "cas": Cas,
}
_NAMES = {kind: name for name, kind in _OPS.items()}
_FIELDS = {kind: tuple(field.name for field in fields(kind)) for kind in _OPS.values()}


@dataclass(frozen=True, slots=True)
class Command:
    """One client request as a log entry (the seed's ``T``): ``client`` and ``seq``
    name it for deduplication (thesis §6.3), ``stamp_ms`` is the leader's clock when it
    took the request, ``op`` what to do."""

    client: str
    seq: int
    stamp_ms: int
    op: Put | Append | Delete | Cas


def op_name(op: Any) -> str:
    """``"put"``, ``"get"``, ... for an operation."""
    return _NAMES[type(op)]


def _to_json(value: Any) -> Any:
    if type(value) is Command:
        op = value.op
        given = {name: getattr(op, name) for name in _FIELDS[type(op)]}
        return {
            TAG: "command",
            "client": value.client,
            "seq": value.seq,
            "stamp_ms": value.stamp_ms,
            "op": {TAG: op_name(op), **given},
        }
    return value


def _from_json(value: Any) -> Any:
    if type(value) is dict and value.get(TAG) == "command":
        given = dict(value["op"])
        kind = _OPS[given.pop(TAG)]
        return Command(value["client"], value["seq"], value["stamp_ms"], kind(**given))
    return value


class KVCodec:
    """JSON with typed commands: ``decode(encode(command)) == command``."""

    name = "kv"

    def encode(self, value: Any) -> str:
        return json.dumps(_to_json(value), allow_nan=False, separators=(",", ":"))

    def decode(self, blob: Any) -> Any:
        return _from_json(json.loads(blob))


def check_value(value: Any, what: str) -> Any:
    """A copy of ``value`` if it is a JSON value a command can carry unchanged (the
    caller may change its own object later); else DataError."""
    try:
        copy = carried(JSON, value)
    except CodecError as error:
        raise DataError(
            f"{what}={shown(value)} cannot be stored: {error}. Give a JSON value (None, "
            "booleans, numbers, strings, lists rather than tuples, dicts with string keys)"
        ) from None
    if type(value) is dict and TAG in value:
        raise DataError(f"{what}: the key {TAG!r} is reserved for the store's commands")
    return copy


JSON = JsonCodec()
