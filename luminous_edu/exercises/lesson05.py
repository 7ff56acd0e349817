"""Exercises of lesson 05: faults and partitions."""

from __future__ import annotations

from typing import Any

from ..sim import Cluster
from .framework import (
    Wrong,
    _show,
    as_choice,
    as_yes_no,
    call,
    call_for_effect,
    exercise,
    function_starter,
    need_function,
    prediction,
)

# =================================================== 05: faults and partitions

prediction(
    "05.predict_minority_accepts",
    "The leader of a 5-server cluster is cut off, with one follower, from the other "
    "three. A client sends 'b = 2' to the old leader. Does it accept the command "
    "(propose(...).accepted)? (yes/no)",
    True,
    "The old leader cannot tell a partition from slow followers: it still believes it "
    "leads its term, appends the command to its log and tries to replicate it. "
    "Accepting is not committing.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What does the old leader know about the partition?",
    section="§5.3",
)

prediction(
    "05.predict_minority_commits",
    "While the partition lasts, will 'b = 2' be committed? (yes/no)",
    False,
    "'A log entry is committed once the leader that created the entry has replicated "
    "it on a majority of the servers' (§5.3): the old leader reaches only 2 of 5. The "
    "client never gets an answer for it.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. How many servers can the old leader reach?",
    section="§5.3",
)

prediction(
    "05.predict_heal",
    "The three on the majority side elected a new leader in a higher term and committed "
    "'c = 3'. Now the network heals. What happens to 'b = 2' in the old leader's log and "
    "its follower's? (a) the new leader copies it to the others and commits it; (b) it "
    "is deleted and replaced by the new leader's entries; (c) it stays beside the new "
    "leader's entries.",
    "b",
    "The old leader sees the higher term and steps down ('If a candidate or leader "
    "discovers that its term is out of date, it immediately reverts to follower state', "
    "§5.1). Then the new leader's AppendEntries find that their entry for 'b = 2' "
    "conflicts with the new leader's entry at that index, and 'the leader handles "
    "inconsistencies by forcing the followers' logs to duplicate its own' (§5.3): "
    "'b = 2' is deleted. It was never committed, so nobody had been promised it.",
    normalize=as_choice("a", "b", "c"),
    hint="answer with a letter. Who has the higher term, and whose log wins (§5.3)?",
    section="§5.1, §5.3",
)


def _leader_side(cluster: Cluster, leader: int) -> tuple[set[int], list[set[int]]]:
    groups = [set(g) for g in cluster.partition_groups]
    mine = next((g for g in groups if leader in g), {leader})
    return mine, [g for g in groups if leader not in g]


@exercise(
    "05.isolate_leader",
    "Write isolate_leader(cluster): partition the network so that the current leader is "
    "in the largest group that cannot commit, and every other server is in one group "
    "that can elect a new leader. It must work for 3, 5 and 7 servers.",
    starter=function_starter("isolate_leader", "cluster"),
    hint="with n servers a majority is n // 2 + 1, so the largest minority has "
    "(n - 1) // 2 servers: the leader plus (n - 1) // 2 - 1 followers. "
    "cluster.partition(group, rest) with two sets; cluster.servers lists the ids.",
    section="§5.2, §5.3",
)
def _check_isolate_leader(answer: Any) -> str:
    f = need_function(answer, "isolate_leader", 1)
    for servers, seed in ((5, 7), (3, 2), (7, 4)):
        cluster = Cluster(servers=servers, seed=seed)
        cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
        old = cluster.leader
        assert old is not None
        cluster.run(100)
        call_for_effect(f, cluster)
        where = f"With {servers} servers (leader S{old})"
        if not cluster.partition_groups:
            raise Wrong(
                f"{where}, the network is not partitioned after isolate_leader.",
                hint="call cluster.partition(group, rest).",
            )
        mine, others = _leader_side(cluster, old)
        minority = (servers - 1) // 2
        if len(mine) != minority:
            size = (
                "too big: it has a majority and can still commit"
                if (len(mine) > servers // 2)
                else "smaller than it could be"
            )
            raise Wrong(
                f"{where}, the leader's group has {len(mine)} server(s), {size}. The "
                f"largest group that cannot commit has {minority}.",
                hint=f"a majority of {servers} is {servers // 2 + 1}.",
            )
        if len(others) != 1:
            raise Wrong(
                f"{where}, the other servers are split into {len(others)} groups; put "
                "them all in one, so that they can elect a new leader."
            )
        cluster.propose("stuck", server=old)
        cluster.run(1_000)
        if cluster.leader in (None, old):
            raise Wrong(f"{where}, the majority side did not elect a new leader.")
        if cluster.servers[old].commit_index >= cluster.servers[old].last_log_index:
            raise Wrong(f"{where}, the old leader could still commit a new command.")
    return (
        "isolate_leader works for 3, 5 and 7 servers: the old leader keeps accepting "
        "commands it can never commit, while the majority elects a leader in a higher "
        "term and goes on."
    )


@exercise(
    "05.all_applied",
    "Write all_applied(cluster, commands): True when every running server has applied "
    "every command in the list commands, else False. (Crashed servers do not count.)",
    starter=function_starter("all_applied", "cluster", "commands"),
    hint="cluster.applied(i) lists (index, data) pairs; cluster.servers[i].alive says "
    "whether S{i} runs. Collect the data of each running server and compare.",
    section="§5.3",
)
def _check_all_applied(answer: Any) -> str:
    f = need_function(answer, "all_applied", 2)

    def ask(cluster: Cluster, commands: list[Any], expected: bool, why: str) -> None:
        got = as_yes_no(call(f, cluster, commands))
        if got is None:
            raise Wrong("all_applied should return True or False.")
        if got != expected:
            raise Wrong(
                f"all_applied(cluster, {commands!r}) returned {_show(got)}: {why}",
                hint="look at cluster.applied(i) for each i in cluster.servers.",
            )

    cluster = Cluster(servers=3, seed=1)
    ask(cluster, ["x"], False, "nothing has been applied yet on a fresh cluster.")
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    follower = next(i for i in cluster.servers if i != cluster.leader)
    cluster.disconnect(follower)
    cluster.propose("x")
    cluster.propose("y")
    cluster.run(300)
    ask(cluster, ["x", "y"], False, f"S{follower} is cut off and has applied neither.")
    cluster.connect(follower)
    cluster.run(300)
    ask(cluster, ["x", "y"], True, "every server has applied x and y.")
    ask(cluster, ["x", "y", "z"], False, "nobody has applied z.")
    ask(cluster, [], True, "an empty list of commands is applied by everyone.")
    cluster.crash(follower)
    cluster.propose("z")
    cluster.run(300)
    ask(cluster, ["z"], True, f"S{follower} is crashed and does not count; the others applied z.")
    return "all_applied is right: use it as cluster.run_until(lambda c: all_applied(c, commands))."


prediction(
    "05.predict_duplicates",
    "The network now duplicates 20% of messages and loses 20%. Will some server apply a "
    "command twice? (yes/no)",
    False,
    "A duplicated AppendEntries carries entries the follower already has: Figure "
    "2's receiver rules only delete conflicting entries and 'append any new entries not "
    "already in the log', so the log is the same after the copy as after the first. "
    "And a server applies each index once, in order (lastApplied). Raft's RPCs are "
    "idempotent (§5.5). Losses only cost time: the leader retries.",
    normalize=as_yes_no,
    hint="answer 'yes' or 'no'. What does a follower do with an entry it already has?",
    section="§5.3, §5.5",
)
