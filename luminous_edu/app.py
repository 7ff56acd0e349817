"""``luminous-edu app``: the instructor's playground as a web page without code.

It serves ``notebooks/playground.ipynb`` (a cluster and its dashboard with the settings
an instructor changes on a projector: ``luminous_edu.viz.playground``) with Voila, on
127.0.0.1 and a free port (or ``--port``), prints the address and opens it in the
browser (unless ``--no-browser``). Ctrl-C stops it: Voila shuts the notebook's kernel
down and the command returns. ``luminous-edu app NOTEBOOK`` serves another notebook
the same way. Voila (and ipykernel, which runs the notebook) are optional dependencies:
``pip install "luminous_edu[app]"``.

Why not the plain ``voila`` command: it is a web server of its own, which loads no
Jupyter server extension, so luminous_edu's (which serves BokehJS to the dashboard,
``luminous_edu.viz.bokehjs``) is not there and the plots cannot draw. This app is
Voila with that extension's handler added, ahead of the handler that answers every
other path with the notebook's page. (Voila as an extension of a Jupyter server,
``/voila/render/<notebook>`` in JupyterLab, Notebook 7 or a JupyterHub user's server,
loads luminous_edu's extension like the others and needs nothing more.)

The page loads only the JupyterLab extensions it needs, the widgets' and
jupyter_bokeh's: Voila would load every one installed, and some made for JupyterLab
alone (nbgrader's, Notebook 7's) fail to start in Voila's page.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import site
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

from .errors import LuminousError

PLAYGROUND = "playground.ipynb"
#: The JupyterLab extensions the page loads (Voila's widget manager is one of the two
#: ``widgets-manager`` ones, chosen by Voila for the installed ipywidgets).
EXTENSIONS = (
    "@jupyter-widgets/jupyterlab-manager",
    "@bokeh/jupyter_bokeh",
    "@voila-dashboards/widgets-manager7",
    "@voila-dashboards/widgets-manager8",
)
HOST = "127.0.0.1"
#: The modules the app needs beyond the package's own, and what they are.
NEEDS = {"voila": "Voila", "ipykernel": "ipykernel (the notebook's kernel)"}
HOW_TO_INSTALL = 'pip install "luminous_edu[app]"  (or: pip install "voila>=0.5,<0.6" ipykernel)'
#: Exit status when Voila or ipykernel is missing: something the command needs is not
#: installed.
MISSING = 3


class AppError(LuminousError):
    """A setting of ``luminous-edu app`` that cannot work, said in a sentence."""


def playground_notebook() -> Path:
    """The playground notebook: a checkout's ``notebooks/`` (``pip install -e .``), or
    the copy that ``pip install`` puts in ``{prefix}/share/luminous_edu/notebooks``."""
    places = [
        Path(__file__).resolve().parents[1] / "notebooks",
        Path(sys.prefix) / "share" / "luminous_edu" / "notebooks",
        Path(site.USER_BASE or "~/.local").expanduser() / "share" / "luminous_edu" / "notebooks",
    ]
    for place in places:
        if (place / PLAYGROUND).is_file():
            return place / PLAYGROUND
    raise AppError(
        f"cannot find {PLAYGROUND} in {', '.join(str(p) for p in places)}; reinstall "
        "luminous_edu, or give the notebook's path: luminous-edu app PATH"
    )


def missing() -> str | None:
    """What the app needs and is not installed (Voila, and ipykernel to run the
    notebook), with how to install it; None if nothing is missing."""
    absent = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    names = " and ".join(NEEDS[name] for name in absent)
    return (
        f"{names} {'is' if len(absent) == 1 else 'are'} not installed in this Python "
        f"({sys.executable}). Install with\n    {HOW_TO_INSTALL}\nthen run luminous-edu "
        "app again."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def check_port(port: int) -> None:
    """Refuse a port out of range or taken on 127.0.0.1, saying what to do."""
    if not 1 <= port <= 65535:
        raise AppError(f"--port {port}: give a port from 1 to 65535, or leave it out")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            s.bind((HOST, port))
        except OSError as error:
            raise AppError(
                f"port {port} on {HOST} is taken ({error.strerror}): choose another with "
                "--port, or leave --port out for a free one"
            ) from None


def voila_arguments(notebook: Path, port: int, *, fixed_port: bool, browser: bool) -> list[str]:
    """Voila's command line: given as command-line options so that they win over any
    ``voila.json`` or ``voila.py`` of the user's."""
    return [
        str(notebook),
        f"--Voila.ip={HOST}",
        f"--Voila.port={port}",
        f"--Voila.port_retries={0 if fixed_port else 50}",
        f"--Voila.open_browser={browser}",
        f"--Voila.root_dir={notebook.parent}",
        *(f"--VoilaConfiguration.extension_allowlist={name}" for name in EXTENSIONS),
    ]


def app_class() -> Any:
    """Voila with luminous_edu's BokehJS handler (built on first use: Voila is an
    optional dependency)."""
    from tornado.ioloop import IOLoop
    from voila.app import Voila

    from .viz import bokehjs

    class PlaygroundApp(Voila):  # type: ignore[misc]
        name = "luminous-edu-app"
        out: TextIO = sys.stdout

        def init_handlers(self) -> list[Any]:
            # First: Voila ends its list with a handler for every other path.
            return [*bokehjs.handlers(self.server_url), *super().init_handlers()]

        def start(self) -> None:
            # Said once the server listens, when the loop starts (Voila.listen binds,
            # then runs the loop until Ctrl-C).
            IOLoop.current().add_callback(self.announce)
            super().start()

        def announce(self) -> None:
            name = Path(self.notebook_path).name
            self.out.write(f"luminous-edu app: {name} is at {self.display_url} (Ctrl-C stops it)\n")
            self.out.flush()

    return PlaygroundApp


def run(notebook: Path, port: int = 0, browser: bool = True) -> None:
    """Serve ``notebook`` until Ctrl-C (or SIGTERM), then stop its kernels."""
    fixed = port != 0
    if fixed:
        check_port(port)
    else:
        port = free_port()
    # Ctrl-C must stop the server even if this process was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app = app_class()()
    app.initialize(voila_arguments(notebook, port, fixed_port=fixed, browser=browser))
    app.start()


def main(argv: list[str] | None = None, err: TextIO | None = None) -> int:
    """``luminous-edu app [NOTEBOOK] [--port N] [--no-browser]``."""
    err = err or sys.stderr
    parser = argparse.ArgumentParser(
        prog="luminous-edu app",
        description="Serve the instructor's playground (a cluster, its dashboard, "
        "scenarios) as a web page without code, with Voila on 127.0.0.1. Ctrl-C stops it.",
    )
    parser.add_argument("notebook", nargs="?", metavar="NOTEBOOK", help="another notebook to serve")
    parser.add_argument(
        "--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address, open no browser"
    )
    args = parser.parse_args(argv)
    lacking = missing()
    if lacking:
        err.write(f"luminous-edu app: {lacking}\n")
        return MISSING
    try:
        notebook = Path(args.notebook).resolve() if args.notebook else playground_notebook()
        if not notebook.is_file():
            raise AppError(f"no notebook at {notebook}")
        run(notebook, args.port, browser=not args.no_browser)
    except AppError as error:
        err.write(f"luminous-edu app: {error}\n")
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the server ran (Voila catches it after)
        err.write("luminous-edu app: stopped\n")
    return 0
