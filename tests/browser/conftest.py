"""Fixtures for the real-browser tests: JupyterLab (or Notebook 7, or Voila) on 127.0.0.1
driven by Debian's chromium.

Without /usr/bin/chromium or the playwright module these tests are skipped, with the
reason and how to install; in CI (the ``CI`` environment variable is set, as ``.ci/run``
runs) they fail instead, so a missing browser can never pass CI silently.

Every process started here is stopped at teardown: the browser (by Playwright), and the
JupyterLab or Notebook 7 server and its kernels (by PID, see ``labdriver.LabServer.stop``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    JUPYTERLAB,
    NOTEBOOK7,
    FrontEnd,
    LabPage,
    LabServer,
    free_port,
    launch_chromium,
    missing_requirements,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(reason: str | None, what: str = "browser tests are") -> None:
    """Skip the test for ``reason`` (None: nothing is missing), or in CI fail it."""
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI is set, so {what} mandatory, but {reason}", pytrace=False)
    pytest.skip(reason)


def require_browser(*modules: str) -> None:
    """Skip (fail in CI) unless chromium, playwright and ``modules`` (default:
    jupyterlab) are here."""
    require(missing_requirements(modules or ("jupyterlab",)))


@pytest.fixture(scope="module")
def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory, port: int) -> Iterator[LabServer]:
    """JupyterLab serving a temporary root dir; tests put their notebooks in ``.root``."""
    yield from serve(tmp_path_factory, JUPYTERLAB, port)


@pytest.fixture(scope="module")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Notebook 7 (``jupyter notebook``) serving a temporary root dir, as ``lab_server``."""
    yield from serve(tmp_path_factory, NOTEBOOK7, free_port())


def serve(factory: pytest.TempPathFactory, front_end: FrontEnd, port: int) -> Iterator[LabServer]:
    require_browser(front_end.module)
    root = factory.mktemp(f"{front_end.module}-root")
    work = factory.mktemp(f"{front_end.module}-work")
    server = LabServer(root, work, port, front_end=front_end)
    try:
        server.start()
        yield server
    finally:
        server.stop()
    left = server.leftover_processes()
    assert not left, f"processes started by {front_end.name} still running: {left}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab_page(browser: Any, lab_server: LabServer) -> Iterator[LabPage]:
    """A fresh browser tab (own context) on the server, collecting console errors."""
    with new_page(browser, lab_server) as page:
        yield page


@contextlib.contextmanager
def new_page(browser: Any, server: Any) -> Iterator[LabPage]:
    """A tab of its own (own context, a tall window) on ``server``; closed after."""
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(60_000)
    try:
        yield LabPage(context.new_page(), server)
    finally:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where tests save screenshots (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
