"""Messages on the dashboard: every message's journey, observed step by step.

Pure Python, like ``viewmodels``. As in RaftScope, a message is a dot on the straight
line from its sender to its receiver, at ``(now - sent) / (arrival - sent)`` of the way:
the simulator says when each message in flight was sent and when it is due
(``Event.sent``, ``Event.due``). The browser moves the dots between two kernel updates
from those times (``plots.MOTION_JS``); the kernel's ``messages`` source holds the same
rows with the position at the kernel's own time (``x``, ``y``), so page and kernel agree.

``MessageHistory`` watches ``cluster.pending()`` after every step (the dashboard's Run
loop steps with ``run_until`` and looks after each step): a delivery that appears was
sent in that step, one that disappears was delivered, or lost (``USER.drop``,
``NET.cut``, ``NET.down`` in that step's trace). So a message sent and delivered between
two screen updates is still known, with its real send and delivery time and step:

- the ring shows the messages in flight, and for one update more those that arrived
  since the last update (``recent``), so the browser can finish moving them;
- the space-time diagram draws an arrow per message, from its send to its delivery,
  in virtual time or in steps (``x0``/``x1``, ``s0``/``s1``).

After a jump (Back, seek, Reset, ``refresh()``, ``attach()``) the history is rebuilt by
replaying the recorded steps of the window shown (``rebuild``): ``seek`` back, then
``step`` forward to where the cluster was, watching each step. Replaying recorded steps
changes nothing (same seed, same trace); what student code prints while they are
replayed (a storage handler's ``print``) was printed when they first ran, and is not
printed again. A cluster whose storage cannot be rewound (``JsonLinesStorage``) shows
the messages in flight only.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .palette import message_colour
from .viewmodels import (
    DELIVER,
    FIELD_WIDTH,
    SERVER_RADIUS,
    Row,
    message_label,
    positions,
    step_at_time,
)

if TYPE_CHECKING:
    from ..sim import Cluster

#: A request and its reply on one link travel side by side, this far apart.
LANE_OFFSET = 0.05
#: Messages kept on the space-time diagram (and replayed at most, times two).
KEEP = 300

MESSAGE_COLUMNS = (
    "id",
    "source",
    "target",
    "kind",
    "short",
    "label",
    "marker",
    "size",
    "colour",
    "x0",
    "y0",
    "x1",
    "y1",
    "sent",
    "due",
    "end",
    "status",
    "x",
    "y",
    "progress",
    "alpha",
    "fields",
)
MESSAGE_BLANK: Row = {
    "id": 0,
    "source": 0,
    "target": 0,
    "kind": "",
    "short": "",
    "label": "",
    "marker": "circle",
    "size": 0,
    "colour": "#FFFFFF",
    "x0": 0.0,
    "y0": 0.0,
    "x1": 0.0,
    "y1": 0.0,
    "sent": 0,
    "due": 0,
    "end": -1,
    "status": "",
    "x": 0.0,
    "y": 0.0,
    "progress": 0.0,
    "alpha": 0.0,
    "fields": "",
}
SPACETIME_COLUMNS = (
    "id",
    "kind",
    "label",
    "x0",
    "x1",
    "s0",
    "s1",
    "y0",
    "y1",
    "status",
    "marker",
    "colour",
    "alpha",
    "fields",
)
SPACETIME_BLANK: Row = {
    "id": 0,
    "kind": "",
    "label": "",
    "x0": 0,
    "x1": 0,
    "s0": 0,
    "s1": 0,
    "y0": 0.0,
    "y1": 0.0,
    "status": "",
    "marker": "circle",
    "colour": "#FFFFFF",
    "alpha": 0.0,
    "fields": "",
}

#: Rules that lose a message at its delivery (the target is down or cut off); a cut link
#: also loses messages as they are sent, and so does a drop rate (``NET.drop``).
LOSS_RULES = ("NET.cut", "NET.down")


# ----------------------------------------------------------------- what a message is


def message_fields(message: Any) -> str:
    """A message's fields as ``name=value`` text, for hovering."""
    fields = getattr(message, "_fields", None)
    if not fields:
        return repr(message)
    parts = []
    for name in fields:
        value = getattr(message, name)
        if name == "entries":
            value = f"{len(value)} entries" if value else "[] (heartbeat)"
        text = f"{value}"
        if len(text) > FIELD_WIDTH:
            text = text[: FIELD_WIDTH - 1] + "…"
        parts.append(f"{name}={text}")
    return f"{type(message).__name__}({', '.join(parts)})"


def short_message(message: Any) -> str:
    """A message in a few characters, for hovering and the space-time diagram: its
    name, the answer of a reply (✓ / ✗) and the entries an AppendEntries carries."""
    kind = type(message).__name__
    text = message_label(message)
    if kind == "RequestVoteReply":
        text += " ✓" if message.vote_granted else " ✗"
    elif kind == "AppendEntriesReply":
        text += " ✓" if message.success else " ✗"
    elif kind == "AppendEntries" and message.entries:
        text += f" +{len(message.entries)}"
    return text


#: The shape of a message on the ring: a request, a reply that says yes (or just
#: answers), a reply that says no. Colour tells the kind (``palette.MESSAGE_KINDS``).
REQUEST, YES, NO = "circle", "square", "square_x"


def message_shape(message: Any) -> tuple[str, int]:
    """(marker, size in px before projector scaling): requests are circles, replies
    squares (crossed for "no"); an AppendEntries carrying entries is larger than a
    heartbeat."""
    kind = type(message).__name__
    if not kind.endswith("Reply"):
        carries = kind == "AppendEntries" and bool(message.entries)
        return REQUEST, 15 if carries else (9 if kind == "AppendEntries" else 12)
    answer = getattr(message, "vote_granted", getattr(message, "success", True))
    return (YES if answer else NO), 11


# ----------------------------------------------------------------------- geometry


def lane(
    where: Mapping[int, tuple[float, float]], source: int, target: int
) -> tuple[float, float, float, float]:
    """Where a message from ``source`` to ``target`` travels: the straight line between
    the two servers, from the edge of one circle to the edge of the other (so a dot
    never covers a server's name, term or role), moved a little to the right of the
    direction of travel (so a request and its reply do not overlap)."""
    (ax, ay), (bx, by) = where[source], where[target]
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    inset = SERVER_RADIUS + 0.06
    ox, oy = uy * LANE_OFFSET, -ux * LANE_OFFSET
    return (
        round(ax + ux * inset + ox, 6),
        round(ay + uy * inset + oy, 6),
        round(bx - ux * inset + ox, 6),
        round(by - uy * inset + oy, 6),
    )


def progress(now: int, sent: int, arrival: int) -> float:
    """How far along its lane a message is at virtual time ``now``, from 0 to 1."""
    span = arrival - sent
    if span <= 0:
        return 1.0 if now >= arrival else 0.0
    return min(1.0, max(0.0, (now - sent) / span))


# ------------------------------------------------------------------------ history


@dataclass
class Flight:
    """One message: sent at ``sent`` ms in step ``sent_step``, due at ``due``; once it
    is out of flight, ``end`` / ``end_step`` say when and ``status`` how (delivered,
    dropped by you, lost by the network or to a crashed server)."""

    id: int
    source: int
    target: int
    message: Any
    sent: int
    due: int
    sent_step: int
    end: int = -1
    end_step: int = -1
    status: str = "flight"

    @property
    def key(self) -> tuple[int, int]:
        return (self.sent_step, self.id)

    def ring_row(self, where: Mapping[int, tuple[float, float]], now: int) -> Row:
        x0, y0, x1, y1 = lane(where, self.source, self.target)
        arrival = self.due if self.end < 0 else self.end
        p = progress(now, self.sent, arrival) if self.status == "flight" else 1.0
        marker, size = message_shape(self.message)
        label = message_label(self.message)
        return {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "kind": type(self.message).__name__,
            "short": short_message(self.message),
            "label": label,
            "marker": marker,
            "size": size,
            "colour": message_colour(label),
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
            "sent": self.sent,
            "due": self.due,
            "end": self.end,
            "status": self.status,
            "x": round(x0 + (x1 - x0) * p, 6),
            "y": round(y0 + (y1 - y0) * p, 6),
            "progress": round(p, 4),
            "alpha": 1.0 if self.status == "flight" else 0.0,
            "fields": message_fields(self.message),
        }

    def arrow(self, step: int) -> Row:
        """Its arrow on the space-time diagram (a message in flight reaches its due
        time, and the current ``step``)."""
        label = message_label(self.message)
        flying = self.status == "flight"
        return {
            "id": self.id,
            "kind": type(self.message).__name__,
            "label": short_message(self.message),
            "x0": self.sent,
            "x1": self.due if flying else self.end,
            "s0": self.sent_step,
            "s1": step if flying else self.end_step,
            "y0": float(self.source),
            "y1": float(self.target),
            "status": self.status,
            "marker": "x" if self.status in ("dropped", "lost") else "circle",
            "colour": message_colour(label),
            "alpha": 0.8,
            "fields": message_fields(self.message),
        }


def lost_stub(event: Any) -> Row:
    """A message lost as it was sent (never scheduled): a short stub of an arrow."""
    source, target, kind = event.args[0], event.args[1], str(event.args[2])
    label = {"RequestVote": "RV", "AppendEntries": "AE"}.get(kind, kind)
    return {
        "id": -1,
        "kind": kind,
        "label": label,
        "x0": event.time,
        "x1": event.time,
        "s0": event.step,
        "s1": event.step,
        "y0": float(source),
        "y1": round(source + 0.3 * (target - source), 6),
        "status": "lost",
        "marker": "x",
        "colour": message_colour(label),
        "alpha": 0.8,
        "fields": f"{kind} S{source}->S{target}: {event.sentence}",
    }


class MessageHistory:
    """The messages of the recent past, watched step by step (see the module docstring).

    ``observe(cluster)`` after each step; ``ring_rows`` and ``take_arrows`` for the
    updates; ``settle()`` once an update is sent; ``rebuild(cluster, from_step)`` after
    a jump."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.flying: dict[int, Flight] = {}
        self.recent: dict[int, Flight] = {}  # out of flight since the last update
        self.arrows: dict[tuple[int, int], Row] = {}  # finished arrows and stubs, oldest first
        self.step = -1  # the cluster's step at the last observation
        self.seen = 0  # trace events read
        self.stubs = 0
        self._changed: set[tuple[int, int]] = set()
        self._removed: list[tuple[int, int]] = []

    # ------------------------------------------------------------- watching

    def reset(self, cluster: Cluster) -> None:
        """Forget everything; the messages in flight now are the history."""
        self.flying, self.recent, self.arrows = {}, {}, {}
        self._changed, self._removed = set(), []
        self.step, self.seen = cluster.step_count, len(cluster.trace)
        for event in cluster.pending():
            if event.kind == DELIVER and event.source is not None:
                self._launch(event, min(self.step, step_at_time(cluster, event.sent)))

    def observe(self, cluster: Cluster) -> bool:
        """Take in the step taken since the last observation. False (and nothing
        changes) if the cluster is not one step further: it jumped, or steps were taken
        without being watched; ``rebuild`` then."""
        step = cluster.step_count
        if step == self.step:
            return True
        if step != self.step + 1:  # a jump, or steps not watched: rebuild instead
            return False
        now = cluster.now
        trace = cluster.trace
        events = trace[self.seen :]
        self.seen = len(trace)
        self.step = step
        live = {e.id: e for e in cluster.pending() if e.kind == DELIVER}
        dropped = {e.args[3] for e in events if e.rule == "USER.drop"}
        losses = [e for e in events if e.rule in LOSS_RULES]
        for event_id in [i for i in self.flying if i not in live]:
            flight = self.flying.pop(event_id)
            flight.end, flight.end_step = now, step
            if event_id in dropped:
                flight.status = "dropped"
            elif _take_loss(losses, flight, now):
                flight.status = "lost"
            else:
                flight.status = "delivered"
            self.recent[event_id] = flight
            self._finish(flight.key, flight.arrow(step))
        # Losses left over are of messages lost as they were sent (never in flight).
        for loss in [e for e in losses if e.rule == "NET.cut"] + [
            e for e in events if e.rule == "NET.drop"
        ]:
            self.stubs += 1
            self._finish((loss.step, -self.stubs), lost_stub(loss))
        for event_id, event in live.items():
            if event_id not in self.flying and event.source is not None:
                self._launch(event, step)
        return True

    def rebuild(self, cluster: Cluster, from_step: int) -> None:
        """The history of steps ``from_step`` .. now, by replaying them (module
        docstring); only the messages in flight if the cluster cannot be rewound."""
        with contextlib.redirect_stdout(io.StringIO()):  # printed once, when first run
            self._replay(cluster, from_step)

    def _replay(self, cluster: Cluster, from_step: int) -> None:
        from ..errors import LuminousError

        here, now = cluster.step_count, cluster.now
        start = max(0, min(from_step, here), here - 2 * self.keep)
        if start == here:
            self.reset(cluster)
            return
        try:
            cluster.seek(start)
        except LuminousError:  # storage outside the simulation: no replay
            self.reset(cluster)
            return
        try:
            self.reset(cluster)
            while cluster.step_count < here and cluster.step() is not None:
                self.observe(cluster)
        finally:
            if cluster.step_count != here:
                cluster.seek(here)
                self.reset(cluster)
            # A step restores the time of the step; ``run`` may have moved the clock on
            # past it without a step, and so does this (nothing is due before ``now``).
            if cluster.now < now:
                cluster.run(now - cluster.now)
        self.recent = {}  # what the replay saw arrive is history, not news

    # --------------------------------------------------------------- showing

    def ring_rows(self, where: Mapping[int, tuple[float, float]], now: int) -> dict[int, Row]:
        """The ring's messages: in flight, and out of flight since the last update."""
        rows: dict[int, Row] = {}
        for flights in (self.recent, self.flying):
            for event_id, flight in flights.items():
                if flight.source in where and flight.target in where:
                    rows[event_id] = flight.ring_row(where, now)
        return rows

    def all_arrows(self, step: int) -> dict[tuple[int, int], Row]:
        """Every arrow of the space-time diagram, oldest first."""
        rows = dict(self.arrows)
        for flight in self.flying.values():
            rows[flight.key] = flight.arrow(step)
        self._changed, self._removed = set(), []
        return dict(sorted(rows.items()))

    def take_arrows(self, step: int) -> tuple[dict[tuple[int, int], Row], list[tuple[int, int]]]:
        """(arrows to write, arrows to remove) since the last call."""
        rows = {k: self.arrows[k] for k in self._changed if k in self.arrows}
        for flight in self.flying.values():
            rows[flight.key] = flight.arrow(step)
        removed = [k for k in self._removed if k not in rows]
        self._changed, self._removed = set(), []
        return rows, removed

    def settle(self) -> None:
        """An update showed the recent arrivals: they leave the ring."""
        self.recent = {}

    # -------------------------------------------------------------- inside

    def _launch(self, event: Any, step: int) -> None:
        self.flying[event.id] = Flight(
            event.id, event.source, event.target, event.message, event.sent, event.due, step
        )

    def _finish(self, key: tuple[int, int], arrow: Row) -> None:
        self.arrows[key] = arrow
        self._changed.add(key)
        while len(self.arrows) > self.keep:
            oldest = next(iter(self.arrows))
            del self.arrows[oldest]
            self._changed.discard(oldest)
            self._removed.append(oldest)


def message_rows(cluster: Cluster) -> dict[int, Row]:
    """The messages in flight now, as the ring's rows, by event id."""
    history = MessageHistory()
    history.reset(cluster)
    return history.ring_rows(positions(cluster), cluster.now)


def _take_loss(losses: list[Any], flight: Flight, now: int) -> bool:
    """Is there a loss of this flight at delivery among ``losses``? (takes it out)"""
    kind = type(flight.message).__name__
    for event in losses:
        if event.time == now and event.args[:3] == (flight.source, flight.target, kind):
            losses.remove(event)
            return True
    return False
