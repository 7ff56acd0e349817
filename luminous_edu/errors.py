"""Errors raised by luminous_edu. Each says what was wrong and what to do instead.

All of them are ``ValueError`` subclasses, so ``except ValueError`` catches any bad
input; none of them leaves a cluster half-changed.
"""

from __future__ import annotations


class LuminousError(ValueError):
    """Base class of the errors luminous_edu raises for bad input."""


class UnknownServerError(LuminousError, KeyError):
    """A server id that is not in the cluster."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class InvalidActionError(LuminousError):
    """An action that does not make sense now (crash a crashed server, fire an event
    that is not pending, ...)."""


class DataError(LuminousError):
    """Data the cluster's codec cannot carry unchanged."""


class RecordError(LuminousError):
    """An exported run record that is malformed, tampered with or does not replay."""


class MissingLibraryError(LuminousError, ImportError):
    """A view needs a notebook library that cannot be imported here (bokeh in
    JupyterLite, for one). The message names the library, says why it is missing and
    what to use instead; ``missing`` holds the module's name. Also an ``ImportError``,
    so ``except ImportError`` catches it."""

    def __init__(self, message: str, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing
        self.name = missing  # ImportError's attribute: the module that was not found
