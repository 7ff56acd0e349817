"""Durability: does a storage handler give back what it was told to keep?

Figure 2 asks that persistent state be "updated on stable storage before responding to
RPCs". The simulator calls a server's storage handler before anything leaves the
server, so every storage message the handler handled without raising counts as
*durable*. This module keeps, per server, the state those messages describe, and:

- on restart, compares it with what ``load_state()`` recovered, reporting the first
  thing lost or invented ("S3 recovered 6 entries, but entry 7 (term 2) was
  acknowledged to the leader");
- at send time, reports a vote granted or entries acknowledged while the Disk still
  held unsynced writes (with disk faults on, a crash then would lose them).

Findings are ``Violation`` records with the property ``DURABILITY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import CompactLog, Entry, SaveHardState, SaveLog, SaveSnapshot, TruncateLog
from ..core.snapshots import entries_after_snapshot
from .violation import Violation

DURABILITY = "Durability"


class DurableState:
    """What one server's storage handler acknowledged, in this incarnation.

    With log compaction (§7) that is a snapshot (its last index and term) and the
    terms of the entries stored after ``base``, the index through which the log was
    compacted: ``terms[k]`` is the term of entry ``base + k + 1``.
    """

    __slots__ = (
        "acked",
        "base",
        "current_term",
        "interrupted",
        "snapshot",
        "terms",
        "voted_for",
        "warned",
    )

    def __init__(
        self,
        current_term: int,
        voted_for: int | None,
        entries: Sequence[Entry],
        snapshot: Any = None,
    ) -> None:
        self.current_term = current_term
        self.voted_for = voted_for
        # (last_index, last_term) of the last snapshot saved, or None
        self.snapshot: tuple[int, int] | None = (
            None if snapshot is None else (snapshot.last_index, snapshot.last_term)
        )
        self.base = 0 if snapshot is None else snapshot.last_index
        self.terms: list[int] = [e.term for e in entries]
        self.acked = 0  # highest index acknowledged to a leader
        self.warned: set[str] = set()  # send-time findings already reported
        # A storage message cut short by a power loss: the Disk may hold its effect,
        # all of it, or none of it; either is fine.
        self.interrupted: Any = None

    def clone(self) -> DurableState:
        twin = DurableState(self.current_term, self.voted_for, ())
        twin.snapshot = self.snapshot
        twin.base = self.base
        twin.terms = list(self.terms)
        twin.acked = self.acked
        twin.warned = set(self.warned)
        twin.interrupted = self.interrupted
        return twin

    def handled(self, message: Any) -> None:
        """The handler carried out ``message`` without raising."""
        kind = type(message)
        terms = self.terms
        if kind is SaveLog:
            position = message.index - self.base - 1
            if position == len(terms):
                terms.append(message.term)
            elif 0 <= position < len(terms):
                terms[position] = message.term
            elif position > len(terms):  # a gap: the core never asks for one
                terms.extend([0] * (position - len(terms)))
                terms.append(message.term)
        elif kind is SaveHardState:
            self.current_term = message.current_term
            self.voted_for = message.voted_for
        elif kind is TruncateLog:
            del terms[max(message.from_index - self.base - 1, 0) :]
        elif kind is SaveSnapshot:
            self.snapshot = (message.last_index, message.last_term)
        elif kind is CompactLog and message.through_index > self.base:
            del terms[: message.through_index - self.base]
            self.base = message.through_index

    def recovered(
        self,
        step: int,
        server_id: int,
        current_term: int,
        voted_for: int | None,
        entries: Sequence[Entry],
        snapshot: Any = None,
    ) -> list[Violation]:
        """Compare what a restarted server recovered (``entries`` follow ``snapshot``)
        with what was durable."""
        recovered = None if snapshot is None else (snapshot.last_index, snapshot.last_term)
        interrupted, self.interrupted = self.interrupted, None
        hard = self._hard_state_findings(current_term, voted_for)
        log = self._log_findings(recovered, entries)
        if interrupted is not None:
            # Accept the state after the interrupted message wherever it matches.
            after = self.clone()
            after.handled(interrupted)
            if hard:
                hard = min(hard, after._hard_state_findings(current_term, voted_for), key=len)
            if log:
                log = min(log, after._log_findings(recovered, entries), key=len)
            if log and type(interrupted) is TruncateLog:
                # Deleting entry by entry, a crash may stop anywhere in between.
                got = [e.term for e in entries]
                if len(after.terms) <= len(got) and got == self.terms[: len(got)]:
                    log = []
        return [Violation(DURABILITY, step, f"S{server_id} {d}") for d in hard + log]

    def lost_snapshot(self, step: int, server_id: int, snapshot: Any) -> list[Violation]:
        """For a restart that failed: was an acknowledged snapshot lost?"""
        recovered = None if snapshot is None else (snapshot.last_index, snapshot.last_term)
        saved = self.snapshot
        if saved is None or (recovered is not None and recovered[0] >= saved[0]):
            return []
        return [Violation(DURABILITY, step, f"S{server_id} {self._snapshot_lost(recovered)}")]

    def _snapshot_lost(self, recovered: tuple[int, int] | None) -> str:
        saved = self.snapshot
        assert saved is not None
        got = (
            "no snapshot"
            if recovered is None
            else f"a snapshot through index {recovered[0]} (term {recovered[1]})"
        )
        return (
            f"recovered {got}, but its snapshot through index {saved[0]} (term "
            f"{saved[1]}) had been saved: save_snapshot must be durable when it "
            "returns, and compact_log must never delete entries whose snapshot is "
            "not on the disk"
        )

    def _hard_state_findings(self, current_term: int, voted_for: int | None) -> list[str]:
        if current_term < self.current_term:
            return [
                f"recovered term {current_term}, but term {self.current_term} had been saved: "
                "a server must never go back to an older term (Figure 2: currentTerm is "
                "persistent)"
            ]
        if current_term == self.current_term and voted_for != self.voted_for:
            if self.voted_for is None:
                return [
                    f"recovered voted_for=S{voted_for} in term {current_term}, but it cast no "
                    f"vote in term {current_term}: a vote stored apart from its term can end "
                    "up in the wrong term (save both in one write)"
                ]
            return [
                f"recovered voted_for={'None' if voted_for is None else f'S{voted_for}'} "
                f"in term {current_term}, but it voted for S{self.voted_for}: after a "
                "crash it could vote twice in one term (Figure 2: votedFor is persistent)"
            ]
        if current_term > self.current_term:
            return [
                f"recovered term {current_term}, but only term {self.current_term} was ever saved"
            ]
        return []

    def _log_findings(
        self, recovered: tuple[int, int] | None, entries: Sequence[Entry]
    ) -> list[str]:
        saved = self.snapshot
        if recovered != saved:
            if saved is None or (recovered is not None and recovered[0] > saved[0]):
                assert recovered is not None
                return [
                    f"recovered a snapshot through index {recovered[0]} (term {recovered[1]}), "
                    "but no such snapshot was saved"
                    + ("" if saved is None else f" (the last one ends at index {saved[0]})")
                ]
            return [self._snapshot_lost(recovered)]
        first = entries[0].index if entries else (0 if recovered is None else recovered[0]) + 1
        base, terms = self._recoverable_log()
        for index in range(max(base, first - 1) + 1, base + len(terms) + 1):
            term = terms[index - base - 1]
            position = index - first
            if position >= len(entries) or entries[position].term != term:
                got = (
                    f"{len(entries)} entries"
                    if position >= len(entries)
                    else f"entry {index} with term {entries[position].term}"
                )
                if recovered is not None and position >= len(entries):
                    got = f"entries through index {first + len(entries) - 1}"
                how = "acknowledged to the leader" if index <= self.acked else "saved"
                return [f"recovered {got}, but entry {index} (term {term}) was {how}"]
        last = base + len(terms)
        if entries and entries[-1].index > last:
            extra = entries[max(last + 1 - first, 0)]
            return [
                f"recovered entry {extra.index} (term {extra.term}), which had been "
                "deleted by TruncateLog or was never saved"
            ]
        return []

    def _recoverable_log(self) -> tuple[int, list[int]]:
        """What a correct handler recovers of the log, as (base, terms): the durable
        entries, less those a durable snapshot covers, or all of them if they disagree
        with it, by the rule recovery itself applies (Figure 13, rules 6 and 7)."""
        if self.snapshot is None or self.base >= self.snapshot[0]:
            return self.base, self.terms
        last_index, last_term = self.snapshot
        durable = [Entry(self.base + k + 1, term, None) for k, term in enumerate(self.terms)]
        kept = entries_after_snapshot(durable, last_index, last_term)
        return last_index, [e.term for e in kept]

    def sending(
        self, step: int, server_id: int, message: Any, unsynced: Sequence[str]
    ) -> list[Violation]:
        """A reply is leaving while the Disk holds writes not yet synced."""
        kind = type(message).__name__
        if not unsynced or kind in self.warned:
            return []
        if kind == "RequestVoteReply" and message.vote_granted:
            what = f"granted its vote in term {message.term}"
        elif kind == "AppendEntriesReply" and message.success:
            what = f"acknowledged entries through index {message.match_index}"
        else:
            return []
        self.warned.add(kind)
        keys = ", ".join(unsynced[:3]) + (", ..." if len(unsynced) > 3 else "")
        return [
            Violation(
                DURABILITY,
                step,
                f"S{server_id} {what} before syncing its disk (unsynced: {keys}); a crash "
                "now would lose what it promised. Call disk.sync() before returning from "
                "the handler.",
            )
        ]
