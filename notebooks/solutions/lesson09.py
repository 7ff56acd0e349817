"""Lesson 09, a key-value store on Raft: reference solutions.

One answer depends on the lesson's run (how many shards the crashed server led):
``solutions(seed)`` computes the answers for any seed (a student's own,
``le.exercises.lesson_seed("09", student_id)``); ``SOLUTIONS`` holds them for the
reference seed."""

from __future__ import annotations

from typing import Any

import luminous_edu as le
from luminous_edu.kv import scenarios


def decide(last_seq: int | None, seq: int) -> str:
    # Thesis §6.3: a command numbered past the last one applied is new; the last one
    # again is a duplicate, answered from the table; an older one nobody waits for.
    if last_seq is None or seq > last_seq:
        return "apply"
    return "answer" if seq == last_seq else "ignore"


def step(state: int, input: dict[str, Any], output: Any) -> tuple[bool, int]:
    if input["op"] == "add":
        return True, state + input["n"]
    return output is None or output["value"] == state, state


def shards_led_by_the_victim(seed: int) -> int:
    # Each shard elects its own leader; the crash stops the victim in every group, but
    # only the shards it led must elect again: count them in store.leaders.
    store = scenarios.sharded(seed=seed)
    victim = store.leaders[0]
    return list(store.leaders.values()).count(victim)


def solutions(seed: int) -> dict[str, Any]:
    """The answers on the lesson's run with ``seed`` (a student's own, or the reference)."""
    return {
        "09.predict_lost_reply": "a",
        "09.session_rule": decide,
        "09.predict_stale_read": "1",
        "09.predict_late_replica": "c",
        "09.predict_restore": "no",
        "09.predict_shard_leaders": shards_led_by_the_victim(seed),
        "09.counter_model": step,
    }


SOLUTIONS: dict[str, Any] = solutions(le.exercises.REFERENCE_SEEDS["09"])
