"""The trace: what happened at each step, and why, in sentences.

Servers and the simulator record raw ``(step, time, server, rule, args)`` tuples; a
``TraceEvent`` formats its sentence only when someone reads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from ..core.rules import RULES, Rule
from ..errors import LuminousError
from ..storage.codec import shown

SIM_RULES: dict[str, Rule] = {
    "NET.cut": Rule("DropMessage", "{2} from S{0} to S{1} is lost: the link between them is cut"),
    "NET.down": Rule("DropMessage", "{2} from S{0} to S{1} is lost: S{1} is down"),
    "NET.drop": Rule("DropMessage", "The network loses {2} from S{0} to S{1} (drop rate {3})"),
    "NET.dup": Rule(
        "DuplicateMessage",
        "The network duplicates {2} from S{0} to S{1} (duplicate rate {3})",
    ),
    "USER.drop": Rule("DropMessage", "You drop event #{3}: {2} from S{0} to S{1}"),
    "USER.fire": Rule("Deliver", "You fire event #{0} now, ahead of its turn: {1}"),
    "USER.timeout": Rule("Timeout", "You make S{0}'s election timer fire now"),
    "USER.inject": Rule(
        "Deliver",
        "You hand S{1} a {2} made by hand, as if from S{0} (it bypasses the network)",
    ),
    "CRASH": Rule("Crash", "S{0} crashes: it loses everything except what is on its disk"),
    "RESTART": Rule(
        "Restart",
        "S{0} restarts: its storage handler recovers term {1}, vote {2} and {3} log entries",
    ),
    "RESTART.failed": Rule("Restart", "S{0} cannot restart: {1}"),
    "JOIN": Rule(
        "AddServer",
        "S{0} joins: a new server with an empty log and a new disk; it waits for the "
        "leader to send it the log and its configuration (thesis §4.2.1)",
    ),
    "HANDLER.error": Rule(
        "HandlerError",
        "S{0} stops: its {1} raised {2} while handling {3}; nothing that depended on it "
        "was sent (see cluster.errors)",
    ),
    "POWER.armed": Rule(
        "CutPower",
        "S{0}'s power will be cut during its next storage call, after {1} more disk operations",
    ),
    "POWER": Rule(
        "Crash",
        "S{0}'s power is cut while its storage handler handles {1}: it crashes mid-call, "
        "and its disk keeps only what had reached it",
    ),
    "DISCONNECT": Rule("Disconnect", "S{0} is disconnected: every message to or from it is lost"),
    "CONNECT": Rule("Connect", "S{0} is connected to the network again"),
    "PARTITION": Rule("Partition", "The network is partitioned: {0}"),
    "CUT": Rule("CutLink", "The link between S{0} and S{1} is cut: messages between them are lost"),
    "MEND": Rule("MendLink", "The link between S{0} and S{1} works again"),
    "HEAL": Rule("Heal", "The network heals: every link works again"),
    "NETWORK": Rule(
        "Network",
        "The network changes: delay {0}..{1} ms, drop rate {2}, duplicate rate {3}",
    ),
}

ALL_RULES: dict[str, Rule] = {**RULES, **SIM_RULES}

RawEvent = tuple[int, int, int | None, str, tuple[Any, ...]]


class TraceEvent:
    """One thing that happened: at ``step`` and virtual ``time`` (ms), at ``server``
    (None for the network), by ``rule``; ``kind`` is raft.tla's name for it."""

    __slots__ = ("args", "rule", "server", "step", "time")

    def __init__(
        self, step: int, time: int, server: int | None, rule: str, args: tuple[Any, ...]
    ) -> None:
        self.step = step
        self.time = time
        self.server = server
        self.rule = rule
        self.args = args

    @property
    def kind(self) -> str:
        return ALL_RULES[self.rule].kind

    @property
    def sentence(self) -> str:
        return ALL_RULES[self.rule].template.format(*self.args)

    def __str__(self) -> str:
        return f"step {self.step:>4}  t={self.time:>5} ms  {self.sentence}"

    def __repr__(self) -> str:
        return f"<TraceEvent step={self.step} t={self.time} {self.rule}: {self.sentence}>"


class TraceIndexError(LuminousError, IndexError):
    """A position past either end of the trace (an IndexError too, as a sequence's)."""


class Trace(Sequence[TraceEvent]):
    """A read-only, lazily formatted view of the first ``stop`` events of a trace."""

    def __init__(self, raw: list[RawEvent], stop: int | None = None) -> None:
        self._raw = raw
        self._stop = len(raw) if stop is None else stop

    def __len__(self) -> int:
        return self._stop

    @overload
    def __getitem__(self, index: int) -> TraceEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceEvent]: ...

    def __getitem__(self, index: int | slice) -> TraceEvent | list[TraceEvent]:
        if isinstance(index, slice):
            for part in (index.start, index.stop, index.step):
                if part is not None and type(part) is not int:
                    raise LuminousError(
                        f"trace[{shown(index)}]: give whole numbers (or nothing) in a "
                        "slice, e.g. trace[-10:]"
                    )
            if index.step == 0:
                raise LuminousError("trace[::0]: give a step other than 0, e.g. trace[::2]")
            return [TraceEvent(*self._raw[i]) for i in range(*index.indices(self._stop))]
        if type(index) is not int:
            raise LuminousError(
                f"trace[{shown(index)}]: give a position, a whole number such as 0 (the "
                "first event) or -1 (the last), or a slice such as trace[-10:]"
            )
        position = index + self._stop if index < 0 else index
        if not 0 <= position < self._stop:
            raise TraceIndexError(
                f"trace[{index}]: there is no such event; give a position from "
                f"{-self._stop} to {self._stop - 1} (the trace has {self._stop} events)"
            )
        return TraceEvent(*self._raw[position])

    def __iter__(self) -> Iterator[TraceEvent]:
        raw = self._raw
        for i in range(self._stop):
            yield TraceEvent(*raw[i])

    def since(self, step: int) -> list[TraceEvent]:
        """Events of ``step`` and later."""
        if type(step) is not int:
            raise LuminousError(f"since({shown(step)}): give a step number, e.g. since(10)")
        return [event for event in self if event.step >= step]

    def text(self, last: int | None = None) -> str:
        """The trace (or its ``last`` events) as lines of text."""
        if last is not None and (type(last) is not int or last < 0):
            raise LuminousError(
                f"text(last={shown(last)}): give how many of the latest events to show, a "
                "whole number >= 0, or nothing for all of them"
            )
        start = 0 if last is None else max(0, self._stop - last)
        return "\n".join(str(event) for event in self[start:])

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} events>"
