"""What to say when a view cannot import a notebook library it needs.

The dashboard needs bokeh and jupyter_bokeh. ``pip install luminous_edu`` brings them,
but in JupyterLite (Python compiled to WebAssembly, running in the browser: Pyodide)
bokeh cannot be installed at all: it needs numpy, and numpy's WebAssembly build is on
Pyodide's CDN only, not on PyPI, so a site that serves its own packages (as
``jupyterlite/build.py`` builds it) has none. There, ``cluster.show()`` raises a
``MissingLibraryError`` that says so and points at ``le.TableView(cluster)``, which
needs nothing but ipywidgets.

This module imports no notebook library: ``luminous_edu/__init__.py`` wraps the lazy
imports of its views in :func:`view_libraries`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import MissingLibraryError

#: True inside Pyodide (JupyterLite's Python kernel, Python in the browser).
IN_BROWSER = sys.platform == "emscripten"

#: Why a library is missing in the browser, for the libraries the dashboard needs.
WHY_NOT_IN_BROWSER = {
    "bokeh": (
        "in JupyterLite (Python in the browser) bokeh cannot be installed: it needs "
        "numpy, whose build for the browser is only on Pyodide's CDN, not on PyPI"
    ),
    "jupyter_bokeh": (
        "in JupyterLite (Python in the browser) jupyter_bokeh cannot be installed: it needs "
        "bokeh, which needs numpy, whose build for the browser is only on Pyodide's CDN, "
        "not on PyPI"
    ),
    "numpy": (
        "in JupyterLite (Python in the browser) numpy cannot be installed: its build for "
        "the browser is only on Pyodide's CDN, not on PyPI"
    ),
}


def missing_module(error: ImportError) -> str | None:
    """The top-level name of the module that could not be imported, if known."""
    name = error.name
    return name.split(".")[0] if name else None


def unavailable(
    error: ImportError, call: str, view: str, instead: str | None
) -> MissingLibraryError:
    """The error for ``call`` (e.g. ``"cluster.show()"``), which draws ``view`` (e.g.
    ``"the dashboard"``), failing on ``error``: what is missing, why, and ``instead``
    (what to use instead), unless the missing library is ipywidgets, which every view
    needs."""
    module = missing_module(error)
    said = str(error)
    if not isinstance(error, ModuleNotFoundError) or module is None:
        # Installed, but it lacks a name the view imports (another version?) or fails.
        message = (
            f"{call} cannot draw {view} here: a library it needs is installed but cannot be "
            f"imported ({type(error).__name__}: {said}); check that its version is one "
            "luminous_edu supports (pip install luminous_edu installs them)."
        )
        return MissingLibraryError(message, missing=module)
    if IN_BROWSER:
        why = WHY_NOT_IN_BROWSER.get(
            module, f"{module} is not installed in this browser Python (Pyodide) ({said})"
        )
    else:
        why = (
            f"{module} is not installed here ({said}); pip install luminous_edu brings "
            f"it (or: pip install {module}), then restart the kernel"
        )
    message = f"{call} cannot draw {view} here: it needs {module}, and {why}."
    if instead and module != "ipywidgets":
        message += f" Instead use {instead}."
    return MissingLibraryError(message, missing=module)


@contextmanager
def view_libraries(call: str, view: str, instead: str | None) -> Iterator[None]:
    """Around a view's import: an ImportError from a library it needs (not from
    luminous_edu itself: that is a bug, raised as it is) becomes a MissingLibraryError
    saying what is missing, why, and what to use instead."""
    try:
        yield
    except ImportError as error:
        if isinstance(error, MissingLibraryError) or missing_module(error) == "luminous_edu":
            raise
        raise unavailable(error, call, view, instead) from error
