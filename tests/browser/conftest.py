"""Fixtures for the real-browser tests: JupyterLab on 127.0.0.1 driven by Debian's chromium.

Without /usr/bin/chromium or the playwright module these tests are skipped, with the
reason and how to install; in CI (the ``CI`` environment variable is set, as ``.ci/run``
runs) they fail instead, so a missing browser can never pass CI silently.

Every process started here is stopped at teardown: the browser (by Playwright), and the
JupyterLab server and its kernels (by PID, see ``labdriver.LabServer.stop``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabPage, LabServer, free_port, launch_chromium, missing_requirements

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


def require_browser() -> None:
    require(missing_requirements())


@pytest.fixture(scope="module")
def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory, port: int) -> Iterator[LabServer]:
    """JupyterLab serving a temporary root dir; tests put their notebooks in ``.root``."""
    require_browser()
    root = tmp_path_factory.mktemp("lab-root")
    work = tmp_path_factory.mktemp("lab-work")
    server = LabServer(root, work, port)
    try:
        server.start()
        yield server
    finally:
        server.stop()
    left = server.leftover_processes()
    assert not left, f"processes started by JupyterLab still running: {left}"


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
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(60_000)
    try:
        yield LabPage(context.new_page(), lab_server)
    finally:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where tests save screenshots (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
