"""Browser-test fixtures shared by tests/ui and tests/binder (loaded by tests/conftest.py as a plugin).

One headless Chromium and one registry of `jupyter lab` servers per session, whatever order the
folders run in: Playwright's sync API cannot run twice at once in one process. Tests that use
`page` are moved to the end of the session (see pytest_collection_modifyitems). `lab_servers.get(python)`
starts (once per session) a server from a given Python environment. A test that uses `page` needs
Chromium: without it the test is skipped locally and fails in CI. On a failure the report gets the end
of every started server's log (token redacted) and the page's errors, and a screenshot is saved as
build/ui-screenshots/failed-<test>.png. Playwright is imported only when a browser test runs.

A browser test fails when the page logs an error to the console or throws (a 404 from a link that
leads nowhere, an exception in the panel), even if its assertions pass. A test that provokes an error on
purpose names it: `@pytest.mark.console_errors(r"regex", ...)` allows the errors matching one of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .lab_server import LabServer, start_lab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

NO_CHROMIUM = "Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "console_errors(*patterns): browser console errors this test expects (regexes)"
    )


def unexpected_errors(item: pytest.Item) -> list[str]:
    """The page errors of a browser test that no `console_errors` marker of the test allows."""
    allowed = [re.compile(p) for m in item.iter_markers("console_errors") for p in m.args]
    return [e for e in getattr(item, "kf_page_errors", []) if not any(p.search(e) for p in allowed)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from .lab_browser import chromium_path

    browser_tests = [item for item in items if "page" in getattr(item, "fixturenames", ())]
    # Browser tests last: from the first one on, Playwright's sync API keeps an event loop running in
    # this thread until the session ends, and tests that run their own loop (pytest-jupyter's
    # server fixtures, asyncio.run) would fail after it.
    items[:] = [item for item in items if item not in browser_tests] + browser_tests
    if not browser_tests or chromium_path() is not None:
        return
    # CI installs Chromium (scripts/test.sh): there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        raise pytest.UsageError(f"browser tests: {NO_CHROMIUM}")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


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
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    from .lab_browser import launch_chromium

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, lab_servers: LabServers) -> Iterator[Page]:
    """A fresh browser context and page (own cookies and storage) for each test."""
    from playwright.sync_api import Error as PlaywrightError

    from .lab_browser import VIEWPORT, screenshot_path

    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console.{msg.type}: {msg.text} (at {msg.location.get('url', '?')})")
        if msg.type == "error"
        else None,
    )
    request.node.kf_page_errors = errors
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                page.screenshot(path=screenshot_path(f"failed-{request.node.name}.png"))
            except PlaywrightError:
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
    if report.passed and (unexpected := unexpected_errors(item)):
        report.outcome = "failed"
        report.longrepr = "the page logged errors (console / uncaught):\n" + "\n".join(unexpected[-50:])
    if not report.failed:
        return
    errors = getattr(item, "kf_page_errors", None)
    if errors:
        report.sections.append(("browser errors", "\n".join(errors[-50:])))
    servers = getattr(item, "funcargs", {}).get("lab_servers")
    if isinstance(servers, LabServers):
        for python, server in servers.servers.items():
            report.sections.append((f"jupyter lab log, {python} (end)", server.log()))
