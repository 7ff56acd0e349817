"""Is a history linearizable? Wing & Gong's search, with Lowe's memoization, partitioned
by key as Porcupine does.

A history is a list of ``Operation(client, input, output, call, ret)``: what a client
asked, what it was told, when it asked and when it was told. It is *linearizable*
(Herlihy & Wing, 1990) if the operations can be put in one order that (1) respects
real time, so an operation that returned before another was called comes first, and
(2) is legal for the object's sequential specification, the *model*: replaying the
operations in that order through the model gives every operation the output it got.
An operation whose outcome is unknown (the client gave up, ``ret=None``) may take
effect at any point after its call, or never.

Theory of operation
-------------------
Wing & Gong (1993) search for such an order depth first. Lay the calls and returns out
on a line in time order. The next operation in the order must be one whose call comes
before the first return still on the line (otherwise that returned operation would
come after something called after it returned). Try each such call in turn: if the
model accepts it, take the operation (and its return) off the line and go on from the
new state; if the line empties, the history is linearizable. If the first thing left
on the line is a return, nothing more can be taken from here: undo the last choice and
try the next candidate. The search fails when there is nothing left to undo.

Lowe (2017) made it practical: two paths that have taken the same *set* of operations
and reached the same model state have the same future, so a cache of (set taken, state)
pairs cuts off every path that reaches a pair seen before. Sets are bit sets (Python
ints here). Porcupine (Athalye, 2017) adds partitioning: a key-value history is
linearizable exactly when each key's sub-history is, and many small searches are
exponentially cheaper than one big one.

When a history is not linearizable, the result gives the longest prefix of operations
that could be put in order (in that order) and the operation that could not be placed
after it: the one whose return closed the window, in the deepest state the search
reached, without the model accepting it.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import LuminousError
from .models import MODELS, KVModel, RegisterModel

#: Backtracks a part's search makes before the next part takes its turn.
SLICE = 256


class Operation(NamedTuple):
    """One client operation in a history: ``client`` (a name), ``input`` and ``output``
    (plain dicts; see ``check_linearizable``'s models), and the times it was called and
    returned. ``ret=None`` (and ``output=None``) when the outcome is unknown: the client
    gave up before it heard. Times are any numbers that increase (virtual ms in a
    ``KVStore``); an operation that returns at the moment another is called overlaps it."""

    client: Any
    input: Any
    output: Any
    call: float
    ret: float | None = None

    @property
    def unknown(self) -> bool:
        """True when the outcome of the operation is unknown (``ret`` is None)."""
        return self.ret is None or self.output is None


@dataclass(frozen=True)
class PartitionOrder:
    """One part of a partitioned history (one key of a key-value history): the order
    found for its operations (all of them when the part is linearizable; otherwise the
    longest prefix that could be ordered) and, for a part that is not, the operation
    that could not be placed after that prefix."""

    label: Any
    operations: tuple[Operation, ...]
    order: tuple[Operation, ...]
    failing: Operation | None = None

    @property
    def ok(self) -> bool:
        return self.failing is None


@dataclass(frozen=True)
class LinearizabilityResult:
    """The answer of ``check_linearizable``.

    ``ok`` is True or False (None if the search ran out of time, ``timed_out``). When
    False: ``key`` names the part of the history that fails (the key, for the kv model),
    ``prefix`` is the longest sequence of its operations that could be put in order, in
    that order, and ``failing`` is the operation that cannot be placed after it.
    ``parts`` holds every part checked, with its order (the view draws them)."""

    ok: bool | None
    model: Any
    operations: tuple[Operation, ...]
    parts: tuple[PartitionOrder, ...] = ()
    timed_out: bool = False
    seconds: float = 0.0
    _failing_part: PartitionOrder | None = field(default=None, repr=False)

    @property
    def key(self) -> Any:
        return None if self._failing_part is None else self._failing_part.label

    @property
    def prefix(self) -> list[Operation]:
        return [] if self._failing_part is None else list(self._failing_part.order)

    @property
    def failing(self) -> Operation | None:
        return None if self._failing_part is None else self._failing_part.failing

    @property
    def linearization(self) -> list[Operation]:
        """For a linearizable history: every operation, part after part, each part in
        an order that works (parts are independent, so any merge of them does too)."""
        return [op for part in self.parts for op in part.order] if self.ok else []

    def describe(self, operation: Operation) -> str:
        """``operation`` in the model's words, with its client and times."""
        describe = getattr(self.model, "describe", None)
        text = describe(operation.input, operation.output) if describe else repr(operation)
        ret = "never heard back" if operation.ret is None else f"returned {operation.ret:g}"
        return f"{operation.client}: {text} (called {operation.call:g}, {ret})"

    def explain(self) -> str:
        """What the result means, in sentences."""
        count = len(self.operations)
        if self.ok:
            return f"Linearizable: {count} operations can be put in one order that works."
        if self.ok is None:
            return (
                f"Unknown: the search gave up after {self.seconds:.1f} s on {count} "
                "operations; give check_linearizable a longer timeout_s."
            )
        failing = self.failing
        assert failing is not None
        where = "" if self.key is None else f" on key {self.key!r}"
        lines = [
            f"Not linearizable{where}: the longest order that works is "
            f"{len(self.prefix)} operations long:"
        ]
        lines += [f"  {i}. {self.describe(op)}" for i, op in enumerate(self.prefix, 1)]
        describe_state = getattr(self.model, "describe_state", None)
        state = ""
        if describe_state is not None:
            state = f" (the state is then {describe_state(self._state_after_prefix())})"
        lines.append(
            f"and after them{state} nothing can come next: {self.describe(failing)} "
            "must come before anything called after it returned, and the model does not "
            "allow its output there."
        )
        return "\n".join(lines)

    def _state_after_prefix(self) -> Any:
        model = self.model
        state = _initial_state(model, self.key, partitioned=hasattr(model, "partition"))
        for op in self.prefix:
            state = model.step(state, op.input, op.output)[1]
        return state

    def __str__(self) -> str:
        return self.explain()

    def __bool__(self) -> bool:
        return bool(self.ok)


def check_linearizable(
    operations: Iterable[Any],
    model: str | Any = "kv",
    *,
    timeout_s: float | None = None,
) -> LinearizabilityResult:
    """Check whether a history of ``le.Operation`` is linearizable for ``model``.

    ``model`` is ``"kv"`` (a key-value store, checked key by key), ``"register"`` (one
    register), or an object with ``init()`` and ``step(state, input, output) -> (ok,
    new_state)`` and, optionally, ``partition``, ``describe``, ``describe_state`` and
    ``validate`` (see ``luminous_edu.check.models``). Returns a result whose ``ok``
    says whether it is; when not, ``prefix`` is the longest order that works and
    ``failing`` the operation that cannot come next (``explain()`` says it in words).
    ``timeout_s`` bounds the search (the result is then ``ok=None``)."""
    chosen = _model(model)
    history = tuple(_operation(op, i) for i, op in enumerate(_listed(operations)))
    validate = getattr(chosen, "validate", None)
    if validate is not None:
        for op in history:
            validate(op)
    partition = getattr(chosen, "partition", None)
    parts: list[tuple[Any, list[Operation]]]
    if partition is not None:
        parts = [(label, list(ops)) for label, ops in partition(list(history))]
    else:
        parts = [(None, list(history))]
    started = time.monotonic()
    deadline = None if timeout_s is None else started + float(timeout_s)
    # The parts are searched side by side, a slice of each in turn, as Porcupine runs
    # them in parallel: a part that fails quickly is found even when another part's
    # search is long. Slices are counted in backtracks, so the answer is the same on
    # every machine.
    searches = []
    for label, ops in parts:
        if ops:
            state = _initial_state(chosen, label, partitioned=partition is not None)
            searches.append((label, ops, _search(chosen, ops, state)))
    done: dict[int, PartitionOrder] = {}
    running = list(range(len(searches)))
    while running:
        for number in list(running):
            label, ops, search = searches[number]
            try:
                next(search)
                continue
            except StopIteration as finished:
                order, failing = finished.value
            running.remove(number)
            part = PartitionOrder(label, tuple(ops), tuple(ops[i] for i in order), failing)
            done[number] = part
            if failing is not None:
                parts_done = tuple(done[k] for k in sorted(done))
                seconds = time.monotonic() - started
                return LinearizabilityResult(
                    False, chosen, history, parts_done, False, seconds, part
                )
        if deadline is not None and running and time.monotonic() > deadline:
            parts_done = tuple(done[k] for k in sorted(done))
            seconds = time.monotonic() - started
            return LinearizabilityResult(None, chosen, history, parts_done, True, seconds)
    parts_done = tuple(done[k] for k in sorted(done))
    return LinearizabilityResult(
        True, chosen, history, parts_done, False, time.monotonic() - started
    )


def _model(model: Any) -> Any:
    if isinstance(model, str):
        if model not in MODELS:
            raise LuminousError(
                f"model={model!r}: the built-in models are 'kv' and 'register'; or give an "
                "object with init() and step(state, input, output) -> (ok, new_state)"
            )
        return MODELS[model]()
    if isinstance(model, type) and model in (KVModel, RegisterModel):
        return model()
    if not callable(getattr(model, "init", None)) or not callable(getattr(model, "step", None)):
        raise LuminousError(
            f"model={model!r}: a model needs init() and step(state, input, output) -> "
            "(ok, new_state); see luminous_edu.check.models"
        )
    return model


def _initial_state(model: Any, label: Any, partitioned: bool) -> Any:
    return model.init(label) if partitioned else model.init()


def _listed(operations: Iterable[Any]) -> Sequence[Any]:
    if isinstance(operations, str | bytes | dict) or not isinstance(operations, Iterable):
        raise LuminousError(
            f"check_linearizable needs a list of le.Operation, not {type(operations).__name__}"
        )
    return list(operations)


def _operation(given: Any, position: int) -> Operation:
    if isinstance(given, Operation):
        op = given
    elif isinstance(given, tuple | list) and len(given) == 5:
        op = Operation(*given)
    else:
        raise LuminousError(
            f"operation {position} is {given!r}; give le.Operation(client, input, output, "
            "call, ret)"
        )
    call, ret = op.call, op.ret
    if type(call) not in (int, float) or (ret is not None and type(ret) not in (int, float)):
        raise LuminousError(
            f"operation {position} ({op!r}): call and ret are times (numbers), ret None "
            "when the outcome is unknown"
        )
    if ret is not None and ret < call:
        raise LuminousError(f"operation {position} ({op!r}) returns before it is called")
    return op


def _search(
    model: Any, ops: list[Operation], state: Any
) -> Generator[None, None, tuple[list[int], Operation | None]]:
    """Wing & Gong's search with Lowe's cache over one part of a history, yielding now
    and then so that parts can take turns. Returns the order found (indexes into
    ``ops``) and None, or the longest prefix found and the operation that cannot be
    placed after it."""
    n = len(ops)
    infinity = float("inf")
    # The line of calls and returns, in time order; at equal times calls come first,
    # so operations that touch in time overlap.
    points = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)]
        + [(infinity if op.ret is None else op.ret, 1, i) for i, op in enumerate(ops)]
    )
    # A doubly linked list over positions 1..2n; 0 is the head, 2n+1 the tail.
    tail = 2 * n + 1
    nxt = [*range(1, 2 * n + 2), tail]
    prv = [0, *range(0, 2 * n + 1)]
    match = [-1] * (2 * n + 2)  # call position -> its return position; -1 for returns
    op_at = [-1] * (2 * n + 2)
    return_at = [0] * n
    for position, (_, kind, i) in enumerate(points, 1):
        op_at[position] = i
        if kind:
            return_at[i] = position
    for position, (_, kind, i) in enumerate(points, 1):
        if not kind:
            match[position] = return_at[i]
    inputs = [op.input for op in ops]
    outputs = [None if op.ret is None else op.output for op in ops]
    step = model.step

    linearized = 0
    seen: set[tuple[int, Any]] = set()
    calls: list[tuple[int, Any, int]] = []  # (call position, state before, set before)
    best: list[int] = []
    blocked = -1
    position = nxt[0]
    tries = 0
    while nxt[0] != tail:
        returned = match[position]
        if returned >= 0:  # a call: try to linearize its operation next
            i = op_at[position]
            ok, after = step(state, inputs[i], outputs[i])
            if ok:
                taken = linearized | (1 << i)
                key = (taken, after)
                if key not in seen:
                    seen.add(key)
                    calls.append((position, state, linearized))
                    state, linearized = after, taken
                    # lift the call and its return off the line
                    before, later = prv[position], nxt[position]
                    nxt[before], prv[later] = later, before
                    before, later = prv[returned], nxt[returned]
                    nxt[before], prv[later] = later, before
                    position = nxt[0]
                    continue
            position = nxt[position]
            continue
        # A return: nothing more can be linearized from here. Undo the last choice.
        if len(calls) > len(best) or blocked < 0:
            best = [op_at[p] for p, _, _ in calls]
            blocked = op_at[position]
        if not calls:
            return best, ops[blocked]
        tries += 1
        if tries % SLICE == 0:
            yield
        position, state, linearized = calls.pop()
        returned = match[position]
        before, later = prv[returned], nxt[returned]
        nxt[before] = prv[later] = returned
        before, later = prv[position], nxt[position]
        nxt[before] = prv[later] = position
        position = nxt[position]
    return [op_at[p] for p, _, _ in calls], None
