"""Shrinking a counterexample: delta debugging over its choices (Zeller and
Hildebrandt's ddmin, 2002).

First each ``step`` is named by the event it fires (``schedule.named``), so that
taking out an earlier choice does not change which event a later one fires; the named
schedule replaces the found one if it still breaks the property. Then the schedule is
cut into chunks; each candidate leaves chunks
out and is replayed from the start, on a new cluster from the same seed, choices that
no longer fit being skipped. A candidate that still breaks the same property replaces
the schedule (what it actually applied, up to the violation); when no chunk can go,
the chunks get smaller, down to single choices. The result is 1-minimal: taking out
any one choice loses the violation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .schedule import Choice

#: What a candidate test answers: the choices it applied up to the violation (a
#: schedule at most as long as the candidate), or None if the violation is gone.
Test = Callable[[Sequence[Choice]], list[Choice] | None]


def ddmin(choices: Sequence[Choice], test: Test, max_tests: int = 5_000) -> list[Choice]:
    """The shortest schedule found by ddmin that ``test`` still accepts; at most
    ``max_tests`` replays (then the best so far)."""
    items = list(choices)
    tests = 0
    n = 2
    while len(items) >= 2 and tests < max_tests:
        size = -(-len(items) // n)  # ceil
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        reduced = False
        # Complements first: a counterexample needs most of its choices, so leaving
        # one chunk out is the likelier success; with two chunks they are the chunks.
        for k in range(len(chunks)):
            candidate = [c for j, chunk in enumerate(chunks) if j != k for c in chunk]
            tests += 1
            kept = test(candidate)
            if kept is not None and len(kept) < len(items):
                items = kept
                n = max(n - 1, 2)
                reduced = True
                break
            if tests >= max_tests:
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    return items
