"""The report ``check_storage`` returns: one line per check and phase, a ✓ or a ✗, and
for a ✗ a sentence saying what happened and how to fix it. Text in a terminal, an HTML
table in a notebook."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .render import html_table, text_table

LIVE = "live"
AFTER_CRASH = "after crash"
PHASES = (LIVE, AFTER_CRASH)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check in one phase: ``LIVE`` (load_state on the same handler) or
    ``AFTER_CRASH`` (the Disk crashed, a new handler was built over it)."""

    name: str
    phase: str
    passed: bool
    message: str = ""  # for a failure: what happened and how to fix it
    cause: str = ""  # for a failure with another check's cause: that check's name

    @property
    def mark(self) -> str:
        return "✓" if self.passed else "✗"


class StorageReport:
    """What ``check_storage`` found. ``passed`` is True when every check passed;
    ``failures`` lists the failed checks (each with ``name``, ``phase`` and
    ``message``); ``results`` lists every check run."""

    def __init__(self, handler: str, seed: int, results: list[CheckResult]) -> None:
        self.handler = handler
        self.seed = seed
        self.results = results

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        """The failed checks, root causes first: a failure whose ``cause`` is another
        check's (a crash losing writes that were never synced) comes after them."""
        failed = [r for r in self.results if not r.passed]
        return [r for r in failed if not r.cause] + [r for r in failed if r.cause]

    def failed(self, name: str, phase: str | None = None) -> bool:
        """True if the check ``name`` failed (in ``phase``, or in either phase)."""
        return any(f.name == name and phase in (None, f.phase) for f in self.failures)

    def summary(self) -> str:
        passed = sum(r.passed for r in self.results)
        verdict = "all passed" if self.passed else f"{len(self.failures)} failed"
        return (
            f"check_storage({self.handler}): {passed} of {len(self.results)} checks "
            f"passed, {verdict} (seed={self.seed})"
        )

    def __str__(self) -> str:
        rows = [(r.mark, r.name, r.phase) for r in self.results]
        parts = [self.summary(), "", text_table(("", "check", "phase"), rows)]
        for failure in self.failures:
            parts.append("")
            parts.append(f"✗ {failure.name} ({failure.phase}):")
            parts.append(
                textwrap.fill(failure.message, 88, initial_indent="  ", subsequent_indent="  ")
            )
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = [(r.mark, r.name, r.phase, r.message) for r in self.results]
        styles = ["color: #1a7f37" if r.passed else "color: #a61b1b" for r in self.results]
        return html_table(
            ("", "check", "phase", "what happened"), rows, caption=self.summary(), row_styles=styles
        )
