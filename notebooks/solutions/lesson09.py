"""Lesson 09, a key-value store on Raft: reference solutions."""

from __future__ import annotations

from typing import Any


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


SOLUTIONS: dict[str, Any] = {
    "09.predict_lost_reply": "a",
    "09.session_rule": decide,
    "09.predict_stale_read": "1",
    "09.predict_late_replica": "c",
    "09.predict_restore": "no",
    "09.predict_shard_leaders": 1,
    "09.counter_model": step,
}
