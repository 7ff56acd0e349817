"""The five safety properties of Figure 3, checked incrementally after every step.

Checking after every step must cost little, so nothing here rescans whole logs. For
each server the checker keeps a chain digest of its log, ``prefix[k] =
H(prefix[k-1], term_k, data_k)``: two logs agree through index k exactly when their
digests at k agree. With that:

- Election Safety: remember the first leader of each term; a second one breaks it.
- Leader Append-Only: a leader's log may change only past its end.
- Log Matching: remember the digest of the first log seen with each (index, term);
  any log holding the same (index, term) under another digest breaks it.
- Leader Completeness: keep the digests of the committed prefix, and the term in which
  each index was first seen committed; a new leader of term T whose log does not hold
  the prefix committed in terms before T breaks it. (A leader of an older term, elected
  late by a vote reply that was slow to arrive, may lack what a later term committed:
  the property speaks of "the leaders for all higher-numbered terms", and it will be
  deposed before it can commit anything.)
- State Machine Safety: remember the entry applied at each index; applying another
  one there breaks it.

Each step costs O(entries changed), and O(log n) for a new leader.

None of the five depends on the configuration: at most one leader per term, whatever
configurations the servers use (membership changes, §6, must not break that). Servers
added later are registered with ``add_server``; removed servers stay checked, since
what they committed or applied stays committed or applied.

Everything kept here only grows (a server's prefix digests may be cut shorter, when its
log is), so the simulator's checkpoints need not copy it: ``freeze`` gives a copy that
shares the lists and dicts and remembers their lengths, in O(servers), and ``thaw``
makes a checker to go on with from such a copy.

With log compaction (§7) a server's log starts after its snapshot, but the digests
here still cover every index: compacting a log changes no digest. A server that
installs a snapshot, or restarts from one, gets the digests of the committed prefix
through the snapshot's last index (a snapshot holds only committed entries), and the
entries after it chain on from there, so Log Matching and Leader Completeness keep
comparing whole logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from ..core import Entry, Output, Role, Server
from .violation import (
    ELECTION_SAFETY,
    LEADER_APPEND_ONLY,
    LEADER_COMPLETENESS,
    LOG_MATCHING,
    STATE_MACHINE_SAFETY,
    Violation,
)

_HASHABLE_ATOMS = (int, str, float, bool, type(None), bytes)


def data_key(data: Any) -> Any:
    """A hashable value equal for equal data (used only inside one process)."""
    kind = type(data)
    if kind in _HASHABLE_ATOMS:
        return (kind.__name__, data)
    try:
        return ("json", json.dumps(data, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return ("repr", repr(data))


def entry_digest(entry: Entry) -> int:
    return chain(0, entry)


def chain(digest: int, entry: Entry) -> int:
    """The digest of a log through ``entry``, given the digest through the entry
    before it. Hashable data is hashed as it is (with its type, so that 1 and True
    differ); other data through ``data_key``."""
    data = entry.data
    try:
        return hash((digest, entry.term, type(data), data))
    except TypeError:
        return hash((digest, entry.term, data_key(data)))


class SafetyChecker:
    """Incremental Figure 3 checks. ``observe`` after each output of a server."""

    def __init__(self, server_ids: Iterable[int]) -> None:
        self.prefix: dict[int, list[int]] = {i: [0] for i in server_ids}
        self.commit: dict[int, int] = {i: 0 for i in self.prefix}
        self.leaders: dict[int, int] = {}  # term -> the first leader of that term
        self.first_seen: dict[
            tuple[int, int], tuple[int, int]
        ] = {}  # (index, term) -> (digest, server)
        self.committed: list[int] = [0]  # digest of the committed prefix through each index
        self.commit_terms: list[int] = [0]  # the term each index was first seen committed in
        self.applied: dict[int, tuple[Entry, int]] = {}  # index -> (entry, first server)
        self.reported: set[tuple[Any, ...]] = set()
        # Servers whose prefix list a frozen copy shares: cut shorter, it is copied first.
        self.shared: set[int] = set()
        # A frozen copy's lengths of what it shares (None for a checker in use).
        self.lengths: tuple[dict[int, int], int, int, int] | None = None

    def freeze(self) -> SafetyChecker:
        """A copy for a checkpoint, made in O(servers): it shares this checker's lists
        and dicts, which this checker only ever adds to (first_seen and applied are
        only inserted into, committed only extended), and remembers how long they are.
        It is only ever thawed, never used."""
        twin = object.__new__(SafetyChecker)
        twin.prefix = dict(self.prefix)
        twin.commit = dict(self.commit)
        twin.leaders = dict(self.leaders)
        twin.first_seen = self.first_seen
        twin.committed = self.committed
        twin.commit_terms = self.commit_terms  # extended with committed, in step
        twin.applied = self.applied
        twin.reported = set(self.reported)
        twin.shared = set()
        twin.lengths = (
            {i: len(p) for i, p in self.prefix.items()},
            len(self.first_seen),
            len(self.committed),
            len(self.applied),
        )
        self.shared = set(self.prefix)
        return twin

    def thaw(self) -> SafetyChecker:
        """A checker to go on with, as this frozen copy was when it was made."""
        assert self.lengths is not None, "only a frozen copy thaws"
        prefix, seen, committed, applied = self.lengths
        twin = object.__new__(SafetyChecker)
        twin.prefix = {i: p[: prefix[i]] for i, p in self.prefix.items()}
        twin.commit = dict(self.commit)
        twin.leaders = dict(self.leaders)
        # (Dicts keep their insertion order: the first n items are those it had then.)
        twin.first_seen = dict(islice(self.first_seen.items(), seen))
        twin.committed = self.committed[:committed]
        twin.commit_terms = self.commit_terms[:committed]
        twin.applied = dict(islice(self.applied.items(), applied))
        twin.reported = set(self.reported)
        twin.shared = set()
        twin.lengths = None
        return twin

    def add_server(self, server_id: int) -> None:
        self.prefix.setdefault(server_id, [0])
        self.commit.setdefault(server_id, 0)

    # ------------------------------------------------------------ observing

    def restarted(self, step: int, server: Server) -> list[Violation]:
        """A server came back with the log its storage recovered (after its snapshot,
        if it has one)."""
        sid = server.id
        self.prefix[sid] = self._snapshot_prefix(sid, server.log.snapshot_index, server)
        self.shared.discard(sid)  # a new list
        self.commit[sid] = server.commit_index
        found: list[Violation] = []
        self._extend(step, server, server.log.snapshot_index + 1, found)
        return found

    def _snapshot_prefix(self, sid: int, last: int, server: Server) -> list[int]:
        """Digests through index ``last`` for a log compacted through ``last``."""
        if last < len(self.committed):
            return self.committed[: last + 1]
        own = self.prefix.get(sid, [0])
        if last < len(own):
            return own[: last + 1]
        # Nothing known about these entries (a snapshot from before this checker
        # started): stand-ins that depend only on the snapshot's last index and term.
        term = server.log.snapshot_term
        return own + [hash(("snapshot", i, last, term)) for i in range(len(own), last + 1)]

    def observe(self, step: int, server: Server, out: Output) -> list[Violation]:
        found: list[Violation] = []
        sid = server.id
        changed = out.log_changed_from
        if out.restore is not None:  # installed a snapshot (Figure 13)
            last = out.restore.last_index
            self.prefix[sid] = self._snapshot_prefix(sid, last, server)
            self.shared.discard(sid)  # a new list
            self._extend(step, server, last + 1, found)
        elif changed is not None:
            old_last = len(self.prefix[sid]) - 1
            if server.role is Role.LEADER and not out.became_leader and changed <= old_last:
                self._report(
                    found,
                    step,
                    LEADER_APPEND_ONLY,
                    ("append-only", sid, server.current_term, changed),
                    f"S{sid}, leader of term {server.current_term}, changed its log at "
                    f"index {changed}, which it already held",
                )
            self._extend(step, server, changed, found)
        if out.became_leader:
            self._check_new_leader(step, server, found)
        if server.commit_index > self.commit[sid]:
            self._commit(server)
        if out.applies:
            self._check_applies(step, sid, out.applies, found)
        return found

    # ------------------------------------------------------------- the rules

    def _extend(self, step: int, server: Server, start: int, found: list[Violation]) -> None:
        sid = server.id
        prefix = self.prefix[sid]
        if start < len(prefix):
            if sid in self.shared:  # a checkpoint sees this list: cut a copy
                prefix = self.prefix[sid] = prefix[:start]
                self.shared.discard(sid)
            else:
                del prefix[start:]
        log = server.log
        digest = prefix[-1]
        first_seen = self.first_seen
        for entry in log.entries[start - log.snapshot_index - 1 :]:
            index = entry.index
            digest = chain(digest, entry)
            prefix.append(digest)
            key = (index, entry.term)
            seen = first_seen.get(key)
            if seen is None:
                first_seen[key] = (digest, sid)
            elif seen[0] != digest:
                self._report(
                    found,
                    step,
                    LOG_MATCHING,
                    ("matching", key, sid, seen[1]),
                    (
                        f"S{sid} and S{seen[1]} both hold an entry at index {index} in term "
                        f"{entry.term}, but their logs differ at or before index {index}"
                        if seen[1] != sid
                        else f"S{sid} holds an entry at index {index} in term {entry.term} "
                        "again, but its log before it differs from when it first held that "
                        "entry: entries that had been deleted came back"
                    ),
                )

    def _check_new_leader(self, step: int, server: Server, found: list[Violation]) -> None:
        sid, term = server.id, server.current_term
        first = self.leaders.setdefault(term, sid)
        if first != sid:
            self._report(
                found,
                step,
                ELECTION_SAFETY,
                ("election", term, sid),
                f"S{sid} became leader of term {term}, but S{first} was already elected "
                f"leader of term {term}",
            )
        committed = len(self.committed) - 1
        commit_terms = self.commit_terms
        while committed > 0 and commit_terms[committed] >= term:
            committed -= 1  # committed in this term or later: not this leader's to hold
        prefix = self.prefix[sid]
        if committed == 0:
            return
        held = min(committed, len(prefix) - 1)
        if held == committed and prefix[committed] == self.committed[committed]:
            return
        # The first committed index this leader lacks (digests agree on a prefix only).
        lo, hi = 1, held
        while lo <= hi:
            mid = (lo + hi) // 2
            if prefix[mid] == self.committed[mid]:
                lo = mid + 1
            else:
                hi = mid - 1
        self._report(
            found,
            step,
            LEADER_COMPLETENESS,
            ("completeness", term, sid),
            f"S{sid} became leader of term {term} without the committed entry at index "
            f"{lo}: entries through index {committed} were already committed",
        )

    def _commit(self, server: Server) -> None:
        sid = server.id
        self.commit[sid] = new = server.commit_index
        prefix = self.prefix[sid]
        committed = self.committed
        known = len(committed) - 1
        if new <= known or prefix[known] != committed[known]:
            return  # nothing new, or a conflicting commit (State Machine Safety reports it)
        committed.extend(prefix[known + 1 : new + 1])
        self.commit_terms.extend([server.current_term] * (len(committed) - 1 - known))

    def _check_applies(
        self, step: int, sid: int, entries: list[Entry], found: list[Violation]
    ) -> None:
        applied = self.applied
        for entry in entries:
            seen = applied.get(entry.index)
            if seen is None:
                applied[entry.index] = (entry, sid)
            elif seen[0] is not entry and entry_digest(seen[0]) != entry_digest(entry):
                # (Servers share entry objects, so "is" settles the common case.)
                self._report(
                    found,
                    step,
                    STATE_MACHINE_SAFETY,
                    ("apply", entry.index, sid),
                    f"S{sid} applied a different entry at index {entry.index} (term "
                    f"{entry.term}) than S{seen[1]} did (term {seen[0].term})",
                )

    def _report(
        self, found: list[Violation], step: int, prop: str, key: tuple[Any, ...], detail: str
    ) -> None:
        if key in self.reported:
            return
        self.reported.add(key)
        found.append(Violation(prop, step, detail))


def scan(
    step: int,
    logs: dict[int, list[Entry]],
    commit_index: dict[int, int],
    leaders: dict[int, tuple[int, ...]],
    current_leaders: dict[int, int],
    applied: dict[int, list[Entry]],
    key: Callable[[Any], Any] = data_key,
    snapshot_index: dict[int, int] | None = None,
) -> list[Violation]:
    """A from-scratch check of the current state, for when incremental checks were
    off (and to cross-check them in tests). ``logs`` hold each server's entries (after
    its snapshot, if compacted: ``snapshot_index`` gives where each log was compacted
    through); ``leaders`` maps each term to every server that led it;
    ``current_leaders`` maps live leaders to their term; ``applied`` holds every entry
    each server has ever applied (an entry's term may be None where it is no longer
    known). Leader Append-Only needs the history of each step, and entries inside
    snapshots are gone, so only the incremental checker sees those."""
    compacted = snapshot_index or {}
    found: list[Violation] = []
    for term, led in sorted(leaders.items()):
        if len(led) > 1:
            names = ", ".join(f"S{i}" for i in sorted(led))
            found.append(
                Violation(ELECTION_SAFETY, step, f"{names} were all leaders of term {term}")
            )
    ids = sorted(logs)
    for n, a in enumerate(ids):
        for b in ids[n + 1 :]:
            log_a, log_b = logs[a], logs[b]
            if not log_a or not log_b:
                continue
            start = max(log_a[0].index, log_b[0].index)  # compare where both hold entries
            first_diff = None
            for ea, eb in zip(
                log_a[start - log_a[0].index :], log_b[start - log_b[0].index :], strict=False
            ):
                if first_diff is None and (ea.term != eb.term or key(ea.data) != key(eb.data)):
                    first_diff = ea.index
                if first_diff is not None and ea.term == eb.term:
                    found.append(
                        Violation(
                            LOG_MATCHING,
                            step,
                            f"S{a} and S{b} both hold an entry at index {ea.index} in term "
                            f"{ea.term}, but their logs differ at index {first_diff}",
                        )
                    )
                    break
    for leader, term in sorted(current_leaders.items()):
        mine = {(e.index, e.term, key(e.data)) for e in logs[leader]}
        in_snapshot = compacted.get(leader, 0)  # committed entries, not checkable here
        for sid in ids:
            for entry in logs[sid]:
                if entry.index > commit_index[sid]:
                    break
                if (
                    entry.term < term
                    and entry.index > in_snapshot
                    and (entry.index, entry.term, key(entry.data)) not in mine
                ):
                    found.append(
                        Violation(
                            LEADER_COMPLETENESS,
                            step,
                            f"S{leader}, leader of term {term}, lacks the entry at index "
                            f"{entry.index} (term {entry.term}) that S{sid} committed",
                        )
                    )
                    break
    seen: dict[int, tuple[int | None, Any, int]] = {}
    for sid in ids:
        for entry in applied.get(sid, ()):
            other = seen.setdefault(entry.index, (entry.term, key(entry.data), sid))
            same_term = other[0] is None or entry.term is None or other[0] == entry.term
            if not same_term or other[1] != key(entry.data):
                found.append(
                    Violation(
                        STATE_MACHINE_SAFETY,
                        step,
                        f"S{sid} applied a different entry at index {entry.index} than "
                        f"S{other[2]} did",
                    )
                )
    return found
