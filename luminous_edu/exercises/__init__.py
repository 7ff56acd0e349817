"""Exercises with automatic, friendly checks, and "predict, then run" questions.

For students
------------
Every exercise has an id such as ``"01.votes_needed"`` (lesson number, dot, name) and a
one-line prompt. Check an answer with::

    import luminous_edu as le
    le.exercises.check("01.votes_needed", votes_needed)   # or le.check_exercise(...)

``check`` never raises. It returns a ``Result`` that shows as one ✓ or ✗ sentence (in
text and, in a notebook, in HTML), says what is wrong, and gives a hint when it is.
``bool(result)`` is ``result.passed``. An answer can be a value (a number, a server id
such as ``3`` or ``"S3"``, a set of ids, a prediction) or a function you write; a
function that still raises ``NotImplementedError`` or returns ``None`` gets a friendly
"not written yet" message, never a traceback.

"Predict, then run" questions are exercises too: write your prediction down, check it
(``check``), or ask for the answer and its explanation::

    le.exercises.reveal("01.predict_first_candidate")

Other helpers: ``le.exercises.hint(id)``, ``le.exercises.prompt(id)``,
``le.exercises.listing("01")`` (a table of a lesson's exercises), ``le.exercises.get(id)``
(the ``Exercise`` itself), ``le.exercises.all_exercises()``.

Your own run: each lesson starts with ``SEED = le.exercises.lesson_seed("01")``. With no
student id set it is the lesson's reference seed, the run its text was written on; with
one (``$LUMINOUS_EDU_STUDENT``, set by your instructor, or
``lesson_seed("01", "your id")``) it is a seed of your own, and the "predict, then run"
questions compute their answers on your run (module ``seeds``).

For a class
-----------
``le.exercises.progress()`` shows which exercises are done (HTML in a notebook, text
elsewhere); ``le.exercises.submission("lesson01.json")`` writes one file with your
results, answers, seeds and runs for your instructor, who reads a class's files with
``luminous-edu grade FILES...`` (module ``classroom``; read its docstring for what the
file's signature protects against). ``le.exercises.require(id, answer)`` is ``check``
for an autograder: it raises ``AssertionError`` when the answer is wrong (module
``nbgrader`` turns a lesson into an nbgrader assignment).

For lesson authors
------------------
Define an exercise with the ``exercise`` decorator on a checker. The checker receives
the student's answer and either returns (the answer is right; return a sentence of
praise or ``None``) or raises ``Wrong(message, hint=...)``. Any other exception in a
checker is reported as a failed check, never raised. ``starter`` is exactly what the
student's starter cell holds (``...`` for a value, a function whose body raises
``NotImplementedError`` for a function): the test suite proves that every checker
fails on its starter with a helpful message, and passes with the reference solution in
``notebooks/solutions/lessonNN.py`` (a dict ``SOLUTIONS`` from exercise id to answer)::

    @exercise("04.my_thing", "Write f(x) that ...", starter=function_starter("f", "x"))
    def _check_my_thing(answer: Any) -> str:
        f = need_function(answer, "f")
        if call(f, 2) != 4:
            raise Wrong("f(2) should be 4", hint="...")
        return "f works."

For a prediction, ``prediction(id, prompt, answer, explanation, normalize=...)``:
``answer`` is the right answer (or a function of no arguments that computes it by
running a cluster, so it stays true if the simulation changes). ``normalize`` turns
what a student writes into a comparable value; ``as_server``, ``as_servers``,
``as_yes_no`` and ``as_choice("a", "b", "c")`` are provided.

Helpers for checkers: ``need_function``, ``call`` (calls student code and turns
``NotImplementedError``, other exceptions and a forgotten ``return`` into ``Wrong``),
``not_answered`` (true for ``...`` and ``None``).

Keep ids stable: notebooks, solutions and tests name them. Each lesson's exercises live
in a module of their own, ``lessonNN.py``, imported below; the framework is in
``framework.py``. A prediction whose answer depends on a run computes it from the
lesson's own scenario (lesson 08's ``rejoin``, ``cut_off_leader``...), so that it stays
true if the simulation changes.
"""

from __future__ import annotations

# Importing each lesson's module registers its exercises, in lesson order.
from . import (  # noqa: F401
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
)
from .classroom import Progress, SubmissionError, progress, read_submission, submission
from .framework import (
    ATTEMPTS,
    REGISTRY,
    Answer,
    Attempt,
    Checker,
    Exercise,
    Listing,
    Result,
    Wrong,
    all_exercises,
    as_choice,
    as_server,
    as_servers,
    as_yes_no,
    call,
    call_for_effect,
    check,
    exercise,
    function_starter,
    get,
    hint,
    listing,
    need_function,
    not_answered,
    prediction,
    prompt,
    require,
    reveal,
)
from .seeds import REFERENCE_SEEDS, lesson_seed, student_seed

__all__ = [
    "ATTEMPTS",
    "REFERENCE_SEEDS",
    "REGISTRY",
    "Answer",
    "Attempt",
    "Checker",
    "Exercise",
    "Listing",
    "Progress",
    "Result",
    "SubmissionError",
    "Wrong",
    "all_exercises",
    "as_choice",
    "as_server",
    "as_servers",
    "as_yes_no",
    "call",
    "call_for_effect",
    "check",
    "exercise",
    "function_starter",
    "get",
    "hint",
    "lesson_seed",
    "listing",
    "need_function",
    "not_answered",
    "prediction",
    "progress",
    "prompt",
    "read_submission",
    "require",
    "reveal",
    "student_seed",
    "submission",
]
