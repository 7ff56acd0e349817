"""Same-process A/B of the simulator's speed: this tree against another git revision.

    python benchmarks/ab.py REV                      # idle, checks off, 12 pairs
    python benchmarks/ab.py REV --workload everything-on-idle --checks
    python benchmarks/ab.py REV --old idle --new everything-on-idle

On a shared or virtual machine the speed of one run swings by 30-40% from minute to
minute, so two runs of ``benchmarks/core.py`` a few minutes apart cannot tell a 10%
change. This script loads REV's ``luminous_edu`` (extracted with ``git archive`` into a
temporary directory, under another package name) next to this tree's, and measures
them in alternation in one process, A then B, then B then A, ...: both see the same
machine at the same moment. It prints each side's median and best events per CPU
second and the median of the per-pair ratios (new / old), which is the number to read.

``--old`` and ``--new`` name the workload each side runs (by default both run
``--workload``). For example ``--old idle --new everything-on-idle`` against the
revision where plain Figure 2 met the 100,000 events/s target asks whether every switch
on now costs less than what was measured then. Workloads: ``idle`` (heartbeats only),
``proposing`` (a command every 10 ms), and the same with ``everything-on-`` in front
(``core.EVERYTHING_ON``). It prints its numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core import EVERYTHING_ON, events_per_second  # noqa: E402

import luminous_edu as le  # noqa: E402

WORKLOADS: dict[str, tuple[int | None, dict[str, Any]]] = {
    "idle": (None, {}),
    "proposing": (10, {}),
    "everything-on-idle": (None, EVERYTHING_ON),
    "everything-on-proposing": (10, EVERYTHING_ON),
}


def load_revision(revision: str, into: Path) -> Any:
    """REV's ``luminous_edu`` package, imported as ``luminous_edu_old`` from ``into``
    (its modules import each other relatively, so a renamed copy is self-contained)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "luminous_edu"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "luminous_edu").rename(into / "luminous_edu_old")
    sys.path.insert(0, str(into))
    return importlib.import_module("luminous_edu_old")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", help="the git revision to compare with, e.g. HEAD~3")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="idle")
    parser.add_argument("--old", choices=sorted(WORKLOADS), help="REV's workload")
    parser.add_argument("--new", choices=sorted(WORKLOADS), help="this tree's workload")
    parser.add_argument("--checks", action="store_true", help="Figure 3 checks after each event")
    parser.add_argument("--pairs", type=int, default=12, help="alternating pairs of runs")
    parser.add_argument("--steps", type=int, default=10_000, help="events per run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        old = load_revision(args.revision, Path(tmp))
        sides = {
            "old": (old, WORKLOADS[args.old or args.workload]),
            "new": (le, WORKLOADS[args.new or args.workload]),
        }
        rates: dict[str, list[float]] = {"old": [], "new": []}
        for pair in range(args.pairs):
            for name in ("old", "new") if pair % 2 == 0 else ("new", "old"):
                package, (every, options) = sides[name]
                rate = events_per_second(args.checks, args.steps, every, package, **options)
                rates[name].append(rate)
    print(
        f"{args.revision} ({args.old or args.workload}) against this tree "
        f"({args.new or args.workload}), checks {'on' if args.checks else 'off'}, "
        f"{args.pairs} pairs of {args.steps:,}-event runs, events per CPU second:"
    )
    for name in ("old", "new"):
        values = rates[name]
        print(f"  {name}: median {statistics.median(values):>9,.0f}  best {max(values):>9,.0f}")
    ratios = [new / old for old, new in zip(rates["old"], rates["new"], strict=True)]
    print(f"  new / old, median of the per-pair ratios: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
