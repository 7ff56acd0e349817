"""Lesson 10 (hunting bugs) tells the truth on the reference run, and (slow) on many
students' runs: what its text says each search, counterexample and gallery shows.

Reproduce a failing seed:
    .venv/bin/python -c "import sys; sys.path.insert(0, 'tests'); \\
        import test_lesson10 as t; t.claims(SEED)"
"""

from __future__ import annotations

import pytest

import luminous_edu as le
from luminous_edu.exercises import lesson10, seeds
from luminous_edu.storage.gallery import GALLERY


def claims(seed: int) -> None:
    # Section 2-3: the search finds State Machine Safety broken, in a short run, where
    # a follower (not the leader) left out the min.
    result = lesson10.hunt(seed)
    assert result.found, f"seed {seed}: {result.summary()}"
    assert result.violation.property == "State Machine Safety", (seed, result.violation)  # type: ignore[union-attr]
    assert result.shrunk_steps <= 30, (seed, result.shrunk_steps)
    cluster = result.replay()
    fired = [e for e in cluster.trace if e.rule == "BUG.commit_past_last_new"]
    assert fired and fired[0].server != cluster.leader, (seed, fired)
    # Section 4: the hand-made Figure 8 breaks Leader Completeness, and nothing without
    # the bug.
    figure8 = le.BUGS["commit_old_term"].scenario(seed=seed)
    assert [v.property for v in figure8.violations] == ["Leader Completeness"]
    assert le.BUGS["commit_old_term"].scenario(bug=False, seed=seed).violations == []
    # Section 5: the gallery is green on DiskStorage, red on ForgetsVote's Persist13C,
    # green on TermAfterVote, which the explorer finds.
    assert le.labs.run(seed=seed).passed, seed
    forgets = le.labs.run(storage=GALLERY["ForgetsVote"], seed=seed, tests=["Persist13C"])
    assert not forgets.passed and forgets.replay("Persist13C").violations
    assert lesson10.lab_on("TermAfterVote", seed).passed, seed
    searched = le.explore(
        storage=GALLERY["TermAfterVote"],
        seed=seed,
        budget_steps=100_000,
        processes=1,
        progress=False,
    )
    assert searched.found and searched.violation.property == "Durability", seed  # type: ignore[union-attr]


def test_the_lesson_tells_the_truth_on_the_reference_run() -> None:
    claims(seeds.REFERENCE_SEEDS["10"])


@pytest.mark.slow
def test_the_lesson_tells_the_truth_on_many_students_runs() -> None:
    failures = []
    for student in (f"student{n}@example.edu" for n in range(10)):
        seed = seeds.seed_for("10", student)
        try:
            claims(seed)
        except AssertionError as error:
            failures.append(f"{student} (seed {seed}): {str(error).splitlines()[0]}")
    assert not failures, "\n".join(failures)
