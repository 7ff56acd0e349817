"""Random walks through a cluster's schedules: which event fires next, and which fault
or client request comes between.

Each walk draws its own *mix* first (swarm testing, Groce et al. 2012): which kinds
of choice it may make and how often, and how long it goes on. One walk crashes
servers often and never reorders messages, the next reorders everything and never
crashes; a search over many walks tries many mixes, and a bug that needs, say, many
reorderings and no crash is found by the walks whose mix allows just that.

``RandomWalk`` picks the next choice at random from the mix. ``PCTWalk`` picks the
next event PCT's way (Burckhardt et al. 2010, for messages as in Ozkan et al. 2018):
every channel (a link ``source -> target``, or a server's timers) gets a random
priority, the pending event of the highest-priority channel goes next, and at a few
random points the running channel drops to the lowest priority. Faults and client
requests come between, from the mix.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..core import Role
from ..sim import Cluster, ServerView
from .schedule import Choice, message_choice

#: Every kind of choice a walk can make, with the most a mix gives it.
KINDS: dict[str, float] = {
    "step": 8.0,  # the next event in time order
    "deliver": 8.0,  # a message ahead of its turn (reordering)
    "timer": 2.0,  # an election or heartbeat timer now
    "drop": 1.5,
    "propose": 2.0,
    "read": 0.5,
    "crash": 0.6,
    "power": 0.3,  # a power cut inside a server's next storage call
    "restart": 1.0,
    "partition": 0.6,
    "heal": 0.8,
    "duplicate": 0.3,  # every message sent in the next few choices arrives twice
}
#: Membership changes, for the walks of clusters that allow them.
MEMBERSHIP_KINDS: dict[str, float] = {
    "add_learner": 0.6,
    "promote": 0.6,
    "remove_server": 1.0,
}
ALWAYS = ("step", "deliver", *MEMBERSHIP_KINDS)
MIN_LENGTH, MAX_LENGTH = 20, 160


class Mix:
    """A walk's own mix: the weight of each kind of choice (0: never) and its length."""

    def __init__(self, rng: random.Random, membership: bool, early_timers: bool = True) -> None:
        kinds = dict(KINDS)
        if membership:
            kinds |= MEMBERSHIP_KINDS
        self.weights: dict[str, float] = {}
        for kind, most in kinds.items():
            # The event-order kinds, and membership changes where they are asked for,
            # are always there; each other kind is in half the mixes, with a weight
            # drawn up to its most.
            if kind in ALWAYS or rng.random() < 0.5:
                self.weights[kind] = most * rng.random()
        self.length = rng.randint(MIN_LENGTH, MAX_LENGTH)
        if not early_timers:
            # Lease reads count on no election timer firing before its time (thesis
            # §6.4.1): timers then fire only in their turn, as time passes.
            self.weights.pop("timer", None)


class RandomWalk:
    """Chooses each next choice at random from its mix."""

    def __init__(
        self,
        rng: random.Random,
        servers: Sequence[int],
        membership: bool,
        early_timers: bool = True,
    ) -> None:
        self.rng = rng
        self.servers = tuple(servers)
        self.mix = Mix(rng, membership, early_timers)
        self.length = self.mix.length
        self.proposed = 0
        self.duplicating = 0  # choices left before duplication is switched off again
        self.views: dict[int, ServerView] = {}
        # Server ids a membership change may add: the next unused ones.
        self.spare = tuple(range(max(self.servers) + 1, max(self.servers) + 3))

    def choose(self, cluster: Cluster) -> Choice | None:
        if self.duplicating and self.duplication_ends():
            return ("duplicate", 0.0)
        now = Now(cluster, self.views)
        kinds = self.possible(now)
        if not kinds:
            return None
        kind = self.rng.choices(kinds, [self.mix.weights[k] for k in kinds])[0]
        return self.make(kind, now)

    def duplication_ends(self) -> bool:
        self.duplicating -= 1
        return not self.duplicating

    def possible(self, now: Now) -> list[str]:
        """The kinds of the mix that can happen now."""
        able = {
            "step": bool(now.pending),
            "deliver": bool(now.deliveries),
            "drop": bool(now.deliveries),
            "timer": bool(now.timers),
            "crash": bool(now.alive),
            "power": bool(now.alive),
            "restart": bool(now.down),
            "heal": now.partitioned,
            "partition": True,
            "duplicate": not self.duplicating,
        }
        leading = bool(now.leaders)
        return [kind for kind in self.mix.weights if able.get(kind, leading)]

    def make(self, kind: str, now: Now) -> Choice:
        rng = self.rng
        if kind == "step":
            return ("step",)
        if kind in ("deliver", "drop"):
            return message_choice(kind, rng.choice(now.deliveries), now.pending)
        if kind == "timer":
            timer = rng.choice(now.timers)
            return ("timer", timer.target, timer.kind)
        if kind == "propose":
            self.proposed += 1
            return ("propose", rng.choice(now.leaders), self.proposed)
        if kind == "read":
            return ("read", rng.choice(now.leaders))
        if kind == "add_learner":
            return ("add_learner", rng.choice(self.spare))
        if kind in ("promote", "remove_server"):
            members = sorted(now.cluster.servers[now.leaders[0]].config.members)
            return (kind, rng.choice(members))
        if kind == "crash":
            # Half the crashes hit a leader (if there is one): a leader's crash is the
            # fault that matters most, and one of several servers is seldom it.
            if now.leaders and rng.random() < 0.5:
                return ("crash", rng.choice(now.leaders))
            return ("crash", rng.choice(now.alive))
        if kind == "power":
            return ("cut_power", rng.choice(now.alive), rng.randrange(4))
        if kind == "restart":
            return ("restart", rng.choice(now.down))
        if kind == "partition":
            ids = now.ids
            alone = set(rng.sample(ids, rng.randint(1, max(1, len(ids) // 2))))
            if now.leaders and rng.random() < 0.5:
                alone = {rng.choice(now.leaders)}  # cut a leader off, as for crashes
            rest = tuple(i for i in ids if i not in alone)
            return ("partition", (tuple(sorted(alone)), rest))
        if kind == "heal":
            return ("heal",)
        if kind == "duplicate":
            # Rate 1 for a few choices, then 0: exactly the messages sent meanwhile are
            # duplicated, whatever the network's random draws (a shrunk schedule keeps
            # them). Longer, and copies of copies would swamp the network.
            self.duplicating = rng.randint(1, 3) + 1
            return ("duplicate", 1.0)
        raise ValueError(kind)


class Now:
    """What a walk looks at before each choice: the events pending, and the servers."""

    def __init__(self, cluster: Cluster, views: dict[int, ServerView]) -> None:
        self.cluster = cluster
        self.pending = pending = cluster.pending()
        self.deliveries = [e for e in pending if e.kind == "deliver"]
        self.timers = [e for e in pending if e.kind != "deliver"]
        self.ids = ids = cluster.ids
        if len(views) != len(ids):  # a server joined: views of every server, once
            views.update((i, cluster.servers[i]) for i in ids)
        up = [views[i] for i in ids if views[i].alive]
        self.alive = [v.id for v in up]
        self.down = [i for i in ids if i not in self.alive]
        self.leaders = [v.id for v in up if v.role is Role.LEADER]
        self.partitioned = bool(cluster.partition_groups or cluster.disconnected)


class PCTWalk(RandomWalk):
    """PCT over the network's channels: the oldest message of the highest-priority
    link goes next; ``depth - 1`` times in a walk that link drops to the lowest
    priority. Timers fire when no message is in flight (time passes), or now and then
    as the mix says, like faults and client requests."""

    def __init__(
        self,
        rng: random.Random,
        servers: Sequence[int],
        membership: bool,
        early_timers: bool = True,
        depth: int = 3,
    ) -> None:
        super().__init__(rng, servers, membership, early_timers)
        self.priority: dict[tuple[int | None, int], float] = {}
        points = range(1, self.length)
        self.change_points = set(rng.sample(points, min(depth - 1, len(points))))
        self.taken = 0
        self.lowest = 0.0
        weights = self.mix.weights
        others = sum(w for k, w in weights.items() if k not in ("step", "deliver"))
        events = weights.get("step", 0) + weights.get("deliver", 0)
        self.other_rate = others / (others + events) if others else 0.0

    def choose(self, cluster: Cluster) -> Choice | None:
        self.taken += 1
        if self.duplicating and self.duplication_ends():
            return ("duplicate", 0.0)
        now = Now(cluster, self.views)
        if self.rng.random() < self.other_rate:
            kinds = [k for k in self.possible(now) if k not in ("step", "deliver")]
            if kinds:
                kind = self.rng.choices(kinds, [self.mix.weights[k] for k in kinds])[0]
                return self.make(kind, now)
        if not now.deliveries:
            return ("step",) if now.pending else None
        best = max(now.deliveries, key=lambda e: (self._priority((e.source, e.target)), -e.id))
        if self.taken in self.change_points:
            self.lowest -= 1.0
            self.priority[(best.source, best.target)] = self.lowest
        return message_choice("deliver", best, now.pending)

    def _priority(self, channel: tuple[int | None, int]) -> float:
        if channel not in self.priority:
            self.priority[channel] = self.rng.random()
        return self.priority[channel]
