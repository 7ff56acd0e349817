"""The exercise framework: the registry, results, checks and helpers (see the
package docstring)."""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..sim import Cluster, TraceEvent
from . import seeds

# ================================================================ the framework


class Wrong(Exception):
    """Raised by a checker to fail an answer: what is wrong, and a hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Result:
    """The outcome of checking one answer. Shows as a ✓/✗ sentence."""

    exercise: str
    passed: bool
    message: str
    hint: str | None = None
    seed: int | None = None  # the run it was checked on, for a question about a run

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        text = f"{mark} {self.exercise}: {self.message}"
        if self.hint and not self.passed:
            text += f"\n  Hint: {self.hint}"
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour, background, mark = (
            ("#1b5e20", "#e8f5e9", "✓") if self.passed else ("#b71c1c", "#ffebee", "✗")
        )
        body = (
            f"<b>{mark} {html.escape(self.exercise)}</b>: {html.escape(self.message)}"
            if self.message
            else f"<b>{mark} {html.escape(self.exercise)}</b>"
        )
        if self.hint and not self.passed:
            body += f"<br><i>Hint:</i> {html.escape(self.hint)}"
        return (
            f'<div class="luminous-exercise-result" style="border-left: 4px solid {colour}; '
            f'background: {background}; padding: 6px 10px; margin: 4px 0">{body}</div>'
        )


@dataclass(frozen=True)
class Answer:
    """A revealed answer to a "predict, then run" question (or an exercise's hint)."""

    exercise: str
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.exercise}: {self.title}\n{self.text}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return (
            '<div class="luminous-exercise-answer" style="border-left: 4px solid #0d47a1; '
            'background: #e3f2fd; padding: 6px 10px; margin: 4px 0">'
            f"<b>{html.escape(self.exercise)}</b>: {html.escape(self.title)}<br>"
            f"{html.escape(self.text)}</div>"
        )


Checker = Callable[..., "str | None"]  # checker(answer), or checker(answer, seed) if seeded


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``id``, a one-line ``prompt``, and a checker.

    ``kind`` is ``"value"``, ``"function"`` or ``"prediction"``. ``starter`` is what
    the student's starter cell holds. For predictions, ``answer`` gives the right
    answer and ``explanation`` says why. A ``seeded`` exercise is about the lesson's
    run: its checker gets the lesson's seed too (see ``seeds.lesson_seed``)."""

    id: str
    prompt: str
    checker: Checker
    kind: str = "value"
    starter: Any = ...
    hint: str | None = None
    answer: Any = None
    explanation: str = ""
    section: str = ""  # the paper's section(s) it is about, e.g. "§5.2"
    seeded: bool = False
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def lesson(self) -> str:
        return self.id.split(".", 1)[0]

    def seed_for(self, seed: int | None = None) -> int | None:
        """The seed this exercise is checked on: ``seed``, else the lesson's (None
        for an exercise that is not about the lesson's run)."""
        if not self.seeded:
            return None
        return seeds.seed_of(self.lesson) if seed is None else seed

    def check(self, answer: Any, seed: int | None = None) -> Result:
        """Check ``answer`` (on the lesson's run, or the run of ``seed``); never raises."""
        run = self.seed_for(seed)
        try:
            praise = self.checker(answer) if run is None else self.checker(answer, run)
        except Wrong as wrong:
            return Result(self.id, False, wrong.message, wrong.hint or self.hint, run)
        except Exception as error:  # a bug in a checker must not break a lesson
            return Result(
                self.id,
                False,
                f"the check itself failed ({type(error).__name__}: {error}). This is a bug "
                "in luminous_edu, not in your answer; please tell your instructor.",
                seed=run,
            )
        return Result(self.id, True, praise or "Correct.", seed=run)

    def right_answer(self, seed: int | None = None) -> Any:
        """The right answer of a prediction: for a question about the lesson's run,
        computed (once per seed) on the run of ``seed``, by default the lesson's."""
        run = self.seed_for(seed)
        if run not in self._cache:
            if not callable(self.answer):
                value = self.answer
            elif self.seeded:
                value = self.answer(run)
            else:
                value = self.answer()
            self._cache[run] = value
        return self._cache[run]


REGISTRY: dict[str, Exercise] = {}


def _register(item: Exercise) -> Exercise:
    if item.id in REGISTRY:
        raise ValueError(f"exercise {item.id!r} is defined twice")
    if "." not in item.id:
        raise ValueError(f"exercise id {item.id!r} must look like '01.name'")
    REGISTRY[item.id] = item
    return item


def exercise(
    exercise_id: str,
    prompt: str,
    *,
    starter: Any = ...,
    hint: str | None = None,
    section: str = "",
) -> Callable[[Checker], Checker]:
    """Register the decorated checker as exercise ``exercise_id``. A starter that is a
    function makes it a "function" exercise, anything else a "value" exercise."""

    def register(checker: Checker) -> Checker:
        # A plain function is a body to finish; a class or a FunctionStorage to finish
        # is an answer like any value, even though it is callable.
        kind = "function" if inspect.isfunction(starter) else "value"
        _register(
            Exercise(
                exercise_id, prompt, checker, kind, starter=starter, hint=hint, section=section
            )
        )
        return checker

    return register


def prediction(
    exercise_id: str,
    prompt: str,
    answer: Any,
    explanation: str,
    *,
    normalize: Callable[[Any], Any] = lambda value: value,
    hint: str | None = None,
    section: str = "",
) -> Exercise:
    """Register a "predict, then run" question whose right ``answer`` stays hidden
    until ``reveal``. ``answer`` is a value, a function of no arguments computing it, or
    a function of one argument, the lesson's seed, that computes it on the lesson's run
    (each student's run when the lesson's seed is theirs)."""
    seeded = callable(answer) and any(
        p.default is inspect.Parameter.empty for p in inspect.signature(answer).parameters.values()
    )

    def checker(given: Any, seed: int | None = None) -> str:
        if not_answered(given):
            raise Wrong(
                "you have not made a prediction yet: replace the ... with your guess, then "
                "run the next cells to see what happens.",
                hint=hint,
            )
        value = normalize(given)
        expected = item.right_answer(seed)
        if value != expected:
            raise Wrong(
                f"{_show(given)} is not what happens. Run the next cells and look; "
                f"le.exercises.reveal({exercise_id!r}) explains.",
                hint=hint,
            )
        return f"{_show(given)} is right. {explanation}"

    item = Exercise(
        exercise_id,
        prompt,
        checker,
        "prediction",
        starter=...,
        hint=hint,
        answer=answer,
        explanation=explanation,
        section=section,
        seeded=seeded,
    )
    return _register(item)


# ------------------------------------------------------------ student-facing


def _unknown(exercise_id: Any) -> Result:
    known = ", ".join(sorted(REGISTRY))
    return Result(
        str(exercise_id),
        False,
        f"there is no exercise called {exercise_id!r}. Check the spelling; the exercises "
        f"are: {known}.",
    )


def get(exercise_id: str) -> Exercise:
    """The exercise called ``exercise_id`` (KeyError with the known ids if none)."""
    try:
        return REGISTRY[exercise_id]
    except (KeyError, TypeError):
        raise KeyError(
            f"there is no exercise {exercise_id!r}; known: {', '.join(sorted(REGISTRY))}"
        ) from None


def check(exercise_id: str, answer: Any, *, seed: int | None = None) -> Result:
    """Check ``answer`` to exercise ``exercise_id``. Never raises: a wrong answer, an
    unfinished function or an unknown id all give a ✗ result that says what to do.

    A question about the lesson's run is checked on the lesson's seed
    (``le.exercises.lesson_seed``), or on the run of ``seed``. Each check is kept for
    ``progress()`` and ``submission()`` (the latest result per exercise)."""
    item = REGISTRY.get(exercise_id) if isinstance(exercise_id, str) else None
    if item is None:
        return _unknown(exercise_id)
    result = item.check(answer, seed)
    try:
        source = answer_source(answer)
    except Exception:  # an answer whose repr raises is still an answer
        source = f"<{type(answer).__name__} object>"
    ATTEMPTS[item.id] = Attempt(result, source)
    return result


def require(exercise_id: str, answer: Any, *, seed: int | None = None) -> Result:
    """``check``, for an autograder (nbgrader): returns the ✓ result, or raises
    ``AssertionError`` with the ✗ sentence and its hint, so that the autograded cell
    fails and the student reads why."""
    result = check(exercise_id, answer, seed=seed)
    if not result.passed:
        raise AssertionError(str(result))
    return result


@dataclass(frozen=True)
class Attempt:
    """The latest check of one exercise in this kernel: its result, and the answer as
    text (a function's or class's source, or a value's repr)."""

    result: Result
    source: str


#: The latest attempt at each exercise in this kernel, by id (what ``check`` saw).
ATTEMPTS: dict[str, Attempt] = {}

MAX_SOURCE = 20_000  # characters of an answer's text kept for a submission


def answer_source(answer: Any) -> str:
    """What the student answered, as text: the source of a function or class (of each
    function of a FunctionStorage), else the ``repr`` of the value."""
    functions = getattr(answer, "functions", None)
    if isinstance(functions, dict) and functions:  # a FunctionStorage
        text = "\n".join(_source(f) for f in functions.values())
    elif inspect.isfunction(answer) or inspect.isclass(answer):
        text = _source(answer)
    else:
        text = repr(answer)
    return text if len(text) <= MAX_SOURCE else text[: MAX_SOURCE - 3] + "..."


def _source(thing: Any) -> str:
    try:
        return inspect.getsource(thing)
    except (OSError, TypeError):
        pass
    if inspect.isclass(thing):  # a class defined in a notebook cell: its own methods
        parts = [
            _source(value)
            for name, value in vars(thing).items()
            if inspect.isfunction(value) and not name.startswith("__")
        ]
        bases = ", ".join(base.__name__ for base in thing.__bases__)
        return f"class {thing.__name__}({bases}):\n" + "\n".join(parts)
    return repr(thing)


def reveal(exercise_id: str, *, seed: int | None = None) -> Answer:
    """The answer of a "predict, then run" question, with its explanation (for a
    question about the lesson's run, on the lesson's seed or the run of ``seed``)."""
    item = REGISTRY.get(exercise_id) if isinstance(exercise_id, str) else None
    if item is None:
        result = _unknown(exercise_id)
        return Answer(str(exercise_id), "unknown exercise", result.message)
    if item.kind != "prediction":
        return Answer(
            item.id,
            "no answer to reveal",
            "this exercise is checked, not revealed: write your answer and call "
            f"le.exercises.check({item.id!r}, ...). Stuck? le.exercises.hint({item.id!r}).",
        )
    try:
        value = item.right_answer(seed)
    except Exception as error:  # never break the notebook
        return Answer(item.id, "answer unavailable", f"{type(error).__name__}: {error}")
    return Answer(item.id, f"the answer is {_show(value)}", item.explanation)


def hint(exercise_id: str) -> Answer:
    """A hint for exercise ``exercise_id``."""
    item = REGISTRY.get(exercise_id) if isinstance(exercise_id, str) else None
    if item is None:
        return Answer(str(exercise_id), "unknown exercise", _unknown(exercise_id).message)
    return Answer(item.id, "hint", item.hint or "no hint for this one: reread the prompt.")


def prompt(exercise_id: str) -> Answer:
    """The prompt of exercise ``exercise_id``."""
    item = REGISTRY.get(exercise_id) if isinstance(exercise_id, str) else None
    if item is None:
        return Answer(str(exercise_id), "unknown exercise", _unknown(exercise_id).message)
    return Answer(item.id, item.kind, item.prompt)


def all_exercises(lesson: str | None = None) -> list[Exercise]:
    """Every registered exercise (of ``lesson``, e.g. ``"01"``), in id order."""
    return [e for i, e in sorted(REGISTRY.items()) if lesson is None or e.lesson == lesson]


@dataclass(frozen=True)
class Listing:
    """A table of exercises, for a notebook."""

    items: tuple[Exercise, ...]

    def __str__(self) -> str:
        return "\n".join(f"{e.id:<32} {e.kind:<10} {e.prompt}" for e in self.items)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(e.id)}</code></td><td>{e.kind}</td>"
            f"<td style='text-align:left'>{html.escape(e.prompt)}</td></tr>"
            for e in self.items
        )
        return f"<table><tr><th>id</th><th>kind</th><th>prompt</th></tr>{rows}</table>"


def listing(lesson: str | None = None) -> Listing:
    """The exercises of ``lesson`` (or all) as a table."""
    return Listing(tuple(all_exercises(lesson)))


# ------------------------------------------------------------ checker helpers


def not_answered(answer: Any) -> bool:
    """True for the starter placeholders ``...`` and ``None``."""
    return answer is ... or answer is None


def function_starter(name: str, *params: str) -> Callable[..., Any]:
    """A starter function ``name(*params)`` whose body raises NotImplementedError, like
    the one in the student's starter cell."""

    def starter(*args: Any) -> Any:
        raise NotImplementedError(f"write the body of {name}")

    starter.__name__ = starter.__qualname__ = name
    starter.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    )
    return starter


def need_function(answer: Any, name: str, params: int | None = None) -> Callable[..., Any]:
    """``answer`` if it is a function (taking ``params`` arguments), else ``Wrong``."""
    if not_answered(answer):
        raise Wrong(
            f"pass your function {name} itself, e.g. check(..., {name}), after running the "
            "cell that defines it."
        )
    if not callable(answer):
        raise Wrong(
            f"expected your function {name}, got {_show(answer)}. Pass the function "
            f"itself, without calling it: {name}, not {name}(...)."
        )
    if params is not None:
        try:
            count = len(inspect.signature(answer).parameters)
        except (TypeError, ValueError):
            count = params
        if count != params:
            raise Wrong(
                f"{name} should take {params} arguments; yours takes {count}. Keep the "
                "starter's parameters."
            )
    return answer  # type: ignore[no-any-return]


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call student code; turn a ``NotImplementedError``, any other exception or a
    missing ``return`` into a friendly ``Wrong``."""
    name = getattr(function, "__name__", "your function")
    shown = ", ".join([*(_show(a) for a in args), *(f"{k}={_show(v)}" for k, v in kwargs.items())])
    value = _run_student(function, f"{name}({shown})", *args, **kwargs)
    if value is None:
        raise Wrong(
            f"{name}({shown}) returned None: it has no return statement yet, or one that "
            "returns nothing."
        )
    return value


def _run_student(function: Callable[..., Any], label: str, *args: Any, **kwargs: Any) -> Any:
    """Run student code; its exceptions become ``Wrong`` naming ``label``."""
    name = getattr(function, "__name__", "your function")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise Wrong(
            f"{name} is not written yet: it still raises NotImplementedError. Replace that "
            "line with your code, run the cell, then check again."
        ) from None
    except Wrong:
        raise
    except Exception as error:
        raise Wrong(
            f"{label} raised {type(error).__name__}: {error}",
            hint="read the error, fix the function, run its cell again, then check again.",
        ) from None


def as_server(value: Any) -> int | None:
    """A server id from ``3``, ``"S3"``, ``"s3"`` or ``"3"``; None if it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("S")
        if text.isdigit():
            return int(text)
    return None


def as_servers(value: Any) -> frozenset[Any] | None:
    """A set of server ids from a set, list or tuple of ids (``{1, 2}``, ``["S1", "S2"]``)."""
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, Iterable):
        return None
    ids = [as_server(v) for v in value]
    return None if any(i is None for i in ids) else frozenset(ids)


def as_yes_no(value: Any) -> bool | None:
    """True/False from a bool or ``"yes"``/``"no"``/``"true"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("yes", "y", "true"):
            return True
        if text in ("no", "n", "false"):
            return False
    return None


def as_choice(*choices: str) -> Callable[[Any], str | None]:
    """A normalizer for a multiple-choice question with these (lower-case) letters."""

    def normalize(value: Any) -> str | None:
        if isinstance(value, str) and value.strip().strip("()").lower() in choices:
            return value.strip().strip("()").lower()
        return None

    return normalize


def _letters(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        value = [c for c in value if c.isalpha()]
    if not isinstance(value, Iterable):
        return None
    letters = [str(v).strip().strip("()").lower() for v in value]
    return frozenset(letters)


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(repr(v) for v in sorted(value, key=repr)) + "}"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if callable(value):
        return getattr(value, "__name__", repr(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _show_argument(value: Any) -> str:
    """An argument as the student would write it in a call: ``True``, not "yes";
    ``set()``, not ``{}``."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, set | frozenset) and not value:
        return "set()"
    return _show(value)


def _cases(
    function: Callable[..., Any],
    cases: Iterable[tuple[tuple[Any, ...], Any, str]],
    *,
    signature: str,
    convert: Callable[[Any], Any] = lambda v: v,
) -> int:
    """Run table-driven cases ``(args, expected, why)``; the first wrong one raises
    ``Wrong`` naming the call, what it returned, what was expected and why."""
    count = 0
    for args, expected, why in cases:
        got = convert(call(function, *args))
        if got != expected:
            shown = ", ".join(_show_argument(a) for a in args)
            raise Wrong(
                f"{signature}({shown}) returned {_show(got)}, but the answer is {_show(expected)}.",
                hint=why,
            )
        count += 1
    return count


def _events(cluster: Cluster, rule: str) -> list[TraceEvent]:
    return [e for e in cluster.trace if e.rule == rule]


def call_for_effect(function: Callable[..., Any], *args: Any) -> None:
    """Call a student function that acts on its arguments; its return value is ignored
    (``None`` is fine), its errors become ``Wrong``."""
    _run_student(function, getattr(function, "__name__", "your function"), *args)
