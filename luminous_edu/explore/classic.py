"""The classic Raft bugs: ``BUGS`` maps each switch's name to a ``ClassicBug``, the
paper's sentence it breaks with its section, and a counterexample you can run in one
call::

    le.BUGS["vote_twice"]                        # the sentence, the section, what it does
    c = le.BUGS["vote_twice"].scenario()         # S3 votes twice: two leaders in term 1
    c = le.BUGS["vote_twice"].scenario(bug=False)  # the same calls, the rule kept: none

Each scenario is a handful of manual steps (``timeout``, ``fire``, ``crash``...) that
lead the servers to the one moment where the wrong rule matters. The cluster records
the violation (``cluster.violations``) and the trace shows the step where the bug fired
(a ``BUG.<name>`` event, narrated with the sentence it breaks). With ``bug=False`` the
same calls end with no violation. The switches themselves live in the core, beside
the rules they break (``luminous_edu/core/bugs.py`` says where).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..check import (
    ELECTION_SAFETY,
    LEADER_COMPLETENESS,
    STATE_MACHINE_SAFETY,
)
from ..check.violation import LINEARIZABLE_READS
from ..core.bugs import (
    CATALOGUE,
    COMMIT_OLD_TERM,
    COMMIT_PAST_LAST_NEW,
    DELETE_MATCHING_ENTRIES,
    NO_ELECTION_RESTRICTION,
    READ_WITHOUT_QUORUM,
    SINGLE_CHANGE_BEFORE_COMMIT,
    STALE_REPLIES,
    VOTE_TWICE,
    Bug,
)
from ..sim import Cluster, Event
from ..sim.scenarios import single_change_bug_scenario


def message(cluster: Cluster, source: int, target: int, kind: str, **fields: Any) -> Event:
    """The newest pending message of type ``kind`` from ``source`` to ``target`` whose
    fields equal ``fields`` (``entries=()`` finds a heartbeat)."""
    found = [
        event
        for event in cluster.pending()
        if event.kind == "deliver"
        and event.source == source
        and event.target == target
        and type(event.message).__name__ == kind
        and all(getattr(event.message, name) == value for name, value in fields.items())
    ]
    if not found:
        raise LookupError(f"no {kind} from S{source} to S{target} with {fields} is pending")
    return max(found, key=lambda event: event.id)


def deliver(cluster: Cluster, source: int, target: int, kind: str, **fields: Any) -> None:
    """Fire the newest pending ``kind`` message from ``source`` to ``target``."""
    cluster.fire(message(cluster, source, target, kind, **fields))


def elect(cluster: Cluster, leader: int, voter: int) -> None:
    """``leader`` times out and wins with ``voter``'s vote, by hand."""
    cluster.timeout(leader)
    deliver(cluster, leader, voter, "RequestVote")
    deliver(cluster, voter, leader, "RequestVoteReply")


def _switch(name: str, bug: bool) -> set[str]:
    return {name} if bug else set()


# ------------------------------------------------------------- the scenarios


def vote_twice(bug: bool = True, seed: int = 1) -> Cluster:
    """S1 and S2 both stand in term 1; S3 gets both requests and grants both."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(VOTE_TWICE, bug))
    c.timeout(1)
    c.timeout(2)  # two candidates in term 1
    deliver(c, 1, 3, "RequestVote")  # S3 votes for S1
    deliver(c, 2, 3, "RequestVote")  # a correct S3 refuses S2: it voted for S1
    deliver(c, 3, 1, "RequestVoteReply")  # S1 leads term 1
    deliver(c, 3, 2, "RequestVoteReply")  # with the bug, S2 leads term 1 too
    return c


def no_election_restriction(bug: bool = True, seed: int = 1) -> Cluster:
    """S1 leads term 1 and commits its no-op with S2; S3 never got it, times out
    twice (term 2) and asks S2, whose log is more up-to-date than its own."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(NO_ELECTION_RESTRICTION, bug))
    elect(c, 1, 2)
    deliver(c, 1, 2, "AppendEntries")  # the no-op reaches S2
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits index 1
    c.timeout(3)
    c.timeout(3)  # S3: candidate in term 2, with an empty log
    deliver(c, 3, 2, "RequestVote")  # a correct S2 refuses: its log is longer
    deliver(c, 2, 3, "RequestVoteReply")
    return c


def commit_old_term(bug: bool = True, seed: int = 1) -> Cluster:
    """Figure 8 with three servers and no no-op entries (§8 would hide the bug): S1
    (term 1) and S2 (term 2) each append a command only they hold and crash. S1 comes
    back, wins term 3 with S3 and copies its term-1 entry to S3; then S1 crashes, S2
    comes back and wins term 4 with S3's vote: it holds a term-2 entry at index 1."""
    c = Cluster(servers=3, seed=seed, leader_noop=False, bugs=_switch(COMMIT_OLD_TERM, bug))
    elect(c, 1, 2)
    c.propose("x", server=1)  # index 1, term 1, on S1 only
    c.crash(1)
    c.timeout(2)  # S2: candidate in term 2
    deliver(c, 2, 3, "RequestVote")
    deliver(c, 3, 2, "RequestVoteReply")
    c.propose("y", server=2)  # index 1, term 2, on S2 only
    c.crash(2)
    c.restart(1)
    c.timeout(1)
    c.timeout(1)  # S1: candidate in term 3 (S3 voted for S2 in term 2)
    deliver(c, 1, 3, "RequestVote")
    deliver(c, 3, 1, "RequestVoteReply")  # S1 leads term 3
    deliver(c, 1, 3, "AppendEntries")  # S3 lacks index 1: it says so
    deliver(c, 3, 1, "AppendEntriesReply")
    deliver(c, 1, 3, "AppendEntries")  # now with x, of term 1
    deliver(c, 3, 1, "AppendEntriesReply")  # a majority stores x: the bug commits it
    c.crash(1)
    c.restart(2)
    c.timeout(2)
    c.timeout(2)  # S2: candidate in term 4; its y (term 2) beats S3's x (term 1)
    deliver(c, 2, 3, "RequestVote")
    deliver(c, 3, 2, "RequestVoteReply")  # S2 leads without the committed x
    return c


def delete_matching_entries(bug: bool = True, seed: int = 1) -> Cluster:
    """S1 leads term 1; its no-op reaches S2 and S3. S1 sends x to S2 and, while x is
    in flight, a heartbeat: prevLogIndex 1, no entries. x arrives first and S1 commits
    it; then the late heartbeat arrives, and the bug deletes x at S2. S1 crashes; S3
    wins term 2 with S2's vote."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(DELETE_MATCHING_ENTRIES, bug))
    elect(c, 1, 2)
    deliver(c, 1, 2, "AppendEntries")  # the no-op, to S2
    deliver(c, 1, 3, "AppendEntries")  # and to S3
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits index 1
    c.propose("x", server=1)  # index 2, sent to S2
    x = message(c, 1, 2, "AppendEntries")
    heartbeat_timer = next(e for e in c.pending() if e.kind == "heartbeat" and e.target == 1)
    c.fire(heartbeat_timer)  # x is in flight: S2 gets an empty AppendEntries after index 1
    c.fire(x)
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits x
    deliver(c, 1, 2, "AppendEntries")  # the late heartbeat: the bug deletes x
    c.crash(1)
    c.timeout(3)  # S3: candidate in term 2
    deliver(c, 3, 2, "RequestVote")  # a correct S2 refuses: it holds x
    deliver(c, 2, 3, "RequestVoteReply")
    return c


def commit_past_last_new(bug: bool = True, seed: int = 1) -> Cluster:
    """S3 leads term 1 and appends x at index 2, which nobody else gets; it is cut
    off. S1 wins term 2 with S2 and commits its no-op (index 2) and y (index 3). S3
    comes back; S1's heartbeat to it says prevLogIndex 1, leaderCommit 3: the bug
    commits S3's own x at index 2."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(COMMIT_PAST_LAST_NEW, bug))
    elect(c, 3, 1)
    deliver(c, 3, 1, "AppendEntries")  # S3's no-op (index 1) to S1
    deliver(c, 3, 2, "AppendEntries")  # and to S2
    c.propose("x", server=3)  # index 2, term 1: S3 alone will hold it
    c.disconnect(3)
    elect(c, 1, 2)  # S1 leads term 2 and appends its no-op at index 2
    deliver(c, 1, 2, "AppendEntries")
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits index 2
    c.propose("y", server=1)  # index 3
    deliver(c, 1, 2, "AppendEntries")
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits index 3
    c.connect(3)
    heartbeat_timer = next(e for e in c.pending() if e.kind == "heartbeat" and e.target == 1)
    c.fire(heartbeat_timer)  # to S3: prevLogIndex 1, no entries, leaderCommit 3
    deliver(c, 1, 3, "AppendEntries")
    return c


def stale_replies(bug: bool = True, seed: int = 1) -> Cluster:
    """S1 stands in term 1 and gets S3's vote, but the reply is slow; S1 times out
    (term 2). S2 wins term 2 with S3's vote. Then S3's old reply reaches S1."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(STALE_REPLIES, bug))
    c.timeout(1)
    deliver(c, 1, 3, "RequestVote")  # S3 votes for S1 in term 1; the reply is slow
    c.timeout(1)  # S1: candidate in term 2
    c.timeout(2)
    c.timeout(2)  # S2: candidate in term 2
    deliver(c, 2, 3, "RequestVote")
    deliver(c, 3, 2, "RequestVoteReply")  # S2 leads term 2
    deliver(c, 3, 1, "RequestVoteReply")  # S3's vote of term 1 reaches S1
    return c


def read_without_quorum(bug: bool = True, seed: int = 1) -> Cluster:
    """S1 leads term 1 and commits its no-op; it is cut off without knowing it. S2
    wins term 2 with S3 and commits its own no-op. A client reads from S1."""
    c = Cluster(servers=3, seed=seed, bugs=_switch(READ_WITHOUT_QUORUM, bug))
    elect(c, 1, 2)
    deliver(c, 1, 2, "AppendEntries")
    deliver(c, 1, 3, "AppendEntries")
    deliver(c, 2, 1, "AppendEntriesReply")  # S1 commits index 1
    c.disconnect(1)
    c.timeout(2)
    c.timeout(2)  # S2: candidate in term 3 (term 2 would do; S2 voted in term 1)
    deliver(c, 2, 3, "RequestVote")
    deliver(c, 3, 2, "RequestVoteReply")  # S2 leads
    deliver(c, 2, 3, "AppendEntries")
    deliver(c, 3, 2, "AppendEntriesReply")  # S2 commits index 2
    c.read(lambda values: list(values), server=1)  # S1 still believes it leads
    return c


def single_change_before_commit(bug: bool = True, seed: int = 1) -> Cluster:
    """Ongaro's 2015 bug, as lesson 07 shows it (``single_change_bug_scenario``)."""
    return single_change_bug_scenario(bug=bug, seed=seed)


# -------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class ClassicBug:
    """A classic Raft bug: ``name`` (the switch, ``le.Cluster(bugs={name})``), the
    ``rule`` it breaks, the paper's ``sentence`` and its ``section``, what a server does
    ``instead``, the property a counterexample breaks (``breaks``), and the cluster
    options it needs to show at all (``needs``: ``commit_old_term`` needs
    ``leader_noop=False``, since §8's no-op entry hides it)."""

    bug: Bug
    breaks: str
    needs: Mapping[str, Any]
    servers: int
    _scenario: Callable[[bool, int], Cluster]

    @property
    def name(self) -> str:
        return self.bug.name

    @property
    def rule(self) -> str:
        return self.bug.rule

    @property
    def sentence(self) -> str:
        return self.bug.sentence

    @property
    def section(self) -> str:
        return self.bug.section

    @property
    def instead(self) -> str:
        return self.bug.instead

    def scenario(self, bug: bool = True, seed: int = 1) -> Cluster:
        """The counterexample, by hand: a cluster at the moment the bug broke
        ``breaks`` (``bug=False``: the same calls with the rule kept, no violation)."""
        return self._scenario(bug, seed)

    def __str__(self) -> str:
        return str(self.bug)

    def __repr__(self) -> str:
        return f"<classic bug {self.name}: breaks {self.rule}, {self.bug}>"

    def _repr_html_(self) -> str:
        from html import escape

        return (
            f"<div><b>{escape(self.name)}</b> breaks {escape(self.rule)} "
            f"({escape(self.section)}): <q>{escape(self.sentence)}</q>. Switched on, "
            f"{escape(self.instead)}; a counterexample breaks {escape(self.breaks)}.</div>"
        )


class BugCatalogue(Mapping[str, ClassicBug]):
    """``le.BUGS``: name -> ``ClassicBug``, in the order of the issue that asked."""

    def __init__(self, bugs: list[ClassicBug]) -> None:
        self._bugs = {bug.name: bug for bug in bugs}

    def __getitem__(self, name: str) -> ClassicBug:
        try:
            return self._bugs[name]
        except KeyError:
            raise KeyError(
                f"no classic bug is called {name!r}; the names are {', '.join(self._bugs)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._bugs)

    def __len__(self) -> int:
        return len(self._bugs)

    def __repr__(self) -> str:
        return "\n".join(f"{name}: {bug.bug} [{bug.instead}]" for name, bug in self.items())

    def _repr_html_(self) -> str:
        return "".join(bug._repr_html_() for bug in self.values())


def _classic(
    name: str,
    breaks: str,
    scenario: Callable[[bool, int], Cluster],
    servers: int = 3,
    **needs: Any,
) -> ClassicBug:
    return ClassicBug(CATALOGUE[name], breaks, needs, servers, scenario)


BUGS = BugCatalogue(
    [
        _classic(COMMIT_OLD_TERM, LEADER_COMPLETENESS, commit_old_term, leader_noop=False),
        _classic(NO_ELECTION_RESTRICTION, LEADER_COMPLETENESS, no_election_restriction),
        _classic(DELETE_MATCHING_ENTRIES, LEADER_COMPLETENESS, delete_matching_entries),
        _classic(VOTE_TWICE, ELECTION_SAFETY, vote_twice),
        _classic(COMMIT_PAST_LAST_NEW, STATE_MACHINE_SAFETY, commit_past_last_new),
        _classic(STALE_REPLIES, ELECTION_SAFETY, stale_replies),
        _classic(
            SINGLE_CHANGE_BEFORE_COMMIT, ELECTION_SAFETY, single_change_before_commit, servers=4
        ),
        _classic(READ_WITHOUT_QUORUM, LINEARIZABLE_READS, read_without_quorum),
    ]
)
