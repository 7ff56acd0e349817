"""Sequential specifications for the linearizability checker: a register and a
key-value store, and the protocol a model of your own follows.

A model says what one object does when operations reach it one at a time:

- ``init()`` is the state before any operation. A model that partitions its history
  gets each partition's label instead: ``init(label)``.
- ``step(state, input, output)`` returns ``(ok, new_state)``: ``ok`` says whether an
  operation with this ``input`` could have returned this ``output`` in ``state``, and
  ``new_state`` is the state after it. ``output`` is None when the outcome is unknown
  (the client gave up): accept any outcome and return the state as if the operation
  took effect. ``step`` must not change ``state``: return a new one. States are
  compared with ``==`` and kept in a set, so they must be hashable (tuples, frozensets,
  strings, numbers; ``freeze`` below turns JSON values into such).
- ``partition(operations)`` (optional) splits a history into independent parts, as a
  list of ``(label, operations)``: a history is linearizable exactly when each part
  is. A key-value store splits by key (Porcupine's trick), which turns one hard search
  into many small ones.
- ``describe(input, output)`` (optional) is a short text for an operation, such as
  ``get('x') -> '1'``; ``describe_state(state)`` (optional) one for a state.
- ``validate(operation)`` (optional) raises ``LuminousError`` for an operation the
  model cannot take, before any search.

Built in: ``"register"`` (one register: ``{"op": "read"}`` -> ``{"value": v}``,
``{"op": "write", "value": v}`` -> ``{"ok": True}``, ``{"op": "cas", "from": a, "to":
b}`` -> ``{"ok": bool}``) and ``"kv"`` (``KVModel``: get, put, append, delete and
compare-and-set per key, with keys that may expire).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..errors import LuminousError


@runtime_checkable
class Model(Protocol):
    """What ``check_linearizable`` needs of a model (see the module docstring)."""

    def init(self) -> Any: ...

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]: ...


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value, equal exactly when the values are equal as
    JSON: lists become tagged tuples, dicts sorted tagged tuples, and booleans stay
    apart from the numbers 0 and 1 (which Python's ``True == 1`` would merge)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return ("bool", value)
    if kind is list or kind is tuple:
        return ("list", tuple(freeze(item) for item in value))
    if kind is dict:
        return ("dict", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        return ("repr", kind.__name__, repr(value))
    return (kind.__name__, value)


def thaw(state: Any) -> Any:
    """The JSON value a ``freeze``d value stands for (for descriptions)."""
    if type(state) is tuple and state:
        tag = state[0]
        if tag == "bool":
            return state[1]
        if tag == "list":
            return [thaw(item) for item in state[1]]
        if tag == "dict":
            return {k: thaw(v) for k, v in state[1]}
        if tag == "repr":
            return state[2]
        return state[1]
    return state


def _show(value: Any) -> str:
    return repr(value) if value is not None else "None"


def _require_dict(operation: Any, what: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LuminousError(
            f"{operation!r}: its {what} should be a dict such as {{'op': 'get', 'key': 'x'}}"
        )
    return value


def _validate(operation: Any, model: str, fields: Mapping[str, tuple[str, ...]]) -> Any:
    """The input of ``operation`` if it names one of the operations in ``fields`` and
    has the fields that operation needs (and its output is a dict or None)."""
    given = _require_dict(operation, "input", operation.input)
    op = given.get("op")
    if not isinstance(op, str) or op not in fields:
        raise LuminousError(
            f"{operation!r}: a {model} operation is one of {', '.join(fields)}, not {op!r}"
        )
    missing = [field for field in fields[op] if field not in given]
    if missing:
        raise LuminousError(f"{operation!r}: a {model} {op} needs {', '.join(missing)}")
    if operation.output is not None:
        _require_dict(operation, "output", operation.output)
    return given


def _cas_text(arguments: list[Any], output: Any) -> str:
    result = "?" if output is None else ("ok" if output.get("ok") else "fail")
    return f"cas({', '.join(_show(a) for a in arguments)}) -> {result}"


def _got(output: Any) -> str:
    return "?" if output is None else _show(output.get("value"))


class RegisterModel:
    """One register holding a value, None at first (Porcupine's etcd model).

    ``{"op": "read"}`` -> ``{"value": v}``; ``{"op": "write", "value": v}`` ->
    ``{"ok": True}``; ``{"op": "cas", "from": a, "to": b}`` -> ``{"ok": bool}``: the
    register takes ``b`` exactly when it held ``a``."""

    name = "register"
    #: Each operation and the input fields it needs.
    FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "read": (),
        "write": ("value",),
        "cas": ("from", "to"),
    }

    def __init__(self, initial: Any = None) -> None:
        self.initial = freeze(initial)

    def init(self) -> Any:
        return self.initial

    def validate(self, operation: Any) -> None:
        _validate(operation, "register", self.FIELDS)

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        op = input["op"]
        if op == "read":
            return output is None or freeze(output.get("value")) == state, state
        if op == "write":
            return True, freeze(input["value"])
        matches = freeze(input["from"]) == state  # cas
        if output is not None and bool(output.get("ok")) != matches:
            return False, state
        return True, (freeze(input["to"]) if matches else state)

    def describe(self, input: Any, output: Any) -> str:
        op = input.get("op")
        if op == "read":
            return f"read() -> {_got(output)}"
        if op == "write":
            return f"write({_show(input.get('value'))})"
        return _cas_text([input.get("from"), input.get("to")], output)

    def describe_state(self, state: Any) -> str:
        return _show(thaw(state))


class _Possible(frozenset[tuple[Any, bool]]):
    """A key whose value is one of several ``(value, expiring)`` pairs: after a put with
    a time to live, the key may have expired at any moment the checker cannot see."""


class KVModel:
    """A key-value store, partitioned by key: each key is a value, None when missing.

    - ``{"op": "get", "key": k}`` -> ``{"value": v}``
    - ``{"op": "put", "key": k, "value": v}`` (and ``"ttl_ms": n``: the key may vanish
      any time after the put) -> anything
    - ``{"op": "append", "key": k, "value": s}``: the string ``s`` is added to the end
      (a missing key starts empty); appending to a value that is not a string fails,
      with an output holding ``"error"``. Appending keeps a key's time to live.
    - ``{"op": "delete", "key": k}`` -> anything
    - ``{"op": "cas", "key": k, "from": a, "to": b}`` -> ``{"ok": bool}``: the key takes
      ``b`` (and loses its time to live) exactly when it held ``a``.

    Expiry is modelled without clocks: a key put with ``ttl_ms`` may vanish at any
    point after the put, but once a get has seen it gone it stays gone until written
    again. ``initial`` gives keys their value before the history (a restored backup);
    keys in ``expiring`` may vanish from the start."""

    name = "kv"
    #: Each operation and the input fields it needs.
    FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "get": ("key",),
        "put": ("key", "value"),
        "append": ("key", "value"),
        "delete": ("key",),
        "cas": ("key", "from", "to"),
    }

    def __init__(
        self, initial: Mapping[str, Any] | None = None, expiring: Iterable[str] = ()
    ) -> None:
        self.initial = {key: freeze(value) for key, value in (initial or {}).items()}
        self.expiring = frozenset(expiring)

    def validate(self, operation: Any) -> None:
        given = _validate(operation, "kv", self.FIELDS)
        try:
            hash(given["key"])
        except TypeError:
            raise LuminousError(f"{operation!r}: a key must be hashable (a string)") from None

    def partition(self, operations: list[Any]) -> list[tuple[Any, list[Any]]]:
        by_key: dict[Any, list[Any]] = {}
        for operation in operations:
            by_key.setdefault(operation.input["key"], []).append(operation)
        return sorted(by_key.items(), key=lambda item: (type(item[0]).__name__, repr(item[0])))

    def init(self, key: Any = None) -> Any:
        value = self.initial.get(key)
        if key in self.expiring and value is not None:
            return _Possible({(value, True)})
        return value

    def step(self, state: Any, input: Any, output: Any) -> tuple[bool, Any]:
        if type(state) is not _Possible:
            after = _kv_step(state, False, input, output)
            if after is None:
                return False, state
            value, expiring = after
            return True, (_Possible({after}) if expiring else value)
        found: set[tuple[Any, bool]] = set()
        for value, expiring in state:
            after = _kv_step(value, expiring, input, output)
            if after is not None:
                found.add(after)
            if expiring:  # it may have expired before this operation
                after = _kv_step(None, False, input, output)
                if after is not None:
                    found.add(after)
        if not found:
            return False, state
        if len(found) == 1:
            ((value, expiring),) = found
            if not expiring:
                return True, value
        return True, _Possible(found)

    def describe(self, input: Any, output: Any) -> str:
        op, key = input.get("op"), _show(input.get("key"))
        if op == "get":
            return f"get({key}) -> {_got(output)}"
        if op == "put":
            ttl = f", ttl_ms={input['ttl_ms']}" if input.get("ttl_ms") is not None else ""
            return f"put({key}, {_show(input.get('value'))}{ttl})"
        if op == "append":
            failed = " -> error" if output is not None and "error" in output else ""
            return f"append({key}, {_show(input.get('value'))}){failed}"
        if op == "delete":
            return f"delete({key})"
        return _cas_text([input.get("key"), input.get("from"), input.get("to")], output)

    def describe_state(self, state: Any) -> str:
        if type(state) is _Possible:
            options = sorted(
                _show(thaw(value)) + (" (may expire)" if expiring else "")
                for value, expiring in state
            )
            return " or ".join(options)
        return _show(thaw(state))


def _kv_step(value: Any, expiring: bool, input: Any, output: Any) -> tuple[Any, bool] | None:
    """The key after one operation, from ``value`` (None: missing), or None if the
    operation could not have returned ``output`` there."""
    op = input["op"]
    if op == "get":
        if output is None or freeze(output.get("value")) == value:
            return value, expiring
        return None
    if op == "put":
        new = freeze(input["value"])
        return new, input.get("ttl_ms") is not None and new is not None
    if op == "append":
        suffix = input["value"]
        fails = type(suffix) is not str or (value is not None and type(value) is not str)
        reported = None if output is None else "error" in output
        if fails:
            return (value, expiring) if reported is not False else None
        if reported:
            return None
        if value is None:
            return suffix, False
        return value + suffix, expiring
    if op == "delete":
        return None, False
    matches = freeze(input["from"]) == value  # cas
    if output is not None and bool(output.get("ok")) != matches:
        return None
    return (freeze(input["to"]), False) if matches else (value, expiring)


MODELS: dict[str, type[Any]] = {"register": RegisterModel, "kv": KVModel}
