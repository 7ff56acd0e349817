"""Lesson 03, safety: reference solutions."""

from __future__ import annotations

from typing import Any


def is_up_to_date(
    my_last_term: int, my_last_index: int, their_last_term: int, their_last_index: int
) -> bool:
    # §5.4.1: "If the logs have last entries with different terms, then the log with the
    # later term is more up-to-date. If the logs end with the same term, then whichever
    # log is longer is more up-to-date."
    if their_last_term != my_last_term:
        return their_last_term > my_last_term
    return their_last_index >= my_last_index


SOLUTIONS: dict[str, Any] = {
    "03.up_to_date": is_up_to_date,
    "03.figure7_electable": {"a", "c", "d"},
    "03.predict_figure8_d": "yes",
    "03.figure3_properties": {1: "d", 2: "c", 3: "a", 4: "e"},
}
