"""Browser tests: one real `jupyter lab` and one headless Chromium per session, a fresh page per test.

On a failure the report gets the end of the server log (token redacted) and the page's errors,
and a screenshot is saved as build/ui-screenshots/failed-<test>.png.
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_path() is not None:
        return
    # CI installs Chromium (scripts/test.sh): there a missing browser is a failure, not a skip.
    if os.environ.get("CI"):
        raise pytest.UsageError("browser tests: Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    skip = pytest.mark.skip(reason="Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's root folder: tests write their notebooks here."""
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="session")
def lab_python() -> str:
    """The Python environment the server runs from (override to test another environment)."""
    return sys.executable


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, lab_root: Path, lab_python: str) -> Iterator[LabServer]:
    server = start_lab(lab_python, tmp_path_factory.mktemp("lab-private"), lab_root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: playwright_api.Browser, lab: LabServer) -> Iterator[playwright_api.Page]:
    """A fresh browser context and page (own cookies and storage) for each test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
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
    lab = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if isinstance(lab, LabServer):
        report.sections.append(("jupyter lab log (end)", lab.log()))
