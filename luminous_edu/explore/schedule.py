"""Schedules: what the explorer does to a cluster, one choice at a time.

A schedule is a list of *choices*, small tuples that say what to do next in words
that survive when other choices are taken out (the shrinker takes choices out):

- ``("step",)``: let the next scheduled event happen (``cluster.step()``);
- ``("next", choice, early)``: the delivery or timer ``choice`` names: a step if it is
  the next scheduled event, else fired at once (a timer only if ``early``); what the
  shrinker makes of a ``step``;
- ``("deliver", source, target, kind, key, k)``: deliver a message in flight now,
  ahead of its turn (``cluster.fire``): the ``k``-th pending ``kind`` message from
  ``source`` to ``target`` (by age; the last one if there are fewer) whose term is
  ``key`` (a number), or whose content but its term is ``key`` (a string);
- ``("drop", source, target, kind, term, k)``: lose that message (``cluster.drop``);
- ``("timer", server, kind)``: fire a server's election or heartbeat timer now;
- ``("propose", server, value)``, ``("read", server)``: a client's command or
  linearizable read, sent to ``server``;
- ``("crash", server)``, ``("restart", server)``, and ``("cut_power", server, n)``: a
  power cut inside the server's next storage call, after ``n`` disk operations;
- ``("partition", groups)``, ``("heal",)``;
- ``("duplicate", rate)``: from now on the network delivers each message twice with
  probability ``rate`` (``cluster.set_network(duplicate_rate=rate)``);
- ``("add_learner", server)``, ``("promote", server)``, ``("remove_server", server)``.

``apply`` carries out one choice through the public ``Cluster`` API and returns the
call it made, as a ``Call`` that ``to_python`` prints; or None when the choice does
not fit the cluster as it is (no such message pending, the server is down...): it is
skipped. A choice is applied exactly when it makes the cluster take a step, so the
calls printed replay the same run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ..core import Role
from ..errors import LuminousError
from ..sim import Cluster, Event

Choice = tuple[Any, ...]

#: The query every explorer read asks: the whole state machine, as a list.
READ_QUERY = "lambda values: list(values)"


def _whole_state(values: Any) -> list[Any]:
    return list(values)


class Call(NamedTuple):
    """One public-API call on the cluster: ``c.<method>(<arguments>)  # <comment>``."""

    method: str
    arguments: str
    comment: str = ""

    def line(self, name: str = "c") -> str:
        text = f"{name}.{self.method}({self.arguments})"
        return f"{text}  # {self.comment}" if self.comment else text


def message_choice(
    kind: str, event: Event, pending: Sequence[Event], by_content: bool = False
) -> Choice:
    """The ``deliver`` or ``drop`` choice naming pending message ``event``: by its term,
    or (``by_content``) by what it says but its term."""
    key: int | str = _content(event) if by_content else _term(event)
    twins = _twins(pending, event.source, event.target, type(event.message).__name__, key)
    return (kind, event.source, event.target, type(event.message).__name__, key, twins.index(event))


def _term(event: Event) -> int:
    term: int = getattr(event.message, "term", 0)
    return term


def _content(event: Event) -> str:
    """What a message says, but its term (a named tuple's other fields)."""
    message = event.message
    return repr(tuple(v for f, v in zip(message._fields, message, strict=True) if f != "term"))


def _twins(
    pending: Iterable[Event], source: int | None, target: int, kind: str, key: int | str
) -> list[Event]:
    """Pending messages of ``kind`` from ``source`` to ``target`` whose term (``key`` a
    number) or content (``key`` a string) is ``key``, oldest first."""
    same = (
        e
        for e in pending
        if e.kind == "deliver"
        and e.source == source
        and e.target == target
        and type(e.message).__name__ == kind
    )
    if isinstance(key, str):
        candidates = sorted(same, key=lambda e: e.id)
        return [e for e in candidates if _content(e) == key] or candidates
    return sorted((e for e in same if _term(e) == key), key=lambda e: e.id)


def find_event(cluster: Cluster, choice: Choice) -> Event | None:
    """The pending event a ``deliver``, ``drop`` or ``timer`` choice names, or None."""
    if choice[0] == "timer":
        _, owner, timer = choice
        for event in cluster.pending():
            if event.kind == timer and event.target == owner:
                return event
        return None
    _, source, target, kind, term, k = choice
    twins = _twins(cluster.pending(), source, target, kind, term)
    if not twins:
        return None
    found: Event = twins[min(k, len(twins) - 1)]
    return found


def apply(cluster: Cluster, choice: Choice) -> Call | None:
    """Carry out ``choice``; the call made, or None if it did not fit (skipped)."""
    before = cluster.step_count
    try:
        call = _apply(cluster, choice)
    except LuminousError:
        # The cluster refused it before changing anything (a server a shrunk schedule
        # no longer adds, say): it does not fit.
        return None
    if call is None or cluster.step_count == before:
        return None
    return call


def _apply(c: Cluster, choice: Choice) -> Call | None:
    kind = choice[0]
    servers = c.servers
    if kind == "step":
        event = c.step()
        return None if event is None else Call("step", "", str(event.describe()))  # type: ignore[union-attr]
    if kind == "next":
        event = find_event(c, choice[1])
        if event is None:
            return None
        if event == c.pending()[0]:  # its turn: step to it, the clock moving on
            c.step()
            return Call("step", "", event.describe())
        if event.kind != "deliver" and not choice[2]:
            return None  # this timer may fire only in its turn (leases count on it)
        c.fire(event.id)
        return Call("fire", str(event.id), event.describe())
    if kind in ("deliver", "timer"):
        event = find_event(c, choice)
        if event is None:
            return None
        c.fire(event.id)
        return Call("fire", str(event.id), event.describe())
    if kind == "drop":
        event = find_event(c, choice)
        if event is None:
            return None
        c.drop(event.id)
        return Call("drop", str(event.id), f"lose {event.describe()}")
    sid: int = choice[1] if len(choice) > 1 else 0
    if kind in ("propose", "read", "crash", "restart", "cut_power") and sid not in c.ids:
        return None
    if kind == "propose":
        if not servers[sid].alive or servers[sid].role is not Role.LEADER:
            return None
        c.propose(choice[2], server=sid)
        return Call("propose", f"{choice[2]!r}, server={sid}")
    if kind == "read":
        if not servers[sid].alive or servers[sid].role is not Role.LEADER:
            return None
        c.read(_whole_state, server=sid)
        return Call("read", f"{READ_QUERY}, server={sid}")
    if kind == "crash":
        if not servers[sid].alive:
            return None
        c.crash(sid)
        return Call("crash", str(sid))
    if kind == "restart":
        if servers[sid].alive:
            return None
        c.restart(sid)
        return Call("restart", str(sid))
    if kind == "cut_power":
        if not servers[sid].alive:
            return None
        c.cut_power(sid, after_operations=choice[2])
        return Call("cut_power", f"{sid}, after_operations={choice[2]}")
    if kind == "partition":
        groups = choice[1]
        if any(sid not in c.ids for group in groups for sid in group):
            return None
        if tuple(map(tuple, groups)) == c.partition_groups:
            return None
        c.partition(*[set(g) for g in groups])
        return Call("partition", ", ".join(_set(g) for g in groups))
    if kind == "heal":
        if not c.partition_groups and not c.disconnected:
            return None
        c.heal()
        return Call("heal", "")
    if kind == "duplicate":
        if c.network.duplicate_rate == choice[1]:
            return None
        c.set_network(duplicate_rate=choice[1])
        return Call("set_network", f"duplicate_rate={choice[1]!r}")
    if kind in ("add_learner", "promote", "remove_server"):
        result = getattr(c, kind)(sid)
        return Call(kind, str(sid)) if result.accepted else None
    raise ValueError(f"{choice!r} is not an explorer choice")


def _set(group: Iterable[int]) -> str:
    return "{" + ", ".join(str(i) for i in group) + "}"


def named(cluster: Cluster, choice: Choice, early_timers: bool = True) -> Choice:
    """``choice`` in words that depend less on what came before: a ``step`` becomes
    ``("next", event, early_timers)``, the delivery or timer it fires (stepped to if it
    is still next; otherwise fired at once, a timer only if ``early_timers``), and a
    message is named by its age alone, not its term (taking out an election timeout
    changes the terms of the messages after it)."""
    if choice[0] in ("deliver", "drop"):
        found = find_event(cluster, choice)
        if found is None:
            return choice
        return message_choice(choice[0], found, cluster.pending(), by_content=True)
    if choice[0] != "step":
        return choice
    pending = cluster.pending()
    if not pending:
        return choice
    event = pending[0]
    if event.kind == "deliver":
        return ("next", message_choice("deliver", event, pending, by_content=True), True)
    return ("next", ("timer", event.target, event.kind), early_timers)


def replay(
    build: Any, choices: Iterable[Choice], stop_at_violation: bool = True
) -> tuple[Cluster, list[Choice], list[Call]]:
    """Build a cluster with ``build()`` and carry out ``choices`` in order, skipping
    those that do not fit; stop after the first violation (if asked). Returns the
    cluster, the choices applied and the calls made."""
    cluster = build()
    applied: list[Choice] = []
    calls: list[Call] = []
    for choice in choices:
        call = apply(cluster, choice)
        if call is None:
            continue
        applied.append(choice)
        calls.append(call)
        if stop_at_violation and cluster.violations:
            break
    return cluster, applied, calls
