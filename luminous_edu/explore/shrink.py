"""Shrinking a counterexample: delta debugging over its choices (Zeller and
Hildebrandt's ddmin, 2002).

First each ``step`` is named by the event it fires (``schedule.named``), so that
taking out an earlier choice does not change which event a later one fires; the named
schedule replaces the found one if it still breaks the property. Then the schedule is
cut into chunks; each candidate leaves chunks
out and is replayed from the start, on a new cluster from the same seed, choices that
no longer fit being skipped. A candidate that still breaks the same property replaces
the schedule (what it actually applied, up to the violation); when no chunk can go,
the chunks get smaller, down to single choices. That makes it 1-minimal: taking out
any one choice loses the violation. Then pairs of choices are tried (a message and its
answer may have to go together), and ddmin again after each pair that can go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .schedule import Choice

#: What a candidate test answers: the choices it applied up to the violation (a
#: schedule at most as long as the candidate), or None if the violation is gone.
Test = Callable[[Sequence[Choice]], list[Choice] | None]


def ddmin(choices: Sequence[Choice], test: Test, max_tests: int = 5_000) -> list[Choice]:
    """The shortest schedule found by ddmin, then by taking out pairs of choices, that
    ``test`` still accepts; at most ``max_tests`` replays (then the best so far)."""
    budget = [max_tests]
    items = _ddmin(list(choices), test, budget)
    while budget[0] > 0:
        smaller = _without_a_pair(items, test, budget)
        if smaller is None:
            break
        items = _ddmin(smaller, test, budget)
    return items


def _ddmin(items: list[Choice], test: Test, budget: list[int]) -> list[Choice]:
    """Zeller's ddmin: 1-minimal."""
    n = 2
    while len(items) >= 2 and budget[0] > 0:
        size = -(-len(items) // n)  # ceil
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        reduced = False
        # Complements first: a counterexample needs most of its choices, so leaving
        # one chunk out is the likelier success; with two chunks they are the chunks.
        for k in range(len(chunks)):
            candidate = [c for j, chunk in enumerate(chunks) if j != k for c in chunk]
            budget[0] -= 1
            kept = test(candidate)
            if kept is not None and len(kept) < len(items):
                items = kept
                n = max(n - 1, 2)
                reduced = True
                break
            if budget[0] <= 0:
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    return items


def _without_a_pair(items: list[Choice], test: Test, budget: list[int]) -> list[Choice] | None:
    """A shorter schedule ``test`` accepts, with two choices of ``items`` taken out
    (one alone could not go: ddmin tried), or None. Pairs close together first: a
    message and its answer, a timeout and the request it sends."""
    pairs = sorted(
        ((i, j) for i in range(len(items)) for j in range(i + 1, len(items))),
        key=lambda pair: (pair[1] - pair[0], pair[0]),
    )
    for i, j in pairs:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        kept = test(items[:i] + items[i + 1 : j] + items[j + 1 :])
        if kept is not None and len(kept) < len(items):
            return kept
    return None
