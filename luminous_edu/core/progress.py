"""What a leader knows about each follower: one ``Progress`` record per peer.

Figure 2's "Volatile state on leaders" is two arrays, ``nextIndex[]`` and
``matchIndex[]``. A leader here keeps one record per peer holding both, with what the
paper leaves to an implementation beside them, as etcd's ``tracker.Progress`` does:

- flow control: which entries are in flight to the peer, so that a leader does not
  send the same entries again with every proposal;
- when the peer last answered, for CheckQuorum (thesis §6.2);
- the newest ReadIndex round the peer confirmed (thesis §6.4).

One rule decides whether the leader may send a peer entries now: ``ready()``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple


class InFlight(NamedTuple):
    """Entries (or a snapshot) sent to a peer and not yet acknowledged."""

    last_index: int  # the last index they carry
    heartbeat_round: int  # the leader's heartbeat round when they were sent


@dataclass(slots=True)
class Progress:
    """A leader's view of one peer's log."""

    next_index: int  # index of the next log entry to send to that server (Figure 2)
    match_index: int = 0  # index of highest log entry known to be replicated on server
    # Not in Figure 2: flow control. At most one batch of entries travels to a peer at a
    # time; a reply covering it lets the next one go.
    in_flight: InFlight | None = None
    # Not in Figure 2: when the peer last answered (CheckQuorum, thesis §6.2); None:
    # not since this leader was elected.
    last_heard: int | None = None
    # Not in Figure 2: the newest ReadIndex round the peer echoed (thesis §6.4).
    read_round: int = 0

    def ready(self) -> bool:
        """May the leader send this peer entries (or a snapshot) now? Not while a batch
        it sent is in flight: the reply to it sends the next one, and a batch that gets
        no reply is presumed lost at the next heartbeat but one (``presume_lost``)."""
        return self.in_flight is None

    def sent(self, last_index: int, heartbeat_round: int) -> None:
        self.in_flight = InFlight(last_index, heartbeat_round)

    def presume_lost(self, heartbeat_round: int) -> None:
        """At a heartbeat: a batch sent before the previous heartbeat round and still
        unacknowledged is presumed lost, so this heartbeat may send it again."""
        if self.in_flight is not None and self.in_flight.heartbeat_round < heartbeat_round - 1:
            self.in_flight = None

    def acknowledge(self, match_index: int) -> bool:
        """ "If successful: update nextIndex and matchIndex for follower" (§5.3).
        Replies may arrive reordered or twice, so both only ever move forward. True if
        ``match_index`` advanced (only then can the leader commit more)."""
        if match_index + 1 > self.next_index:
            self.next_index = match_index + 1
        if match_index > self.match_index:
            self.match_index = match_index
            return True
        return False

    def arrived(self, match_index: int) -> bool:
        """A reply acknowledged entries through ``match_index``: the batch in flight has
        arrived if it ended there or before. True if the leader may send more now."""
        if self.in_flight is not None and match_index >= self.in_flight.last_index:
            self.in_flight = None
        return self.in_flight is None

    def clone(self) -> Progress:
        return replace(self)
