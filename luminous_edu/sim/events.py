"""Scheduled events and the queue that orders them by (due time, id).

An event is a message delivery or a timer. Ids are never reused within a run, so an id
names one event for good. Cancelled timers stay in the heap and are skipped when they
reach the top (lazy deletion).
"""

from __future__ import annotations

import heapq
from typing import Any, NamedTuple

DELIVER = "deliver"
ELECTION_TIMEOUT = "election_timeout"
HEARTBEAT = "heartbeat"


class Event(NamedTuple):
    """A scheduled event. For a delivery, ``message`` travels from ``source`` to
    ``target``; for a timer, ``target`` is the server whose timer it is."""

    id: int
    due: int
    kind: str
    target: int
    source: int | None = None
    message: Any = None

    @property
    def server(self) -> int:
        return self.target

    def describe(self) -> str:
        if self.kind == DELIVER:
            return f"{type(self.message).__name__} S{self.source}->S{self.target}"
        if self.kind == ELECTION_TIMEOUT:
            return f"S{self.target}'s election timer"
        return f"S{self.target}'s heartbeat timer"

    def __str__(self) -> str:
        return f"#{self.id} at t={self.due} ms: {self.describe()}"


class EventQueue:
    __slots__ = ("heap", "live", "timers", "next_id")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int]] = []
        self.live: dict[int, Event] = {}
        self.timers: dict[tuple[int, str], int] = {}
        self.next_id = 1

    def clone(self) -> EventQueue:
        twin = EventQueue()
        twin.heap = list(self.heap)
        twin.live = dict(self.live)
        twin.timers = dict(self.timers)
        twin.next_id = self.next_id
        return twin

    def schedule(
        self, due: int, kind: str, target: int, source: int | None = None, message: Any = None
    ) -> Event:
        event = Event(self.next_id, due, kind, target, source, message)
        self.next_id += 1
        self.live[event.id] = event
        heapq.heappush(self.heap, (due, event.id))
        return event

    def set_timer(self, target: int, kind: str, due: int) -> None:
        old = self.timers.get((target, kind))
        if old is not None:
            self.live.pop(old, None)
        self.timers[(target, kind)] = self.schedule(due, kind, target).id

    def cancel_timer(self, target: int, kind: str) -> None:
        old = self.timers.pop((target, kind), None)
        if old is not None:
            self.live.pop(old, None)

    def peek(self) -> Event | None:
        heap, live = self.heap, self.live
        while heap:
            event = live.get(heap[0][1])
            if event is not None:
                return event
            heapq.heappop(heap)
        return None

    def pop(self) -> Event | None:
        event = self.peek()
        if event is not None:
            heapq.heappop(self.heap)
            self._forget(event)
        return event

    def remove(self, event_id: int) -> Event:
        """Take a pending event out of the queue; KeyError if it is not pending."""
        event = self.live[event_id]
        self._forget(event)
        return event

    def pending(self) -> list[Event]:
        return sorted(self.live.values(), key=lambda e: (e.due, e.id))

    def _forget(self, event: Event) -> None:
        del self.live[event.id]
        if event.kind != DELIVER:
            key = (event.target, event.kind)
            if self.timers.get(key) == event.id:
                del self.timers[key]
