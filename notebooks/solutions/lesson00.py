"""Lesson 00, the welcome tour: reference answers.

The answer depends on the lesson's run: ``solutions(seed)`` computes it for any seed
(a student's own, ``le.exercises.lesson_seed("00", student_id)``); ``SOLUTIONS`` holds
it for the reference seed."""

from __future__ import annotations

from typing import Any

import luminous_edu as le


def first_leader(seed: int) -> int | None:
    # The first election timer to fire usually wins; run the cluster to be sure.
    cluster = le.Cluster(servers=5, seed=seed)
    cluster.run_until(lambda c: c.leader is not None)
    return cluster.leader


def solutions(seed: int) -> dict[str, Any]:
    return {"00.first_leader": first_leader(seed)}


SOLUTIONS: dict[str, Any] = solutions(le.exercises.REFERENCE_SEEDS["00"])
