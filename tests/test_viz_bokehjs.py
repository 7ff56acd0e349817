"""BokehJS once per page: the Jupyter server extension, its configuration, the loader.

What the browser does with them (Run All, a page reload, a base URL, a kernel restart)
is in ``tests/browser/test_dashboard_browser.py``; these check the pieces in process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jupyter_bokeh")

from luminous_edu.viz import bokehjs

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "luminous_edu.json"


def test_the_configuration_file_enables_the_extension_module() -> None:
    config = json.loads(CONFIG.read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"luminous_edu.viz.bokehjs": True}}}
    assert bokehjs._jupyter_server_extension_points() == [{"module": "luminous_edu.viz.bokehjs"}]


def test_the_package_installs_the_configuration_where_jupyter_reads_it() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    config = data["data-files"]["etc/jupyter/jupyter_server_config.d"]
    assert config == [str(CONFIG.relative_to(ROOT))]


def test_editable_installs_get_the_data_files_too() -> None:
    """setup.py's distribution answers ``has_data``, which setuptools' editable_wheel
    asks for (pypa/setuptools#3399); without it ``pip install -e .`` (Binder) would
    leave the extension disabled."""
    source = (ROOT / "setup.py").read_text()
    namespace: dict[str, object] = {"__name__": "not_main"}
    code = source.replace("setup(distclass=WithDataFiles)", "")
    exec(compile(code, "setup.py", "exec"), namespace)  # defines the class only
    distribution = namespace["WithDataFiles"]({"data_files": [("etc/x", ["a.json"])]})  # type: ignore[operator]
    assert distribution.has_data() is True
    assert namespace["WithDataFiles"]({}).has_data() is False  # type: ignore[operator]
    assert "setup(distclass=WithDataFiles)" in source


def test_this_environment_has_the_extension_enabled() -> None:
    """The test environment is installed with ``pip install -e '.[test]'``: the
    extension must be enabled there (the browser tests rely on it, as a student's
    JupyterLab would)."""
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    listing = result.stdout + result.stderr
    assert "luminous_edu.viz.bokehjs" in listing and "enabled" in listing, listing[-2000:]


def test_only_the_core_library_is_served_and_it_exists() -> None:
    assert bokehjs.FILES == ("bokeh.min.js",)
    for name in bokehjs.FILES:
        assert (bokehjs.bokehjs_dir() / name).is_file()


def test_the_loader_is_small_and_names_this_bokeh() -> None:
    bundle = bokehjs.loader_bundle()
    assert set(bundle) == {"application/javascript", "text/plain"}
    code = bundle["application/javascript"]
    assert len(code.encode()) < 3000
    assert json.dumps(bokehjs.bokeh_version()) in code
    assert '"luminous_edu/bokehjs"' in code and '["bokeh.min.js"]' in code
    assert "jupyter-config-data" in code  # the base URL, as the page names it
    assert 'request.open("GET", url, false)' in code  # synchronous: no race
    # on a JupyterHub the user's server wants the page's XSRF token (tests/browser/test_hub.py)
    assert 'setRequestHeader("X-XSRFToken", xsrf)' in code and '"_xsrf="' in code
    assert not [p for p in ("@VERSION@", "@FILES@", "@PATH@", "@CLASS@") if p in code]


def test_the_loader_says_what_to_do_when_it_fails() -> None:
    code = bokehjs.loader_javascript()
    assert "jupyter server extension list" in code
    assert "load_bokehjs_inline()" in code
    assert bokehjs.NOT_LOADED in code


def test_the_inline_fallback_does_nothing_outside_a_kernel() -> None:
    from luminous_edu.viz import load_bokehjs_inline

    assert load_bokehjs_inline() is False
    assert bokehjs.in_kernel() is False
