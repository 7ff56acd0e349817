"""Exercises of lesson 08: PreVote, CheckQuorum and leadership transfer (Ongaro's
thesis §9.6, §6.2 with §4.2.3, §3.10).

The predictions compute their answers by running the lesson's own scenarios (the
functions below, with the lesson's seed), so an answer stays true if the simulation
changes."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..core import Role
from ..sim import Cluster
from .framework import (
    Wrong,
    _cases,
    _show,
    as_choice,
    as_server,
    as_yes_no,
    call,
    exercise,
    function_starter,
    need_function,
    prediction,
)
from .seeds import REFERENCE_SEEDS

# ============================================ 08: PreVote, CheckQuorum, transfer

#: The seed the lesson was written on (``REFERENCE_SEEDS["08"]``); a student's own run
#: uses ``le.exercises.lesson_seed("08")``. Five servers in each cluster.
SEED = REFERENCE_SEEDS["08"]


def _elect(cluster: Cluster) -> int:
    if not cluster.run_until(lambda c: c.leader is not None, max_ms=5_000):
        raise RuntimeError(f"no leader within 5 s in {cluster!r}")
    leader = cluster.leader
    assert leader is not None
    return leader


class Rejoin(NamedTuple):
    """A follower cut off for two seconds, then connected again (section 1 and 2)."""

    cluster: Cluster
    leader: int  # the leader before the follower was cut off
    lonely: int  # the follower that was cut off
    term_away: int  # its term just before it rejoined
    term: int  # the leader's term when the follower was cut off


def rejoin(prevote: bool, seed: int = SEED) -> Rejoin:
    """Cut the highest-numbered follower off for 2 s while the others commit three
    commands, then connect it again and run 1 s."""
    cluster = Cluster(servers=5, seed=seed, prevote=prevote)
    leader = _elect(cluster)
    cluster.run(100)
    lonely = max(i for i in cluster.ids if i != leader)
    term = cluster.servers[leader].current_term
    cluster.disconnect(lonely)
    for k in range(3):
        cluster.propose(f"x = {k}")
    cluster.run(2_000)
    term_away = cluster.servers[lonely].current_term
    cluster.connect(lonely)
    cluster.run(1_000)
    return Rejoin(cluster, leader, lonely, term_away, term)


def _rejoin_outcome(seed: int) -> str:
    run = rejoin(prevote=False, seed=seed)
    cluster = run.cluster
    if cluster.leader == run.leader and cluster.servers[run.leader].current_term == run.term:
        return "a"
    return "c" if cluster.leader == run.lonely else "b"


prediction(
    "08.predict_rejoin",
    "Without PreVote, a follower was cut off for 2 s while the others committed 3 "
    "commands; its term grew. When it rejoins: (a) nothing changes, the leader keeps its "
    "term and the follower catches up; (b) the leader steps down and a new election is "
    "held in a term above the follower's; (c) the follower becomes leader.",
    _rejoin_outcome,
    "Alone, the follower timed out again and again, each time in a new term. When it "
    "rejoins, its higher term reaches the others (in its RequestVote, or in its answer "
    "to the leader's AppendEntries), and 'if one server's current term is smaller than "
    "the other's, then it updates its current term to the larger value' (§5.1): the "
    "leader steps down. It cannot win the election that follows, because its log misses "
    "the three commands (§5.4.1), so somebody else leads, in a higher term. A healthy "
    "leader was deposed for nothing: 'a server that has been partitioned from the "
    "cluster is likely to cause a disruption when it regains connectivity' (thesis §9.6).",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. What does a leader do when it sees a higher term (§5.1)? "
    "Could a server missing committed entries win a vote (§5.4.1)?",
    section="§5.1, §5.4.1, thesis §9.6",
)


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


prediction(
    "08.predict_prevote_term",
    "With PreVote on, the same follower is cut off for the same 2 s. What is its term "
    "just before it rejoins? (a number)",
    lambda seed: rejoin(prevote=True, seed=seed).term_away,
    "It stays in the term it had when it was cut off (term 1, unless the first election "
    "took more than one term). Each time its election "
    "timer fires it becomes a pre-candidate and asks 'would you vote for me in term 2?', "
    "without changing its own term. Nobody answers, so it never gets the majority of "
    "pre-votes it needs to start a real election: 'while a server is partitioned, it "
    "won't be able to increment its term, since it can't receive permission from a "
    "majority of the cluster' (thesis §9.6). When it rejoins, nobody sees a higher term.",
    normalize=_whole_number,
    hint="answer with a whole number. When does a pre-candidate increment its term?",
    section="thesis §9.6",
)

_PRE_VOTE_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (
        (1, 2, False, True),
        True,
        "a newer term, no leader heard lately and an up-to-date log: the voter would vote.",
    ),
    (
        (1, 2, True, True),
        False,
        "the voter heard from a leader within the minimum election timeout: that leader is "
        "alive, so it would not help depose it (thesis §9.6).",
    ),
    (
        (1, 2, False, False),
        False,
        "the candidate's log is less up-to-date: it could never win the real election "
        "(§5.4.1), so it gets no pre-vote either.",
    ),
    (
        (3, 2, False, True),
        False,
        "the voter is already in term 3: an election in term 2 is in the past (§5.1).",
    ),
    (
        (2, 2, False, True),
        False,
        "the voter is already in term 2: the pre-candidate would start a term that is not "
        "newer than the voter's.",
    ),
    (
        (4, 9, False, True),
        True,
        "term 9 is newer and nothing else stands in the way; the voter stays in term 4 all "
        "the same: a pre-vote changes nothing at the voter.",
    ),
    (
        (4, 5, True, False),
        False,
        "a leader heard lately and an out-of-date log: two reasons to refuse.",
    ),
]


@exercise(
    "08.grants_pre_vote",
    "Write grants_pre_vote(voter_term, request_term, heard_from_leader, up_to_date): "
    "would a voter grant a pre-vote for an election in request_term?",
    starter=function_starter(
        "grants_pre_vote", "voter_term", "request_term", "heard_from_leader", "up_to_date"
    ),
    hint="three conditions, all needed: request_term is newer than voter_term, the voter "
    "has not heard from a leader within the minimum election timeout (heard_from_leader "
    "is False), and the candidate's log is at least as up-to-date (up_to_date is True).",
    section="thesis §9.6",
)
def _check_grants_pre_vote(answer: Any) -> str:
    f = need_function(answer, "grants_pre_vote", 4)
    _cases(f, _PRE_VOTE_CASES, signature="grants_pre_vote", convert=as_yes_no)
    return (
        "grants_pre_vote is the PreVote rule: a server gets to disturb the cluster with a "
        "new term only if a majority would really vote for it (thesis §9.6)."
    )


class CutOff(NamedTuple):
    """The leader and one follower cut off from the other three (section 3)."""

    cluster: Cluster
    old: int  # the leader before the partition
    minority: frozenset[int]  # the old leader and its follower


def cut_off_leader(check_quorum: bool, seed: int = SEED) -> CutOff:
    """A 5-server cluster with PreVote on: after 'a = 1' commits, the leader and the
    lowest-numbered follower are cut off from the other three; a client sends 'b = 2'
    to the old leader, and 1 s passes."""
    cluster = Cluster(servers=5, seed=seed, prevote=True, check_quorum=check_quorum)
    _elect(cluster)
    cluster.propose("a = 1")
    cluster.run(100)
    old = cluster.leader
    assert old is not None
    follower = min(i for i in cluster.ids if i != old)
    minority = frozenset({old, follower})
    cluster.partition(minority, set(cluster.ids) - minority)
    cluster.propose("b = 2", server=old)
    cluster.run(1_000)
    return CutOff(cluster, old, minority)


def _old_leader_stepped_down(seed: int) -> bool:
    run = cut_off_leader(check_quorum=True, seed=seed)
    return run.cluster.servers[run.old].role is not Role.LEADER


prediction(
    "08.predict_check_quorum",
    "With CheckQuorum on, the leader is cut off with one follower from the other three, "
    "and no message crosses. Does the old leader stop being leader before the network "
    "heals? (yes/no)",
    _old_leader_stepped_down,
    "Without CheckQuorum nothing tells it: it hears no higher term, so it leads "
    "its old term forever. With CheckQuorum it counts who answered lately: 'a leader in "
    "Raft steps down if an election timeout elapses without a successful round of "
    "heartbeats to a majority of its cluster; this allows clients to retry their "
    "requests with another server' (thesis §6.2). Only 2 of 5 answer, so it steps down "
    "by itself, with its term unchanged.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What does the old leader count under CheckQuorum?",
    section="thesis §6.2",
)


_STEPS_DOWN_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    ((5, {1, 2}), False, "2 followers and the leader itself make 3 of 5: a majority."),
    ((5, {1}), True, "1 follower and the leader make 2 of 5: not a majority."),
    ((5, set()), True, "nobody answered: the leader alone is 1 of 5."),
    ((3, {2}), False, "1 follower and the leader make 2 of 3: a majority."),
    ((4, {1}), True, "2 of 4 is half, not a majority: more than half is needed."),
    ((4, {1, 3}), False, "2 followers and the leader make 3 of 4: a majority."),
    ((7, {1, 2, 3, 4, 5, 6}), False, "everybody answered."),
    ((7, {2, 3}), True, "3 of 7 is not a majority; 4 are needed."),
    ((1, set()), False, "a cluster of one server is its own majority."),
]


@exercise(
    "08.steps_down",
    "Write steps_down(servers, heard_from): under CheckQuorum, does the leader of a "
    "cluster of that many servers step down, if heard_from (a set of follower ids) "
    "answered it within the last election timeout?",
    starter=function_starter("steps_down", "servers", "heard_from"),
    hint="the leader counts itself: it stays if len(heard_from) + 1 is a majority of "
    "servers (more than half), and steps down otherwise.",
    section="thesis §6.2",
)
def _check_steps_down(answer: Any) -> str:
    f = need_function(answer, "steps_down", 2)
    _cases(f, _STEPS_DOWN_CASES, signature="steps_down", convert=as_yes_no)
    return (
        "steps_down is CheckQuorum: a leader stays only while a majority, itself "
        "included, keeps answering; the same majority it needs to commit (§5.3)."
    )


def _stale_read_completes(seed: int) -> bool:
    run = cut_off_leader(check_quorum=False, seed=seed)
    handle = run.cluster.read(lambda machine: list(machine.values), server=run.old)
    run.cluster.run(1_000)
    return handle.done


prediction(
    "08.predict_stale_read",
    "Without CheckQuorum, a client sends a read (cluster.read) to the old leader cut off "
    "with one follower. Does the read ever complete while the partition lasts? (yes/no)",
    _stale_read_completes,
    "Answering from its own state machine could return stale data: the majority "
    "side may have a new leader that committed newer writes. With ReadIndex, 'the leader "
    "needs to make sure it hasn't been superseded by a newer leader of which it is "
    "unaware. It issues a new round of heartbeats and waits for their acknowledgments "
    "from a majority of the cluster' (thesis §6.4); cut off, it never gets them, so the "
    "read waits. CheckQuorum goes further: the old leader "
    "steps down, so new reads are refused and the client tries another server.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What must a leader confirm before it answers a read (thesis §6.4)?",
    section="thesis §6.4",
)


class Transfer(NamedTuple):
    """A transfer to a follower whose log is behind (section 4)."""

    cluster: Cluster
    old: int  # the leader handing over
    target: int  # the server taking over
    mark: int  # the step at which the transfer started
    during: bool  # whether a command sent during the transfer was accepted


def transfer_to_lagging_follower(seed: int = SEED) -> Transfer:
    """PreVote and CheckQuorum on: the highest-numbered follower misses four commands
    while it is cut off; once it is connected again, the leader hands leadership to it,
    and a client sends a command at once."""
    cluster = Cluster(servers=5, seed=seed, prevote=True, check_quorum=True)
    old = _elect(cluster)
    cluster.run(100)
    target = max(i for i in cluster.ids if i != old)
    cluster.disconnect(target)
    for k in range(4):
        cluster.propose(f"v{k}")
    cluster.run(200)
    cluster.connect(target)
    mark = cluster.step_count
    started = cluster.transfer_leadership(to=target)
    if not started.accepted:
        raise RuntimeError(f"the transfer to S{target} was refused: {started.reason}")
    during = cluster.propose("during the transfer").accepted
    return Transfer(cluster, old, target, mark, during)


prediction(
    "08.predict_transfer_propose",
    "The leader has just started handing leadership to a follower. A client sends it a "
    "command at once. Is the command accepted? (yes/no)",
    lambda seed: transfer_to_lagging_follower(seed).during,
    "'The prior leader stops accepting new client requests' (thesis §3.10), for two "
    "reasons. It must bring the target's log level with its own before the target "
    "stands, and new commands would keep moving the finish line. And soon it will not "
    "be leader any more: an entry it appended now might never commit. The client "
    "retries with the new leader; if the transfer fails, the old leader takes commands "
    "again after an election timeout.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What is the first step of a leadership transfer (thesis §3.10)?",
    section="thesis §3.10",
)


# ------------------------------------------------------------ hand over


def maintenance_cluster(servers: int, seed: int) -> tuple[Cluster, int, int, int]:
    """A cluster whose leader is about to be shut down, with two traps for choosing
    whom to hand over to: the lowest-numbered follower is down (although the leader
    last saw it up to date) and the next one missed three commands while it was cut
    off. Returns the cluster, the leader, the crashed and the lagging follower."""
    cluster = Cluster(servers=servers, seed=seed, prevote=True, check_quorum=True)
    leader = _elect(cluster)
    cluster.run(100)
    followers = sorted(i for i in cluster.ids if i != leader)
    crashed, lagging = followers[0], followers[1]
    cluster.disconnect(lagging)
    for k in range(3):
        cluster.propose(f"w{k}")
    cluster.run(200)
    cluster.crash(crashed)
    cluster.connect(lagging)
    return cluster, leader, crashed, lagging


#: The (servers, seed) of the clusters 08.hand_over is checked on.
HAND_OVER_CLUSTERS = ((5, 7), (5, 3), (7, 4))


def _best_targets(cluster: Cluster, leader: int) -> set[int]:
    match = cluster.servers[leader].match_index
    running = [i for i in match if cluster.servers[i].alive]
    best = max(match[i] for i in running)
    return {i for i in running if match[i] == best}


@exercise(
    "08.hand_over",
    "Write hand_over(cluster): the leader will be shut down for maintenance. Hand "
    "leadership to the running follower whose log the leader knows is most up to date, "
    "wait until that server leads, and return its id.",
    starter=function_starter("hand_over", "cluster"),
    hint="the leader's cluster.servers[leader].match_index says how far each follower's "
    "log matches; cluster.servers[i].alive says whether S{i} runs. Pick the running "
    "follower with the highest match_index, call cluster.transfer_leadership(to=it), then "
    "cluster.run_until(lambda c: c.leader == it), and return it.",
    section="thesis §3.10",
)
def _check_hand_over(answer: Any) -> str:
    f = need_function(answer, "hand_over", 1)
    for servers, seed in HAND_OVER_CLUSTERS:
        cluster, old, crashed, lagging = maintenance_cluster(servers, seed)
        term = cluster.servers[old].current_term
        best = _best_targets(cluster, old)
        match = cluster.servers[old].match_index
        mark = cluster.step_count
        returned = call(f, cluster)
        chosen = as_server(returned)
        where = f"With {servers} servers (leader S{old}, S{crashed} down, S{lagging} behind)"
        if chosen is None or chosen not in cluster.ids:
            raise Wrong(
                f"{where}, hand_over returned {_show(returned)}: return the id of the "
                "server that now leads, e.g. 3."
            )
        if chosen == crashed:
            raise Wrong(
                f"{where}, you chose S{crashed}, which is down: "
                f"cluster.transfer_leadership(to={crashed}) is refused. The leader still "
                "lists its old match_index, but a crashed server cannot take over.",
                hint="skip followers whose cluster.servers[i].alive is False.",
            )
        if chosen == old:
            raise Wrong(f"{where}, hand_over returned S{old}, the leader that is leaving.")
        started = [e for e in cluster.trace.since(mark) if e.rule == "TR.start"]
        if not started:
            raise Wrong(
                f"{where}, no leadership transfer started: call "
                "cluster.transfer_leadership(to=...)."
            )
        if chosen not in best:
            names = ", ".join(f"S{i}" for i in sorted(best))
            raise Wrong(
                f"{where}, you chose S{chosen}, whose log was behind: its match_index was "
                f"{match[chosen]}, {names} had {match[min(best)]}. The leader had to send it "
                "the missing entries first, which makes the hand-over slower.",
                hint="compare match_index values and pick the largest.",
            )
        if cluster.leader != chosen:
            raise Wrong(
                f"{where}, hand_over returned S{chosen}, but the leader is "
                f"{_show_leader(cluster.leader)}: wait until S{chosen} leads before "
                "returning, e.g. cluster.run_until(lambda c: c.leader == chosen)."
            )
        if not any(e.rule == "TN" and e.server == chosen for e in cluster.trace.since(mark)):
            raise Wrong(
                f"{where}, S{chosen} leads, but not because of a TimeoutNow from "
                f"S{old}: it won an ordinary election. Use cluster.transfer_leadership."
            )
        if cluster.servers[chosen].current_term != term + 1:
            raise Wrong(
                f"{where}, S{chosen} leads term {cluster.servers[chosen].current_term}, "
                f"not term {term + 1}: there were extra elections on the way."
            )
        if not cluster.propose("after the hand-over").accepted:
            raise Wrong(f"{where}, the new leader S{chosen} refuses commands.")
    return (
        "hand_over works: the most up-to-date running follower takes over at once, in "
        "the next term, without waiting for an election timeout, and the old leader can "
        "now be shut down (thesis §3.10)."
    )


def _show_leader(leader: int | None) -> str:
    return "nobody" if leader is None else f"S{leader}"
