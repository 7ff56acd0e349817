"""``le.explore``: it finds each classic bug from a fixed seed and shrinks it to a short
schedule that replays to the same violation; its results do not depend on the number
of processes; with no bug switched on it finds nothing.

The budgets are in events (``budget_steps``), so every result here is deterministic.
``benchmarks/explore.py`` measures the same searches against the clock.
"""

from __future__ import annotations

import os

import pytest

import luminous_edu as le
from luminous_edu.explore.schedule import apply, find_event, named
from luminous_edu.explore.search import Progress, run_schedule
from luminous_edu.explore.setup import Setup
from luminous_edu.storage.gallery import GALLERY

#: The mutation score's fixed seed and budget: about what 10 s give on 2 cores here.
SEED = 0
BUDGET = 400_000
MOST_STEPS = 30
PROPERTIES = {*le.FIGURE_3, "Durability", "Linearizable Reads"}


def search(**options: object) -> le.ExploreResult:
    return le.explore(processes=1, progress=False, **options)  # type: ignore[arg-type]


def same_run(a: le.Cluster, b: le.Cluster) -> bool:
    return a.trace_digest() == b.trace_digest() and a.violations == b.violations


@pytest.mark.parametrize("name", list(le.BUGS))
def test_each_bug_is_found_and_shrunk_from_a_fixed_seed(name: str) -> None:
    result = search(bugs={name}, seed=SEED, budget_steps=BUDGET)
    assert result.found, result.summary()
    assert result.violation is not None and result.violation.property in PROPERTIES
    assert result.shrunk_steps <= MOST_STEPS, result.to_python()
    assert result.shrunk_steps <= result.steps
    # The shrunk schedule replays to the same violation, and the bug fired in it.
    cluster = result.replay()
    assert cluster.violations[0] == result.violation
    assert cluster.step_count == result.shrunk_steps
    assert any(e.rule == f"BUG.{name}" for e in cluster.trace), cluster.trace.text(last=30)
    # The cell runs, and builds the same run.
    namespace: dict[str, object] = {}
    exec(result.to_python(), namespace)
    assert same_run(namespace["c"], cluster)  # type: ignore[arg-type]


def test_the_cell_of_plain_calls_reads_like_a_notebook_cell() -> None:
    result = search(bugs={"vote_twice"}, seed=SEED, budget_steps=BUDGET)
    cell = result.to_python()
    lines = cell.splitlines()
    assert lines[0] == "import luminous_edu as le"
    assert lines[-1] == "c.violations"
    assert "le.Cluster(servers=3, seed=" in cell and "bugs={'vote_twice'}" in cell
    calls = [line for line in lines if line.startswith("c.")][:-1]
    assert len(calls) == result.shrunk_steps
    assert all(
        line.split("(")[0]
        in (
            "c.step",
            "c.fire",
            "c.drop",
            "c.propose",
            "c.read",
            "c.crash",
            "c.restart",
            "c.cut_power",
            "c.partition",
            "c.heal",
            "c.set_network",
            "c.add_learner",
            "c.promote",
            "c.remove_server",
        )
        for line in calls
    )


def test_a_bugs_needs_are_switched_on_and_written_in_the_cell() -> None:
    result = search(bugs={"commit_old_term"}, seed=SEED, budget_steps=1_000)
    assert result.setup.options == {"leader_noop": False}
    mine = search(bugs={"commit_old_term"}, seed=SEED, budget_steps=1_000, leader_noop=True)
    assert mine.setup.options == {"leader_noop": True}  # what you give wins


def test_results_are_the_same_on_any_number_of_processes() -> None:
    one = search(bugs={"stale_replies"}, seed=5, budget_steps=60_000)
    two = le.explore(
        bugs={"stale_replies"}, seed=5, budget_steps=60_000, processes=2, progress=False
    )
    assert one.found and one == two
    assert one.to_python() == two.to_python()
    assert two.stats.processes == 2


def test_a_handler_defined_in_a_function_is_explored_in_this_process() -> None:
    class Mine(le.DiskStorage):  # no worker process could import it by name
        pass

    result = le.explore(storage=Mine, seed=SEED, budget_steps=5_000, processes=2, progress=False)
    assert not result.found and result.stats.processes == 1


def test_the_same_seed_and_budget_give_the_same_result_and_another_seed_another() -> None:
    first = search(bugs={"commit_past_last_new"}, seed=3, budget_steps=50_000)
    again = search(bugs={"commit_past_last_new"}, seed=3, budget_steps=50_000)
    other = search(bugs={"commit_past_last_new"}, seed=4, budget_steps=50_000)
    assert first == again and first.to_python() == again.to_python()
    assert first.cluster_seed != other.cluster_seed


def test_without_a_bug_a_short_search_finds_nothing_and_says_so() -> None:
    result = search(seed=SEED, budget_steps=30_000)
    assert not result.found and result.violation is None
    assert result.events >= 30_000 and result.schedules > 10
    assert "found no violation" in result.summary()
    with pytest.raises(le.LuminousError, match="nothing to replay"):
        result.replay()
    with pytest.raises(le.LuminousError, match="no violation"):
        result.to_python()


@pytest.mark.parametrize("strategy", ["pct", "bfs"])
def test_the_other_strategies_find_a_double_vote(strategy: str) -> None:
    result = search(bugs={"vote_twice"}, seed=SEED, budget_steps=200_000, strategy=strategy)
    assert result.found and result.violation.property == "Election Safety"  # type: ignore[union-attr]
    assert result.shrunk_steps <= 12
    assert any(e.rule == "BUG.vote_twice" for e in result.replay().trace)


def test_breadth_first_finds_the_shortest_counterexample_in_its_choices() -> None:
    """Two candidates, three messages, two replies: six choices is the least."""
    result = search(bugs={"vote_twice"}, seed=SEED, budget_steps=200_000, strategy="bfs")
    assert result.steps == 6 == result.shrunk_steps


def test_progress_reports_come_while_searching_and_at_the_end() -> None:
    seen: list[Progress] = []
    result = le.explore(
        bugs={"commit_past_last_new"},
        seed=1,
        budget_steps=50_000,
        processes=1,
        progress=seen.append,
    )
    phases = [p.phase for p in seen]
    assert phases[0] == "searching" and phases[-1] == "done" and "shrinking" in phases
    assert seen[-1].result is result and seen[-1].events == result.events
    assert all(p.events_per_s >= 0 and 0 <= p.done_fraction <= 1 for p in seen)
    assert "schedules" in seen[0].line()


def test_the_explorer_finds_what_the_6_5840_tests_miss_in_a_storage_handler() -> None:
    """The lab's tests never crash a server inside a storage call, nor after a long
    truncation: ``le.labs.run`` passes these handlers; a few seconds of exploring do
    not (test_labs.py shows the lab missing them)."""
    for name, options in (
        ("IgnoresTruncate", {}),
        ("TermAfterVote", {}),
        ("CompactsBeforeSnapshot", {"snapshot_threshold": 3}),
    ):
        result = search(storage=GALLERY[name], seed=SEED, budget_steps=100_000, **options)
        assert result.found, name
        assert result.violation.property in ("Durability", "Log Matching"), result  # type: ignore[union-attr]
        assert f"storage={name}" in result.to_python()
        namespace: dict[str, object] = {name: GALLERY[name]}  # as defined in a notebook
        exec(result.to_python(), namespace)
        assert same_run(namespace["c"], result.replay())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "dfs"}, "strategy='dfs'"),
        ({"bugs": {"vote_thrice"}}, "no classic bug is called 'vote_thrice'"),
        ({"budget_s": 0}, "budget_s=0"),
        ({"budget_steps": -1}, "budget_steps=-1"),
        ({"seed": "x"}, "seed='x'"),
        ({"processes": 0}, "processes=0"),
        ({"servers": 12}, "servers=12"),
        ({"strict": True}, "sets strict= itself"),
        ({"election_timeout_ms": (5, 1)}, "election_timeout_ms"),
        ({"progress": "yes"}, "progress='yes'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(options: dict, message: str) -> None:
    with pytest.raises(le.LuminousError, match=message.replace("(", r"\(")):
        le.explore(**{"progress": False, **options})


# ------------------------------------------------------------------ choices


def test_a_step_is_named_by_the_event_it_fires_and_replays_the_same() -> None:
    a, b = le.Cluster(servers=3, seed=4), le.Cluster(servers=3, seed=4)
    for _ in range(40):
        choice = named(b, ("step",))
        assert choice[0] == "next" and find_event(b, choice[1]) == b.pending()[0]
        assert choice[2] is True
        apply(a, ("step",))
        apply(b, choice)
    assert same_run(a, b) and a.now == b.now


def test_with_lease_reads_no_timer_fires_before_its_time() -> None:
    """A lease is safe only while no election timer fires early (thesis §6.4.1): the
    walks then fire timers only in their turn, and so do the shrunk schedules."""
    cluster = le.Cluster(servers=3, seed=4, check_quorum=True, lease_reads=True)
    late = max((e for e in cluster.pending() if e.kind != "deliver"), key=lambda e: e.due)
    timer = ("timer", late.target, late.kind)
    assert apply(cluster, ("next", timer, False)) is None and cluster.step_count == 0
    assert apply(cluster, ("next", timer, True)) is not None  # where early firing is fine
    setup = Setup(3, frozenset(), {"check_quorum": True, "lease_reads": True})
    assert setup.early_timers is False and Setup(3, frozenset()).early_timers is True
    kinds = set()
    for number in range(30):
        applied = run_schedule(setup, "random", SEED, number, ())[2]
        kinds |= {choice[0] for choice in applied}
    assert "timer" not in kinds and {"step", "deliver"} <= kinds
    fresh = setup.build(4)
    assert named(fresh, ("step",), setup.early_timers) == ("next", timer_of(fresh), False)


def timer_of(cluster: le.Cluster) -> tuple[str, int, str]:
    first = cluster.pending()[0]
    return ("timer", first.target, first.kind)


def test_a_choice_that_does_not_fit_is_skipped_and_changes_nothing() -> None:
    cluster = le.Cluster(servers=3, seed=4)
    before = cluster.trace_digest()
    for choice in (
        ("deliver", 1, 2, "AppendEntries", 1, 0),  # nothing in flight
        ("propose", 1, 7),  # no leader
        ("restart", 2),  # running
        ("crash", 9),  # no such server
        ("partition", ((1,), (2, 9))),
        ("heal",),
        ("promote", 2),
    ):
        assert apply(cluster, choice) is None, choice
    assert cluster.trace_digest() == before and cluster.step_count == 0


# ---------------------------------------------------------------- the long run


@pytest.mark.slow
def test_with_no_bug_a_long_search_finds_nothing() -> None:
    """Issue 16: with no switch on, exploring finds nothing. A million events by
    default (about a minute on two cores here, to keep CI short), half random walks, half
    PCT; set LUMINOUS_EXPLORE_EVENTS for more. The ten-minute run (random, all cores,
    budget_s=600) took 9.3 million events here and found nothing either."""
    events = int(os.environ.get("LUMINOUS_EXPLORE_EVENTS", "1000000"))
    for strategy, seed in (("random", 16), ("pct", 17)):
        result = le.explore(seed=seed, strategy=strategy, budget_steps=events // 2, progress=False)
        assert not result.found, result.to_python()
