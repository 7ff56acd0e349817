"""``luminous-edu`` (or ``python -m luminous_edu``): a short narrated Raft run in the
terminal, and the commands an instructor runs for a class.

With no command (``luminous-edu --seed 7``): an election, a few client requests, the
leader crashes, a new leader is elected and the old one comes back and catches up.
Every line is one event of the trace, with the paper's rule that explains it.

Commands:

- ``luminous-edu grade FILES... [--csv grades.csv]``: check the students' submissions
  (``le.exercises.submission``), print the class table and write it as CSV. A file
  that was changed after it was written is refused: the command names it and exits 1.
- ``luminous-edu seed STUDENT... [--course NAME]``: each student's seed for each lesson,
  to rebuild the runs a student saw.
- ``luminous-edu nbgrader LESSON.ipynb... --out DIR``: the lessons as nbgrader source
  notebooks, with an autograded test cell after each exercise.
- ``luminous-edu links --hub URL --repo URL [--branch B]``: the nbgitpuller link of the
  lessons' folder and of each lesson, for a course on a JupyterHub
  (``exercises/links.py``).
- ``luminous-edu app [NOTEBOOK] [--port N] [--no-browser]``: the instructor's playground
  as a web page without code, served by Voila on 127.0.0.1 (``luminous_edu.app``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from . import Cluster
from .errors import LuminousError
from .exercises import classroom, links, nbgrader, seeds


def narrate(seed: int = 7, servers: int = 5, out: TextIO | None = None) -> Cluster:
    write = (out or sys.stdout).write
    cluster = Cluster(servers=servers, seed=seed)
    shown = 0

    def chapter(title: str) -> None:
        nonlocal shown
        for event in cluster.trace[shown:]:
            write(f"  {event}\n")
        shown = len(cluster.trace)
        write(f"\n== {title}\n")

    chapter(f"{servers} servers start as followers (seed {seed}); the first timer to fire wins")
    cluster.run_until(lambda c: c.leader is not None, max_ms=5_000)
    first = _leader(cluster)
    chapter(f"S{first} leads term {cluster.servers[first].current_term}; a client sends 3 commands")
    for command in ("x = 1", "y = 2", "x = 3"):
        cluster.propose(command)
    cluster.run(60)
    chapter(f"S{first} crashes")
    cluster.crash(first)
    cluster.run_until(lambda c: c.leader not in (None, first), max_ms=5_000)
    second = _leader(cluster)
    chapter(f"S{second} leads term {cluster.servers[second].current_term}; S{first} restarts")
    cluster.restart(first)
    cluster.propose("z = 4")
    cluster.run(200)
    chapter("The end")
    for sid in cluster.ids:
        commands = [data for _, data in cluster.applied(sid)]
        write(f"  S{sid} applied {commands}\n")
    violations = cluster.violations
    write(f"\n{cluster.step_count} steps, {cluster.now} ms of virtual time, ")
    write(f"{len(violations)} safety violations.\n")
    return cluster


def _leader(cluster: Cluster) -> int:
    leader = cluster.leader
    if leader is None:
        raise RuntimeError(f"no leader after {cluster.now} ms; try another seed")
    return leader


def grade(files: list[str], csv_path: str | None, out: TextIO, err: TextIO) -> int:
    """Verify each submission, print the class table, write the CSV. 0 if every file
    was accepted, 1 if any was refused (the table then holds the others)."""
    accepted, refused = [], []
    for name in files:
        try:
            accepted.append(classroom.read_submission(name))
        except classroom.SubmissionError as error:
            refused.append(str(error))
    for reason in refused:
        err.write(f"refused: {reason}\n")
    if accepted:
        table = classroom.class_table(accepted)
        out.write(table.text() + "\n")
        if csv_path:
            written = table.write_csv(csv_path)
            count = f"{len(table.rows)} student(s), {len(table.exercises)} exercises"
            out.write(f"\n{count}: {written}\n")
    if refused:
        err.write(
            f"{len(refused)} of {len(files)} submissions refused; the table and the CSV "
            "leave them out.\n"
        )
        return 1
    return 0


def _seed_table(students: list[str], course: str | None, out: TextIO) -> int:
    lessons = sorted(seeds.REFERENCE_SEEDS)
    out.write("student".ljust(28) + " ".join(f"{n:>7}" for n in lessons) + "\n")
    out.write("(reference run)".ljust(28))
    out.write(" ".join(f"{seeds.REFERENCE_SEEDS[n]:>7}" for n in lessons) + "\n")
    for student in students:
        row = [seeds.seed_for(n, student, course) for n in lessons]
        out.write(student[:27].ljust(28) + " ".join(f"{s:>7}" for s in row) + "\n")
    return 0


COMMANDS = ("grade", "seed", "nbgrader", "links", "app")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "app":  # its own module: Voila is an optional dependency
        from . import app

        return app.main(argv[1:])
    if argv and argv[0] in COMMANDS:
        return _command(argv)
    parser = argparse.ArgumentParser(
        prog="luminous-edu",
        description="A short narrated Raft run; or one of the commands "
        f"{', '.join(COMMANDS)} (luminous-edu COMMAND --help).",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--servers", type=int, default=5, help="cluster size (default 5)")
    args = parser.parse_args(argv)
    narrate(seed=args.seed, servers=args.servers)
    return 0


def _command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="luminous-edu")
    commands = parser.add_subparsers(dest="command", required=True)
    grading = commands.add_parser(
        "grade",
        help="check submissions, print the class table, write CSV",
        description="Check the students' submission files (le.exercises.submission), "
        "print the class table and write it as CSV. A file changed after it was written "
        "is refused, and the command exits 1. With a course secret, set "
        f"{classroom.SECRET_VARIABLE}.",
    )
    grading.add_argument("files", nargs="+", metavar="FILE", help="submission files (.json)")
    grading.add_argument(
        "--csv", default="grades.csv", help="where to write the table (default grades.csv)"
    )
    seeding = commands.add_parser("seed", help="each student's seed for each lesson")
    seeding.add_argument("students", nargs="+", metavar="STUDENT", help="student ids")
    seeding.add_argument(
        "--course",
        default=None,
        help=f"the course's name (default ${seeds.COURSE_VARIABLE} or {seeds.DEFAULT_COURSE!r})",
    )
    grader = commands.add_parser(
        "nbgrader", help="lessons as nbgrader source notebooks, with autograded test cells"
    )
    grader.add_argument("lessons", nargs="+", metavar="LESSON.ipynb")
    grader.add_argument("--out", required=True, help="the folder to write them to")
    grader.add_argument("--points", type=int, default=1, help="points per exercise (default 1)")
    links.add_parser(commands)
    args = parser.parse_args(argv)
    try:
        if args.command == "links":
            return links.run(args, sys.stdout, sys.stderr)
        if args.command == "grade":
            return grade(args.files, args.csv, sys.stdout, sys.stderr)
        if args.command == "seed":
            return _seed_table(args.students, args.course, sys.stdout)
        lessons = [Path(p) for p in args.lessons]
        written = nbgrader.convert(lessons, Path(args.out), points=args.points)
        for path in written:
            sys.stdout.write(f"{path}\n")
        return 0
    except LuminousError as error:
        sys.stderr.write(f"luminous-edu {args.command}: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
