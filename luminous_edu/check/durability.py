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

from ..core import Entry, SaveHardState, SaveLog, TruncateLog
from .violation import Violation

DURABILITY = "Durability"


class DurableState:
    """What one server's storage handler acknowledged, in this incarnation."""

    __slots__ = ("acked", "current_term", "interrupted", "terms", "voted_for", "warned")

    def __init__(self, current_term: int, voted_for: int | None, entries: Sequence[Entry]) -> None:
        self.current_term = current_term
        self.voted_for = voted_for
        self.terms: list[int] = [e.term for e in entries]  # terms[k] is entry k + 1's term
        self.acked = 0  # highest index acknowledged to a leader
        self.warned: set[str] = set()  # send-time findings already reported
        # A storage message cut short by a power loss: the Disk may hold its effect,
        # all of it, or none of it; either is fine.
        self.interrupted: Any = None

    def clone(self) -> DurableState:
        twin = DurableState(self.current_term, self.voted_for, ())
        twin.terms = list(self.terms)
        twin.acked = self.acked
        twin.warned = set(self.warned)
        twin.interrupted = self.interrupted
        return twin

    def handled(self, message: Any) -> None:
        """The handler carried out ``message`` without raising."""
        kind = type(message)
        if kind is SaveLog:
            terms = self.terms
            if message.index == len(terms) + 1:
                terms.append(message.term)
            elif message.index <= len(terms):
                terms[message.index - 1] = message.term
            else:  # a gap: the core never asks for one, but record it faithfully
                terms.extend([0] * (message.index - len(terms) - 1))
                terms.append(message.term)
        elif kind is SaveHardState:
            self.current_term = message.current_term
            self.voted_for = message.voted_for
        elif kind is TruncateLog:
            del self.terms[message.from_index - 1 :]

    def recovered(
        self,
        step: int,
        server_id: int,
        current_term: int,
        voted_for: int | None,
        entries: Sequence[Entry],
    ) -> list[Violation]:
        """Compare what a restarted server recovered with what was durable."""
        found: list[Violation] = []

        def report(detail: str) -> None:
            found.append(Violation(DURABILITY, step, f"S{server_id} {detail}"))

        interrupted, self.interrupted = self.interrupted, None
        if interrupted is not None:
            # Accept the state after the interrupted message wherever it matches.
            after = self.clone()
            after.handled(interrupted)
            if (current_term, voted_for) == (after.current_term, after.voted_for):
                self.current_term, self.voted_for = current_term, voted_for
            recovered_terms = [e.term for e in entries]
            if recovered_terms == after.terms or (
                type(interrupted) is TruncateLog
                and recovered_terms == self.terms[: len(recovered_terms)]
                and len(recovered_terms) >= len(after.terms)
            ):
                self.terms = recovered_terms

        if current_term < self.current_term:
            report(
                f"recovered term {current_term}, but term {self.current_term} had been saved: "
                "a server must never go back to an older term (Figure 2: currentTerm is "
                "persistent)"
            )
        elif current_term == self.current_term and voted_for != self.voted_for:
            if self.voted_for is None:
                report(
                    f"recovered voted_for=S{voted_for} in term {current_term}, but it cast no "
                    f"vote in term {current_term}: a vote stored apart from its term can end "
                    "up in the wrong term (save both in one write)"
                )
            else:
                report(
                    f"recovered voted_for={'None' if voted_for is None else f'S{voted_for}'} "
                    f"in term {current_term}, but it voted for S{self.voted_for}: after a "
                    "crash it could vote twice in one term (Figure 2: votedFor is persistent)"
                )
        elif current_term > self.current_term:
            report(
                f"recovered term {current_term}, but only term {self.current_term} was ever saved"
            )

        terms = self.terms
        for index, term in enumerate(terms, start=1):
            if index > len(entries) or entries[index - 1].term != term:
                got = (
                    f"{len(entries)} entries"
                    if index > len(entries)
                    else f"entry {index} with term {entries[index - 1].term}"
                )
                how = "acknowledged to the leader" if index <= self.acked else "saved"
                report(f"recovered {got}, but entry {index} (term {term}) was {how}")
                break
        else:
            if len(entries) > len(terms):
                extra = entries[len(terms)]
                report(
                    f"recovered entry {extra.index} (term {extra.term}), which had been "
                    "deleted by TruncateLog or was never saved"
                )
        return found

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
