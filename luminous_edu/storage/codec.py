"""Codecs: how entry data is copied where it enters the cluster.

A proposal's data is encoded and decoded once, and must come back equal, or the
proposal is refused before anything changes. That copy is what the cluster keeps, so
the caller's object is never shared with a server. ``JsonCodec`` (the default) takes
JSON-compatible values: None, booleans, numbers, strings, lists and dicts with string
keys. ``PickleCodec`` takes almost any Python value (tuples, dataclasses, ...). Any
object with ``name``, ``encode(value) -> str | bytes`` and ``decode(blob) -> value``
can serve as a codec.

``carried(codec, value)`` is that check, in one place for every way data comes in
(proposals, hand-made messages, initial states, the key-value store's commands, the
JSON-lines handler). Beside the round trip it refuses what would pass it and break
later: data nested more than ``MAX_NESTING`` deep (the trace, the digest and storage
walk it recursively, deeper in the stack) and whole numbers too long for Python to
turn into text (``sys.get_int_max_str_digits()``, 4,300 digits by default), which the
trace, the digest, ``export()`` and ``repr`` all do.
"""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any, Protocol

MAX_NESTING = 100  # levels of lists, tuples, dicts and sets inside one another


class CodecError(ValueError):
    """Data a codec cannot carry unchanged. The message completes "cannot ...: "."""


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


def carried(codec: Any, value: Any) -> Any:
    """``value`` as the cluster keeps it: copied through ``codec`` (encoded and decoded),
    equal to ``value`` and of the same type, nested at most ``MAX_NESTING`` deep, with
    no whole number too long to print. ``CodecError`` says what is wrong otherwise."""
    kind = type(value)
    if kind is int:
        _check_int(value)
        if type(codec) is JsonCodec:
            return value  # immutable and unchanged by JSON: nothing to copy
    elif kind in (str, bool, type(None)) and type(codec) is JsonCodec:
        return value
    name = getattr(codec, "name", type(codec).__name__)
    if type(codec) is not JsonCodec:
        _check_shape(value)  # (pickle would carry anything: look first)
    try:
        blob = codec.encode(value)
    except RecursionError:
        _check_shape(value)
        raise CodecError(f"the {name} codec cannot encode it (nested too deep)") from None
    except Exception as error:
        raise CodecError(
            f"the {name} codec cannot encode it ({type(error).__name__}: {error})"
        ) from None
    if type(codec) is JsonCodec and blob.count("[") + blob.count("{") > MAX_NESTING:
        _check_shape(value)  # (fewer brackets than that cannot nest deeper)
    try:
        copy = codec.decode(blob)
    except Exception as error:
        raise CodecError(
            f"the {name} codec cannot decode it again ({type(error).__name__}: {error})"
        ) from None
    try:
        same = type(copy) is kind and bool(copy == value)
    except Exception as error:
        raise CodecError(
            f"it cannot be compared with its copy ({type(error).__name__}: {error})"
        ) from None
    if not same:
        raise CodecError(
            f"the {name} codec brings it back as {shown(copy)}, which is not the same value"
        )
    return copy


def _check_int(value: int) -> None:
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    if limit and value.bit_length() > 3 * limit:  # (10**d needs over 3.3 d bits)
        try:
            str(value)
        except ValueError:
            raise CodecError(
                f"it holds a whole number of more than {limit:,} digits, which Python "
                "cannot turn into text (sys.set_int_max_str_digits sets that limit)"
            ) from None


def _check_shape(value: Any) -> None:
    """Nesting depth and whole numbers, without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if isinstance(item, int) and not isinstance(item, bool):
            _check_int(int(item))
        elif kind in (list, tuple, set, frozenset) or kind is dict:
            if depth >= MAX_NESTING:
                raise CodecError(
                    f"it is nested more than {MAX_NESTING} levels deep (lists, tuples, "
                    "dicts or sets inside one another); flatten it"
                )
            children = [*item.keys(), *item.values()] if kind is dict else item
            stack.extend((child, depth + 1) for child in children)


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a message: shortened, and safe even if repr raises or the
    value is too long or too deep to print."""
    try:
        text = repr(value)
    except Exception as error:
        if isinstance(value, int):  # more digits than Python turns into text
            return f"<a whole number of about {value.bit_length() * 30103 // 100000 + 1:,} digits>"
        return f"<a {type(value).__name__} object whose repr raised {type(error).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
