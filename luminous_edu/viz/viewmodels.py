"""View models: cluster state -> plain columns, for the dashboard's data sources.

Pure Python, no bokeh or ipywidgets import: a column table is a ``dict`` from column
name to list, and a "row" is a ``dict`` from column name to value. The dashboard feeds
these into bokeh ``ColumnDataSource``s; tests check them without a browser.

Two kinds of function live here:

- snapshot functions (``server_rows``, ``log_rows``, ``message_rows``, ...) that read
  the cluster's public views at the current step;
- small stateful helpers that turn successive snapshots into *incremental* updates:
  ``Mirror`` (which rows changed -> one batched patch and one stream per source),
  ``LogTracker`` (which log cells can have changed, from the trace, so that a step
  costs the same whatever the log's length), ``Timeline`` (terms and commit indexes
  over virtual time, folded from the trace) and ``Flights`` (messages for the
  space-time diagram, observed between updates).

Message positions. A message drawn in flight sits between its source and target at
the fraction ``(now - sent) / (due - sent)`` of the way, from the simulator's
``Event.sent`` and ``Event.due``. Link state comes from ``cluster.disconnected``,
``cluster.partition_groups`` and ``cluster.link_cut``; log cells from
``servers[i].entries(first, last)``, which copies only the entries asked for.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..check.durability import DURABILITY
from ..check.violation import FIGURE_3
from ..core import Role
from ..core.membership import Configuration
from .palette import (
    GREY,
    LIGHT_GREY,
    ROLE_COLOURS,
    VERMILLION,
    message_colour,
    server_colour,
    term_colour,
    term_text_colour,
)

if TYPE_CHECKING:
    from ..sim import Cluster, Event

Row = dict[str, Any]
Columns = dict[str, list[Any]]

DELIVER = "deliver"
ELECTION_TIMEOUT = "election_timeout"

# ------------------------------------------------------------------ columns

SERVER_COLUMNS = (
    "id",
    "name",
    "x",
    "y",
    "role",
    "colour",
    "term",
    "term_text",
    "alive",
    "connected",
    "group",
    "line_colour",
    "timer_y",
    "votes",
    "votes_text",
    "voted_for",
    "commit_index",
    "last_index",
    "member",
    "role_text",
    "fill_alpha",
    "config_text",
)
#: The election timers, apart from the servers: they drain at every step, while the rest
#: of a server's row (drawn by seven glyphs, text among them) changes rarely. In a source
#: of their own, a step redraws one bar glyph instead of recomputing all eight.
TIMER_COLUMNS = ("id", "timer", "timer_x", "timer_width", "timer_y")
LOG_COLUMNS = (
    "server",
    "index",
    "x",
    "y",
    "term",
    "term_text",
    "label",
    "data",
    "fill",
    "text_colour",
    "committed",
    "fill_alpha",
    "line_alpha",
    "hatch",
)
LOG_BLANK: Row = {
    "server": 0,
    "index": 0,
    "x": 0.0,
    "y": 0.0,
    "term": 0,
    "term_text": "",
    "label": "",
    "data": "",
    "fill": "#FFFFFF",
    "text_colour": "#FFFFFF",
    "committed": False,
    "fill_alpha": 0.0,
    "line_alpha": 0.0,
    "hatch": " ",
}
#: Log compaction (§7): one block per server over the indexes its snapshot covers.
SNAPSHOT_COLUMNS = ("server", "x", "y", "width", "end", "text", "alpha")
SNAPSHOT_BLANK: Row = {
    "server": 0,
    "x": -10.0,
    "y": -10.0,
    "width": 0.0,
    "end": -10.0,
    "text": "",
    "alpha": 0.0,
}
MARKER_COLUMNS = ("server", "kind", "x", "y", "text", "marker", "colour")
MARKER_BLANK: Row = {
    "server": 0,
    "kind": "",
    "x": -10.0,
    "y": -10.0,
    "text": "",
    "marker": "circle",
    "colour": "#FFFFFF",
}
LINK_COLUMNS = ("a", "b", "x0", "y0", "x1", "y1", "cut", "colour", "alpha", "width")
MESSAGE_COLUMNS = (
    "id",
    "source",
    "target",
    "kind",
    "short",
    "x",
    "y",
    "progress",
    "sent",
    "due",
    "fields",
    "colour",
    "alpha",
)
MESSAGE_BLANK: Row = {
    "id": 0,
    "source": 0,
    "target": 0,
    "kind": "",
    "short": "",
    "x": 0.0,
    "y": 0.0,
    "progress": 0.0,
    "sent": 0,
    "due": 0,
    "fields": "",
    "colour": "#FFFFFF",
    "alpha": 0.0,
}
PERIOD_COLUMNS = ("server", "name", "x0", "x1", "y", "value", "role", "colour", "width", "alpha")
PERIOD_BLANK: Row = {
    "server": 0,
    "name": "",
    "x0": 0,
    "x1": 0,
    "y": 0.0,
    "value": 0,
    "role": "",
    "colour": "#FFFFFF",
    "width": 0.0,
    "alpha": 0.0,
}
SPACETIME_COLUMNS = (
    "id",
    "kind",
    "x0",
    "y0",
    "x1",
    "y1",
    "status",
    "marker",
    "colour",
    "alpha",
    "fields",
    "label",
)
SPACETIME_BLANK: Row = {
    "id": 0,
    "kind": "",
    "label": "",
    "x0": 0,
    "y0": 0.0,
    "x1": 0,
    "y1": 0.0,
    "status": "",
    "marker": "circle",
    "colour": "#FFFFFF",
    "alpha": 0.0,
    "fields": "",
}

SHORT_NAMES = {
    "RequestVote": "RV",
    "RequestVoteReply": "RV reply",
    "AppendEntries": "AE",
    "AppendEntriesReply": "AE reply",
    "TimeoutNow": "TimeoutNow",
    "InstallSnapshot": "IS",
    "InstallSnapshotReply": "IS reply",
}
#: The longest field value shown whole when hovering over a message (a snapshot's
#: data can be the whole state machine).
FIELD_WIDTH = 60


def to_columns(rows: Iterable[Row], columns: Sequence[str]) -> Columns:
    """Rows -> a column table with exactly ``columns``."""
    table: Columns = {name: [] for name in columns}
    for row in rows:
        for name in columns:
            table[name].append(row[name])
    return table


# ------------------------------------------------------------------ the ring


def ring_position(position: int, count: int, radius: float = 1.0) -> tuple[float, float]:
    """Where the ``position``-th server (0-based) of ``count`` sits: clockwise from the
    top of a circle of ``radius``, rounded so that tests can compare exactly."""
    angle = math.pi / 2 - 2 * math.pi * position / count
    return round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)


def positions(cluster: Cluster) -> dict[int, tuple[float, float]]:
    ids = list(cluster.servers)
    return {sid: ring_position(k, len(ids)) for k, sid in enumerate(ids)}


def election_timers(cluster: Cluster, pending: Sequence[Event] | None = None) -> dict[int, int]:
    """The due time of every running election timer, by server."""
    events = cluster.pending() if pending is None else pending
    return {e.target: e.due for e in events if e.kind == ELECTION_TIMEOUT}


def group_of(groups: Sequence[Sequence[int]], sid: int) -> int:
    """The number of ``sid``'s partition group, or -1 when the network is whole."""
    for number, members in enumerate(groups):
        if sid in members:
            return number
    return -1


#: Membership words (``membership``): each server's place in the configuration.
VOTER, LEARNER, REMOVED = "voter", "learner", "removed"
#: During joint consensus (§6): in both halves, leaving (C_old only), joining (C_new only).
JOINT_BOTH, JOINT_OLD, JOINT_NEW = "C_old,new", "C_old only", "C_new only"


def membership(config: Configuration | None, sid: int) -> str:
    """Server ``sid``'s place in ``config`` (the cluster's configuration as the leader
    sees it, ``cluster.config``): ``voter``, ``learner``, ``removed`` (in no part of
    it), or during joint consensus ``C_old,new`` (a voter in both halves), ``C_old
    only`` (leaving) or ``C_new only`` (joining). Empty when no server is up to say."""
    if config is None:
        return ""
    if sid in config.learners:
        return LEARNER
    if config.old_voters is not None:
        old, new = sid in config.old_voters, sid in config.voters
        if old and new:
            return JOINT_BOTH
        if old or new:
            return JOINT_OLD if old else JOINT_NEW
        return REMOVED
    return VOTER if sid in config.voters else REMOVED


def role_text(role: str, member: str) -> str:
    """What the ring writes under a server: its role, and its membership unless it is
    a plain voter (``follower · learner``, ``leader · C_old,new``)."""
    return role if member in ("", VOTER) else f"{role} · {member}"


def server_rows(cluster: Cluster) -> dict[int, Row]:
    """One row per server, by id: its place on the ring, role, term, votes (its election
    timer is in ``timer_rows``), and membership (``member``: see ``membership``; a
    removed server is drawn faded)."""
    config = cluster.config
    disconnected = cluster.disconnected
    groups = cluster.partition_groups
    rows: dict[int, Row] = {}
    for sid, (x, y) in positions(cluster).items():
        view = cluster.servers[sid]
        alive = view.alive
        role = str(view.role) if alive else "down"
        votes = sorted(view.votes_granted) if alive else []
        connected = sid not in disconnected
        member = membership(config, sid)
        rows[sid] = {
            "id": sid,
            "name": f"S{sid}",
            "x": x,
            "y": y,
            "role": role,
            "colour": ROLE_COLOURS[role],
            "term": view.current_term,
            "term_text": f"term {view.current_term}",
            "alive": alive,
            "connected": connected,
            "group": group_of(groups, sid),
            "line_colour": "#000000" if connected else GREY,
            "timer_y": timer_y(y),
            "votes": len(votes),
            "votes_text": ("votes " + " ".join(f"S{v}" for v in votes)) if votes else "",
            "voted_for": "" if view.voted_for is None else f"S{view.voted_for}",
            "commit_index": view.commit_index,
            "last_index": view.last_log_index,
            "member": member,
            "role_text": role_text(role, member),
            "fill_alpha": 0.35 if member == REMOVED else 1.0,
            "config_text": f"S{sid}'s configuration: {view.config.describe()}",
        }
    return rows


def timer_y(y: float) -> float:
    """Where a server's election timer bar sits, below the server drawn at ``y``."""
    return round(y - 0.38, 6)


def timer_rows(cluster: Cluster, pending: Sequence[Event] | None = None) -> dict[int, Row]:
    """One row per server, by id: the share of the longest election timeout its running
    timer has left (0 when none runs, as for a leader or a crashed server), as a bar."""
    timers = election_timers(cluster, pending)
    longest = max(1, cluster.election_timeout_ms[1])
    now = cluster.now
    rows: dict[int, Row] = {}
    for sid, (x, y) in positions(cluster).items():
        due = timers.get(sid)
        alive = cluster.servers[sid].alive
        timer = 0.0 if due is None or not alive else min(1.0, max(0.0, (due - now) / longest))
        timer = round(timer, 4)
        rows[sid] = {
            "id": sid,
            "timer": timer,
            "timer_x": round(x - 0.25 + 0.25 * timer, 6),
            "timer_width": round(0.5 * timer, 6),
            "timer_y": timer_y(y),
        }
    return rows


def link_rows(cluster: Cluster) -> dict[tuple[int, int], Row]:
    """One row per pair of servers: the link between them, red when it is cut (by a
    partition or a disconnected server)."""
    where = positions(cluster)
    ids = sorted(where)
    rows: dict[tuple[int, int], Row] = {}
    for k, a in enumerate(ids):
        for b in ids[k + 1 :]:
            cut = cluster.link_cut(a, b)
            (x0, y0), (x1, y1) = where[a], where[b]
            rows[(a, b)] = {
                "a": a,
                "b": b,
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "cut": cut,
                "colour": VERMILLION if cut else LIGHT_GREY,
                "alpha": 0.7 if cut else 0.8,
                "width": 2.0 if cut else 1.0,
            }
    return rows


# ------------------------------------------------------------------ the log


def short_label(data: Any, kind: str = "command", width: int = 6) -> str:
    """What a log cell shows of an entry's data."""
    if kind == "noop":
        return "no-op"
    if kind == "config":
        return "config"
    text = data if isinstance(data, str) else repr(data)
    return text if len(text) <= width else text[: width - 1] + "…"


def full_label(data: Any, kind: str = "command", width: int = 120) -> str:
    """An entry's data for hovering: the whole text, up to ``width`` characters."""
    if kind == "noop":
        return "no-op (a new leader's empty entry, §8)"
    return short_label(data, kind, width)


def log_row(sid: int, entry: Any, commit_index: int) -> Row:
    committed = entry.index <= commit_index
    return {
        "server": sid,
        "index": entry.index,
        "x": float(entry.index),
        "y": float(sid),
        "term": entry.term,
        "term_text": str(entry.term),
        "label": short_label(entry.data, entry.kind),
        "data": full_label(entry.data, entry.kind),
        "fill": term_colour(entry.term),
        "text_colour": term_text_colour(entry.term),
        "committed": committed,
        "fill_alpha": 0.95 if committed else 0.35,
        "line_alpha": 1.0,
        "hatch": " " if committed else "/",
    }


def log_rows(cluster: Cluster) -> dict[tuple[int, int], Row]:
    """One row per log cell (server, index), for every entry of every server."""
    rows: dict[tuple[int, int], Row] = {}
    for sid in cluster.servers:
        view = cluster.servers[sid]
        commit = view.commit_index
        for entry in view.entries(1, view.last_log_index):
            rows[(sid, entry.index)] = log_row(sid, entry, commit)
    return rows


def snapshot_rows(cluster: Cluster) -> dict[int, Row]:
    """One row per server that has compacted its log (§7): a block over indexes 1 to
    its ``snapshot_index``, written "snapshot through i (term t)" at its right end, in
    place of the cells it no longer holds."""
    rows: dict[int, Row] = {}
    for sid in cluster.servers:
        view = cluster.servers[sid]
        through = view.snapshot_index
        if through <= 0:
            continue
        rows[sid] = {
            "server": sid,
            "x": (through + 1) / 2,  # the block spans 0.5 .. through + 0.5
            "y": float(sid),
            "width": float(through),
            "end": through + 0.5,
            "text": f"snapshot through {through} (term {view.snapshot_term})",
            "alpha": 1.0,
        }
    return rows


def marker_rows(cluster: Cluster) -> dict[tuple[int, str], Row]:
    """Markers on the log matrix: each server's commit index, and the leader's
    ``next_index`` / ``match_index`` for each follower."""
    rows: dict[tuple[int, str], Row] = {}
    for sid in cluster.servers:
        commit = cluster.servers[sid].commit_index
        rows[(sid, "commit")] = {
            "server": sid,
            "kind": "commit",
            "x": commit + 0.5,
            "y": float(sid),
            "text": f"commit {commit}",
            "marker": "dash",
            "colour": "#000000",
        }
    leader = cluster.leader
    if leader is not None:
        view = cluster.servers[leader]
        for follower, nxt in sorted(view.next_index.items()):
            rows[(follower, "next")] = {
                "server": follower,
                "kind": "next",
                "x": float(nxt),
                "y": round(follower - 0.43, 6),
                "text": f"next_index[S{follower}]={nxt}",
                "marker": "inverted_triangle",
                "colour": "#D55E00",
            }
        for follower, match in sorted(view.match_index.items()):
            rows[(follower, "match")] = {
                "server": follower,
                "kind": "match",
                "x": float(match),
                "y": round(follower + 0.43, 6),
                "text": f"match_index[S{follower}]={match}",
                "marker": "triangle",
                "colour": "#0072B2",
            }
    return rows


class LogTracker:
    """Which log cells a step can have changed, so an update reads only those.

    Per server it remembers the last index and commit index seen at the last update;
    the trace since then says which index ranges were appended or deleted. A cell is
    dirty if it was (re)written, deleted, or crossed the commit index."""

    def __init__(self) -> None:
        self.last: dict[int, int] = {}
        self.commit: dict[int, int] = {}
        self.snapshot: dict[int, int] = {}  # snapshot_index: cells at or below are gone

    def reset(self, cluster: Cluster) -> dict[tuple[int, int], Row]:
        rows = log_rows(cluster)
        for sid in cluster.servers:
            view = cluster.servers[sid]
            self.last[sid] = view.last_log_index
            self.commit[sid] = view.commit_index
            self.snapshot[sid] = view.snapshot_index
        return rows

    def changes(
        self, cluster: Cluster, events: Iterable[Any]
    ) -> tuple[dict[tuple[int, int], Row], list[tuple[int, int]]]:
        """(rows to write, cells to remove) since the last update; ``events`` are the
        trace events of the steps since then."""
        first_touched: dict[int, int] = {}

        def touch(sid: int, index: int) -> None:
            if index < first_touched.get(sid, index + 1):
                first_touched[sid] = index

        for event in events:
            rule, args = event.rule, event.args
            if rule in ("PROPOSE",):
                touch(args[0], args[2])
            elif rule in ("NOOP", "AE.3", "AE.4"):
                touch(args[0], args[1])
            elif rule in ("RESTART", "BOOT", "CRASH"):
                touch(args[0], 1)
        upserts: dict[tuple[int, int], Row] = {}
        removals: list[tuple[int, int]] = []
        for sid in cluster.servers:
            view = cluster.servers[sid]
            last, commit = view.last_log_index, view.commit_index
            old_last, old_commit = self.last.get(sid, 0), self.commit.get(sid, 0)
            start = first_touched.get(sid, old_last + 1)
            if last < old_last:  # shorter without a trace event we know: recheck the end
                start = min(start, last + 1)
            low_commit, high_commit = sorted((old_commit, commit))
            ranges = [(start, last)]
            if low_commit != high_commit:
                ranges.append((low_commit + 1, min(high_commit, last)))
            for lo, hi in ranges:
                if lo > hi:
                    continue
                for entry in cluster.servers[sid].entries(lo, hi):
                    upserts[(sid, entry.index)] = log_row(sid, entry, commit)
            removals.extend((sid, index) for index in range(last + 1, old_last + 1))
            # Compacted (§7) or covered by an installed snapshot: no longer log cells.
            through, old_through = view.snapshot_index, self.snapshot.get(sid, 0)
            if through > old_through:
                gone = range(old_through + 1, min(through, old_last, last) + 1)
                removals.extend((sid, index) for index in gone)
            self.snapshot[sid] = through
            self.last[sid], self.commit[sid] = last, commit
        return upserts, removals


# ------------------------------------------------------------------ messages


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


def message_label(message: Any) -> str:
    """The message's name as the dashboard writes it (``SHORT_NAMES``), with pre-votes
    apart from votes: ``pre-RV`` and ``pre-RV reply`` (thesis §9.6)."""
    kind = type(message).__name__
    label = SHORT_NAMES.get(kind, kind)
    if getattr(message, "pre_vote", False) is True:
        label = "pre-" + label
    return label


def short_message(message: Any) -> str:
    """The label written beside a message in flight: its name, the answer of a reply
    (✓ / ✗) and the number of entries an AppendEntries carries."""
    kind = type(message).__name__
    text = message_label(message)
    if kind == "RequestVoteReply":
        text += " ✓" if message.vote_granted else " ✗"
    elif kind == "AppendEntriesReply":
        text += " ✓" if message.success else " ✗"
    elif kind == "AppendEntries" and message.entries:
        text += f" +{len(message.entries)}"
    return text


def message_rows(cluster: Cluster, pending: Sequence[Event] | None = None) -> dict[int, Row]:
    """One row per message in flight, by event id, placed between its source and target
    by ``(now - sent) / (due - sent)``."""
    events = cluster.pending() if pending is None else pending
    where = positions(cluster)
    now = cluster.now
    rows: dict[int, Row] = {}
    for event in events:
        if event.kind != DELIVER or event.source is None:
            continue
        sent = event.sent
        span = event.due - sent
        progress = 1.0 if span <= 0 else min(1.0, max(0.0, (now - sent) / span))
        (x0, y0), (x1, y1) = where[event.source], where[event.target]
        # Stop short of the circles drawn for the servers.
        p = 0.15 + 0.7 * progress
        kind = type(event.message).__name__
        rows[event.id] = {
            "id": event.id,
            "source": event.source,
            "target": event.target,
            "kind": kind,
            "short": short_message(event.message),
            "x": round(x0 + (x1 - x0) * p, 6),
            "y": round(y0 + (y1 - y0) * p, 6),
            "progress": round(progress, 4),
            "sent": sent,
            "due": event.due,
            "fields": message_fields(event.message),
            "colour": message_colour(message_label(event.message)),
            "alpha": 1.0,
        }
    return rows


class Flights:
    """The arrows of the space-time diagram: every message from its send time
    (``Event.sent``) to its delivery, or to where it was lost, folded from ``pending()``
    and the trace between updates."""

    def __init__(self, keep: int = 300) -> None:
        self.keep = keep  # arrows kept on the diagram
        self.sent_step: dict[int, int] = {}
        self.flying: dict[int, Row] = {}  # event id -> its arrow, while in flight
        self.arrows: dict[tuple[int, int], Row] = {}  # (sent step, id) -> arrow
        self.stubs = 0

    def reset(self, cluster: Cluster, pending: Sequence[Event]) -> None:
        """After a history jump: keep the arrows of messages sent up to the current step
        (history before it is shared), and put the messages in flight back in flight."""
        step = cluster.step_count
        old = {k: a for k, a in self.arrows.items() if k[0] <= step}
        by_id = {k[1]: k for k in old if k[1] >= 0}
        self.arrows = {k: a for k, a in old.items() if a["status"] != "flight"}
        self.sent_step, self.flying = {}, {}
        for event in pending:
            if event.kind != DELIVER:
                continue
            key = by_id.get(event.id)
            self._launch(event, step if key is None else key[0])

    def observe(
        self, cluster: Cluster, pending: Sequence[Event], events: Iterable[Any]
    ) -> tuple[dict[tuple[int, int], Row], list[tuple[int, int]]]:
        """Fold the steps since the last update: (arrows to write, arrows to remove)."""
        now, step = cluster.now, cluster.step_count
        upserts: dict[tuple[int, int], Row] = {}
        live = {e.id: e for e in pending if e.kind == DELIVER}
        for event_id, event in live.items():
            if event_id not in self.flying:
                upserts[(step, event_id)] = self._launch(event, step)
        dropped_ids: set[int] = set()
        lost: list[Any] = []
        for event in events:
            if event.rule == "USER.drop":
                dropped_ids.add(event.args[3])
            elif event.rule in ("NET.cut", "NET.down", "NET.drop"):
                lost.append(event)
        for event_id in [i for i in self.flying if i not in live]:
            arrow = dict(self.flying.pop(event_id))
            key = (self.sent_step.pop(event_id), event_id)
            match = _find_loss(lost, arrow)
            if event_id in dropped_ids or match is not None:
                arrow.update(status="dropped", marker="x", x1=min(arrow["x1"], now))
            else:
                arrow.update(status="delivered", marker="circle")
            self.arrows[key] = arrow
            upserts[key] = arrow
        for event in lost:  # lost as it was sent (never scheduled): a short stub
            self.stubs += 1
            source, target = event.args[0], event.args[1]
            key = (event.step, -self.stubs)
            kind = str(event.args[2])
            label = SHORT_NAMES.get(kind, kind)
            arrow = _arrow(-1, kind, label, event.time, source, event.time, target)
            arrow.update(status="lost", marker="x", y1=round(source + 0.3 * (target - source), 6))
            arrow["fields"] = f"{event.args[2]} S{source}->S{target}: {event.sentence}"
            self.arrows[key] = arrow
            upserts[key] = arrow
        removals: list[tuple[int, int]] = []
        if len(self.arrows) > self.keep:
            done = [k for k in sorted(self.arrows) if self.arrows[k]["status"] != "flight"]
            for k in done[: len(self.arrows) - self.keep]:
                del self.arrows[k]
                upserts.pop(k, None)
                removals.append(k)
        return upserts, removals

    def _launch(self, event: Event, step: int) -> Row:
        self.sent_step[event.id] = step
        kind = type(event.message).__name__
        assert event.source is not None
        label = message_label(event.message)
        arrow = _arrow(event.id, kind, label, event.sent, event.source, event.due, event.target)
        arrow["fields"] = message_fields(event.message)
        self.flying[event.id] = arrow
        self.arrows[(step, event.id)] = arrow
        return arrow


def _arrow(event_id: int, kind: str, label: str, x0: int, y0: int, x1: int, y1: int) -> Row:
    return {
        "id": event_id,
        "kind": kind,
        "label": label,
        "x0": x0,
        "y0": float(y0),
        "x1": x1,
        "y1": float(y1),
        "status": "flight",
        "marker": "circle",
        "colour": message_colour(label),
        "alpha": 0.8,
        "fields": "",
    }


def _find_loss(lost: list[Any], arrow: Row) -> Any:
    for event in lost:
        if (
            event.rule in ("NET.cut", "NET.down")
            and event.args[0] == arrow["y0"]
            and event.args[1] == arrow["y1"]
            and event.args[2] == arrow["kind"]
            and event.time == arrow["x1"]
        ):
            lost.remove(event)
            return event
    return None


# ------------------------------------------------------------------ timelines


TERM_RULES = {"ET", "ELECT", "TERM", "LEADER", "AE.candidate", "CRASH", "RESTART", "BOOT"}
COMMIT_RULES = {"COMMIT", "AE.5", "IS.8", "CRASH", "RESTART"}


class Timeline:
    """Terms (or commit indexes) over virtual time: one row per period in which a
    server kept the same value, folded from the trace, so that changes inside a Run
    update are not lost. After each fold the periods are checked against the servers
    themselves and corrected if a rule the fold does not know changed them."""

    def __init__(self, what: str) -> None:
        assert what in ("term", "commit")
        self.what = what
        self.rows: dict[tuple[int, int], Row] = {}  # (server, start step*, n) -> period
        self.open: dict[int, tuple[int, int]] = {}  # server -> key of its open period
        self.value: dict[int, tuple[int, str]] = {}
        self.start_step: dict[tuple[int, int], int] = {}
        self.seq = 0

    def reset(self, cluster: Cluster) -> None:
        """Rebuild from the whole trace (a reset, or a jump in history). A server that
        joined later (``add_server``: a JOIN event) starts at its join, not at 0."""
        self.rows, self.open, self.value, self.start_step = {}, {}, {}, {}
        trace = cluster.trace
        joined = {e.args[0]: e for e in trace if e.rule == "JOIN"}
        for sid in cluster.servers:
            join = joined.get(sid)
            if join is None:
                self._start(sid, (0, "follower"), 0, 0)
            else:
                self._start(sid, (0, "follower"), join.time, join.step)
        self.fold(cluster, trace)

    def fold(self, cluster: Cluster, events: Iterable[Any]) -> dict[tuple[int, int], Row]:
        """Apply trace ``events``, then close the open periods at ``now``; returns the
        rows changed."""
        changed: dict[tuple[int, int], Row] = {}
        for event in events:
            new = self._change(event.rule, event.args)
            if new is None:
                continue
            sid, value = new
            self._set(sid, value, event.time, event.step, changed)
        now = cluster.now
        for sid in cluster.servers:
            self._set(sid, self._actual(cluster, sid), now, cluster.step_count, changed)
            key = self.open[sid]
            if self.rows[key]["x1"] != now:
                self.rows[key]["x1"] = now
                changed[key] = self.rows[key]
        return changed

    def _actual(self, cluster: Cluster, sid: int) -> tuple[int, str]:
        view = cluster.servers[sid]
        role = str(view.role) if view.alive else "down"
        if self.what == "term":
            return view.current_term, role
        return view.commit_index, "down" if role == "down" else "up"

    def _change(self, rule: str, args: tuple[Any, ...]) -> tuple[int, tuple[int, str]] | None:
        if self.what == "term":
            if rule not in TERM_RULES:
                return None
            sid = args[0]
            if rule in ("ET", "ELECT"):
                return sid, (args[1], "candidate")
            if rule == "TERM":
                return sid, (args[1], "follower")
            if rule == "LEADER":
                return sid, (args[2], "leader")
            if rule == "AE.candidate":
                return sid, (args[2], "follower")
            if rule == "CRASH":
                return sid, (self.value[sid][0], "down")
            return sid, (args[1], "follower")  # RESTART, BOOT
        if rule not in COMMIT_RULES:
            return None
        sid = args[0]
        if rule == "COMMIT":
            return sid, (args[1], "up")
        if rule == "AE.5":
            return sid, (args[2], "up")
        if rule == "IS.8":  # an installed snapshot: committed through its last index
            return sid, (args[1], "up")
        if rule == "CRASH":
            return sid, (self.value[sid][0], "down")
        return sid, (0, "up")  # RESTART: the commit index is volatile (Figure 2)

    def _set(
        self,
        sid: int,
        value: tuple[int, str],
        time: int,
        step: int,
        changed: dict[tuple[int, int], Row],
    ) -> None:
        if self.value.get(sid) == value:
            return
        key = self.open[sid]
        row = self.rows[key]
        if row["x0"] == time and self.start_step[key] == step:
            # Changed again within the same step and time: overwrite, do not stack up.
            row.update(self._row(sid, value, time))
            self.value[sid] = value
            changed[key] = row
            return
        row["x1"] = time
        changed[key] = row
        changed[self._start(sid, value, time, step)] = self.rows[self.open[sid]]

    def _start(self, sid: int, value: tuple[int, str], time: int, step: int) -> tuple[int, int]:
        self.seq += 1
        key = (sid, self.seq)
        self.rows[key] = self._row(sid, value, time)
        self.open[sid] = key
        self.value[sid] = value
        self.start_step[key] = step
        return key

    def _row(self, sid: int, value: tuple[int, str], time: int) -> Row:
        number, role = value
        offset = (sid - 3) * 0.06  # lines of servers with equal values stay apart
        down = role == "down"
        return {
            "server": sid,
            "name": f"S{sid}",
            "x0": time,
            "x1": time,
            "y": round(number + offset, 4),
            "value": number,
            "role": role,
            "colour": GREY if down else server_colour(sid),
            "width": 8.0 if role == "leader" else 2.5,
            "alpha": 0.35 if down else 0.9,
        }


# ------------------------------------------------------------------ storage

STORAGE_COLUMNS = ("server", "what", "x", "y", "count", "text", "flash")
#: The storage table's columns: (key, header).
STORAGE_HEADERS = (
    ("hard_state", "SaveHardState"),
    ("save_log", "SaveLog"),
    ("truncate", "TruncateLog"),
    ("snapshots", "SaveSnapshot"),
    ("compactions", "CompactLog"),
    ("writes", "disk writes"),
    ("syncs", "disk syncs"),
)
HARD_STATE_RULES = frozenset({"ET", "ELECT", "TERM", "RV.2.grant"})


class StorageCounts:
    """Storage requests each server's core made (SaveHardState, SaveLog, TruncateLog),
    counted from the trace; the snapshots its handler saved and the compactions it
    carried out (SaveSnapshot, CompactLog), and its Disk's writes and syncs, from
    ``cluster.disk_stats``.

    The trace names the rules, not the storage messages, so requests are inferred from
    the rules that emit them (Figure 2 persistence): SaveHardState once per step in
    which a server's term or vote changed (ET, ELECT, TERM, RV.2.grant), SaveLog per
    entry appended (PROPOSE, NOOP, AE.4), TruncateLog per conflict (AE.3)."""

    def __init__(self) -> None:
        self.counts: dict[int, dict[str, int]] = {}
        self.hard_step: dict[int, int] = {}  # server -> last step a save was counted
        self.shown: dict[tuple[int, str], int] = {}  # the counts of the last rows()

    def reset(self, cluster: Cluster) -> None:
        self.counts = {sid: {k: 0 for k, _ in STORAGE_HEADERS} for sid in cluster.servers}
        self.hard_step = {}
        self.fold(cluster.trace)

    def fold(self, events: Iterable[Any]) -> None:
        for event in events:
            rule = event.rule
            if rule in HARD_STATE_RULES:
                sid = event.args[0]
                if self.hard_step.get(sid) != event.step:
                    self.hard_step[sid] = event.step
                    self.counts[sid]["hard_state"] += 1
            elif rule in ("PROPOSE", "NOOP"):
                self.counts[event.args[0]]["save_log"] += 1
            elif rule == "AE.4":
                sid, first, last = event.args[0], event.args[1], event.args[2]
                self.counts[sid]["save_log"] += max(0, last - first + 1)
            elif rule == "AE.3":
                self.counts[event.args[0]]["truncate"] += 1

    def rows(self, cluster: Cluster, flash: bool = True) -> dict[Any, Row]:
        """One row per table cell, by (server, column); with ``flash``, the cells whose
        count changed since the last call are highlighted."""
        rows: dict[Any, Row] = {}
        for sid in cluster.servers:
            counts: dict[str, int | None] = dict(self.counts[sid])
            disk = cluster.disk_stats(sid)
            for what in ("snapshots", "compactions", "writes", "syncs"):
                counts[what] = disk[what]
            for x, (what, header) in enumerate(STORAGE_HEADERS):
                count = counts[what]
                number = -1 if count is None else count
                old = self.shown.get((sid, what))
                self.shown[(sid, what)] = number
                rows[(sid, what)] = {
                    "server": sid,
                    "what": header,
                    "x": float(x),
                    "y": float(sid),
                    "count": number,
                    "text": "n/a" if count is None else str(count),
                    "flash": 0.45 if flash and old is not None and old != number else 0.0,
                }
        return rows


# ------------------------------------------------------------------ panels


@dataclass(frozen=True)
class SafetyRow:
    property: str
    statement: str
    ok: bool
    first_step: int | None
    detail: str


def safety_rows(cluster: Cluster) -> list[SafetyRow]:
    """The five Figure 3 properties, then Durability: pass/fail and the first step."""
    first: dict[str, Any] = {}
    for violation in cluster.violations:
        first.setdefault(violation.property, violation)
    statements = {
        **FIGURE_3,
        DURABILITY: "what a server's storage handler acknowledged survives a crash "
        "(Figure 2: persistent state is updated on stable storage before responding)",
    }
    rows = []
    for name, statement in statements.items():
        found = first.get(name)
        rows.append(
            SafetyRow(
                property=name,
                statement=statement,
                ok=found is None,
                first_step=None if found is None else found.step,
                detail="" if found is None else found.detail,
            )
        )
    return rows


@dataclass(frozen=True)
class Line:
    step: int
    time: int
    server: int | None
    rule: str
    kind: str
    sentence: str


def narration(cluster: Cluster, last: int = 8) -> list[Line]:
    """The latest ``last`` trace sentences, oldest first, with the rule that fired."""
    trace = cluster.trace
    start = max(0, len(trace) - last)
    return [Line(e.step, e.time, e.server, e.rule, e.kind, e.sentence) for e in trace[start:]]


def status_text(cluster: Cluster) -> str:
    """``step N · t=N ms · leader S3 (term 2)``: the status line; after a membership
    change it also names the configuration (``cluster.config``)."""
    leader = cluster.leader
    who = "no leader"
    if leader is not None:
        who = f"leader S{leader} (term {cluster.servers[leader].current_term})"
    config = cluster.config
    if config is not None and (
        config.learners or config.joint or config.voters != tuple(cluster.servers)
    ):
        who += f" · configuration {config.describe()}"  # after a membership change
    future = cluster.history_length - cluster.step_count
    tail = f" · {future} steps ahead recorded" if future else ""
    return f"step {cluster.step_count} · t={cluster.now} ms · {who}{tail}"


def role_name(role: Role | str) -> str:
    return str(role)


# ------------------------------------------------------------------ updates


@dataclass
class Update:
    """What to send to one data source: ``patches`` in ``ColumnDataSource.patch``'s
    format ({column: [(row, value), ...]}) and ``stream`` rows to append."""

    patches: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    stream: Columns = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.patches and not any(self.stream.values())


class Mirror:
    """The rows a data source holds, by key, so an update sends only what changed.

    Rows never move: a key keeps its slot until it is removed, when the slot is blanked
    (``blank`` row: invisible) and reused by the next new key. New keys beyond the free
    slots are streamed. ``full()`` compacts and gives the whole table, for a reset."""

    def __init__(self, columns: Sequence[str], blank: Mapping[str, Any]) -> None:
        self.columns = tuple(columns)
        self.blank = dict(blank)
        self.slots: list[Row] = []
        self.slot_of: dict[Hashable, int] = {}
        self.free: list[int] = []

    def full(self, rows: Mapping[Any, Row]) -> Columns:
        self.slots = [dict(row) for row in rows.values()]
        self.slot_of = {key: n for n, key in enumerate(rows)}
        self.free = []
        return to_columns(self.slots, self.columns)

    def update(self, upserts: Mapping[Any, Row], removals: Iterable[Any] = ()) -> Update:
        out = Update()
        streamed: list[Row] = []

        def write(slot: int, row: Mapping[str, Any]) -> None:
            old = self.slots[slot]
            for name in self.columns:
                value = row[name]
                if old[name] != value or type(old[name]) is not type(value):
                    out.patches.setdefault(name, []).append((slot, value))
                    old[name] = value

        for key in removals:
            slot = self.slot_of.pop(key, None)
            if slot is not None and key not in upserts:
                write(slot, self.blank)
                self.free.append(slot)
        self.free.sort(reverse=True)
        for key, row in upserts.items():
            slot = self.slot_of.get(key)
            if slot is None and self.free:
                slot = self.free.pop()
                self.slot_of[key] = slot
            if slot is not None:
                write(slot, row)
            else:
                self.slot_of[key] = len(self.slots)
                self.slots.append(dict(row))
                streamed.append(row)
        if streamed:
            out.stream = to_columns(streamed, self.columns)
        return out

    def sync(self, rows: Mapping[Any, Row]) -> Update:
        """Make the source hold exactly ``rows``."""
        gone = [key for key in self.slot_of if key not in rows]
        return self.update(rows, gone)

    def table(self) -> Columns:
        return to_columns(self.slots, self.columns)
