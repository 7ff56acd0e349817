"""Exercises of lesson 03: safety."""

from __future__ import annotations

from typing import Any

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
