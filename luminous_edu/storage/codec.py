"""Codecs: how entry data is copied where it enters the cluster.

A proposal's data is encoded and decoded once, and must come back equal, or the
proposal is refused before anything changes. That copy is what the cluster keeps, so
the caller's object is never shared with a server. ``JsonCodec`` (the default) takes
JSON-compatible values: None, booleans, numbers, strings, lists and dicts with string
keys. ``PickleCodec`` takes almost any Python value (tuples, dataclasses, ...). Any
object with ``name``, ``encode(value) -> str | bytes`` and ``decode(blob) -> value``
can serve as a codec.
"""

from __future__ import annotations

import json
import pickle
from typing import Any, Protocol


class Codec(Protocol):
    name: str

    def encode(self, value: Any) -> str | bytes: ...

    def decode(self, blob: Any) -> Any: ...


class JsonCodec:
    """JSON-compatible values; the default."""

    name = "json"

    def encode(self, value: Any) -> str:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))

    def decode(self, blob: Any) -> Any:
        return json.loads(blob)


class PickleCodec:
    """Almost any Python value. Records of runs that use it cannot be loaded without
    passing ``codec=PickleCodec()`` explicitly, since unpickling can run code."""

    name = "pickle"

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, blob: Any) -> Any:
        return pickle.loads(blob)


_ATOMS = (int, str, float, bool, type(None), bytes)


def copy_value(codec: Any, value: Any) -> Any:
    """A copy of ``value`` that shares nothing mutable with it."""
    if type(value) in _ATOMS:
        return value
    return codec.decode(codec.encode(value))
