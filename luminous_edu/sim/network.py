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
            or not 0 <= delay[0] <= delay[1]
        ):
            raise LuminousError(
                f"delay_ms={shown(delay)} is not a delay range; give (min, max) whole "
                "milliseconds with 0 <= min <= max, for example (5, 15)"
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
    """Which links are cut: disconnected servers, and partition groups."""

    __slots__ = ("disconnected", "group", "rest")

    def __init__(self) -> None:
        self.disconnected: set[int] = set()
        self.group: dict[int, int] = {}  # server -> partition group; empty when whole
        self.rest = 0  # the group of servers named in no group of the partition

    def clone(self) -> Links:
        twin = Links()
        twin.disconnected = set(self.disconnected)
        twin.group = dict(self.group)
        twin.rest = self.rest
        return twin

    def join(self, server: int) -> None:
        """A server added while the network is partitioned was named in no group: it
        joins the servers named in no group."""
        if self.group:
            self.group[server] = self.rest

    def cut(self, a: int, b: int) -> bool:
        if self.disconnected and (a in self.disconnected or b in self.disconnected):
            return True
        group = self.group
        return bool(group) and group.get(a, -1) != group.get(b, -1)

    def partition(self, groups: Iterable[Iterable[int]], everyone: Iterable[int]) -> None:
        self.group = {}
        for number, members in enumerate(groups):
            for server in members:
                self.group[server] = number
        rest = len(self.group) and max(self.group.values()) + 1
        self.rest = rest
        for server in everyone:
            self.group.setdefault(server, rest)

    def heal(self) -> None:
        self.disconnected.clear()
        self.group = {}

    def describe(self) -> str:
        if not self.group:
            return "one group"
        groups: dict[int, list[int]] = {}
        for server, number in sorted(self.group.items()):
            groups.setdefault(number, []).append(server)
        return " | ".join("{" + ", ".join(f"S{s}" for s in g) + "}" for g in groups.values())
