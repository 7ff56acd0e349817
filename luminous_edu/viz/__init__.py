"""The dashboard: the only package that imports ipywidgets, bokeh or IPython.

``viewmodels`` and ``palette`` are plain Python (cluster state -> columns); importing
them loads no notebook library. ``Dashboard`` (in ``dashboard``) is loaded on first use.
``bokehjs`` brings BokehJS into the page (a Jupyter server extension and a loader);
``load_bokehjs_inline()`` is for a front end without a Jupyter server.
"""

from __future__ import annotations

from typing import Any

from .bokehjs import load_bokehjs_inline

__all__ = ["Dashboard", "load_bokehjs_inline"]


def __getattr__(name: str) -> Any:
    if name == "Dashboard":
        from .dashboard import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
