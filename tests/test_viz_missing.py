"""What a view says when a library it needs cannot be imported: bokeh in JupyterLite
(Python in the browser), or a bare install. ``cluster.show()`` and ``le.Dashboard``
raise ``le.MissingLibraryError`` naming the library, why it is missing and what to use
instead (``le.TableView``); luminous_edu's own import errors are not disguised."""

from __future__ import annotations

import sys

import pytest

import luminous_edu as le
from luminous_edu.viz import missing


def not_found(name: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(f"No module named {name!r}", name=name)


def test_a_missing_bokeh_names_it_says_why_and_what_to_use_instead() -> None:
    error = missing.unavailable(not_found("bokeh"), "cluster.show()", "the dashboard", "X")
    assert isinstance(error, le.MissingLibraryError)
    assert isinstance(error, le.LuminousError) and isinstance(error, ImportError)
    assert error.missing == error.name == "bokeh"
    text = str(error)
    assert text.startswith("cluster.show() cannot draw the dashboard here: it needs bokeh")
    assert "pip install" in text and text.endswith("Instead use X.")


def test_in_the_browser_the_reason_is_numpy_on_pyodides_cdn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(missing, "IN_BROWSER", True)
    text = str(missing.unavailable(not_found("bokeh"), "cluster.show()", "the dashboard", "X"))
    assert "JupyterLite" in text and "numpy" in text and "Pyodide's CDN" in text
    assert "pip install" not in text and "Instead use X." in text


def test_without_ipywidgets_no_view_is_offered_instead() -> None:
    text = str(missing.unavailable(not_found("ipywidgets"), "le.Dashboard", "the dashboard", "X"))
    assert "it needs ipywidgets" in text and "Instead" not in text


def test_an_installed_library_that_fails_to_import_is_not_called_missing() -> None:
    error = ImportError("cannot import name 'Foo' from 'bokeh.models'", name="bokeh.models")
    text = str(missing.unavailable(error, "cluster.show()", "the dashboard", "X"))
    assert "installed but cannot be imported" in text and "Foo" in text


def test_an_import_error_in_luminous_edu_itself_is_not_disguised() -> None:
    with pytest.raises(ImportError) as caught, missing.view_libraries("v", "it", "X"):
        raise ImportError("cannot import name 'x'", name="luminous_edu.viz.plots")
    assert not isinstance(caught.value, le.MissingLibraryError)


def test_cluster_show_without_bokeh_raises_the_missing_library_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Imports fail, as in the browser: the packages and, if an earlier test imported
    # them, every submodule (Python would find ``bokeh.models`` in sys.modules without
    # looking at ``bokeh``), and the views that import them are imported afresh.
    for name in [m for m in sys.modules if m.split(".")[0] in ("bokeh", "jupyter_bokeh")]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("bokeh", "jupyter_bokeh"):
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("dashboard", "plots", "bokeh_fixes", "history", "kv"):
        monkeypatch.delitem(sys.modules, f"luminous_edu.viz.{name}", raising=False)
    cluster = le.Cluster(servers=3, seed=1)
    with pytest.raises(le.MissingLibraryError, match=r"needs bokeh.*le\.TableView\(cluster\)"):
        cluster.show()
    with pytest.raises(le.MissingLibraryError, match=r"le\.Dashboard cannot draw"):
        _ = le.Dashboard
    assert cluster.step_count == 0 and cluster.step() is not None  # still usable
