"""Exercises of lesson 03: safety."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..core import Role
from ..sim import Cluster
from ..sim.events import Event
from .framework import (
    Wrong,
    _cases,
    _letters,
    _show,
    as_choice,
    as_yes_no,
    exercise,
    function_starter,
    need_function,
    not_answered,
    prediction,
)
from .lesson02 import FIGURE_7
from .seeds import REFERENCE_SEEDS

# ================================================================== 03: safety

_UP_TO_DATE_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((3, 7, 3, 7), True, "identical last entries: 'at least as up-to-date' includes equal."),
    ((3, 7, 3, 8), True, "same last term, their log is longer: up to date."),
    ((3, 7, 3, 6), False, "same last term, their log is shorter: not up to date."),
    ((3, 7, 4, 2), True, "their last term 4 is later: up to date, however short (§5.4.1)."),
    ((4, 2, 3, 9), False, "their last term 3 is earlier: not up to date, however long."),
    ((0, 0, 0, 0), True, "two empty logs are equally up to date."),
    ((0, 0, 1, 1), True, "any entry beats an empty log."),
]


@exercise(
    "03.up_to_date",
    "Write is_up_to_date(my_last_term, my_last_index, their_last_term, their_last_index): "
    "is the candidate's log (theirs) at least as up-to-date as the voter's (mine)?",
    starter=function_starter(
        "is_up_to_date", "my_last_term", "my_last_index", "their_last_term", "their_last_index"
    ),
    hint="§5.4.1: 'If the logs have last entries with different terms, then the log with "
    "the later term is more up-to-date. If the logs end with the same term, then whichever "
    "log is longer is more up-to-date.' Compare terms first, lengths only on a tie.",
    section="§5.4.1",
)
def _check_up_to_date(answer: Any) -> str:
    f = need_function(answer, "is_up_to_date", 4)
    _cases(f, _UP_TO_DATE_CASES, signature="is_up_to_date", convert=as_yes_no)
    return (
        "is_up_to_date is the election restriction: a voter refuses a candidate whose log "
        "could be missing a committed entry (§5.4.1)."
    )


def _electable(name: str) -> bool:
    """Could Figure 7's server ``name`` collect 4 of the 7 votes?"""
    mine = FIGURE_7[name]
    votes = 0
    for other in FIGURE_7.values():
        their_term, their_index = (other[-1], len(other))
        my_term, my_index = (mine[-1], len(mine))
        if (my_term, my_index) >= (their_term, their_index):
            votes += 1
    return votes >= 4


@exercise(
    "03.figure7_electable",
    "In Figure 7 (7 servers, all up), which of the followers (a)-(f) could win an election "
    "if it timed out now? Give a set of letters, e.g. {'a', 'b'}.",
    hint="a candidate needs 4 of 7 votes, its own included; a server votes for it only if "
    "the candidate's log is at least as up-to-date as its own (compare last terms, then "
    "lengths). For each candidate, count who would vote for it.",
    section="§5.4.1",
)
def _check_figure7(answer: Any) -> str:
    if not_answered(answer):
        raise Wrong("you have not answered yet: replace the ... with a set of letters.")
    given = _letters(answer)
    valid = set("abcdef")
    if given is None or not given <= valid:
        raise Wrong(
            f"{_show(answer)} is not a set of letters from a to f, e.g. {{'a', 'c'}}.",
        )
    expected = frozenset(n for n in "abcdef" if _electable(n))
    if given == expected:
        return (
            "(a), (c) and (d) can win: each has a log at least as up-to-date as a majority's. "
            "(b), (e) and (f) end with old terms and would be refused by most servers."
        )
    extra = sorted(given - expected)
    missing = sorted(expected - given)
    parts = []
    if extra:
        parts.append(f"({'), ('.join(extra)}) cannot win")
    if missing:
        parts.append(f"({'), ('.join(missing)}) can win too")
    raise Wrong(
        "; ".join(parts) + ".",
        hint=(
            f"take ({(extra or missing)[0]}): write down its last term and length, then "
            "count the servers (the leader and (a)-(f), itself included) whose last entry "
            "is not more up-to-date. It needs 4."
        ),
    )


prediction(
    "03.predict_figure8_d",
    "Figure 8 (c): S1 leads term 4; its term-2 entry at index 2 is stored on S1, S2 and "
    "S3. Now S1 crashes. Can S5, whose index 2 holds a term-3 entry, be elected? (yes/no)",
    True,
    "Yes. S5's last entry has term 3, later than S2's and S4's last terms (2 and 1), so "
    "they vote for it, and with its own vote that is a majority. As leader of term 5 it "
    "overwrites index 2 everywhere: an entry stored on a majority was not safe, because it "
    "was from an older term. That is why a leader only commits entries of its current "
    "term by counting replicas (§5.4.2).",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Compare S5's last entry with S2's and S4's (§5.4.1).",
    section="§5.4.2",
)


_PROPERTY_MATCH = {
    "a": "Election Safety",
    "b": "Leader Append-Only",
    "c": "Log Matching",
    "d": "Leader Completeness",
    "e": "State Machine Safety",
}
_PROPERTY_EXPECTED = {1: "d", 2: "c", 3: "a", 4: "e"}
_PROPERTY_WHY = {
    1: "Committed entries are in every later leader's log: Leader Completeness.",
    2: "Two logs that share an (index, term) agree before it: Log Matching.",
    3: "One vote per server per term and a majority to win: Election Safety.",
    4: "No two servers apply different commands at one index: State Machine Safety.",
}


@exercise(
    "03.figure3_properties",
    "Match each mechanism (1-4) to the Figure 3 property (a-e) it protects: answer a dict "
    "like {1: 'a', 2: 'b', 3: 'c', 4: 'd'}.",
    hint="the five properties, in Figure 3's order: (a) Election Safety, (b) Leader "
    "Append-Only, (c) Log Matching, (d) Leader Completeness, (e) State Machine Safety.",
    section="Figure 3",
)
def _check_figure3(answer: Any) -> str:
    if not_answered(answer):
        raise Wrong(
            "you have not answered yet: replace the ... with a dict like {1: 'a', 2: 'b', ...}."
        )
    if not isinstance(answer, dict):
        raise Wrong(f"expected a dict from mechanism number to letter, got {_show(answer)}.")
    given = _figure3_letters(answer)
    for number in sorted(_PROPERTY_EXPECTED):
        if given.get(number) != _PROPERTY_EXPECTED[number]:
            raise Wrong(
                f"mechanism {number} is not about {_PROPERTY_MATCH[given[number]]} "
                f"({given[number]}).",
                hint=f"what does mechanism {number} guarantee? Read the five statements in "
                "le.FIGURE_3.",
            )
    return "All four match: " + " ".join(f"({n}) {_PROPERTY_WHY[n]}" for n in sorted(_PROPERTY_WHY))


def _figure3_letters(answer: dict[Any, Any]) -> dict[int, str]:
    """The answer as {mechanism number: letter}; ``Wrong`` for keys that are not the
    numbers 1-4 and values that are not letters a-e, saying what to write instead."""
    letters = as_choice(*_PROPERTY_MATCH)
    by_name = {name.lower(): letter for letter, name in _PROPERTY_MATCH.items()}
    given: dict[int, str] = {}
    for key, value in answer.items():
        number = key if type(key) is int else None
        if isinstance(key, str) and key.strip().isdigit():
            number = int(key.strip())  # {"1": "d"} means mechanism 1 too
        if number not in _PROPERTY_EXPECTED:
            raise Wrong(
                f"{key!r} is not a mechanism: the keys are the mechanisms' numbers 1, 2, 3 "
                "and 4, e.g. {1: 'a', 2: 'b', 3: 'c', 4: 'd'}."
            )
        letter = letters(value)
        if letter is None:
            name = value.strip().lower() if isinstance(value, str) else None
            instead = (
                f" For {_PROPERTY_MATCH[by_name[name]]} write {by_name[name]!r}."
                if name in by_name
                else ""
            )
            raise Wrong(
                f"answer with letters a-e, not {_show(value)} (mechanism {number}).{instead}"
            )
        given[number] = letter
    missing = sorted(set(_PROPERTY_EXPECTED) - set(given))
    if missing:
        raise Wrong(
            f"mechanism {missing[0]} has no letter yet: give each of the four mechanisms "
            "(1-4) one letter, e.g. {1: 'a', 2: 'b', 3: 'c', 4: 'd'}."
        )
    return given


# ============================================ the paper's Figures 7 and 8, rebuilt
# The calls of the lesson's cells (and of the instructor's demo) as functions, for the
# instructor's playground (``luminous_edu.viz.playground``) and the tests. Every
# delivery is decided by hand (``timeout``, ``pending``, ``fire``, ``drop``), so the
# logs come out as the paper draws them, whatever the seed.

#: The seed the lesson was written on (``REFERENCE_SEEDS["03"]``).
SEED = REFERENCE_SEEDS["03"]


def in_flight(
    cluster: Cluster, kind: str, source: int | None = None, target: int | None = None
) -> list[Event]:
    """The pending messages of type ``kind`` (e.g. "RequestVote"), oldest first."""
    return [
        e
        for e in cluster.pending()
        if e.kind == "deliver"
        and type(e.message).__name__ == kind
        and source in (None, e.source)
        and target in (None, e.target)
    ]


def drop_all(cluster: Cluster) -> None:
    """Lose every message in flight."""
    for event in cluster.pending():
        if event.kind == "deliver":
            cluster.drop(event.id)


def elect(cluster: Cluster, candidate: int) -> bool:
    """The candidate times out; its RequestVotes reach every live server (and are lost
    on the way to a crashed one), and the replies come back. True if it won."""
    cluster.timeout(candidate)
    for event in in_flight(cluster, "RequestVote", source=candidate):
        if cluster.servers[event.target].alive:
            cluster.fire(event.id)
        else:
            cluster.drop(event.id)
    for event in in_flight(cluster, "RequestVoteReply", target=candidate):
        cluster.fire(event.id)
    return cluster.servers[candidate].role is Role.LEADER


def replicate(cluster: Cluster, leader: int, follower: int) -> None:
    """Deliver the leader's AppendEntries to one follower, and the replies, until the
    leader has nothing more to send it."""
    while sent := in_flight(cluster, "AppendEntries", leader, follower):
        cluster.fire(sent[0].id)
        for reply in in_flight(cluster, "AppendEntriesReply", follower, leader):
            cluster.fire(reply.id)


def _wins(cluster: Cluster, candidate: int, figure: str) -> None:
    if not elect(cluster, candidate):
        raise RuntimeError(f"{figure}: S{candidate} did not win its election")


class Figure(NamedTuple):
    """A figure of the paper, rebuilt: the cluster at its end, and the step at which
    each stage is drawn (``cluster.seek(stages[name])`` shows it)."""

    cluster: Cluster
    stages: dict[str, int]


#: Figure 7's servers: S1 is the leader-to-be, S2..S7 are the followers (a)..(f).
FIGURE_7_NAMES = {1: "leader", 2: "(a)", 3: "(b)", 4: "(c)", 5: "(d)", 6: "(e)", 7: "(f)"}


def figure7(seed: int = SEED) -> Figure:
    """Figure 7 (§5.3): the logs a new leader may find, built term by term as the lesson
    builds them; it ends before term 8, with every server up. Every leader first
    appends its no-op entry (§8), then client commands. Stages: ``"term 1"``, ``"terms
    2-3"`` (the paper's story of (f)), ``"term 4"``, and ``"Figure 7"`` (terms 5-7)."""
    c = Cluster(servers=7, seed=seed)
    stages = {}
    _wins(c, 1, "Figure 7, term 1")
    c.propose("x = 1")
    c.propose("y = 2")
    for follower in range(2, 8):
        replicate(c, 1, follower)
    drop_all(c)
    stages["term 1"] = c.step_count
    _wins(c, 7, "Figure 7, term 2")  # (f) leads term 2 ...
    c.propose("a")
    c.propose("b")
    drop_all(c)  # ... nobody hears of its entries
    c.crash(7)
    c.restart(7)
    _wins(c, 7, "Figure 7, term 3")
    for command in "cdef":
        c.propose(command)
    drop_all(c)
    c.crash(7)  # down for several terms
    stages["terms 2-3"] = c.step_count
    _wins(c, 6, "Figure 7, term 4")  # (e)
    replicate(c, 6, 3)
    c.propose("g")
    for follower in (1, 2, 4, 5):
        replicate(c, 6, follower)
    c.propose("h")
    c.propose("i")
    drop_all(c)
    stages["term 4"] = c.step_count
    _wins(c, 5, "Figure 7, term 5")  # (d)
    c.propose("j")
    for follower in (1, 2, 4):
        replicate(c, 5, follower)
    drop_all(c)
    _wins(c, 4, "Figure 7, term 6")  # (c)
    c.propose("k")
    replicate(c, 4, 2)
    c.propose("l")
    replicate(c, 4, 1)
    replicate(c, 4, 5)
    c.propose("m")
    drop_all(c)
    _wins(c, 5, "Figure 7, term 7")  # (d) again; its entries never leave it
    c.propose("n")
    drop_all(c)
    c.restart(7)
    stages["Figure 7"] = c.step_count
    return Figure(c, stages)


def figure8(ending: str = "d", seed: int = SEED) -> Figure:
    """Figure 8 (§5.4.2), panel by panel, as the lesson builds it: five servers and no
    §8 no-op (``leader_noop=False``: Figure 2 exactly, so each entry is a client command
    where the paper has one). Stages ``"(a)"``, ``"(b)"``, ``"(c)"``, then ``"(d)"``
    (S5 overwrites the term-2 entry that a majority stored) or, with ``ending="e"``,
    ``"(e)"`` (S1 replicates its term-4 entry to a majority before it crashes, and S5
    cannot win)."""
    if ending not in ("d", "e"):
        raise ValueError(f"ending={ending!r}: Figure 8 ends with panel 'd' or 'e'")
    c = Cluster(servers=5, seed=seed, leader_noop=False)
    stages = {}
    _wins(c, 5, "Figure 8 (a), term 1")  # index 1 reaches everyone
    c.propose("x = 1")
    for follower in range(1, 5):
        replicate(c, 5, follower)
    drop_all(c)
    _wins(c, 1, "Figure 8 (a), term 2")  # index 2 reaches S2 only
    c.propose("x = 2")
    replicate(c, 1, 2)
    drop_all(c)
    stages["(a)"] = c.step_count
    c.crash(1)
    _wins(c, 5, "Figure 8 (b)")  # votes from S3, S4 and itself
    c.propose("x = 3")  # a different entry at index 2, term 3
    drop_all(c)
    stages["(b)"] = c.step_count
    c.crash(5)
    c.restart(1)
    elect(c, 1)  # term 3: S3 and S4 voted in it already
    drop_all(c)
    _wins(c, 1, "Figure 8 (c)")  # term 4
    replicate(c, 1, 3)  # index 2 now on S1, S2 and S3
    c.propose("x = 4")  # index 3, term 4: in flight, stored on S1 only
    stages["(c)"] = c.step_count
    if ending == "d":
        c.crash(1)
        c.restart(5)
        elect(c, 5)  # term 4: everyone voted in it already
        _wins(c, 5, "Figure 8 (d)")  # term 5
        for follower in (2, 3, 4):
            replicate(c, 5, follower)
        drop_all(c)
        stages["(d)"] = c.step_count
    else:
        replicate(c, 1, 2)  # index 3 (term 4) reaches S2 ...
        replicate(c, 1, 3)  # ... and S3: a majority, so indexes 2 and 3 commit
        c.crash(1)
        c.restart(5)
        elect(c, 5)  # term 4, then term 5: S2 and S3 refuse, their logs are
        elect(c, 5)  # more up to date (§5.4.1)
        stages["(e)"] = c.step_count
    return Figure(c, stages)
