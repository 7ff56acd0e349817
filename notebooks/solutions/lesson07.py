"""Lesson 07, membership changes: reference solutions, for instructors.

``SOLUTIONS`` maps each exercise id to its answer; tests/test_exercises.py checks that
every one passes.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any


def disjoint_majorities(old, new):
    # A larger majority only overlaps more: the smallest majorities are enough to try.
    old_majorities = combinations(sorted(old), len(old) // 2 + 1)
    for a in old_majorities:
        for b in combinations(sorted(new), len(new) // 2 + 1):
            if not set(a) & set(b):
                return set(a), set(b)
    return None


def grow(cluster, new_ids):
    for i in new_ids:
        # One change at a time (thesis §4.1): refused while the previous one is
        # unfinished, or before a new leader has committed an entry of its term.
        while not cluster.add_server(i).accepted:
            cluster.run(50)
        # S{i} catches up as a learner, then the leader appends the configuration that
        # makes it a voter; wait until that entry is committed.
        cluster.run_until(lambda c, i=i: i in c.config.voters and config_committed(c), 10_000)


def config_committed(cluster):
    leader = cluster.servers[cluster.leader]
    last_config = max(e.index for e in leader.log if e.kind == "config")
    return leader.commit_index >= last_config


def joint_agreement(old, new, granted):
    # §6: "Agreement (for elections and entry commitment) requires separate majorities
    # from both the old and new configurations."
    def majority(voters):
        return 2 * len(set(voters) & set(granted)) > len(voters)

    return majority(old) and majority(new)


SOLUTIONS: dict[str, Any] = {
    "07.predict_switch_at_once": "yes",
    "07.disjoint_majorities": disjoint_majorities,
    "07.predict_new_server_votes": "no",
    "07.predict_learner_availability": "yes",
    "07.grow": grow,
    "07.predict_removed_leader": "b",
    "07.predict_disruptive": "no",
    "07.joint_agreement": joint_agreement,
    "07.predict_joint_partition": "c",
    "07.predict_bug_two_leaders": "yes",
}
