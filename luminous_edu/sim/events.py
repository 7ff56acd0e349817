"""Scheduled events and the queue that orders them by (due time, id).

An event is a message delivery or a timer. Ids are never reused within a run, so an id
names one event for good. Cancelled timers stay in the heap and are skipped when they
reach the top (lazy deletion).
"""

from __future__ import annotations

import sys
from heapq import heappop, heappush
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
    sent: int = 0  # when the message was sent, or the timer set (virtual ms)

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
    """Pending events ordered by (due, id).

    Timers are reset far more often than they fire (a follower resets its election
    timer on every heartbeat), so a reset keeps the timer's id and moves its due time
    without touching the heap when the new time is later: the old heap entry is pushed
    again at the new time when it reaches the top. ``queued`` remembers, per timer, the
    heap entry that stands for it; any other entry for it is stale and skipped.
    """

    __slots__ = ("heap", "live", "next_id", "queued", "timers")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int]] = []
        self.live: dict[int, Event] = {}
        self.timers: dict[tuple[int, str], int] = {}
        self.queued: dict[int, int] = {}  # timer id -> due of its heap entry
        self.next_id = 1

    def clone(self) -> EventQueue:
        twin = EventQueue()
        twin.heap = list(self.heap)
        twin.live = dict(self.live)
        twin.timers = dict(self.timers)
        twin.queued = dict(self.queued)
        twin.next_id = self.next_id
        return twin

    def schedule(
        self,
        due: int,
        kind: str,
        target: int,
        source: int | None = None,
        message: Any = None,
        sent: int = 0,
    ) -> Event:
        event_id = self.next_id
        self.next_id = event_id + 1
        # tuple.__new__ skips the named tuple's Python-level __new__: this is hot.
        event = tuple.__new__(Event, (event_id, due, kind, target, source, message, sent))
        self.live[event_id] = event
        heappush(self.heap, (due, event_id))
        return event

    def set_timer(self, target: int, kind: str, due: int, now: int) -> None:
        """Start a server's timer, or reset it if it is running."""
        key = (target, kind)
        event_id = self.timers.get(key)
        if event_id is None:
            event_id = self.schedule(due, kind, target, sent=now).id
            self.timers[key] = event_id
            self.queued[event_id] = due
            return
        self.live[event_id] = tuple.__new__(Event, (event_id, due, kind, target, None, None, now))
        if due < self.queued[event_id]:
            heappush(self.heap, (due, event_id))
            self.queued[event_id] = due

    def cancel_timer(self, target: int, kind: str) -> None:
        old = self.timers.pop((target, kind), None)
        if old is not None:
            del self.live[old]
            del self.queued[old]

    def peek(self) -> Event | None:
        """The next event to fire, or None."""
        heap, live = self.heap, self.live
        while heap:
            due, event_id = heap[0]
            event = live.get(event_id)
            if event is not None and event.due == due:
                return event
            heappop(heap)
            if event is not None and self.queued.get(event_id) == due:
                # A timer reset to a later time: its entry moves there.
                heappush(heap, (event.due, event_id))
                self.queued[event_id] = event.due
        return None

    def pop(self) -> Event | None:
        """Remove and return the next event, or None if nothing is scheduled."""
        return self.pop_due(sys.maxsize)

    def pop_due(self, deadline: int) -> Event | None:
        """Remove and return the next event if it is due by ``deadline``; else None."""
        # peek() and _forget(), inlined: the simulator calls this once per step.
        heap, live, queued = self.heap, self.live, self.queued
        while heap:
            due, event_id = heap[0]
            event = live.get(event_id)
            if event is not None and event.due == due:
                if due > deadline:
                    return None
                heappop(heap)
                del live[event_id]
                if event.kind != DELIVER:
                    del self.timers[(event.target, event.kind)]
                    del queued[event_id]
                return event
            heappop(heap)
            if event is not None and queued.get(event_id) == due:
                # A timer reset to a later time: its entry moves there.
                heappush(heap, (event.due, event_id))
                queued[event_id] = event.due
        return None

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
            del self.timers[(event.target, event.kind)]
            del self.queued[event.id]
