"""Per-student runs: each student's seed, and the one place a lesson takes its seed from.

``le.student_seed(student_id, course)`` turns a student id into a seed (0-999,999),
the same on every machine and in every Python process: it is a SHA-256 digest of the
course and the id, never Python's ``hash()``, which changes from one process to the
next. Different courses give the same student different seeds.

Every lesson's first code cell is ``SEED = le.exercises.lesson_seed("NN")``, and every
cluster of the lesson is built from ``SEED``. With no student id set, that is the
lesson's reference seed (``REFERENCE_SEEDS``), the run its text was written on. With a
student id, each student gets a run of their own for each lesson (a digest of the
course, the id and the lesson number); the lesson's "predict, then run" questions then
compute their answers from that student's run.

Where the student id comes from, first found wins:

1. the ``student_id`` argument;
2. the environment variable ``LUMINOUS_EDU_STUDENT`` (an instructor sets it);
3. on a JupyterHub, the hub's user name, ``JUPYTERHUB_USER``, which JupyterHub gives
   every user's server (and so every kernel): on a hub each student has runs of their
   own with no set-up, the same each time they reopen a lesson. Not on Binder:
   BinderHub names a throwaway user for every launch (and sets ``BINDER_REPO_URL`` /
   ``BINDER_LAUNCH_HOST``), so there the lessons keep their reference runs.
"""

from __future__ import annotations

import hashlib
import os

from ..errors import LuminousError

#: The environment variables an instructor sets for a student's kernel (on a
#: JupyterHub, in the spawner's environment): who the student is, and the course.
STUDENT_VARIABLE = "LUMINOUS_EDU_STUDENT"
COURSE_VARIABLE = "LUMINOUS_EDU_COURSE"
DEFAULT_COURSE = "luminous_edu"
#: Set by JupyterHub in every user's server: the hub's user name, the student id when
#: ``LUMINOUS_EDU_STUDENT`` is not set.
HUB_USER_VARIABLE = "JUPYTERHUB_USER"
#: Set by BinderHub in every session it launches, whose hub user is a throwaway name.
BINDER_VARIABLES = ("BINDER_REPO_URL", "BINDER_LAUNCH_HOST")

#: The seed each lesson was written on: its runs with no student id set.
REFERENCE_SEEDS = {
    "00": 7,
    "01": 11,
    "02": 2,
    "03": 1,
    "04": 4,
    "05": 7,
    "06": 2,
    "07": 1,
    "08": 7,
    "09": 7,
    "10": 16,
}

SEED_RANGE = 1_000_000

# What lesson_seed answered in this kernel, by lesson: the seed, the student id (None
# for the reference run) and the course. Checks, reveals and submissions read it.
_CHOSEN: dict[str, tuple[int, str | None, str]] = {}


def current_student(student_id: str | None = None) -> str | None:
    """``student_id`` if given, else ``$LUMINOUS_EDU_STUDENT`` if set and not empty,
    else on a JupyterHub (not Binder) the hub's user name ``$JUPYTERHUB_USER``; None
    when there is none of them."""
    if student_id is not None:
        return _valid_id(student_id)
    from_environment = os.environ.get(STUDENT_VARIABLE, "").strip()
    if from_environment:
        return from_environment
    if any(os.environ.get(name) for name in BINDER_VARIABLES):
        return None
    return os.environ.get(HUB_USER_VARIABLE, "").strip() or None


def current_course(course: str | None = None) -> str:
    """``course`` if given, else ``$LUMINOUS_EDU_COURSE``, else ``"luminous_edu"``."""
    if course is not None:
        if not isinstance(course, str) or not course.strip():
            raise LuminousError(f"course={course!r}: give the course's name, e.g. 'raft-2026'")
        return course.strip()
    return os.environ.get(COURSE_VARIABLE, "").strip() or DEFAULT_COURSE


def student_seed(student_id: str | None = None, course: str | None = None) -> int:
    """The seed, from 0 to 999,999, of ``student_id`` in ``course``: the same on every
    machine and every run (a SHA-256 digest of both, not Python's salted ``hash()``).

    ``student_id`` defaults to ``$LUMINOUS_EDU_STUDENT``, else on a JupyterHub to the
    hub's user name (``$JUPYTERHUB_USER``), and ``course`` to ``$LUMINOUS_EDU_COURSE``
    (else ``"luminous_edu"``). With no student id at all it raises ``LuminousError``:
    lessons use ``le.exercises.lesson_seed(lesson)``, which falls back to the lesson's
    reference seed instead."""
    student = current_student(student_id)
    if student is None:
        raise LuminousError(
            "student_seed() needs a student id: pass one, student_seed('ada@example.edu', "
            f"course='raft-2026'), or set the environment variable {STUDENT_VARIABLE} "
            f"(on a JupyterHub, the hub's user name, {HUB_USER_VARIABLE}, is used)"
        )
    return _digest_seed(current_course(course), student)


def lesson_seed(lesson: str, student_id: str | None = None, course: str | None = None) -> int:
    """The seed of lesson ``lesson``'s runs (``"00"`` to ``"10"``), the one place a
    lesson takes its seeds from: ``SEED = le.exercises.lesson_seed("01")``.

    Without a student id (argument, ``$LUMINOUS_EDU_STUDENT``, or on a JupyterHub the
    hub's user name) it is the lesson's reference seed, the run the lesson's text was
    written on; with one, a seed of that student's own for this lesson (a digest of the
    course, the id and the lesson number, like ``student_seed``'s). The lesson's checks
    and reveals in this kernel then compute their answers for that seed."""
    lesson = _valid_lesson(lesson)
    student = current_student(student_id)
    the_course = current_course(course)
    seed = _seed_for(lesson, student, the_course)
    _CHOSEN[lesson] = (seed, student, the_course)
    return seed


def seed_for(lesson: str, student_id: str | None = None, course: str | None = None) -> int:
    """What ``lesson_seed`` would answer for ``student_id`` (None: the reference seed,
    whatever the environment says), without choosing it for this kernel: for an
    instructor rebuilding a student's run, and for tests."""
    student = None if student_id is None else _valid_id(student_id)
    return _seed_for(_valid_lesson(lesson), student, current_course(course))


def seed_of(lesson: str) -> int:
    """The seed lesson ``lesson``'s checks use now: what ``lesson_seed`` answered in
    this kernel, else what it would answer (the student's, or the reference seed)."""
    if lesson in _CHOSEN:
        return _CHOSEN[lesson][0]
    return _seed_for(lesson, current_student(), current_course())


def chosen() -> dict[str, tuple[int, str | None, str]]:
    """What ``lesson_seed`` answered in this kernel: lesson -> (seed, student, course)."""
    return dict(_CHOSEN)


def forget() -> None:
    """Forget the seeds chosen in this kernel (for tests)."""
    _CHOSEN.clear()


def _seed_for(lesson: str, student: str | None, course: str) -> int:
    if student is None:
        return REFERENCE_SEEDS.get(lesson, 0)
    return _digest_seed(course, student, f"lesson {lesson}")


def _digest_seed(*parts: str) -> int:
    text = "\x00".join(("luminous_edu seed", *parts))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_RANGE


def _valid_id(student_id: object) -> str:
    if not isinstance(student_id, str) or not student_id.strip():
        raise LuminousError(
            f"student_id={student_id!r}: give the student's id as text, e.g. 'ada@example.edu'"
        )
    return student_id.strip()


def _valid_lesson(lesson: object) -> str:
    if isinstance(lesson, int) and not isinstance(lesson, bool):
        lesson = f"{lesson:02d}"
    if not isinstance(lesson, str) or not (len(lesson) == 2 and lesson.isdigit()):
        raise LuminousError(f"lesson={lesson!r}: give the lesson's number as text, e.g. '01'")
    return lesson
