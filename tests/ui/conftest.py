"""Browser tests: real `jupyter lab` servers and one headless Chromium per session, a fresh page per test.

`lab` is the server of this environment (`sys.executable`). `lab_servers.get(python)` starts (once
per session) a server from another Python environment, e.g. a Binder-built venv, for tests that run
the same flow there. On a failure the report gets the end of every started server's log (token
redacted) and the page's errors, and a screenshot is saved as build/ui-screenshots/failed-<test>.png.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

from .lab_browser import VIEWPORT, chromium_path, launch_chromium, screenshot_path
from .lab_server import LabServer, start_lab

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(item.fspath).parents]
    if not ours or chromium_path() is not None:
        return
    # CI installs Chromium (scripts/test.sh): there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        raise pytest.UsageError(
            "browser tests: Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)"
        )
    skip = pytest.mark.skip(reason="Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    for item in ours:
        item.add_marker(skip)


class LabServers:
    """One `jupyter lab` per Python environment, started on first use, each with its own root."""

    def __init__(self, tmp: pytest.TempPathFactory):
        self.tmp = tmp
        self.servers: dict[str, LabServer] = {}

    def get(self, python: str) -> LabServer:
        if python not in self.servers:
            base = self.tmp.mktemp("lab")
            self.servers[python] = start_lab(python, base / "private", base / "root")
        return self.servers[python]

    def stop_all(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def lab_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServers]:
    servers = LabServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="session")
def lab(lab_servers: LabServers) -> LabServer:
    """`jupyter lab` from the environment running the tests."""
    return lab_servers.get(sys.executable)


@pytest.fixture(scope="session")
def lab_root(lab: LabServer) -> Path:
    """The `lab` server's root folder: tests write their notebooks here."""
    return lab.root


@pytest.fixture(scope="session")
def browser() -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: playwright_api.Browser, lab_servers: LabServers
) -> Iterator[playwright_api.Page]:
    """A fresh browser context and page (own cookies and storage) for each test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    request.node.kf_page_errors = errors
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                page.screenshot(path=screenshot_path(f"failed-{request.node.name}.png"))
            except playwright_api.Error:
                pass
        context.close()
        for server in lab_servers.servers.values():
            server.shutdown_kernels()  # the kernels of the notebooks this test opened: idle from now on


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    item.rep_call = report
    if not report.failed:
        return
    errors = getattr(item, "kf_page_errors", None)
    if errors:
        report.sections.append(("browser errors", "\n".join(errors[-50:])))
    servers = getattr(item, "funcargs", {}).get("lab_servers")
    if isinstance(servers, LabServers):
        for python, server in servers.servers.items():
            report.sections.append((f"jupyter lab log, {python} (end)", server.log()))
