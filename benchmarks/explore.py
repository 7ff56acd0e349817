"""The explorer's mutation score and speed. Prints; asserts nothing.

    python benchmarks/explore.py                    # every switch, 10 s each, all cores
    python benchmarks/explore.py --strategy pct     # the same with PCT
    python benchmarks/explore.py --seeds 0 1 2      # several fixed seeds

For each classic-bug switch (``le.BUGS``), ``le.explore(bugs={name}, budget_s=10,
seed=...)``: whether it found a violation, the wall time and the events (cluster
steps) it took to find it, the schedules tried, the length of the schedule that found
it and of the shrunk one, the time shrinking took, and the search's events per second.
Then the search with no switch on for the same budget: its events per second, and
whether it found anything (it must not). The mutation score is the switches found
within the budget and shrunk to at most 30 steps.

Wall time (``time.perf_counter``), since the search uses every core: on a machine
shared with other work the time to find swings with the load; the events to find do
not (they depend on the seed alone), so they are printed too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import luminous_edu as le

MOST_STEPS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategy", choices=("random", "pct", "bfs"), default="random")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--budget-s", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=None, help="default: every core")
    parser.add_argument("--bugs", nargs="+", default=list(le.BUGS), choices=list(le.BUGS))
    args = parser.parse_args()
    processes = args.processes or os.cpu_count() or 1
    print(
        f"le.explore, strategy {args.strategy}, budget_s={args.budget_s:g}, "
        f"{processes} processes, seeds {args.seeds}"
    )
    header = (
        f"{'switch':<28} {'seed':>4} {'found':>5} {'time s':>7} {'events':>9} "
        f"{'schedules':>9} {'steps':>5} {'shrunk':>6} {'shrink s':>8} {'events/s':>9}  breaks"
    )
    print(header)
    print("-" * len(header))
    score = total = 0
    for name in args.bugs:
        for seed in args.seeds:
            result = le.explore(
                bugs={name},
                seed=seed,
                strategy=args.strategy,
                budget_s=args.budget_s,
                processes=processes,
                progress=False,
            )
            stats = result.stats
            total += 1
            score += result.found and result.shrunk_steps <= MOST_STEPS
            breaks = result.violation.property if result.violation else "-"
            print(
                f"{name:<28} {seed:>4} {result.found!s:>5} {stats.elapsed_s:>7.2f} "
                f"{stats.events:>9,} {stats.schedules:>9,} {result.steps:>5} "
                f"{result.shrunk_steps:>6} {stats.shrink_s:>8.2f} "
                f"{stats.events_per_s:>9,.0f}  {breaks}",
                flush=True,
            )
    print(
        f"mutation score: {score} of {total} found within {args.budget_s:g} s and shrunk to "
        f"at most {MOST_STEPS} steps"
    )
    for seed in args.seeds:
        result = le.explore(
            seed=seed,
            strategy=args.strategy,
            budget_s=args.budget_s,
            processes=processes,
            progress=False,
        )
        stats = result.stats
        print(
            f"no switch on, seed {seed}: {stats.events_per_s:,.0f} events/s "
            f"({stats.events:,} events, {stats.schedules:,} schedules in {stats.elapsed_s:.1f} s), "
            f"found {'a violation: ' + result.summary() if result.found else 'nothing'}"
        )


if __name__ == "__main__":
    main()
