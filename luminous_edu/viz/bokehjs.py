"""BokehJS, loaded once per page from the Jupyter server instead of embedded per output.

Every bokeh plot in a notebook needs BokehJS, bokeh's JavaScript library, in the page;
``jupyter_bokeh``'s widget view calls ``window.Bokeh.require`` as soon as it is built.
``output_notebook(resources=INLINE)`` puts the library in the output (~8 MB in a saved
notebook, per dashboard); bokeh's default CDN resources need the internet, and load it
with a script tag that races the widget under "Run All" (JUPYTER_NOTES.md, trap 3).
Here instead:

1. **A Jupyter server extension** (this module: ``_load_jupyter_server_extension``)
   serves the JavaScript of the installed bokeh package under
   ``{base_url}luminous_edu/bokehjs/{bokeh version}/``, so the library always matches
   the Python bokeh and works offline, on Binder and on a JupyterHub (the base URL
   ``/user/<name>/``). The package installs
   ``etc/jupyter/jupyter_server_config.d/luminous_edu.json``, which enables it
   (``pip install`` and ``pip install -e .`` alike, so also Binder's ``-e .[hub]``). The
   files carry the version in their URL and are cached by the browser for good. The
   standalone ``voila`` command loads no server extension; ``luminous-edu app`` runs
   Voila with this handler added (``handlers``, ``luminous_edu.app``).
2. **A loader output** of about 1.5 KB (``loader_bundle``), displayed just before each
   dashboard: JavaScript that does nothing if the page already has this BokehJS, and
   else fetches ``bokeh.min.js`` *synchronously* from the base URL the page names
   (``#jupyter-config-data``, present in JupyterLab, Notebook 7 and Voila pages) and runs
   it, so that the widget rendered right after it in the same output area finds it:
   no race with Run All, a page reload or a kernel restart. The request carries the
   page's XSRF token (the ``_xsrf`` cookie), as JupyterLab's own requests do: a
   JupyterHub user's server (JupyterHub 4.1 and later) refuses its login cookie on a
   script's request without it, answering with a redirect to log in, again and again.
   If the library cannot be loaded (the extension is not enabled, or a front end
   without a Jupyter server), the output says so in red, with what to do;
   ``load_bokehjs_inline()`` is the way out that needs no server (~8 MB again).

Only ``bokeh.min.js`` is needed: the dashboard uses no bokeh widgets, tables, WebGL or
MathJax (``bokeh-widgets``, ``bokeh-tables``, ``bokeh-gl``, ``bokeh-mathjax``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The URL path, under the server's base URL, where the extension serves BokehJS.
URL_PATH = "luminous_edu/bokehjs"
#: The files the dashboard needs, in the order they are loaded.
FILES = ("bokeh.min.js",)
#: What the loader output is, for tests and for the Jupyter server extension's log.
NOT_LOADED = "luminous-bokehjs-missing"


def bokeh_version() -> str:
    import bokeh

    return str(bokeh.__version__)


def bokehjs_dir() -> Path:
    """The installed bokeh package's compiled JavaScript (``bokeh.min.js`` ...)."""
    from bokeh.util.paths import bokehjs_path

    return Path(bokehjs_path()) / "js"


# ------------------------------------------------------------ in the Jupyter server


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "luminous_edu.viz.bokehjs"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Serve BokehJS under ``{base_url}luminous_edu/bokehjs/{version}/{file}``."""
    web_app = server_app.web_app
    served = handlers(web_app.settings["base_url"])
    web_app.add_handlers(".*$", served)
    server_app.log.info(
        "luminous_edu: serving BokehJS %s from %s at %s",
        bokeh_version(),
        bokehjs_dir(),
        served[0][0],
    )


def handlers(base_url: str) -> list[tuple[str, type, dict[str, str]]]:
    """The tornado handler that serves BokehJS under ``base_url``, as a list for
    ``add_handlers``: the server extension's, and ``luminous-edu app``'s Voila, which
    loads no server extension (``luminous_edu.app``)."""
    from jupyter_server.utils import url_path_join

    pattern = url_path_join(base_url, URL_PATH, r"([^/]+)/(.+)")
    options = {"path": str(bokehjs_dir()), "version": bokeh_version()}
    return [(pattern, _handler_class(), options)]


def _handler_class() -> type:
    """The request handler (built on first use: tornado and jupyter_server are imported
    only inside a Jupyter server)."""
    from jupyter_server.base.handlers import JupyterHandler
    from tornado import web

    class BokehJSHandler(JupyterHandler, web.StaticFileHandler):
        """The installed bokeh's ``static/js`` files, for the page's own user. The
        version in the URL must be this bokeh's: a kernel with another bokeh gets a 404
        that says so, rather than a library that does not match its documents."""

        def initialize(self, path: str, version: str) -> None:  # type: ignore[override]
            web.StaticFileHandler.initialize(self, path)
            self.version = version

        def _check(self, version: str, path: str) -> None:
            if version != self.version:
                raise web.HTTPError(
                    404,
                    reason=f"this Jupyter server has bokeh {self.version}, not {version}",
                )
            if path not in FILES:
                raise web.HTTPError(404, reason=f"{path} is not served (only {FILES})")

        @web.authenticated
        def get(self, version: str, path: str, include_body: bool = True) -> Any:  # type: ignore[override]
            self._check(version, path)
            return web.StaticFileHandler.get(self, path, include_body)

        @web.authenticated
        def head(self, version: str, path: str) -> Any:  # type: ignore[override]
            self._check(version, path)
            return web.StaticFileHandler.get(self, path, include_body=False)

        def set_extra_headers(self, path: str) -> None:
            # The version is in the URL: a file never changes under it.
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")

        def compute_etag(self) -> str | None:
            return web.StaticFileHandler.compute_etag(self)

    return BokehJSHandler


# ------------------------------------------------------------------ in the page

LOADER_JS = """\
(function (element) {
  "use strict";
  var version = @VERSION@, files = @FILES@, path = @PATH@;
  var Bokeh = window.Bokeh;
  if (Bokeh != null && Bokeh.version === version && Bokeh.require != null) return;
  var problem = null, base = "/";
  var config = document.getElementById("jupyter-config-data");
  try {
    if (config != null) base = JSON.parse(config.textContent).baseUrl || "/";
  } catch (error) { /* keep "/" */ }
  if (base.charAt(base.length - 1) !== "/") base += "/";
  // JupyterHub's servers want the page's XSRF token (see bokehjs.py)
  var xsrf = null, cookies = document.cookie.split(";");
  for (var k = 0; k < cookies.length; k++) {
    var pair = cookies[k].trim();
    if (pair.indexOf("_xsrf=") === 0) xsrf = decodeURIComponent(pair.slice(6));
  }
  if (Bokeh != null && Bokeh.version !== version) {
    problem = "this page already holds BokehJS " + Bokeh.version + ", loaded by another " +
      "output; the kernel's bokeh is " + version + ". Reload the page, then run this cell.";
  }
  for (var i = 0; problem == null && i < files.length; i++) {
    var url = base + path + "/" + version + "/" + files[i];
    try {
      // Synchronous on purpose: the widget rendered right after this output needs it.
      var request = new XMLHttpRequest();
      request.open("GET", url, false);
      if (xsrf) request.setRequestHeader("X-XSRFToken", xsrf);
      request.send(null);
      if (request.status !== 200) {
        problem = "loading " + url + " gave HTTP " + request.status + " " + request.statusText;
      } else {
        var script = document.createElement("script");
        script.text = request.responseText + "\\n//# sourceURL=" + url;
        document.head.appendChild(script);
      }
    } catch (error) {
      problem = "loading " + url + " failed: " + error;
    }
  }
  if (problem == null && (window.Bokeh == null || window.Bokeh.version !== version)) {
    problem = "BokehJS " + version + " did not start";
  }
  if (problem == null) return;
  var text = "The dashboard cannot draw its plots: BokehJS (bokeh's JavaScript) is " +
    "missing. " + problem + ". It is served by luminous_edu's Jupyter server extension: " +
    "install luminous_edu in the environment that runs the Jupyter server too and " +
    "restart that server (check with: jupyter server extension list). Without a Jupyter " +
    "server, run luminous_edu.viz.load_bokehjs_inline() in a cell first (about 8 MB).";
  console.warn("luminous_edu: " + text);
  var note = document.createElement("div");
  note.className = @CLASS@;
  note.style.cssText = "color:#B00020; font-weight:bold; white-space:normal";
  note.textContent = text;
  var host = element != null && element.appendChild != null ? element
    : (document.currentScript != null ? document.currentScript.parentNode : null);
  if (host != null) host.appendChild(note);
})(typeof element === "undefined" ? null : element);
"""


def loader_javascript() -> str:
    """The loader: BokehJS from the Jupyter server, once per page (see the docstring)."""
    return (
        LOADER_JS.replace("@VERSION@", json.dumps(bokeh_version()))
        .replace("@FILES@", json.dumps(list(FILES)))
        .replace("@PATH@", json.dumps(URL_PATH))
        .replace("@CLASS@", json.dumps(NOT_LOADED))
    )


def loader_bundle() -> dict[str, str]:
    """The loader as a display bundle: run in the page, nothing shown when it works."""
    return {"application/javascript": loader_javascript(), "text/plain": ""}


def display_loader() -> None:
    """Display the loader output (in a kernel; nothing happens in plain Python)."""
    from IPython.display import display

    display(loader_bundle(), raw=True)  # type: ignore[no-untyped-call]


class LoadsBokehJS:
    """For an ipywidgets widget that holds bokeh views (the dashboard, the history
    view, the KV view): displaying it displays the loader first, in the same output
    area, so BokehJS is in the page before the widget's views are built. Put it first
    among the bases."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display_loader()
        bundle = getattr(self, "_repr_mimebundle_", None)
        shown = bundle() if callable(bundle) else None  # None once the widget is closed
        display(shown or {"text/plain": repr(self)}, raw=True)  # type: ignore[no-untyped-call]


def in_kernel() -> bool:
    """True inside a running IPython kernel (a notebook), False in plain Python."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


_inline = False


def load_bokehjs_inline(force: bool = False) -> bool:
    """Put all of BokehJS inline in this cell's output, for a front end that has no
    Jupyter server with luminous_edu's extension (about 8 MB in the saved notebook).
    Once per kernel unless ``force``; True if it displayed it."""
    global _inline
    if (_inline and not force) or not in_kernel():
        return False
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
    _inline = True
    return True
