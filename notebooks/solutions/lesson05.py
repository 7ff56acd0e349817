"""Reference solutions to lesson 05 (faults and partitions), for instructors.

``SOLUTIONS`` maps each exercise id to its answer; tests/test_exercises.py checks
that every one passes.
"""


def isolate_leader(cluster):
    leader = cluster.leader
    others = [i for i in cluster.servers if i != leader]
    minority = (len(cluster.servers) - 1) // 2  # the largest group without a majority
    group = {leader, *others[: minority - 1]}
    cluster.partition(group, set(cluster.servers) - group)


def all_applied(cluster, commands):
    for i in cluster.servers:
        if cluster.servers[i].alive:
            applied = [data for _, data in cluster.applied(i)]
            if any(command not in applied for command in commands):
                return False
    return True


SOLUTIONS = {
    "05.predict_minority_accepts": "yes",
    "05.predict_minority_commits": "no",
    "05.predict_heal": "b",
    "05.isolate_leader": isolate_leader,
    "05.all_applied": all_applied,
    "05.predict_duplicates": "no",
}
