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
  over virtual time and over steps, folded from the trace). Messages, watched step by
  step, are in ``flights``.

Link state comes from ``cluster.disconnected``, ``cluster.partition_groups`` and
``cluster.link_cut``; log cells from ``servers[i].entries(first, last)``, which copies
only the entries asked for.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..check.durability import DURABILITY
from ..check.violation import FIGURE_3
from ..core import Role
from ..core.membership import Configuration
from .palette import (
    BLACK,
    BLUE,
    GREY,
    LIGHT_GREY,
    ROLE_COLOURS,
    VERMILLION,
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
#: A server's radius on the ring, whose own radius is 1.
SERVER_RADIUS = 0.3

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
    "line_dash",
    "votes",
    "votes_text",
    "votes_y",
    "voted_for",
    "commit_index",
    "last_index",
    "member",
    "role_text",
    "fill_alpha",
    "config_text",
)
#: The election timers, apart from the servers: they drain at every step, while the rest
#: of a server's row (drawn by several glyphs, text among them) changes rarely. ``due``
#: and ``span`` let the browser drain the timer's arc itself between two updates;
#: ``timer`` is the share left at the kernel's time.
TIMER_COLUMNS = ("id", "x", "y", "due", "span", "timer")
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
    "line_dash",
    "line_width",
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
    "line_dash": "solid",
    "line_width": 1.0,
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
LINK_COLUMNS = (
    "a",
    "b",
    "x0",
    "y0",
    "x1",
    "y1",
    "mx",
    "my",
    "cut",
    "label",
    "why",
    "colour",
    "alpha",
    "width",
)
#: The kernel's clock, for the browser's own (``plots.MOTION_JS``): virtual time and
#: step, whether Run plays and at what speed (virtual ms per real second), and a
#: counter of jumps (Back, seek, Reset, a full refresh), after which the browser shows
#: the new state at once instead of moving to it.
CLOCK_COLUMNS = ("now", "step", "running", "speed", "jump")
PERIOD_COLUMNS = (
    "server",
    "name",
    "x0",
    "x1",
    "s0",
    "s1",
    "y",
    "value",
    "role",
    "colour",
    "width",
    "alpha",
)
PERIOD_BLANK: Row = {
    "server": 0,
    "name": "",
    "x0": 0,
    "x1": 0,
    "s0": 0,
    "s1": 0,
    "y": 0.0,
    "value": 0,
    "role": "",
    "colour": "#FFFFFF",
    "width": 0.0,
    "alpha": 0.0,
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
            "line_dash": "solid" if connected else "dashed",
            "votes": len(votes),
            "votes_text": ("votes " + " ".join(f"S{v}" for v in votes)) if votes else "",
            "votes_y": votes_y(y),
            "voted_for": "" if view.voted_for is None else f"S{view.voted_for}",
            "commit_index": view.commit_index,
            "last_index": view.last_log_index,
            "member": member,
            "role_text": role_text(role, member),
            "fill_alpha": 0.35 if member == REMOVED else 1.0,
            "config_text": f"S{sid}'s configuration: {view.config.describe()}",
        }
    return rows


def votes_y(y: float) -> float:
    """Where the votes a server collected are written: under its circle and its timer."""
    return round(y - SERVER_RADIUS - 0.11, 6)


def timer_rows(cluster: Cluster, pending: Sequence[Event] | None = None) -> dict[int, Row]:
    """One row per server, by id: when its election timer fires (``due``, -1 when none
    runs, as for a leader or a crashed server) and the longest election timeout
    (``span``), from which the ring draws the time left as an arc; ``timer`` is the
    share left at the kernel's time."""
    timers = election_timers(cluster, pending)
    longest = max(1, cluster.election_timeout_ms[1])
    now = cluster.now
    rows: dict[int, Row] = {}
    for sid, (x, y) in positions(cluster).items():
        due = timers.get(sid)
        if not cluster.servers[sid].alive:
            due = None
        timer = 0.0 if due is None else min(1.0, max(0.0, (due - now) / longest))
        rows[sid] = {
            "id": sid,
            "x": x,
            "y": y,
            "due": -1 if due is None else due,
            "span": longest,
            "timer": round(timer, 4),
        }
    return rows


def link_rows(cluster: Cluster) -> dict[tuple[int, int], Row]:
    """One row per pair of servers: the link between them; a cut link (a partition or
    a disconnected server) is red, dashed and labelled "cut" at its middle, and says
    why when hovered (``why``)."""
    where = positions(cluster)
    ids = sorted(where)
    disconnected = cluster.disconnected
    rows: dict[tuple[int, int], Row] = {}
    for k, a in enumerate(ids):
        for b in ids[k + 1 :]:
            cut = cluster.link_cut(a, b)
            (x0, y0), (x1, y1) = where[a], where[b]
            down = sorted({a, b} & disconnected)
            if not cut:
                why = f"S{a}-S{b}: messages get through"
            elif down:
                why = f"S{a}-S{b} cut: " + " and ".join(f"S{d}" for d in down)
                why += " disconnected" if len(down) > 1 else " is disconnected"
            else:
                why = f"S{a}-S{b} cut: a partition separates them"
            rows[(a, b)] = {
                "a": a,
                "b": b,
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "mx": round((x0 + x1) / 2, 6),
                "my": round((y0 + y1) / 2, 6),
                "cut": cut,
                "label": "cut" if cut else "",
                "why": why,
                "colour": VERMILLION if cut else LIGHT_GREY,
                "alpha": 0.8 if cut else 0.9,
                "width": 2.0 if cut else 1.0,
            }
    return rows


def clock_rows(cluster: Cluster, running: bool, speed: int, jump: int) -> dict[int, Row]:
    """The one row of the ``clock`` source (``CLOCK_COLUMNS``)."""
    return {
        0: {
            "now": cluster.now,
            "step": cluster.step_count,
            "running": 1 if running else 0,
            "speed": speed,
            "jump": jump,
        }
    }


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
    """A log cell: filled with its term's colour once committed; before that a light
    tint of it with dark text and a dashed outline, so the text stays easy to read."""
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
        "text_colour": term_text_colour(entry.term) if committed else BLACK,
        "committed": committed,
        "fill_alpha": 1.0 if committed else 0.28,
        "line_alpha": 1.0,
        "line_dash": "solid" if committed else "dashed",
        "line_width": 1.0 if committed else 2.0,
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
                "y": round(follower - 0.5, 6),
                "text": f"next_index[S{follower}]={nxt}",
                "marker": "inverted_triangle",
                "colour": VERMILLION,
            }
        for follower, match in sorted(view.match_index.items()):
            rows[(follower, "match")] = {
                "server": follower,
                "kind": "match",
                "x": float(match),
                "y": round(follower + 0.5, 6),
                "text": f"match_index[S{follower}]={match}",
                "marker": "triangle",
                "colour": BLUE,
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


def message_label(message: Any) -> str:
    """The message's name as the dashboard writes it (``SHORT_NAMES``), with pre-votes
    apart from votes: ``pre-RV`` and ``pre-RV reply`` (thesis §9.6)."""
    kind = type(message).__name__
    label = SHORT_NAMES.get(kind, kind)
    if getattr(message, "pre_vote", False) is True:
        label = "pre-" + label
    return label


# ------------------------------------------------------------------ timelines


TERM_RULES = {"ET", "ELECT", "TERM", "LEADER", "AE.candidate", "CRASH", "RESTART", "BOOT"}
COMMIT_RULES = {"COMMIT", "AE.5", "IS.8", "CRASH", "RESTART"}


class Timeline:
    """Terms (or commit indexes) over virtual time: one row per period in which a
    server kept the same value, from ``x0`` to ``x1`` ms and from step ``s0`` to
    ``s1`` (for scenarios whose steps share one virtual time), folded from the trace,
    so that changes inside a Run update are not lost. After each fold the periods are
    checked against the servers themselves and corrected if a rule the fold does not
    know changed them."""

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
        now, step = cluster.now, cluster.step_count
        for sid in cluster.servers:
            self._set(sid, self._actual(cluster, sid), now, step, changed)
            row = self.rows[self.open[sid]]
            if row["x1"] != now or row["s1"] != step:
                row["x1"], row["s1"] = now, step
                changed[self.open[sid]] = row
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
            row.update(self._row(sid, value, time, step))
            self.value[sid] = value
            changed[key] = row
            return
        row["x1"], row["s1"] = time, step
        changed[key] = row
        changed[self._start(sid, value, time, step)] = self.rows[self.open[sid]]

    def _start(self, sid: int, value: tuple[int, str], time: int, step: int) -> tuple[int, int]:
        self.seq += 1
        key = (sid, self.seq)
        self.rows[key] = self._row(sid, value, time, step)
        self.open[sid] = key
        self.value[sid] = value
        self.start_step[key] = step
        return key

    def _row(self, sid: int, value: tuple[int, str], time: int, step: int) -> Row:
        number, role = value
        offset = (sid - 3) * 0.06  # lines of servers with equal values stay apart
        down = role == "down"
        return {
            "server": sid,
            "name": f"S{sid}",
            "x0": time,
            "x1": time,
            "s0": step,
            "s1": step,
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


def step_at_time(cluster: Cluster, time: int) -> int:
    """The first step taken at virtual time ``time`` or later, from the trace (the
    current step if none was)."""
    trace = cluster.trace
    k = bisect.bisect_left(trace, time, key=lambda event: event.time)
    return trace[k].step if k < len(trace) else cluster.step_count


def narration(cluster: Cluster, last: int = 8) -> list[Line]:
    """The latest ``last`` trace sentences, oldest first, with the rule that fired."""
    trace = cluster.trace
    start = max(0, len(trace) - last)
    return [Line(e.step, e.time, e.server, e.rule, e.kind, e.sentence) for e in trace[start:]]


def leaders(cluster: Cluster) -> list[tuple[int, int]]:
    """Every live server that believes it leads, as (id, term), highest term first: in
    a partition, or with a bug, there can be more than one (``cluster.leader`` names
    only the one with the highest term)."""
    found = [
        (sid, view.current_term)
        for sid, view in cluster.servers.items()
        if view.alive and view.role is Role.LEADER
    ]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def status_text(cluster: Cluster) -> str:
    """``step N · t=N ms · leader S3 (term 2)``: the status line. It names every
    server that believes it leads (``2 leaders: S3 (term 3), S1 (term 2)``); after a
    membership change it also names the configuration (``cluster.config``)."""
    found = leaders(cluster)
    if not found:
        who = "no leader"
    elif len(found) == 1:
        who = f"leader S{found[0][0]} (term {found[0][1]})"
    else:
        who = f"{len(found)} leaders: " + ", ".join(f"S{s} (term {t})" for s, t in found)
    config = cluster.config
    if config is not None and (
        config.learners or config.joint or config.voters != tuple(cluster.servers)
    ):
        who += f" · configuration {config.describe()}"  # after a membership change
    future = cluster.history_length - cluster.step_count
    tail = f" · {future} steps ahead recorded" if future else ""
    return f"step {cluster.step_count} · t={cluster.now} ms · {who}{tail}"


def safety_summary(cluster: Cluster) -> str:
    """One line for the header: empty while Figure 3 holds, else what broke first."""
    violations = cluster.violations
    if not violations:
        return ""
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"✘ {first.property} broken at step {first.step}{more}: see Safety"


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
