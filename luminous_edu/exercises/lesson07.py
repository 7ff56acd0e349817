"""Exercises of lesson 07: membership changes (the paper's §6, Ongaro's thesis chapter 4).

The lesson's situations are functions here (``learner_cut_off``,
``cut_off_and_back``) or in
``luminous_edu.sim.scenarios`` (``add_server_scenario``, ``remove_leader_scenario``,
``joint_partition_scenario``, ``single_change_bug_scenario``). The predictions compute
their answers by running them, so an answer stays true if the simulation changes."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

from ..core import Role
from ..sim import Cluster
from ..sim.scenarios import (
    add_server_scenario,
    joint_partition_scenario,
    remove_leader_scenario,
    single_change_bug_scenario,
)
from .framework import (
    Wrong,
    _cases,
    _run_student,
    _show,
    as_choice,
    as_servers,
    as_yes_no,
    call_for_effect,
    exercise,
    function_starter,
    need_function,
    prediction,
)
from .seeds import REFERENCE_SEEDS

# ================================================== 07: membership changes

#: The seed the lesson was written on (``REFERENCE_SEEDS["07"]``); a student's own run
#: uses ``le.exercises.lesson_seed("07")``.
SEED = REFERENCE_SEEDS["07"]
#: The seed of the 2015 bug's scenario, the same for everyone: a constructed
#: interleaving whose timing most seeds do not reproduce.
BUG_SEED = 1


def majorities(servers: Iterable[int]) -> list[frozenset[int]]:
    """Every smallest majority of ``servers``: each set of ``len // 2 + 1`` of them."""
    members = sorted(set(servers))
    return [frozenset(group) for group in combinations(members, len(members) // 2 + 1)]


def find_disjoint_majorities(
    old: Iterable[int], new: Iterable[int]
) -> tuple[frozenset[int], frozenset[int]] | None:
    """A majority of ``old`` and a majority of ``new`` with no server in common, or
    None when every majority of one overlaps every majority of the other. (A larger
    majority only overlaps more, so the smallest ones are enough to try.)"""
    new_majorities = majorities(new)
    for a in majorities(old):
        for b in new_majorities:
            if not a & b:
                return a, b
    return None


def _elect(cluster: Cluster, leader: int) -> None:
    """Make ``leader`` the leader and wait until it has committed its no-op."""
    cluster.timeout(leader)
    if not cluster.run_until(
        lambda c: c.leader == leader and c.servers[leader].commit_index >= 1, 2_000
    ):
        raise RuntimeError(f"S{leader} did not win its election in {cluster!r}")


def _names(ids: Iterable[int]) -> str:
    return "{" + ", ".join(f"S{i}" for i in sorted(ids)) + "}"


# ----------------------------------------------- 1. why not all at once (§6)


def _two_leaders_possible() -> bool:
    return find_disjoint_majorities({1, 2, 3}, {1, 2, 3, 4, 5}) is not None


prediction(
    "07.predict_switch_at_once",
    "Three servers S1-S3 become five, S1-S5, and each server switches to the new "
    "configuration when it hears of it. Could two leaders be elected in the same term "
    "during the switch? (yes/no)",
    _two_leaders_possible,
    "Yes (Figure 10). S1 and S2 have not heard of the change yet: they are a majority of "
    "C_old = {S1, S2, S3}. S3, S4 and S5 have: they are a majority of C_new = {S1..S5}. "
    "No server is in both groups, so one candidate can win a term with S1 and S2 while "
    "another wins the same term with S3, S4 and S5. 'It isn't possible to atomically "
    "switch all of the servers at once' (§6).",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Find a majority of {S1, S2, S3} and a majority of "
    "{S1..S5} that share no server.",
    section="§6, Figure 10",
)


@exercise(
    "07.disjoint_majorities",
    "Write disjoint_majorities(old, new): a pair (a majority of the set old, a majority "
    "of the set new) that share no server, or None if every majority of old overlaps "
    "every majority of new.",
    starter=function_starter("disjoint_majorities", "old", "new"),
    hint="a majority of n servers has n // 2 + 1 of them; itertools.combinations(sorted(s), "
    "k) gives every group of k. Try every small majority of old against every small "
    "majority of new; if none are disjoint, return None.",
    section="§6, thesis §4.1",
)
def _check_disjoint_majorities(answer: Any) -> str:
    f = need_function(answer, "disjoint_majorities", 2)
    cases = [
        ({1, 2, 3}, {1, 2, 3, 4, 5}, "Figure 10: three servers become five at once."),
        ({1, 2, 3}, {1, 2, 3, 4}, "adding one server (thesis §4.1)."),
        ({1, 2, 3, 4}, {1, 2, 3}, "removing one server (thesis §4.1)."),
        ({1, 2, 3, 4}, {1, 2, 3, 4, 5}, "adding one server to an even cluster."),
        ({1, 2}, {1, 2, 3}, "adding a third server to two."),
        ({1, 2, 3}, {2, 3, 4}, "replacing S1 by S4 in one step: an add and a remove at once."),
        ({1, 2, 3, 4, 5}, {1, 2, 3}, "removing two servers at once."),
        ({1, 2, 3}, {4, 5, 6}, "moving to entirely new servers."),
    ]
    for old, new, what in cases:
        expected = find_disjoint_majorities(old, new)
        shown = f"disjoint_majorities({_names(old)}, {_names(new)})"
        # Not ``call``: None is a right answer here.
        got = _run_student(f, shown, set(old), set(new))
        if expected is None:
            if got is not None:
                raise Wrong(
                    f"{shown} returned {_show(got)}, but every majority of the old "
                    f"configuration overlaps every majority of the new one: {what}",
                    hint=f"a majority of {len(old)} servers has {len(old) // 2 + 1}, of "
                    f"{len(new)} servers {len(new) // 2 + 1}; together that is more than "
                    "the servers there are, so they must share one. Return None.",
                )
            continue
        pair = _as_pair(got)
        if pair is None:
            raise Wrong(
                f"{shown} returned {_show(got)}, but there are disjoint majorities here "
                f"({what.rstrip('.')}), e.g. {_names(expected[0])} and "
                f"{_names(expected[1])}. Return them as a pair (a, b) of sets of server ids.",
                hint="return None only when no majority of old is disjoint from a majority of new.",
            )
        a, b = pair
        for group, config, name in ((a, old, "first"), (b, new, "second")):
            if not group <= config or 2 * len(group) <= len(config):
                raise Wrong(
                    f"{shown} returned {_names(a)} and {_names(b)}: the {name} is not a "
                    f"majority of {_names(config)}.",
                    hint=f"a majority of {_names(config)} is {len(config) // 2 + 1} of "
                    "its own servers.",
                )
        if a & b:
            raise Wrong(
                f"{shown} returned {_names(a)} and {_names(b)}, which share "
                f"{_names(a & b)}: a server in both would vote for only one candidate.",
            )
    return (
        "disjoint_majorities is right: adding or removing one server never leaves two "
        "disjoint majorities, but growing 3 to 5, shrinking 5 to 3 or replacing a server "
        "in one step does. That is why changes go one server at a time or through joint "
        "consensus."
    )


def _as_pair(value: Any) -> tuple[frozenset[int], frozenset[int]] | None:
    """Two sets of server ids from a pair of collections, else None."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        return None
    if any(isinstance(part, int | str) for part in value):
        return None  # a pair of single ids, not of sets
    a, b = as_servers(value[0]), as_servers(value[1])
    if a is None or b is None:
        return None
    return a, b


# ------------------------------------------- 2. one server at a time (§4.1-4.2.1)


def _voter_right_after_add(seed: int) -> bool:
    cluster = add_server_scenario(seed=seed)
    config = cluster.config
    return config is not None and 4 in config.voters


prediction(
    "07.predict_new_server_votes",
    "The leader of S1-S3 has just accepted add_server(4). S4 starts with an empty log. Is "
    "S4 a voter in the configuration right away? (yes/no)",
    _voter_right_after_add,
    "No. The leader first adds S4 as a learner (a 'non-voting member', thesis §4.2.1): "
    "it receives the log but neither votes nor counts for commitment. The leader "
    "replicates to it in rounds, and only when a round finishes within an election "
    "timeout does it append the configuration that makes S4 a voter.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What could go wrong if a server with an empty log "
    "counted towards every majority at once?",
    section="thesis §4.2.1",
)


def learner_cut_off(seed: int = SEED) -> Cluster:
    """S1 leads S1-S3 and has committed three commands; ``add_server(4)``, then S4 is
    cut off at once, so it never catches up, and S3 crashes. Then S1 is asked to
    commit ``"y"``; the cluster is returned 300 ms later."""
    cluster = Cluster(servers=3, seed=seed)
    _elect(cluster, 1)
    for n in range(3):
        cluster.propose(f"x={n}")
    cluster.run(100)
    result = cluster.add_server(4)
    if not result.accepted:
        raise RuntimeError(f"add_server(4) was refused: {result.reason}")
    cluster.disconnect(4)
    cluster.run(100)
    cluster.crash(3)
    cluster.propose("y")
    cluster.run(300)
    return cluster


def _learner_cut_off_commits(seed: int) -> bool:
    cluster = learner_cut_off(seed)
    return any(data == "y" for _, data in cluster.applied(1))


prediction(
    "07.predict_learner_availability",
    "S4 is being added to S1-S3 but is cut off before it receives anything, and then S3 "
    "crashes. Can S1 still commit a new command? (yes/no)",
    _learner_cut_off_commits,
    "Yes. S4 is still a learner, so the voters are S1-S3 and S1 and S2 are a majority. "
    "Had S4 become a voter at once, a majority of four would be three, and only S1 and "
    "S2 are up to date and running: the cluster could commit nothing until S4 caught up "
    "(thesis §4.2.1: a new server first joins as a non-voting member).",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Who are the voters while S4 catches up, and how many of "
    "them are running?",
    section="thesis §4.2.1",
)


def _config_committed(cluster: Cluster) -> bool:
    leader = cluster.leader
    if leader is None:
        return False
    view = cluster.servers[leader]
    last_config = max((e.index for e in view.log if e.kind == "config"), default=0)
    return view.commit_index >= last_config


@exercise(
    "07.grow",
    "Write grow(cluster, new_ids): add the servers in new_ids to the running cluster, one "
    "at a time, and return once each is a voter and the latest configuration is "
    "committed.",
    starter=function_starter("grow", "cluster", "new_ids"),
    hint="cluster.add_server(i) returns a result with accepted and reason; it is refused "
    "while another change is unfinished, or before a new leader has committed an entry of "
    "its term. Retry after cluster.run(50) until it is accepted, then "
    "cluster.run_until(...) until i is in cluster.config.voters.",
    section="thesis §4.1, §4.2.1",
)
def _check_grow(answer: Any) -> str:
    f = need_function(answer, "grow", 2)
    for servers, new_ids, seed in ((3, [4, 5], SEED), (1, [2, 3], 4)):
        cluster = Cluster(servers=servers, seed=seed)
        # Straight after the election: the no-op of the leader's term is not committed
        # yet, so a first add_server may well be refused.
        if not cluster.run_until(lambda c: c.leader is not None, 5_000):
            raise RuntimeError(f"no leader in {cluster!r}")
        where = f"Growing {_names(cluster.ids)} by {_names(new_ids)}"
        call_for_effect(f, cluster, list(new_ids))
        config = cluster.config
        wanted = tuple(sorted({*range(1, servers + 1), *new_ids}))
        if config is None or config.voters != wanted:
            shown = "no configuration" if config is None else config.describe()
            learning = [] if config is None else [i for i in new_ids if i in config.learners]
            raise Wrong(
                f"{where}: when grow returned, the configuration was {shown}, not "
                f"{_names(wanted)}.",
                hint=(
                    f"S{learning[0]} is still a learner: after add_server is accepted, "
                    "wait with cluster.run_until(...) until it is in cluster.config.voters."
                    if learning
                    else "look at what add_server returns: a refused change has "
                    "accepted=False and a reason. One change at a time: wait for each "
                    "server to become a voter before adding the next."
                ),
            )
        if not _config_committed(cluster):
            raise Wrong(
                f"{where}: every server is a voter, but the latest configuration entry is "
                "not committed yet when grow returns.",
                hint="wait until the leader's commit_index reaches the index of the last "
                "entry whose kind is 'config'.",
            )
        if cluster.violations:
            raise Wrong(f"{where}: a safety check failed: {cluster.violations[0]}")
    return (
        "grow works: one server at a time, each caught up as a learner before it votes, "
        "and each change committed before the next starts (thesis §4.1)."
    )


# --------------------------------------------------- 3. removing the leader (§4.2.2)


def _removed_leader_outcome(seed: int) -> str:
    cluster = remove_leader_scenario(seed=seed)
    # Step until the new configuration, which leaves S1 out, is committed by S1.
    while cluster.servers[1].role is Role.LEADER:
        if cluster.step() is None:
            break
    committed = any(e.rule == "CONFIG.step_down" for e in cluster.trace)
    if committed and cluster.servers[1].commit_index >= 2:
        return "b"
    return "a"


prediction(
    "07.predict_removed_leader",
    "S1 leads S1-S3 and calls remove_server(1) on itself. What happens next? (a) S1 "
    "steps down at once and S2 and S3 elect a leader, who commits the change; (b) S1 "
    "keeps leading, commits the new configuration {S2, S3} without counting its own "
    "copy, then steps down; (c) the change is refused: a leader cannot remove itself.",
    _removed_leader_outcome,
    "(b). 'The leader steps down (returns to follower state) once the C_new entry is "
    "committed' (thesis §4.2.2). Until then it still replicates the log and commits, but "
    "as a leader 'managing a cluster that does not include itself': a majority of {S2, "
    "S3} is both of them, its own copy does not count. After it steps down, S2 or S3 "
    "times out and is elected.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Who would commit the new configuration if S1 stepped down at once?",
    section="thesis §4.2.2",
)


# ----------------------------------------- 4. disruptive removed servers (§4.2.3)


def cut_off_and_back(remove: bool, seed: int = SEED) -> Cluster:
    """S1 leads S1-S3 and S3 is cut off. With ``remove``, S1 removes S3 meanwhile, so
    S3 never learns that it was removed; without, the configuration never changes.
    After 300 ms S3 is connected again; the cluster is returned three seconds later."""
    cluster = Cluster(servers=3, seed=seed)
    _elect(cluster, 1)
    cluster.propose("a")
    cluster.run(100)
    cluster.disconnect(3)
    if remove:
        result = cluster.remove_server(3)
        if not result.accepted:
            raise RuntimeError(f"remove_server(3) was refused: {result.reason}")
    cluster.run(300)
    cluster.connect(3)
    cluster.run(3_000)
    return cluster


def _removed_server_disrupts(seed: int) -> bool:
    cluster = cut_off_and_back(remove=True, seed=seed)
    return not (cluster.leader == 1 and cluster.servers[1].current_term == 1)


prediction(
    "07.predict_disruptive",
    "S3 was removed while it was cut off, so it never learned it is out. Back on the "
    "network, it times out again and again and sends RequestVote with ever higher terms "
    "to S1 and S2. Does the leader S1 lose its leadership? (yes/no)",
    _removed_server_disrupts,
    "No. 'If a server receives a RequestVote request within the minimum election timeout "
    "of hearing from a current leader, it does not update its term or grant its vote' "
    "(thesis §4.2.3). S2 hears from the leader S1 every heartbeat and S1 is that leader, "
    "so both ignore S3 ('RV.sticky' and 'RV.sticky.self' in the trace). Without that "
    "rule, S3's higher term would depose S1 every election timeout, for as long as S3 "
    "runs.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Look for RV.sticky in the trace: what do S1 and S2 do "
    "with a vote request while they hear from a leader?",
    section="thesis §4.2.3",
)


# ----------------------------------------------------- 5. joint consensus (§6)

_JOINT_CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (({1, 2, 3}, {1, 2, 3, 4, 5}, {1, 2}), False, "a majority of C_old, but 2 of 5 in C_new."),
    (({1, 2, 3}, {1, 2, 3, 4, 5}, {3, 4, 5}), False, "3 of 5 in C_new, but 1 of 3 in C_old."),
    (({1, 2, 3}, {1, 2, 3, 4, 5}, {2, 3, 4}), True, "2 of 3 in C_old and 3 of 5 in C_new."),
    (({1, 2, 3}, {4, 5, 6}, {1, 2, 4, 5}), True, "2 of 3 in each."),
    (({1, 2, 3}, {4, 5, 6}, {1, 2, 3, 4}), False, "all of C_old, but 1 of 3 in C_new."),
    (({1, 2, 3}, {1, 2, 3, 4}, {1, 2, 3}), True, "3 of 3 in C_old and 3 of 4 in C_new."),
    (({1, 2, 3}, {1, 2, 3, 4}, {1, 4}), False, "2 of 4 is not a majority of C_new."),
    (({1, 2, 3, 4}, {1, 2}, {1, 2}), False, "2 of 4 is not a majority of C_old."),
    (({1, 2, 3}, {1, 2, 3, 4, 5}, set()), False, "nobody agreed."),
]


@exercise(
    "07.joint_agreement",
    "Write joint_agreement(old, new, granted): during joint consensus, do the servers in "
    "the set granted (votes, or copies of an entry) decide, given the voters of C_old "
    "(old) and of C_new (new)?",
    starter=function_starter("joint_agreement", "old", "new", "granted"),
    hint="§6: 'Agreement (for elections and entry commitment) requires separate "
    "majorities from both the old and new configurations.' Count the granted servers of "
    "old, then those of new; each count must be more than half of its configuration.",
    section="§6",
)
def _check_joint_agreement(answer: Any) -> str:
    f = need_function(answer, "joint_agreement", 3)
    _cases(f, _JOINT_CASES, signature="joint_agreement", convert=as_yes_no)
    return (
        "joint_agreement is §6's rule: a decision in C_old,new needs a majority of each "
        "configuration, so it always overlaps any majority of C_old alone and of C_new "
        "alone, and two leaders in one term are impossible at every point of the change."
    )


def _joint_partition_side(seed: int) -> str:
    cluster = joint_partition_scenario(seed=seed)
    cluster.run(2_000)
    # A leader elected after the split would have a term above the first leader's.
    sides = {"a": {1, 4}, "b": {2, 3}}
    winners = [
        name
        for name, side in sides.items()
        for i in side
        if cluster.servers[i].role is Role.LEADER and cluster.servers[i].current_term > 1
    ]
    if not winners:
        return "c"
    return winners[0]


prediction(
    "07.predict_joint_partition",
    "With joint consensus, S1-S3 are adding S4: C_old,new (C_old = {S1, S2, S3}, C_new = "
    "{S1, S2, S3, S4}) is in every log but not committed. The network splits into {S1, "
    "S4} and {S2, S3}. Which side can elect a new leader? (a) {S1, S4}; (b) {S2, S3}; "
    "(c) neither.",
    _joint_partition_side,
    "(c). Under C_old,new a leader needs a majority of C_old and a majority of C_new. "
    "{S2, S3} is 2 of 3 in C_old but only 2 of 4 in C_new; {S1, S4} is 2 of 4 in C_new "
    "and 1 of 3 in C_old. Neither side decides anything until the network heals: "
    "unavailable for a while, but never two leaders (§6).",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Use your joint_agreement on each side.",
    section="§6",
)


# ---------------------------------------------- 6. the 2015 single-server bug


def _bug_elects_two_leaders() -> bool:
    cluster = single_change_bug_scenario(bug=True, seed=BUG_SEED)
    return any(v.property == "Election Safety" for v in cluster.violations)


prediction(
    "07.predict_bug_two_leaders",
    "With single_change_bug=True, a new leader S2 removes S1 before it has committed an "
    "entry of its own term, while an uncommitted change of the old leader (adding S5) is "
    "still in some logs. Can two leaders be elected in one term? (yes/no)",
    _bug_elects_two_leaders,
    "Yes: the scenario ends with S1 and S3 both leading term 4 (an Election Safety "
    "violation). The two changes were each of one server, but they started from "
    "different configurations: D = {S1..S5} (S1's) and E = {S2, S3, S4} (S2's). "
    "{S1, S4, S5} is a majority of D, {S2, S3} a majority of E, and they do not overlap. "
    "The fix (thesis §4.1, 2015): 'a leader may not append a new configuration entry "
    "until it has committed an entry from its current term'.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. Which configurations are in the logs, and do their "
    "majorities overlap?",
    section="thesis §4.1",
)
