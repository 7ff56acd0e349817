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
