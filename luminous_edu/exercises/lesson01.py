"""Exercises of lesson 01: leader election."""

from __future__ import annotations

from typing import Any

from ..sim import Cluster
from .framework import (
    Wrong,
    _cases,
    _events,
    as_choice,
    as_server,
    as_yes_no,
    call_for_effect,
    exercise,
    function_starter,
    need_function,
    prediction,
)

# ============================================================ 01: leader election


def first_candidate(seed: int, servers: int = 5) -> int:
    """Whose election timer fires first in ``Cluster(servers=servers, seed=seed)``."""
    cluster = Cluster(servers=servers, seed=seed, checks=False)
    timers = [e for e in cluster.pending() if e.kind == "election_timeout"]
    return timers[0].target


prediction(
    "01.predict_first_candidate",
    "In the lesson's cluster, le.Cluster(servers=5, seed=SEED), which server becomes a "
    "candidate first?",
    first_candidate,
    "Each follower waits a random election timeout, drawn from 150-300 ms here (§5.2: "
    "'election timeouts are chosen randomly from a fixed interval'). The smallest one "
    "fires first: cluster.pending() lists the timers in the order they fire.",
    normalize=as_server,
    hint="look at cluster.pending(): the events are listed in the order they would fire.",
    section="§5.2",
)


@exercise(
    "01.votes_needed",
    "Write votes_needed(servers): how many votes a candidate needs to win in a cluster "
    "of that many servers.",
    starter=function_starter("votes_needed", "servers"),
    hint="'a majority of the servers in the full cluster' (§5.2): more than half, "
    "counting the candidate's vote for itself. Try 5 servers -> 3, 4 servers -> 3.",
    section="§5.2",
)
def _check_votes_needed(answer: Any) -> str:
    f = need_function(answer, "votes_needed", 1)
    cases = [
        ((n,), n // 2 + 1, f"with {n} servers, more than half is {n // 2 + 1}.")
        for n in (5, 3, 4, 1, 2, 6, 7, 9)
    ]
    _cases(f, cases, signature="votes_needed")
    return (
        "votes_needed is right: a majority, so two candidates can never both win the "
        "same term (Election Safety, Figure 3)."
    )


_VOTE_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((2, None, 2, 3), True, "same term, no vote cast yet: grant (§5.2, first-come-first-served)."),
    ((2, 3, 2, 3), True, "it already voted for this same candidate: grant again (a repeat)."),
    ((2, 1, 2, 3), False, "it already voted for S1 in term 2: one vote per term (§5.2)."),
    ((3, None, 2, 3), False, "the request's term 2 is older: 'Reply false if term < currentTerm'."),
    (
        (2, 1, 3, 3),
        True,
        "the request's term 3 is newer: the voter first moves to term 3, where it has not "
        "voted yet (§5.1), so it grants.",
    ),
    ((5, 4, 4, 4), False, "term 4 is older than the voter's term 5, whoever it voted for."),
    ((0, None, 1, 2), True, "a fresh voter hears of term 1: it moves to term 1 and grants."),
]


@exercise(
    "01.grants_vote",
    "Write grants_vote(voter_term, voted_for, request_term, candidate_id): does a voter "
    "grant its vote? (Ignore logs for now: both logs are equally up to date.)",
    starter=function_starter(
        "grants_vote", "voter_term", "voted_for", "request_term", "candidate_id"
    ),
    hint="three rules: an older request_term is refused (§5.1); a newer one makes the "
    "voter forget its old vote (it moves to the new term); in the same term, grant only "
    "if voted_for is None or already candidate_id (§5.2).",
    section="§5.1, §5.2",
)
def _check_grants_vote(answer: Any) -> str:
    f = need_function(answer, "grants_vote", 4)
    _cases(f, _VOTE_CASES, signature="grants_vote", convert=as_yes_no)
    return (
        "grants_vote follows RequestVote's receiver rules: at most one vote per term, and "
        "no vote for an older term."
    )


def _split_vote_terms(cluster: Cluster) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Per term: the candidates, and who voted (candidates for themselves included)."""
    candidates: dict[int, set[int]] = {}
    voters: dict[int, set[int]] = {}
    for event in _events(cluster, "ET"):
        server, term = event.args[0], event.args[1]
        candidates.setdefault(term, set()).add(server)
        voters.setdefault(term, set()).add(server)
    for event in _events(cluster, "RV.2.grant"):
        voter, term = event.args[0], event.args[2]
        voters.setdefault(term, set()).add(voter)
    return candidates, voters


@exercise(
    "01.split_vote",
    "Write force_split_vote(cluster): on a fresh 4-server cluster, use timeout, pending, "
    "fire and drop (no run) so that every server votes in one term and nobody wins it.",
    starter=function_starter("force_split_vote", "cluster"),
    hint="make S1 and S2 time out one after the other (cluster.timeout(1), "
    "cluster.timeout(2)); then deliver S1's RequestVote to S3 and S2's to S4 first "
    "(cluster.fire(id) with ids from cluster.pending()); then deliver the rest.",
    section="§5.2",
)
def _check_split_vote(answer: Any) -> str:
    f = need_function(answer, "force_split_vote", 1)
    cluster = Cluster(servers=4, seed=5)
    call_for_effect(f, cluster)
    candidates, voters = _split_vote_terms(cluster)
    won = {e.args[2]: e.args[0] for e in _events(cluster, "LEADER")}
    contested = sorted(t for t, c in candidates.items() if len(c) >= 2)
    if not contested:
        raise Wrong(
            "no term had two candidates, so the votes could not split.",
            hint="a split vote needs two servers standing in the same term: call "
            "cluster.timeout(1) and cluster.timeout(2) before either hears the other.",
        )
    for term in contested:
        if term in won:
            continue
        missing = sorted(set(cluster.ids) - voters.get(term, set()))
        if not missing:
            names = ", ".join(f"S{c}" for c in sorted(candidates[term]))
            return (
                f"Split vote in term {term}: {names} stood, every server voted, and "
                "nobody reached a majority. Each candidate will time out and try again "
                "in a new term (§5.2)."
            )
    term = contested[0]
    if term in won:
        raise Wrong(
            f"S{won[term]} won term {term}: the votes did not split.",
            hint="deliver each candidate's RequestVote to a different server first, so "
            "that S3 votes for one candidate and S4 for the other; after that, every "
            "other request is refused (one vote per term).",
        )
    missing = sorted(set(cluster.ids) - voters.get(term, set()))
    raise Wrong(
        f"term {term} had no winner, but {', '.join(f'S{m}' for m in missing)} never voted "
        "in it: a message was lost or is still pending. That is a failed election, not a "
        "split vote.",
        hint="deliver (fire) the RequestVotes to every server instead of dropping them.",
    )


prediction(
    "01.predict_after_split",
    "After a split vote, we let time run. What happens? (a) the cluster stays without a "
    "leader for good; (b) a new election in a higher term elects one leader; (c) both "
    "candidates become leaders.",
    "b",
    "Each candidate's election timer is reset to a new random value. One of them (or "
    "another server) times out first, starts term +1, and usually wins before anyone "
    "else times out (§5.2: randomized timeouts make split votes rare and short). (c) "
    "can never happen: one vote per server per term, and a majority to win.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter: 'a', 'b' or 'c'.",
    section="§5.2",
)
