"""The dashboard: the only package that imports ipywidgets, bokeh or IPython.

``viewmodels`` and ``palette`` are plain Python (cluster state -> columns); importing
them loads no notebook library. ``Dashboard`` (in ``dashboard``) is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Dashboard"]


def __getattr__(name: str) -> Any:
    if name == "Dashboard":
        from .dashboard import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
