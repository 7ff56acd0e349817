"""Collecting a class's work: ``progress()``, ``submission(path)`` and what
``luminous-edu grade`` reads.

``progress()`` shows, for the lessons started in this kernel, each exercise done
(✓), tried and not passed yet (✗) or not tried (·): HTML in a notebook, text
elsewhere. It reads what ``le.exercises.check`` kept; nothing is stored on disk.

``submission(path)`` writes one JSON file: the student id, each lesson's seed, the
package version, each exercise's result with the answer's text (a function's source,
a value's repr), the exercises not done yet, and exports of the student's runs
(``cluster.export()``, which replay with ``le.Cluster.load``). A student runs it at
the end of each lesson; the instructor runs ``luminous-edu grade FILES...``. Where the
course sets ``$LUMINOUS_EDU_SUBMISSIONS`` (on a JupyterHub, the spawner's environment:
a folder the instructor can read, one per student), a file name without a folder goes
there, so the lessons' ``submission("lesson04.json")`` hands the work in as it is.

What the signature protects against, honestly: the file carries an HMAC-SHA256 of its
content. Without a course secret the key is public (it is in this file), so the
signature only catches a file changed by hand or damaged on the way: anyone who reads
this package can forge one. With a course secret in ``$LUMINOUS_EDU_SECRET`` when the
file is written and when it is graded, a file written without the secret is refused.
The secret must be in the student's kernel to sign, so a student who looks for it can
find it; it stops casual edits and hand-made files, not a determined student. For
marks that count, grade with nbgrader, which runs every notebook again itself
(``luminous-edu nbgrader``, and the instructor's guide).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
import html
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LuminousError
from ..sim import Cluster
from . import seeds
from .framework import ATTEMPTS, Exercise, all_exercises

FORMAT = "luminous_edu submission 1"
SECRET_VARIABLE = "LUMINOUS_EDU_SECRET"
#: The folder a relative submission path is written under, when set (a course's hub).
SUBMISSIONS_VARIABLE = "LUMINOUS_EDU_SUBMISSIONS"
# The key without a course secret: public, so it only detects changes, not forgeries.
PUBLIC_KEY = b"luminous_edu submission 1: no course secret"
MAX_RUNS = 20  # clusters exported into one submission


class SubmissionError(LuminousError):
    """A submission file that cannot be read, or was changed after it was written."""


# ================================================================ progress


@dataclass(frozen=True)
class Progress:
    """Each exercise of some lessons: done (✓), tried but not passed (✗), not tried (·)."""

    rows: tuple[tuple[str, str, str], ...]  # (exercise id, mark, prompt or message)

    @property
    def done(self) -> list[str]:
        return [i for i, mark, _ in self.rows if mark == "✓"]

    @property
    def pending(self) -> list[str]:
        return [i for i, mark, _ in self.rows if mark != "✓"]

    def summary(self) -> str:
        return f"{len(self.done)} of {len(self.rows)} exercises done"

    def __str__(self) -> str:
        lines = [self.summary()]
        lines += [f"{mark} {i:<34} {text}" for i, mark, text in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colours = {"✓": "#1b5e20", "✗": "#b71c1c", "·": "#616161"}
        rows = "".join(
            f"<tr><td style='color: {colours[mark]}'>{mark}</td><td><code>{html.escape(i)}"
            f"</code></td><td style='text-align:left'>{html.escape(text)}</td></tr>"
            for i, mark, text in self.rows
        )
        return (
            '<table class="luminous-progress"><caption>'
            f"{html.escape(self.summary())}</caption>{rows}</table>"
        )


def progress(lesson: str | None = None) -> Progress:
    """The exercises of ``lesson`` (e.g. ``"04"``), or of every lesson started in this
    kernel (every lesson if none was), each done, tried or not tried yet."""
    return Progress(tuple(_row(item) for item in _exercises(lesson)))


def _lessons_started() -> list[str]:
    started = set(seeds.chosen()) | {i[:2] for i in ATTEMPTS}
    return sorted(started)


def _exercises(lesson: str | None) -> list[Exercise]:
    if lesson is not None:
        return all_exercises(seeds._valid_lesson(lesson))
    started = _lessons_started()
    return [e for e in all_exercises() if not started or e.lesson in started]


def _row(item: Exercise) -> tuple[str, str, str]:
    attempt = ATTEMPTS.get(item.id)
    if attempt is None:
        return item.id, "·", item.prompt
    return item.id, "✓" if attempt.result.passed else "✗", attempt.result.message


# ============================================================== submission


def submission(
    path: str | os.PathLike[str],
    *,
    runs: Mapping[str, Cluster] | None = None,
    student_id: str | None = None,
    course: str | None = None,
    lesson: str | None = None,
) -> Path:
    """Write this kernel's work to the JSON file ``path`` and return its path.

    A relative ``path`` is taken under ``$LUMINOUS_EDU_SUBMISSIONS`` when that is set
    (the folder a course's hub collects work from), else under the current folder.

    It holds the student id (``student_id``, else ``$LUMINOUS_EDU_STUDENT``, else on a
    JupyterHub the hub's user name), the course, the package version, the seed of each
    lesson started, each exercise of those lessons (or of ``lesson``) with its latest
    result and the answer's text, the exercises not done yet, and the export of each
    cluster in ``runs`` (by name; by default every ``le.Cluster`` among the notebook's
    variables). Signed with
    ``$LUMINOUS_EDU_SECRET`` if set (read the module's docstring on what that
    protects against)."""
    from .. import __version__  # the package is imported by the time anyone calls this

    target = Path(path)
    if target.suffix != ".json":
        raise SubmissionError(f"submission({str(path)!r}): give a file name ending in .json")
    collected = os.environ.get(SUBMISSIONS_VARIABLE, "").strip()
    if collected and not target.is_absolute():
        target = Path(collected) / target
    items = _exercises(lesson)
    lessons = sorted({item.lesson for item in items})
    chosen = seeds.chosen()
    student = seeds.current_student(student_id)
    if student is None:
        student = next((s for _, s, _ in chosen.values() if s is not None), None)
    document: dict[str, Any] = {
        "format": FORMAT,
        "student": student,
        "course": seeds.current_course(course),
        "package_version": __version__,
        "python": platform.python_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "lessons": {
            name: {
                "seed": chosen[name][0] if name in chosen else seeds.seed_of(name),
                "reference": name not in chosen or chosen[name][1] is None,
            }
            for name in lessons
        },
        "exercises": {item.id: _exercise_record(item) for item in items},
        "pending": [item.id for item in items if not _passed(item.id)],
        "runs": _exports(_notebook_clusters() if runs is None else runs),
    }
    document = json.loads(json.dumps(document))  # exactly what a reader will see
    document["signature"] = _signature(document, _secret())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    except OSError as error:
        where = f" (${SUBMISSIONS_VARIABLE} is {collected!r})" if collected else ""
        raise SubmissionError(
            f"submission({str(path)!r}) could not write {target}{where}: {error}. "
            "Give another path, or ask your instructor where to hand work in."
        ) from None
    return target


def _passed(exercise_id: str) -> bool:
    attempt = ATTEMPTS.get(exercise_id)
    return attempt is not None and attempt.result.passed


def _exercise_record(item: Exercise) -> dict[str, Any]:
    attempt = ATTEMPTS.get(item.id)
    if attempt is None:
        return {"lesson": item.lesson, "kind": item.kind, "status": "not tried"}
    result = attempt.result
    return {
        "lesson": item.lesson,
        "kind": item.kind,
        "status": "passed" if result.passed else "failed",
        "message": result.message,
        "seed": result.seed,
        "answer": attempt.source,
    }


def _notebook_clusters() -> dict[str, Cluster]:
    """The clusters a notebook's variables hold (its ``__main__`` namespace)."""
    namespace = vars(sys.modules["__main__"])
    return {
        name: value
        for name, value in sorted(namespace.items())
        if isinstance(value, Cluster) and not name.startswith("_")
    }


def _exports(runs: Mapping[str, Cluster]) -> dict[str, Any]:
    if not isinstance(runs, Mapping) or not all(isinstance(c, Cluster) for c in runs.values()):
        raise SubmissionError(
            "runs= takes a dict of clusters by name, e.g. runs={'fig8': fig8}, or nothing "
            "for every le.Cluster in the notebook"
        )
    exported: dict[str, Any] = {}
    for name, cluster in list(runs.items())[:MAX_RUNS]:
        try:
            exported[str(name)] = cluster.export()
        except Exception as error:  # a run that cannot be exported is still reported
            exported[str(name)] = {"not exported": f"{type(error).__name__}: {error}"}
    return exported


def _secret() -> bytes | None:
    secret = os.environ.get(SECRET_VARIABLE, "")
    return secret.encode("utf-8") if secret else None


def _canonical(document: Mapping[str, Any]) -> bytes:
    content = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _signature(document: Mapping[str, Any], secret: bytes | None) -> dict[str, Any]:
    key = secret if secret is not None else PUBLIC_KEY
    digest = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    return {"method": "hmac-sha256", "course_secret": secret is not None, "value": digest}


# ================================================================ reading


def read_submission(path: str | os.PathLike[str], secret: bytes | None = None) -> dict[str, Any]:
    """The submission in ``path``, verified: ``SubmissionError`` saying what is wrong
    if it is not a submission, or was changed after it was written. ``secret`` is the
    course secret (default: ``$LUMINOUS_EDU_SECRET``); with one, a file signed
    without it is refused."""
    name = str(path)
    secret = _secret() if secret is None else secret
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise SubmissionError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError(f"{name}: not a submission (not JSON: {error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SubmissionError(
            f"{name}: not a luminous_edu submission (no format {FORMAT!r}); students write "
            "one with le.exercises.submission('name.json')"
        )
    signature = document.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        raise SubmissionError(f"{name}: the signature is missing; the file was changed")
    keyed = signature.get("course_secret") is True
    if keyed and secret is None:
        raise SubmissionError(
            f"{name}: signed with a course secret; set {SECRET_VARIABLE} to the course "
            "secret to check it"
        )
    if secret is not None and not keyed:
        raise SubmissionError(
            f"{name}: signed without the course secret, so it was not written in the "
            f"course's environment (or {SECRET_VARIABLE} was not set there)"
        )
    expected = _signature(document, secret if keyed else None)["value"]
    if not hmac.compare_digest(expected, signature["value"]):
        raise SubmissionError(
            f"{name}: tampered with: its content does not match its signature (it was "
            "changed after le.exercises.submission wrote it). Ask the student for a new one."
        )
    for key, kind in (("exercises", dict), ("lessons", dict), ("runs", dict)):
        if not isinstance(document.get(key), kind):
            raise SubmissionError(f"{name}: {key!r} is missing or not a {kind.__name__}")
    return document


@dataclass(frozen=True)
class ClassTable:
    """The class's results: one row per student, one column per exercise."""

    exercises: tuple[str, ...]
    rows: tuple[tuple[str, dict[str, str]], ...]  # (student, {exercise id: status})

    def lessons(self) -> list[str]:
        return sorted({i[:2] for i in self.exercises})

    def text(self) -> str:
        """A table for the terminal: done/tried per lesson, and in all."""
        lessons = self.lessons()
        header = ["student", *(f"lesson {n}" for n in lessons), "done"]
        lines = [header]
        for student, statuses in self.rows:
            cells = [student]
            for lesson in lessons:
                ids = [i for i in self.exercises if i.startswith(lesson + ".")]
                cells.append(f"{sum(statuses.get(i) == 'passed' for i in ids)}/{len(ids)}")
            done = sum(s == "passed" for s in statuses.values())
            cells.append(f"{done}/{len(self.exercises)}")
            lines.append(cells)
        widths = [max(len(row[k]) for row in lines) for k in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in lines
        )

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """One row per student; per exercise 1 (passed), 0 (tried, not passed) or
        empty (not tried); then the number passed."""
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["student", *self.exercises, "passed"])
            for student, statuses in self.rows:
                marks = [
                    {"passed": "1", "failed": "0"}.get(statuses.get(i, ""), "")
                    for i in self.exercises
                ]
                writer.writerow([student, *marks, marks.count("1")])
        return target


def class_table(submissions: Iterable[Mapping[str, Any]]) -> ClassTable:
    """Merge verified submissions into one table. A student may hand in several files
    (one per lesson): for each exercise, the latest file that has tried it counts."""
    merged: dict[str, dict[str, tuple[str, str]]] = {}
    exercises: set[str] = set()
    for document in sorted(submissions, key=lambda d: str(d.get("created", ""))):
        student = str(document.get("student") or "(no student id)")
        statuses = merged.setdefault(student, {})
        for exercise_id, record in document["exercises"].items():
            exercises.add(exercise_id)
            status = record.get("status") if isinstance(record, dict) else None
            if status in ("passed", "failed") or exercise_id not in statuses:
                statuses[exercise_id] = (str(status), str(document.get("created", "")))
    rows = tuple(
        (student, {i: status for i, (status, _) in statuses.items()})
        for student, statuses in sorted(merged.items())
    )
    return ClassTable(tuple(sorted(exercises)), rows)
