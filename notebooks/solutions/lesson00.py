"""Lesson 00, the welcome tour: reference answers."""

from __future__ import annotations

from typing import Any

SOLUTIONS: dict[str, Any] = {
    "00.first_leader": 2,  # seed 7: S2's election timer fires first (174 ms)
}
