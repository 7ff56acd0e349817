"""The network model: delays, loss, duplication, and which links are cut.

Messages are reordered by their random delays, never otherwise. A message is lost if
its link is cut when it is sent or when it would be delivered, or if its target is down
when it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import LuminousError
from ..storage.codec import shown


@dataclass(frozen=True, slots=True)
class Network:
    """Network settings. ``delay_ms`` is the (min, max) one-way delay of a message in
    virtual milliseconds, drawn uniformly; ``drop_rate`` the probability that a message
    is lost; ``duplicate_rate`` the probability that it is delivered twice."""

    delay_ms: tuple[int, int] = (5, 15)
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        delay = self.delay_ms
        if (
            not isinstance(delay, tuple | list)
            or len(delay) != 2
            or not all(type(d) is int for d in delay)
            or not 0 <= delay[0] <= delay[1] <= 10**9
        ):
            raise LuminousError(
                f"delay_ms={shown(delay)} is not a delay range; give (min, max) whole "
                "milliseconds with 0 <= min <= max <= 10**9, for example (5, 15)"
            )
        object.__setattr__(self, "delay_ms", (delay[0], delay[1]))
        for name in ("drop_rate", "duplicate_rate"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise LuminousError(
                    f"{name}={shown(rate)} is not a probability; give a number from 0 to 1"
                )
            object.__setattr__(self, name, float(rate))

    def to_record(self) -> dict[str, Any]:
        return {
            "delay_ms": list(self.delay_ms),
            "drop_rate": self.drop_rate,
            "duplicate_rate": self.duplicate_rate,
        }


class BoundNetwork(Network):
    """``cluster.network``: the settings in force when it was read, bound to the
    cluster. Setting one (``cluster.network.drop_rate = 0.2``) changes that setting of
    the cluster's network, keeping its others, as a recorded input (``change``, the
    cluster's ``set_network``); the object then shows the settings in force. It equals a
    ``Network`` with the same settings."""

    __slots__ = ("_change",)
    _change: Callable[..., Network]

    def __init__(self, settings: Network, change: Callable[..., Network]) -> None:
        self._show(settings)
        object.__setattr__(self, "_change", change)

    def _show(self, settings: Network) -> None:
        for name in SETTINGS:
            object.__setattr__(self, name, getattr(settings, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in SETTINGS:
            raise AttributeError(
                f"le.Network has no setting {name!r}; its settings are {', '.join(SETTINGS)}"
            )
        self._show(self._change(**{name: value}))

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete the network's {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in SETTINGS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in SETTINGS))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in SETTINGS)
        return f"Network({fields})"


SETTINGS = ("delay_ms", "drop_rate", "duplicate_rate")


class Links:
    """Which links are cut: disconnected servers, partition groups, and single links
    (``cluster.cut(a, b)``). ``some_cut`` is false while every link works, which is
    what the hot paths test."""

    __slots__ = ("disconnected", "group", "pairs", "rest", "some_cut")

    def __init__(self) -> None:
        self.disconnected: set[int] = set()
        self.group: dict[int, int] = {}  # server -> partition group; empty when whole
        self.rest = 0  # the group of servers named in no group of the partition
        self.pairs: set[tuple[int, int]] = set()  # links cut one by one, (low, high)
        self.some_cut = False

    def clone(self) -> Links:
        twin = Links()
        twin.disconnected = set(self.disconnected)
        twin.group = dict(self.group)
        twin.rest = self.rest
        twin.pairs = set(self.pairs)
        twin.some_cut = self.some_cut
        return twin

    def _changed(self) -> None:
        self.some_cut = bool(self.disconnected or self.group or self.pairs)

    def join(self, server: int) -> None:
        """A server added while the network is partitioned was named in no group: it
        joins the servers named in no group."""
        if self.group:
            self.group[server] = self.rest

    def cut(self, a: int, b: int) -> bool:
        """True if messages between ``a`` and ``b`` are lost."""
        if not self.some_cut:
            return False
        if self.disconnected and (a in self.disconnected or b in self.disconnected):
            return True
        if self.pairs and ((a, b) if a < b else (b, a)) in self.pairs:
            return True
        group = self.group
        return bool(group) and group.get(a, -1) != group.get(b, -1)

    def disconnect(self, server: int) -> None:
        self.disconnected.add(server)
        self._changed()

    def connect(self, server: int) -> None:
        self.disconnected.discard(server)
        self._changed()

    def cut_link(self, a: int, b: int) -> None:
        self.pairs.add((a, b) if a < b else (b, a))
        self._changed()

    def mend_link(self, a: int, b: int) -> None:
        self.pairs.discard((a, b) if a < b else (b, a))
        self._changed()

    def link_is_cut(self, a: int, b: int) -> bool:
        """True if ``cut_link(a, b)`` cut this link (whatever else cuts it)."""
        return ((a, b) if a < b else (b, a)) in self.pairs

    def partition(self, groups: Iterable[Iterable[int]], everyone: Iterable[int]) -> None:
        self.group = {}
        for number, members in enumerate(groups):
            for server in members:
                self.group[server] = number
        rest = len(self.group) and max(self.group.values()) + 1
        self.rest = rest
        for server in everyone:
            self.group.setdefault(server, rest)
        self._changed()

    def heal(self) -> None:
        self.disconnected.clear()
        self.group = {}
        self.pairs.clear()
        self._changed()

    def describe(self) -> str:
        if not self.group:
            return "one group"
        groups: dict[int, list[int]] = {}
        for server, number in sorted(self.group.items()):
            groups.setdefault(number, []).append(server)
        return " | ".join("{" + ", ".join(f"S{s}" for s in g) + "}" for g in groups.values())
