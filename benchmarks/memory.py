"""Memory and speed of long runs: does a run cost memory and time in proportion to its
length? Prints its numbers; asserts nothing.

    python benchmarks/memory.py                 # 20k, 100k and 200k steps (a few minutes)
    python benchmarks/memory.py --steps 20000   # one size

The workload (issue 13): 5 servers, a client command every 10 ms, the Figure 3 checks
after every step, log compaction every 20 applied entries. Each size runs in a fresh
subprocess, so that its peak resident memory (``ru_maxrss``) is its own; loading its
export runs in another. Each size runs twice: with the default state machine, which
keeps every value applied (so each snapshot, every 20 entries, holds the whole run's
values: its cost grows with the run), and with a state machine whose state does not
grow (``Counter``), which shows the simulator's own costs. For each it prints:

- peak RSS of the run (MiB), and the ratio to the size before it;
- throughput (steps per CPU second) over the first and the last tenth of the run, so
  a run that slows down as it grows shows it;
- the export's size, ``Cluster.load``'s time (and its ratio to the time the run took)
  and the loading process's peak RSS;
- ``seek`` to 10 random steps and back to the end: the slowest one (CPU time).

Targets (issue 13): 200k steps within 600 MiB and within 2.2x the 100k figure;
throughput flat; load within 2x the run's time; seek within 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPTIONS: dict[str, Any] = {"servers": 5, "seed": 1, "checks": True, "snapshot_threshold": 20}
SIZES = (20_000, 100_000, 200_000)


class Counter:
    """A state machine of constant size: how many commands, and the last one."""

    def __init__(self) -> None:
        self.count, self.last = 0, None

    def apply(self, index: int, data: Any) -> None:
        self.count, self.last = self.count + 1, data

    def snapshot(self) -> list[Any]:
        return [self.count, self.last]

    def restore(self, value: list[Any]) -> None:
        self.count, self.last = value


MACHINES = {"recording": None, "counter": Counter}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(steps: int, export_path: str, machine: str) -> dict[str, Any]:
    import luminous_edu as le

    cluster = le.Cluster(**OPTIONS, state_machine=MACHINES[machine])
    tenth = steps // 10
    rates: list[float] = []
    started = time.process_time()
    mark, mark_time, n = 0, started, 0
    while cluster.step_count < steps:
        cluster.propose(n)
        n += 1
        cluster.run(10)
        if cluster.step_count - mark >= tenth:
            now = time.process_time()
            rates.append((cluster.step_count - mark) / (now - mark_time))
            mark, mark_time = cluster.step_count, now
    took = time.process_time() - started
    rss = peak_rss_mib()
    record = cluster.export()
    Path(export_path).write_text(json.dumps(record))
    rng = random.Random(7)
    seeks = []
    for target in [rng.randrange(cluster.step_count) for _ in range(10)] + [cluster.step_count]:
        begun = time.process_time()
        cluster.seek(target)
        seeks.append(time.process_time() - begun)
    return {
        "steps": cluster.step_count,
        "applied": max(cluster.servers[i].last_applied for i in cluster.ids),
        "run_s": took,
        "rss_mib": rss,
        "first_rate": rates[0],
        "last_rate": rates[-1],
        "seek_max_s": max(seeks),
        "export_kib": Path(export_path).stat().st_size / 1024,
        "violations": len(cluster.violations),
    }


def load(export_path: str, machine: str) -> dict[str, Any]:
    import luminous_edu as le

    record = json.loads(Path(export_path).read_text())
    begun = time.process_time()
    le.Cluster.load(record, state_machine=MACHINES[machine], max_steps=10**7)
    return {"load_s": time.process_time() - begun, "load_rss_mib": peak_rss_mib()}


def child(role: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", role, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {role} child failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, action="append", help="run size (repeatable)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        role, *rest = args.child
        result = run(int(rest[0]), rest[1], rest[2]) if role == "run" else load(rest[0], rest[1])
        print(json.dumps(result))
        return
    sizes = args.steps or list(SIZES)
    print(
        "5 servers, a command every 10 ms, checks on, snapshot_threshold=20; "
        "each size in its own process"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for machine in MACHINES:
            print(f"\nstate machine: {machine}")
            print(
                f"{'steps':>8} {'peak RSS':>9} {'ratio':>6} {'steps/s first':>14} {'last':>8} "
                f"{'run s':>7} {'load s':>7} {'load/run':>8} {'load RSS':>9} {'seek max':>9} "
                f"{'export':>9}"
            )
            previous = None
            for steps in sizes:
                path = str(Path(tmp) / f"run-{machine}-{steps}.json")
                ran = child("run", str(steps), path, machine)
                loaded = child("load", path, machine)
                ratio = f"{ran['rss_mib'] / previous:.2f}" if previous else "-"
                previous = ran["rss_mib"]
                report(ran, loaded, ratio)


def report(ran: dict[str, Any], loaded: dict[str, Any], ratio: str) -> None:
    print(
        f"{ran['steps']:>8,} {ran['rss_mib']:>6,.0f} MiB {ratio:>6} "
        f"{ran['first_rate']:>14,.0f} {ran['last_rate']:>8,.0f} {ran['run_s']:>7.1f} "
        f"{loaded['load_s']:>7.1f} {loaded['load_s'] / ran['run_s']:>8.2f} "
        f"{loaded['load_rss_mib']:>5,.0f} MiB {ran['seek_max_s']:>7.3f} s "
        f"{ran['export_kib']:>5,.0f} KiB",
        flush=True,
    )
    if ran["violations"]:
        print(f"  ({ran['violations']} violations!)")


if __name__ == "__main__":
    main()
